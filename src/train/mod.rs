//! The training loop: runs on a worker thread and reports [`TrainEvent`]s over a channel,
//! so the headless `train` command and the app's training screen drive it the same way.
//!
//! The protocol is the seed's: a seeded 70/30 split, batches of 50 in split order
//! (`shuffle=False`), Adam with lr 0.001, 5 epochs; the training loss of an epoch is the
//! mean of its batch losses, the validation loss the mean of the validation batch losses,
//! and the accuracy correct / validation images.

pub mod estimate;
pub mod growth;
pub mod lab;
pub mod metrics;
mod prepare;
pub mod report;
pub mod runs;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, DeviceChoice};
use crate::data::{self, IMAGE_LEN};
use crate::nn::adam::Adam;
use crate::nn::arch::{Arch, Layer, Plan, DEFAULT_INPUT};
use crate::nn::checkpoint::{self, CheckpointMeta};
use crate::nn::net::Net;
use crate::nn::sgd::Sgd;
use crate::{Error, Result};
pub use metrics::ConfusionMatrix;
pub use prepare::{prepare, train_used, DataOptions, Prepared, Ready};

/// What to train on and how.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The image folder (one sub-folder per class).
    pub data_dir: PathBuf,
    /// Passes over the training images (at least 1).
    pub epochs: usize,
    /// Images per batch (at least 1).
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Seed of the initial weights, the split and the dropout masks.
    pub seed: u64,
    /// Where to run.
    pub device: DeviceChoice,
    /// CPU threads (`None`: one per core).
    pub threads: Option<usize>,
    /// Where to save the trained net (`None`: do not save).
    pub out: Option<PathBuf>,
    /// The network (the course's by default).
    pub arch: Arch,
    /// How the weights are updated.
    pub optimizer: OptimizerChoice,
    /// L2 penalty added to every gradient (PyTorch's `weight_decay`; 0: none).
    pub weight_decay: f64,
    /// Vary the training images every epoch: each is flipped, mirrored and slanted at
    /// random ([`data::Augment`], drawn from the run's seed). Off draws nothing, so the
    /// numbers are those of a run without it.
    pub augment: bool,
    /// The share of the training split actually trained on, in (0, 1] (the first
    /// images of the split, at least one; the validation images are all kept).
    pub train_share: f64,
    /// Most megabytes training may take ([`estimate::memory`]); a network that needs
    /// more is refused before training.
    pub memory_limit_mb: usize,
}

/// The optimizer of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerChoice {
    /// Adam (the course's).
    Adam,
    /// SGD with this momentum (0: plain SGD).
    Sgd {
        /// Momentum.
        momentum: f64,
    },
}

impl OptimizerChoice {
    /// Values of state per trainable value (Adam's two moments, SGD's momentum buffer).
    pub fn state_values(&self) -> usize {
        match self {
            OptimizerChoice::Adam => 2,
            OptimizerChoice::Sgd { .. } => 1,
        }
    }

    /// `adam`, or `sgd` with its momentum.
    pub fn label(&self) -> String {
        match self {
            OptimizerChoice::Adam => "adam".into(),
            OptimizerChoice::Sgd { momentum } => format!("sgd (momentum {momentum})"),
        }
    }
}

/// Mixed into the seed for augmentation's stream (apart from the split's and dropout's).
const AUGMENT_SEED: u64 = 0xa06_3e47;

/// The optimizer's state during a run.
enum Optimizer {
    Adam(Adam),
    Sgd(Sgd),
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            data_dir: PathBuf::from(data::DEFAULT_DATA_DIR),
            epochs: 5,
            batch_size: 50,
            lr: 0.001,
            seed: 42,
            device: DeviceChoice::Auto,
            threads: None,
            out: Some(PathBuf::from(checkpoint::DEFAULT_MODEL_PATH)),
            arch: Arch::course(),
            optimizer: OptimizerChoice::Adam,
            weight_decay: 0.0,
            augment: false,
            train_share: 1.0,
            memory_limit_mb: estimate::DEFAULT_MEMORY_LIMIT_MB,
        }
    }
}

