//! The backprop lesson's steps: the forward pass, every gradient from the loss back to
//! the filter, and the update (SGD, more updates, one weight through Adam).

use ndarray::Array2;

use super::net::{filter_terms, pass, Params, Pass};
use super::{Backprop, Dims, Setup, MAX_UPDATES};
use crate::lesson::draw::{
    channel, fill, fmt_num, grid, shape_text, step, with_emphasis, with_window,
};
use crate::lesson::frame::{Bars, Panel, Pipeline, Stage, Step, Sum, Vector};
use crate::lesson::model::Lesson;
use crate::nn::adam::Adam;
use crate::{Error, Result};

/// Every step of the lesson, from the network as the learner left it: one pass, the
/// SGD update and the pass after it, the losses of more updates, and one Adam step.
pub(super) fn build(kind: &Backprop, l: &Lesson) -> Result<Vec<Step>> {
    let bad = |what: &str| Error::Lesson(format!("{}: {what}", l.source()));
    let Setup {
        x,
        params,
        pool,
        t,
        lr,
        dims,
    } = kind.setup(l)?;
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
        kind,
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

    /// The update's four steps: SGD, the forward pass after it, more updates, and Adam.
    fn update(&self, out: &mut Vec<Step>) {
        self.sgd_step(out);
        self.forward_again(out);
        self.more_updates(out);
        self.adam_step(out);
    }

    /// Plain SGD, w - lr x gradient: the first row of the filter and the bias written out.
    fn sgd_step(&self, out: &mut Vec<Step>) {
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
    }

    /// The forward pass again with the updated numbers: the new loss, lower or higher.
    fn forward_again(&self, out: &mut Vec<Step>) {
        let g = self.g;
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
    }

    /// The loss after each of the learner's updates (`<`/`>`), and the filter after them.
    fn more_updates(&self, out: &mut Vec<Step>) {
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
    }

    /// One step of Adam, as training takes it, for the filter weight with the largest
    /// gradient.
    fn adam_step(&self, out: &mut Vec<Step>) {
        let (g, p, u) = (self.g, self.params, self.updated);
        let kw = p.filter.ncols();
        let lr = fmt_num(self.lr);
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
