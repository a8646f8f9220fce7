//! The CPU backend. A network's [`Plan`] is compiled once into a list of steps ([`Op`]),
//! each choosing its kernel by the layer's parameters (as candle's conv2d picks a fast
//! path): 3x3 convolutions with stride 1 and padding 1 run the direct kernels of
//! [`crate::nn::direct`] (AVX-512 or AVX2 chosen at run time), other convolutions
//! im2col + GEMM; a 2x2 max pool followed by ReLU is one fused pass, and so is the tail
//! `[dropout2d] relu [dropout] flatten linear` (the course's net ends that way); every
//! other layer has its general step. The batch is split across a rayon pool, one
//! workspace per thread reused across batches.
//!
//! Each image is pushed forward and straight back (its loss is independent of the
//! others), so a thread only ever holds one image's activations; gradients are summed per
//! thread and then across threads. Batch norm couples the images of a batch while
//! training: such a network runs layer range by layer range, every image of the batch
//! through one range before the batch statistics are taken (a barrier), and back the same
//! way. `CpuBackend::set_profiling` times every step of the pass.

use ndarray::{Array2, ArrayD, IxDyn};
use rand_chacha::ChaCha8Rng;

use super::{Backend, BatchStats};
use crate::nn::arch::{Layer, Plan, Shape, BN_MOMENTUM};
use crate::nn::direct::{
    conv3x3_forward, conv3x3_weight_grad, flip_weights, pad1, pool2_relu_backward,
    pool2_relu_forward,
};
use crate::nn::dropout::MaskStream;
use crate::nn::kernels::{self, dot, ConvGeom};
use crate::nn::layers::{self, Act};
use crate::nn::net::{Net, Trace};
use crate::{Error, Result};

/// What one step of the pass computes.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// 3x3 convolution, stride 1, padding 1: the direct kernels (the padded input is kept
    /// for the weight gradient).
    Conv3 {
        cin: usize,
        cout: usize,
        h: usize,
        w: usize,
    },
    /// Any other convolution: im2col + GEMM, a block of output rows at a time (the input
    /// is unfolded again for the backward pass).
    Conv { g: ConvGeom, cout: usize },
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
enum Src {
    /// The step's output.
    Out,
    /// The max pool's output inside a fused pool + ReLU (recomputed from the codes).
    PoolPre,
    /// The ReLU's output inside a fused tail (its kept buffer, dropouts off).
    TailRelu,
}

/// One step of the compiled pass.
#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    /// Indices into the net's tensors: weight, bias (and a batch norm's running mean and
    /// variance).
    tensors: Vec<usize>,
    in_len: usize,
    out_len: usize,
    /// The first step: its input gradient is never needed.
    first: bool,
    /// The trace's outputs this step makes.
    names: Vec<(String, Src)>,
    /// Its name in the profile (`conv1`, `pool1+relu1`, `dropout2d+relu3+dropout+fc`).
    label: String,
}

/// A network's plan made into steps, with the mask segments and the profile's stages.
#[derive(Debug, Clone)]
struct Compiled {
    plan: Plan,
    ops: Vec<Op>,
    /// Per dropout layer, in layer order: values per image and the drop probability.
    segs: Vec<(usize, f32)>,
    /// Batch norms: (step index, channels).
    bns: Vec<(usize, usize)>,
    /// Names of the timed stages, in order (see [`Compiled::stage_forward`] ...).
    stages: Vec<String>,
}

fn act_of(layer: &Layer) -> Option<Act> {
    Some(match *layer {
        Layer::Relu => Act::Relu,
        Layer::Tanh => Act::Tanh,
        Layer::Sigmoid => Act::Sigmoid,
        Layer::LeakyRelu { slope } => Act::Leaky(slope),
        _ => return None,
    })
}

fn label_of(l: &crate::nn::arch::PlannedLayer) -> String {
    l.act
        .clone()
        .or_else(|| l.module.clone())
        .unwrap_or_else(|| l.layer.keyword().to_string())
}

