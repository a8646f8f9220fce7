//! The math of the network, written once. Lessons and training call the same functions.

pub mod adam;
pub mod arch;
pub mod checkpoint;
pub mod direct;
pub mod directk;
pub mod dropout;
pub mod kernels;
pub mod layers;
pub mod net;
pub mod ops;
pub mod phases;
pub mod plan;
pub mod presets;
pub mod pytorch;
pub mod sgd;
pub mod simd;