impl TrainConfig {
    /// Reject settings that cannot train (`--epochs 0`, a zero batch, a bad learning rate).
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Usage("--epochs must be at least 1 (got 0)".into()));
        }
        if self.batch_size == 0 {
            return Err(Error::Usage(
                "--batch-size must be at least 1 (got 0)".into(),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::Usage(format!(
                "--lr must be a positive number (got {})",
                self.lr
            )));
        }
        if self.threads == Some(0) {
            return Err(Error::Usage("--threads must be at least 1 (got 0)".into()));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::Usage(format!(
                "--weight-decay must be 0 or more (got {})",
                self.weight_decay
            )));
        }
        if !(self.train_share.is_finite() && self.train_share > 0.0 && self.train_share <= 1.0) {
            return Err(Error::Usage(format!(
                "--train-share must be above 0 and at most 1 (got {})",
                self.train_share
            )));
        }
        if self.memory_limit_mb == 0 {
            return Err(Error::Usage(
                "--memory-limit-mb must be at least 1 (got 0)".into(),
            ));
        }
        if let OptimizerChoice::Sgd { momentum } = self.optimizer {
            if !(0.0..1.0).contains(&momentum) {
                return Err(Error::Usage(format!(
                    "--momentum must be at least 0 and below 1 (got {momentum})"
                )));
            }
        }
        // the shapes are checked once the class count is known; the text and the layers'
        // order here, so a typo fails before any data is read
        Plan::new(&self.arch, DEFAULT_INPUT, 2)
            .or_else(|e| {
                let any = Plan::new(&self.arch, DEFAULT_INPUT, 3);
                if any.is_ok() {
                    any
                } else {
                    Err(e)
                }
            })
            .map(|_| ())
            .or_else(|e| {
                // `linear(N)` last is checked against the data's classes later
                if matches!(
                    self.arch.layers.last(),
                    Some(Layer::Linear { out: Some(_) })
                ) {
                    Ok(())
                } else {
                    Err(e)
                }
            })
    }
}

/// The results of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean of the epoch's training batch losses.
    pub train_loss: f64,
    /// Mean of the validation batch losses.
    pub val_loss: f64,
    /// Correct validation predictions / validation images.
    pub val_accuracy: f64,
    /// Correct validation predictions.
    pub val_correct: usize,
    /// Validation images.
    pub val_size: usize,
    /// Training images per second (training passes only).
    pub train_images_per_second: f64,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// The end of a finished run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Every epoch's report.
    pub epochs: Vec<EpochReport>,
    /// Where the net was saved, if it was.
    pub saved: Option<PathBuf>,
    /// Whole-run wall time.
    pub seconds: f64,
    /// The last epoch's validation confusion matrix.
    pub confusion: ConfusionMatrix,
    /// Class names.
    pub classes: Vec<String>,
    /// The trained net.
    pub net: Net,
    /// What its checkpoint records: the settings and split of the run that happened and
    /// its history ([`Prepared::checkpoint_meta`]).
    pub meta: CheckpointMeta,
    /// The first convolution at the start and after every epoch, with its maps of the
    /// first validation image (`None`: the network has no convolution).
    pub growth: Option<growth::FilterHistory>,
}

