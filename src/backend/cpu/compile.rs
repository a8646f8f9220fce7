//! Compiling a network's plan into the CPU backend's steps ([`Compiled`]).

use super::*;
use crate::nn::arch::PlannedLayer;

/// What one step of the pass computes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// 3x3 convolution, stride 1, padding 1: the direct kernels (the padded input is kept
    /// for the weight gradient).
    Conv3 {
        cin: usize,
        cout: usize,
        h: usize,
        w: usize,
    },
    /// Any other convolution: with a square kernel and padding below it (`direct`) the
    /// direct kernels of any kernel size and stride (`nn/directk.rs`; with a stride above
    /// 1 only the weight gradient is direct), otherwise im2col + GEMM, a block of output
    /// rows at a time (the input is unfolded again for the backward pass).
    Conv {
        g: ConvGeom,
        cout: usize,
        direct: bool,
    },
    /// relu(maxpool(2)) in one pass (the window codes are kept).
    Pool2Relu { c: usize, h: usize, w: usize },
    /// Max pooling (the flat index of each maximum is kept).
    MaxPool {
        c: usize,
        h: usize,
        w: usize,
        k: usize,
        s: usize,
    },
    /// Average pooling.
    AvgPool {
        c: usize,
        h: usize,
        w: usize,
        k: usize,
        s: usize,
    },
    /// An activation function.
    Act(Act),
    /// BatchNorm2d over `c` channels; `bn` numbers the batch norms.
    BatchNorm { c: usize, bn: usize },
    /// Whole maps dropped (mask segment `seg`).
    Dropout2d { c: usize, seg: usize },
    /// Single values dropped (mask segment `seg`).
    Dropout { seg: usize },
    /// Maps to a vector (a copy: the order is already PyTorch's).
    Flatten,
    /// A fully connected layer.
    Linear,
    /// `[dropout2d] relu [dropout] flatten linear` in one pass over `c` maps of `hw`
    /// values (the ReLU's output, after the element dropout, is kept).
    Tail {
        c: usize,
        hw: usize,
        ch: Option<usize>,
        el: Option<usize>,
    },
}

/// Where a named output of the trace is found after the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Src {
    /// The step's output.
    Out,
    /// The max pool's output inside a fused pool + ReLU (recomputed from the codes).
    PoolPre,
    /// The ReLU's output inside a fused tail (its kept buffer, dropouts off).
    TailRelu,
}

/// One step of the compiled pass.
#[derive(Debug, Clone)]
pub(super) struct Op {
    pub(super) kind: Kind,
    /// Indices into the net's tensors: weight, bias (and a batch norm's running mean and
    /// variance).
    pub(super) tensors: Vec<usize>,
    pub(super) in_len: usize,
    pub(super) out_len: usize,
    /// The first step: its input gradient is never needed.
    pub(super) first: bool,
    /// The trace's outputs this step makes.
    pub(super) names: Vec<(String, Src)>,
    /// Its name in the profile (`conv1`, `pool1+relu1`, `dropout2d+relu3+dropout+fc`).
    pub(super) label: String,
}

/// A network's plan made into steps, with the mask segments and the profile's stages.
#[derive(Debug, Clone)]
pub(super) struct Compiled {
    pub(super) plan: Plan,
    pub(super) ops: Vec<Op>,
    /// Per dropout layer, in layer order: values per image and the drop probability.
    pub(super) segs: Vec<(usize, f32)>,
    /// Batch norms: (step index, channels).
    pub(super) bns: Vec<(usize, usize)>,
    /// Names of the timed stages, in order (see [`Compiled::stage_forward`] ...).
    pub(super) stages: Vec<String>,
}

impl Compiled {
    /// Per mask segment, whether its masks are drawn where they are applied (the fused
    /// tail's element dropout) rather than for the whole batch before the pass.
    pub(super) fn drawn_at_use(&self) -> Vec<bool> {
        let mut at_use = vec![false; self.segs.len()];
        for op in &self.ops {
            if let Kind::Tail { el: Some(s), .. } = op.kind {
                at_use[s] = true;
            }
        }
        at_use
    }
}

pub(super) fn act_of(layer: &Layer) -> Option<Act> {
    Some(match *layer {
        Layer::Relu => Act::Relu,
        Layer::Tanh => Act::Tanh,
        Layer::Sigmoid => Act::Sigmoid,
        Layer::LeakyRelu { slope } => Act::Leaky(slope),
        _ => return None,
    })
}

pub(super) fn label_of(l: &crate::nn::arch::PlannedLayer) -> String {
    l.act
        .clone()
        .or_else(|| l.module.clone())
        .unwrap_or_else(|| l.layer.keyword().to_string())
}

