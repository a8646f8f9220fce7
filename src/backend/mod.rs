//! Where the ops run: the CPU ([`cpu`]) or an NVIDIA GPU ([`cuda`]), behind one trait; and
//! [`reference`], which checks a backend against a PyTorch dump.

/// The device asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// An NVIDIA GPU (error when none is present).
    Cuda,
    /// A GPU when one is present, else the CPU (and say so).
    #[default]
    Auto,
}

pub mod cpu;
pub mod cuda;
pub mod reference;

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use crate::nn::adam::Adam;
use crate::nn::net::Net;
use crate::{Error, Result};

pub use cpu::CpuBackend;

/// What one batch gave: its mean loss and how many images were classified right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchStats {
    /// Cross-entropy, mean over the batch (PyTorch's `CrossEntropyLoss`).
    pub loss: f32,
    /// Images whose highest log-probability is their target.
    pub correct: usize,
    /// Images in the batch.
    pub images: usize,
}

/// A device that runs a network on batches of normalised images of its plan's input size
/// (`input` = images one after another, CHW f32).
pub trait Backend: Send {
    /// A short description for messages, e.g. `cpu (2 threads)`.
    fn name(&self) -> String;

    /// Forward, loss and backward for one batch. With `dropout`, the net is in training
    /// mode: the masks are drawn from that generator, batch norm uses the batch's
    /// statistics and updates its running statistics in `net`; without, the dropouts are
    /// off and batch norm uses the running statistics. The gradients of the mean loss
    /// are then available from [`Backend::grads`].
    fn forward_backward(
        &mut self,
        net: &mut Net,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats>;

    /// The gradients of the last [`Backend::forward_backward`], one per tensor of the net
    /// in `state_dict` order (zeros for buffers).
    fn grads(&self) -> &[Vec<f32>];

    /// One training step: forward, loss, backward, then one Adam update of `net`.
    fn train_step(
        &mut self,
        net: &mut Net,
        adam: &mut Adam,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats> {
        let stats = self.forward_backward(net, input, targets, dropout)?;
        adam.step(&mut net.params, self.grads());
        Ok(stats)
    }

    /// Eval-mode forward (dropouts off): log-probabilities, [images, classes].
    fn predict(&mut self, net: &Net, input: &[f32]) -> Result<Array2<f32>>;

    /// Bring `net` and `adam` up to date after [`Backend::train_step`]s. A backend may
    /// keep the parameters and Adam's moments on its device across steps (the GPU does);
    /// call this before reading `net` (validation, saving). The CPU has nothing to do.
    fn sync_to_host(&mut self, net: &mut Net, adam: &mut Adam) -> Result<()> {
        let _ = (net, adam);
        Ok(())
    }
}

/// Check a batch: whole images of the net's input size, one target per image, each below
/// the class count. Returns the number of images.
pub(crate) fn check_input(net: &Net, input: &[f32], targets: Option<&[usize]>) -> Result<usize> {
    let len = net.plan.input_len();
    if input.is_empty() || !input.len().is_multiple_of(len) {
        let [c, h, w] = net.plan.input_dims();
        return Err(Error::Other(format!(
            "input holds {} floats, not a whole number of {c}x{h}x{w} images",
            input.len()
        )));
    }
    let n = input.len() / len;
    if let Some(t) = targets {
        if t.len() != n {
            return Err(Error::Other(format!("{} targets for {n} images", t.len())));
        }
        if let Some(&bad) = t.iter().find(|&&t| t >= net.classes()) {
            return Err(Error::Other(format!(
                "target class {bad} but the net has {} classes",
                net.classes()
            )));
        }
    }
    Ok(n)
}

/// The CUDA backend on the first GPU, or why there is none (one line).
pub fn cuda_backend() -> Result<cuda::CudaBackend<cuda::cudarc_gpu::CudarcGpu>> {
    Ok(cuda::CudaBackend::new(cuda::cudarc_gpu::CudarcGpu::new(0)?))
}

/// Make the backend asked for. `threads`: CPU worker threads (`None`: one per core).
/// Returns the backend and, for `auto`, a one-line note saying what was chosen.
/// `cuda` without a usable GPU (no driver, no device, no NVRTC, kernels that do not
/// compile) is an [`Error::Device`] (exit code 2); `auto` then runs on the CPU and says why.
pub fn select(
    choice: DeviceChoice,
    threads: Option<usize>,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    match choice {
        DeviceChoice::Cpu => Ok((Box::new(CpuBackend::new(threads)?), None)),
        DeviceChoice::Cuda => Ok((Box::new(cuda_backend()?), None)),
        DeviceChoice::Auto => match cuda_backend() {
            Ok(gpu) => {
                let note = format!("note: running on the GPU, {}", gpu.name());
                Ok((Box::new(gpu), Some(note)))
            }
            Err(e) => {
                let cpu = CpuBackend::new(threads)?;
                let why = e.to_string();
                let why = why.strip_suffix("; use --device cpu").unwrap_or(&why);
                let note = format!(
                    "note: {why}; running on the CPU ({} threads)",
                    cpu.threads()
                );
                Ok((Box::new(cpu), Some(note)))
            }
        },
    }
}
