//! Getting a run ready, once for every front end: the settings checked, the device
//! chosen, the data made (the default folder only) or loaded within the memory budget,
//! the split drawn and the network placed on the data's classes. `cnn-tutor train` and
//! the training screen both call [`prepare`]; [`super::run`] takes the result as it is.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{checkpoint_meta, EpochReport, TrainConfig};
use crate::backend::{self, Backend};
use crate::data::{self, Dataset};
use crate::nn::arch::{Plan, DEFAULT_INPUT};
use crate::nn::checkpoint::CheckpointMeta;
use crate::{Error, Result};

/// How [`prepare`] gets the data.
#[derive(Debug, Clone, Copy)]
pub struct DataOptions {
    /// Megabytes of decoded images kept in memory (the rest are streamed from disk).
    pub cache_mb: usize,
    /// Draw the default folder (`data/shapes`) when it is missing.
    pub make_default: bool,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            cache_mb: data::DEFAULT_CACHE_MB,
            make_default: true,
        }
    }
}

/// A run ready to start: what [`super::run`] needs besides a backend.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The settings, checked.
    pub config: TrainConfig,
    /// Every image of the folder (shared, not copied).
    pub dataset: Arc<Dataset>,
    /// The training images' indices, in the order the batches take them.
    pub train_idx: Vec<usize>,
    /// The validation images' indices, in the order the validation pass visits them.
    pub val_idx: Vec<usize>,
    /// The network placed on the input size and the data's class count.
    pub plan: Plan,
    /// Who trains (`app`), recorded in the checkpoint beside the version.
    pub front_end: Option<&'static str>,
}

impl Prepared {
    /// A run of `config` on `dataset`, already in memory: the settings checked, the data
    /// checked (two classes and two images at least), split, and the network placed.
    pub fn new(config: TrainConfig, dataset: Arc<Dataset>) -> Result<Prepared> {
        config.validate()?;
        Prepared::on_data(config, dataset)
    }

    /// [`Prepared::new`] for settings already checked.
    fn on_data(config: TrainConfig, dataset: Arc<Dataset>) -> Result<Prepared> {
        let classes = dataset.classes.len();
        if classes < 2 {
            return Err(Error::Data(format!(
                "{} has {classes} class folder(s); a classifier needs at least two (one sub-folder per class, e.g. circle/, square/)",
                crate::text::path(&config.data_dir),
            )));
        }
        if dataset.len() < 2 {
            return Err(Error::Data(format!(
                "{} holds {} image(s); training needs at least 2 (one to train on, one to validate)",
                crate::text::path(&config.data_dir),
                dataset.len()
            )));
        }
        let plan = Plan::new(&config.arch, DEFAULT_INPUT, classes)?;
        // as the CPU backend uses them: at most one per core
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = config.threads.unwrap_or(cores).clamp(1, cores);
        super::estimate::check_memory(
            &plan,
            config.batch_size,
            threads,
            config.optimizer.state_values(),
            config.memory_limit_mb,
        )?;
        let (mut train_idx, val_idx) = data::split(dataset.len(), config.seed);
        train_idx.truncate(train_used(train_idx.len(), config.train_share));
        Ok(Prepared {
            config,
            dataset,
            train_idx,
            val_idx,
            plan,
            front_end: None,
        })
    }

    /// Images in the training split (`train_idx` holds the share of them trained on).
    pub fn split_train_size(&self) -> usize {
        self.dataset.len() - self.val_idx.len()
    }

    /// The class names, in label order.
    pub fn classes(&self) -> &[String] {
        &self.dataset.classes
    }

    /// What a checkpoint of this run records after `reports` (see
    /// [`super::checkpoint_meta`]): the settings of the run that happened.
    pub fn checkpoint_meta(&self, reports: &[EpochReport]) -> CheckpointMeta {
        checkpoint_meta(
            &self.config,
            (
                self.split_train_size(),
                self.val_idx.len(),
                self.train_idx.len(),
            ),
            reports,
            self.dataset.classes.clone(),
            self.front_end,
        )
    }
}

/// Images trained on out of a training split of `split` at `share`: rounded, at least
/// one (when there is one).
pub fn train_used(split: usize, share: f64) -> usize {
    if share >= 1.0 {
        return split;
    }
    ((split as f64 * share).round() as usize).clamp(split.min(1), split)
}

/// A prepared run and the backend chosen for it.
pub struct Ready {
    /// The run.
    pub run: Prepared,
    /// Where it runs.
    pub backend: Box<dyn Backend>,
}

/// Prepare `config`: check the settings (a typo fails before any data is read), choose the
/// device, make the default data folder when it is missing and `data.make_default`, load
/// the images within `data.cache_mb`, split, place the network. Every note (the device
/// chosen, images made, resized or skipped, the memory used) goes to `notes` as it
/// happens. `Ok(None)`: `cancel` was set while the data was being made or read.
pub fn prepare(
    config: TrainConfig,
    data: DataOptions,
    notes: &mut dyn FnMut(String),
    cancel: &AtomicBool,
) -> Result<Option<Ready>> {
    config.validate()?;
    let (backend, device_note) = backend::select(config.device, config.threads)?;
    if let Some(n) = device_note {
        notes(n);
    }
    let dir: &Path = &config.data_dir;
    data::ensure_dataset_with(
        dir,
        data.make_default && data::is_default_data_dir(dir),
        data::DEFAULT_PER_CLASS,
        data::DEFAULT_GENERATE_SEED,
        notes,
    )?;
    if cancel.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let budget = data::budget_bytes(data.cache_mb);
    // runs reading the same folder at once (a classroom) share one copy of its images
    let (dataset, more) = data::load_folder_shared(dir, budget)?;
    for n in more {
        notes(n);
    }
    notes(dataset.memory_line(budget));
    if cancel.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let run = Prepared::on_data(config, dataset)?;
    Ok(Some(Ready { run, backend }))
}
