//! The CUDA backend: the shapes net on an NVIDIA GPU with our own kernels (`kernels/*.cu`).
//!
//! Everything but the driver calls lives here, behind the small [`Gpu`] trait: buffer
//! sizes and offsets, launch sizes, the order of the kernels, dropout masks and the Adam
//! step on the device. Two implementations of [`Gpu`] run it:
//! - [`CudarcGpu`](cudarc_gpu::CudarcGpu): the real device, through cudarc (driver API,
//!   kernels compiled once per process with NVRTC, libraries loaded at run time);
//! - the emulator of the tests (`tests/suite/common/emu.rs`): the same kernel sources compiled
//!   as C++ and run on the CPU, so that all of this is tested without a GPU.
//!
//! Training keeps the parameters and Adam's moments on the device across
//! [`Backend::train_step`] calls; [`Backend::sync_to_host`] copies them back.
//! Each step uploads the batch and its targets once and downloads two floats
//! (loss sum and number right); the dropout masks are drawn on the device from the same
//! ChaCha8 stream as the CPU backend, so both train the same net.

pub mod cudarc_gpu;

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use super::{check_input, Backend, BatchStats};
use crate::nn::adam::Adam;
use crate::nn::dropout::{keep_scale, MaskStream};
use crate::nn::net::{
    idx, Net, C1, C2, C3, DROP2D_P, DROP_P, FC_IN, IMAGE_SIDE as S0, IN_CHANNELS, IN_LEN,
    POOL1_SIDE as S1, POOL2_SIDE as S2,
};
use crate::{Error, Result};

/// The kernel sources, file name and text, in the order they are compiled together.
pub const SOURCES: [(&str, &str); 6] = [
    ("conv.cu", include_str!("../../../kernels/conv.cu")),
    ("pool.cu", include_str!("../../../kernels/pool.cu")),
    ("act.cu", include_str!("../../../kernels/act.cu")),
    ("linear.cu", include_str!("../../../kernels/linear.cu")),
    ("loss.cu", include_str!("../../../kernels/loss.cu")),
    ("adam.cu", include_str!("../../../kernels/adam.cu")),
];

/// Every `extern "C" __global__ void NAME(` in `src`, in order.
pub fn kernel_names(src: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find("__global__ void ") {
        let after = &rest[at + "__global__ void ".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            names.push(name);
        }
        rest = after;
    }
    names
}

/// A device buffer of 32-bit words (f32, or i32 for the kernels that read ints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buf {
    /// Index the [`Gpu`] gave it.
    pub id: usize,
    /// Words in it.
    pub len: usize,
}

/// One kernel argument, as the kernel's C parameter: a pointer `offset` words into a
/// buffer, an `int` or a `float`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    /// `float*` / `int*`: the buffer, offset by this many words.
    Buf(Buf, usize),
    /// `int`.
    I32(i32),
    /// `float`.
    F32(f32),
}

/// What [`CudaBackend`] needs from a device: zeroed buffers, copies, and 1-D launches of
/// the kernels of [`SOURCES`] (in order, as on one CUDA stream).
pub trait Gpu: Send {
    /// The device, for messages.
    fn name(&self) -> String;
    /// A zeroed buffer of `len` words.
    fn alloc(&mut self, len: usize) -> Result<Buf>;
    /// Release a buffer.
    fn free(&mut self, buf: Buf);
    /// Copy `data` into `buf` from word `offset`.
    fn upload(&mut self, buf: Buf, offset: usize, data: &[f32]) -> Result<()>;
    /// Copy words of `buf` from `offset` into `out` (waits for the launches before).
    fn download(&mut self, buf: Buf, offset: usize, out: &mut [f32]) -> Result<()>;
    /// Launch `kernel` on `blocks` blocks of `threads` threads.
    fn launch(&mut self, kernel: &str, blocks: u32, threads: u32, args: &[Arg]) -> Result<()>;
    /// Copy ints (their bits) into `buf` from word `offset`.
    fn upload_i32(&mut self, buf: Buf, offset: usize, data: &[i32]) -> Result<()> {
        let words: Vec<f32> = data.iter().map(|&v| f32::from_bits(v as u32)).collect();
        self.upload(buf, offset, &words)
    }
}

