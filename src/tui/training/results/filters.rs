//! The filters tab: the first layer's filters before and after training, and the feature
//! maps they make of one validation image (computed once, when the results arrive or a
//! model is loaded).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::lesson::frame::{Grid, ImagePanel, Panel};
use crate::nn::net::Net;

use super::super::super::theme::Theme;
use super::super::super::widgets::{panel_size, render_panel, wrap, PanelStyle};
use super::super::state::chw_to_rgb;
use super::super::view::{flow_layout, flow_panels};
use super::evaluation::Evaluation;
use super::Results;
use crate::text::Dec;

/// The filters tab's state.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Selected filter (0-based).
    pub filter: usize,
    /// The untrained net (same seed), for before/after filters.
    pub before: Option<Net>,
    /// The first validation image and its feature maps (the first layer's output), as
    /// pictures; empty without a data set.
    pub maps: Vec<Panel>,
    /// How far training moved the first layer's weights: the mean of |after - before| and
    /// the mean of |before| over every conv1 weight (`None` without a before).
    pub change: Option<(f32, f32)>,
    /// Filters of the first convolution (0: the network has none).
    pub filters: usize,
}

impl Filters {
    /// The tab for `net`, with the feature maps of the first validation image.
    pub(crate) fn new(before: Option<Net>, net: &Net, ev: &Evaluation) -> Self {
        let change = before.as_ref().map(|b| {
            let (Some((ib, _, _, _)), Some((ia, _, _, _))) = (b.first_conv(), net.first_conv())
            else {
                return (0.0, 0.0);
            };
            let (wb, wa) = (b.conv_weight(ib), net.conv_weight(ia));
            let n = wb.len().max(1) as f32;
            let moved: f32 = wb.iter().zip(wa.iter()).map(|(x, y)| (y - x).abs()).sum();
            let size: f32 = wb.iter().map(|x| x.abs()).sum();
            (moved / n, size / n)
        });
        let mut f = Filters {
            filter: 0,
            before,
            maps: Vec::new(),
            change,
            filters: 0,
        };
        f.set_model(net, ev);
        f
    }

    /// Compute the feature maps again for another model.
    pub(crate) fn set_model(&mut self, net: &Net, ev: &Evaluation) {
        self.filters = net.first_conv().map_or(0, |(w, ..)| net.params[w].shape[0]);
        self.maps = match (&ev.dataset, ev.val.first()) {
            (Some(ds), Some(&img)) => {
                let chw = ds.image(img);
                let mut panels = vec![Panel::Image(ImagePanel {
                    label: "image".into(),
                    width: crate::data::IMAGE_SIZE,
                    height: crate::data::IMAGE_SIZE,
                    rgb: chw_to_rgb(&chw),
                })];
                panels.extend(feature_maps(net, &chw));
                panels
            }
            _ => Vec::new(),
        };
    }

    /// Select the previous (`right` false) or next filter.
    pub(crate) fn step(&mut self, right: bool) {
        self.filter = if right {
            (self.filter + 1).min(self.filters.saturating_sub(1))
        } else {
            self.filter.saturating_sub(1)
        };
    }
}

/// The first layer's feature maps (conv1 output) of one image, as grey pictures.
fn feature_maps(net: &Net, chw: &[u8]) -> Vec<Panel> {
    let lut = crate::data::normalize_table();
    let side = crate::data::IMAGE_SIZE;
    let x: Vec<f32> = chw.iter().map(|&p| lut[usize::from(p)]).collect();
    let Ok(x) = ndarray::Array4::from_shape_vec((1, 3, side, side), x) else {
        return Vec::new();
    };
    let Some((wi, bi, stride, pad)) = net.first_conv() else {
        return Vec::new();
    };
    if net.plan.input_dims() != [3, side, side] {
        return Vec::new();
    }
    let w = net.conv_weight(wi);
    let b = net.bias(bi);
    let maps = crate::nn::ops::conv2d(&x, &w.to_owned(), Some(&b.to_owned()), stride, pad);
    let mut out = Vec::new();
    for m in 0..maps.shape()[1] {
        let plane = maps.slice(ndarray::s![0, m, .., ..]);
        let (lo, hi) = plane
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let span = (hi - lo).max(1e-6);
        // shrink to 32x32 so drawing stays cheap
        let s = 32;
        let k = side / s;
        let mut rgb = Vec::with_capacity(s * s * 3);
        for y in 0..s {
            for xx in 0..s {
                let v = plane[[y * k, xx * k]];
                let g = (255.0 * (v - lo) / span) as u8;
                rgb.extend([g, g, g]);
            }
        }
        out.push(Panel::Image(ImagePanel {
            label: format!("{}", m + 1),
            width: s,
            height: s,
            rgb,
        }));
    }
    out
}

