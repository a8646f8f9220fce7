//! The filters tab: the first layer's filters at the start of the run (epoch 0) and at
//! any epoch (`[`/`]`, from the run's [`FilterHistory`]), how far they moved (numbers and
//! a sentence made from them), and the feature maps they make of one validation image at
//! that epoch; `Enter` opens what a filter looks for ([`super::looks`]). Everything is
//! computed when the results arrive, the epoch changes or the learner asks; drawing only
//! reads.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::lesson::frame::{Grid, ImagePanel, Panel};
use crate::nn::net::Net;
use crate::train::growth::FilterHistory;

use super::super::super::theme::Theme;
use super::super::super::widgets::{panel_size, render_panel, wrap, PanelStyle};
use super::super::state::chw_to_rgb;
use super::super::view::{flow_layout, flow_panels};
use super::evaluation::Evaluation;
use super::looks::LookView;
use super::Results;

/// The filters tab's state.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Selected filter (0-based).
    pub filter: usize,
    /// The run's snapshots of the first convolution (`None`: a model read from a file,
    /// or a network without one).
    pub history: Option<Arc<FilterHistory>>,
    /// The epoch shown (0: the initial weights), when there is a history.
    pub epoch: usize,
    /// The first validation image and its feature maps (the first layer's output at the
    /// epoch shown), as pictures; empty without a data set.
    pub maps: Vec<Panel>,
    /// Filters of the first convolution (0: the network has none).
    pub filters: usize,
    /// What a filter looks for, while open (`Enter`).
    pub look: Option<LookView>,
    /// The engine's numbers behind it, kept after it closes (for this model's
    /// validation images).
    pub looks: Option<Arc<crate::filters_look::Looks>>,
    /// The image of the feature maps (3x128x128 CHW).
    image: Option<Vec<u8>>,
}

impl Filters {
    /// The tab for `net` (with the run's `history`, at its last epoch), with the feature
    /// maps of the first validation image.
    pub fn new(history: Option<FilterHistory>, net: &Net, ev: &Evaluation) -> Self {
        let history = history.map(Arc::new);
        let epoch = history.as_ref().map_or(0, |h| h.last_epoch());
        let mut f = Filters {
            filter: 0,
            history,
            epoch,
            maps: Vec::new(),
            filters: 0,
            look: None,
            looks: None,
            image: None,
        };
        f.set_model(net, ev);
        f
    }

    /// Compute the feature maps again for another model (a history's maps are the
    /// run's, kept for its model), of the evaluation's first validation image.
    pub(crate) fn set_model(&mut self, net: &Net, ev: &Evaluation) {
        let chw = match (&ev.dataset, ev.val.first()) {
            (Some(ds), Some(&img)) => Some(ds.image(img).to_vec()),
            _ => None,
        };
        self.set_image(net, chw);
    }

    /// The tab for the inspector: `net`'s filters (and the run's `history`), the maps of
    /// `image` (3x128x128 CHW; the run's first validation image when there is a history).
    pub fn for_image(history: Option<Arc<FilterHistory>>, net: &Net, image: Option<&[u8]>) -> Self {
        let epoch = history.as_ref().map_or(0, |h| h.last_epoch());
        let mut f = Filters {
            filter: 0,
            history,
            epoch,
            maps: Vec::new(),
            filters: 0,
            look: None,
            looks: None,
            image: None,
        };
        f.set_image(net, image.map(<[u8]>::to_vec));
        f
    }

    /// The feature maps of `chw` (the picture, then each map of the first layer).
    fn set_image(&mut self, net: &Net, chw: Option<Vec<u8>>) {
        self.filters = net.first_conv().map_or(0, |(w, ..)| net.params[w].shape[0]);
        self.maps = match chw {
            Some(chw) if chw.len() == crate::data::IMAGE_LEN => {
                let mut panels = vec![Panel::Image(ImagePanel {
                    label: "image".into(),
                    width: crate::data::IMAGE_SIZE,
                    height: crate::data::IMAGE_SIZE,
                    rgb: chw_to_rgb(&chw),
                })];
                match &self.history {
                    Some(h) if h.map_size.0 > 0 => panels.extend(history_maps(h, self.epoch)),
                    _ => panels.extend(feature_maps(net, &chw)),
                }
                self.image = Some(chw);
                panels
            }
            _ => Vec::new(),
        };
    }