/// What the training thread reports, in order.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// A line worth showing (e.g. images were resized, the device chosen).
    Note(String),
    /// Data loaded, training about to start.
    Started {
        /// Training images (the share of the training split used).
        train_size: usize,
        /// Images in the training split (more than `train_size` with a train share
        /// below 1).
        split_size: usize,
        /// Validation images.
        val_size: usize,
        /// Training batches per epoch.
        batches_per_epoch: usize,
        /// Epochs to run.
        epochs: usize,
        /// Class names.
        classes: Vec<String>,
        /// The backend, e.g. `cpu (2 threads)`.
        device: String,
    },
    /// One training batch done.
    Batch {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// Training images done in this epoch.
        images_done: usize,
        /// This batch's loss.
        loss: f64,
        /// Training images per second so far in this epoch.
        images_per_second: f64,
    },
    /// One epoch done (training and validation).
    Epoch(EpochReport),
    /// All epochs done (and the net saved when asked).
    Finished(Box<Summary>),
    /// Stopped by [`TrainHandle::cancel`] after `epochs_done` whole epochs.
    Cancelled {
        /// Whole epochs finished before the stop.
        epochs_done: usize,
    },
    /// Stopped by an error (one line).
    Failed(String),
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every epoch ran.
    Finished(Box<Summary>),
    /// Stopped by the cancel flag after this many whole epochs.
    Cancelled {
        /// Whole epochs finished.
        epochs_done: usize,
    },
}

/// What a checkpoint records about the run that made it, for `cnn-tutor train` and the
/// training screen alike: the settings, the split (`sizes`: training and validation
/// images; with a train share below 1, `train_used` of them were trained on), the data folder, the last epoch's validation scores, every epoch's losses and
/// accuracy (`train_losses`, `val_losses`, `val_accuracies`: comma lists, read back by
/// [`history_from_meta`]) and who trained it (`front_end`, e.g. `app`, is added to the
/// version in brackets).
pub fn checkpoint_meta(
    config: &TrainConfig,
    sizes: (usize, usize, usize),
    reports: &[EpochReport],
    classes: Vec<String>,
    front_end: Option<&str>,
) -> CheckpointMeta {
    let mut settings = std::collections::BTreeMap::new();
    let mut set = |k: &str, v: String| {
        settings.insert(k.to_string(), v);
    };
    set("epochs", config.epochs.to_string());
    set("batch_size", config.batch_size.to_string());
    set("lr", config.lr.to_string());
    set("seed", config.seed.to_string());
    set("optimizer", config.optimizer.label());
    if config.weight_decay != 0.0 {
        set("weight_decay", config.weight_decay.to_string());
    }
    if config.augment {
        set("augment", "flip, mirror, skew".into());
    }
    // the split's sizes (what `evaluate` splits again), and the images trained on
    set("train_size", sizes.0.to_string());
    set("val_size", sizes.1.to_string());
    if sizes.2 != sizes.0 {
        set("train_share", config.train_share.to_string());
        set("train_used", sizes.2.to_string());
    }
    set("data", config.data_dir.display().to_string());
    if let Some(r) = reports.last() {
        set("val_accuracy", format!("{:.6}", r.val_accuracy));
        set("val_loss", format!("{:.6}", r.val_loss));
        let list = |f: fn(&EpochReport) -> f64| {
            reports
                .iter()
                .map(|r| format!("{:.6}", f(r)))
                .collect::<Vec<_>>()
                .join(",")
        };
        set("train_losses", list(|r| r.train_loss));
        set("val_losses", list(|r| r.val_loss));
        set("val_accuracies", list(|r| r.val_accuracy));
    }
    let version = env!("CARGO_PKG_VERSION");
    set(
        "trained_by",
        match front_end {
            Some(f) => format!("cnn-tutor {version} ({f})"),
            None => format!("cnn-tutor {version}"),
        },
    );
    CheckpointMeta { classes, settings }
}

/// The loss history a checkpoint records (see [`checkpoint_meta`]): one report per epoch
/// with its losses and validation accuracy (the other fields 0); empty when the file does
/// not record one (an older file, a PyTorch one) or the lists do not agree.
pub fn history_from_meta(
    settings: &std::collections::BTreeMap<String, String>,
) -> Vec<EpochReport> {
    let list = |k: &str| -> Option<Vec<f64>> {
        settings
            .get(k)?
            .split(',')
            .map(|v| v.trim().parse().ok())
            .collect()
    };
    let (Some(train), Some(val), Some(acc)) = (
        list("train_losses"),
        list("val_losses"),
        list("val_accuracies"),
    ) else {
        return Vec::new();
    };
    if train.len() != val.len() || val.len() != acc.len() {
        return Vec::new();
    }
    let val_size: usize = settings
        .get("val_size")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (0..train.len())
        .map(|i| EpochReport {
            epoch: i + 1,
            train_loss: train[i],
            val_loss: val[i],
            val_accuracy: acc[i],
            val_correct: (acc[i] * val_size as f64).round() as usize,
            val_size,
            train_images_per_second: 0.0,
            seconds: 0.0,
        })
        .collect()
}

