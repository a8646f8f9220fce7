//! Occlusion by hand: cover one small patch of the picture with mid-grey, run the
//! network again, and see how much the predicted class's probability falls; slide the
//! patch over the picture and the falls make the occlusion map.
//!
//! The network is the backprop lesson's small one (one filter, ReLU, max pooling, flatten,
//! one fully connected layer, softmax), run with [`crate::nn::ops`] on the picture as the
//! course's data loader normalises it (`(pixel / 255 - 0.5) / 0.5`, -1..1), where a
//! covered pixel is 0: mid-grey, and a number that adds nothing to any sum.

mod questions;

use std::sync::Arc;

use ndarray::{Array1, Array2};
use serde::Deserialize;
use toml::Spanned;

use super::backprop::{fc, sizes, small_net, SmallNet};
use super::fully_connected::classes as class_names;
use super::{KindFile, LessonKind};
use crate::lesson::check::{Ctx, Matrix, MAX_SIDE};
use crate::lesson::draw::{as_batch, channel, fill, fmt_num, grid, partial, step, with_emphasis};
use crate::lesson::frame::{Bars, Panel, Step};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::Question;
use crate::nn::ops;
use crate::{Error, Result};

/// The fields of an occlusion lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    image: Option<Spanned<Matrix>>,
    kernel: Option<Spanned<Matrix>>,
    bias: Option<Spanned<f32>>,
    pool: Option<Spanned<usize>>,
    fc_weights: Option<Spanned<Matrix>>,
    fc_bias: Option<Spanned<Vec<f32>>>,
    classes: Option<Spanned<Vec<String>>>,
    patch: Option<Spanned<usize>>,
    patch_stride: Option<Spanned<usize>>,
}

/// Placeholders of `text.step`: the patch's number, where it is, the class, the map entry.
const STEP_VARS: &[&str] = &["step", "steps", "row", "col", "class", "value"];

impl KindFile for File {
    const NAME: &'static str = "occlusion";

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.step" => STEP_VARS,
            "text.intro" | "text.result" | "text.closing" => &["class"],
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        let image = self
            .image
            .as_ref()
            .map(|m| ctx.matrix("image", m, (MAX_SIDE, MAX_SIDE)))
            .transpose()?;
        let kernel = self
            .kernel
            .as_ref()
            .map(|m| ctx.matrix("kernel", m, (MAX_SIDE, MAX_SIDE)))
            .transpose()?;
        let bias = match &self.bias {
            Some(b) => {
                ctx.numbers("bias", b.span(), &[*b.get_ref()])?;
                *b.get_ref()
            }
            None => 0.0,
        };
        let pool = ctx.int_in("pool", &self.pool, 2, (1, 8), "a pool size")?;
        let fc_weights = self
            .fc_weights
            .as_ref()
            .map(|m| ctx.matrix("fc_weights", m, (10, MAX_SIDE * MAX_SIDE)))
            .transpose()?;
        if let Some(b) = &self.fc_bias {
            ctx.numbers("fc_bias", b.span(), b.get_ref())?;
        }
        let classes = class_names(ctx, &self.classes)?;
        let patch = ctx.int_in("patch", &self.patch, 2, (1, 8), "a patch size")?;
        let patch_stride = ctx.int_in(
            "patch_stride",
            &self.patch_stride,
            patch,
            (1, 8),
            "a patch step",
        )?;
        let (image, kernel, pooled) = sizes(ctx, (&self.kernel, &self.pool), image, kernel, pool)?;
        let (fc_weights, fc_bias) = fc(
            ctx,
            (&self.fc_weights, &self.fc_bias),
            fc_weights,
            &classes,
            pooled,
        )?;
        if patch > image.nrows() || patch > image.ncols() {
            let span = self.patch.as_ref().map(Spanned::span).unwrap_or_default();
            return Err(ctx.err(
                span,
                "patch",
                format!(
                    "a {patch}x{patch} patch does not fit the {}x{} image",
                    image.nrows(),
                    image.ncols()
                ),
            ));
        }
        Ok(Arc::new(Occlusion {
            image,
            kernel,
            bias,
            pool,
            fc_weights,
            fc_bias,
            classes,
            patch,
            stride: patch_stride,
        }))
    }
}

