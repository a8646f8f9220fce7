//! One image's pass through the compiled steps: its buffers ([`Slot`]), forward and
//! backward per step, the loss.

use super::*;

/// Time spent per stage when profiling is on (off: no clock is read).
#[derive(Debug, Default, Clone)]
pub(super) struct StageTimer {
    pub(super) on: bool,
    pub(super) last: Option<std::time::Instant>,
    pub(super) nanos: Vec<u64>,
}

impl StageTimer {
    /// Start timing the next stage.
    #[inline]
    pub(super) fn start(&mut self) {
        if self.on {
            self.last = Some(std::time::Instant::now());
        }
    }

    /// The stage `i` ends here; the next one starts.
    #[inline]
    pub(super) fn lap(&mut self, i: usize) {
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
pub(super) enum Aux {
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
pub(super) struct Slot {
    pub(super) outs: Vec<Vec<f32>>,
    /// `dins[i]`: d loss / d input of step `i` (empty for the first step).
    pub(super) dins: Vec<Vec<f32>>,
    pub(super) aux: Vec<Aux>,
    /// d loss / d logits.
    pub(super) dlogits: Vec<f32>,
    /// Scratch: the padded output gradient (3x3) or the unfolded input gradient (GEMM).
    pub(super) scratch: Vec<f32>,
    /// The fused tail's element mask of this image, drawn where it is applied.
    pub(super) tail_mask: Vec<f32>,
    /// The fused tail's dot products in progress: per class, eight lanes and the rest.
    pub(super) dots: Vec<([f32; 8], f32)>,
}

impl Slot {
    /// A slot with no buffers (a placeholder while the real one is in use).
    pub(super) fn empty() -> Slot {
        Slot {
            outs: Vec::new(),
            dins: Vec::new(),
            aux: Vec::new(),
            dlogits: Vec::new(),
            scratch: Vec::new(),
            tail_mask: Vec::new(),
            dots: Vec::new(),
        }
    }

    pub(super) fn new(c: &Compiled) -> Slot {
        let mut scratch = 0usize;
        let mut tail_mask = 0usize;
        let aux = c
            .ops
            .iter()
            .map(|o| match o.kind {
                Kind::Conv3 { cin, cout, h, w } => {
                    scratch = scratch
                        .max(padded_len(cout, h, w))
                        .max(weight_grad_scratch(cout, h, w));
                    Aux::Padded(vec![0.0; padded_len(cin, h, w)])
                }
                Kind::Conv { g, cout, direct } => {
                    scratch = scratch.max(if direct {
                        directk::scratch_len(&g, cout)
                    } else {
                        2 * kernels::tiled_scratch(&g)
                    });
                    if direct {
                        // the padded input, from the forward to the weight gradient
                        Aux::Padded(vec![
                            0.0;
                            directk::phased_len(g.c, g.h, g.w, g.pad, g.stride)
                        ])
                    } else {
                        Aux::None
                    }
                }
                Kind::Pool2Relu { .. } => Aux::Codes(vec![0; o.out_len]),
                Kind::MaxPool { .. } => Aux::Args(vec![0; o.out_len]),
                Kind::Tail { c, hw, el, .. } => {
                    if el.is_some() {
                        tail_mask = c * hw;
                    }
                    Aux::Act(vec![0.0; c * hw])
                }
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
            tail_mask: vec![0.0; tail_mask],
            dots: vec![([0.0; 8], 0.0); c.plan.classes],
        }
    }
}

/// Batch norm's statistics for this batch: per channel mean and 1/sqrt(var + eps), and
/// the backward pass's sums of dy and dy * xhat.
#[derive(Debug, Clone, Default)]
pub(super) struct BnStats {
    pub(super) mean: Vec<f32>,
    pub(super) inv_std: Vec<f32>,
    pub(super) sums: Vec<f64>,
    /// Values per channel over the batch (images x h x w).
    pub(super) count: usize,
}

/// What every step reads: the net, the flipped 3x3 weights, the masks, the batch
/// statistics, and whether the net is training.
pub(super) struct Ctx<'a> {
    pub(super) c: &'a Compiled,
    pub(super) net: &'a Net,
    pub(super) flipped: &'a [Vec<f32>],
    pub(super) masks: &'a [Vec<f32>],
    /// Where the batch's masks lie in the generator's stream, for the masks drawn where
    /// they are applied (the fused tail's element dropout); `None` outside training.
    pub(super) stream: Option<&'a MaskStream>,
    pub(super) bn: &'a [BnStats],
    /// Training mode: masks applied, batch norm on batch statistics.
    pub(super) train: bool,
    /// Images in the whole batch (the loss is their mean).
    pub(super) batch: usize,
}

impl Ctx<'_> {
    pub(super) fn w(&self, op: &Op, i: usize) -> &[f32] {
        &self.net.params[op.tensors[i]].data
    }

    /// The mask values of segment `seg` for image `img` of the batch.
    pub(super) fn mask(&self, seg: usize, img: usize) -> &[f32] {
        let units = self.c.segs[seg].0;
        &self.masks[seg][img * units..(img + 1) * units]
    }
}

/// Buffers and sums of one thread: its images' slots, its gradient sums, its share of the
/// loss and the log-probabilities of its images.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) slots: Vec<Slot>,
    pub(super) grads: Vec<Vec<f32>>,
    pub(super) loss_sum: f64,
    pub(super) correct: usize,
    /// log-probabilities of the images this worker handled, [images, classes] row-major.
    pub(super) log_probs: Vec<f32>,
    pub(super) timer: StageTimer,
}

impl Worker {
    pub(super) fn new(c: &Compiled, sizes: &[usize], profiling: bool) -> Worker {
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

    pub(super) fn reset(&mut self) {
        for g in &mut self.grads {
            g.fill(0.0);
        }
        self.loss_sum = 0.0;
        self.correct = 0;
        self.log_probs.clear();
    }
}

/// Steps `ops` of one image forward. `x`: the image; `img`: its index in the batch.
pub(super) fn forward_range(
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
            (
                Kind::Conv {
                    g, direct: true, ..
                },
                Aux::Padded(xp),
            ) => {
                let (w, b) = (ctx.w(op, 0), ctx.w(op, 1));
                directk::forward(input, g, w, Some(b), xp, &mut slot.scratch, out);
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
                let (mask, dots) = (&mut slot.tail_mask, &mut slot.dots);
                let fc = (ctx.w(op, 0), ctx.w(op, 1));
                tail_forward(ctx, img, input, (c, hw, ch, el), act, mask, dots, fc, out);
            }
            _ => unreachable!("each step has the buffers Slot::new gave it"),
        }
        timer.lap(ctx.c.stage_forward(i));
    }
}

