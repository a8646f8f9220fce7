//! Lessons: lesson files (data), the step engine that turns them into frames by calling
//! [`crate::nn::ops`], and the plain-text printer.

pub mod frame;
