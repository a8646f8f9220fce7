//! Backpropagation: one training step of a small network made of the real network's
//! operations (convolution, ReLU, max pooling, flatten, fully connected, log-softmax, the
//! negative log-likelihood), every gradient worked out in front of the learner, then the
//! update (plain SGD, and one weight through Adam).
//!
//! Every number comes from [`crate::nn::ops`]'s forward and backward functions (the ones
//! training runs and the tests check against PyTorch) and from [`crate::nn::adam::Adam`];
//! the sums written out in the formulas are the terms of those computations.

use std::sync::Arc;

use ndarray::{Array1, Array2, Array4};
use serde::Deserialize;
use toml::Spanned;

use super::fully_connected::classes as class_names;
use super::{KindFile, LessonKind};
use crate::lesson::check::{Ctx, Matrix, MAX_SIDE};
use crate::lesson::draw::{
    as_batch, channel, fill, fmt_num, grid, shape_text, step, with_emphasis, with_window,
};
use crate::lesson::frame::{Bars, Panel, Pipeline, Stage, Step, Sum, Vector};
use crate::lesson::model::Lesson;
use crate::lesson::quiz::{self, Answer, Hide, Question, MARK};
use crate::nn::adam::Adam;
use crate::nn::net::Param;
use crate::nn::ops;
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

        let Some(image) = image else {
            return Err(ctx.missing("image"));
        };
        let Some(kernel) = kernel else {
            return Err(ctx.missing("kernel"));
        };
        let k_span = self.kernel.as_ref().map(Spanned::span).unwrap_or_default();
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
            let span = self.pool.as_ref().map(Spanned::span).unwrap_or(k_span);
            return Err(ctx.err(
                span,
                "pool",
                format!("a {pool}x{pool} pool does not fit the {mh}x{mw} feature map"),
            ));
        }
        let (ph, pw) = ((mh - pool) / pool + 1, (mw - pool) / pool + 1);
        let flat = ph * pw;
        let Some(fc_weights) = fc_weights else {
            return Err(ctx.missing("fc_weights"));
        };
        let w_span = self
            .fc_weights
            .as_ref()
            .map(Spanned::span)
            .unwrap_or_default();
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
        let fc_bias = match &self.fc_bias {
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
        Ok(Arc::new(Backprop {
            image,
            scale,
            kernel,
            bias,
            pool,
            fc_weights,
            fc_bias,
            classes,
            target: target_index,
            learning_rate,
        }))
    }
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

/// The network's parameters (what training changes).
#[derive(Debug, Clone)]
struct Params {
    filter: Array2<f32>,
    bias: f32,
    fc_w: Array2<f32>,
    fc_b: Array1<f32>,
}

impl Params {
    /// As the training code's parameter list (for [`Adam`]).
    fn to_list(&self) -> Vec<Param> {
        vec![
            Param {
                name: "conv.weight".into(),
                trainable: true,
                shape: vec![1, 1, self.filter.nrows(), self.filter.ncols()],
                data: self.filter.iter().copied().collect(),
            },
            Param {
                name: "conv.bias".into(),
                trainable: true,
                shape: vec![1],
                data: vec![self.bias],
            },
            Param {
                name: "fc.weight".into(),
                trainable: true,
                shape: vec![self.fc_w.nrows(), self.fc_w.ncols()],
                data: self.fc_w.iter().copied().collect(),
            },
            Param {
                name: "fc.bias".into(),
                trainable: true,
                shape: vec![self.fc_b.len()],
                data: self.fc_b.to_vec(),
            },
        ]
    }

    /// `p - lr x gradient` for every parameter (plain SGD, as `torch.optim.SGD`).
    fn sgd(&self, g: &Pass, lr: f32) -> Params {
        Params {
            filter: &self.filter - &(&g.d_filter * lr),
            bias: self.bias - lr * g.d_bias,
            fc_w: &self.fc_w - &(&g.d_fc_w * lr),
            fc_b: &self.fc_b - &(&g.d_fc_b * lr),
        }
    }
}

/// One forward and backward pass, every intermediate kept.
#[derive(Debug, Clone)]
struct Pass {
    /// The image as the network sees it (scaled), [1, 1, H, W].
    x: Array4<f32>,
    z: Array4<f32>,
    a: Array4<f32>,
    pooled: Array4<f32>,
    /// Where each pooled value came from (flat index into the ReLU map).
    idx: Array4<u32>,
    flat: Array2<f32>,
    scores: Array2<f32>,
    probs: Vec<f32>,
    loss: f32,
    d_scores: Array2<f32>,
    d_fc_w: Array2<f32>,
    d_fc_b: Array1<f32>,
    d_flat: Array2<f32>,
    d_pooled: Array4<f32>,
    d_a: Array4<f32>,
    d_z: Array4<f32>,
    d_filter: Array2<f32>,
    d_bias: f32,
}

