//! The math of the network, written once. Lessons and training call the same functions.

pub mod ops;
