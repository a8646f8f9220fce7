//! Helpers shared by integration tests.
pub mod emu;
pub mod parity;