impl Compiled {
    fn new(plan: &Plan) -> Compiled {
        let layers = &plan.layers;
        let mut ops = Vec::new();
        let mut segs = Vec::new();
        let mut bns = Vec::new();
        let mut i = 0;
        while i < layers.len() {
            let l = &layers[i];
            let named = |src: Src| l.act.clone().map(|n| (n, src)).into_iter().collect();
            let (kind, used, names, label): (Kind, usize, Vec<(String, Src)>, String) =
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
                            Kind::Conv { g, cout: out }
                        };
                        (kind, 1, named(Src::Out), label_of(l))
                    }
                    (Layer::MaxPool { k: 2, stride: 2 }, Shape::Maps { c, h, w })
                        if h % 2 == 0
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
                        bns.push((ops.len(), c));
                        let bn = bns.len() - 1;
                        (Kind::BatchNorm { c, bn }, 1, named(Src::Out), label_of(l))
                    }
                    (Layer::Dropout2d { .. } | Layer::Relu, Shape::Maps { c, h, w })
                        if tail_len(layers, i).is_some() =>
                    {
                        let n = tail_len(layers, i).unwrap_or(0);
                        let mut names = Vec::new();
                        let mut parts = Vec::new();
                        let (mut ch, mut el) = (None, None);
                        for t in &layers[i..i + n] {
                            match t.layer {
                                Layer::Dropout2d { p } => {
                                    segs.push((c, p));
                                    ch = Some(segs.len() - 1);
                                    parts.push("dropout2d".to_string());
                                }
                                Layer::Dropout { p } => {
                                    segs.push((c * h * w, p));
                                    el = Some(segs.len() - 1);
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
                        let kind = Kind::Tail {
                            c,
                            hw: h * w,
                            ch,
                            el,
                        };
                        (kind, n, names, parts.join("+"))
                    }
                    (Layer::Dropout2d { p }, Shape::Maps { c, h, w }) => {
                        segs.push((c, p));
                        let _ = (h, w);
                        let seg = segs.len() - 1;
                        (
                            Kind::Dropout2d { c, seg },
                            1,
                            Vec::new(),
                            "dropout2d".into(),
                        )
                    }
                    (Layer::Dropout { p }, shape) => {
                        segs.push((shape.len(), p));
                        let seg = segs.len() - 1;
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
                };
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
                first: i == 0,
                names,
                label,
            });
            i += used;
        }
        let mut c = Compiled {
            plan: plan.clone(),
            ops,
            segs,
            bns,
            stages: Vec::new(),
        };
        c.stages = c.stage_names();
        c
    }

    /// The stages [`CpuBackend::profile`] reports: each step forward, the loss, each step
    /// backward (last to first; a convolution's weight and input gradients apart).
    fn stage_names(&self) -> Vec<String> {
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

    fn stage_forward(&self, op: usize) -> usize {
        op
    }

    fn stage_loss(&self) -> usize {
        self.ops.len()
    }

    /// The first backward stage of step `op`.
    fn stage_backward(&self, op: usize) -> usize {
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
fn tail_len(layers: &[crate::nn::arch::PlannedLayer], i: usize) -> Option<usize> {
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

/// Time spent per stage when profiling is on (off: no clock is read).
#[derive(Debug, Default, Clone)]
struct StageTimer {
    on: bool,
    last: Option<std::time::Instant>,
    nanos: Vec<u64>,
}

impl StageTimer {
    /// Start timing the next stage.
    #[inline]
    fn start(&mut self) {
        if self.on {
            self.last = Some(std::time::Instant::now());
        }
    }

    /// The stage `i` ends here; the next one starts.
    #[inline]
    fn lap(&mut self, i: usize) {
        if self.on {
            let now = std::time::Instant::now();
            if let Some(t) = self.last {
                if let Some(n) = self.nanos.get_mut(i) {
                    *n += (now - t).as_nanos() as u64;
                }
            }
            self.last = Some(now);
        }
    }
}

/// What a step keeps from its forward pass for the backward pass.
#[derive(Debug, Clone)]
enum Aux {
    None,
    /// The zero-padded input (3x3 direct convolution).
    Padded(Vec<f32>),
    /// Which input of each 2x2 window won (fused pool + ReLU).
    Codes(Vec<u8>),
    /// Flat input index of each maximum (max pool).
    Args(Vec<u32>),
    /// The ReLU's output after the element dropout (fused tail).
    Act(Vec<f32>),
}

/// One image's buffers: every step's output and input gradient, and what the steps keep.
#[derive(Debug, Clone)]
struct Slot {
    outs: Vec<Vec<f32>>,
    /// `dins[i]`: d loss / d input of step `i` (empty for the first step).
    dins: Vec<Vec<f32>>,
    aux: Vec<Aux>,
    /// d loss / d logits.
    dlogits: Vec<f32>,
    /// Scratch: the padded output gradient (3x3) or the unfolded input gradient (GEMM).
    scratch: Vec<f32>,
}

impl Slot {
    fn new(c: &Compiled) -> Slot {
        let mut scratch = 0usize;
        let aux = c
            .ops
            .iter()
            .map(|o| match o.kind {
                Kind::Conv3 { cin, cout, h, w } => {
                    scratch = scratch.max(cout * (h + 2) * (w + 2));
                    Aux::Padded(vec![0.0; cin * (h + 2) * (w + 2)])
                }
                Kind::Conv { g, .. } => {
                    scratch = scratch.max(2 * kernels::tiled_scratch(&g));
                    Aux::None
                }
                Kind::Pool2Relu { .. } => Aux::Codes(vec![0; o.out_len]),
                Kind::MaxPool { .. } => Aux::Args(vec![0; o.out_len]),
                Kind::Tail { c, hw, .. } => Aux::Act(vec![0.0; c * hw]),
                _ => Aux::None,
            })
            .collect();
        Slot {
            outs: c.ops.iter().map(|o| vec![0.0; o.out_len]).collect(),
            dins: c
                .ops
                .iter()
                .map(|o| {
                    if o.first {
                        Vec::new()
                    } else {
                        vec![0.0; o.in_len]
                    }
                })
                .collect(),
            aux,
            dlogits: vec![0.0; c.plan.classes],
            scratch: vec![0.0; scratch],
        }
    }
}

/// Batch norm's statistics for this batch: per channel mean and 1/sqrt(var + eps), and
/// the backward pass's sums of dy and dy * xhat.
#[derive(Debug, Clone, Default)]
struct BnStats {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    sums: Vec<f64>,
    /// Values per channel over the batch (images x h x w).
    count: usize,
}

/// What every step reads: the net, the flipped 3x3 weights, the masks, the batch
/// statistics, and whether the net is training.
struct Ctx<'a> {
    c: &'a Compiled,
    net: &'a Net,
    flipped: &'a [Vec<f32>],
    masks: &'a [Vec<f32>],
    bn: &'a [BnStats],
    /// Training mode: masks applied, batch norm on batch statistics.
    train: bool,
    /// Images in the whole batch (the loss is their mean).
    batch: usize,
}

impl Ctx<'_> {
    fn w(&self, op: &Op, i: usize) -> &[f32] {
        &self.net.params[op.tensors[i]].data
    }

    /// The mask values of segment `seg` for image `img` of the batch.
    fn mask(&self, seg: usize, img: usize) -> &[f32] {
        let units = self.c.segs[seg].0;
        &self.masks[seg][img * units..(img + 1) * units]
    }
}

/// Buffers and sums of one thread: its images' slots, its gradient sums, its share of the
/// loss and the log-probabilities of its images.
#[derive(Debug)]
struct Worker {
    slots: Vec<Slot>,
    grads: Vec<Vec<f32>>,
    loss_sum: f64,
    correct: usize,
    /// log-probabilities of the images this worker handled, [images, classes] row-major.
    log_probs: Vec<f32>,
    timer: StageTimer,
}

impl Worker {
    fn new(c: &Compiled, sizes: &[usize], profiling: bool) -> Worker {
        Worker {
            slots: vec![Slot::new(c)],
            grads: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            loss_sum: 0.0,
            correct: 0,
            log_probs: Vec::new(),
            timer: StageTimer {
                on: profiling,
                last: None,
                nanos: vec![0; c.stages.len()],
            },
        }
    }

    fn reset(&mut self) {
        for g in &mut self.grads {
            g.fill(0.0);
        }
        self.loss_sum = 0.0;
        self.correct = 0;
        self.log_probs.clear();
    }
}

/// Steps `ops` of one image forward. `x`: the image; `img`: its index in the batch.
fn forward_range(
    ctx: &Ctx<'_>,
    slot: &mut Slot,
    x: &[f32],
    img: usize,
    ops: std::ops::Range<usize>,
    timer: &mut StageTimer,
) {
    for i in ops {
        let op = &ctx.c.ops[i];
        let (before, rest) = slot.outs.split_at_mut(i);
        let input: &[f32] = if i == 0 { x } else { &before[i - 1] };
        let out = &mut rest[0];
        let aux = &mut slot.aux[i];
        match (&op.kind, aux) {
            (&Kind::Conv3 { cin, cout, h, w }, Aux::Padded(xp)) => {
                pad1(input, cin, h, w, xp);
                conv3x3_forward(xp, cin, h, w, ctx.w(op, 0), Some(ctx.w(op, 1)), cout, out);
            }
            (Kind::Conv { g, .. }, _) => {
                let col = &mut slot.scratch[..kernels::tiled_scratch(g)];
                kernels::conv_forward_tiled(input, g, ctx.w(op, 0), Some(ctx.w(op, 1)), col, out);
            }
            (&Kind::Pool2Relu { c, h, w }, Aux::Codes(codes)) => {
                pool2_relu_forward(input, c, h, w, out, codes);
            }
            (&Kind::MaxPool { c, h, w, k, s }, Aux::Args(args)) => {
                kernels::max_pool_forward(input, c, h, w, k, s, false, out, args);
            }
            (&Kind::AvgPool { c, h, w, k, s }, _) => {
                layers::avg_pool_forward(input, c, h, w, k, s, out);
            }
            (&Kind::Act(a), _) => a.forward(input, out),
            (&Kind::BatchNorm { bn, .. }, _) => {
                let st = &ctx.bn[bn];
                layers::bn_apply(
                    input,
                    &st.mean,
                    &st.inv_std,
                    ctx.w(op, 0),
                    ctx.w(op, 1),
                    out,
                );
            }
            (&Kind::Dropout2d { c, seg }, _) => {
                if ctx.train {
                    let m = ctx.mask(seg, img);
                    let hw = op.in_len / c.max(1);
                    for (ci, (o, v)) in out
                        .chunks_exact_mut(hw)
                        .zip(input.chunks_exact(hw))
                        .enumerate()
                    {
                        let s = m[ci];
                        for (a, &b) in o.iter_mut().zip(v) {
                            *a = b * s;
                        }
                    }
                } else {
                    out.copy_from_slice(input);
                }
            }
            (&Kind::Dropout { seg }, _) => {
                if ctx.train {
                    for ((a, &b), &s) in out.iter_mut().zip(input).zip(ctx.mask(seg, img)) {
                        *a = b * s;
                    }
                } else {
                    out.copy_from_slice(input);
                }
            }
            (Kind::Flatten, _) => out.copy_from_slice(input),
            (Kind::Linear, _) => layers::linear_forward(input, ctx.w(op, 0), ctx.w(op, 1), out),
            (&Kind::Tail { c, hw, ch, el }, Aux::Act(act)) => {
                tail_forward(ctx, img, input, (c, hw, ch, el), act);
                let (fcw, fcb) = (ctx.w(op, 0), ctx.w(op, 1));
                let n = c * hw;
                for (j, l) in out.iter_mut().enumerate() {
                    *l = dot(&fcw[j * n..(j + 1) * n], act) + fcb[j];
                }
            }
            _ => unreachable!("each step has the buffers Slot::new gave it"),
        }
        timer.lap(ctx.c.stage_forward(i));
    }
}

/// The fused tail's first half: `act = relu(x * channel mask) * element mask` (masks only
/// while training).
fn tail_forward(
    ctx: &Ctx<'_>,
    img: usize,
    x: &[f32],
    (c, hw, ch, el): (usize, usize, Option<usize>, Option<usize>),
    act: &mut [f32],
) {
    let chm = ch.filter(|_| ctx.train).map(|s| ctx.mask(s, img));
    let elm = el.filter(|_| ctx.train).map(|s| ctx.mask(s, img));
    for ci in 0..c {
        let s = chm.map_or(1.0, |m| m[ci]);
        let xr = &x[ci * hw..(ci + 1) * hw];
        let ar = &mut act[ci * hw..(ci + 1) * hw];
        match elm {
            Some(e) => {
                let er = &e[ci * hw..(ci + 1) * hw];
                for ((a, &z), &m) in ar.iter_mut().zip(xr).zip(er) {
                    *a = (z * s).max(0.0) * m;
                }
            }
            None => {
                for (a, &z) in ar.iter_mut().zip(xr) {
                    *a = (z * s).max(0.0);
                }
            }
        }
    }
}

/// The loss of one image from its logits: adds to the worker's sums and log-probabilities,
/// and fills `slot.dlogits` (d mean loss / d logits) when `target` is given.
fn image_loss(ctx: &Ctx<'_>, slot: &mut Slot, target: Option<usize>, w: &mut Worker) {
    let logits = slot.outs.last().map_or(&[][..], |v| &v[..]);
    let start = w.log_probs.len();
    w.log_probs.extend(log_softmax(logits));
    let lp = &w.log_probs[start..];
    if let Some(t) = target {
        w.loss_sum -= f64::from(lp[t]);
        if argmax(lp) == t {
            w.correct += 1;
        }
        let inv = 1.0 / ctx.batch as f32;
        for (j, d) in slot.dlogits.iter_mut().enumerate() {
            let onehot = if j == t { 1.0 } else { 0.0 };
            *d = (lp[j].exp() - onehot) * inv;
        }
    }
}

/// Steps `ops` of one image backward (last to first), adding parameter gradients into
/// `grads`. Batch norm in training mode reads the batch's sums (taken before).
fn backward_range(
    ctx: &Ctx<'_>,
    slot: &mut Slot,
    x: &[f32],
    img: usize,
    ops: std::ops::Range<usize>,
    grads: &mut [Vec<f32>],
    timer: &mut StageTimer,
) {
    let last = ctx.c.ops.len() - 1;
    for i in ops.rev() {
        let op = &ctx.c.ops[i];
        let stage = ctx.c.stage_backward(i);
        // the output gradient: the next step's input gradient, or d loss / d logits
        let (dins_lo, dins_hi) = slot.dins.split_at_mut(i + 1);
        let dout: &[f32] = if i == last {
            &slot.dlogits
        } else {
            &dins_hi[0]
        };
        let dx = &mut dins_lo[i];
        let input: &[f32] = if i == 0 { x } else { &slot.outs[i - 1] };
        let out = &slot.outs[i];
        let (g0, g1) = match op.tensors.as_slice() {
            [a, b, ..] => (*a, *b),
            _ => (usize::MAX, usize::MAX),
        };
        match (&op.kind, &slot.aux[i]) {
            (&Kind::Conv3 { cin, cout, h, w }, Aux::Padded(xp)) => {
                let (dw, db) = two(grads, g0, g1);
                conv3x3_weight_grad(xp, cin, h, w, dout, cout, dw, db);
                timer.lap(stage);
                if !op.first {
                    let dp = &mut slot.scratch[..cout * (h + 2) * (w + 2)];
                    pad1(dout, cout, h, w, dp);
                    conv3x3_forward(dp, cout, h, w, &ctx.flipped[i], None, cin, dx);
                    timer.lap(stage + 1);
                }
                continue;
            }
            (Kind::Conv { g, .. }, _) => {
                let (dw, db) = two(grads, g0, g1);
                let dxs = (!op.first).then_some(&mut dx[..]);
                let w = ctx.w(op, 0);
                kernels::conv_backward_tiled(dout, input, g, w, dw, db, dxs, &mut slot.scratch);
                timer.lap(stage);
                if !op.first {
                    timer.lap(stage + 1);
                }
                continue;
            }
            (&Kind::Pool2Relu { c, h, w }, Aux::Codes(codes)) => {
                if !op.first {
                    pool2_relu_backward(dout, out, codes, c, h, w, dx);
                }
            }
            (&Kind::MaxPool { .. }, Aux::Args(args)) => {
                if !op.first {
                    kernels::max_pool_backward(dout, out, args, false, dx);
                }
            }
            (&Kind::AvgPool { c, h, w, k, s }, _) => {
                if !op.first {
                    layers::avg_pool_backward(dout, c, h, w, k, s, dx);
                }
            }
            (&Kind::Act(a), _) => {
                if !op.first {
                    a.backward(input, out, dout, dx);
                }
            }
            (&Kind::BatchNorm { bn, .. }, _) => {
                let st = &ctx.bn[bn];
                let gamma = ctx.w(op, 0);
                if ctx.train {
                    if !op.first {
                        layers::bn_backward_train(
                            dout,
                            input,
                            &st.mean,
                            &st.inv_std,
                            gamma,
                            &st.sums,
                            st.count,
                            dx,
                        );
                    }
                } else {
                    // fixed statistics: the images do not meet; the sums are this image's
                    let c = st.mean.len();
                    let mut sums = vec![0.0f64; 2 * c];
                    layers::bn_grad_sums(dout, input, &st.mean, &st.inv_std, &mut sums);
                    let (dg, db) = two(grads, g0, g1);
                    for ci in 0..c {
                        db[ci] += sums[ci] as f32;
                        dg[ci] += sums[c + ci] as f32;
                    }
                    if !op.first {
                        layers::bn_backward_eval(dout, &st.inv_std, gamma, dx);
                    }
                }
            }
            (&Kind::Dropout2d { c, seg }, _) => {
                if !op.first {
                    if ctx.train {
                        let m = ctx.mask(seg, img);
                        let hw = op.in_len / c.max(1);
                        for (ci, (d, g)) in dx
                            .chunks_exact_mut(hw)
                            .zip(dout.chunks_exact(hw))
                            .enumerate()
                        {
                            for (a, &b) in d.iter_mut().zip(g) {
                                *a = b * m[ci];
                            }
                        }
                    } else {
                        dx.copy_from_slice(dout);
                    }
                }
            }
            (&Kind::Dropout { seg }, _) => {
                if !op.first {
                    if ctx.train {
                        for ((a, &b), &s) in dx.iter_mut().zip(dout).zip(ctx.mask(seg, img)) {
                            *a = b * s;
                        }
                    } else {
                        dx.copy_from_slice(dout);
                    }
                }
            }
            (Kind::Flatten, _) => {
                if !op.first {
                    dx.copy_from_slice(dout);
                }
            }
            (Kind::Linear, _) => {
                let w = ctx.w(op, 0);
                let (dw, db) = two(grads, g0, g1);
                let dxs = (!op.first).then_some(&mut dx[..]);
                layers::linear_backward(input, w, dout, dw, db, dxs);
            }
            (&Kind::Tail { c, hw, ch, el }, Aux::Act(act)) => {
                tail_backward(ctx, img, op, (c, hw, ch, el), (input, act, dout), grads, dx);
            }
            _ => unreachable!("each step has the buffers Slot::new gave it"),
        }
        timer.lap(stage);
    }
}

/// The fused tail backward: the linear layer's gradients, then through the element
/// dropout, the ReLU and the channel dropout: `dx = dact * e * [x * s > 0] * s`.
fn tail_backward(
    ctx: &Ctx<'_>,
    img: usize,
    op: &Op,
    (c, hw, ch, el): (usize, usize, Option<usize>, Option<usize>),
    (x, act, dl): (&[f32], &[f32], &[f32]),
    grads: &mut [Vec<f32>],
    dx: &mut [f32],
) {
    let n = c * hw;
    let fcw = ctx.w(op, 0);
    let (gi, bi) = (op.tensors[0], op.tensors[1]);
    dx.fill(0.0);
    for (j, &d) in dl.iter().enumerate() {
        let gw = &mut grads[gi][j * n..(j + 1) * n];
        for (g, &a) in gw.iter_mut().zip(act) {
            *g += d * a;
        }
        grads[bi][j] += d;
        for (o, &w) in dx.iter_mut().zip(&fcw[j * n..(j + 1) * n]) {
            *o += d * w;
        }
    }
    let chm = ch.filter(|_| ctx.train).map(|s| ctx.mask(s, img));
    let elm = el.filter(|_| ctx.train).map(|s| ctx.mask(s, img));
    for ci in 0..c {
        let s = chm.map_or(1.0, |m| m[ci]);
        let dr = &mut dx[ci * hw..(ci + 1) * hw];
        let xr = &x[ci * hw..(ci + 1) * hw];
        match (elm, chm.is_some()) {
            (Some(e), _) => {
                let er = &e[ci * hw..(ci + 1) * hw];
                for ((d, &z), &m) in dr.iter_mut().zip(xr).zip(er) {
                    *d = if z * s > 0.0 { *d * m * s } else { 0.0 };
                }
            }
            (None, true) => {
                for (d, &z) in dr.iter_mut().zip(xr) {
                    *d = if z * s > 0.0 { *d * s } else { 0.0 };
                }
            }
            (None, false) => {
                for (d, &z) in dr.iter_mut().zip(xr) {
                    if z <= 0.0 {
                        *d = 0.0;
                    }
                }
            }
        }
    }
}

/// Two distinct gradient tensors, mutably.
fn two(grads: &mut [Vec<f32>], a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    debug_assert!(a < b);
    let (head, tail) = grads.split_at_mut(b);
    (&mut head[a], &mut tail[0])
}

/// log_softmax of one row of logits, stably (as the eval forward gives it).
fn log_softmax(logits: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let m = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let lse = logits.iter().map(|&v| (v - m).exp()).sum::<f32>().ln() + m;
    logits.iter().map(move |&v| v - lse)
}

/// The pooled map (before the ReLU) from the pool's input `x` [c, h, w] and the window
/// codes [`pool2_relu_forward`] recorded: each output is the input its code names.
fn pooled_from_codes(x: &[f32], c: usize, h: usize, w: usize, code: &[u8]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ci in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let k = usize::from(code[(ci * oh + oy) * ow + ox]);
                out.push(x[(ci * h + 2 * oy + k / 2) * w + 2 * ox + k % 2]);
            }
        }
    }
    out
}