/// The fused tail forward: `act = relu(x * channel mask) * element mask` (masks only
/// while training; the element mask drawn here from the batch's stream into `mask`), and
/// the logits `out[j] = fc_w[j] . act + fc_b[j]`, block by block while the block of `act`
/// is in the L1 cache. The sums are [`kernels::dot`]'s, in its order: eight lanes over the whole
/// vector, then the rest.
#[allow(clippy::too_many_arguments)]
pub(super) fn tail_forward(
    ctx: &Ctx<'_>,
    img: usize,
    x: &[f32],
    (c, hw, ch, el): (usize, usize, Option<usize>, Option<usize>),
    act: &mut [f32],
    mask: &mut [f32],
    dots: &mut [([f32; 8], f32)],
    (fcw, fcb): (&[f32], &[f32]),
    out: &mut [f32],
) {
    let n = c * hw;
    let chm = ch.filter(|_| ctx.train).map(|s| ctx.mask(s, img));
    let elm: Option<&[f32]> = match (el.filter(|_| ctx.train), ctx.stream) {
        (Some(s), Some(stream)) => {
            stream.fill(s, img, &mut mask[..n], ctx.c.segs[s].1);
            Some(&mask[..n])
        }
        _ => None,
    };
    crate::nn::simd::widest(
        #[inline(always)]
        || {
            dots.fill(([0.0; 8], 0.0));
            const BLOCK: usize = 1024;
            let full = n / 8 * 8;
            for b0 in (0..n).step_by(BLOCK) {
                let b1 = (b0 + BLOCK).min(n);
                // the block's activations, channel piece by channel piece
                let mut i = b0;
                while i < b1 {
                    let ci = i / hw;
                    let end = ((ci + 1) * hw).min(b1);
                    let s = chm.map_or(1.0, |m| m[ci]);
                    let (xr, ar) = (&x[i..end], &mut act[i..end]);
                    match elm {
                        Some(e) => {
                            for ((a, &z), &m) in ar.iter_mut().zip(xr).zip(&e[i..end]) {
                                *a = (z * s).max(0.0) * m;
                            }
                        }
                        None => {
                            for (a, &z) in ar.iter_mut().zip(xr) {
                                *a = (z * s).max(0.0);
                            }
                        }
                    }
                    i = end;
                }
                // every class's sums over the block, up to four classes side by side
                // (independent sums: one pass over the block, no class waiting on
                // another's additions)
                let (v0, v1) = (b0, b1.min(full));
                for (g, group) in dots.chunks_mut(DOT_GROUP).enumerate() {
                    let j0 = g * DOT_GROUP;
                    if v0 < v1 {
                        let span = (&act[v0..v1], fcw, n, j0, v0);
                        match group.len() {
                            4 => dot_lanes::<4>(span, group),
                            3 => dot_lanes::<3>(span, group),
                            2 => dot_lanes::<2>(span, group),
                            _ => dot_lanes::<1>(span, group),
                        }
                    }
                    for (jg, (_, rest)) in group.iter_mut().enumerate() {
                        let w = &fcw[(j0 + jg) * n..(j0 + jg + 1) * n];
                        for k in b0.max(full)..b1 {
                            *rest += act[k] * w[k];
                        }
                    }
                }
            }
            for ((o, (a, rest)), &b) in out.iter_mut().zip(dots.iter()).zip(fcb) {
                let s0 = (a[0] + a[4]) + (a[1] + a[5]);
                let s1 = (a[2] + a[6]) + (a[3] + a[7]);
                *o = s0 + s1 + rest + b;
            }
        },
    );
}

