//! `cnn-tutor runs`: the runs kept in the state folder's `runs/` (see
//! [`crate::train::runs`]), listed, shown one at a time, compared side by side.
//!
//! `--json` prints one JSON document: `runs` an array of records (each with `id`,
//! `config` with `arch` and `params`, `epochs` with every epoch's figures), `runs show`
//! one record, `runs compare` an object with `runs` (the records) and `differences` (the
//! settings that differ). A record that cannot be read is skipped with one warning on
//! stderr naming its file.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::text::Dec;
use crate::train::runs::{self, RunRecord};
use crate::{Error, Result};

#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Print one JSON document instead of a table: an array of run records (`id`,
    /// `config` with `arch` and `params`, `epochs` with each epoch's `train_loss`,
    /// `val_loss`, `val_accuracy`, `train_images_per_second`, `seconds`, the
    /// `confusion` matrix, `seconds`, `stopped`, `model`).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RunsCommand {
    /// One run whole: its settings, every epoch, the confusion matrix, where its model is.
    Show {
        /// The run's id, as `cnn-tutor runs` lists it.
        id: String,
    },
    /// Runs side by side: the settings (differences marked with *) and every epoch's
    /// validation accuracy and losses.
    Compare {
        /// Two or more run ids.
        #[arg(num_args = 2.., required = true)]
        ids: Vec<String>,
    },
}

/// The runs folder: `runs/` in the state folder (`CNN_TUTOR_STATE_DIR`, else the XDG
/// state folder); `None` when there is no state folder.
pub fn runs_dir() -> Option<PathBuf> {
    crate::tui::state_dir().map(|d| d.join(runs::RUNS_DIR))
}

fn need_dir() -> Result<PathBuf> {
    runs_dir().ok_or_else(|| {
        Error::Usage("no state folder to keep runs in (set CNN_TUTOR_STATE_DIR)".into())
    })
}

/// Run `cnn-tutor runs ...`.
pub fn run(args: &RunsArgs) -> Result<()> {
    let dir = need_dir()?;
    match &args.command {
        None => list(&dir, args.json),
        Some(RunsCommand::Show { id }) => {
            let r = runs::find(&dir, id)?;
            if args.json {
                crate::outln!("{}", json_of(&r));
            } else {
                crate::out!("{}", show_text(&r, &dir));
            }
            Ok(())
        }
        Some(RunsCommand::Compare { ids }) => {
            let records = ids
                .iter()
                .map(|id| runs::find(&dir, id))
                .collect::<Result<Vec<_>>>()?;
            if args.json {
                let value = json!({
                    "runs": records,
                    "differences": differences(&records),
                });
                crate::outln!("{}", super::predict::json_text(&value));
            } else {
                crate::out!("{}", compare_text(&records));
            }
            Ok(())
        }
    }
}

fn json_of(r: &RunRecord) -> String {
    super::predict::json_text(&serde_json::to_value(r).unwrap_or_default())
}

fn list(dir: &std::path::Path, json: bool) -> Result<()> {
    let (records, warnings) = runs::load_all(dir);
    for w in &warnings {
        eprintln!("warning: {}", crate::text::escaped(w));
    }
    if json {
        let value = serde_json::to_value(&records).unwrap_or_default();
        crate::outln!("{}", super::predict::json_text(&value));
        return Ok(());
    }
    if records.is_empty() {
        crate::outln!(
            "No runs kept yet in {} (every `cnn-tutor train` and every run in the app is kept).",
            crate::text::path(dir)
        );
        return Ok(());
    }
    crate::out!("{}", list_text(&records));
    Ok(())
}

