//! The CPU backend: direct 3x3 convolutions (AVX-512 or AVX2 chosen at run time, see
//! [`crate::nn::direct`]), fused max-pool + ReLU, the batch split across a rayon pool, one
//! workspace per thread reused across batches (a batch allocates only a few small
//! vectors). `CpuBackend::set_profiling` times every stage of the pass.
//!
//! Each image is pushed forward and straight back (its loss is independent of the others),
//! so a thread only ever holds one image's activations; gradients are summed per thread
//! and then across threads.

use ndarray::{Array2, Array4};
use rand_chacha::ChaCha8Rng;

use super::{Backend, BatchStats};
use crate::nn::direct::{
    conv3x3_forward, conv3x3_weight_grad, flip_weights, pad1, pool2_relu_backward,
    pool2_relu_forward,
};
use crate::nn::dropout::MaskStream;
use crate::nn::kernels::dot;
use crate::nn::net::{
    idx, ShapesNet, Trace, C1, C2, C3, DROP2D_P, DROP_P, FC_IN, IMAGE_SIDE as S0, IN_CHANNELS,
    IN_LEN, POOL1_SIDE as S1, POOL2_SIDE as S2,
};
use crate::{Error, Result};

/// conv2 and conv3 weights flipped for the input-gradient pass (see [`flip_weights`]).
#[derive(Debug, Default)]
struct Flipped {
    w2: Vec<f32>,
    w3: Vec<f32>,
}

impl Flipped {
    fn update(&mut self, net: &ShapesNet) {
        self.w2.resize(C2 * C1 * 9, 0.0);
        self.w3.resize(C3 * C2 * 9, 0.0);
        flip_weights(&net.params[idx::CONV2_W].data, C2, C1, &mut self.w2);
        flip_weights(&net.params[idx::CONV3_W].data, C3, C2, &mut self.w3);
    }
}

/// Stages of one image's pass that [`CpuBackend::set_profiling`] times, in order.
pub const STAGES: [&str; 15] = [
    "conv1 forward",
    "pool1+relu forward",
    "conv2 forward",
    "pool2+relu forward",
    "conv3 forward",
    "dropout+relu+fc forward",
    "loss",
    "fc backward+dropout",
    "conv3 weight grad",
    "conv3 input grad",
    "pool2+relu backward",
    "conv2 weight grad",
    "conv2 input grad",
    "pool1+relu backward",
    "conv1 weight grad",
];

/// Time spent per stage when profiling is on (off: no clock is read).
#[derive(Debug, Default)]
struct StageTimer {
    on: bool,
    last: Option<std::time::Instant>,
    nanos: [u64; STAGES.len()],
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
                self.nanos[i] += (now - t).as_nanos() as u64;
            }
            self.last = Some(now);
        }
    }
}

/// Buffers of one thread: one image's activations and scratch, plus its gradient sums.
#[derive(Debug)]
struct Worker {
    xp1: Vec<f32>,
    conv1: Vec<f32>,
    /// relu(pool(conv1)).
    relu1: Vec<f32>,
    /// Which input of each 2x2 window won the pool (0..=3, row-major).
    arg1: Vec<u8>,
    xp2: Vec<f32>,
    conv2: Vec<f32>,
    relu2: Vec<f32>,
    arg2: Vec<u8>,
    xp3: Vec<f32>,
    /// conv3's output, before the ReLU (times the dropout2d scale when training).
    z3: Vec<f32>,
    /// What enters fc: relu3 (times the element dropout scale when training).
    act: Vec<f32>,
    dact: Vec<f32>,
    dp3: Vec<f32>,
    drelu2: Vec<f32>,
    dconv2: Vec<f32>,
    dp2: Vec<f32>,
    drelu1: Vec<f32>,
    dconv1: Vec<f32>,
    grads: Vec<Vec<f32>>,
    loss_sum: f64,
    correct: usize,
    /// log-probabilities of the images this worker handled, [images, classes] row-major.
    log_probs: Vec<f32>,
    timer: StageTimer,
}