/// A filter's colour channels summed, as a K x K grid of weights.
fn filter_sum(w: &ndarray::ArrayView4<'_, f32>, f: usize) -> Vec<f32> {
    let k = w.shape()[2];
    let mut out = vec![0.0f32; k * k];
    for c in 0..w.shape()[1] {
        for y in 0..k {
            for x in 0..k {
                out[y * k + x] += w[[f, c, y, x]];
            }
        }
    }
    out
}

/// A filter drawn as a K x K colour picture (each channel's weights scaled to 0..255).
fn filter_image(w: &ndarray::ArrayView4<'_, f32>, f: usize, label: String) -> Panel {
    let max = w.iter().map(|v| v.abs()).fold(1e-6f32, f32::max);
    let k = w.shape()[2];
    let mut rgb = Vec::with_capacity(k * k * 3);
    for y in 0..k {
        for x in 0..k {
            for c in 0..3 {
                let v = w[[f, c.min(w.shape()[1] - 1), y, x]] / max;
                rgb.push((127.5 + 127.5 * v).clamp(0.0, 255.0) as u8);
            }
        }
    }
    Panel::Image(ImagePanel {
        label,
        width: k,
        height: k,
        rgb,
    })
}

/// Draw the filters tab (reads the weights and the stored feature maps; computes no
/// network op).
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let tab = &r.filters;
    let Some((wi, ..)) = r.net.first_conv() else {
        Paragraph::new(
            theme
                .text("This network has no convolution layer, so there are no filters to show.")
                .into_owned(),
        )
        .wrap(Wrap { trim: true })
        .render(area, buf);
        return;
    };
    let before_w = tab
        .before
        .as_ref()
        .and_then(|b| b.first_conv().map(|(i, ..)| b.conv_weight(i)));
    let wa = r.net.conv_weight(wi);
    let n = wa.shape()[0];
    let k = wa.shape()[2];
    let over = match wa.shape()[1] {
        3 => "red, green and blue".to_string(),
        c => format!("its {c} input channels"),
    };
    let f = tab.filter.min(n.saturating_sub(1));
    let style = PanelStyle::plain(*theme);
    let mut grids = Vec::new();
    if let Some(wb) = &before_w {
        grids.push(Panel::Grid(Grid::full(
            format!("filter {} before", f + 1),
            k,
            k,
            &filter_sum(wb, f),
        )));
    }
    grids.push(Panel::Grid(Grid::full(
        format!("filter {} after", f + 1),
        k,
        k,
        &filter_sum(&wa, f),
    )));
    let note = filter_note(tab, f, (n, k), &over);
    // the note gets the rows it needs beside the grids (6 at least)
    let grids_w: u16 = grids
        .iter()
        .map(|g| panel_size(g, &style, area.width, 6).0 + 1)
        .sum();
    let note_w = area.width.saturating_sub(grids_w);
    let note_h = u16::try_from(wrap(&theme.text(&note), usize::from(note_w.max(1))).len())
        .unwrap_or(6)
        .max(5);
    let [top, rest] = Layout::vertical([
        Constraint::Length(note_h.min(area.height)),
        Constraint::Min(0),
    ])
    .areas(area);
    let mut x = top.x;
    for g in &grids {
        let (w, h) = panel_size(g, &style, top.width.saturating_sub(x - top.x), top.height);
        if x + w > top.right() {
            break;
        }
        render_panel(g, &style, Rect::new(x, top.y, w, h.min(top.height)), buf);
        x += w + 1;
    }
    let note_area = Rect::new(x, top.y, top.right().saturating_sub(x), top.height);
    Paragraph::new(theme.text(&note).into_owned())
        .wrap(Wrap { trim: true })
        .render(note_area, buf);
    // the selected filter is marked [n]; when not all fit, the ones around it are shown
    let label = |i: usize| {
        if i == f {
            format!("[{}]", i + 1)
        } else {
            format!("{}", i + 1)
        }
    };
    let mut rows: Vec<(&str, Vec<Panel>)> = Vec::new();
    if let Some(wb) = &before_w {
        rows.push((
            "before training",
            (0..n).map(|i| filter_image(wb, i, label(i))).collect(),
        ));
    }
    rows.push((
        "after training",
        (0..n).map(|i| filter_image(&wa, i, label(i))).collect(),
    ));
    let y = render_filter_rows(theme, &rows, (f, n), rest, buf);
    // feature maps of the first validation image
    if tab.maps.is_empty() || y + 4 > rest.bottom() {
        return;
    }
    buf.set_stringn(
        rest.x,
        y,
        "feature maps of one validation image (after training)",
        usize::from(rest.width),
        theme.heading(),
    );
    let h = rest.bottom() - y - 1;
    flow_panels(
        theme,
        &tab.maps,
        Rect::new(rest.x, y + 1, rest.width, h),
        10,
        buf,
    );
}

