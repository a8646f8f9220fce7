//! cnn-tutor: learn how a convolutional neural network works, one cell at a time,
//! then train the seed course's shapes CNN live in the terminal.
//!
//! The math lives once, in [`nn`]; [`backend`] runs it on a device; [`data`] makes and
//! loads the shapes images; [`train`] drives training and reports events; [`lesson`]
//! turns lesson files into frames by calling [`nn`]; [`tui`] draws them; [`cli`] holds
//! the headless commands that `main.rs` dispatches to.

pub mod backend;
pub mod cast;
pub mod cli;
pub mod data;
pub mod error;
pub mod explore;
pub mod filters_look;
pub mod fsutil;
pub mod lesson;
pub mod nn;
pub mod serve;
pub mod text;
pub mod train;
pub mod tui;
pub mod why;

pub use error::{Error, Result};