impl Worker {
    fn new(sizes: &[usize]) -> Worker {
        let padded = |c: usize, s: usize| vec![0.0; c * (s + 2) * (s + 2)];
        Worker {
            xp1: padded(IN_CHANNELS, S0),
            conv1: vec![0.0; C1 * S0 * S0],
            relu1: vec![0.0; C1 * S1 * S1],
            arg1: vec![0; C1 * S1 * S1],
            xp2: padded(C1, S1),
            conv2: vec![0.0; C2 * S1 * S1],
            relu2: vec![0.0; C2 * S2 * S2],
            arg2: vec![0; C2 * S2 * S2],
            xp3: padded(C2, S2),
            z3: vec![0.0; FC_IN],
            act: vec![0.0; FC_IN],
            dact: vec![0.0; FC_IN],
            dp3: padded(C3, S2),
            drelu2: vec![0.0; C2 * S2 * S2],
            dconv2: vec![0.0; C2 * S1 * S1],
            dp2: padded(C2, S1),
            drelu1: vec![0.0; C1 * S1 * S1],
            dconv1: vec![0.0; C1 * S0 * S0],
            grads: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            loss_sum: 0.0,
            correct: 0,
            log_probs: Vec::new(),
            timer: StageTimer::default(),
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

    /// Forward one image; fills `logits`. `drop`: the channel scales (24) and the element
    /// scales (24576) of this image, or `None` in eval mode.
    fn forward(
        &mut self,
        net: &ShapesNet,
        x: &[f32],
        drop: Option<(&[f32], &[f32])>,
        logits: &mut [f32],
    ) {
        let p = &net.params;
        pad1(x, IN_CHANNELS, S0, S0, &mut self.xp1);
        conv3x3_forward(
            &self.xp1,
            IN_CHANNELS,
            S0,
            S0,
            &p[idx::CONV1_W].data,
            Some(&p[idx::CONV1_B].data),
            C1,
            &mut self.conv1,
        );
        self.timer.lap(0);
        pool2_relu_forward(&self.conv1, C1, S0, S0, &mut self.relu1, &mut self.arg1);
        self.timer.lap(1);
        pad1(&self.relu1, C1, S1, S1, &mut self.xp2);
        conv3x3_forward(
            &self.xp2,
            C1,
            S1,
            S1,
            &p[idx::CONV2_W].data,
            Some(&p[idx::CONV2_B].data),
            C2,
            &mut self.conv2,
        );
        self.timer.lap(2);
        pool2_relu_forward(&self.conv2, C2, S1, S1, &mut self.relu2, &mut self.arg2);
        self.timer.lap(3);
        pad1(&self.relu2, C2, S2, S2, &mut self.xp3);
        conv3x3_forward(
            &self.xp3,
            C2,
            S2,
            S2,
            &p[idx::CONV3_W].data,
            Some(&p[idx::CONV3_B].data),
            C3,
            &mut self.z3,
        );
        self.timer.lap(4);
        let plane = S2 * S2;
        match drop {
            Some((ch, el)) => {
                for (c, (zrow, arow)) in self
                    .z3
                    .chunks_exact_mut(plane)
                    .zip(self.act.chunks_exact_mut(plane))
                    .enumerate()
                {
                    let s = ch[c];
                    let erow = &el[c * plane..(c + 1) * plane];
                    for ((z, a), &e) in zrow.iter_mut().zip(arow.iter_mut()).zip(erow) {
                        *z *= s;
                        *a = z.max(0.0) * e;
                    }
                }
            }
            None => {
                for (&z, a) in self.z3.iter().zip(self.act.iter_mut()) {
                    *a = z.max(0.0);
                }
            }
        }
        let fcw = &p[idx::FC_W].data;
        let fcb = &p[idx::FC_B].data;
        for (j, l) in logits.iter_mut().enumerate() {
            *l = dot(&fcw[j * FC_IN..(j + 1) * FC_IN], &self.act) + fcb[j];
        }
        self.timer.lap(5);
    }

    /// Backward of one image given d loss / d logits; adds into `self.grads`.
    fn backward(
        &mut self,
        net: &ShapesNet,
        flipped: &Flipped,
        dlogits: &[f32],
        drop: Option<(&[f32], &[f32])>,
    ) {
        let p = &net.params;
        let fcw = &p[idx::FC_W].data;
        self.dact.fill(0.0);
        for (j, &dl) in dlogits.iter().enumerate() {
            let gw = &mut self.grads[idx::FC_W][j * FC_IN..(j + 1) * FC_IN];
            for (g, &a) in gw.iter_mut().zip(&self.act) {
                *g += dl * a;
            }
            self.grads[idx::FC_B][j] += dl;
            for (d, &w) in self.dact.iter_mut().zip(&fcw[j * FC_IN..(j + 1) * FC_IN]) {
                *d += dl * w;
            }
        }
        // through dropout, relu and dropout2d: d3 = dact * e * [z3 > 0] * s  (in place)
        let plane = S2 * S2;
        match drop {
            Some((ch, el)) => {
                for (c, (drow, zrow)) in self
                    .dact
                    .chunks_exact_mut(plane)
                    .zip(self.z3.chunks_exact(plane))
                    .enumerate()
                {
                    let s = ch[c];
                    let erow = &el[c * plane..(c + 1) * plane];
                    for ((d, &z), &e) in drow.iter_mut().zip(zrow).zip(erow) {
                        *d = if z > 0.0 { *d * e * s } else { 0.0 };
                    }
                }
            }
            None => {
                for (d, &z) in self.dact.iter_mut().zip(&self.z3) {
                    if z <= 0.0 {
                        *d = 0.0;
                    }
                }
            }
        }
        self.timer.lap(7);
        let (head, tail) = self.grads.split_at_mut(idx::CONV3_B);
        conv3x3_weight_grad(
            &self.xp3,
            C2,
            S2,
            S2,
            &self.dact,
            C3,
            &mut head[idx::CONV3_W],
            &mut tail[0],
        );
        self.timer.lap(8);
        pad1(&self.dact, C3, S2, S2, &mut self.dp3);
        conv3x3_forward(
            &self.dp3,
            C3,
            S2,
            S2,
            &flipped.w3,
            None,
            C2,
            &mut self.drelu2,
        );
        self.timer.lap(9);
        pool2_relu_backward(
            &self.drelu2,
            &self.relu2,
            &self.arg2,
            C2,
            S1,
            S1,
            &mut self.dconv2,
        );
        self.timer.lap(10);
        let (head, tail) = self.grads.split_at_mut(idx::CONV2_B);
        conv3x3_weight_grad(
            &self.xp2,
            C1,
            S1,
            S1,
            &self.dconv2,
            C2,
            &mut head[idx::CONV2_W],
            &mut tail[0],
        );
        self.timer.lap(11);
        pad1(&self.dconv2, C2, S1, S1, &mut self.dp2);
        conv3x3_forward(
            &self.dp2,
            C2,
            S1,
            S1,
            &flipped.w2,
            None,
            C1,
            &mut self.drelu1,
        );
        self.timer.lap(12);
        pool2_relu_backward(
            &self.drelu1,
            &self.relu1,
            &self.arg1,
            C1,
            S0,
            S0,
            &mut self.dconv1,
        );
        self.timer.lap(13);
        let (head, tail) = self.grads.split_at_mut(idx::CONV1_B);
        conv3x3_weight_grad(
            &self.xp1,
            IN_CHANNELS,
            S0,
            S0,
            &self.dconv1,
            C1,
            &mut head[idx::CONV1_W],
            &mut tail[0],
        );
        self.timer.lap(14);
    }

    /// Run a slice of the batch: forward, loss, and (with `targets` + `backward`) backward.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        net: &ShapesNet,
        flipped: &Flipped,
        input: &[f32],
        targets: Option<&[usize]>,
        batch_len: usize,
        masks: Option<(&[f32], &[f32])>,
        backward: bool,
    ) {
        self.reset();
        let k = net.classes();
        let mut logits = vec![0.0f32; k];
        let mut dl = vec![0.0f32; k];
        let n = input.len() / IN_LEN;
        for i in 0..n {
            let x = &input[i * IN_LEN..(i + 1) * IN_LEN];
            let drop =
                masks.map(|(ch, el)| (&ch[i * C3..(i + 1) * C3], &el[i * FC_IN..(i + 1) * FC_IN]));
            self.timer.start();
            self.forward(net, x, drop, &mut logits);
            let start = self.log_probs.len();
            self.log_probs.extend(log_softmax(&logits));
            let lp = &self.log_probs[start..];
            let pred = argmax(lp);
            if let Some(t) = targets.map(|t| t[i]) {
                self.loss_sum -= f64::from(lp[t]);
                if pred == t {
                    self.correct += 1;
                }
                if backward {
                    let inv = 1.0 / batch_len as f32;
                    for (j, d) in dl.iter_mut().enumerate() {
                        let onehot = if j == t { 1.0 } else { 0.0 };
                        *d = (lp[j].exp() - onehot) * inv;
                    }
                    self.timer.lap(6);
                    self.backward(net, flipped, &dl, drop);
                }
            }
        }
    }
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

/// The eval-mode forward (dropouts off) of `input` (normalised images, CHW one after
/// another), keeping every intermediate map: the same per-image pass as
/// [`Backend::predict`] and training run, one image after another on this thread. The
/// [`Trace`] has the layout of [`ShapesNet::forward_trace`] (which computes the same with
/// the reference array ops).
pub fn forward_trace(net: &ShapesNet, input: &[f32]) -> Result<Trace> {
    let n = super::check_input(net, input, None)?;
    let k = net.classes();
    let mut w = Worker::new(&[]);
    let mut maps: [Vec<f32>; 8] = Default::default();
    let mut logits = vec![0.0f32; n * k];
    let mut log_probs = Vec::with_capacity(n * k);
    for (i, l) in logits.chunks_exact_mut(k).enumerate() {
        w.forward(net, &input[i * IN_LEN..(i + 1) * IN_LEN], None, l);
        log_probs.extend(log_softmax(l));
        let pool1 = pooled_from_codes(&w.conv1, C1, S0, S0, &w.arg1);
        let pool2 = pooled_from_codes(&w.conv2, C2, S1, S1, &w.arg2);
        for (m, src) in maps.iter_mut().zip([
            &w.conv1[..],
            &pool1,
            &w.relu1,
            &w.conv2,
            &pool2,
            &w.relu2,
            &w.z3,
            &w.act,
        ]) {
            m.extend_from_slice(src);
        }
    }
    let [conv1, pool1, relu1, conv2, pool2, relu2, conv3, relu3] = maps;
    let a4 = |name: &str, c: usize, s: usize, v: Vec<f32>| {
        Array4::from_shape_vec((n, c, s, s), v).map_err(|e| Error::shape(name, e))
    };
    let a2 = |name: &str, v: Vec<f32>| {
        Array2::from_shape_vec((n, k), v).map_err(|e| Error::shape(name, e))
    };
    Ok(Trace {
        conv1: a4("conv1", C1, S0, conv1)?,
        pool1: a4("pool1", C1, S1, pool1)?,
        relu1: a4("relu1", C1, S1, relu1)?,
        conv2: a4("conv2", C2, S1, conv2)?,
        pool2: a4("pool2", C2, S2, pool2)?,
        relu2: a4("relu2", C2, S2, relu2)?,
        conv3: a4("conv3", C3, S2, conv3)?,
        relu3: a4("relu3", C3, S2, relu3)?,
        logits: a2("logits", logits)?,
        log_probs: a2("log_probs", log_probs)?,
    })
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
    workers: Vec<Worker>,
    grads: Vec<Vec<f32>>,
    ch_mask: Vec<f32>,
    el_mask: Vec<f32>,
    sizes: Vec<usize>,
    flipped: Flipped,
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
            workers: Vec::new(),
            grads: Vec::new(),
            ch_mask: Vec::new(),
            el_mask: Vec::new(),
            sizes: Vec::new(),
            flipped: Flipped::default(),
            profiling: false,
        })
    }

    /// Worker threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Time every stage of every image from now on (see [`STAGES`]), or stop; either way
    /// the times so far are cleared. Off by default: then no clock is read.
    pub fn set_profiling(&mut self, on: bool) {
        self.profiling = on;
        for w in &mut self.workers {
            w.timer = StageTimer {
                on,
                ..StageTimer::default()
            };
        }
    }

    /// Seconds spent in each of [`STAGES`] since profiling was switched on, summed over
    /// the worker threads (so with 2 threads busy, twice the wall-clock time).
    pub fn profile(&self) -> Vec<(&'static str, f64)> {
        STAGES
            .iter()
            .enumerate()
            .map(|(i, &name)| {
                let ns: u64 = self.workers.iter().map(|w| w.timer.nanos[i]).sum();
                (name, ns as f64 * 1e-9)
            })
            .collect()
    }

    fn prepare(&mut self, net: &ShapesNet) {
        let sizes: Vec<usize> = net.params.iter().map(|p| p.data.len()).collect();
        if sizes != self.sizes {
            self.workers = (0..self.threads).map(|_| Worker::new(&sizes)).collect();
            for w in &mut self.workers {
                w.timer.on = self.profiling;
            }
            self.grads = sizes.iter().map(|&n| vec![0.0; n]).collect();
            self.sizes = sizes;
        }
    }

    /// Split `n` images into one contiguous range per worker.
    fn ranges(&self, n: usize) -> Vec<std::ops::Range<usize>> {
        let per = n.div_ceil(self.threads);
        (0..self.threads)
            .map(|t| (t * per).min(n)..((t + 1) * per).min(n))
            .collect()
    }

    fn run_batch(
        &mut self,
        net: &ShapesNet,
        input: &[f32],
        targets: Option<&[usize]>,
        dropout: Option<&mut ChaCha8Rng>,
        backward: bool,
    ) -> Result<usize> {
        let n = super::check_input(net, input, targets)?;
        self.prepare(net);
        // Each worker fills the masks of its own images from their place in the stream
        // (see [`MaskStream`]), so they are the same as drawn in one sequence.
        let draws = dropout.map(|rng| MaskStream::take(rng, n, C3, FC_IN));
        let with_masks = draws.is_some();
        if with_masks {
            self.ch_mask.resize(n * C3, 0.0);
            self.el_mask.resize(n * FC_IN, 0.0);
        }
        if backward {
            self.flipped.update(net);
        }
        let ranges = self.ranges(n);
        let ch_parts = split_by_ranges(&mut self.ch_mask, &ranges, C3, with_masks);
        let el_parts = split_by_ranges(&mut self.el_mask, &ranges, FC_IN, with_masks);
        let flipped = &self.flipped;
        let draws = draws.as_ref();
        let workers = &mut self.workers;
        self.pool.install(|| {
            use rayon::prelude::*;
            workers
                .par_iter_mut()
                .zip(ranges)
                .zip(ch_parts.into_par_iter().zip(el_parts))
                .for_each(|((w, r), (ch, el))| {
                    if let Some(stream) = draws {
                        stream.fill_channels(r.start, ch, DROP2D_P);
                        stream.fill_elements(r.start, el, DROP_P);
                    }
                    let masks = with_masks.then_some((&*ch, &*el));
                    w.run(
                        net,
                        flipped,
                        &input[r.start * IN_LEN..r.end * IN_LEN],
                        targets.map(|t| &t[r.clone()]),
                        n,
                        masks,
                        backward,
                    );
                });
        });
        Ok(n)
    }
}

