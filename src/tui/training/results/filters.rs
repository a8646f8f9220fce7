//! The filters tab: the first layer's filters before and after training, and the feature
//! maps they make of one validation image (computed once, when the results arrive or a
//! model is loaded).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::lesson::frame::{Grid, ImagePanel, Panel};
use crate::nn::net::Net;

use super::super::super::theme::Theme;
use super::super::super::widgets::{panel_size, render_panel, PanelStyle};
use super::super::state::chw_to_rgb;
use super::super::view::flow_panels;
use super::evaluation::Evaluation;
use super::Results;

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
}

impl Filters {
    /// The tab for `net`, with the feature maps of the first validation image.
    pub(crate) fn new(before: Option<Net>, net: &Net, ev: &Evaluation) -> Self {
        let mut f = Filters {
            filter: 0,
            before,
            maps: Vec::new(),
        };
        f.set_model(net, ev);
        f
    }

    /// Compute the feature maps again for another model.
    pub(crate) fn set_model(&mut self, net: &Net, ev: &Evaluation) {
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
            (self.filter + 1).min(crate::nn::net::C1 - 1)
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
    let w = net.conv_weight(0);
    let b = net.bias(0);
    let maps = crate::nn::ops::conv2d(&x, &w.to_owned(), Some(&b.to_owned()), 1, 1);
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

/// A filter's three colour channels summed, as a 3x3 grid of weights.
fn filter_sum(w: &ndarray::ArrayView4<'_, f32>, f: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; 9];
    for c in 0..w.shape()[1] {
        for y in 0..3 {
            for x in 0..3 {
                out[y * 3 + x] += w[[f, c, y, x]];
            }
        }
    }
    out
}

/// A filter drawn as a 3x3 colour picture (each channel's weights scaled to 0..255).
fn filter_image(w: &ndarray::ArrayView4<'_, f32>, f: usize, label: String) -> Panel {
    let max = w.iter().map(|v| v.abs()).fold(1e-6f32, f32::max);
    let mut rgb = Vec::with_capacity(27);
    for y in 0..3 {
        for x in 0..3 {
            for c in 0..3 {
                let v = w[[f, c.min(w.shape()[1] - 1), y, x]] / max;
                rgb.push((127.5 + 127.5 * v).clamp(0.0, 255.0) as u8);
            }
        }
    }
    Panel::Image(ImagePanel {
        label,
        width: 3,
        height: 3,
        rgb,
    })
}

/// Draw the filters tab (reads the weights and the stored feature maps; computes no
/// network op).
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let tab = &r.filters;
    let Some(before) = &tab.before else {
        Paragraph::new("No trained network.").render(area, buf);
        return;
    };
    let (wb, wa) = (before.conv_weight(0), r.net.conv_weight(0));
    let f = tab.filter.min(wa.shape()[0].saturating_sub(1));
    let [top, rest] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(area);
    let style = PanelStyle::plain(*theme);
    let grids = [
        Panel::Grid(Grid::full(
            format!("filter {} before", f + 1),
            3,
            3,
            &filter_sum(&wb, f),
        )),
        Panel::Grid(Grid::full(
            format!("filter {} after", f + 1),
            3,
            3,
            &filter_sum(&wa, f),
        )),
    ];
    let mut x = top.x;
    for g in &grids {
        let (w, h) = panel_size(g, &style, top.width.saturating_sub(x - top.x), top.height);
        if x + w > top.right() {
            break;
        }
        render_panel(g, &style, Rect::new(x, top.y, w, h.min(top.height)), buf);
        x += w + 1;
    }
    let note = "Each filter's 3x3 weights, summed over red, green and blue (the numbers), and as \
                colours below (grey = 0). Training turned random weights into edge and colour \
                detectors.";
    let note_area = Rect::new(x, top.y, top.right().saturating_sub(x), top.height);
    Paragraph::new(theme.text(note).into_owned())
        .wrap(Wrap { trim: true })
        .render(note_area, buf);
    let n = wa.shape()[0];
    let before_p: Vec<Panel> = (0..n)
        .map(|i| filter_image(&wb, i, format!("{}", i + 1)))
        .collect();
    let after_p: Vec<Panel> = (0..n)
        .map(|i| filter_image(&wa, i, format!("{}", i + 1)))
        .collect();
    let row_h = 5u16;
    let rows = [("before training", before_p), ("after training", after_p)];
    let mut y = rest.y;
    for (label, panels) in &rows {
        if y + 1 + row_h > rest.bottom() {
            break;
        }
        buf.set_stringn(rest.x, y, *label, usize::from(rest.width), theme.heading());
        flow_panels(
            theme,
            panels,
            Rect::new(rest.x, y + 1, rest.width, row_h),
            9,
            buf,
        );
        y += 1 + row_h;
    }
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