/// Forward and backward with the training code's ops, in the network's order.
fn pass(x: &Array4<f32>, p: &Params, pool: usize, target: usize) -> Pass {
    let w = as_batch(&p.filter);
    let b = Array1::from_elem(1, p.bias);
    let z = ops::conv2d(x, &w, Some(&b), 1, 0);
    let a = ops::relu(&z);
    let (pooled, idx) = ops::max_pool2d_with_indices(&a, pool, pool);
    let flat = ops::flatten(&pooled);
    let scores = ops::linear(&flat, &p.fc_w, &p.fc_b);
    let log_probs = ops::log_softmax(&scores);
    let loss = ops::nll_loss(&log_probs, &[target]);
    let probs = log_probs.row(0).mapv(f32::exp).to_vec();
    // backward, last op first
    let d_log = ops::nll_loss_backward(log_probs.dim(), &[target]);
    let d_scores = ops::log_softmax_backward(&log_probs, &d_log);
    let (d_flat, d_fc_w, d_fc_b) = ops::linear_backward(&flat, &p.fc_w, &d_scores);
    let d_pooled = ops::unflatten(&d_flat, pooled.dim());
    let d_a = ops::max_pool2d_backward(&d_pooled, &idx, a.dim());
    let d_z = ops::relu_backward(&a, &d_a);
    let (_, d_w, d_b) = ops::conv2d_backward(x, &w, &d_z, 1, 0);
    Pass {
        x: x.clone(),
        z,
        a,
        pooled,
        idx,
        flat,
        scores,
        probs,
        loss,
        d_scores,
        d_fc_w,
        d_fc_b,
        d_flat,
        d_pooled,
        d_a,
        d_z,
        d_filter: channel(&d_w, 0),
        d_bias: d_b[0],
    }
}

fn row_of(v: &[f32]) -> Array2<f32> {
    Array2::from_shape_vec((1, v.len()), v.to_vec()).unwrap_or_else(|_| Array2::zeros((1, 0)))
}

/// `-x` written as `- x`, `x` as `+ x` (for a sum's next term).
fn signed(x: f32) -> String {
    if x < 0.0 {
        format!("- {}", fmt_num(-x))
    } else {
        format!("+ {}", fmt_num(x))
    }
}

/// The sum of these products, for the step that writes it out (its formula's text and
/// the numbers behind it).
fn products(terms: &[(f32, f32)]) -> Sum {
    Sum {
        products: terms.to_vec(),
        bias: None,
    }
}

