//! The predict tab: classify a new random shape (the seed's `create_image`) or an image
//! file with the model, and show the probabilities.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::backend::{Backend, CpuBackend};
use crate::data::{self, Shape};
use crate::lesson::frame::{Bars, ImagePanel, Panel};
use crate::nn::net::Net;

use super::super::super::theme::Theme;
use super::super::super::widgets::{panel_size, render_panel, PanelStyle};
use super::super::state::{best, chw_to_rgb};
use super::super::view::block;
use super::Results;
use crate::text::Dec;

/// One classified picture on the predict tab.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictView {
    /// What was classified ("a random circle", a file name).
    pub what: String,
    /// 128x128 RGB pixels, row-major (HWC).
    pub rgb: Vec<u8>,
    /// Probability of each class.
    pub probs: Vec<f32>,
    /// Its attribution map, while the why view is on.
    pub why: Option<crate::why::Attribution>,
}

/// The predict tab's state.
#[derive(Debug)]
pub struct Predict {
    /// The last prediction shown.
    pub shown: Option<PredictView>,
    /// A path being typed.
    pub path_input: Option<crate::tui::path_input::PathInput>,
    /// `o` may read an image file here (not in a classroom): the tab says so.
    pub files: bool,
    /// The why view is on (`y`): the picture with its attribution map.
    pub why_on: bool,
    rng: ChaCha8Rng,
    /// One CPU thread to classify on, made at the first prediction.
    backend: Option<CpuBackend>,
}

impl Predict {
    /// The tab before any prediction; `seed` (the run's) seeds the random shapes.
    pub(crate) fn new(seed: u64) -> Self {
        Predict {
            shown: None,
            path_input: None,
            files: true,
            why_on: false,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x00c0_ffee),
            backend: None,
        }
    }

    /// The probability of each class for CHW pixels `chw`.
    fn classify(&mut self, net: &Net, chw: &[u8]) -> Result<Vec<f32>, String> {
        let lut = data::normalize_table();
        let input: Vec<f32> = chw.iter().map(|&p| lut[usize::from(p)]).collect();
        let backend = match &mut self.backend {
            Some(b) => b,
            None => self
                .backend
                .insert(CpuBackend::new(Some(1)).map_err(|e| format!("cannot classify: {e}"))?),
        };
        match backend.predict(net, &input) {
            Ok(lp) => Ok(lp.row(0).iter().map(|v| v.exp()).collect()),
            Err(e) => Err(format!("cannot classify: {e}")),
        }
    }

    /// A new picture for `n`: a random shape when the classes are the shapes, else a
    /// random validation image of the run (`Err`: the notice).
    pub(crate) fn next(
        &mut self,
        net: &Net,
        classes: &[String],
        validation: Option<(&data::Dataset, &[usize])>,
    ) -> Result<(), String> {
        if are_shapes(classes) {
            return self.random(net);
        }
        match validation {
            Some((ds, val)) if !val.is_empty() => {
                let n = self.rng.gen_range(0..val.len());
                let i = val[n];
                let chw = ds
                    .try_image(i)
                    .map_err(|e| format!("cannot read the image: {e}"))?
                    .to_vec();
                let class = ds.labels.get(i).and_then(|&l| ds.classes.get(l));
                let what = format!(
                    "validation image {} ({})",
                    n + 1,
                    class.map_or("?", String::as_str)
                );
                self.file(net, what, &chw)
            }
            _ => Err(
                "no validation images with a loaded model: press o to open an image file".into(),
            ),
        }
    }

    /// Draw a new random shape and classify it (`Err`: the notice).
    pub(crate) fn random(&mut self, net: &Net) -> Result<(), String> {
        let shape = Shape::ALL[self.rng.gen_range(0..Shape::ALL.len())];
        let img = data::create_image(shape, &mut self.rng);
        let chw = data::rgb_to_chw(&img);
        let probs = self.classify(net, &chw)?;
        self.shown = Some(PredictView {
            what: format!("a random {}", shape.name()),
            rgb: img.into_raw(),
            probs,
            why: None,
        });
        Ok(())
    }

    /// Classify the pixels read from the file named `what` (`Err`: the notice).
    pub(crate) fn file(&mut self, net: &Net, what: String, chw: &[u8]) -> Result<(), String> {
        let probs = self.classify(net, chw)?;
        self.shown = Some(PredictView {
            what,
            rgb: chw_to_rgb(chw),
            probs,
            why: None,
        });
        Ok(())
    }
}