/// Threads per block of every launch.
const THREADS: u32 = 256;
/// Partial sums per logit in the fc forward pass.
const FC_CHUNKS: usize = 256;
/// Partial sums per weight gradient in the second stage of the conv weight gradients.
const W_CHUNKS: usize = 64;

/// Buffers sized for up to `cap` images of a net with `classes` outputs.
#[derive(Debug, Clone, Copy)]
struct Work {
    cap: usize,
    classes: usize,
    x: Buf,
    conv1: Buf,
    relu1: Buf,
    code1: Buf,
    conv2: Buf,
    relu2: Buf,
    code2: Buf,
    z3: Buf,
    act: Buf,
    ch: Buf,
    el: Buf,
    fc_part: Buf,
    logp: Buf,
    dl: Buf,
    loss: Buf,
    right: Buf,
    targets: Buf,
    stats: Buf,
    d3: Buf,
    drelu2: Buf,
    dconv2: Buf,
    drelu1: Buf,
    dconv1: Buf,
    wpart: Buf,
    wpart2: Buf,
}

impl Work {
    fn new<G: Gpu>(gpu: &mut G, cap: usize, classes: usize) -> Result<Work> {
        let n = cap;
        let k = classes;
        let wpart = [
            (C1 * IN_CHANNELS * 9 + C1) * S0,
            (C2 * C1 * 9 + C2) * S1,
            (C3 * C2 * 9 + C3) * S2,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
            * n;
        Ok(Work {
            cap,
            classes,
            x: gpu.alloc(n * IN_LEN)?,
            conv1: gpu.alloc(n * C1 * S0 * S0)?,
            relu1: gpu.alloc(n * C1 * S1 * S1)?,
            code1: gpu.alloc(n * C1 * S1 * S1)?,
            conv2: gpu.alloc(n * C2 * S1 * S1)?,
            relu2: gpu.alloc(n * C2 * S2 * S2)?,
            code2: gpu.alloc(n * C2 * S2 * S2)?,
            z3: gpu.alloc(n * FC_IN)?,
            act: gpu.alloc(n * FC_IN)?,
            ch: gpu.alloc(n * C3)?,
            el: gpu.alloc(n * FC_IN)?,
            fc_part: gpu.alloc(n * k * FC_CHUNKS)?,
            logp: gpu.alloc(n * k)?,
            dl: gpu.alloc(n * k)?,
            loss: gpu.alloc(n)?,
            right: gpu.alloc(n)?,
            targets: gpu.alloc(n)?,
            stats: gpu.alloc(2)?,
            d3: gpu.alloc(n * FC_IN)?,
            drelu2: gpu.alloc(n * C2 * S2 * S2)?,
            dconv2: gpu.alloc(n * C2 * S1 * S1)?,
            drelu1: gpu.alloc(n * C1 * S1 * S1)?,
            dconv1: gpu.alloc(n * C1 * S0 * S0)?,
            wpart: gpu.alloc(wpart)?,
            wpart2: gpu.alloc((C3 * C2 * 9 + C3).max(C2 * C1 * 9 + C2) * W_CHUNKS)?,
        })
    }

    fn free<G: Gpu>(&self, gpu: &mut G) {
        for b in [
            self.x,
            self.conv1,
            self.relu1,
            self.code1,
            self.conv2,
            self.relu2,
            self.code2,
            self.z3,
            self.act,
            self.ch,
            self.el,
            self.fc_part,
            self.logp,
            self.dl,
            self.loss,
            self.right,
            self.targets,
            self.stats,
            self.d3,
            self.drelu2,
            self.dconv2,
            self.drelu1,
            self.dconv1,
            self.wpart,
            self.wpart2,
        ] {
            gpu.free(b);
        }
    }
}

/// The parameters, their gradients and Adam's moments, each one buffer holding the
/// tensors one after another in `state_dict` order.
#[derive(Debug)]
struct State {
    sizes: Vec<usize>,
    offsets: Vec<usize>,
    params: Buf,
    grads: Buf,
    m: Buf,
    v: Buf,
}

/// Which net and optimiser the device copy of the parameters and moments belongs to:
/// their addresses and Adam's step count after the last [`Backend::train_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resident {
    net: usize,
    adam: usize,
    step: u64,
}