/// A checked occlusion lesson: its inputs as the file gave them.
#[derive(Debug)]
struct Occlusion {
    image: Array2<f32>,
    kernel: Array2<f32>,
    bias: f32,
    pool: usize,
    fc_weights: Array2<f32>,
    fc_bias: Vec<f32>,
    classes: Vec<String>,
    patch: usize,
    stride: usize,
}

/// The network's parameters as the learner left them.
struct Net {
    filter: Array2<f32>,
    bias: f32,
    pool: usize,
    fc_w: Array2<f32>,
    fc_b: Array1<f32>,
}

/// One forward pass, every stage kept.
#[derive(Debug, Clone)]
pub(crate) struct Forward {
    /// The feature map (before ReLU).
    pub(crate) z: Array2<f32>,
    /// After ReLU and max pooling.
    pub(crate) pooled: Array2<f32>,
    pub(crate) scores: Vec<f32>,
    pub(crate) probs: Vec<f32>,
}

impl Net {
    /// The picture `x` (already normalised) through the network, with the training
    /// code's ops in the course's order.
    fn forward(&self, x: &Array2<f32>) -> Forward {
        let w = as_batch(&self.filter);
        let b = Array1::from_elem(1, self.bias);
        let z = ops::conv2d(&as_batch(x), &w, Some(&b), 1, 0);
        let pooled = ops::max_pool2d(&ops::relu(&z), self.pool, self.pool);
        let scores = ops::linear(&ops::flatten(&pooled), &self.fc_w, &self.fc_b);
        let probs = ops::softmax(&scores);
        Forward {
            z: channel(&z, 0),
            pooled: channel(&pooled, 0),
            scores: scores.row(0).to_vec(),
            probs: probs.row(0).to_vec(),
        }
    }
}

/// `(pixel / 255 - 0.5) / 0.5`: the course's `ToTensor()` and `Normalize(0.5, 0.5)`.
fn normalise(v: f32) -> f32 {
    (v / 255.0 - 0.5) / 0.5
}

/// Everything the lesson shows, computed: the picture as the network sees it, the
/// uncovered pass, and one covered pass per patch position (row by row).
pub(crate) struct Computed {
    pub(crate) x: Array2<f32>,
    pub(crate) orig: Forward,
    /// The class whose probability the map follows: the uncovered prediction.
    pub(crate) class: usize,
    pub(crate) patch: usize,
    /// Top-left corners of the patches, row-major.
    pub(crate) corners: Vec<(usize, usize)>,
    /// The map's rows and columns.
    pub(crate) dims: (usize, usize),
    pub(crate) covered: Vec<Forward>,
    /// p_class(uncovered) - p_class(covered), one per patch, row-major.
    pub(crate) map: Array2<f32>,
}

impl Computed {
    /// "rows 3-4, columns 1-2" (from 1) for patch `i`.
    pub(crate) fn place(&self, i: usize) -> String {
        let (r, c) = self.corners[i];
        let span = |a: usize| {
            if self.patch == 1 {
                format!("{}", a + 1)
            } else {
                format!("{}-{}", a + 1, a + self.patch)
            }
        };
        let (rw, cw) = if self.patch == 1 {
            ("row", "column")
        } else {
            ("rows", "columns")
        };
        format!("{rw} {}, {cw} {}", span(r), span(c))
    }

    /// The picture with patch `i` set to 0.
    pub(crate) fn covered_input(&self, i: usize) -> Array2<f32> {
        let (r, c) = self.corners[i];
        let mut x = self.x.clone();
        x.slice_mut(ndarray::s![r..r + self.patch, c..c + self.patch])
            .fill(0.0);
        x
    }
}