/// The list: one line per run, oldest first.
pub fn list_text(records: &[RunRecord]) -> String {
    // the network column as wide as its longest short name, so the columns stay aligned
    let nw = records
        .iter()
        .map(|r| r.arch_short().chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut t = format!(
        "{:<18}  {:<nw$}  {:>9}  {:>6}  {:>8}  {:>10}  {:>8}  {:>7}\n",
        "ID", "NETWORK", "PARAMS", "EPOCHS", "BEST ACC", "TRAIN LOSS", "VAL LOSS", "SECONDS"
    );
    for r in records {
        let (train, val) = r.final_losses().unwrap_or((f64::NAN, f64::NAN));
        let epochs = if r.stopped {
            format!("{}/{}", r.epochs.len(), r.config.epochs)
        } else {
            r.epochs.len().to_string()
        };
        t.push_str(&format!(
            "{:<18}  {:<nw$}  {:>9}  {:>6}  {:>7.1}%  {:>10.4}  {:>8.4}  {:>7.1}\n",
            r.id,
            r.arch_short(),
            r.config.params,
            epochs,
            Dec::of(100.0 * r.best_accuracy()),
            Dec::of(train),
            Dec::of(val),
            Dec::of(r.seconds)
        ));
    }
    t
}

/// One run whole.
fn show_text(r: &RunRecord, dir: &std::path::Path) -> String {
    let esc = |s: &str| crate::text::escaped(s).into_owned();
    let ended = if r.stopped {
        format!(
            "stopped after {} of {} epoch(s)",
            r.epochs.len(),
            r.config.epochs
        )
    } else {
        format!("finished {} epoch(s)", r.epochs.len())
    };
    let mut t = format!(
        "Run {} (recorded {}, {ended}, {:.1} s, {:.0} training images/s)\n",
        r.id,
        esc(&r.recorded),
        Dec::of(r.seconds),
        Dec::of(r.images_per_second())
    );
    for (k, v) in r.config.pairs() {
        t.push_str(&format!("  {k:<13} {}\n", esc(&v)));
    }
    t.push_str(&format!(
        "\n{:>5}  {:>10}  {:>8}  {:>7}  {:>8}  {:>7}\n",
        "EPOCH", "TRAIN LOSS", "VAL LOSS", "VAL ACC", "IMAGES/S", "SECONDS"
    ));
    for e in &r.epochs {
        t.push_str(&format!(
            "{:>5}  {:>10.4}  {:>8.4}  {:>6.1}%  {:>8.0}  {:>7.1}\n",
            e.epoch,
            Dec::of(e.train_loss),
            Dec::of(e.val_loss),
            Dec::of(100.0 * e.val_accuracy),
            Dec::of(e.train_images_per_second),
            Dec::of(e.seconds)
        ));
    }
    if let Some(m) = &r.confusion {
        t.push_str("\nConfusion matrix (rows: true class, columns: predicted)\n");
        let names: Vec<String> = r.config.classes.iter().map(|c| esc(c)).collect();
        let w = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(1)
            .max(5);
        t.push_str(&format!("  {:<w$}", ""));
        for n in &names {
            t.push_str(&format!(" {n:>w$}"));
        }
        t.push('\n');
        for (n, row) in names.iter().zip(m) {
            t.push_str(&format!("  {n:<w$}"));
            for c in row {
                t.push_str(&format!(" {c:>w$}"));
            }
            t.push('\n');
        }
    }
    t.push('\n');
    if r.model {
        let p = runs::model_path(dir, &r.id);
        t.push_str(&format!(
            "Model: {} (cnn-tutor evaluate --model ...)\n",
            crate::text::path(&p)
        ));
    } else {
        t.push_str("No model kept: the run stopped before its last epoch.\n");
    }
    if let Some(s) = &r.saved {
        t.push_str(&format!("Saved as: {}\n", esc(s)));
    }
    t
}

/// The settings that differ between `records`.
pub fn differences(records: &[RunRecord]) -> Vec<&'static str> {
    let all: Vec<Vec<(&'static str, String)>> = records.iter().map(|r| r.config.pairs()).collect();
    let mut names: Vec<&'static str> = Vec::new();
    for pairs in &all {
        for (k, _) in pairs {
            if !names.contains(k) {
                names.push(k);
            }
        }
    }
    names
        .into_iter()
        .filter(|k| {
            let vals: Vec<Option<&String>> = all
                .iter()
                .map(|p| p.iter().find(|(n, _)| n == k).map(|(_, v)| v))
                .collect();
            vals.windows(2).any(|w| w[0] != w[1])
        })
        .collect()
}

/// Runs side by side: settings, then every epoch.
fn compare_text(records: &[RunRecord]) -> String {
    let diff = differences(records);
    let col = 22usize;
    let cut = |s: &str| -> String {
        let s = crate::text::escaped(s);
        if s.chars().count() > col {
            let mut c: String = s.chars().take(col - 3).collect();
            c.push_str("...");
            c
        } else {
            s.into_owned()
        }
    };
    let mut t = format!("  {:<13}", "");
    for r in records {
        t.push_str(&format!(" {:<col$}", r.id));
    }
    t.push('\n');
    let all: Vec<Vec<(&'static str, String)>> = records.iter().map(|r| r.config.pairs()).collect();
    let mut rows: Vec<(&'static str, Vec<String>)> = vec![("network", {
        records.iter().map(RunRecord::arch_short).collect()
    })];
    for (k, _) in &all[0] {
        let vals = all
            .iter()
            .map(|p| {
                p.iter()
                    .find(|(n, _)| n == k)
                    .map_or("-".into(), |(_, v)| v.clone())
            })
            .collect();
        rows.push((k, vals));
    }
    for (k, vals) in rows {
        let mark = if diff.contains(&k) { '*' } else { ' ' };
        t.push_str(&format!("{mark} {k:<13}"));
        for v in vals {
            t.push_str(&format!(" {:<col$}", cut(&v)));
        }
        t.push('\n');
    }
    t.push_str(&format!(
        "\n* differs. Each epoch: validation accuracy, validation loss, training loss\n{:>5}",
        "EPOCH"
    ));
    for r in records {
        t.push_str(&format!(" {:<col$}", r.id));
    }
    t.push('\n');
    let most = records.iter().map(|r| r.epochs.len()).max().unwrap_or(0);
    for i in 0..most {
        t.push_str(&format!("{:>5}", i + 1));
        for r in records {
            let cell = r.epochs.get(i).map_or("-".to_string(), |e| {
                format!(
                    "{:>5.1}% {:.4} {:.4}",
                    Dec::of(100.0 * e.val_accuracy),
                    Dec::of(e.val_loss),
                    Dec::of(e.train_loss)
                )
            });
            t.push_str(&format!(" {cell:<col$}"));
        }
        t.push('\n');
    }
    t.push_str(&format!("{:>5}", "best"));
    for r in records {
        let cell = format!("{:>5.1}%", Dec::of(100.0 * r.best_accuracy()));
        t.push_str(&format!(" {cell:<col$}"));
    }
    t.push('\n');
    t
}