/// True when `classes` are the shapes the data set draws (in any order), so a new random
/// shape is a fair picture to classify.
pub fn are_shapes(classes: &[String]) -> bool {
    classes.len() == Shape::ALL.len()
        && Shape::ALL
            .iter()
            .all(|s| classes.iter().any(|c| c == s.name()))
}

/// Draw the predict tab.
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let Some(p) = &r.predict.shown else {
        let what = if are_shapes(&r.classes) {
            "Press n to draw a new random shape (the seed's create_image) and let the \
             trained network classify it"
        } else {
            "Press n to let the trained network classify a random validation image (one it \
             did not train on)"
        };
        let msg = if r.predict.files {
            format!("{what}, or o to type the path of an image file of your own.")
        } else {
            format!("{what}.")
        };
        Paragraph::new(theme.text(&msg).into_owned())
            .wrap(Wrap { trim: true })
            .block(block(theme, "Use the model"))
            .render(area, buf);
        return;
    };
    let style = PanelStyle::plain(*theme);
    let max_h = area.height.min(24);
    let w = match (&p.why, r.predict.why_on) {
        (Some(a), true) => {
            let max_w = (area.width / 2).min(52);
            crate::tui::why_view::render_picture(
                theme,
                &p.what,
                &p.rgb,
                a,
                Rect::new(area.x, area.y, max_w, max_h),
                buf,
            )
        }
        _ => {
            let img = Panel::Image(ImagePanel {
                label: p.what.clone(),
                width: crate::data::IMAGE_SIZE,
                height: crate::data::IMAGE_SIZE,
                rgb: p.rgb.clone(),
            });
            let (w, _) = panel_size(&img, &style, (area.width / 2).min(52), max_h);
            let (_, h) = panel_size(&img, &style, w, max_h);
            render_panel(&img, &style, Rect::new(area.x, area.y, w, h), buf);
            w
        }
    };
    // a bar per class; when they do not all fit (with the verdict below), the most
    // probable ones, best first
    let mut items: Vec<(String, f32)> = r
        .classes
        .iter()
        .map(|c| crate::text::escaped(c).into_owned())
        .zip(p.probs.iter().copied())
        .collect();
    let rows = usize::from(area.height.saturating_sub(4)).max(1);
    let label = if items.len() > rows {
        items.sort_by(|a, b| b.1.total_cmp(&a.1));
        let n = items.len();
        items.truncate(rows);
        format!("Probabilities (top {rows} of {n})")
    } else {
        "Probabilities".into()
    };
    let bars = Panel::Bars(Bars { label, items });
    let bx = area.x + w + 1;
    let bw = area.right().saturating_sub(bx);
    let (_, bh) = panel_size(&bars, &style, bw, area.height.saturating_sub(2));
    render_panel(
        &bars,
        &style,
        Rect::new(bx, area.y, bw, bh.min(area.height)),
        buf,
    );
    let k = best(&p.probs);
    let verdict = format!(
        "The network says: {} ({:.1}%).",
        r.classes.get(k).map_or("?", String::as_str),
        Dec::of(100.0 * p.probs.get(k).copied().unwrap_or(0.0))
    );
    let y = area.y + bh + 1;
    if y < area.bottom() {
        buf.set_stringn(bx, y, &verdict, usize::from(bw), theme.emphasis());
    }
    if let (Some(a), true) = (&p.why, r.predict.why_on) {
        let lines = crate::tui::why_view::text_lines(theme, a, &r.classes, r.why.untrained);
        let top = y + 2;
        if top < area.bottom() {
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .render(Rect::new(bx, top, bw, area.bottom() - top), buf);
        }
    }
}