/// Batch norm statistics in eval mode: the running mean and variance.
fn eval_stats(c: &Compiled, net: &Net) -> Vec<BnStats> {
    c.bns
        .iter()
        .map(|&(op, _)| {
            let t = &c.ops[op].tensors;
            BnStats {
                mean: net.params[t[2]].data.clone(),
                inv_std: layers::bn_inv_std(&net.params[t[3]].data),
                sums: Vec::new(),
                count: 0,
            }
        })
        .collect()
}

/// The eval-mode forward (dropouts off) of `input` (normalised images, CHW one after
/// another, as the plan's input), keeping every named output: the same per-image pass as
/// [`Backend::predict`] and training run, one image after another on this thread. The
/// [`Trace`] has the layout of [`Net::forward_trace`] (which computes the same with the
/// reference array ops).
pub fn forward_trace(net: &Net, input: &[f32]) -> Result<Trace> {
    let n = super::check_input(net, input, None)?;
    let c = Compiled::new(&net.plan);
    let bn = eval_stats(&c, net);
    let ctx = Ctx {
        c: &c,
        net,
        flipped: &[],
        masks: &[],
        bn: &bn,
        train: false,
        batch: n,
    };
    let mut slot = Slot::new(&c);
    let mut timer = StageTimer::default();
    let names = net.plan.act_names();
    let mut data: Vec<Vec<f32>> = vec![Vec::new(); names.len()];
    let len = net.plan.input_len();
    for img in 0..n {
        let x = &input[img * len..(img + 1) * len];
        forward_range(&ctx, &mut slot, x, img, 0..c.ops.len(), &mut timer);
        for (i, op) in c.ops.iter().enumerate() {
            for (name, src) in &op.names {
                let Some(at) = names.iter().position(|n| n == name) else {
                    continue;
                };
                match (src, &op.kind, &slot.aux[i]) {
                    (Src::Out, _, _) => data[at].extend_from_slice(&slot.outs[i]),
                    (Src::PoolPre, &Kind::Pool2Relu { c, h, w }, Aux::Codes(codes)) => {
                        let x_in: &[f32] = if i == 0 { x } else { &slot.outs[i - 1] };
                        data[at].extend(pooled_from_codes(x_in, c, h, w, codes));
                    }
                    (Src::TailRelu, _, Aux::Act(act)) => data[at].extend_from_slice(act),
                    _ => unreachable!("names are given where their buffers are"),
                }
            }
        }
        let logits = slot.outs.last().map_or(&[][..], |v| &v[..]);
        data[names.len() - 1].extend(log_softmax(logits));
    }
    let mut acts = Vec::with_capacity(names.len());
    let shapes: Vec<Vec<usize>> = net
        .plan
        .layers
        .iter()
        .filter(|l| l.act.is_some())
        .map(|l| l.output.dims())
        .chain(std::iter::once(vec![net.classes()]))
        .collect();
    for ((name, v), dims) in names.into_iter().zip(data).zip(shapes) {
        let mut shape = vec![n];
        shape.extend(dims);
        let a = ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| Error::shape(&name, e))?;
        acts.push((name, a));
    }
    Ok(Trace { acts })
}