/// The words beside the selected filter: what it shows and how much training moved it.
fn filter_note(tab: &Filters, f: usize, (n, k): (usize, usize), over: &str) -> String {
    match tab.change {
        Some((moved, size)) => {
            let pct = 100.0 * moved / size.max(1e-9);
            format!(
                "Filter {} of {n} (left/right), its {k}x{k} weights summed over {over}; \
                 below, every filter as colours (grey = 0). Training moved the first layer's \
                 weights by {moved:.3} on average, against {size:.3} at the start ({pct:.0}%): {}",
                f + 1,
                if pct < 50.0 {
                    "these filters changed little; most of the learning went into the later layers."
                } else {
                    "training reshaped these filters."
                },
                moved = Dec::of(moved),
                size = Dec::of(size),
                pct = Dec::of(pct)
            )
        }
        None => format!(
            "Filter {} of {n} (left/right), its {k}x{k} weights summed over {over}; \
             below, every filter as colours (grey = 0). This model was loaded from a file, so \
             its filters before training are not known.",
            f + 1
        ),
    }
}

/// Every filter as colours, a row before training (when known) and one after, the
/// selected one among those shown; the first row below them.
fn render_filter_rows(
    theme: &Theme,
    rows: &[(&str, Vec<Panel>)],
    (f, n): (usize, usize),
    rest: Rect,
    buf: &mut Buffer,
) -> u16 {
    let style = PanelStyle::plain(*theme);
    let row_h = 5u16;
    let mut y = rest.y;
    for (title, panels) in rows {
        if y + 1 + row_h > rest.bottom() {
            break;
        }
        let place = Rect::new(rest.x, y + 1, rest.width, row_h);
        // how many fit in one row, the (wider) selected one among them
        let trial: Vec<Panel> = std::iter::once(panels[f].clone())
            .chain(
                panels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != f)
                    .map(|(_, p)| p.clone()),
            )
            .collect();
        let fits = flow_layout(&style, &trial, place, 9)
            .iter()
            .filter(|r| r.y == place.y)
            .count()
            .max(1);
        let start = if fits >= n {
            0
        } else {
            f.saturating_sub(fits / 2).min(n - fits)
        };
        let title = if fits >= n {
            (*title).to_string()
        } else {
            format!("{title} (filters {} to {} of {n})", start + 1, start + fits)
        };
        buf.set_stringn(rest.x, y, &title, usize::from(rest.width), theme.heading());
        flow_panels(theme, &panels[start..start + fits.min(n)], place, 9, buf);
        y += 1 + row_h;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::arch::{Arch, Plan};
    use crate::nn::checkpoint::CheckpointMeta;
    use crate::tui::view::buffer_text;

    fn drawn(net: Net) -> String {
        let meta = CheckpointMeta {
            classes: vec!["a".into(), "b".into(), "c".into()],
            ..CheckpointMeta::default()
        };
        let r = Results::loaded(net, meta, 1);
        let area = Rect::new(0, 0, 80, 16);
        let mut buf = Buffer::empty(area);
        render(&Theme::new(false, true), &r, area, &mut buf);
        buffer_text(&buf)
    }

    /// Any network's first convolution (a 5x5 one with stride 2 here), and a network with
    /// none (a perceptron) says so instead of drawing filters.
    #[test]
    fn the_filters_are_the_first_convolutions_whatever_the_network() {
        let arch = Arch::parse("conv(4,5,stride=2) relu flatten linear").unwrap();
        let text = drawn(Net::new(Plan::new(&arch, [3, 128, 128], 3).unwrap(), 2));
        assert!(
            text.contains("Filter 1 of 4") && text.contains("its 5x5"),
            "{text}"
        );
        let mlp = Arch::parse("flatten linear(8) relu linear").unwrap();
        let text = drawn(Net::new(Plan::new(&mlp, [3, 128, 128], 3).unwrap(), 2));
        assert!(text.contains("no convolution layer"), "{text}");
    }
}