impl Occlusion {
    fn compute(&self, l: &Lesson) -> Result<Computed> {
        let bad = |what: &str| Error::Lesson(format!("{}: {what}", l.source()));
        let SmallNet {
            img,
            filter,
            fc_w,
            fc_b,
        } = small_net(l)?;
        let img = &img;
        let (h, w) = img.dim();
        let (kh, kw) = filter.dim();
        let (p, s, pool) = (self.patch, self.stride, self.pool);
        if kh > h || kw > w || p > h || p > w {
            return Err(bad("the filter or the patch is bigger than the image"));
        }
        let (oh, ow) = (h - kh + 1, w - kw + 1);
        if pool > oh || pool > ow {
            return Err(bad("the pool does not fit the feature map"));
        }
        let n = ((oh - pool) / pool + 1) * ((ow - pool) / pool + 1);
        let k = self.classes.len();
        if fc_w.dim() != (k, n) || fc_b.len() != k {
            return Err(bad(
                "the fc weights need one row per class and one column per pooled value",
            ));
        }
        let net = Net {
            filter,
            bias: self.bias,
            pool,
            fc_w,
            fc_b,
        };
        let x = img.mapv(normalise);
        let orig = net.forward(&x);
        let class = argmax(&orig.probs);
        let dims = ((h - p) / s + 1, (w - p) / s + 1);
        let corners: Vec<(usize, usize)> = (0..dims.0)
            .flat_map(|i| (0..dims.1).map(move |j| (i * s, j * s)))
            .collect();
        let mut c = Computed {
            x,
            orig,
            class,
            patch: p,
            corners,
            dims,
            covered: Vec::new(),
            map: Array2::zeros(dims),
        };
        for i in 0..c.corners.len() {
            let f = net.forward(&c.covered_input(i));
            c.map[[i / dims.1, i % dims.1]] = c.orig.probs[class] - f.probs[class];
            c.covered.push(f);
        }
        Ok(c)
    }
}

/// The first index of the largest value.
pub(crate) fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, j| if v[j] > v[b] { j } else { b })
}

/// Labels of the panels, shared by the steps and the questions.
pub(crate) const IMAGE: &str = "Image (0..255)";
pub(crate) const INPUT: &str = "Input (-1..1)";
pub(crate) const COVERED: &str = "Covered input";
pub(crate) const POOLED: &str = "Pooled";
pub(crate) const MAP: &str = "Occlusion map";

impl LessonKind for Occlusion {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        let row = |v: &[f32]| Array2::from_shape_vec((1, v.len()), v.to_vec()).expect("1 x n");
        vec![
            ("image".to_string(), self.image.clone()),
            ("filter".to_string(), self.kernel.clone()),
            ("fc weights".to_string(), self.fc_weights.clone()),
            ("fc bias".to_string(), row(&self.fc_bias)),
        ]
    }

    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        match self.compute(l) {
            Ok(c) => questions::ask(&c, &self.classes, l, steps),
            Err(_) => Vec::new(),
        }
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let c = self.compute(l)?;
        let v = View {
            l,
            c: &c,
            classes: &self.classes,
        };
        let mut frames = vec![v.intro(), v.uncovered()];
        frames.extend((0..c.corners.len()).map(|i| v.patch(i)));
        frames.push(v.map());
        frames.push(v.closing());
        Ok(frames)
    }
}

/// The steps, drawn from what [`Occlusion::compute`] computed.
struct View<'a> {
    l: &'a Lesson,
    c: &'a Computed,
    classes: &'a [String],
}