/// How many classes' sums [`tail_forward`] keeps side by side.
const DOT_GROUP: usize = 4;

/// Adds `xs . w_j` (the weights of class `j0 + g` from position `v0`) to the eight lanes of
/// each of the `G` classes of `group`, in [`kernels::dot`]'s order for each class: lane
/// `l` takes `x[8k + l] * w[8k + l]` for k = 0, 1, ... `xs.len()` is a multiple of 8.
#[inline(always)]
fn dot_lanes<const G: usize>(
    (xs, fcw, n, j0, v0): (&[f32], &[f32], usize, usize, usize),
    group: &mut [([f32; 8], f32)],
) {
    let len = xs.len();
    let ws: [&[f32]; G] = std::array::from_fn(|g| &fcw[(j0 + g) * n + v0..][..len]);
    let mut acc: [[f32; 8]; G] = std::array::from_fn(|g| group[g].0);
    for k in (0..len).step_by(8) {
        let x = &xs[k..k + 8];
        for g in 0..G {
            let w = &ws[g][k..k + 8];
            for l in 0..8 {
                acc[g][l] += x[l] * w[l];
            }
        }
    }
    for (d, a) in group.iter_mut().zip(acc) {
        d.0 = a;
    }
}

/// The loss of one image from its logits: adds to the worker's sums and log-probabilities,
/// and fills `slot.dlogits` (d mean loss / d logits) when `target` is given.
pub(super) fn image_loss(ctx: &Ctx<'_>, slot: &mut Slot, target: Option<usize>, w: &mut Worker) {
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
pub(super) fn backward_range(
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
                conv3x3_weight_grad(xp, cin, h, w, dout, cout, dw, db, &mut slot.scratch);
                timer.lap(stage);
                if !op.first {
                    let dp = &mut slot.scratch[..padded_len(cout, h, w)];
                    pad1(dout, cout, h, w, dp);
                    conv3x3_forward(dp, cout, h, w, &ctx.flipped[i], None, cin, dx);
                    timer.lap(stage + 1);
                }
                continue;
            }
            (
                Kind::Conv {
                    g, direct: true, ..
                },
                Aux::Padded(xp),
            ) => {
                // the input as the forward padded it
                let (dw, db) = two(grads, g0, g1);
                directk::weight_grad_padded(dout, xp, g, dw, db, &mut slot.scratch);
                timer.lap(stage);
                if !op.first {
                    let w = (ctx.w(op, 0), &ctx.flipped[i][..]);
                    directk::input_grad(dout, g, w, &mut slot.scratch, dx);
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
                batch_norm_backward(ctx, op, bn, (dout, input), grads, dx);
            }
            (&Kind::Dropout2d { c, .. }, _) if !op.first => {
                dropout_backward(ctx, op, img, c, dout, dx);
            }
            (Kind::Dropout { .. }, _) if !op.first => {
                dropout_backward(ctx, op, img, 1, dout, dx);
            }
            (Kind::Dropout2d { .. } | Kind::Dropout { .. }, _) => {}
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
                tail_backward(ctx, img, op, (c, hw, ch, el), (act, dout), grads, dx);
            }
            _ => unreachable!("each step has the buffers Slot::new gave it"),
        }
        timer.lap(stage);
    }
}

/// Batch norm backward for one image: in training mode the input gradient from the
/// batch's sums (its parameters' gradients come from those sums, once per batch); with
/// fixed statistics the images do not meet, so this image's sums give the parameters'
/// gradients here.
fn batch_norm_backward(
    ctx: &Ctx<'_>,
    op: &Op,
    bn: usize,
    (dout, input): (&[f32], &[f32]),
    grads: &mut [Vec<f32>],
    dx: &mut [f32],
) {
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
        return;
    }
    let c = st.mean.len();
    let mut sums = vec![0.0f64; 2 * c];
    layers::bn_grad_sums(dout, input, &st.mean, &st.inv_std, &mut sums);
    let (dg, db) = two(grads, op.tensors[0], op.tensors[1]);
    for ci in 0..c {
        db[ci] += sums[ci] as f32;
        dg[ci] += sums[c + ci] as f32;
    }
    if !op.first {
        layers::bn_backward_eval(dout, &st.inv_std, gamma, dx);
    }
}