impl Resident {
    fn of(net: &Net, adam: &Adam) -> Resident {
        Resident {
            net: net.params.as_ptr() as usize,
            adam: adam as *const Adam as usize,
            step: adam.step,
        }
    }
}

/// The CUDA backend on any [`Gpu`] (see the module docs).
pub struct CudaBackend<G: Gpu> {
    gpu: G,
    state: Option<State>,
    work: Option<Work>,
    resident: Option<Resident>,
    grads: Vec<Vec<f32>>,
    staging: Vec<f32>,
}

impl<G: Gpu> std::fmt::Debug for CudaBackend<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaBackend {{ {} }}", self.gpu.name())
    }
}

fn dev(what: &str) -> impl Fn(std::num::TryFromIntError) -> Error + '_ {
    move |_| Error::Device(format!("{what} is too large for one kernel launch"))
}

impl<G: Gpu> CudaBackend<G> {
    /// A backend on `gpu`; buffers are made at the first batch.
    pub fn new(gpu: G) -> CudaBackend<G> {
        CudaBackend {
            gpu,
            state: None,
            work: None,
            resident: None,
            grads: Vec::new(),
            staging: Vec::new(),
        }
    }

    /// The device.
    pub fn gpu(&self) -> &G {
        &self.gpu
    }

    /// The device, to change (the tests' emulator has settings).
    pub fn gpu_mut(&mut self) -> &mut G {
        &mut self.gpu
    }

    fn launch(&mut self, kernel: &str, total: usize, args: &[Arg]) -> Result<()> {
        let total = u32::try_from(total).map_err(dev(kernel))?;
        let blocks = total.div_ceil(THREADS).max(1);
        self.gpu.launch(kernel, blocks, THREADS, args)
    }

    /// Make (or remake) the parameter buffers for `net`'s shapes and the batch buffers
    /// for `n` images.
    fn prepare(&mut self, net: &Net, n: usize) -> Result<()> {
        if !net.plan.arch.is_course() || net.plan.input_dims() != crate::nn::arch::DEFAULT_INPUT {
            return Err(Error::Device(format!(
                "the GPU backend runs the course's network on 3x128x128 images, not `{}`; use --device cpu",
                net.plan.arch
            )));
        }
        let sizes: Vec<usize> = net.params.iter().map(|p| p.data.len()).collect();
        if self.state.as_ref().map(|s| &s.sizes) != Some(&sizes) {
            if let Some(s) = self.state.take() {
                for b in [s.params, s.grads, s.m, s.v] {
                    self.gpu.free(b);
                }
            }
            self.resident = None;
            let total: usize = sizes.iter().sum();
            let offsets = sizes
                .iter()
                .scan(0, |acc, &s| {
                    let o = *acc;
                    *acc += s;
                    Some(o)
                })
                .collect();
            self.state = Some(State {
                sizes: sizes.clone(),
                offsets,
                params: self.gpu.alloc(total)?,
                grads: self.gpu.alloc(total)?,
                m: self.gpu.alloc(total)?,
                v: self.gpu.alloc(total)?,
            });
            self.grads = sizes.iter().map(|&s| vec![0.0; s]).collect();
        }
        let classes = net.classes();
        let fits = self
            .work
            .as_ref()
            .is_some_and(|w| w.cap >= n && w.classes == classes);
        if !fits {
            if let Some(w) = self.work.take() {
                w.free(&mut self.gpu);
            }
            self.work = Some(Work::new(&mut self.gpu, n, classes)?);
        }
        Ok(())
    }

