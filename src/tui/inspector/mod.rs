//! The inspector (issue 13): every feature map of one image through the trained net, and
//! how any one cell was computed, from [`crate::explore::Explorer`].
//!
//! [`InspectorState`] (`state.rs`) holds the explorer, the view and the cursor, and the
//! explanation of the cell under it, computed when the cursor moves; [`actions`] is its
//! key table; `view.rs` draws it without running the network. Reading an image file is a
//! training-screen [`Effect`](super::training::Effect) the front end runs (and a
//! classroom refuses).

pub mod actions;
mod component;
mod explain_view;
mod growth;
mod state;
pub(crate) mod view;

pub use state::{
    Drawing, Explain, Focus, InspectRequest, InspectorState, Outcome, View, DRAW_SIDE, PALETTE,
};
pub use view::DROPOUT_OFF;