/// Train the prepared run on the calling thread with `backend`, reporting events to
/// `sink` (everything but the final `Finished`/`Cancelled`/`Failed`, which the return
/// value says). The settings and data were checked by [`prepare`] / [`Prepared::new`].
pub fn run(
    prepared: &Prepared,
    backend: &mut dyn Backend,
    cancel: &AtomicBool,
    sink: &mut dyn FnMut(TrainEvent),
) -> Result<Outcome> {
    let start = Instant::now();
    let config = &prepared.config;
    let classes = prepared.dataset.classes.clone();
    let (train_idx, val_idx) = (&prepared.train_idx, &prepared.val_idx);
    let batches_per_epoch = train_idx.len().div_ceil(config.batch_size);
    sink(TrainEvent::Started {
        train_size: train_idx.len(),
        split_size: prepared.split_train_size(),
        val_size: val_idx.len(),
        batches_per_epoch,
        epochs: config.epochs,
        classes: classes.clone(),
        device: backend.name(),
    });
    let mut state = RunState::new(prepared);
    let (mut growth, watched) = start_growth(prepared, &state.net)?;
    let mut reports = Vec::new();
    let mut confusion = ConfusionMatrix::new(classes.len());
    for epoch in 1..=config.epochs {
        let t0 = Instant::now();
        let Some(loss_sum) = state.train_epoch(prepared, backend, epoch, cancel, sink)? else {
            return Ok(Outcome::Cancelled {
                epochs_done: epoch - 1,
            });
        };
        // a GPU keeps the parameters on the device while training: bring them back
        if let Optimizer::Adam(adam) = &mut state.optimizer {
            backend.sync_to_host(&mut state.net, adam)?;
        }
        let train_secs = t0.elapsed().as_secs_f64();
        let Some((val_loss, matrix)) = validate(prepared, backend, &state.net, cancel)? else {
            return Ok(Outcome::Cancelled {
                epochs_done: epoch - 1,
            });
        };
        confusion = matrix;
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / batches_per_epoch.max(1) as f64,
            val_loss,
            val_accuracy: confusion.accuracy(),
            val_correct: confusion.correct(),
            val_size: val_idx.len(),
            train_images_per_second: train_idx.len() as f64 / train_secs.max(1e-9),
            seconds: t0.elapsed().as_secs_f64(),
        };
        if let Some(g) = &mut growth {
            g.record(epoch, &state.net, watched.as_deref())?;
        }
        sink(TrainEvent::Epoch(report.clone()));
        reports.push(report);
    }
    let net = state.net;
    let meta = prepared.checkpoint_meta(&reports);
    let saved = match &config.out {
        Some(path) => {
            checkpoint::save(path, &net, &meta)?;
            Some(path.clone())
        }
        None => None,
    };
    Ok(Outcome::Finished(Box::new(Summary {
        epochs: reports,
        saved,
        seconds: start.elapsed().as_secs_f64(),
        confusion,
        classes,
        net,
        meta,
        growth,
    })))
}

/// The filter history of a run (its epoch 0 now) and the normalised first validation
/// image whose maps it keeps.
fn start_growth(
    prepared: &Prepared,
    net: &Net,
) -> Result<(Option<growth::FilterHistory>, Option<Vec<f32>>)> {
    let ds = &prepared.dataset;
    let image = match prepared.val_idx.first() {
        Some(&i) => {
            let mut x = vec![0.0f32; IMAGE_LEN];
            ds.try_normalized_into(&[i], &mut x)?;
            let class = ds.labels.get(i).and_then(|&l| ds.classes.get(l));
            let class = class.map_or("?".into(), |c| crate::text::escaped(c).into_owned());
            let what = format!("validation image 1 ({class})");
            Some((what, x))
        }
        None => None,
    };
    let history =
        growth::FilterHistory::start(net, image.as_ref().map(|(w, x)| (w.clone(), x.as_slice())))?;
    Ok((history, image.map(|(_, x)| x)))
}