/// One op chosen for the layers from `i` on: its kind, how many layers it takes, the
/// names of the activations it keeps, and its label in a profile.
type Choice = (Kind, usize, Vec<(String, Src)>, String);

/// What [`Compiled::new`] collects while choosing ops: the dropout mask segments, the
/// batch norms (op index and channels), and the number of ops chosen so far.
#[derive(Default)]
struct Builder {
    /// Fused fast paths allowed (off when every named output must be a step's output).
    fuse: bool,
    segs: Vec<(usize, f32)>,
    bns: Vec<(usize, usize)>,
    ops: usize,
}

impl Builder {
    /// The op for `layers[i..]`: a fast path where the layers match one (a 3x3 stride-1
    /// padding-1 convolution, a 2x2 max pool followed by ReLU, the course's tail), the
    /// general op of the layer's kind otherwise.
    fn choose(&mut self, layers: &[PlannedLayer], i: usize) -> Choice {
        let l = &layers[i];
        let named = |src: Src| l.act.clone().map(|n| (n, src)).into_iter().collect();
        match (l.layer, l.input) {
            (
                Layer::Conv {
                    out,
                    k,
                    stride,
                    pad,
                },
                Shape::Maps { c, h, w },
            ) => {
                let kind = if (k, stride, pad) == (3, 1, 1) {
                    Kind::Conv3 {
                        cin: c,
                        cout: out,
                        h,
                        w,
                    }
                } else {
                    let g = ConvGeom {
                        c,
                        h,
                        w,
                        kh: k,
                        kw: k,
                        stride,
                        pad,
                    };
                    Kind::Conv {
                        g,
                        cout: out,
                        direct: directk::applies(&g),
                    }
                };
                (kind, 1, named(Src::Out), label_of(l))
            }
            (Layer::MaxPool { k: 2, stride: 2 }, Shape::Maps { c, h, w })
                if self.fuse
                    && h % 2 == 0
                    && w % 2 == 0
                    && layers.get(i + 1).map(|n| n.layer) == Some(Layer::Relu) =>
            {
                let relu = &layers[i + 1];
                let mut names: Vec<(String, Src)> = named(Src::PoolPre);
                names.extend(relu.act.clone().map(|n| (n, Src::Out)));
                let label = format!("{}+{}", label_of(l), label_of(relu));
                (Kind::Pool2Relu { c, h, w }, 2, names, label)
            }
            (Layer::MaxPool { k, stride }, Shape::Maps { c, h, w }) => (
                Kind::MaxPool {
                    c,
                    h,
                    w,
                    k,
                    s: stride,
                },
                1,
                named(Src::Out),
                label_of(l),
            ),
            (Layer::AvgPool { k, stride }, Shape::Maps { c, h, w }) => (
                Kind::AvgPool {
                    c,
                    h,
                    w,
                    k,
                    s: stride,
                },
                1,
                named(Src::Out),
                label_of(l),
            ),
            (Layer::BatchNorm, Shape::Maps { c, .. }) => {
                self.bns.push((self.ops, c));
                let bn = self.bns.len() - 1;
                (Kind::BatchNorm { c, bn }, 1, named(Src::Out), label_of(l))
            }
            (Layer::Dropout2d { .. } | Layer::Relu, Shape::Maps { c, h, w })
                if self.fuse && tail_len(layers, i).is_some() =>
            {
                self.tail(layers, i, c, h * w)
            }
            (Layer::Dropout2d { p }, Shape::Maps { c, h, w }) => {
                self.segs.push((c, p));
                let _ = (h, w);
                let seg = self.segs.len() - 1;
                (
                    Kind::Dropout2d { c, seg },
                    1,
                    Vec::new(),
                    "dropout2d".into(),
                )
            }
            (Layer::Dropout { p }, shape) => {
                self.segs.push((shape.len(), p));
                let seg = self.segs.len() - 1;
                (Kind::Dropout { seg }, 1, Vec::new(), "dropout".into())
            }
            (Layer::Flatten, _) => (Kind::Flatten, 1, Vec::new(), "flatten".into()),
            (Layer::Linear { .. }, _) => (
                Kind::Linear,
                1,
                named(Src::Out),
                l.module.clone().unwrap_or_default(),
            ),
            (layer, _) => match act_of(&layer) {
                Some(a) => (Kind::Act(a), 1, named(Src::Out), label_of(l)),
                None => unreachable!("the plan puts maps before every map layer"),
            },
        }
    }