    /// Select the previous (`right` false) or next filter.
    pub fn step(&mut self, right: bool) {
        self.filter = if right {
            (self.filter + 1).min(self.filters.saturating_sub(1))
        } else {
            self.filter.saturating_sub(1)
        };
    }

    /// Show the epoch before (`later` false) or after: the filters and maps of then.
    pub fn step_epoch(&mut self, later: bool, net: &Net) {
        let Some(h) = &self.history else {
            return;
        };
        self.epoch = if later {
            (self.epoch + 1).min(h.last_epoch())
        } else {
            self.epoch.saturating_sub(1)
        };
        let chw = self.image.take();
        self.set_image(net, chw);
    }

    /// Open what the selected filter looks for (the engine runs now, once per model).
    pub(crate) fn open_look(&mut self, net: &Net, ev: &Evaluation, classes: &[String]) {
        let v = LookView::open(net, ev, classes, self.filter, self.looks.clone());
        if let Ok(l) = &v.looks {
            self.looks = Some(l.clone());
        }
        self.look = Some(v);
    }

    /// True when there are epochs to step through.
    pub fn has_history(&self) -> bool {
        self.history.as_ref().is_some_and(|h| h.snapshots.len() > 1)
    }
}

/// The history's maps at `epoch`, each channel scaled by its range over every epoch (so
/// the same grey means the same value at every epoch).
fn history_maps(h: &FilterHistory, epoch: usize) -> Vec<Panel> {
    let Some(snap) = h.at(epoch) else {
        return Vec::new();
    };
    let (mh, mw) = h.map_size;
    (0..h.shape[0])
        .map(|c| {
            let (lo, hi) = h
                .snapshots
                .iter()
                .flat_map(|s| h.map(s, c).iter().copied())
                .fold((f32::MAX, f32::MIN), |(l, u), v| (l.min(v), u.max(v)));
            let span = (hi - lo).max(1e-6);
            let rgb = h
                .map(snap, c)
                .iter()
                .flat_map(|&v| {
                    let g = (255.0 * (v - lo) / span) as u8;
                    [g, g, g]
                })
                .collect();
            Panel::Image(ImagePanel {
                label: format!("{}", c + 1),
                width: mw,
                height: mh,
                rgb,
            })
        })
        .collect()
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
        // shrink to 32x32 so drawing stays cheap (a strided or unpadded first
        // convolution's maps are smaller than the picture: sampled from their own size)
        let (ph, pw) = (plane.shape()[0], plane.shape()[1]);
        let s = 32.min(ph).min(pw);
        if s == 0 {
            continue;
        }
        let mut rgb = Vec::with_capacity(s * s * 3);
        for y in 0..s {
            for xx in 0..s {
                let v = plane[[y * ph / s, xx * pw / s]];
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
    let (kh, kw) = (w.shape()[2], w.shape()[3]);
    let mut out = vec![0.0f32; kh * kw];
    for c in 0..w.shape()[1] {
        for y in 0..kh {
            for x in 0..kw {
                out[y * kw + x] += w[[f, c, y, x]];
            }
        }
    }
    out
}

/// A filter drawn as a K x K colour picture (each channel's weights over `max` scaled to
/// 0..255, grey = 0).
fn filter_image(w: &ndarray::ArrayView4<'_, f32>, f: usize, max: f32, label: String) -> Panel {
    let (kh, kw) = (w.shape()[2], w.shape()[3]);
    let mut rgb = Vec::with_capacity(kh * kw * 3);
    for y in 0..kh {
        for x in 0..kw {
            for c in 0..3 {
                let v = w[[f, c.min(w.shape()[1] - 1), y, x]] / max.max(1e-6);
                rgb.push((127.5 + 127.5 * v).clamp(0.0, 255.0) as u8);
            }
        }
    }
    Panel::Image(ImagePanel {
        label,
        width: kw,
        height: kh,
        rgb,
    })
}

/// The weights shown: (title, weights) per row, epoch 0 first when known.
type Shown<'a> = Vec<(String, ndarray::ArrayView4<'a, f32>)>;

/// The rows of weights the tab shows: with a history, epoch 0 and the epoch chosen
/// (once when they are the same); else the model's own.
fn shown<'a>(tab: &'a Filters, net: &'a Net, wi: usize) -> Shown<'a> {
    fn view(h: &FilterHistory, e: usize) -> Option<ndarray::ArrayView4<'_, f32>> {
        let s = h.at(e)?;
        let [n, c, kh, kw] = h.shape;
        ndarray::ArrayView4::from_shape((n, c, kh, kw), &s.weight[..]).ok()
    }
    match &tab.history {
        Some(h) => {
            let mut rows = Vec::new();
            if tab.epoch > 0 {
                rows.extend(view(h, 0).map(|w| ("epoch 0 (the start)".to_string(), w)));
            }
            let last = h.last_epoch();
            let title = match tab.epoch {
                0 => "epoch 0 (the start)".to_string(),
                e if e == last => format!("epoch {e} (the end)"),
                e => format!("epoch {e} of {last}"),
            };
            rows.extend(view(h, tab.epoch).map(|w| (title, w)));
            rows
        }
        None => vec![("this model".to_string(), net.conv_weight(wi))],
    }
}

