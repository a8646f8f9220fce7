//! The training screen: settings, live training on a worker thread, then the results
//! (evaluation, loss history, what the first layer learned, save/load, predict).
//!
//! Training runs [`crate::train::run`], the same loop as `cnn-tutor train`, on a worker
//! thread that reports [`WorkerMsg`]s over a channel. The UI thread drains that channel on
//! every [`AppEvent::Tick`](super::AppEvent::Tick), so keys are answered at once and the
//! screen redraws at the tick rate. State changes only in [`TrainingState::apply`] and
//! [`TrainingState::key`]; [`view::render`] draws it without changing it.

mod preview;
mod queue;
mod state;
pub(crate) mod view;
mod worker;

pub use preview::{preview, ClassPreview, DataPreview};
pub use queue::{Ticket, TrainQueue};
pub use state::{
    KeyOutcome, Phase, PredictView, ResultsTab, SettingField, TrainPrefs, TrainSettings,
    TrainingState, LOG_LINES, RESTRICTED,
};
pub use worker::{spawn_worker, WorkerHandle, WorkerMsg};
