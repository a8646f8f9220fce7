//! The "why" view the predict tab, the evaluation tab and the inspector share: an
//! attribution map ([`crate::why`]) of one picture laid over it, the method and class
//! chosen with keys, a legend, and one honest sentence on what the method shows.
//!
//! The maps are computed when asked for (a key, a new picture), never while drawing.
//! With colour the map is laid over the picture in half-block cells; without colour (or in
//! ASCII) the picture and the map are drawn side by side, the map as a character ramp.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::backend::{cpu, Backend, CpuBackend};
use crate::lesson::frame::{ImagePanel, Panel};
use crate::nn::net::Net;
use crate::why::{self, Attribution, Method};

use super::theme::Theme;
use super::widgets::{panel_size, render_panel, PanelStyle};

/// What the learner chose: method, class (None: the predicted one) and whether the map is
/// of an untrained network of the same layers (the sanity check).
#[derive(Debug)]
pub struct WhyChoice {
    pub method: Method,
    pub class: Option<usize>,
    pub untrained: bool,
    backend: Option<CpuBackend>,
    /// The untrained network, made once per plan.
    fresh: Option<Net>,
}

impl Default for WhyChoice {
    fn default() -> Self {
        WhyChoice {
            method: Method::GradCam,
            class: None,
            untrained: false,
            backend: None,
            fresh: None,
        }
    }
}

impl WhyChoice {
    /// The next method (saliency, Grad-CAM, occlusion).
    pub fn next_method(&mut self) {
        self.method = self.method.next();
    }

    /// The next class to explain after the one shown (`shown`), of `classes`.
    pub fn next_class(&mut self, shown: usize, classes: usize) {
        self.class = Some((shown + 1) % classes.max(1));
    }

    /// The map of one picture (`chw`: its pixels, CHW) for the choice.
    pub fn compute(&mut self, net: &Net, chw: &[u8]) -> Result<Attribution, String> {
        let lut = crate::data::normalize_table();
        let input: Vec<f32> = chw.iter().map(|&p| lut[usize::from(p)]).collect();
        let backend = match &mut self.backend {
            Some(b) => b,
            None => self
                .backend
                .insert(CpuBackend::new(None).map_err(|e| format!("cannot explain: {e}"))?),
        };
        // the class: the trained network's prediction unless one was chosen
        let class = match self.class {
            Some(c) if c < net.classes() => c,
            _ => {
                let lp = backend
                    .predict(net, &input)
                    .map_err(|e| format!("cannot explain: {e}"))?;
                cpu::argmax(lp.row(0).as_slice().unwrap_or(&[]))
            }
        };
        let net = if self.untrained {
            if self.fresh.as_ref().is_none_or(|f| f.plan != net.plan) {
                self.fresh = Some(Net::new((*net.plan).clone(), 0));
            }
            self.fresh.as_ref().unwrap_or(net)
        } else {
            net
        };
        why::explain(backend, net, &input, self.method, Some(class), None)
            .map_err(|e| format!("cannot explain: {e}"))
    }
}

/// The method's name on screen.
pub fn title(m: Method) -> &'static str {
    match m {
        Method::Saliency => "Saliency",
        Method::GradCam => "Grad-CAM",
        Method::Occlusion { .. } => "Occlusion",
    }
}

/// The heat colour of a weight 0..1: dark red to yellow.
fn heat(t: f32) -> (f32, f32, f32) {
    (255.0, 230.0 * t, 40.0 * t)
}

/// The picture with the map laid over it (colour), or the map alone as grey levels (so
/// the image panel's character ramp shows the map without colour).
pub fn overlay_rgb(rgb: &[u8], side: usize, a: &Attribution, color: bool) -> Vec<u8> {
    let wts = why::pixel_weights(a, side, side);
    let mut out = Vec::with_capacity(side * side * 3);
    for (i, &t) in wts.iter().enumerate() {
        if !color {
            let g = (t * 255.0).round() as u8;
            out.extend([g, g, g]);
            continue;
        }
        let px = rgb.get(i * 3..i * 3 + 3).unwrap_or(&[0, 0, 0]);
        let grey = 0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2]);
        let base = 0.55 * grey;
        let alpha = 0.85 * t.sqrt();
        let (hr, hg, hb) = heat(t);
        let mix = |h: f32| ((1.0 - alpha) * base + alpha * h).round().clamp(0.0, 255.0) as u8;
        out.extend([mix(hr), mix(hg), mix(hb)]);
    }
    out
}

