//! The settings' network panel, shown while the Network field is chosen: every layer of
//! the chosen network placed on this data (its output shape, trainable parameters and
//! forward FLOPs per image), the totals, and how long an epoch would take on this machine
//! (one training step timed when the network or the data changes: `train::estimate`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use crate::nn::arch::{Layer, Plan, Shape};

use super::super::theme::Theme;
use super::view::block;

/// A timing of the chosen network: which network (its text) and class count it was made
/// for, and the seconds one training image took.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub network: String,
    pub classes: usize,
    pub per_image: f64,
}

pub(crate) fn shape_text(s: Shape) -> String {
    match s {
        Shape::Maps { c, h, w } => format!("{c}x{h}x{w}"),
        Shape::Flat(n) => n.to_string(),
    }
}

/// A count with thousands separated by commas.
pub(crate) fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The table's lines for `plan` in `rows` lines at most: every layer when they fit, else
/// only those that have parameters or change the shape (the others named in a note).
pub fn table_lines(
    theme: &Theme,
    plan: &Plan,
    rows: usize,
    epoch: Option<f64>,
) -> Vec<Line<'static>> {
    let head = |label: &str| {
        format!(
            "{:<3}{:<24}{:>12}{:>10}{:>9}",
            "#", label, "output", "params", "MFLOP"
        )
    };
    let row = |i: usize| {
        let l = &plan.layers[i];
        format!(
            "{:<3}{:<24}{:>12}{:>10}{:>9.1}",
            i + 1,
            l.layer.to_string(),
            shape_text(l.output),
            count(l.params(plan) as u64),
            l.flops as f64 / 1e6
        )
    };
    let total = format!(
        "{:<3}{:<24}{:>12}{:>10}{:>9.1}",
        "",
        "total",
        format!("in {}", shape_text(plan.input)),
        count(plan.param_count() as u64),
        plan.flops() as f64 / 1e6
    );
    let time = match epoch {
        Some(s) => format!("About {s:.1} s per epoch on this CPU (one training step timed)."),
        None => "Timing one training step on this CPU...".to_string(),
    };
    let all: Vec<usize> = (0..plan.layers.len()).collect();
    let mut room = rows.saturating_sub(3);
    let mut shown = all.clone();
    let mut note = None;
    if all.len() > room {
        shown = all
            .iter()
            .copied()
            .filter(|&i| {
                let l = &plan.layers[i];
                l.params(plan) > 0 || l.input != l.output || matches!(l.layer, Layer::Linear { .. })
            })
            .collect();
        if shown.len() < room {
            let left = all.len() - shown.len();
            note = Some(format!(
                "({left} layers that keep the shape and learn nothing are left out)"
            ));
            room -= 1;
        }
        shown.truncate(room);
    }
    let label = if shown.len() < all.len() {
        format!("layer ({} of {})", shown.len(), all.len())
    } else {
        "layer".to_string()
    };
    let mut lines = vec![Line::styled(head(&label), theme.heading())];
    lines.extend(shown.into_iter().map(|i| Line::raw(row(i))));
    lines.push(Line::styled(total, theme.emphasis()));
    lines.push(Line::raw(time));
    if let Some(n) = note {
        lines.push(Line::styled(n, theme.dim()));
    }
    lines
}

/// Draw the panel for `plan` (or why there is none: `Err`).
pub fn render(
    theme: &Theme,
    plan: Result<&Plan, String>,
    epoch: Option<f64>,
    area: Rect,
    buf: &mut Buffer,
) {
    let b = block(theme, "The network");
    let inner = b.inner(area);
    b.render(area, buf);
    let lines = match plan {
        Ok(p) => table_lines(theme, p, usize::from(inner.height), epoch),
        Err(e) => vec![Line::raw(format!("This network cannot run here: {e}"))],
    };
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| Line::styled(theme.text(&l.to_string()).into_owned(), l.style))
        .collect();
    Paragraph::new(lines)
        .wrap(ratatui::widgets::Wrap { trim: false })
        .render(inner, buf);
}

/// The weights to learn, per layer: `conv1 336 + conv2 1308 + ... = 77991`.
pub(crate) fn param_line(arch: &crate::nn::arch::Arch, classes: usize) -> String {
    let Ok(plan) = crate::nn::arch::Plan::new(arch, crate::nn::arch::DEFAULT_INPUT, classes) else {
        return String::new();
    };
    let mut per_layer: Vec<(String, usize)> = Vec::new();
    for t in plan.tensors.iter().filter(|t| t.trainable) {
        let layer = t.name.split('.').next().unwrap_or(&t.name).to_string();
        let n = t.len();
        match per_layer.last_mut() {
            Some((l, c)) if *l == layer => *c += n,
            _ => per_layer.push((layer, n)),
        }
    }
    let total: usize = per_layer.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = per_layer.iter().map(|(l, n)| format!("{l} {n}")).collect();
    format!("Weights to learn: {} = {total}", parts.join(" + "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_the_plans_numbers() {
        let plan = Plan::course(3);
        let theme = Theme::new(false, true);
        let text: Vec<String> = table_lines(&theme, &plan, 40, Some(2.5))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(text.len(), 1 + plan.layers.len() + 2);
        assert!(text[1].contains("conv(12,3)") && text[1].contains("12x128x128"));
        assert!(text[1].contains("336"), "{}", text[1]);
        assert!(text
            .iter()
            .any(|l| l.contains(&count(plan.param_count() as u64))));
        assert!(text.last().unwrap().contains("2.5 s per epoch"));
        // few rows: the layers that learn or change the shape, and the note
        let short: Vec<String> = table_lines(&theme, &plan, 12, None)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(short.len() <= 12, "{short:?}");
        assert!(short
            .iter()
            .any(|l| l.contains("5 layers that keep the shape")));
        assert!(!short.iter().any(|l| l.contains("relu ")));
        // fewer still: the first of them, and the header says how many
        let tiny: Vec<String> = table_lines(&theme, &plan, 7, None)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(tiny.len(), 7, "{tiny:?}");
        assert!(tiny[0].contains("(4 of 12)"), "{}", tiny[0]);
        assert_eq!(count(1234567), "1,234,567");
    }
}