/// Draw the filters tab (reads the weights, the history and the stored feature maps;
/// computes no network op).
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    if let Some(look) = &r.filters.look {
        super::looks::render(theme, look, area, buf);
        return;
    }
    render_tab(theme, &r.filters, &r.net, area, buf);
}

/// Draw the filters of `net` as `tab` says (the inspector draws it too).
pub fn render_tab(theme: &Theme, tab: &Filters, net: &Net, area: Rect, buf: &mut Buffer) {
    let Some((wi, ..)) = net.first_conv() else {
        Paragraph::new(
            theme
                .text("This network has no convolution layer, so there are no filters to show.")
                .into_owned(),
        )
        .wrap(Wrap { trim: true })
        .render(area, buf);
        return;
    };
    let rows = shown(tab, net, wi);
    let Some((_, wa)) = rows.last() else {
        return;
    };
    let (n, k) = (wa.shape()[0], wa.shape()[2]);
    let f = tab.filter.min(n.saturating_sub(1));
    let style = PanelStyle::plain(*theme);
    let epoch_of = |t: &str| t.split(" (").next().unwrap_or(t).to_string();
    let grids: Vec<Panel> = rows
        .iter()
        .map(|(t, w)| {
            Panel::Grid(Grid::full(
                format!("filter {}, {}", f + 1, epoch_of(t)),
                k,
                wa.shape()[3],
                &filter_sum(w, f),
            ))
        })
        .collect();
    let note = filter_note(tab, f, (n, k), wa.shape()[1]);
    let story = story(tab, theme);
    // the note gets the rows it needs beside the grids (5 at least)
    let grids_w: u16 = grids
        .iter()
        .map(|g| panel_size(g, &style, area.width, 6).0 + 1)
        .sum();
    let note_w = area.width.saturating_sub(grids_w);
    let note_h = u16::try_from(wrap(&theme.text(&note), usize::from(note_w.max(1))).len())
        .unwrap_or(6)
        .max(5);
    let story_h = u16::try_from(wrap(&story, usize::from(area.width.max(1))).len()).unwrap_or(0);
    let [top, said, rest] = Layout::vertical([
        Constraint::Length(note_h.min(area.height)),
        Constraint::Length(story_h),
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
    Paragraph::new(story)
        .wrap(Wrap { trim: true })
        .render(said, buf);
    // one colour scale for every row, so the same colour is the same weight
    let max = rows
        .iter()
        .flat_map(|(_, w)| w.iter())
        .fold(1e-6f32, |m, v| m.max(v.abs()));
    // the selected filter is marked [n]; when not all fit, the ones around it are shown
    let label = |i: usize| {
        if i == f {
            format!("[{}]", i + 1)
        } else {
            format!("{}", i + 1)
        }
    };
    // the epoch chosen first, so it stays when only one row fits
    let panels: Vec<(&str, Vec<Panel>)> = rows
        .iter()
        .rev()
        .map(|(t, w)| {
            let p = (0..n).map(|i| filter_image(w, i, max, label(i))).collect();
            (t.as_str(), p)
        })
        .collect();
    let y = render_filter_rows(theme, &panels, (f, n), rest, buf);
    // feature maps of the first validation image
    if tab.maps.is_empty() || y + 4 > rest.bottom() {
        return;
    }
    let when = match &tab.history {
        Some(h) if h.map_size.0 > 0 => format!("epoch {}", tab.epoch),
        _ => "this model".into(),
    };
    buf.set_stringn(
        rest.x,
        y,
        format!("feature maps of one validation image ({when})"),
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

/// The words beside the selected filter: which filter and epoch, what the grids are, how
/// far this filter moved since the start.
fn filter_note(tab: &Filters, f: usize, (n, k): (usize, usize), channels: usize) -> String {
    let over = match channels {
        3 => "R, G, B".to_string(),
        c => format!("its {c} input channels"),
    };
    let what = format!(
        "Filter {} of {n} (left/right): {k}x{k}, summed over {over}; grey = 0 below.",
        f + 1
    );
    let Some(h) = &tab.history else {
        return format!(
            "{what} This model was read from a file: how its filters grew is known only to \
             the run that trained it (the file does not keep it)."
        );
    };
    let epochs = format!("Epoch {} of {} ([ ]).", tab.epoch, h.last_epoch());
    match h
        .change(0, tab.epoch)
        .and_then(|c| c.filters.get(f).copied())
    {
        Some(c) if tab.epoch > 0 => format!(
            "{epochs} {what} It moved {:.3} (L2), {:.1}% of its size.",
            c.l2,
            100.0 * c.rel
        ),
        _ => format!("{epochs} {what}"),
    }
}

/// What happened to the whole layer by the epoch shown, and the filter that moved most,
/// from the history's numbers (empty without a history).
fn story(tab: &Filters, theme: &Theme) -> String {
    let Some(h) = &tab.history else {
        return String::new();
    };
    let said = h.sentence(tab.epoch);
    let Some(ch) = h.change(0, tab.epoch).filter(|_| tab.epoch > 0) else {
        return theme.text(&said).into_owned();
    };
    let m = ch.largest();
    let ((c, y, x), a, b) = m.weight;
    let channel = match h.shape[1] {
        3 => ["R", "G", "B"][c].to_string(),
        _ => format!("channel {}", c + 1),
    };
    theme
        .text(&format!(
            "{said} Most moved: filter {}, L2 {:.3} ({:.1}%; norm {:.3} → {:.3}); weight \
             {channel}[{},{}] {a:.3} → {b:.3}; bias {:.3} → {:.3}.",
            m.filter + 1,
            m.l2,
            100.0 * m.rel,
            m.norm.0,
            m.norm.1,
            y + 1,
            x + 1,
            m.bias.0,
            m.bias.1,
        ))
        .into_owned()
}

/// Every filter as colours, a row per epoch shown, the selected one among those shown;
/// the first row below them.
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
            text.contains("Filter 1 of 4") && text.contains("5x5,"),
            "{text}"
        );
        let mlp = Arch::parse("flatten linear(8) relu linear").unwrap();
        let text = drawn(Net::new(Plan::new(&mlp, [3, 128, 128], 3).unwrap(), 2));
        assert!(text.contains("no convolution layer"), "{text}");
    }
}