/// One line of legend: low to high in the map's colours (or its ramp), with the largest
/// value.
pub fn legend(theme: &Theme, a: &Attribution) -> Line<'static> {
    let (top, _) = why::peak(&a.map);
    let mut spans = vec![Span::raw("low ")];
    if theme.color && !theme.ascii {
        for i in 1..=8 {
            let t = i as f32 / 8.0;
            let (r, g, b) = heat(t);
            spans.push(Span::styled(
                " ",
                Style::new().bg(theme.pixel(r as u8, g as u8, b as u8)),
            ));
        }
    } else {
        spans.push(Span::raw("\" .:-=+*#%@\""));
    }
    spans.push(Span::raw(format!(" high ({:.3})", top.max(0.0))));
    Line::from(spans)
}

/// The lines under the picture: what is shown, the legend, what it does not show.
pub fn text_lines(
    theme: &Theme,
    a: &Attribution,
    classes: &[String],
    untrained: bool,
) -> Vec<Line<'static>> {
    let name =
        |k: usize| crate::text::escaped(classes.get(k).map_or("?", String::as_str)).into_owned();
    let on = match (&a.layer, a.method) {
        (Some(l), _) => format!(" on {l}"),
        (None, Method::Occlusion { patch, stride }) => {
            format!(", {patch}x{patch} patch every {stride} px")
        }
        _ => String::new(),
    };
    let whose = if untrained {
        "an UNTRAINED network (sanity check)"
    } else {
        "this network"
    };
    let mut lines = vec![
        Line::styled(
            format!(
                "{}{on} of {whose} for \"{}\" ({:.1}%)",
                title(a.method),
                name(a.class),
                100.0 * a.probability
            ),
            theme.heading(),
        ),
        legend(theme, a),
    ];
    if why::peak(&a.map).0 <= 0.0 {
        lines.push(Line::raw(match a.method {
            Method::GradCam => "The map is empty: the weighted feature maps are below zero everywhere, so the ReLU keeps nothing. Try occlusion.".to_string(),
            Method::Occlusion { .. } => format!(
                "The map is empty: no patch lowered the probability ({:.1}%){}.",
                100.0 * a.probability,
                if a.probability > 0.999 { "; it is so sure that hiding any one patch changes nothing. Try Grad-CAM" } else { "" }
            ),
            Method::Saliency => "The map is empty: no pixel moves this class's score.".to_string(),
        }));
    }
    lines.push(Line::raw(a.method.caveat()));
    if !untrained {
        lines.push(Line::styled(
            "Press u to compare with an untrained network's map.",
            theme.dim(),
        ));
    }
    lines
}

/// Draw the picture with its map into `area` (colour: one panel; no colour: picture and
/// map side by side). Returns the width used.
pub fn render_picture(
    theme: &Theme,
    label: &str,
    rgb: &[u8],
    a: &Attribution,
    area: Rect,
    buf: &mut Buffer,
) -> u16 {
    let side = crate::data::IMAGE_SIZE;
    let style = PanelStyle::plain(*theme);
    let panel = |label: String, rgb: Vec<u8>| {
        Panel::Image(ImagePanel {
            label,
            width: side,
            height: side,
            rgb,
        })
    };
    if theme.color && !theme.ascii {
        let p = panel(label.to_string(), overlay_rgb(rgb, side, a, true));
        let (w, h) = panel_size(&p, &style, area.width, area.height);
        render_panel(&p, &style, Rect::new(area.x, area.y, w, h), buf);
        return w;
    }
    let half = area.width / 2;
    let pic = panel(label.to_string(), rgb.to_vec());
    let map = panel(
        title(a.method).to_string(),
        overlay_rgb(rgb, side, a, false),
    );
    let (w1, h1) = panel_size(&pic, &style, half, area.height);
    render_panel(&pic, &style, Rect::new(area.x, area.y, w1, h1), buf);
    let (w2, h2) = panel_size(&map, &style, half, area.height);
    render_panel(&map, &style, Rect::new(area.x + w1, area.y, w2, h2), buf);
    w1 + w2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_is_the_picture_where_the_map_is_zero_and_heat_where_it_peaks() {
        let map = ndarray::Array2::from_shape_vec((2, 2), vec![0.0, 0.0, 0.0, 1.0]).unwrap();
        let a = Attribution {
            method: Method::GradCam,
            class: 0,
            probability: 1.0,
            predicted: 0,
            map,
            layer: None,
            cell: (2, 2, 1),
        };
        let rgb = vec![200u8; 4 * 4 * 3];
        let c = overlay_rgb(&rgb, 4, &a, true);
        assert_eq!(&c[0..3], &[110, 110, 110]);
        let last = &c[15 * 3..16 * 3];
        assert!(last[0] > 200 && last[1] > 150, "{last:?}");
        let g = overlay_rgb(&rgb, 4, &a, false);
        assert_eq!(&g[0..3], &[0, 0, 0]);
        assert_eq!(&g[15 * 3..16 * 3], &[255, 255, 255]);
    }
}
