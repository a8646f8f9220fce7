//! What the training screen asks of the outside world. The state never touches a file or
//! probes a device itself: its key handling returns [`Effect`]s, the front end carries
//! them out with [`run`] and hands each [`Done`] back to
//! [`TrainingState::done`](super::TrainingState::done).
//!
//! The one place a front end's limits live is here: [`refused`] says which effects a
//! classroom session (`TrainPrefs::restricted`) may not have (loading a model, reading an
//! image file the student names: both would read files on the server), and saving always
//! goes to `TrainPrefs::model_path`, which the server makes per student. The key table
//! asks [`refused`] too, so a refused key says so at once and its hint is not shown.

use std::path::PathBuf;

use crate::nn::checkpoint::{self, CheckpointMeta};
use crate::nn::net::Net;

use super::preview::DataPreview;
use super::settings::TrainPrefs;

/// The note for what a classroom session may not do (it would read server files).
pub const RESTRICTED: &str = "not available in a classroom session";

/// Something the training screen needs done outside it.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Find out whether CUDA can be chosen here.
    ProbeDevices,
    /// Look at the data folder (the first image and the count of each class).
    PreviewData(PathBuf),
    /// Write the model and its metadata to the model file; unless `overwrite`, an
    /// existing file is not touched and the learner is asked first.
    Save {
        /// The trained network.
        net: Box<Net>,
        /// What the checkpoint records about it.
        meta: CheckpointMeta,
        /// Replace an existing file.
        overwrite: bool,
        /// The kept run it is (its record notes where it was saved).
        run: Option<String>,
    },
    /// Read the model file.
    Load,
    /// Read the model file and evaluate it on its own validation split (after `Load`).
    EvaluateModel,
    /// Read an image file the learner named, to classify it.
    ReadImage(PathBuf),
    /// Complete a path being typed from the file system (Tab in a path box).
    Complete {
        /// What is typed.
        text: String,
        /// Folders only.
        dirs_only: bool,
    },
    /// Train on this folder from now on, if it can be read: the preview of it.
    ChooseData(PathBuf),
    /// Open the inspector on this model and image (the app does it, not [`run`]).
    Inspect(Box<crate::tui::inspector::InspectRequest>),
    /// Read the runs kept in `TrainPrefs::runs_dir`.
    ListRuns,
    /// Read the kept weights of this run (its id).
    OpenRun(String),
    /// Evaluate this run's kept weights on their own validation split (after `OpenRun`).
    EvaluateRun(String),
}

/// What a front end may refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reading the model file (`L`).
    ReadModel,
    /// Reading a file or folder the learner names (`o` on the predict tab, the data
    /// folder, Tab completion).
    ReadFile,
}

impl Effect {
    /// What of the front end this effect needs, when it may be refused.
    pub fn need(&self) -> Option<Need> {
        match self {
            Effect::Load | Effect::EvaluateModel => Some(Need::ReadModel),
            Effect::ReadImage(_) | Effect::Complete { .. } | Effect::ChooseData(_) => {
                Some(Need::ReadFile)
            }
            Effect::ProbeDevices
            | Effect::PreviewData(_)
            | Effect::Save { .. }
            | Effect::Inspect(_)
            // the runs folder is the server's choice, per student; ids are checked
            | Effect::ListRuns
            | Effect::OpenRun(_)
            | Effect::EvaluateRun(_) => None,
        }
    }
}

/// Why `need` is refused under `prefs` (`None`: allowed). The one place that decides.
pub fn refused(prefs: &TrainPrefs, need: Need) -> Option<&'static str> {
    match need {
        Need::ReadModel | Need::ReadFile if prefs.restricted => Some(RESTRICTED),
        Need::ReadModel | Need::ReadFile => None,
    }
}