/// Index of the largest value (the first on ties, as `torch.max`).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// The CPU backend (see the module docs).
pub struct CpuBackend {
    pool: rayon::ThreadPool,
    threads: usize,
    compiled: Option<Compiled>,
    workers: Vec<Worker>,
    grads: Vec<Vec<f32>>,
    /// Per dropout segment, the batch's masks.
    masks: Vec<Vec<f32>>,
    /// Per step, its 3x3 weights flipped for the input gradient (see [`flip_weights`]).
    flipped: Vec<Vec<f32>>,
    bn: Vec<BnStats>,
    profiling: bool,
}

impl std::fmt::Debug for CpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBackend {{ threads: {} }}", self.threads)
    }
}

impl CpuBackend {
    /// A CPU backend with `threads` worker threads (`None`: one per core).
    pub fn new(threads: Option<usize>) -> Result<CpuBackend> {
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("cnn-cpu-{i}"))
            .build()
            .map_err(|e| Error::thread(format!("{threads} CPU threads"), e))?;
        Ok(CpuBackend {
            pool,
            threads,
            compiled: None,
            workers: Vec::new(),
            grads: Vec::new(),
            masks: Vec::new(),
            flipped: Vec::new(),
            bn: Vec::new(),
            profiling: false,
        })
    }

    /// Worker threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Time every stage of every image from now on (see [`CpuBackend::profile`]), or
    /// stop; either way the times so far are cleared. Off by default: then no clock is
    /// read.
    pub fn set_profiling(&mut self, on: bool) {
        self.profiling = on;
        for w in &mut self.workers {
            w.timer.on = on;
            w.timer.nanos.fill(0);
        }
    }

    /// Seconds spent in each stage of the pass (each step forward, the loss, each step
    /// backward) since profiling was switched on, summed over the worker threads (so with
    /// 2 threads busy, twice the wall-clock time).
    pub fn profile(&self) -> Vec<(String, f64)> {
        let Some(c) = &self.compiled else {
            return Vec::new();
        };
        c.stages
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let ns: u64 = self.workers.iter().map(|w| w.timer.nanos[i]).sum();
                (name.clone(), ns as f64 * 1e-9)
            })
            .collect()
    }

    /// Compile the net's plan when it changed, and size the buffers.
    fn prepare(&mut self, net: &Net) {
        if self.compiled.as_ref().is_some_and(|c| c.plan == *net.plan) {
            return;
        }
        let c = Compiled::new(&net.plan);
        let sizes: Vec<usize> = net.params.iter().map(|p| p.data.len()).collect();
        self.workers = (0..self.threads)
            .map(|_| Worker::new(&c, &sizes, self.profiling))
            .collect();
        self.grads = sizes.iter().map(|&n| vec![0.0; n]).collect();
        self.masks = vec![Vec::new(); c.segs.len()];
        self.flipped = vec![Vec::new(); c.ops.len()];
        self.compiled = Some(c);
    }

    /// Split `n` images into one contiguous range per worker.
    fn ranges(&self, n: usize) -> Vec<std::ops::Range<usize>> {
        let per = n.div_ceil(self.threads);
        (0..self.threads)
            .map(|t| (t * per).min(n)..((t + 1) * per).min(n))
            .collect()
    }

    /// Draw the batch's masks (each worker fills its own images' part from its place in
    /// the stream; see [`MaskStream`]), so they are the same as drawn in one sequence.
    fn draw_masks(&mut self, rng: &mut ChaCha8Rng, n: usize, ranges: &[std::ops::Range<usize>]) {
        let Some(c) = &self.compiled else { return };
        let units: Vec<usize> = c.segs.iter().map(|s| s.0).collect();
        let stream = MaskStream::take(rng, n, &units);
        let segs = c.segs.clone();
        for (m, &(u, _)) in self.masks.iter_mut().zip(&segs) {
            m.resize(n * u, 0.0);
        }
        let mut parts: Vec<Vec<&mut [f32]>> = (0..ranges.len()).map(|_| Vec::new()).collect();
        for (m, &(u, _)) in self.masks.iter_mut().zip(&segs) {
            for (t, piece) in split_by_ranges(m, ranges, u).into_iter().enumerate() {
                parts[t].push(piece);
            }
        }
        self.pool.install(|| {
            use rayon::prelude::*;
            parts
                .into_par_iter()
                .zip(ranges.to_vec())
                .for_each(|(pieces, r)| {
                    for (seg, piece) in pieces.into_iter().enumerate() {
                        stream.fill(seg, r.start, piece, segs[seg].1);
                    }
                });
        });
    }

    fn run_batch(
        &mut self,
        net: &mut Net,
        input: &[f32],
        targets: Option<&[usize]>,
        dropout: Option<&mut ChaCha8Rng>,
        backward: bool,
    ) -> Result<usize> {
        let n = super::check_input(net, input, targets)?;
        self.prepare(net);
        let ranges = self.ranges(n);
        let train = dropout.is_some();
        if let Some(rng) = dropout {
            self.draw_masks(rng, n, &ranges);
        }
        let Some(c) = self.compiled.take() else {
            unreachable!("prepare compiles the plan")
        };
        if backward {
            for (i, op) in c.ops.iter().enumerate() {
                if let Kind::Conv3 { cin, cout, .. } = op.kind {
                    if !op.first {
                        let f = &mut self.flipped[i];
                        f.resize(cout * cin * 9, 0.0);
                        flip_weights(&net.params[op.tensors[0]].data, cout, cin, f);
                    }
                }
            }
        }
        for w in &mut self.workers {
            w.reset();
        }
        let result = if train && !c.bns.is_empty() {
            self.run_synced(&c, net, input, targets, n, &ranges, backward)
        } else {
            self.bn = eval_stats(&c, net);
            self.run_per_image(&c, net, input, targets, n, &ranges, train, backward);
            Ok(())
        };
        self.compiled = Some(c);
        result.map(|_| n)
    }

    /// Every image forward and straight back on its thread (no batch norm in training).
    #[allow(clippy::too_many_arguments)]
    fn run_per_image(
        &mut self,
        c: &Compiled,
        net: &Net,
        input: &[f32],
        targets: Option<&[usize]>,
        n: usize,
        ranges: &[std::ops::Range<usize>],
        train: bool,
        backward: bool,
    ) {
        let ctx = Ctx {
            c,
            net,
            flipped: &self.flipped,
            masks: &self.masks,
            bn: &self.bn,
            train,
            batch: n,
        };
        let len = c.plan.input_len();
        let all = c.ops.len();
        self.pool.install(|| {
            use rayon::prelude::*;
            self.workers
                .par_iter_mut()
                .zip(ranges.to_vec())
                .for_each(|(w, r)| {
                    w.slots.truncate(1);
                    let mut slot = w.slots.pop().unwrap_or_else(|| Slot::new(c));
                    for img in r {
                        let x = &input[img * len..(img + 1) * len];
                        w.timer.start();
                        forward_range(&ctx, &mut slot, x, img, 0..all, &mut w.timer);
                        let target = targets.map(|t| t[img]);
                        image_loss(&ctx, &mut slot, target, w);
                        w.timer.lap(c.stage_loss());
                        if backward && target.is_some() {
                            let mut timer = std::mem::take(&mut w.timer);
                            backward_range(
                                &ctx,
                                &mut slot,
                                x,
                                img,
                                0..all,
                                &mut w.grads,
                                &mut timer,
                            );
                            w.timer = timer;
                        }
                    }
                    w.slots.push(slot);
                });
        });
    }

    /// Training with batch norm: every image through the steps up to a batch norm, the
    /// batch statistics (and the running statistics updated), on to the next; backward the
    /// same way with the sums of each batch norm's gradients between.
    #[allow(clippy::too_many_arguments)]
    fn run_synced(
        &mut self,
        c: &Compiled,
        net: &mut Net,
        input: &[f32],
        targets: Option<&[usize]>,
        n: usize,
        ranges: &[std::ops::Range<usize>],
        backward: bool,
    ) -> Result<()> {
        let len = c.plan.input_len();
        for (w, r) in self.workers.iter_mut().zip(ranges) {
            if w.slots.len() < r.len() {
                w.slots.resize_with(r.len(), || Slot::new(c));
            }
        }
        self.bn = c
            .bns
            .iter()
            .map(|&(_, ch)| BnStats {
                mean: vec![0.0; ch],
                inv_std: vec![1.0; ch],
                sums: vec![0.0; 2 * ch],
                count: 0,
            })
            .collect();
        // forward, one range of steps at a time
        let mut start = 0;
        for b in 0..c.bns.len() {
            let (op, ch) = c.bns[b];
            self.each_image(c, net, input, n, ranges, |ctx, slot, x, img, w| {
                forward_range(ctx, slot, x, img, start..op, &mut w.timer);
            });
            // the batch statistics of the batch norm's input, in two sweeps (mean, then
            // the squared deviations from it)
            let hw = c.ops[op].in_len / ch;
            let count = n * hw;
            // each worker sums its own images (in parallel), the partial sums are added in
            // worker order
            let sum = self.bn_partials(input, len, ranges, op, ch, |xi, _, out| {
                layers::bn_sums(xi, ch, None, out);
            });
            let mean: Vec<f32> = sum.iter().map(|s| (s / count as f64) as f32).collect();
            let sq = self.bn_partials(input, len, ranges, op, ch, |xi, _, out| {
                layers::bn_sums(xi, ch, Some(&mean), out);
            });
            let var: Vec<f32> = sq.iter().map(|s| (s / count as f64) as f32).collect();
            // the running statistics (PyTorch: the unbiased variance)
            let t = &c.ops[op].tensors;
            let unbias = count as f32 / (count.max(2) - 1) as f32;
            for ci in 0..ch {
                let rm = &mut net.params[t[2]].data[ci];
                *rm = (1.0 - BN_MOMENTUM) * *rm + BN_MOMENTUM * mean[ci];
                let rv = &mut net.params[t[3]].data[ci];
                *rv = (1.0 - BN_MOMENTUM) * *rv + BN_MOMENTUM * var[ci] * unbias;
            }
            if let Some(nbt) = t.get(4) {
                net.params[*nbt].data[0] += 1.0;
            }
            self.bn[b] = BnStats {
                inv_std: layers::bn_inv_std(&var),
                mean,
                sums: vec![0.0; 2 * ch],
                count,
            };
            start = op;
        }
        let all = c.ops.len();
        self.each_image(c, net, input, n, ranges, |ctx, slot, x, img, w| {
            forward_range(ctx, slot, x, img, start..all, &mut w.timer);
            image_loss(ctx, slot, targets.map(|t| t[img]), w);
        });
        if !backward || targets.is_none() {
            return Ok(());
        }
        // backward, from the last step down to each batch norm
        let mut end = all;
        for b in (0..c.bns.len()).rev() {
            let (op, ch) = c.bns[b];
            self.each_image(c, net, input, n, ranges, |ctx, slot, x, img, w| {
                let mut timer = std::mem::take(&mut w.timer);
                backward_range(ctx, slot, x, img, op + 1..end, &mut w.grads, &mut timer);
                w.timer = timer;
            });
            let st = self.bn[b].clone();
            let sums = self.bn_partials(input, len, ranges, op, 2 * ch, |xi, slot, out| {
                let dout: &[f32] = if op == all - 1 {
                    &slot.dlogits
                } else {
                    &slot.dins[op + 1]
                };
                layers::bn_grad_sums(dout, xi, &st.mean, &st.inv_std, out);
            });
            let t = &c.ops[op].tensors;
            for ci in 0..ch {
                self.grads[t[1]][ci] += sums[ci] as f32;
                self.grads[t[0]][ci] += sums[ch + ci] as f32;
            }
            self.bn[b].sums = sums;
            end = op + 1;
        }
        self.each_image(c, net, input, n, ranges, |ctx, slot, x, img, w| {
            let mut timer = std::mem::take(&mut w.timer);
            backward_range(ctx, slot, x, img, 0..end, &mut w.grads, &mut timer);
            w.timer = timer;
        });
        Ok(())
    }

    /// Per worker, in parallel, `f`'s sums (`n` of them) over its images, from each image's
    /// input to step `op` (and its slot); the workers' sums added in worker order.
    #[allow(clippy::too_many_arguments)]
    fn bn_partials<F>(
        &self,
        input: &[f32],
        len: usize,
        ranges: &[std::ops::Range<usize>],
        op: usize,
        n: usize,
        f: F,
    ) -> Vec<f64>
    where
        F: Fn(&[f32], &Slot, &mut [f64]) + Sync,
    {
        let parts: Vec<Vec<f64>> = self.pool.install(|| {
            use rayon::prelude::*;
            self.workers
                .par_iter()
                .zip(ranges.to_vec())
                .map(|(w, r)| {
                    let mut out = vec![0.0f64; n];
                    for (slot, img) in w.slots.iter().zip(r) {
                        let xi: &[f32] = if op == 0 {
                            &input[img * len..(img + 1) * len]
                        } else {
                            &slot.outs[op - 1]
                        };
                        f(xi, slot, &mut out);
                    }
                    out
                })
                .collect()
        });
        let mut total = vec![0.0f64; n];
        for p in parts {
            for (t, v) in total.iter_mut().zip(p) {
                *t += v;
            }
        }
        total
    }

    /// Run `f` on every image of the batch, each worker on its own images (their slots).
    #[allow(clippy::too_many_arguments)]
    fn each_image<F>(
        &mut self,
        c: &Compiled,
        net: &Net,
        input: &[f32],
        n: usize,
        ranges: &[std::ops::Range<usize>],
        f: F,
    ) where
        F: Fn(&Ctx<'_>, &mut Slot, &[f32], usize, &mut Worker) + Sync,
    {
        let ctx = Ctx {
            c,
            net,
            flipped: &self.flipped,
            masks: &self.masks,
            bn: &self.bn,
            train: true,
            batch: n,
        };
        let len = c.plan.input_len();
        self.pool.install(|| {
            use rayon::prelude::*;
            self.workers
                .par_iter_mut()
                .zip(ranges.to_vec())
                .for_each(|(w, r)| {
                    let mut slots = std::mem::take(&mut w.slots);
                    for (slot, img) in slots.iter_mut().zip(r) {
                        f(&ctx, slot, &input[img * len..(img + 1) * len], img, w);
                    }
                    w.slots = slots;
                });
        });
    }
}