    fn state(&self) -> Result<&State> {
        self.state
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))
    }

    /// Upload tensors (one per parameter) into the flat buffer `which` of the state.
    fn upload_flat(&mut self, which: fn(&State) -> Buf, tensors: &[&[f32]]) -> Result<()> {
        let buf = which(self.state()?);
        self.staging.clear();
        for t in tensors {
            self.staging.extend_from_slice(t);
        }
        let staging = std::mem::take(&mut self.staging);
        let r = self.gpu.upload(buf, 0, &staging);
        self.staging = staging;
        r
    }

    /// Download the flat buffer `which` into one vector per parameter.
    fn download_flat(&mut self, which: fn(&State) -> Buf, out: &mut [&mut Vec<f32>]) -> Result<()> {
        let st = self.state()?;
        let buf = which(st);
        let offsets = st.offsets.clone();
        for (o, t) in offsets.into_iter().zip(out.iter_mut()) {
            self.gpu.download(buf, o, t)?;
        }
        Ok(())
    }

    fn upload_params(&mut self, net: &Net) -> Result<()> {
        let tensors: Vec<&[f32]> = net.params.iter().map(|p| p.data.as_slice()).collect();
        self.upload_flat(|s| s.params, &tensors)
    }

    /// Forward (and with targets the loss, and with `backward` the gradients) of `n`
    /// images already checked. Returns the loss sum and number right when targets are given.
    fn pass(
        &mut self,
        net: &Net,
        input: &[f32],
        targets: Option<&[usize]>,
        dropout: Option<&mut ChaCha8Rng>,
        backward: bool,
    ) -> Result<Option<(f32, f32)>> {
        let n = input.len() / IN_LEN;
        let k = net.classes();
        let st = self.state()?;
        let (p, g) = (st.params, st.grads);
        let off = st.offsets.clone();
        let w = self
            .work
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))?;
        let w = *w;
        let at = |b: Buf| Arg::Buf(b, 0);
        let pa = |i: usize| Arg::Buf(p, off[i]);
        let ga = |i: usize| Arg::Buf(g, off[i]);
        let int = |v: usize| Arg::I32(v as i32);
        let ni = int(n);

        self.gpu.upload(w.x, 0, input)?;
        if let Some(t) = targets {
            let t: Vec<i32> = t.iter().map(|&v| v as i32).collect();
            self.gpu.upload_i32(w.targets, 0, &t)?;
        }
        // forward
        let conv = |x: Buf, wi: usize, y: Buf, cin: usize, cout: usize, s: usize| {
            [
                at(x),
                pa(wi),
                pa(wi + 1),
                at(y),
                ni,
                int(cin),
                int(cout),
                int(s),
                int(s),
            ]
        };
        self.launch(
            "conv3x3_fwd",
            n * C1 * S0 * S0,
            &conv(w.x, idx::CONV1_W, w.conv1, IN_CHANNELS, C1, S0),
        )?;
        self.launch(
            "pool2_relu_fwd",
            n * C1 * S1 * S1,
            &[
                at(w.conv1),
                at(w.relu1),
                at(w.code1),
                int(n * C1),
                int(S0),
                int(S0),
            ],
        )?;
        self.launch(
            "conv3x3_fwd",
            n * C2 * S1 * S1,
            &conv(w.relu1, idx::CONV2_W, w.conv2, C1, C2, S1),
        )?;
        self.launch(
            "pool2_relu_fwd",
            n * C2 * S2 * S2,
            &[
                at(w.conv2),
                at(w.relu2),
                at(w.code2),
                int(n * C2),
                int(S1),
                int(S1),
            ],
        )?;
        self.launch(
            "conv3x3_fwd",
            n * FC_IN,
            &conv(w.relu2, idx::CONV3_W, w.z3, C2, C3, S2),
        )?;
        let masked = dropout.is_some();
        if let Some(rng) = dropout {
            // the same words as the CPU backend draws (see [`MaskStream`])
            let masks = MaskStream::take(rng, n, &[C3, FC_IN]);
            let seed = masks.generator().get_seed();
            let stream = masks.generator().get_stream();
            let key: Vec<Arg> = seed
                .chunks_exact(4)
                .map(|c| Arg::I32(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            for (buf, len, start, prob) in [
                (w.ch, n * C3, masks.at(0, 0), DROP2D_P),
                (w.el, n * FC_IN, masks.at(1, 0), DROP_P),
            ] {
                let keep = keep_scale(prob);
                let mut args = vec![at(buf), int(len)];
                args.extend_from_slice(&key);
                args.extend([
                    Arg::I32(stream as u32 as i32),
                    Arg::I32((stream >> 32) as u32 as i32),
                    Arg::I32(start as u32 as i32),
                    Arg::I32((start >> 32) as u32 as i32),
                    Arg::F32(prob),
                    Arg::F32(keep),
                ]);
                self.launch("chacha8_mask", len, &args)?;
            }
        }
        let mk = int(usize::from(masked));
        self.launch(
            "drop_relu_fwd",
            n * FC_IN,
            &[
                at(w.z3),
                at(w.act),
                at(w.ch),
                at(w.el),
                ni,
                int(C3),
                int(S2 * S2),
                mk,
            ],
        )?;
        self.launch(
            "fc_fwd_part",
            n * k * FC_CHUNKS,
            &[
                at(w.act),
                pa(idx::FC_W),
                at(w.fc_part),
                ni,
                int(k),
                int(FC_IN),
                int(FC_CHUNKS),
            ],
        )?;
        self.launch(
            "log_softmax_nll",
            n,
            &[
                at(w.fc_part),
                pa(idx::FC_B),
                at(w.targets),
                at(w.logp),
                at(w.dl),
                at(w.loss),
                at(w.right),
                ni,
                int(k),
                int(FC_CHUNKS),
                int(usize::from(targets.is_some())),
                Arg::F32(1.0 / n as f32),
            ],
        )?;
        if targets.is_none() {
            return Ok(None);
        }
        if backward {
            self.launch(
                "fc_bwd_wb",
                k * FC_IN + k,
                &[at(w.dl), at(w.act), ga(idx::FC_W), ni, int(k), int(FC_IN)],
            )?;
            self.launch(
                "fc_bwd_x",
                n * FC_IN,
                &[
                    at(w.dl),
                    pa(idx::FC_W),
                    at(w.z3),
                    at(w.ch),
                    at(w.el),
                    at(w.d3),
                    ni,
                    int(k),
                    int(C3),
                    int(S2 * S2),
                    mk,
                ],
            )?;
            // conv3: weight+bias grads, input grad, then pool2+relu backward
            self.conv_backward(w.relu2, w.d3, idx::CONV3_W, C2, C3, S2, n, &ga)?;
            let stage2 = PoolStage {
                act: w.relu2,
                drelu: w.drelu2,
                code: w.code2,
                dconv: w.dconv2,
                cin: C2,
                cout: C3,
                s: S2,
            };
            self.conv_pool_backward(w.d3, pa(idx::CONV3_W), stage2, n)?;
            self.conv_backward(w.relu1, w.dconv2, idx::CONV2_W, C1, C2, S1, n, &ga)?;
            let stage1 = PoolStage {
                act: w.relu1,
                drelu: w.drelu1,
                code: w.code1,
                dconv: w.dconv1,
                cin: C1,
                cout: C2,
                s: S1,
            };
            self.conv_pool_backward(w.dconv2, pa(idx::CONV2_W), stage1, n)?;
            self.conv_backward(w.x, w.dconv1, idx::CONV1_W, IN_CHANNELS, C1, S0, n, &ga)?;
        }
        self.launch(
            "batch_stats",
            1,
            &[at(w.loss), at(w.right), at(w.stats), ni],
        )?;
        let mut stats = [0.0f32; 2];
        self.gpu.download(w.stats, 0, &mut stats)?;
        Ok(Some((stats[0], stats[1])))
    }

    /// Back through a conv layer's input and the pool+ReLU before it: `dy` is the gradient
    /// at the conv's output (`st.s` square), `weight` its weights; writes `st.dconv`, the
    /// gradient at the previous conv's output (twice the size).
    fn conv_pool_backward(&mut self, dy: Buf, weight: Arg, st: PoolStage, n: usize) -> Result<()> {
        let int = |v: usize| Arg::I32(v as i32);
        self.launch(
            "conv3x3_dx",
            n * st.cin * st.s * st.s,
            &[
                Arg::Buf(dy, 0),
                weight,
                Arg::Buf(st.drelu, 0),
                int(n),
                int(st.cin),
                int(st.cout),
                int(st.s),
                int(st.s),
            ],
        )?;
        let s = 2 * st.s;
        self.launch(
            "pool2_relu_bwd",
            n * st.cin * s * s,
            &[
                Arg::Buf(st.drelu, 0),
                Arg::Buf(st.act, 0),
                Arg::Buf(st.code, 0),
                Arg::Buf(st.dconv, 0),
                int(n * st.cin),
                int(s),
                int(s),
            ],
        )
    }

    /// Weight and bias gradients of the conv layer whose weight is parameter `wi`.
    #[allow(clippy::too_many_arguments)]
    fn conv_backward(
        &mut self,
        x: Buf,
        dy: Buf,
        wi: usize,
        cin: usize,
        cout: usize,
        s: usize,
        n: usize,
        ga: &dyn Fn(usize) -> Arg,
    ) -> Result<()> {
        let w = self
            .work
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))?;
        let (part, part2) = (w.wpart, w.wpart2);
        let rows = cout * cin * 9 + cout;
        let cols = n * s;
        let int = |v: usize| Arg::I32(v as i32);
        self.launch(
            "conv3x3_dwb_part",
            rows * cols,
            &[
                Arg::Buf(x, 0),
                Arg::Buf(dy, 0),
                Arg::Buf(part, 0),
                int(n),
                int(cin),
                int(cout),
                int(s),
                int(s),
            ],
        )?;
        // rows of n*s partial sums: in two stages, so that many threads share the work
        self.launch(
            "reduce_rows_part",
            rows * W_CHUNKS,
            &[
                Arg::Buf(part, 0),
                Arg::Buf(part2, 0),
                int(rows),
                int(cols),
                int(W_CHUNKS),
            ],
        )?;
        self.launch(
            "reduce_rows",
            rows,
            &[Arg::Buf(part2, 0), ga(wi), int(rows), int(W_CHUNKS)],
        )
    }

    fn stats(n: usize, sums: Option<(f32, f32)>) -> Result<BatchStats> {
        let (loss, right) = sums.ok_or_else(|| Error::Device("no loss computed".into()))?;
        Ok(BatchStats {
            loss: loss / n as f32,
            correct: right as usize,
            images: n,
        })
    }
}

