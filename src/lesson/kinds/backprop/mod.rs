//! Backpropagation: one training step of a small network made of the real network's
//! operations (convolution, ReLU, max pooling, flatten, fully connected, log-softmax, the
//! negative log-likelihood), every gradient worked out in front of the learner, then the
//! update (plain SGD, and one weight through Adam).
//!
//! Every number comes from [`crate::nn::ops`]'s forward and backward functions (the ones
//! training runs and the tests check against PyTorch) and from [`crate::nn::adam::Adam`];
//! the sums written out in the formulas are the terms of those computations.

mod net;
mod questions;
mod steps;

use std::sync::Arc;

use ndarray::{Array2, Array4};
use serde::Deserialize;
use toml::Spanned;

use self::net::{row_of, Params};
use super::fully_connected::classes as class_names;
use super::{KindFile, LessonKind};
use crate::lesson::check::{Ctx, Matrix, MAX_SIDE};
use crate::lesson::draw::{as_batch, shape_text};
use crate::lesson::frame::Step;
use crate::lesson::model::Lesson;
use crate::lesson::quiz::Question;
use crate::{Error, Result};

/// Most update steps the learner can ask for (`>`).
pub(crate) const MAX_UPDATES: usize = 50;
/// Most values the pooled map may flatten to (a 16x16 image, a 1x1 filter, pool 1).
const MAX_FLAT: usize = MAX_SIDE * MAX_SIDE;

/// The fields of a backprop lesson.
#[derive(Debug, Deserialize)]
pub(crate) struct File {
    image: Option<Spanned<Matrix>>,
    scale: Option<Spanned<f32>>,
    kernel: Option<Spanned<Matrix>>,
    bias: Option<Spanned<f32>>,
    pool: Option<Spanned<usize>>,
    fc_weights: Option<Spanned<Matrix>>,
    fc_bias: Option<Spanned<Vec<f32>>>,
    classes: Option<Spanned<Vec<String>>>,
    target: Option<Spanned<String>>,
    learning_rate: Option<Spanned<f32>>,
}

/// Placeholders of `text.step` (one paragraph per part of the lesson).
const STEP_VARS: &[&str] = &["target", "loss", "new_loss", "lr", "updates"];

impl KindFile for File {
    const NAME: &'static str = "backprop";

    fn placeholders(block: &str) -> &'static [&'static str] {
        match block {
            "text.intro" | "text.step" | "text.closing" => STEP_VARS,
            _ => &[],
        }
    }

    fn check(self, ctx: &Ctx) -> Result<Arc<dyn LessonKind>> {
        let v = self.values(ctx)?;
        let (image, kernel, pooled) =
            sizes(ctx, (&self.kernel, &self.pool), v.image, v.kernel, v.pool)?;
        let (fc_weights, fc_bias) = fc(
            ctx,
            (&self.fc_weights, &self.fc_bias),
            v.fc_weights,
            &v.classes,
            pooled,
        )?;
        let target = self.target_index(ctx, &v.classes)?;
        Ok(Arc::new(Backprop {
            image,
            scale: v.scale,
            kernel,
            bias: v.bias,
            pool: v.pool,
            fc_weights,
            fc_bias,
            classes: v.classes,
            target,
            learning_rate: v.learning_rate,
        }))
    }
}

/// The fields of a backprop file, each checked on its own (before the checks that need
/// several of them).
struct Values {
    image: Option<Array2<f32>>,
    scale: f32,
    kernel: Option<Array2<f32>>,
    bias: f32,
    pool: usize,
    fc_weights: Option<Array2<f32>>,
    classes: Vec<String>,
    learning_rate: f32,
}

/// The image, the filter, and the pooled map's rows and columns ([`sizes`]).
pub(super) type Sizes = (Array2<f32>, Array2<f32>, (usize, usize));

impl File {
    /// Check each field on its own, in the file struct's order.
    fn values(&self, ctx: &Ctx) -> Result<Values> {
        let image = self
            .image
            .as_ref()
            .map(|m| ctx.matrix("image", m, (MAX_SIDE, MAX_SIDE)))
            .transpose()?;
        let scale = positive(ctx, "scale", &self.scale, 1.0)?;
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
            .map(|m| ctx.matrix("fc_weights", m, (10, MAX_FLAT)))
            .transpose()?;
        if let Some(b) = &self.fc_bias {
            ctx.numbers("fc_bias", b.span(), b.get_ref())?;
        }
        let classes = class_names(ctx, &self.classes)?;
        let learning_rate = positive(ctx, "learning_rate", &self.learning_rate, 0.1)?;
        Ok(Values {
            image,
            scale,
            kernel,
            bias,
            pool,
            fc_weights,
            classes,
            learning_rate,
        })
    }

