//! The evaluation tab: the validation confusion matrix, accuracy, precision and recall,
//! and the validation images of the selected cell.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::data::Dataset;
use crate::lesson::frame::{ImagePanel, Panel};
use crate::train::ConfusionMatrix;

use super::super::super::theme::Theme;
use super::super::super::widgets::width;
use super::super::state::chw_to_rgb;
use super::super::view::{block, flow_panels};
use super::Results;

/// The evaluation tab's state.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// The validation confusion matrix of the last epoch (none for a loaded model).
    pub confusion: Option<ConfusionMatrix>,
    /// Selected cell (actual, predicted).
    pub cell: (usize, usize),
    /// The images (for drawing validation images and feature maps).
    pub dataset: Option<Arc<Dataset>>,
    /// Validation indices.
    pub val: Vec<usize>,
    /// Predicted class of each validation image (order of `val`).
    pub predictions: Option<Vec<usize>>,
}

impl Evaluation {
    /// Move the selected cell by (rows, columns) within `classes` classes.
    pub(crate) fn move_cell(&mut self, classes: usize, down: isize, right: isize) {
        let last = classes.max(1) - 1;
        let (r, c) = &mut self.cell;
        *r = r.saturating_add_signed(down).min(last);
        *c = c.saturating_add_signed(right).min(last);
    }
}

/// The confusion matrix as a grid of text lines with styles: actual classes down,
/// predicted across.
fn confusion_lines<'a>(theme: &Theme, r: &Results) -> Vec<Line<'a>> {
    let Some(m) = &r.evaluation.confusion else {
        return vec![Line::raw("No validation results.")];
    };
    let names = &r.classes;
    let name_w = names.iter().map(|n| width(n)).max().unwrap_or(5).max(6) + 2;
    let cell_w = names.iter().map(|n| width(n)).max().unwrap_or(5).max(5) + 2;
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let mut lines = vec![
        Line::from(vec![
            Span::raw(format!("{:name_w$}", "")),
            Span::styled("predicted ->", theme.heading()),
        ]),
        Line::from(
            std::iter::once(Span::styled(
                format!("{:<name_w$}", "actual"),
                theme.heading(),
            ))
            .chain(
                names
                    .iter()
                    .map(|n| Span::styled(format!("{n:>cell_w$}"), theme.heading())),
            )
            .collect::<Vec<_>>(),
        ),
    ];
    for (row_i, row) in m.counts.iter().enumerate() {
        let mut spans = vec![Span::styled(
            format!("{:<name_w$}", names.get(row_i).map_or("?", String::as_str)),
            theme.heading(),
        )];
        for (c, &count) in row.iter().enumerate() {
            let selected = r.evaluation.cell == (row_i, c);
            let text = if selected {
                format!("[{count}]")
            } else {
                format!("{count} ")
            };
            let mut style = Style::new();
            if theme.color {
                let shade = (count as f64 / max as f64).clamp(0.0, 1.0);
                let blue = 80 + (175.0 * shade) as u8;
                let fg = if shade > 0.5 {
                    Color::Black
                } else {
                    Color::White
                };
                style = style
                    .bg(theme.pixel(20, 40 + (100.0 * shade) as u8, blue))
                    .fg(fg);
            }
            if row_i == c {
                style = style.add_modifier(Modifier::BOLD);
            }
            if selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            spans.push(Span::styled(format!("{text:>cell_w$}"), style));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// Draw the evaluation tab.
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let ev = &r.evaluation;
    let n = r.classes.len();
    let grid_h = u16::try_from(n + 4).unwrap_or(8);
    let [upper, lower] =
        Layout::vertical([Constraint::Length(grid_h), Constraint::Min(0)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(upper);
    Paragraph::new(confusion_lines(theme, r))
        .block(block(theme, "Confusion matrix (validation images)"))
        .render(left, buf);
    let mut lines = Vec::new();
    if let Some(m) = &ev.confusion {
        lines.push(Line::raw(format!(
            "Accuracy {}/{} = {:.1}%",
            m.correct(),
            m.total(),
            100.0 * m.accuracy()
        )));
        lines.push(Line::styled(
            format!("{:<10}{:>10}{:>8}", "class", "precision", "recall"),
            theme.heading(),
        ));
        for (i, name) in r.classes.iter().enumerate().take(m.classes()) {
            lines.push(Line::raw(format!(
                "{name:<10}{:>9.1}%{:>7.1}%",
                100.0 * m.precision(i),
                100.0 * m.recall(i)
            )));
        }
    }
    Paragraph::new(lines)
        .block(block(theme, "Scores"))
        .render(right, buf);
    // the images in the selected cell
    let (a, p) = ev.cell;
    let name = |i: usize| r.classes.get(i).map_or("?", String::as_str).to_string();
    let title = format!(
        "Validation images: actually {}, predicted {}",
        name(a),
        name(p)
    );
    let b = block(theme, &title);
    let inner = b.inner(lower);
    b.render(lower, buf);
    if inner.height == 0 {
        return;
    }
    let (Some(ds), Some(preds)) = (&ev.dataset, &ev.predictions) else {
        Paragraph::new("(images appear when the run has classified them)").render(inner, buf);
        return;
    };
    let picked: Vec<usize> = ev
        .val
        .iter()
        .zip(preds)
        .filter(|(&i, &pr)| ds.labels.get(i) == Some(&a) && pr == p)
        .map(|(&i, _)| i)
        .collect();
    let intro = format!(
        "{} image(s); {}",
        picked.len(),
        if a == p {
            "right answers"
        } else {
            "mistakes: the network confused these"
        }
    );
    buf.set_stringn(
        inner.x,
        inner.y,
        &intro,
        usize::from(inner.width),
        Style::new(),
    );
    let img_area = Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1),
    );
    let panels: Vec<Panel> = picked
        .iter()
        .take(24)
        .map(|&i| {
            let file = ds
                .files
                .get(i)
                .and_then(|f| f.file_name())
                .map_or_else(|| format!("#{i}"), |f| f.to_string_lossy().into_owned());
            let file = file
                .trim_end_matches(".png")
                .trim_end_matches(".jpg")
                .to_string();
            Panel::Image(ImagePanel {
                label: file,
                width: crate::data::IMAGE_SIZE,
                height: crate::data::IMAGE_SIZE,
                rgb: chw_to_rgb(ds.image(i)),
            })
        })
        .collect();
    flow_panels(theme, &panels, img_area, 14, buf);
}
