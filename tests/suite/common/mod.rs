//! Helpers shared by integration tests.
pub mod emu;
pub mod fake_cuda;
pub mod parity;
pub mod ssh;
