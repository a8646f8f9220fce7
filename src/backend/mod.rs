//! Where the ops run: the CPU (ndarray) today, CUDA behind the same trait later.

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

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

use crate::nn::adam::Adam;
use crate::nn::net::ShapesNet;
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

/// A device that runs the shapes net on batches of normalised 3x128x128 images
/// (`input` = images one after another, CHW f32).
pub trait Backend: Send {
    /// A short description for messages, e.g. `cpu (2 threads)`.
    fn name(&self) -> String;

    /// Forward, loss and backward for one batch. With `dropout`, the net is in training
    /// mode and the masks are drawn from that generator; without, the dropouts are off.
    /// The gradients of the mean loss are then available from [`Backend::grads`].
    fn forward_backward(
        &mut self,
        net: &ShapesNet,
        input: &[f32],
        targets: &[usize],
        dropout: Option<&mut ChaCha8Rng>,
    ) -> Result<BatchStats>;

    /// The gradients of the last [`Backend::forward_backward`], one per parameter,
    /// in `state_dict` order.
    fn grads(&self) -> &[Vec<f32>];

    /// One training step: forward, loss, backward, then one Adam update of `net`.
    fn train_step(
        &mut self,
        net: &mut ShapesNet,
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
    fn predict(&mut self, net: &ShapesNet, input: &[f32]) -> Result<Array2<f32>>;
}

/// Whether an NVIDIA driver is visible on this machine.
fn nvidia_driver_present() -> bool {
    std::path::Path::new("/proc/driver/nvidia/version").exists()
        || std::path::Path::new("/dev/nvidia0").exists()
}

/// Make the backend asked for. `threads`: CPU worker threads (`None`: one per core).
/// Returns the backend and, for `auto`, a one-line note saying what was chosen.
/// `cuda` is an [`Error::Device`] for now (exit code 2).
pub fn select(
    choice: DeviceChoice,
    threads: Option<usize>,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    match choice {
        DeviceChoice::Cpu => Ok((Box::new(CpuBackend::new(threads)?), None)),
        DeviceChoice::Cuda => Err(Error::Device(if nvidia_driver_present() {
            "CUDA GPU found, but this build has no CUDA backend yet; use --device cpu".into()
        } else {
            "no CUDA GPU: no NVIDIA driver found on this machine; use --device cpu (or auto)".into()
        })),
        DeviceChoice::Auto => {
            let cpu = CpuBackend::new(threads)?;
            let why = if nvidia_driver_present() {
                "this build has no CUDA backend yet"
            } else {
                "no CUDA GPU found"
            };
            let note = format!(
                "note: {why}, running on the CPU ({} threads)",
                cpu.threads()
            );
            Ok((Box::new(cpu), Some(note)))
        }
    }
}
