//! `cnn-tutor train`: the seed's training loop, headless.
//!
//! On a terminal: a progress bar per epoch and the seed's per-epoch report. Piped: the
//! seed's lines (a progress line every 10 batches). With `--json`: one JSON object per
//! epoch (`epoch`, `train_loss`, `val_loss`, `val_accuracy`, `train_images_per_second`,
//! `seconds`) between a `{"event": "started", ...}` line (the images trained on, the split,
//! the settings) and a final `{"event": "finished", ...}` line (with the settings too).

use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::TrainArgs;
use crate::train::{self, report, DataOptions, Outcome, Ready, TrainConfig, TrainEvent};
use crate::Result;

/// Run `cnn-tutor train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let config = TrainConfig {
        data_dir: args.data.clone(),
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: f64::from(args.lr),
        seed: args.seed,
        device: args.device,
        threads: args.threads,
        out: Some(args.out.clone()),
        arch: args.arch()?,
        optimizer: match args.optimizer {
            super::OptimizerArg::Adam => train::OptimizerChoice::Adam,
            super::OptimizerArg::Sgd => train::OptimizerChoice::Sgd {
                momentum: args.momentum,
            },
        },
        weight_decay: args.weight_decay,
        augment: args.augment,
        train_share: args.train_share,
        memory_limit_mb: args.memory_limit_mb,
    };
    // settings, device, then the data (made when it is the default folder), one step
    // Ctrl-C stops the run at the next batch; whole epochs done are kept as a run
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // without the handler Ctrl-C ends the process at once, as before
        let _ = signal_hook::flag::register(sig, std::sync::Arc::clone(&cancel));
    }
    let data = DataOptions {
        cache_mb: args.cache_mb,
        make_default: true,
    };
    let notes = &mut |n: String| eprintln!("{}", crate::text::escaped(&n));
    let Some(Ready {
        run: prepared,
        mut backend,
    }) = train::prepare(config, data, notes, &cancel)?
    else {
        return Ok(());
    };
    // one training per --out at a time: a second one would overwrite the first's model
    // (taken once the data has loaded, so bad data makes no folder for the model)
    let _lock = crate::fsutil::lock_output(&args.out)?;

    let mut progress = Progress {
        epochs: Vec::new(),
        settings: settings_json(&prepared.config),
        json: args.json,
        bar_on: !args.json && std::io::stderr().is_terminal(),
        bar: None,
        batch_size: args.batch_size,
        train_size: 0,
        batches: 0,
        device: String::new(),
    };
    let start = std::time::Instant::now();
    let outcome = train::run(&prepared, backend.as_mut(), &cancel, &mut |e| {
        progress.show(e)
    })?;
    let summary = match outcome {
        Outcome::Finished(summary) => summary,
        Outcome::Cancelled { epochs_done } => {
            return Err(stopped(&prepared, &progress, epochs_done, start.elapsed()));
        }
    };
    let run_id = record_run(&prepared, &summary, &progress.device);
    finished(&summary, args.json, &progress.settings, run_id.as_deref());
    Ok(())
}

/// Keep the finished run in the state folder's `runs/` (a warning on stderr when it
/// cannot be written: the model is saved all the same). Its id, when kept.
fn record_run(
    prepared: &train::Prepared,
    summary: &train::Summary,
    device: &str,
) -> Option<String> {
    use train::runs::{RunConfig, RunRecord};
    let dir = super::runs::runs_dir()?;
    let config = RunConfig::of(
        &prepared.config,
        summary.net.num_values(),
        device,
        (prepared.train_idx.len(), prepared.val_idx.len()),
        &summary.classes,
        "train",
    );
    let record = RunRecord::finished(config, summary);
    match train::runs::record(&dir, record, Some((&summary.net, &summary.meta))) {
        Ok(id) => Some(id),
        Err(e) => {
            eprintln!(
                "warning: the run was not kept in {}: {}",
                crate::text::path(&dir),
                crate::text::escaped(&e.to_string())
            );
            None
        }
    }
}

/// What `train` shows while it runs: a progress bar on a terminal, the seed's lines when
/// piped, one JSON line per epoch with `--json`.
/// A run stopped by Ctrl-C: its whole epochs kept as a stopped run (no model is saved),
/// and the error that says so (exit code 130).
fn stopped(
    prepared: &train::Prepared,
    progress: &Progress,
    epochs_done: usize,
    took: std::time::Duration,
) -> crate::Error {
    use train::runs::{RunConfig, RunRecord};
    let of = prepared.config.epochs;
    let mut msg = format!("stopped after {epochs_done} of {of} epoch(s); no model was saved");
    if epochs_done == 0 || progress.epochs.is_empty() {
        return crate::Error::Interrupted(msg);
    }
    let kept = super::runs::runs_dir().and_then(|dir| {
        let config = RunConfig::of(
            &prepared.config,
            prepared.plan.param_count(),
            &progress.device,
            (prepared.train_idx.len(), prepared.val_idx.len()),
            &prepared.dataset.classes,
            "train",
        );
        let record = RunRecord::stopped(config, progress.epochs.clone(), took.as_secs_f64());
        train::runs::record(&dir, record, None).ok()
    });
    if let Some(id) = kept {
        msg.push_str(&format!("; its epochs are kept as run {id}"));
    }
    crate::Error::Interrupted(msg)
}