/// How an effect went.
#[derive(Debug)]
pub enum Done {
    /// Why CUDA cannot be chosen here (`None`: it can).
    Devices(Option<String>),
    /// The data folder, as the settings step shows it.
    Preview(DataPreview),
    /// The model was written to this file.
    Saved(PathBuf),
    /// Not written: this file exists (ask before overwriting).
    Exists(PathBuf),
    /// Not written: why.
    NotSaved(String),
    /// The model file was read.
    Loaded(PathBuf, Box<Net>, CheckpointMeta),
    /// The model file could not be read: why.
    NotLoaded(String),
    /// The model file's evaluation on its own validation split.
    Evaluated(Box<super::results::Evaluation>),
    /// The model file could not be evaluated: why.
    NotEvaluated(String),
    /// The image file was read: its pixels, CHW.
    Image(PathBuf, Vec<u8>),
    /// The image file could not be read: why.
    NoImage(String),
    /// What Tab found for a path being typed.
    Completed(crate::tui::path_input::Completion),
    /// The data folder to train on from now on, and its preview.
    DataChosen(PathBuf, DataPreview),
    /// Not a folder to train on: why.
    NoData(String),
    /// The front end does not do this here: why.
    Refused(&'static str),
    /// The runs kept (oldest first) and a warning for each record skipped.
    Runs(Vec<crate::train::runs::RunRecord>, Vec<String>),
    /// A run's kept weights were read: its id, the net and what its checkpoint records.
    RunOpened(String, Box<Net>, CheckpointMeta),
}

/// Carry out `effect` as `prefs` allow.
pub fn run(prefs: &TrainPrefs, effect: Effect) -> Done {
    if let Some(why) = effect.need().and_then(|n| refused(prefs, n)) {
        return Done::Refused(why);
    }
    match effect {
        Effect::ProbeDevices => Done::Devices(
            crate::backend::select(crate::backend::DeviceChoice::Cuda, Some(1))
                .err()
                .map(|e| e.to_string()),
        ),
        Effect::PreviewData(dir) => Done::Preview(super::preview::preview(&dir)),
        Effect::Save {
            net,
            meta,
            overwrite,
            run,
        } => {
            let path = prefs.model_path.clone();
            if path.exists() && !overwrite {
                return Done::Exists(path);
            }
            match checkpoint::save(&path, &net, &meta) {
                Ok(()) => {
                    if let (Some(dir), Some(id)) = (&prefs.runs_dir, run) {
                        // best effort: the model is saved whether or not the note is
                        let _ = crate::train::runs::note_saved(dir, &id, &path);
                    }
                    if prefs.restricted {
                        // a classroom session: the server's log (its stderr) keeps the save
                        eprintln!("saved a model: {}", crate::text::path(&path));
                    }
                    Done::Saved(path)
                }
                Err(e) => Done::NotSaved(e.to_string()),
            }
        }
        Effect::Load => match checkpoint::load(&prefs.model_path) {
            Ok((net, meta)) => Done::Loaded(prefs.model_path.clone(), Box::new(net), meta),
            Err(e) => Done::NotLoaded(e.to_string()),
        },
        Effect::EvaluateModel => match checkpoint::load(&prefs.model_path) {
            Ok((net, meta)) => {
                match super::results::Evaluation::of_checkpoint(&net, &meta, prefs.cache_mb) {
                    Ok(ev) => Done::Evaluated(Box::new(ev)),
                    Err(e) => Done::NotEvaluated(e),
                }
            }
            Err(e) => Done::NotEvaluated(e.to_string()),
        },
        Effect::ReadImage(path) => match crate::data::load_image(&path) {
            Ok(chw) => Done::Image(path, chw),
            Err(e) => Done::NoImage(e.to_string()),
        },
        Effect::Complete { text, dirs_only } => {
            Done::Completed(crate::tui::path_input::complete(&text, dirs_only))
        }
        Effect::ChooseData(dir) => {
            if dir.is_dir() || crate::data::is_default_data_dir(&dir) {
                let preview = super::preview::preview(&dir);
                Done::DataChosen(dir, preview)
            } else if dir.exists() {
                // said beside the path typed, so the path is not said again
                Done::NoData("not a folder".into())
            } else {
                Done::NoData("no such folder".into())
            }
        }
        // the router opens the inspector (see the training screen's `on_key`)
        Effect::Inspect(_) => Done::Refused("the inspector opens from the app"),
        Effect::ListRuns => match &prefs.runs_dir {
            Some(dir) => {
                let (runs, warnings) = crate::train::runs::load_all(dir);
                Done::Runs(runs, warnings)
            }
            None => Done::Runs(Vec::new(), Vec::new()),
        },
        Effect::OpenRun(id) => match run_model(prefs, &id).and_then(|p| checkpoint::load(&p)) {
            Ok((net, meta)) => Done::RunOpened(id, Box::new(net), meta),
            Err(e) => Done::NotLoaded(e.to_string()),
        },
        Effect::EvaluateRun(id) => match run_model(prefs, &id).and_then(|p| checkpoint::load(&p)) {
            Ok((net, meta)) => {
                match super::results::Evaluation::of_checkpoint(&net, &meta, prefs.cache_mb) {
                    Ok(ev) => Done::Evaluated(Box::new(ev)),
                    Err(e) => Done::NotEvaluated(e),
                }
            }
            Err(e) => Done::NotEvaluated(e.to_string()),
        },
    }
}

/// The kept weights of run `id` (an id that is not one is refused: no path is made of it).
fn run_model(prefs: &TrainPrefs, id: &str) -> crate::Result<PathBuf> {
    let dir = prefs
        .runs_dir
        .as_ref()
        .ok_or_else(|| crate::Error::Other("no runs are kept here".into()))?;
    if crate::train::runs::id_key(id).is_none() {
        return Err(crate::Error::Other(format!(
            "no run {}",
            crate::text::escaped(id)
        )));
    }
    Ok(crate::train::runs::model_path(dir, id))
}