    /// Require a target that is one of the classes; returns its index.
    fn target_index(&self, ctx: &Ctx, classes: &[String]) -> Result<usize> {
        let Some(target) = &self.target else {
            return Err(ctx.missing("target"));
        };
        let Some(target_index) = classes.iter().position(|c| c == target.get_ref().trim()) else {
            return Err(ctx.err(
                target.span(),
                "target",
                format!(
                    "`{}` is not one of the classes ({})",
                    target.get_ref(),
                    classes.join(", ")
                ),
            ));
        };
        Ok(target_index)
    }
}

/// Require an image and a filter that fits it, and a pool that fits the feature map;
/// returns them with the pooled map's rows and columns.
/// (Shared with the occlusion lesson, which runs the same small network.)
pub(super) fn sizes(
    ctx: &Ctx,
    (kernel_field, pool_field): (&Option<Spanned<Matrix>>, &Option<Spanned<usize>>),
    image: Option<Array2<f32>>,
    kernel: Option<Array2<f32>>,
    pool: usize,
) -> Result<Sizes> {
    let Some(image) = image else {
        return Err(ctx.missing("image"));
    };
    let Some(kernel) = kernel else {
        return Err(ctx.missing("kernel"));
    };
    let k_span = kernel_field.as_ref().map(Spanned::span).unwrap_or_default();
    if kernel.nrows() > image.nrows() || kernel.ncols() > image.ncols() {
        return Err(ctx.err(
            k_span,
            "kernel",
            format!(
                "the {} filter is bigger than the {} image",
                shape_text(&kernel),
                shape_text(&image)
            ),
        ));
    }
    let (mh, mw) = (
        image.nrows() - kernel.nrows() + 1,
        image.ncols() - kernel.ncols() + 1,
    );
    if pool > mh || pool > mw {
        let span = pool_field.as_ref().map(Spanned::span).unwrap_or(k_span);
        return Err(ctx.err(
            span,
            "pool",
            format!("a {pool}x{pool} pool does not fit the {mh}x{mw} feature map"),
        ));
    }
    let (ph, pw) = ((mh - pool) / pool + 1, (mw - pool) / pool + 1);
    Ok((image, kernel, (ph, pw)))
}

/// Require fc weights with one column per pooled value and one row per class, and
/// (if given) one fc bias per class; the bias defaults to 0s.
pub(super) fn fc(
    ctx: &Ctx,
    (w_field, b_field): (&Option<Spanned<Matrix>>, &Option<Spanned<Vec<f32>>>),
    fc_weights: Option<Array2<f32>>,
    classes: &[String],
    (ph, pw): (usize, usize),
) -> Result<(Array2<f32>, Vec<f32>)> {
    let flat = ph * pw;
    let Some(fc_weights) = fc_weights else {
        return Err(ctx.missing("fc_weights"));
    };
    let w_span = w_field.as_ref().map(Spanned::span).unwrap_or_default();
    if fc_weights.ncols() != flat {
        return Err(ctx.err(
            w_span,
            "fc_weights",
            format!(
                "has {} columns but the pooled map ({ph}x{pw}) flattens to {flat}: give one column per value",
                fc_weights.ncols()
            ),
        ));
    }
    if fc_weights.nrows() != classes.len() {
        return Err(ctx.err(
            w_span,
            "fc_weights",
            format!(
                "has {} rows but there are {} classes: give one row per class",
                fc_weights.nrows(),
                classes.len()
            ),
        ));
    }
    let fc_bias = match b_field {
        Some(b) if b.get_ref().len() != classes.len() => {
            return Err(ctx.err(
                b.span(),
                "fc_bias",
                format!(
                    "has {} values but there are {} classes: give one bias per class",
                    b.get_ref().len(),
                    classes.len()
                ),
            ));
        }
        Some(b) => b.get_ref().clone(),
        None => vec![0.0; classes.len()],
    };
    Ok((fc_weights, fc_bias))
}

/// An optional number above 0 (default `default`).
fn positive(ctx: &Ctx, field: &str, v: &Option<Spanned<f32>>, default: f32) -> Result<f32> {
    let Some(s) = v else {
        return Ok(default);
    };
    let x = *s.get_ref();
    ctx.numbers(field, s.span(), &[x])?;
    if x <= 0.0 {
        return Err(ctx.err(s.span(), field, format!("{x}: use a number above 0")));
    }
    Ok(x)
}