/// What a run changes as it goes: the net, the optimizer's state, the dropout stream.
struct RunState {
    net: Net,
    optimizer: Optimizer,
    drop_rng: ChaCha8Rng,
    /// Augmentation's draws (`None`: off, nothing drawn).
    aug_rng: Option<ChaCha8Rng>,
    aug_scratch: Vec<f32>,
    targets: Vec<usize>,
}

impl RunState {
    /// The untrained net of the run's seed and a fresh optimizer.
    fn new(prepared: &Prepared) -> RunState {
        let config = &prepared.config;
        let net = Net::new(prepared.plan.clone(), config.seed);
        let optimizer = match config.optimizer {
            OptimizerChoice::Adam => {
                let mut adam = Adam::new(config.lr, &net.params);
                adam.weight_decay = config.weight_decay;
                Optimizer::Adam(adam)
            }
            OptimizerChoice::Sgd { momentum } => Optimizer::Sgd(Sgd::new(
                config.lr,
                momentum,
                config.weight_decay,
                &net.params,
            )),
        };
        RunState {
            net,
            optimizer,
            drop_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_d209_u64),
            aug_rng: config
                .augment
                .then(|| ChaCha8Rng::seed_from_u64(config.seed ^ AUGMENT_SEED)),
            aug_scratch: Vec::new(),
            targets: Vec::with_capacity(config.batch_size),
        }
    }

    /// One pass over the training images, a step per batch: the sum of the batch losses,
    /// `None` when cancelled.
    fn train_epoch(
        &mut self,
        prepared: &Prepared,
        backend: &mut dyn Backend,
        epoch: usize,
        cancel: &AtomicBool,
        sink: &mut dyn FnMut(TrainEvent),
    ) -> Result<Option<f64>> {
        let (dataset, train_idx) = (&prepared.dataset, &prepared.train_idx);
        let bs = prepared.config.batch_size;
        let t0 = Instant::now();
        let mut loss_sum = 0.0f64;
        let mut done = 0usize;
        // the batches are normalised (and streamed images decoded) on a worker thread,
        // ahead of the step that takes them, in split order
        let stopped = data::with_batches(dataset, train_idx, bs, |batches| -> Result<bool> {
            for (b, chunk) in train_idx.chunks(bs).enumerate() {
                if cancel.load(Ordering::SeqCst) {
                    sink(TrainEvent::Note(format!(
                        "cancelled in epoch {epoch} after {done} images"
                    )));
                    return Ok(true);
                }
                let mut x = next_batch(batches, chunk.len())?;
                self.augment(&prepared.plan, &mut x);
                self.targets.clear();
                self.targets
                    .extend(chunk.iter().map(|&i| dataset.labels[i]));
                let loss = self.step(backend, &x)?;
                batches.give_back(x);
                if !loss.is_finite() {
                    return Err(Error::Other(format!(
                        "training diverged: loss is {loss} in epoch {epoch}, batch {} (try a smaller --lr)",
                        b + 1
                    )));
                }
                loss_sum += f64::from(loss);
                done += chunk.len();
                sink(TrainEvent::Batch {
                    epoch,
                    batch: b + 1,
                    images_done: done,
                    loss: f64::from(loss),
                    images_per_second: done as f64 / t0.elapsed().as_secs_f64().max(1e-9),
                });
            }
            Ok(false)
        })??;
        Ok((!stopped).then_some(loss_sum))
    }

    /// Vary every image of a training batch at random (nothing when augmentation is off).
    fn augment(&mut self, plan: &Plan, x: &mut [f32]) {
        if let Some(rng) = &mut self.aug_rng {
            augment_batch(rng, plan, x, &mut self.aug_scratch);
        }
    }

    /// One optimizer step on the batch `x` (labels in `self.targets`): its loss.
    fn step(&mut self, backend: &mut dyn Backend, x: &[f32]) -> Result<f32> {
        let rng = Some(&mut self.drop_rng);
        let stats = match &mut self.optimizer {
            Optimizer::Adam(adam) => {
                backend.train_step(&mut self.net, adam, x, &self.targets, rng)?
            }
            Optimizer::Sgd(sgd) => {
                let stats = backend.forward_backward(&mut self.net, x, &self.targets, rng)?;
                sgd.step(&mut self.net.params, backend.grads());
                stats
            }
        };
        Ok(stats.loss)
    }
}