impl Backprop {
    /// The lesson's network as the learner left it: the scaled image, the parameters,
    /// the pool, the target, the learning rate and the sizes.
    fn setup(&self, l: &Lesson) -> Result<Setup> {
        let bad = |what: &str| Error::Lesson(format!("{}: {what}", l.source()));
        let img = l.image().ok_or_else(|| bad("this lesson has no image"))?;
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
    /// question on each other part: p - y for the true class, which cell pooling routes
    /// the gradient to, the bias's gradient, the update of w(1,1), and a check by finite
    /// difference (nudge w(1,1): how much does the loss change?).
    fn questions(&self, l: &Lesson, steps: &[Step]) -> Vec<Question> {
        let mut out: Vec<Question> = quiz::from_steps(steps)
            .into_iter()
            .filter(|q| !q.ask.contains("loss after each update"))
            .collect();
        let Ok(setup) = self.setup(l) else {
            return out;
        };
        let g = pass(&setup.x, &setup.params, setup.pool, setup.t);
        let t = setup.t;
        let class = &self.classes[t];
        let find = |prefix: &str| steps.iter().position(|s| s.heading.starts_with(prefix));
        // p - y at the true class
        if let Some(i) = find("The gradient at the scores") {
            let d = g.d_scores[[0, t]];
            let formula = steps[i].formula.clone().unwrap_or_default();
            let mine = format!("{class}: {} - 1 = {}", fmt_num(g.probs[t]), fmt_num(d));
            out.push(Question {
                step: i,
                ask: format!("What is dL/dscore for {class}, the true class (p - y)?"),
                answer: Answer::Number(d),
                hints: vec![
                    format!("p({class}) = {}", fmt_num(g.probs[t])),
                    format!("y is 1 for the true class, {class}"),
                ],
                working: format!("p - y = {} - 1 = {}", fmt_num(g.probs[t]), fmt_num(d)),
                hide: vec![
                    Hide::Entry {
                        label: "dL/dscore".into(),
                        index: t,
                    },
                    Hide::Formula(formula.replace(&mine, &format!("{class}: {MARK}"))),
                ],
                in_app: true,
            });
        }
        // pooling routes the gradient to its window's winner
        if let Some(i) = find("Pooling and ReLU backwards, window 1 ") {
            let pool = setup.pool;
            let ow = setup.dims.ow;
            let at = g.idx[[0, 0, 0, 0]] as usize;
            let cells: Vec<(usize, usize)> = (0..pool)
                .flat_map(|dy| (0..pool).map(move |dx| (dy, dx)))
                .collect();
            let options: Vec<String> = cells
                .iter()
                .map(|&(r, c)| {
                    format!(
                        "row {}, column {} ({})",
                        r + 1,
                        c + 1,
                        fmt_num(g.a[[0, 0, r, c]])
                    )
                })
                .collect();
            let right = cells
                .iter()
                .position(|&(r, c)| r * ow + c == at)
                .unwrap_or(0);
            out.push(Question {
                step: i,
                ask: format!(
                    "Going back through pooling, which cell of the first {pool}x{pool} window of a gets the gradient?"
                ),
                answer: Answer::Choice {
                    options: options.clone(),
                    right,
                },
                hints: vec![
                    "Only the cell that won the window's maximum affected the output".into(),
                    "On a tie, the first in reading order".into(),
                ],
                working: format!(
                    "{}, the window's largest value: it alone reached the pooled map; the other cells get 0",
                    options[right]
                ),
                hide: vec![
                    Hide::Emphasis("ReLU map a".into()),
                    Hide::Drop("dL/da".into()),
                    Hide::Drop("dL/dz".into()),
                    Hide::Formula(format!(
                        "the largest of the window gets dL/dpooled = {}, the other cells 0 ({MARK})",
                        fmt_num(g.d_pooled[[0, 0, 0, 0]])
                    )),
                ],
                in_app: true,
            });
        }
        // the bias's gradient
        if let Some(i) = find("The bias's gradient") {
            let d = g.d_bias;
            let formula = steps[i].formula.clone().unwrap_or_default();
            let left = formula
                .rsplit_once(" = ")
                .map_or(formula.as_str(), |(left, _)| left);
            out.push(Question {
                step: i,
                ask: "What is the bias's gradient, dL/dbias?".into(),
                answer: Answer::Number(d),
                hints: vec![
                    "The bias is added to every z".into(),
                    "Add up every dL/dz".into(),
                ],
                working: formula.clone(),
                hide: vec![
                    Hide::Entry {
                        label: "dL/dbias".into(),
                        index: 0,
                    },
                    Hide::Formula(format!("{left} = {MARK}")),
                ],
                in_app: true,
            });
        }
        // the update of w(1,1)
        if let Some(i) = find("The update:") {
            let (w, d) = (setup.params.filter[[0, 0]], g.d_filter[[0, 0]]);
            let new = w - setup.lr * d;
            let lr = fmt_num(setup.lr);
            let formula = steps[i].formula.clone().unwrap_or_default();
            let first = formula.split('\n').next().unwrap_or_default().to_string();
            let shown_first = first
                .rsplit_once(" = ")
                .map_or(first.clone(), |(left, _)| format!("{left} = {MARK}"));
            out.push(Question {
                step: i,
                ask: format!("What is the new w(1,1), w - {lr} x gradient?"),
                answer: Answer::Number(new),
                hints: vec![
                    format!("w(1,1) = {}, its gradient {}", fmt_num(w), fmt_num(d)),
                    format!("{} - {lr} x ({})", fmt_num(w), fmt_num(d)),
                ],
                working: format!(
                    "{} - {lr} x ({}) = {} {} {} = {}",
                    fmt_num(w),
                    fmt_num(d),
                    fmt_num(w),
                    if setup.lr * d > 0.0 { "-" } else { "+" },
                    fmt_num((setup.lr * d).abs()),
                    fmt_num(new)
                ),
                hide: vec![
                    Hide::Cell {
                        label: "New filter".into(),
                        row: 0,
                        col: 0,
                    },
                    Hide::Formula(formula.replacen(&first, &shown_first, 1)),
                ],
                in_app: true,
            });
            // check a gradient by finite difference: nudge w(1,1), run forward again
            let h = 0.01f32;
            let mut nudged = setup.params.clone();
            nudged.filter[[0, 0]] += h;
            let after = pass(&setup.x, &nudged, setup.pool, setup.t).loss;
            let predicted = h * d;
            out.push(Question {
                step: i,
                ask: format!(
                    "Check the gradient: if w(1,1) were {} bigger, by about how much would the loss change (gradient x {})?",
                    fmt_num(h),
                    fmt_num(h)
                ),
                answer: Answer::Number(predicted),
                hints: vec![
                    "The gradient is the change in loss per unit change of the weight".into(),
                    format!("{} x ({})", fmt_num(h), fmt_num(d)),
                ],
                working: format!(
                    "{} x ({}) = {}; running the forward pass with w(1,1) = {} gives a loss of {} instead of {}, a change of {}",
                    fmt_num(h),
                    fmt_num(d),
                    fmt_num(predicted),
                    fmt_num(setup.params.filter[[0, 0]] + h),
                    fmt_num(after),
                    fmt_num(g.loss),
                    fmt_num(after - g.loss)
                ),
                hide: Vec::new(),
                in_app: false,
            });
        }
        out.sort_by_key(|q| q.step);
        out
    }

    fn steps(&self, l: &Lesson) -> Result<Vec<Step>> {
        let bad = |what: &str| Error::Lesson(format!("{}: {what}", l.source()));
        let Setup {
            x,
            params,
            pool,
            t,
            lr,
            dims,
        } = self.setup(l)?;
        let (kh, kw) = params.filter.dim();
        let g = pass(&x, &params, pool, t);
        let updated = params.sgd(&g, lr);
        let g1 = pass(&x, &updated, pool, t);
        // more updates (the `>` key): the loss after each
        let mut losses = vec![g.loss, g1.loss];
        let mut last = updated.clone();
        let mut last_pass = g1.clone();
        for _ in 1..l.updates().clamp(1, MAX_UPDATES) {
            last = last.sgd(&last_pass, lr);
            last_pass = pass(&x, &last, pool, t);
            losses.push(last_pass.loss);
        }
        // Adam, one step from the same gradients, as training does it
        let mut adam_params = params.to_list();
        let mut adam = Adam::new(f64::from(lr), &adam_params);
        let grads = vec![
            g.d_filter.iter().copied().collect::<Vec<f32>>(),
            vec![g.d_bias],
            g.d_fc_w.iter().copied().collect(),
            g.d_fc_b.to_vec(),
        ];
        adam.step(&mut adam_params, &grads);
        let adam_filter = Array2::from_shape_vec((kh, kw), adam_params[0].data.clone())
            .map_err(|e| bad(&e.to_string()))?;
        let (m, v) = adam.moments();
        let adam_m = m[0].clone();
        let adam_v = v[0].clone();

        let ctx = Build {
            l,
            kind: self,
            params: &params,
            g: &g,
            updated: &updated,
            g1: &g1,
            lr,
            t,
            dims,
            losses: &losses,
            last: &last,
            adam: AdamView {
                filter: &adam_filter,
                m: &adam_m,
                v: &adam_v,
                beta1: adam.beta1,
                beta2: adam.beta2,
                eps: adam.eps,
            },
        };
        Ok(ctx.frames())
    }
}

struct Dims {
    oh: usize,
    ow: usize,
    ph: usize,
    pw: usize,
    n: usize,
    k: usize,
}

struct AdamView<'a> {
    filter: &'a Array2<f32>,
    m: &'a [f32],
    v: &'a [f32],
    beta1: f64,
    beta2: f64,
    eps: f64,
}