impl View<'_> {
    fn class(&self) -> String {
        self.classes[self.c.class].clone()
    }

    fn bars(&self, label: &str, probs: &[f32]) -> Panel {
        Panel::Bars(Bars {
            label: label.into(),
            items: self
                .classes
                .iter()
                .cloned()
                .zip(probs.iter().copied())
                .collect(),
        })
    }

    /// The map with the first `known` entries filled in, `emph` emphasised.
    fn map_panel(&self, known: usize, emph: Option<usize>) -> Panel {
        let cols = self.c.dims.1;
        let g = partial(MAP, &self.c.map, known);
        Panel::Grid(with_emphasis(
            g,
            emph.map(|i| (i / cols, i % cols)).into_iter().collect(),
        ))
    }

    /// The picture, as stored and as the network sees it.
    fn intro(&self) -> Step {
        let img = self.l.image().cloned().unwrap_or_default();
        let text = fill(&self.l.text().intro, &[("class", self.class())]);
        let mut s = step(
            "Occlusion: which part of the picture mattered?",
            text,
            vec![
                Panel::Grid(grid(IMAGE, &img)),
                Panel::Grid(grid(INPUT, &self.c.x)),
            ],
        );
        let (lo, hi) = crate::lesson::draw::min_max(&img);
        s.formula = Some(format!(
            "x = (pixel / 255 - 0.5) / 0.5: {} -> {}, {} -> {}, 127.5 (mid-grey) -> {}",
            fmt_num(hi),
            fmt_num(normalise(hi)),
            fmt_num(lo),
            fmt_num(normalise(lo)),
            fmt_num(normalise(127.5))
        ));
        s
    }

    /// The uncovered picture through the network.
    fn uncovered(&self) -> Step {
        let o = &self.c.orig;
        let scores: Vec<String> = self
            .classes
            .iter()
            .zip(&o.scores)
            .map(|(n, s)| format!("{n} {}", fmt_num(*s)))
            .collect();
        let mut s = step(
            format!("Uncovered: the network says {}", self.class()),
            vec![format!(
                "The picture, uncovered, through the network: the filter, ReLU, max pooling, \
                 the fully connected layer and softmax. The map below will follow \
                 p({}), the probability of the class it predicts.",
                self.class()
            )],
            vec![
                Panel::Grid(grid("Feature map", &o.z)),
                Panel::Grid(grid(POOLED, &o.pooled)),
                self.bars("Probabilities", &o.probs),
            ],
        );
        s.formula = Some(format!(
            "scores {}; softmax: p({}) = {}",
            scores.join(", "),
            self.class(),
            fmt_num(o.probs[self.c.class])
        ));
        s
    }

    /// Patch `i` covered: the covered input, what pooling passes on, the probabilities,
    /// and the map's new entry.
    fn patch(&self, i: usize) -> Step {
        let c = self.c;
        let n = c.corners.len();
        let f = &c.covered[i];
        let (r, col) = c.corners[i];
        let cls = c.class;
        let entry = c.map[[i / c.dims.1, i % c.dims.1]];
        let vars = [
            ("step", (i + 1).to_string()),
            ("steps", n.to_string()),
            ("row", (r + 1).to_string()),
            ("col", (col + 1).to_string()),
            ("class", self.class()),
            ("value", fmt_num(entry)),
        ];
        let mut s = step(
            format!("Patch {} of {n}: {}", i + 1, c.place(i)),
            fill(&self.l.text().step, &vars),
            vec![
                Panel::Grid(crate::lesson::draw::with_window(
                    grid(COVERED, &c.covered_input(i)),
                    r,
                    col,
                    c.patch,
                    c.patch,
                )),
                Panel::Grid(grid(POOLED, &f.pooled)),
                self.bars("Probabilities, covered", &f.probs),
                self.map_panel(i + 1, Some(i)),
            ],
        );
        s.formula = Some(format!(
            "p({}) uncovered - covered: {} - {} = {}",
            self.class(),
            fmt_num(c.orig.probs[cls]),
            fmt_num(f.probs[cls]),
            fmt_num(entry)
        ));
        s
    }

    /// The whole map beside the picture.
    fn map(&self) -> Step {
        let c = self.c;
        let best = argmax(c.map.as_slice().unwrap_or(&[]));
        let least = (0..c.corners.len()).fold(0, |b, j| {
            if c.map[[j / c.dims.1, j % c.dims.1]] < c.map[[b / c.dims.1, b % c.dims.1]] {
                j
            } else {
                b
            }
        });
        let at = |i: usize| c.map[[i / c.dims.1, i % c.dims.1]];
        let mut s = step(
            "The occlusion map",
            fill(&self.l.text().result, &[("class", self.class())]),
            vec![
                Panel::Grid(grid(IMAGE, &self.l.image().cloned().unwrap_or_default())),
                self.map_panel(c.corners.len(), None),
            ],
        );
        s.formula = Some(format!(
            "largest fall of p({}): {}; smallest: {}",
            self.class(),
            fmt_num(at(best)),
            fmt_num(at(least)),
        ));
        s
    }

    fn closing(&self) -> Step {
        step(
            "What the map does not say",
            fill(&self.l.text().closing, &[("class", self.class())]),
            vec![self.map_panel(self.c.corners.len(), None)],
        )
    }
}
