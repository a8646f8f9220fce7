//! The CUDA backend: any network (its [`Plan`](crate::nn::arch::Plan)) on an NVIDIA GPU
//! with our own kernels (`kernels/*.cu`).
//!
//! Everything but the driver calls lives here, behind the small [`Gpu`] trait: the plan
//! made into a launch list with its buffers ([`program`]), launch sizes, dropout masks and
//! the Adam step on the device. Two implementations of [`Gpu`] run it:
//! - [`CudarcGpu`](cudarc_gpu::CudarcGpu): the real device, through cudarc (driver API,
//!   kernels compiled once per process with NVRTC, libraries loaded at run time);
//! - the emulator of the tests (`tests/suite/common/emu.rs`): the same kernel sources compiled
//!   as C++ and run on the CPU, so that all of this is tested without a GPU.
//!
//! Training keeps the parameters (and batch norm's running statistics) and Adam's moments
//! on the device across [`Backend::train_step`] calls; [`Backend::sync_to_host`] copies
//! them back.
//! Each step uploads the batch and its targets once and downloads two floats
//! (loss sum and number right); the dropout masks are drawn on the device from the same
//! ChaCha8 stream as the CPU backend, so both train the same net.

pub mod cudarc_gpu;
mod program;

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use super::{check_input, Backend, BatchStats};
use crate::nn::adam::Adam;
use crate::nn::dropout::MaskStream;
use crate::nn::net::Net;
use crate::{Error, Result};
use program::{Program, Tensors};

/// The kernel sources, file name and text, in the order they are compiled together.
pub const SOURCES: [(&str, &str); 7] = [
    ("conv.cu", include_str!("../../../kernels/conv.cu")),
    ("pool.cu", include_str!("../../../kernels/pool.cu")),
    ("act.cu", include_str!("../../../kernels/act.cu")),
    ("linear.cu", include_str!("../../../kernels/linear.cu")),
    ("loss.cu", include_str!("../../../kernels/loss.cu")),
    ("norm.cu", include_str!("../../../kernels/norm.cu")),
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

/// The parameters, their gradients and Adam's moments, each one buffer holding the
/// tensors one after another in `state_dict` order.
#[derive(Debug)]
struct State {
    sizes: Vec<usize>,
    offsets: Vec<usize>,
    /// Runs of trainable tensors (buffers left out): first value and length, for Adam.
    runs: Vec<(usize, usize)>,
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
    program: Option<Program>,
    resident: Option<Resident>,
    grads: Vec<Vec<f32>>,
    staging: Vec<f32>,
}

impl<G: Gpu> std::fmt::Debug for CudaBackend<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CudaBackend {{ {} }}", self.gpu.name())
    }
}