/// One slice of `buf` per range (`unit` floats per image), empty ones too.
fn split_by_ranges<'a>(
    buf: &'a mut [f32],
    ranges: &[std::ops::Range<usize>],
    unit: usize,
) -> Vec<&'a mut [f32]> {
    let mut rest = buf;
    ranges
        .iter()
        .map(|r| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(r.len() * unit);
            rest = tail;
            head
        })
        .collect()
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        format!("cpu ({} threads)", self.threads)
    }

    fn forward_backward(
        &mut self,
        net: &mut Net,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats> {
        // the batch norm sums were added to `self.grads` directly; the rest per worker
        for g in &mut self.grads {
            g.fill(0.0);
        }
        let n = self.run_batch(net, input, Some(targets), dropout, true)?;
        for (i, g) in self.grads.iter_mut().enumerate() {
            for w in &self.workers {
                for (a, b) in g.iter_mut().zip(&w.grads[i]) {
                    *a += *b;
                }
            }
        }
        let loss: f64 = self.workers.iter().map(|w| w.loss_sum).sum();
        Ok(BatchStats {
            loss: (loss / n as f64) as f32,
            correct: self.workers.iter().map(|w| w.correct).sum(),
            images: n,
        })
    }

    fn grads(&self) -> &[Vec<f32>] {
        &self.grads
    }

    fn predict(&mut self, net: &Net, input: &[f32]) -> Result<Array2<f32>> {
        // eval mode changes nothing in the net; the copy's buffers are not kept
        let mut net = net.clone();
        let n = self.run_batch(&mut net, input, None, None, false)?;
        let k = net.classes();
        let mut out = Vec::with_capacity(n * k);
        for w in &self.workers {
            out.extend_from_slice(&w.log_probs);
        }
        Array2::from_shape_vec((n, k), out).map_err(|e| Error::shape("predict", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::dropout::fill_mask;
    use crate::nn::net::{C3, DROP2D_P, DROP_P, FC_IN, IN_LEN};
    use rand::{Rng, SeedableRng};

    #[test]
    fn masks_drawn_by_the_workers_equal_one_sequence() {
        let mut net = Net::course(3, 3);
        for (threads, n) in [(1, 3), (2, 5), (3, 5), (2, 1)] {
            let input = vec![0.1f32; n * IN_LEN];
            let targets: Vec<usize> = (0..n).map(|i| i % 3).collect();
            let mut be = CpuBackend::new(Some(threads)).expect("threads");
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            be.run_batch(&mut net, &input, Some(&targets), Some(&mut rng), true)
                .expect("batch");
            let mut seq = ChaCha8Rng::seed_from_u64(9);
            let mut ch = vec![0.0; n * C3];
            let mut el = vec![0.0; n * FC_IN];
            fill_mask(&mut ch, DROP2D_P, &mut seq);
            fill_mask(&mut el, DROP_P, &mut seq);
            assert_eq!(be.masks[0], ch, "{threads} threads, {n} images");
            assert_eq!(be.masks[1], el, "{threads} threads, {n} images");
            assert_eq!(rng.gen::<u64>(), seq.gen::<u64>(), "generator position");
        }
    }

    #[test]
    fn the_course_net_compiles_to_todays_fused_steps() {
        let c = Compiled::new(&crate::nn::arch::Plan::course(3));
        let labels: Vec<&str> = c.ops.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "conv1",
                "pool1+relu1",
                "conv2",
                "pool2+relu2",
                "conv3",
                "dropout2d+relu3+dropout+fc"
            ]
        );
        assert!(matches!(c.ops[0].kind, Kind::Conv3 { .. }));
        // six steps forward, the loss, six back (conv2 and conv3 with an input gradient too)
        assert_eq!(c.stages.len(), 6 + 1 + 6 + 2);
        assert_eq!(c.stages[c.stage_backward(4)], "conv3 weight grad");
        assert_eq!(c.stages[c.stage_backward(4) + 1], "conv3 input grad");
        assert_eq!(c.stages[c.stage_backward(0)], "conv1 weight grad");
    }
}