/// A checked backprop lesson: its inputs as the file gave them.
#[derive(Debug)]
struct Backprop {
    image: Array2<f32>,
    scale: f32,
    kernel: Array2<f32>,
    bias: f32,
    pool: usize,
    fc_weights: Array2<f32>,
    fc_bias: Vec<f32>,
    classes: Vec<String>,
    target: usize,
    learning_rate: f32,
}

/// The small network's numbers a lesson holds (backprop's, occlusion's): the image, the
/// filter, the fc weights and bias, as the learner left them.
pub(super) struct SmallNet {
    pub img: Array2<f32>,
    pub filter: Array2<f32>,
    pub fc_w: Array2<f32>,
    pub fc_b: ndarray::Array1<f32>,
}

/// [`SmallNet`] of `l`, or which of its parts the lesson lacks.
pub(super) fn small_net(l: &Lesson) -> Result<SmallNet> {
    let bad = |what: &str| Error::Lesson(format!("{}: {what}", l.source()));
    let img = l
        .image()
        .cloned()
        .ok_or_else(|| bad("this lesson has no image"))?;
    let filter = l
        .kernels()
        .first()
        .copied()
        .cloned()
        .ok_or_else(|| bad("this lesson has no filter"))?;
    let fc_w = l
        .matrix("fc weights")
        .cloned()
        .ok_or_else(|| bad("this lesson has no fc weights"))?;
    let fc_b = l
        .matrix("fc bias")
        .map(|m| m.row(0).to_owned())
        .ok_or_else(|| bad("this lesson has no fc bias"))?;
    Ok(SmallNet {
        img,
        filter,
        fc_w,
        fc_b,
    })
}

impl Backprop {
    /// The lesson's network as the learner left it: the scaled image, the parameters,
    /// the pool, the target, the learning rate and the sizes.
    fn setup(&self, l: &Lesson) -> Result<Setup> {
        let bad = |what: &str| Error::Lesson(format!("{}: {what}", l.source()));
        let SmallNet {
            img,
            filter,
            fc_w,
            fc_b,
        } = small_net(l)?;
        let lr = l
            .matrix("learning rate")
            .map_or(self.learning_rate, |m| m[[0, 0]]);
        let k = self.classes.len();
        let t = l.target().min(k.saturating_sub(1));
        let (kh, kw) = filter.dim();
        if kh > img.nrows() || kw > img.ncols() {
            return Err(bad("the filter is bigger than the image"));
        }
        let (oh, ow) = (img.nrows() - kh + 1, img.ncols() - kw + 1);
        let pool = self.pool;
        if pool > oh || pool > ow {
            return Err(bad("the pool does not fit the feature map"));
        }
        let (ph, pw) = ((oh - pool) / pool + 1, (ow - pool) / pool + 1);
        let n = ph * pw;
        if fc_w.dim() != (k, n) || fc_b.len() != k {
            return Err(bad(
                "the fc weights need one row per class and one column per pooled value",
            ));
        }
        let params = Params {
            filter,
            bias: self.bias,
            fc_w,
            fc_b,
        };
        let x = as_batch(&img.mapv(|v| v * self.scale));
        Ok(Setup {
            x,
            params,
            pool,
            t,
            lr,
            dims: Dims {
                oh,
                ow,
                ph,
                pw,
                n,
                k,
            },
        })
    }
}

/// What [`Backprop::setup`] reads from a lesson.
struct Setup {
    x: Array4<f32>,
    params: Params,
    pool: usize,
    t: usize,
    lr: f32,
    dims: Dims,
}

impl LessonKind for Backprop {
    fn matrices(&self) -> Vec<(String, Array2<f32>)> {
        vec![
            ("image".to_string(), self.image.clone()),
            ("filter".to_string(), self.kernel.clone()),
            ("fc weights".to_string(), self.fc_weights.clone()),
            ("fc bias".to_string(), row_of(&self.fc_bias)),
            ("learning rate".to_string(), row_of(&[self.learning_rate])),
        ]
    }

    fn filter_presets(&self) -> bool {
        true
    }

    fn target_classes(&self) -> Option<(&[String], usize)> {
        Some((&self.classes, self.target))
    }

    /// The flattened values' and the filter's gradients (each step's own value), and one
    /// question on each other part: see [`questions::ask`].
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        questions::ask(self, l, steps)
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        steps::build(self, l)
    }
}

/// The sizes of the lesson's maps: the feature map (`oh` x `ow`), the pooled map
/// (`ph` x `pw`, `n` values) and the number of classes `k`.
struct Dims {
    oh: usize,
    ow: usize,
    ph: usize,
    pw: usize,
    n: usize,
    k: usize,
}