/// Launch `kernel` with one thread per each of `total` outputs.
fn launch<G: Gpu>(gpu: &mut G, kernel: &str, total: usize, args: &[Arg]) -> Result<()> {
    let total = u32::try_from(total).map_err(dev(kernel))?;
    let blocks = total.div_ceil(THREADS).max(1);
    gpu.launch(kernel, blocks, THREADS, args)
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
            program: None,
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

    /// Make (or remake) the parameter buffers for `net`'s shapes and the batch buffers
    /// for `n` images.
    fn prepare(&mut self, net: &Net, n: usize) -> Result<()> {
        let sizes: Vec<usize> = net.params.iter().map(|p| p.data.len()).collect();
        let runs = trainable_runs(net);
        if self.state.as_ref().map(|s| (&s.sizes, &s.runs)) != Some((&sizes, &runs)) {
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
                runs,
                params: self.gpu.alloc(total)?,
                grads: self.gpu.alloc(total)?,
                m: self.gpu.alloc(total)?,
                v: self.gpu.alloc(total)?,
            });
            self.grads = sizes.iter().map(|&s| vec![0.0; s]).collect();
        }
        let fits = self
            .program
            .as_ref()
            .is_some_and(|p| p.cap >= n && p.plan == *net.plan);
        if !fits {
            if let Some(p) = self.program.take() {
                p.free(&mut self.gpu);
            }
            self.program = Some(Program::new(&mut self.gpu, &net.plan, n)?);
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
        input: &[f32],
        targets: Option<&[usize]>,
        dropout: Option<&mut ChaCha8Rng>,
        backward: bool,
    ) -> Result<Option<(f32, f32)>> {
        let st = self
            .state
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))?;
        let prog = self
            .program
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))?;
        let t = Tensors {
            params: st.params,
            grads: st.grads,
            offsets: &st.offsets,
        };
        let n = input.len() / prog.plan.input_len().max(1);
        self.gpu.upload(prog.x, 0, input)?;
        if let Some(t) = targets {
            let t: Vec<i32> = t.iter().map(|&v| v as i32).collect();
            self.gpu.upload_i32(prog.targets, 0, &t)?;
        }
        // the same words as the CPU backend draws (see [`MaskStream`])
        let masks = dropout.map(|rng| MaskStream::take(rng, n, &prog.units()));
        let train = masks.is_some();
        prog.forward(&mut self.gpu, &t, n, masks.as_ref(), targets.is_some())?;
        if targets.is_none() {
            return Ok(None);
        }
        if backward {
            prog.backward(&mut self.gpu, &t, n, train)?;
        }
        prog.batch_stats(&mut self.gpu, n).map(Some)
    }

    /// After a training-mode pass: batch norm's running statistics (updated on the device)
    /// into `net`.
    fn download_buffers(&mut self, net: &mut Net) -> Result<()> {
        let st = self.state()?;
        let (buf, offsets) = (st.params, st.offsets.clone());
        for (p, o) in net.params.iter_mut().zip(offsets) {
            if !p.trainable {
                self.gpu.download(buf, o, &mut p.data)?;
            }
        }
        Ok(())
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
        let train = dropout.is_some();
        let sums = self.pass(input, Some(targets), dropout, true)?;
        let bn = self.program.as_ref().is_some_and(Program::has_batchnorm);
        if train && bn {
            self.download_buffers(net)?;
        }
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
        let sums = self.pass(input, Some(targets), dropout, true)?;
        let t = (adam.step + 1) as i32;
        let bc1 = 1.0 - adam.beta1.powi(t);
        let bc2 = 1.0 - adam.beta2.powi(t);
        let st = self.state()?;
        let (p, g, m, v) = (st.params, st.grads, st.m, st.v);
        for (o, len) in st.runs.clone() {
            launch(
                &mut self.gpu,
                "adam_step",
                len,
                &[
                    Arg::Buf(p, o),
                    Arg::Buf(g, o),
                    Arg::Buf(m, o),
                    Arg::Buf(v, o),
                    Arg::I32(len as i32),
                    Arg::F32((1.0 - adam.beta1) as f32),
                    Arg::F32(adam.beta2 as f32),
                    Arg::F32((1.0 - adam.beta2) as f32),
                    Arg::F32(adam.eps as f32),
                    Arg::F32((adam.lr / bc1) as f32),
                    Arg::F32(bc2.sqrt() as f32),
                    Arg::F32(adam.weight_decay as f32),
                ],
            )?;
        }
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
        self.pass(input, None, None, false)?;
        let k = net.classes();
        let mut out = vec![0.0f32; n * k];
        let logp = self
            .program
            .as_ref()
            .ok_or_else(|| Error::Device("GPU buffers not made".into()))?
            .logp;
        self.gpu.download(logp, 0, &mut out)?;
        Array2::from_shape_vec((n, k), out).map_err(|e| Error::shape("predict", e))
    }
}

/// Runs of consecutive trainable tensors of `net` (state_dict order): each run's first
/// value and length, so that Adam leaves the buffers between them alone.
fn trainable_runs(net: &Net) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    let mut open = false;
    for p in &net.params {
        let len = p.data.len();
        if p.trainable {
            match runs.last_mut() {
                Some(r) if open => r.1 += len,
                _ => runs.push((at, len)),
            }
        }
        open = p.trainable;
        at += len;
    }
    runs
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
            "conv_fwd",
            "conv_dx",
            "conv_dwb_part",
            "maxpool_fwd",
            "maxpool_bwd",
            "avgpool_fwd",
            "avgpool_bwd",
            "act_fwd",
            "act_bwd",
            "dropout_apply",
            "linear_bias",
            "linear_bwd_x",
            "bn_train_stats",
            "bn_eval_stats",
            "bn_apply",
            "bn_grad_sums",
            "bn_bwd",
        ] {
            assert!(all.iter().any(|n| n == k), "{k} missing from {all:?}");
        }
        assert_eq!(all.len(), 32);
    }

    #[test]
    fn adam_runs_leave_out_the_batch_norm_buffers() {
        use crate::nn::arch::{Arch, Plan};
        let course = Net::course(1, 3);
        assert_eq!(trainable_runs(&course), [(0, 77_991)]);
        assert_eq!(course.num_values(), 77_991);
        let arch = Arch::parse("conv(2,3) batchnorm relu flatten linear").unwrap();
        let net = Net::new(Plan::new(&arch, [1, 4, 4], 3).unwrap(), 1);
        // conv1 2*9+2, bn1 weight+bias 2+2 | running mean, var 2+2, count 1 | fc 3*32+3
        assert_eq!(trainable_runs(&net), [(0, 24), (29, 99)]);
    }
}