/// Everything the steps show, computed; [`Build::frames`] only arranges it.
struct Build<'a> {
    l: &'a Lesson,
    kind: &'a Backprop,
    params: &'a Params,
    g: &'a Pass,
    updated: &'a Params,
    g1: &'a Pass,
    lr: f32,
    t: usize,
    dims: Dims,
    losses: &'a [f32],
    last: &'a Params,
    adam: AdamView<'a>,
}

impl Build<'_> {
    fn para(&self, i: usize) -> Vec<String> {
        let t = &self.l.text().step;
        fill(
            &t.get(i).cloned().into_iter().collect::<Vec<_>>(),
            &self.vars(),
        )
    }

    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("target", self.kind.classes[self.t].clone()),
            ("loss", fmt_num(self.g.loss)),
            ("new_loss", fmt_num(self.g1.loss)),
            ("lr", fmt_num(self.lr)),
            ("updates", (self.losses.len() - 1).to_string()),
        ]
    }

    fn names(&self) -> Vec<String> {
        self.kind.classes.clone()
    }

    fn vector(&self, label: impl Into<String>, values: &[f32], known: usize) -> Vector {
        Vector {
            label: label.into(),
            values: values
                .iter()
                .enumerate()
                .map(|(i, &v)| (i < known).then_some(v))
                .collect(),
            emphasis: Vec::new(),
            offset: 0,
            names: Vec::new(),
        }
    }

    fn class_vector(&self, label: &str, values: &[f32]) -> Panel {
        Panel::Vector(Vector {
            names: self.names(),
            ..self.vector(label, values, values.len())
        })
    }

    fn bars(&self, label: &str, probs: &[f32]) -> Panel {
        Panel::Bars(Bars {
            label: label.into(),
            items: self
                .kind
                .classes
                .iter()
                .cloned()
                .zip(probs.iter().copied())
                .collect(),
        })
    }

    fn frames(&self) -> Vec<Step> {
        let mut out = Vec::new();
        self.intro(&mut out);
        self.forward(&mut out);
        self.score_gradient(&mut out);
        self.fc(&mut out);
        self.pool_relu(&mut out);
        self.filter(&mut out);
        self.update(&mut out);
        if let Some(last) = out.last_mut() {
            last.text.extend(fill(&self.l.text().closing, &self.vars()));
        }
        out
    }

    fn intro(&self, out: &mut Vec<Step>) {
        let d = &self.dims;
        let img = &self.kind.image;
        let (kh, kw) = self.params.filter.dim();
        let pool = self.kind.pool;
        let stages = vec![
            Stage {
                name: "Image, scaled".into(),
                shape: shape_text(img),
            },
            Stage {
                name: format!("Convolution, filter {kh}x{kw} + bias"),
                shape: format!("{}x{}", d.oh, d.ow),
            },
            Stage {
                name: "ReLU".into(),
                shape: format!("{}x{}", d.oh, d.ow),
            },
            Stage {
                name: format!("Max pooling {pool}x{pool}"),
                shape: format!("{}x{}", d.ph, d.pw),
            },
            Stage {
                name: "Flatten".into(),
                shape: d.n.to_string(),
            },
            Stage {
                name: format!("Fully connected, {} classes", d.k),
                shape: d.k.to_string(),
            },
            Stage {
                name: "Log-softmax".into(),
                shape: d.k.to_string(),
            },
            Stage {
                name: format!("Loss for the target, {}", self.kind.classes[self.t]),
                shape: "1".into(),
            },
        ];
        let mut s = step(
            "Backpropagation: how the network learns",
            fill(&self.l.text().intro, &self.vars()),
            vec![Panel::Pipeline(Pipeline {
                label: "The network".into(),
                stages,
                active: None,
            })],
        );
        s.formula = Some(format!(
            "{} filter weights + 1 bias + {} fc weights + {} fc biases = {} numbers to learn",
            kh * kw,
            d.k * d.n,
            d.k,
            kh * kw + 1 + d.k * d.n + d.k
        ));
        out.push(s);
    }

    fn forward(&self, out: &mut Vec<Step>) {
        let g = self.g;
        let d = &self.dims;
        let x = channel(&g.x, 0);
        let mut s = step(
            "Forward 1 of 3: convolution",
            self.para(0),
            vec![
                Panel::Grid(grid(format!("Image x {}", fmt_num(self.kind.scale)), &x)),
                Panel::Grid(grid("Filter", &self.params.filter)),
                Panel::Grid(grid("Feature map z", &channel(&g.z, 0))),
            ],
        );
        s.formula = Some(format!(
            "each z = the sum of (pixel x weight) over its window {} (bias), as in the convolution lesson",
            signed(self.params.bias)
        ));
        out.push(s);

        let mut s = step(
            "Forward 2 of 3: ReLU and max pooling",
            self.para(1),
            vec![
                Panel::Grid(grid("ReLU a = max(0, z)", &channel(&g.a, 0))),
                Panel::Grid(grid(
                    format!("Pooled {}x{}", d.ph, d.pw),
                    &channel(&g.pooled, 0),
                )),
            ],
        );
        s.formula = Some(format!(
            "each pooled value is the largest of its {0}x{0} window of a",
            self.kind.pool
        ));
        out.push(s);

        let flat: Vec<f32> = g.flat.row(0).to_vec();
        let scores: Vec<f32> = g.scores.row(0).to_vec();
        let mut s = step(
            "Forward 3 of 3: scores, probabilities, loss",
            self.para(2),
            vec![
                Panel::Vector(self.vector(format!("Flattened ({} values)", d.n), &flat, d.n)),
                Panel::Grid(grid("Fc weights: a row per class", &self.params.fc_w)),
                Panel::Grid(grid(
                    "Fc bias",
                    &Array2::from_shape_vec((d.k, 1), self.params.fc_b.to_vec()).expect("k x 1"),
                )),
                self.class_vector("Scores", &scores),
                self.bars("Probabilities", &g.probs),
            ],
        );
        s.formula = Some(format!(
            "loss = -ln p({}) = -ln {} = {} (cross-entropy, natural log)",
            self.kind.classes[self.t],
            fmt_num(g.probs[self.t]),
            fmt_num(g.loss)
        ));
        out.push(s);
    }

    fn score_gradient(&self, out: &mut Vec<Step>) {
        let g = self.g;
        let y: Vec<f32> = (0..self.dims.k)
            .map(|j| if j == self.t { 1.0 } else { 0.0 })
            .collect();
        let ds: Vec<f32> = g.d_scores.row(0).to_vec();
        let lines: Vec<String> = (0..self.dims.k)
            .map(|j| {
                format!(
                    "{}: {} - {} = {}",
                    self.kind.classes[j],
                    fmt_num(g.probs[j]),
                    fmt_num(y[j]),
                    fmt_num(ds[j])
                )
            })
            .collect();
        let mut s = step(
            "The gradient at the scores: p - y",
            self.para(3),
            vec![
                self.class_vector("p", &g.probs),
                self.class_vector("y (target)", &y),
                self.class_vector("dL/dscore", &ds),
            ],
        );
        s.formula = Some(lines.join("; "));
        out.push(s);
    }

    fn fc(&self, out: &mut Vec<Step>) {
        let g = self.g;
        let d = &self.dims;
        let flat: Vec<f32> = g.flat.row(0).to_vec();
        let ds: Vec<f32> = g.d_scores.row(0).to_vec();
        let db: Vec<f32> = g.d_fc_b.to_vec();
        let df: Vec<f32> = g.d_flat.row(0).to_vec();
        for j in 0..d.k {
            let class = &self.kind.classes[j];
            let mut dw = grid("dL/d fc weights", &g.d_fc_w);
            for (i, c) in dw.cells.iter_mut().enumerate() {
                if i >= (j + 1) * d.n {
                    *c = None;
                }
            }
            let dw = with_emphasis(dw, (0..d.n).map(|i| (j, i)).collect());
            let mut dbv = self.vector("dL/d fc bias", &db, j + 1);
            dbv.names = self.names();
            dbv.emphasis = vec![j];
            let cells: Vec<String> = (0..d.n)
                .map(|i| {
                    format!(
                        "{} x {} = {}",
                        fmt_num(flat[i]),
                        fmt_num(ds[j]),
                        fmt_num(g.d_fc_w[[j, i]])
                    )
                })
                .collect();
            let mut s = step(
                format!("Fully connected weights, row {} of {}: {class}", j + 1, d.k),
                if j == 0 { self.para(4) } else { Vec::new() },
                vec![
                    Panel::Vector(self.vector(format!("Flattened ({} values)", d.n), &flat, d.n)),
                    Panel::Grid(dw),
                    Panel::Vector(dbv),
                ],
            );
            s.formula = Some(format!(
                "{class} (dL/dscore {}): input x gradient: {}; bias gradient = {}",
                fmt_num(ds[j]),
                cells.join(", "),
                fmt_num(db[j])
            ));
            out.push(s);
        }
        for i in 0..d.n {
            let terms: Vec<(f32, f32)> = (0..d.k)
                .map(|j| (self.params.fc_w[[j, i]], ds[j]))
                .collect();
            let mut dfv = self.vector("dL/d flattened", &df, i + 1);
            dfv.emphasis = vec![i];
            let mut s = step(
                format!("Back to flattened value {} of {}", i + 1, d.n),
                if i == 0 { self.para(5) } else { Vec::new() },
                vec![
                    Panel::Grid(with_window(
                        grid("Fc weights", &self.params.fc_w),
                        0,
                        i,
                        d.k,
                        1,
                    )),
                    self.class_vector("dL/dscore", &ds),
                    Panel::Vector(dfv),
                ],
            );
            s.formula = Some(format!(
                "value {}: (weight x score gradient) per class: {} = {}",
                i + 1,
                products(&terms).text(),
                fmt_num(df[i])
            ));
            s.sum = Some(products(&terms));
            out.push(s);
        }
    }

    fn pool_relu(&self, out: &mut Vec<Step>) {
        let g = self.g;
        let d = &self.dims;
        let pool = self.kind.pool;
        let a = channel(&g.a, 0);
        let z = channel(&g.z, 0);
        let da = channel(&g.d_a, 0);
        let dz = channel(&g.d_z, 0);
        let mut done: Vec<(usize, usize)> = Vec::new();
        let total = d.ph * d.pw;
        for py in 0..d.ph {
            for px in 0..d.pw {
                let (r0, c0) = (py * pool, px * pool);
                let at = g.idx[[0, 0, py, px]] as usize;
                let (wr, wc) = (at / d.ow, at % d.ow);
                let cells: Vec<(usize, usize)> = (0..pool)
                    .flat_map(|dy| (0..pool).map(move |dx| (r0 + dy, c0 + dx)))
                    .collect();
                done.extend(&cells);
                let n_done = py * d.pw + px + 1;
                if n_done == total {
                    // cells no window covers (floor mode) get 0 too
                    done = (0..d.oh)
                        .flat_map(|r| (0..d.ow).map(move |c| (r, c)))
                        .collect();
                }
                let known = |m: &Array2<f32>, label: &str| {
                    let mut gr = grid(label, m);
                    for r in 0..d.oh {
                        for c in 0..d.ow {
                            if !done.contains(&(r, c)) {
                                gr.cells[r * d.ow + c] = None;
                            }
                        }
                    }
                    with_emphasis(gr, vec![(wr, wc)])
                };
                let values: Vec<String> = cells.iter().map(|&(r, c)| fmt_num(a[[r, c]])).collect();
                let tie = cells
                    .iter()
                    .filter(|&&(r, c)| a[[r, c]] == a[[wr, wc]])
                    .count()
                    > 1;
                let gp = g.d_pooled[[0, 0, py, px]];
                let relu = if z[[wr, wc]] > 0.0 {
                    format!(
                        "ReLU: z = {} > 0, so it passes: dL/dz = {}",
                        fmt_num(z[[wr, wc]]),
                        fmt_num(dz[[wr, wc]])
                    )
                } else {
                    format!(
                        "ReLU: z = {} is not above 0, so dL/dz = 0",
                        fmt_num(z[[wr, wc]])
                    )
                };
                let mut s = step(
                    format!("Pooling and ReLU backwards, window {n_done} of {total}"),
                    if n_done == 1 {
                        self.para(6)
                    } else {
                        Vec::new()
                    },
                    vec![
                        Panel::Grid(with_emphasis(
                            with_window(grid("ReLU map a", &a), r0, c0, pool, pool),
                            vec![(wr, wc)],
                        )),
                        Panel::Grid(known(&da, "dL/da")),
                        Panel::Grid(known(&dz, "dL/dz")),
                    ],
                );
                s.formula = Some(format!(
                    "max({}) = {} at row {}, column {}{}: it gets dL/dpooled = {}, the other {} cells 0; {relu}",
                    values.join(", "),
                    fmt_num(a[[wr, wc]]),
                    wr + 1,
                    wc + 1,
                    if tie { " (a tie: the first in reading order wins)" } else { "" },
                    fmt_num(gp),
                    cells.len() - 1
                ));
                out.push(s);
            }
        }
    }

    fn filter(&self, out: &mut Vec<Step>) {
        let g = self.g;
        let d = &self.dims;
        let x = channel(&g.x, 0);
        let dz = channel(&g.d_z, 0);
        let (kh, kw) = self.params.filter.dim();
        let label_x = format!("Image x {}", fmt_num(self.kind.scale));
        let windows = d.oh * d.ow;
        for ky in 0..kh {
            for kx in 0..kw {
                let i = ky * kw + kx;
                let terms = filter_terms(&x, &dz, ky, kx);
                let mut dw = grid("dL/d filter", &g.d_filter);
                for (j, c) in dw.cells.iter_mut().enumerate() {
                    if j > i {
                        *c = None;
                    }
                }
                let zero = windows - terms.len();
                let mut s = step(
                    format!(
                        "The filter's gradient, weight {} of {}: row {}, column {}",
                        i + 1,
                        kh * kw,
                        ky + 1,
                        kx + 1
                    ),
                    if i == 0 { self.para(7) } else { Vec::new() },
                    vec![
                        Panel::Grid(with_window(grid(label_x.clone(), &x), ky, kx, d.oh, d.ow)),
                        Panel::Grid(grid("dL/dz", &dz)),
                        Panel::Grid(with_emphasis(dw, vec![(ky, kx)])),
                    ],
                );
                s.formula = Some(format!(
                    "dL/dw({},{}) = sum over the {windows} windows of (pixel under this weight x dL/dz){}: {} = {}",
                    ky + 1,
                    kx + 1,
                    if zero > 0 {
                        format!("; {zero} windows have dL/dz = 0")
                    } else {
                        String::new()
                    },
                    products(&terms).text(),
                    fmt_num(g.d_filter[[ky, kx]])
                ));
                s.sum = Some(products(&terms));
                out.push(s);
            }
        }
        let nz: Vec<f32> = dz.iter().copied().filter(|&v| v != 0.0).collect();
        let sum = if nz.is_empty() {
            "0".to_string()
        } else {
            let mut s = fmt_num(nz[0]);
            for v in &nz[1..] {
                s.push(' ');
                s.push_str(&signed(*v));
            }
            s
        };
        let mut s = step(
            "The bias's gradient",
            self.para(8),
            vec![
                Panel::Grid(grid("dL/dz", &dz)),
                Panel::Vector(self.vector("dL/dbias", &[g.d_bias], 1)),
            ],
        );
        s.formula = Some(format!(
            "the bias is added to every z, so dL/dbias = the sum of all {windows} dL/dz (the non-zero ones: {sum}) = {}",
            fmt_num(g.d_bias)
        ));
        out.push(s);

        let mut s = step(
            "The filter's gradient is a convolution",
            self.para(9),
            vec![
                Panel::Grid(grid(label_x, &x)),
                Panel::Grid(grid("dL/dz", &dz)),
                Panel::Grid(grid("dL/d filter", &g.d_filter)),
            ],
        );
        s.formula = Some(format!(
            "slide the {}x{} grid dL/dz over the {}x{} image as a filter: ({} - {}) + 1 = {} rows, ({} - {}) + 1 = {} columns, the filter's own shape",
            d.oh, d.ow, x.nrows(), x.ncols(), x.nrows(), d.oh, kh, x.ncols(), d.ow, kw
        ));
        out.push(s);
    }

    fn update(&self, out: &mut Vec<Step>) {
        let g = self.g;
        let p = self.params;
        let u = self.updated;
        let kw = p.filter.ncols();
        let lr = fmt_num(self.lr);
        // the first row of the filter and the bias, one per line (the grids show every
        // weight; the whole list would not fit the screen's formula rows)
        let mut lines: Vec<String> = (0..kw)
            .map(|c| {
                format!(
                    "w(1,{}): {} - {lr} x {} = {}",
                    c + 1,
                    fmt_num(p.filter[[0, c]]),
                    paren(g.d_filter[[0, c]]),
                    fmt_num(u.filter[[0, c]])
                )
            })
            .collect();
        lines.push(format!(
            "bias: {} - {lr} x {} = {}",
            fmt_num(p.bias),
            paren(g.d_bias),
            fmt_num(u.bias)
        ));
        let mut s = step(
            format!("The update: w - {lr} x gradient"),
            self.para(10),
            vec![
                Panel::Grid(grid("Filter", &p.filter)),
                Panel::Grid(grid("dL/d filter", &g.d_filter)),
                Panel::Grid(grid("New filter", &u.filter)),
            ],
        );
        s.formula = Some(lines.join("\n"));
        out.push(s);

        let new_scores: Vec<f32> = self.g1.scores.row(0).to_vec();
        let change = self.g1.loss - g.loss;
        let mut s = step(
            "Forward again with the new numbers",
            self.para(11),
            vec![
                Panel::Grid(grid("New pooled", &channel(&self.g1.pooled, 0))),
                self.class_vector("New scores", &new_scores),
                self.bars("New probabilities", &self.g1.probs),
            ],
        );
        s.formula = Some(format!(
            "loss before = {}, after one update = -ln {} = {}: {} by {}",
            fmt_num(g.loss),
            fmt_num(self.g1.probs[self.t]),
            fmt_num(self.g1.loss),
            if change < 0.0 {
                "lower"
            } else if change > 0.0 {
                "higher"
            } else {
                "unchanged"
            },
            fmt_num(change.abs())
        ));
        out.push(s);

        let updates = self.losses.len() - 1;
        let mut lv = self.vector("Loss after each update", self.losses, self.losses.len());
        lv.names = (0..self.losses.len())
            .map(|i| {
                if i == 0 {
                    "start".into()
                } else {
                    i.to_string()
                }
            })
            .collect();
        lv.emphasis = vec![updates];
        let mut s = step(
            format!(
                "{updates} update{}: the loss falls, the filter changes",
                if updates == 1 { "" } else { "s" }
            ),
            self.para(12),
            vec![
                Panel::Vector(lv),
                Panel::Grid(grid(format!("Filter after {updates}"), &self.last.filter)),
            ],
        );
        s.formula = Some(format!(
            "loss: {}",
            self.losses
                .iter()
                .map(|&v| fmt_num(v))
                .collect::<Vec<_>>()
                .join(" -> ")
        ));
        out.push(s);

        // Adam: the filter weight with the largest gradient
        let a = &self.adam;
        let fl: Vec<f32> = g.d_filter.iter().copied().collect();
        let j = (0..fl.len()).fold(0, |b, i| if fl[i].abs() > fl[b].abs() { i } else { b });
        let (r, c) = (j / kw, j % kw);
        let gv = g.d_filter[[r, c]];
        let bc1 = 1.0 - a.beta1;
        let bc2 = 1.0 - a.beta2;
        let m_hat = f64::from(a.m[j]) / bc1;
        let v_hat = f64::from(a.v[j]) / bc2;
        let mut s = step(
            format!(
                "Adam, as real training does it: weight ({},{})",
                r + 1,
                c + 1
            ),
            self.para(13),
            vec![
                Panel::Grid(with_emphasis(grid("Filter", &p.filter), vec![(r, c)])),
                Panel::Grid(with_emphasis(
                    grid("New filter (SGD)", &u.filter),
                    vec![(r, c)],
                )),
                Panel::Grid(with_emphasis(
                    grid("New filter (Adam)", a.filter),
                    vec![(r, c)],
                )),
            ],
        );
        s.formula = Some(format!(
            "step 1: g = {}; m = {} x 0 + {} x g = {}; v = {} x 0 + {} x g x g = {}; m^ = m / (1 - {}^1) = {}; v^ = v / (1 - {}^1) = {}; w = {} - {lr} x m^ / (sqrt(v^) + {:e}) = {}",
            fmt_num(gv),
            a.beta1,
            fmt_num((1.0 - a.beta1) as f32),
            fmt_num(a.m[j]),
            a.beta2,
            fmt_num((1.0 - a.beta2) as f32),
            fmt_num(a.v[j]),
            a.beta1,
            fmt_num(m_hat as f32),
            a.beta2,
            fmt_num(v_hat as f32),
            fmt_num(p.filter[[r, c]]),
            a.eps,
            fmt_num(a.filter[[r, c]])
        ));
        out.push(s);
    }
}

