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