/// Vary every image of the batch `x` with a change drawn from `rng` (four draws an image).
fn augment_batch(rng: &mut ChaCha8Rng, plan: &Plan, x: &mut [f32], scratch: &mut Vec<f32>) {
    let [_, h, w] = plan.input_dims();
    for image in x.chunks_mut(plan.input_len()) {
        data::Augment::draw(rng).apply_chw(image, h, w, scratch);
    }
}

/// The validation pass (eval mode): the mean of the batch losses and the confusion
/// matrix; `None` when cancelled.
fn validate(
    prepared: &Prepared,
    backend: &mut dyn Backend,
    net: &Net,
    cancel: &AtomicBool,
) -> Result<Option<(f64, ConfusionMatrix)>> {
    let (dataset, val_idx) = (&prepared.dataset, &prepared.val_idx);
    let bs = prepared.config.batch_size;
    let mut confusion = ConfusionMatrix::new(dataset.classes.len());
    let mut loss_sum = 0.0f64;
    let stopped = data::with_batches(dataset, val_idx, bs, |batches| -> Result<bool> {
        for chunk in val_idx.chunks(bs) {
            if cancel.load(Ordering::SeqCst) {
                return Ok(true);
            }
            let x = next_batch(batches, chunk.len())?;
            let lp = backend.predict(net, &x)?;
            batches.give_back(x);
            let mut batch_loss = 0.0f64;
            for (row, &i) in lp.rows().into_iter().zip(chunk) {
                let t = dataset.labels[i];
                batch_loss -= f64::from(row[t]);
                let pred = crate::backend::cpu::argmax(row.as_slice().unwrap_or(&[]));
                confusion.add(t, pred);
            }
            loss_sum += batch_loss / chunk.len() as f64;
        }
        Ok(false)
    })??;
    let batches = val_idx.len().div_ceil(bs).max(1);
    Ok((!stopped).then(|| (loss_sum / batches as f64, confusion)))
}

/// The batch the loader made for a chunk of `len` images (an error when the worker
/// stopped early: its error, or a missing batch, which would be a bug).
fn next_batch(batches: &mut data::Batches, len: usize) -> Result<Vec<f32>> {
    let x = batches
        .next_batch()
        .ok_or_else(|| Error::Other("the batch loader stopped early".into()))??;
    debug_assert_eq!(x.len(), len * IMAGE_LEN);
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn augmentation_varies_a_batch_every_epoch_and_repeats_by_seed() {
        let plan = Plan::course(3);
        let batch: Vec<f32> = (0..2 * plan.input_len())
            .map(|i| (i % 251) as f32 / 251.0)
            .collect();
        let epochs = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ AUGMENT_SEED);
            let mut scratch = Vec::new();
            (0..3)
                .map(|_| {
                    let mut x = batch.clone();
                    augment_batch(&mut rng, &plan, &mut x, &mut scratch);
                    x
                })
                .collect::<Vec<_>>()
        };
        let a = epochs(1);
        assert_eq!(a, epochs(1));
        assert_ne!(a, epochs(2));
        assert_ne!(a[0], a[1]);
        assert_ne!(a[1], a[2]);
        assert!(a.iter().all(|x| *x != batch));
    }
}
