//! The training screen: settings, live training on a worker thread, then the results
//! (evaluation, loss history, what the first layer learned, save/load, predict).
//!
//! Training runs [`crate::train::run`], the same loop as `cnn-tutor train`, on a worker
//! thread that reports [`WorkerMsg`]s over a channel. The UI thread drains that channel on
//! every [`AppEvent::Tick`](super::AppEvent::Tick), so keys are answered at once and the
//! screen redraws at the tick rate.
//!
//! One module per step: [`settings`] (the form), [`running`] (a run and its progress),
//! [`results`] (one module per tab), [`runs_view`] (the runs kept, compared). [`Phase`] carries the step's data. State changes only
//! in [`TrainingState::apply`], [`TrainingState::key`] and [`TrainingState::done`];
//! [`view::render`] draws it without changing it and computes no network op. Keys come
//! from one table ([`actions`]); files and devices are touched only by the [`effects`]
//! the state asks for, which the front end runs.

pub mod actions;
pub mod arch_editor;
mod component;
pub mod effects;
mod fields;
mod lab_lock;
pub mod network_panel;
mod preview;
mod queue;
pub mod results;
pub mod running;
pub mod runs_view;
pub mod settings;
mod state;
pub(crate) mod view;
mod worker;

pub use component::{OverTrainingAction, OVER_TRAINING};
pub use effects::{Done, Effect, Need, RESTRICTED};
pub use preview::{preview, ClassPreview, DataPreview};
pub use queue::{Ticket, TrainQueue};
pub use results::{render_filters, Filters, PredictView, Results, ResultsTab};
pub use running::{Run, Stop, LOG_LINES};
pub use runs_view::{RunSort, RunsView};
pub use settings::{SettingField, SettingsForm, TrainPrefs, TrainSettings};
pub use state::{KeyOutcome, Phase, PhaseKind, TrainingState};
pub use worker::{spawn_worker, spawn_worker_kept, spawn_worker_with, WorkerHandle, WorkerMsg};
