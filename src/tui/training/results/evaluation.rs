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
use crate::text::Dec;

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
    /// The selected cell's images are shown with their maps (`y`).
    pub why_on: bool,
    /// The maps of the first images of the selected cell: (dataset index, map).
    pub why_maps: Vec<(usize, crate::why::Attribution)>,
}

impl Evaluation {
    /// A saved model evaluated on its own validation split: the folder, seed and sizes
    /// its checkpoint records (the split `train` made), read again and predicted on the
    /// CPU. `Err`: why it cannot be (no split recorded, the folder moved or changed).
    pub(crate) fn of_checkpoint(
        net: &crate::nn::net::Net,
        meta: &crate::nn::checkpoint::CheckpointMeta,
        cache_mb: usize,
    ) -> Result<Evaluation, String> {
        let s = &meta.settings;
        let num = |k: &str| s.get(k).and_then(|v| v.parse::<u64>().ok());
        let (Some(seed), Some(train), Some(val), Some(dir)) = (
            num("seed"),
            num("train_size"),
            num("val_size"),
            s.get("data"),
        ) else {
            return Err(
                "the file does not record the images it was trained and validated on".into(),
            );
        };
        let dir = std::path::Path::new(dir);
        let (ds, _) = crate::data::load_folder_shared(dir, crate::data::budget_bytes(cache_mb))
            .map_err(|e| format!("its data folder cannot be read ({e})"))?;
        let n = ds.len();
        if (train + val) as usize != n || ds.classes.len() != net.classes() {
            return Err(format!(
                "its data folder {} has changed since ({n} images now, {} then)",
                crate::text::path(dir),
                train + val
            ));
        }
        let (_, val_idx) = crate::data::split(n, seed);
        let (mut backend, _) = crate::backend::select(crate::backend::DeviceChoice::Cpu, None)
            .map_err(|e| e.to_string())?;
        let len = crate::data::IMAGE_LEN;
        let mut confusion = ConfusionMatrix::new(ds.classes.len());
        let mut predictions = Vec::with_capacity(val_idx.len());
        let mut input = vec![0.0f32; 50 * len];
        for chunk in val_idx.chunks(50) {
            let x = &mut input[..chunk.len() * len];
            ds.try_normalized_into(chunk, x)
                .map_err(|e| e.to_string())?;
            let lp = backend.predict(net, x).map_err(|e| e.to_string())?;
            for (row, &i) in lp.rows().into_iter().zip(chunk) {
                let p = crate::backend::cpu::argmax(&row.to_vec());
                confusion.add(ds.labels[i], p);
                predictions.push(p);
            }
        }
        Ok(Evaluation {
            confusion: Some(confusion),
            cell: (0, 0),
            dataset: Some(ds),
            val: val_idx,
            predictions: Some(predictions),
            ..Evaluation::default()
        })
    }