impl<G: Gpu> Backend for CudaBackend<G> {
    fn name(&self) -> String {
        format!("cuda ({})", self.gpu.name())
    }

    fn forward_backward(
        &mut self,
        net: &mut Net,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats> {
        let n = check_input(net, input, Some(targets))?;
        self.prepare(net, n)?;
        self.resident = None;
        self.upload_params(net)?;
        let sums = self.pass(net, input, Some(targets), dropout, true)?;
        let mut grads = std::mem::take(&mut self.grads);
        let r = {
            let mut refs: Vec<&mut Vec<f32>> = grads.iter_mut().collect();
            self.download_flat(|s| s.grads, &mut refs)
        };
        self.grads = grads;
        r?;
        Self::stats(n, sums)
    }

    fn grads(&self) -> &[Vec<f32>] {
        &self.grads
    }

    /// Forward, backward and Adam all on the device; `net` and `adam` on the host are
    /// left as they were (but `adam.step` counts) until [`Backend::sync_to_host`].
    fn train_step(
        &mut self,
        net: &mut Net,
        adam: &mut Adam,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats> {
        let n = check_input(net, input, Some(targets))?;
        self.prepare(net, n)?;
        if adam.moments().0.len() != net.params.len() {
            return Err(Error::Other("Adam was made for another net".into()));
        }
        if self.resident != Some(Resident::of(net, adam)) {
            self.upload_params(net)?;
            let (m, v) = adam.moments();
            let m: Vec<&[f32]> = m.iter().map(Vec::as_slice).collect();
            let v: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
            self.upload_flat(|s| s.m, &m)?;
            self.upload_flat(|s| s.v, &v)?;
        }
        // whatever happens next, the device copy no longer matches the host's
        self.resident = None;
        let sums = self.pass(net, input, Some(targets), dropout, true)?;
        let t = (adam.step + 1) as i32;
        let bc1 = 1.0 - adam.beta1.powi(t);
        let bc2 = 1.0 - adam.beta2.powi(t);
        let st = self.state()?;
        let (p, g, m, v) = (st.params, st.grads, st.m, st.v);
        let total: usize = st.sizes.iter().sum();
        self.launch(
            "adam_step",
            total,
            &[
                Arg::Buf(p, 0),
                Arg::Buf(g, 0),
                Arg::Buf(m, 0),
                Arg::Buf(v, 0),
                Arg::I32(total as i32),
                Arg::F32((1.0 - adam.beta1) as f32),
                Arg::F32(adam.beta2 as f32),
                Arg::F32((1.0 - adam.beta2) as f32),
                Arg::F32(adam.eps as f32),
                Arg::F32((adam.lr / bc1) as f32),
                Arg::F32(bc2.sqrt() as f32),
            ],
        )?;
        adam.step += 1;
        self.resident = Some(Resident::of(net, adam));
        Self::stats(n, sums)
    }

    fn sync_to_host(&mut self, net: &mut Net, adam: &mut Adam) -> Result<()> {
        if self.resident != Some(Resident::of(net, adam)) {
            return Ok(());
        }
        let mut params: Vec<&mut Vec<f32>> = net.params.iter_mut().map(|p| &mut p.data).collect();
        self.download_flat(|s| s.params, &mut params)?;
        let (m, v) = adam.moments_mut();
        let mut m: Vec<&mut Vec<f32>> = m.iter_mut().collect();
        self.download_flat(|s| s.m, &mut m)?;
        let mut v: Vec<&mut Vec<f32>> = v.iter_mut().collect();
        self.download_flat(|s| s.v, &mut v)?;
        Ok(())
    }

    fn predict(&mut self, net: &Net, input: &[f32]) -> Result<Array2<f32>> {
        let n = check_input(net, input, None)?;
        self.prepare(net, n)?;
        self.resident = None;
        self.upload_params(net)?;
        self.pass(net, input, None, None, false)?;
        let k = net.classes();
        let mut out = vec![0.0f32; n * k];
        let logp = self
            .work
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))?
            .logp;
        self.gpu.download(logp, 0, &mut out)?;
        Array2::from_shape_vec((n, k), out).map_err(|e| Error::shape("predict", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_are_found_in_the_sources_once_each() {
        assert_eq!(
            kernel_names("extern \"C\" __global__ void a_1(int x) {}\n__global__ void b() {}"),
            ["a_1", "b"]
        );
        let all: Vec<String> = SOURCES.iter().flat_map(|(_, t)| kernel_names(t)).collect();
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:?}");
        for k in [
            "conv3x3_fwd",
            "conv3x3_dx",
            "conv3x3_dwb_part",
            "reduce_rows_part",
            "reduce_rows",
            "pool2_relu_fwd",
            "pool2_relu_bwd",
            "drop_relu_fwd",
            "chacha8_mask",
            "fc_fwd_part",
            "fc_bwd_wb",
            "fc_bwd_x",
            "log_softmax_nll",
            "batch_stats",
            "adam_step",
        ] {
            assert!(all.iter().any(|n| n == k), "{k} missing from {all:?}");
        }
        assert_eq!(all.len(), 15);
    }
}

/// The buffers and sizes of one conv+pool+ReLU stage, for [`CudaBackend::conv_pool_backward`].
#[derive(Clone, Copy)]
struct PoolStage {
    /// The stage's output (pooled, after ReLU).
    act: Buf,
    /// Gradient at `act`.
    drelu: Buf,
    /// Which of the four pooled values won.
    code: Buf,
    /// Gradient at the stage's conv output (before pooling).
    dconv: Buf,
    /// Channels of `act` (the next conv's input).
    cin: usize,
    /// Output channels of the next conv.
    cout: usize,
    /// Side of `act`.
    s: usize,
}