/// Dropout backward for one image: the gradient through the kept values, scaled as they
/// were (`Dropout2d`: the mask of each of `c` channels; `Dropout`: each value's); in eval
/// mode dropout was the identity.
fn dropout_backward(ctx: &Ctx<'_>, op: &Op, img: usize, c: usize, dout: &[f32], dx: &mut [f32]) {
    if !ctx.train {
        dx.copy_from_slice(dout);
        return;
    }
    match op.kind {
        Kind::Dropout2d { seg, .. } => {
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
        }
        Kind::Dropout { seg } => {
            for ((a, &b), &s) in dx.iter_mut().zip(dout).zip(ctx.mask(seg, img)) {
                *a = b * s;
            }
        }
        _ => unreachable!("called for the dropouts only"),
    }
}

/// The fused tail backward: the linear layer's gradients, then through the element
/// dropout, the ReLU and the channel dropout: `dx = dact * e * [x * s > 0] * s`, block by
/// block in one pass. The element mask is not read back: `act` > 0 exactly where the ReLU
/// let the value through and the mask kept it, and a kept value's mask is `keep_scale(p)`.
pub(super) fn tail_backward(
    ctx: &Ctx<'_>,
    img: usize,
    op: &Op,
    (c, hw, ch, el): (usize, usize, Option<usize>, Option<usize>),
    (act, dl): (&[f32], &[f32]),
    grads: &mut [Vec<f32>],
    dx: &mut [f32],
) {
    let n = c * hw;
    let fcw = ctx.w(op, 0);
    let (gi, bi) = (op.tensors[0], op.tensors[1]);
    for (j, &d) in dl.iter().enumerate() {
        grads[bi][j] += d;
    }
    let chm = ch.filter(|_| ctx.train).map(|s| ctx.mask(s, img));
    let keep = el
        .filter(|_| ctx.train)
        .map_or(1.0, |s| keep_scale(ctx.c.segs[s].1));
    let gw = &mut grads[gi][..dl.len() * n];
    crate::nn::simd::widest(
        #[inline(always)]
        || {
            const BLOCK: usize = 1024;
            for b0 in (0..n).step_by(BLOCK) {
                let b1 = (b0 + BLOCK).min(n);
                let (a, d) = (&act[b0..b1], &mut dx[b0..b1]);
                d.fill(0.0);
                for (j, &dj) in dl.iter().enumerate() {
                    let g = &mut gw[j * n + b0..j * n + b1];
                    for (g, &v) in g.iter_mut().zip(a) {
                        *g += dj * v;
                    }
                    for (o, &w) in d.iter_mut().zip(&fcw[j * n + b0..j * n + b1]) {
                        *o += dj * w;
                    }
                }
                let mut i = b0;
                while i < b1 {
                    let ci = i / hw;
                    let end = ((ci + 1) * hw).min(b1);
                    let s = chm.map_or(1.0, |m| m[ci]);
                    for (o, &v) in dx[i..end].iter_mut().zip(&act[i..end]) {
                        // `if v > 0 { o * keep * s } else { 0 }` as a bit mask: dropout
                        // makes the branch a coin toss, and without AVX-512's masked
                        // stores the compiler kept it a branch
                        let keep_bits = u32::from(v > 0.0).wrapping_neg();
                        *o = f32::from_bits((*o * keep * s).to_bits() & keep_bits);
                    }
                    i = end;
                }
            }
        },
    );
}

/// Two distinct gradient tensors, mutably.
pub(super) fn two(grads: &mut [Vec<f32>], a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    debug_assert!(a < b);
    let (head, tail) = grads.split_at_mut(b);
    (&mut head[a], &mut tail[0])
}

/// log_softmax of one row of logits, stably (as the eval forward gives it).
pub(super) fn log_softmax(logits: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let m = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let lse = logits.iter().map(|&v| (v - m).exp()).sum::<f32>().ln() + m;
    logits.iter().map(move |&v| v - lse)
}

/// The pooled map (before the ReLU) from the pool's input `x` [c, h, w] and the window
/// codes [`pool2_relu_forward`] recorded: each output is the input its code names.
pub(super) fn pooled_from_codes(x: &[f32], c: usize, h: usize, w: usize, code: &[u8]) -> Vec<f32> {
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
pub(super) fn eval_stats(c: &Compiled, net: &Net) -> Vec<BnStats> {
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