    /// Move the selected cell by (rows, columns) within `classes` classes.
    /// The validation images of the selected cell (dataset indices, in split order).
    pub fn cell_images(&self) -> Vec<usize> {
        let (a, p) = self.cell;
        let (Some(ds), Some(preds)) = (&self.dataset, &self.predictions) else {
            return Vec::new();
        };
        self.val
            .iter()
            .zip(preds)
            .filter(|(&i, &pr)| ds.labels.get(i) == Some(&a) && pr == p)
            .map(|(&i, _)| i)
            .collect()
    }

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
        if !r.loaded {
            return vec![Line::raw("No validation results.")];
        }
        // a loaded model that could not be evaluated here: why, and what the file says
        let mut lines = vec![Line::raw(format!(
            "Not evaluated here: {}.",
            r.eval_note
                .as_deref()
                .unwrap_or("the model has not been evaluated")
        ))];
        let s = &r.meta.settings;
        if let (Some(acc), Some(n)) = (
            s.get("val_accuracy").and_then(|v| v.parse::<f64>().ok()),
            s.get("val_size"),
        ) {
            lines.push(Line::raw(format!(
                "When it was saved, its validation accuracy was {:.1}% on {} images (the file says so).",
                Dec::of(100.0 * acc),
                crate::text::escaped(n)
            )));
        }
        return lines;
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
            let style = cell_style(theme, count, max, row_i == c, selected);
            spans.push(Span::styled(format!("{text:>cell_w$}"), style));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The style of one matrix cell (shade by count, bold diagonal, reversed when selected).
fn cell_style(theme: &Theme, count: usize, max: usize, diagonal: bool, selected: bool) -> Style {
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
    if diagonal {
        style = style.add_modifier(Modifier::BOLD);
    }
    if selected {
        style = style.add_modifier(Modifier::REVERSED);
    }
    style
}

/// True when the full-name matrix of `r` fits in `inner` columns.
fn full_names_fit(r: &Results, inner: usize) -> bool {
    let names = &r.classes;
    let name_w = names.iter().map(|n| width(n)).max().unwrap_or(5).max(6) + 2;
    let cell_w = names.iter().map(|n| width(n)).max().unwrap_or(5).max(5) + 2;
    name_w + names.len() * cell_w <= inner
}

/// Short names for `names` that are unique, at most `len` characters: the first
/// characters of each name, or the class numbers (1-based) when prefixes collide.
pub(crate) fn short_names(names: &[String], len: usize) -> Vec<String> {
    let clean: Vec<String> = names
        .iter()
        .map(|n| crate::text::escaped(n).into_owned())
        .collect();
    for l in (2..=len.max(2)).rev() {
        let short: Vec<String> = clean.iter().map(|n| n.chars().take(l).collect()).collect();
        let unique: std::collections::HashSet<&String> = short.iter().collect();
        if unique.len() == short.len() && l <= len {
            return short;
        }
    }
    (1..=names.len()).map(|i| i.to_string()).collect()
}

/// The compact matrix for many classes (or a narrow screen): short names with a legend,
/// narrow columns, and a window of rows and columns around the selected cell when the
/// whole matrix does not fit. Returns the lines and the short names used.
fn compact_lines<'a>(
    theme: &Theme,
    r: &Results,
    m: &ConfusionMatrix,
    width_avail: usize,
    rows_avail: usize,
) -> (Vec<Line<'a>>, Vec<String>) {
    let n = r.classes.len();
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let digits = max.to_string().len();
    // the longest short names that let every column fit, else the shortest
    let mut short = short_names(&r.classes, 2);
    for len in (2..=4).rev() {
        let s = short_names(&r.classes, len);
        let lw = s.iter().map(|x| width(x)).max().unwrap_or(1);
        if lw + 1 + n * (lw.max(digits) + 2) <= width_avail {
            short = s;
            break;
        }
    }
    let label_w = short.iter().map(|x| width(x)).max().unwrap_or(1) + 1;
    let cell_w = (label_w - 1).max(digits) + 2;
    let cols_fit = (width_avail.saturating_sub(label_w) / cell_w).clamp(1, n);
    // the legend names every class while it is short; past a quarter of the rows it
    // names the columns shown (the rows are the same classes), in what room it has
    let named = short.iter().zip(&r.classes).all(|(s, n)| s == n);
    let mut legend = if named {
        Vec::new() // the short names are the names
    } else {
        legend_lines(&short, &r.classes, width_avail)
    };
    let legend_max = (rows_avail / 4).max(1);
    let windowed = legend.len() > legend_max;
    if windowed {
        legend.truncate(legend_max);
    }
    let rows_fit = rows_avail.saturating_sub(2 + legend.len()).clamp(1, n);
    let (sel_r, sel_c) = r.evaluation.cell;
    let first = |sel: usize, fit: usize| sel.saturating_sub(fit - 1).min(n - fit);
    let (r0, c0) = (first(sel_r, rows_fit), first(sel_c, cols_fit));
    if windowed {
        let shown = c0..c0 + cols_fit;
        legend = legend_lines(&short[shown.clone()], &r.classes[shown], width_avail);
        if legend.len() > legend_max {
            legend.truncate(legend_max);
            if let Some(last) = legend.last_mut() {
                last.push_str(" ...");
            }
        }
    }
    let mut head = format!("{:label_w$}predicted ->", "");
    if cols_fit < n || rows_fit < n {
        head.push_str(&format!(
            "  (rows {}-{}, cols {}-{} of {n})",
            r0 + 1,
            r0 + rows_fit,
            c0 + 1,
            c0 + cols_fit
        ));
    }
    let mut lines = vec![
        Line::styled(head, theme.heading()),
        Line::from(
            std::iter::once(Span::styled(
                format!("{:<label_w$}", "act"),
                theme.heading(),
            ))
            .chain(
                short[c0..c0 + cols_fit]
                    .iter()
                    .map(|s| Span::styled(format!("{s:>cell_w$}"), theme.heading())),
            )
            .collect::<Vec<_>>(),
        ),
    ];
    for (row_i, label) in short.iter().enumerate().skip(r0).take(rows_fit) {
        let mut spans = vec![Span::styled(format!("{label:<label_w$}"), theme.heading())];
        for c in c0..c0 + cols_fit {
            let count = m.counts[row_i][c];
            let selected = (sel_r, sel_c) == (row_i, c);
            let text = if selected {
                format!("[{count}]")
            } else {
                format!("{count} ")
            };
            spans.push(Span::styled(
                format!("{text:>cell_w$}"),
                cell_style(theme, count, max, row_i == c, selected),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.extend(legend.into_iter().map(|l| Line::styled(l, theme.dim())));
    (lines, short)
}

/// `ab=name` for each class, wrapped to `w` columns.
fn legend_lines(short: &[String], names: &[String], w: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for (s, n) in short.iter().zip(names) {
        let item = format!("{s}={}", crate::text::escaped(n));
        if !line.is_empty() && width(&line) + 1 + width(&item) > w {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draw the evaluation tab.
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let ev = &r.evaluation;
    let n = r.classes.len();
    let left_inner = usize::from(area.width * 55 / 100).saturating_sub(2);
    if let (Some(m), false) = (&ev.confusion, full_names_fit(r, left_inner)) {
        return render_compact(theme, r, m, area, buf);
    }
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
            Dec::of(100.0 * m.accuracy())
        )));
        lines.push(Line::styled(
            format!("{:<10}{:>10}{:>8}", "class", "precision", "recall"),
            theme.heading(),
        ));
        for (i, name) in r.classes.iter().enumerate().take(m.classes()) {
            lines.push(Line::raw(format!(
                "{name:<10}{:>9.1}%{:>7.1}%",
                Dec::of(100.0 * m.precision(i)),
                Dec::of(100.0 * m.recall(i))
            )));
        }
    }
    Paragraph::new(lines)
        .block(block(theme, "Scores"))
        .render(right, buf);
    render_images(theme, r, lower, buf);
}

/// The evaluation tab for many classes: the compact matrix with its legend, beside the
/// scores (short names, the rows the matrix shows), the images below.
fn render_compact(theme: &Theme, r: &Results, m: &ConfusionMatrix, area: Rect, buf: &mut Buffer) {
    let n = r.classes.len();
    // the scores need about 18 columns; the matrix takes the rest
    let scores_w = 20u16.min(area.width / 3);
    let mat_w = area.width.saturating_sub(scores_w);
    let rows_avail = usize::from(area.height.saturating_sub(6)).max(3);
    let (lines, short) = compact_lines(
        theme,
        r,
        m,
        usize::from(mat_w.saturating_sub(2)),
        rows_avail,
    );
    let need_w = lines.iter().map(Line::width).max().unwrap_or(10) + 2;
    let mat_w = u16::try_from(need_w).unwrap_or(mat_w).min(mat_w).max(20);
    let grid_h = u16::try_from(lines.len() + 2)
        .unwrap_or(area.height)
        .min(area.height);
    let upper = Rect::new(area.x, area.y, area.width, grid_h);
    let lower = Rect::new(
        area.x,
        area.y + grid_h,
        area.width,
        area.height.saturating_sub(grid_h),
    );
    let left = Rect::new(upper.x, upper.y, mat_w.min(upper.width), upper.height);
    let right = Rect::new(
        upper.x + left.width,
        upper.y,
        upper.width.saturating_sub(left.width),
        upper.height,
    );
    Paragraph::new(lines)
        .block(block(theme, "Confusion matrix (validation)"))
        .render(left, buf);
    let sw = short.iter().map(|s| width(s)).max().unwrap_or(2).max(3);
    let rows = usize::from(right.height.saturating_sub(4));
    let sel = r.evaluation.cell.0;
    let r0 = if rows == 0 {
        0
    } else {
        sel.saturating_sub(rows - 1).min(n.saturating_sub(rows))
    };
    let mut score_lines = vec![
        Line::raw(format!("Accuracy {:.1}%", Dec::of(100.0 * m.accuracy()))),
        Line::styled(
            format!("{:<sw$} {:>6} {:>6}", "", "prec", "recall"),
            theme.heading(),
        ),
    ];
    for (i, s) in short
        .iter()
        .enumerate()
        .skip(r0)
        .take(rows)
        .take(m.classes())
    {
        score_lines.push(Line::raw(format!(
            "{s:<sw$} {:>5.1}% {:>5.1}%",
            100.0 * m.precision(i),
            100.0 * m.recall(i)
        )));
    }
    Paragraph::new(score_lines)
        .block(block(theme, "Scores"))
        .render(right, buf);
    render_images(theme, r, lower, buf);
}

/// The validation images of the selected cell.
fn render_images(theme: &Theme, r: &Results, lower: Rect, buf: &mut Buffer) {
    let ev = &r.evaluation;
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
    let (Some(ds), Some(_)) = (&ev.dataset, &ev.predictions) else {
        Paragraph::new("(images appear when the run has classified them)").render(inner, buf);
        return;
    };
    let picked = ev.cell_images();
    let mut intro = format!(
        "{} image(s); {}",
        picked.len(),
        if a == p {
            "right answers"
        } else {
            "mistakes: the network confused these"
        }
    );
    if ev.why_on && !ev.why_maps.is_empty() {
        let m = &ev.why_maps[0].1;
        intro = format!(
            "{} image(s); {} for \"{}\" on the first {}",
            picked.len(),
            crate::tui::why_view::title(m.method),
            name(m.class),
            ev.why_maps.len()
        );
        if r.why.untrained {
            intro.push_str(", UNTRAINED network");
        }
    }
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
    if ev.why_on && !ev.why_maps.is_empty() {
        let a = &ev.why_maps[0].1;
        let lines = vec![
            crate::tui::why_view::legend(theme, a),
            Line::raw(a.method.caveat()),
        ];
        // the text beside the pictures, or above them when the tab is narrow
        let text_w = if img_area.width >= 70 {
            (img_area.width * 2 / 5).min(44)
        } else {
            0
        };
        let pics = Rect::new(
            img_area.x,
            img_area.y,
            img_area.width - text_w,
            img_area.height,
        );
        if text_w > 0 {
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .render(
                    Rect::new(pics.right() + 1, img_area.y, text_w - 1, img_area.height),
                    buf,
                );
            return render_why_images(theme, r, pics, buf);
        }
        Paragraph::new(lines.into_iter().take(1).collect::<Vec<_>>()).render(img_area, buf);
        let rest = Rect::new(
            img_area.x,
            img_area.y + 1,
            img_area.width,
            img_area.height.saturating_sub(1),
        );
        return render_why_images(theme, r, rest, buf);
    }
    let panels: Vec<Panel> = picked
        .iter()
        .take(24)
        .map(|&i| {
            Panel::Image(ImagePanel {
                label: file_label(ds, i),
                width: crate::data::IMAGE_SIZE,
                height: crate::data::IMAGE_SIZE,
                rgb: chw_to_rgb(&ds.image(i)),
            })
        })
        .collect();
    flow_panels(theme, &panels, img_area, 14, buf);
}

/// An image's file name without its extension (its index when it has none).
fn file_label(ds: &Dataset, i: usize) -> String {
    let file = ds
        .files
        .get(i)
        .and_then(|f| f.file_name())
        .map_or_else(|| format!("#{i}"), |f| f.to_string_lossy().into_owned());
    file.trim_end_matches(".png")
        .trim_end_matches(".jpg")
        .to_string()
}

/// The selected cell's first images with their maps laid over them (colour), or each
/// map beside its image (no colour).
fn render_why_images(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let Some(ds) = &r.evaluation.dataset else {
        return;
    };
    let panels: Vec<Panel> = r
        .evaluation
        .why_maps
        .iter()
        .flat_map(|(i, a)| {
            let rgb = chw_to_rgb(&ds.image(*i));
            let side = crate::data::IMAGE_SIZE;
            let color = theme.color && !theme.ascii;
            let map = crate::tui::why_view::overlay_rgb(&rgb, side, a, color);
            let label = file_label(ds, *i);
            let mut v = Vec::new();
            if !color {
                v.push(Panel::Image(ImagePanel {
                    label: label.clone(),
                    width: side,
                    height: side,
                    rgb,
                }));
            }
            v.push(Panel::Image(ImagePanel {
                label: if color { label } else { "map".into() },
                width: side,
                height: side,
                rgb: map,
            }));
            v
        })
        .collect();
    flow_panels(theme, &panels, area, 22, buf);
}