    /// The fused tail `[dropout2d] relu [dropout] flatten linear` from `layers[i]`, on
    /// maps of `c` channels of `hw` cells.
    fn tail(&mut self, layers: &[PlannedLayer], i: usize, c: usize, hw: usize) -> Choice {
        let n = tail_len(layers, i).unwrap_or(0);
        let mut names = Vec::new();
        let mut parts = Vec::new();
        let (mut ch, mut el) = (None, None);
        for t in &layers[i..i + n] {
            match t.layer {
                Layer::Dropout2d { p } => {
                    self.segs.push((c, p));
                    ch = Some(self.segs.len() - 1);
                    parts.push("dropout2d".to_string());
                }
                Layer::Dropout { p } => {
                    self.segs.push((c * hw, p));
                    el = Some(self.segs.len() - 1);
                    parts.push("dropout".to_string());
                }
                Layer::Relu => {
                    names.extend(t.act.clone().map(|n| (n, Src::TailRelu)));
                    parts.push(label_of(t));
                }
                Layer::Linear { .. } => {
                    names.extend(t.act.clone().map(|n| (n, Src::Out)));
                    parts.push(t.module.clone().unwrap_or_default());
                }
                _ => {}
            }
        }
        let kind = Kind::Tail { c, hw, ch, el };
        (kind, n, names, parts.join("+"))
    }
}

impl Compiled {
    pub(super) fn new(plan: &Plan) -> Compiled {
        Compiled::with(plan, true, false)
    }

    /// `fuse`: take the fused fast paths where the layers match one (training and
    /// prediction do); without, every layer is its own step and every named output a
    /// step's output. `input_grad`: the first step computes its input gradient too.
    pub(super) fn with(plan: &Plan, fuse: bool, input_grad: bool) -> Compiled {
        let layers = &plan.layers;
        let mut b = Builder {
            fuse,
            ..Builder::default()
        };
        let mut ops = Vec::new();
        let mut i = 0;
        while i < layers.len() {
            let l = &layers[i];
            b.ops = ops.len();
            let (kind, used, names, label) = b.choose(layers, i);
            let last = &layers[i + used - 1];
            let tensors = layers[i..i + used]
                .iter()
                .flat_map(|t| t.tensors.iter().copied())
                .collect();
            ops.push(Op {
                kind,
                tensors,
                in_len: l.input.len(),
                out_len: last.output.len(),
                first: i == 0 && !input_grad,
                names,
                label,
            });
            i += used;
        }
        let mut c = Compiled {
            plan: plan.clone(),
            ops,
            segs: b.segs,
            bns: b.bns,
            stages: Vec::new(),
        };
        c.stages = c.stage_names();
        c
    }

    /// The stages [`CpuBackend::profile`] reports: each step forward, the loss, each step
    /// backward (last to first; a convolution's weight and input gradients apart).
    pub(super) fn stage_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ops
            .iter()
            .map(|o| format!("{} forward", o.label))
            .collect();
        v.push("loss".into());
        for o in self.ops.iter().rev() {
            match o.kind {
                Kind::Conv3 { .. } | Kind::Conv { .. } => {
                    v.push(format!("{} weight grad", o.label));
                    if !o.first {
                        v.push(format!("{} input grad", o.label));
                    }
                }
                _ => v.push(format!("{} backward", o.label)),
            }
        }
        v
    }

    pub(super) fn stage_forward(&self, op: usize) -> usize {
        op
    }

    pub(super) fn stage_loss(&self) -> usize {
        self.ops.len()
    }

    /// The first backward stage of step `op`.
    pub(super) fn stage_backward(&self, op: usize) -> usize {
        let mut at = self.ops.len() + 1;
        for (j, o) in self.ops.iter().enumerate().rev() {
            if j == op {
                return at;
            }
            at += match o.kind {
                Kind::Conv3 { .. } | Kind::Conv { .. } if !o.first => 2,
                _ => 1,
            };
        }
        at
    }
}

/// Layers from `i` that make a fused tail: `[dropout2d] relu [dropout] flatten linear`
/// on maps; their count.
pub(super) fn tail_len(layers: &[crate::nn::arch::PlannedLayer], i: usize) -> Option<usize> {
    let mut j = i;
    let at = |j: usize| layers.get(j).map(|l| l.layer);
    if matches!(at(j), Some(Layer::Dropout2d { .. })) {
        j += 1;
    }
    if at(j) != Some(Layer::Relu) {
        return None;
    }
    j += 1;
    if matches!(at(j), Some(Layer::Dropout { .. })) {
        j += 1;
    }
    if at(j) != Some(Layer::Flatten) {
        return None;
    }
    j += 1;
    if !matches!(at(j), Some(Layer::Linear { .. })) {
        return None;
    }
    Some(j + 1 - i)
}