/// A number for inside `x ...`: negative ones in brackets.
fn paren(v: f32) -> String {
    if v < 0.0 {
        format!("({})", fmt_num(v))
    } else {
        fmt_num(v)
    }
}

/// The terms of filter weight (ky, kx)'s gradient: (pixel under it, dL/dz) for every
/// window whose dL/dz is not 0, in reading order. Their sum is what
/// [`ops::conv2d_backward`] returns for that weight (the windows with dL/dz = 0 add 0).
fn filter_terms(x: &Array2<f32>, dz: &Array2<f32>, ky: usize, kx: usize) -> Vec<(f32, f32)> {
    let (oh, ow) = dz.dim();
    (0..oh)
        .flat_map(|oy| (0..ow).map(move |ox| (oy, ox)))
        .filter(|&(oy, ox)| dz[[oy, ox]] != 0.0)
        .map(|(oy, ox)| (x[[oy + ky, ox + kx]], dz[[oy, ox]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn net() -> (Array4<f32>, Params) {
        let img = crate::nn::ops::seed_image();
        let p = Params {
            filter: array![[1., -1., 1.], [-1., 0., -1.], [1., -1., 1.]],
            bias: -0.1,
            fc_w: array![
                [0.5, -0.3, 0.2, 0.1],
                [-0.2, 0.4, 0.3, -0.1],
                [0.1, 0.2, -0.4, 0.3]
            ],
            fc_b: array![0.0, 0.1, -0.1],
        };
        (as_batch(&img.mapv(|v| v / 255.0)), p)
    }

    #[test]
    fn the_written_terms_add_up_to_the_engines_gradient() {
        let (x, p) = net();
        let g = pass(&x, &p, 2, 1);
        let xi = channel(&g.x, 0);
        let dz = channel(&g.d_z, 0);
        for ky in 0..3 {
            for kx in 0..3 {
                let sum: f32 = filter_terms(&xi, &dz, ky, kx)
                    .iter()
                    .map(|(a, b)| a * b)
                    .sum();
                assert!((sum - g.d_filter[[ky, kx]]).abs() < 1e-6, "{ky},{kx}");
            }
        }
        // the bias gradient is the sum of dL/dz, the score gradient p - y
        assert!((dz.sum() - g.d_bias).abs() < 1e-6);
        for j in 0..3 {
            let y = if j == 1 { 1.0 } else { 0.0 };
            assert!((g.d_scores[[0, j]] - (g.probs[j] - y)).abs() < 1e-6);
        }
    }

    #[test]
    fn pool_ties_send_the_gradient_to_the_first_cell_in_reading_order() {
        let a = array![[2.0f32, 2.0], [2.0, 1.0]]
            .insert_axis(ndarray::Axis(0))
            .insert_axis(ndarray::Axis(0));
        let (_, idx) = ops::max_pool2d_with_indices(&a, 2, 2);
        let d = ops::max_pool2d_backward(&Array4::from_elem((1, 1, 1, 1), 5.0), &idx, a.dim());
        assert_eq!(
            d.iter().copied().collect::<Vec<_>>(),
            vec![5.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn one_small_sgd_step_lowers_the_loss() {
        let (x, p) = net();
        let g = pass(&x, &p, 2, 0);
        let g1 = pass(&x, &p.sgd(&g, 0.1), 2, 0);
        assert!(g1.loss < g.loss, "{} -> {}", g.loss, g1.loss);
    }
}
