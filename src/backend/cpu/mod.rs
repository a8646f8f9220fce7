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
    conv3x3_forward, conv3x3_weight_grad, flip_weights, pad1, padded_len, pool2_relu_backward,
    pool2_relu_forward, weight_grad_scratch,
};
use crate::nn::directk;
use crate::nn::dropout::{keep_scale, MaskStream};
use crate::nn::kernels::{self, ConvGeom};
use crate::nn::layers::{self, Act};
use crate::nn::net::{Net, Trace};
use crate::{Error, Result};

mod compile;
mod explain;
mod steps;

pub use explain::{score_gradients, ScoreGrads};

use compile::*;
use steps::*;

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
        stream: None,
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
    /// Per dropout segment, the batch's masks (empty for those drawn where they are
    /// applied).
    masks: Vec<Vec<f32>>,
    /// Where this training batch's masks lie in the generator's stream.
    stream: Option<MaskStream>,
    /// Per step, its direct convolution's weights flipped for the input gradient ([`flip_into`]).
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
    /// A CPU backend with `threads` worker threads (`None`: one per core), at most one per
    /// core: a batch is split into one contiguous range of images per thread (so that the
    /// sums are the same from run to run), and more threads than cores would leave some
    /// ranges waiting for a core at the end of every batch (measured on 2 cores: 3
    /// threads 11% slower than 2, 4 and 8 threads 9%).
    pub fn new(threads: Option<usize>) -> Result<CpuBackend> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = threads.unwrap_or(cores).clamp(1, cores);
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
            stream: None,
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

    /// Seconds each worker thread spent in the stages since profiling was switched on (see
    /// [`CpuBackend::profile`]): their spread against the wall-clock time shows an idle
    /// tail.
    pub fn thread_busy(&self) -> Vec<f64> {
        self.workers
            .iter()
            .map(|w| w.timer.nanos.iter().sum::<u64>() as f64 * 1e-9)
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
        let at_use = c.drawn_at_use();
        for ((m, &(u, _)), &later) in self.masks.iter_mut().zip(&segs).zip(&at_use) {
            m.resize(if later { 0 } else { n * u }, 0.0);
        }
        let mut parts: Vec<Vec<&mut [f32]>> = (0..ranges.len()).map(|_| Vec::new()).collect();
        for ((m, &(u, _)), &later) in self.masks.iter_mut().zip(&segs).zip(&at_use) {
            if later {
                parts.iter_mut().for_each(|p| p.push(&mut []));
                continue;
            }
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
                        if !piece.is_empty() {
                            stream.fill(seg, r.start, piece, segs[seg].1);
                        }
                    }
                });
        });
        self.stream = Some(stream);
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
        self.stream = None;
        if let Some(rng) = dropout {
            self.draw_masks(rng, n, &ranges);
        }
        let Some(c) = self.compiled.take() else {
            unreachable!("prepare compiles the plan")
        };
        if backward {
            for (i, op) in c.ops.iter().enumerate() {
                if let (false, Some(&t)) = (op.first, op.tensors.first()) {
                    flip_into(&op.kind, &net.params[t].data, &mut self.flipped[i]);
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
            stream: self.stream.as_ref(),
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
                    // the first slot serves every image here; the others (a batch norm
                    // network's, while training) are kept for the next training batch
                    if w.slots.is_empty() {
                        w.slots.push(Slot::new(c));
                    }
                    let mut slot = std::mem::replace(&mut w.slots[0], Slot::empty());
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
                    w.slots[0] = slot;
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
            stream: self.stream.as_ref(),
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

/// A direct convolution's weights `w` flipped for its input gradient into `f` (the 3x3
/// kernels' [`flip_weights`] or [`directk::flip_weights`]); other steps leave `f` as it is.
fn flip_into(kind: &Kind, w: &[f32], f: &mut Vec<f32>) {
    match *kind {
        Kind::Conv3 { cin, cout, .. } => {
            f.resize(cout * cin * 9, 0.0);
            flip_weights(w, cout, cin, f);
        }
        Kind::Conv {
            g,
            cout,
            direct: true,
        } if g.stride == 1 => {
            // (a larger stride's input gradient is the GEMM's, on the weights as they are)
            f.resize(w.len(), 0.0);
            directk::flip_weights(w, cout, g.c, g.kh, f);
        }
        _ => {}
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
            // the element masks are drawn in the tail, image by image: each worker keeps
            // the last one it drew
            assert!(be.masks[1].is_empty());
            for (w, r) in be.workers.iter().zip(be.ranges(n)) {
                if let Some(last) = r.clone().last() {
                    let want = &el[last * FC_IN..(last + 1) * FC_IN];
                    assert_eq!(
                        w.slots[0].tail_mask, want,
                        "{threads} threads, image {last}"
                    );
                }
            }
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