/// One slice of `buf` per range (`unit` floats per image), empty ones too; all empty
/// when `!used`.
fn split_by_ranges<'a>(
    buf: &'a mut [f32],
    ranges: &[std::ops::Range<usize>],
    unit: usize,
    used: bool,
) -> Vec<&'a mut [f32]> {
    let mut rest = if used { buf } else { &mut [] };
    ranges
        .iter()
        .map(|r| {
            let len = if used { r.len() * unit } else { 0 };
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
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
        net: &ShapesNet,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats> {
        let n = self.run_batch(net, input, Some(targets), dropout, true)?;
        for (i, g) in self.grads.iter_mut().enumerate() {
            g.fill(0.0);
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

    fn predict(&mut self, net: &ShapesNet, input: &[f32]) -> Result<Array2<f32>> {
        let n = self.run_batch(net, input, None, None, false)?;
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
    use rand::{Rng, SeedableRng};

    #[test]
    fn masks_drawn_by_the_workers_equal_one_sequence() {
        let net = ShapesNet::new(3, 3);
        for (threads, n) in [(1, 3), (2, 5), (3, 5), (2, 1)] {
            let input = vec![0.1f32; n * IN_LEN];
            let targets: Vec<usize> = (0..n).map(|i| i % 3).collect();
            let mut be = CpuBackend::new(Some(threads)).expect("threads");
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            be.run_batch(&net, &input, Some(&targets), Some(&mut rng), true)
                .expect("batch");
            let mut seq = ChaCha8Rng::seed_from_u64(9);
            let mut ch = vec![0.0; n * C3];
            let mut el = vec![0.0; n * FC_IN];
            fill_mask(&mut ch, DROP2D_P, &mut seq);
            fill_mask(&mut el, DROP_P, &mut seq);
            assert_eq!(be.ch_mask, ch, "{threads} threads, {n} images");
            assert_eq!(be.el_mask, el, "{threads} threads, {n} images");
            assert_eq!(rng.gen::<u64>(), seq.gen::<u64>(), "generator position");
        }
    }
}