struct Progress {
    /// Every epoch's figures so far (kept if the run is stopped).
    epochs: Vec<train::EpochReport>,
    /// The run's settings, for the JSON start line.
    settings: serde_json::Value,
    json: bool,
    bar_on: bool,
    bar: Option<ProgressBar>,
    batch_size: usize,
    train_size: usize,
    batches: usize,
    /// The backend that ran, as `Started` named it.
    device: String,
}

impl Progress {
    fn show(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Note(n) => eprintln!("{}", crate::text::escaped(&n)),
            TrainEvent::Started {
                train_size: t,
                split_size,
                val_size,
                batches_per_epoch,
                epochs,
                classes,
                device,
            } => {
                self.train_size = t;
                self.batches = batches_per_epoch;
                self.device = device.clone();
                if self.json {
                    crate::outln!(
                        "{}",
                        super::predict::json_text(&json!({
                            "event": "started",
                            "train_size": t,
                            "train_split_size": split_size,
                            "val_size": val_size,
                            "batches_per_epoch": batches_per_epoch,
                            "epochs": epochs,
                            "classes": classes,
                            "device": device,
                            "settings": self.settings,
                        }))
                    );
                } else {
                    crate::outln!(
                        "{}, {epochs} epoch(s) of {batches_per_epoch} batch(es)",
                        report::started_line(&device, t, val_size, &classes)
                    );
                    if split_size != t {
                        crate::outln!("{}", report::share_line(t, split_size));
                    }
                }
            }
            TrainEvent::Batch {
                epoch,
                batch,
                images_done,
                loss,
                images_per_second,
            } => {
                if self.json {
                    return;
                }
                if self.bar_on {
                    let b = self.bar.get_or_insert_with(|| {
                        let b = ProgressBar::new(self.train_size as u64);
                        b.set_style(
                            ProgressStyle::with_template(
                                "Epoch {prefix} [{bar:30}] {pos}/{len} images  {msg}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        b.set_prefix(epoch.to_string());
                        b
                    });
                    b.set_position(images_done as u64);
                    b.set_message(format!("loss {loss:.6}  {images_per_second:.0} images/s"));
                } else {
                    for line in report::batch_lines(
                        epoch,
                        batch,
                        loss,
                        self.batch_size,
                        self.train_size,
                        self.batches,
                    ) {
                        crate::outln!("{line}");
                    }
                }
            }
            TrainEvent::Epoch(r) => {
                self.epochs.push(r.clone());
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                if self.json {
                    crate::outln!(
                        "{}",
                        json!({
                            "epoch": r.epoch,
                            "train_loss": r.train_loss,
                            "val_loss": r.val_loss,
                            "val_accuracy": r.val_accuracy,
                            "train_images_per_second": r.train_images_per_second,
                            "seconds": r.seconds,
                        })
                    );
                } else {
                    if self.bar_on {
                        crate::outln!("Epoch: {}", r.epoch);
                    }
                    for line in report::epoch_lines(&r) {
                        crate::outln!("{line}");
                    }
                    crate::outln!(
                        "({:.0} training images/s, epoch took {:.1} s)\n",
                        r.train_images_per_second,
                        r.seconds
                    );
                }
            }
            TrainEvent::Finished(_) | TrainEvent::Cancelled { .. } | TrainEvent::Failed(_) => {}
        }
    }
}

/// The settings of a run as the JSON lines write them.
fn settings_json(c: &TrainConfig) -> serde_json::Value {
    let (optimizer, momentum) = match c.optimizer {
        train::OptimizerChoice::Adam => ("adam", None),
        train::OptimizerChoice::Sgd { momentum } => ("sgd", Some(momentum)),
    };
    json!({
        "arch": c.arch.to_string(),
        "epochs": c.epochs,
        "batch_size": c.batch_size,
        "lr": c.lr,
        "optimizer": optimizer,
        "momentum": momentum,
        "weight_decay": c.weight_decay,
        "augment": c.augment,
        "train_share": c.train_share,
        "seed": c.seed,
    })
}

/// The last lines: the summary (with `--json`, one `finished` object).
fn finished(
    summary: &train::Summary,
    json: bool,
    settings: &serde_json::Value,
    run_id: Option<&str>,
) {
    let mean_ips = summary
        .epochs
        .iter()
        .map(|e| e.train_images_per_second)
        .sum::<f64>()
        / summary.epochs.len().max(1) as f64;
    let last = summary.epochs.last();
    let saved = summary
        .saved
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if json {
        crate::outln!(
            "{}",
            super::predict::json_text(&json!({
                "event": "finished",
                "epochs": summary.epochs.len(),
                "val_accuracy": last.map(|e| e.val_accuracy),
                "val_loss": last.map(|e| e.val_loss),
                "train_images_per_second": mean_ips,
                "seconds": summary.seconds,
                "classes": summary.classes,
                "arch": summary.net.plan.arch.to_string(),
                "params": summary.net.num_values(),
                "confusion_matrix": summary.confusion.counts,
                "saved": saved,
                "settings": settings,
                "run": run_id,
            }))
        );
    } else {
        crate::outln!(
            "Trained {} epoch(s) in {:.1} s ({mean_ips:.0} training images/s on average)",
            summary.epochs.len(),
            summary.seconds
        );
        crate::outln!("Model saved as {}", crate::text::escaped(&saved));
        if let Some(id) = run_id {
            crate::outln!("Run kept as {id} (cnn-tutor runs show {id})");
        }
    }
}
