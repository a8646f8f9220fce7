//! Runs kept and compared (issue 24): every finished (or stopped) run is recorded in the
//! state folder's `runs/` as `runs/<id>/run.json` (a [`RunRecord`]: the whole
//! configuration, every epoch's figures, the confusion matrix, time, device) and, when it
//! finished, `runs/<id>/model.safetensors` (its trained weights, so its results open again
//! without retraining). Each file is written atomically; at most [`KEEP_RUNS`] run folders
//! are kept (the oldest dropped). A model the learner saved (`w`, `--out`) lives elsewhere
//! and is never deleted here.
//!
//! An id is the UTC time the run was recorded and a counter, `20261207-174501-1`: ids sort
//! by time (then counter), and a folder is claimed with `create_dir`, so two runs recorded
//! in the same second get different ids. A record that cannot be read (truncated,
//! hand-edited, from a newer version) is skipped with one warning naming its file.
//!
//! Adding a setting to the record is one field in [`RunConfig`] with `#[serde(default)]`
//! (older records then read with its default).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{EpochReport, Summary, TrainConfig};
use crate::nn::arch::Arch;
use crate::nn::checkpoint;
use crate::{Error, Result};

/// The record format this version writes (a newer one is skipped with a warning).
pub const RECORD_VERSION: u32 = 1;
/// Run folders kept; recording one more drops the oldest.
pub const KEEP_RUNS: usize = 30;
/// The record's file name inside its run folder.
pub const RECORD_FILE: &str = "run.json";
/// The trained weights' file name inside its run folder.
pub const MODEL_FILE: &str = "model.safetensors";
/// The runs folder's name inside the state folder.
pub const RUNS_DIR: &str = "runs";
/// Largest record read (a record of 1000 epochs and 100 classes is far smaller).
const MAX_RECORD_BYTES: u64 = 4 * 1024 * 1024;

/// How a run was set up: everything needed to run it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The network, normalised text (`Arch`'s `Display`).
    pub arch: String,
    /// Trainable values of the plan (PyTorch's `sum(p.numel() for p in parameters())`).
    pub params: usize,
    /// Epochs asked for.
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// `adam` or `sgd`.
    pub optimizer: String,
    /// SGD's momentum (`None` with Adam).
    #[serde(default)]
    pub momentum: Option<f64>,
    /// L2 penalty.
    #[serde(default)]
    pub weight_decay: f64,
    /// Random flips, mirrors and skews of the training images every epoch.
    #[serde(default)]
    pub augment: bool,
    /// The share of the training split trained on.
    #[serde(default = "whole_share")]
    pub train_share: f64,
    /// Seed of the weights, split and dropout.
    pub seed: u64,
    /// The device actually used, e.g. `cpu (2 threads)`.
    pub device: String,
    /// The image folder.
    pub data: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Training images.
    pub train_size: usize,
    /// Validation images.
    pub val_size: usize,
    /// Who trained (`app`, `train`).
    #[serde(default)]
    pub front_end: String,
}

/// A record from before train shares: the whole training split.
fn whole_share() -> f64 {
    1.0
}

impl RunConfig {
    /// The configuration of `config` as it ran on `device`, with its split and classes.
    pub fn of(
        config: &TrainConfig,
        params: usize,
        device: &str,
        sizes: (usize, usize),
        classes: &[String],
        front_end: &str,
    ) -> RunConfig {
        let (optimizer, momentum) = match config.optimizer {
            super::OptimizerChoice::Adam => ("adam".to_string(), None),
            super::OptimizerChoice::Sgd { momentum } => ("sgd".to_string(), Some(momentum)),
        };
        RunConfig {
            arch: config.arch.to_string(),
            params,
            epochs: config.epochs,
            batch_size: config.batch_size,
            // the value typed: `--lr 0.001` comes as an f32 widened (0.0010000000474974513)
            lr: format!("{}", config.lr as f32).parse().unwrap_or(config.lr),
            optimizer,
            momentum,
            weight_decay: config.weight_decay,
            augment: config.augment,
            train_share: config.train_share,
            seed: config.seed,
            device: device.to_string(),
            // whole, so the run's results open again from any folder
            data: std::fs::canonicalize(&config.data_dir)
                .unwrap_or_else(|_| config.data_dir.clone())
                .display()
                .to_string(),
            classes: classes.to_vec(),
            train_size: sizes.0,
            val_size: sizes.1,
            front_end: front_end.to_string(),
        }
    }

    /// The settings as `(name, value)` pairs, in a fixed order (for `show` and `compare`).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("arch", self.arch.clone()),
            ("params", self.params.to_string()),
            ("epochs", self.epochs.to_string()),
            ("batch_size", self.batch_size.to_string()),
            ("lr", self.lr.to_string()),
            ("optimizer", self.optimizer.clone()),
        ];
        if let Some(m) = self.momentum {
            v.push(("momentum", m.to_string()));
        }
        v.extend([
            ("weight_decay", self.weight_decay.to_string()),
            (
                "augment",
                if self.augment { "on" } else { "off" }.to_string(),
            ),
            ("train_share", self.train_share.to_string()),
            ("seed", self.seed.to_string()),
            ("device", self.device.clone()),
            ("data", self.data.clone()),
            ("classes", self.classes.join(",")),
            ("train_size", self.train_size.to_string()),
            ("val_size", self.val_size.to_string()),
        ]);
        v
    }
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Record format ([`RECORD_VERSION`]).
    pub version: u32,
    /// `YYYYMMDD-HHMMSS-N` (UTC), its folder's name.
    pub id: String,
    /// When it was recorded, RFC 3339 UTC.
    pub recorded: String,
    /// How it was set up.
    pub config: RunConfig,
    /// Every whole epoch's figures.
    pub epochs: Vec<EpochReport>,
    /// The last epoch's validation confusion matrix (rows: true class); `None` when stopped
    /// before the end.
    #[serde(default)]
    pub confusion: Option<Vec<Vec<usize>>>,
    /// Whole-run wall time in seconds.
    pub seconds: f64,
    /// Stopped before its last epoch.
    #[serde(default)]
    pub stopped: bool,
    /// `model.safetensors` beside the record holds its trained weights.
    #[serde(default)]
    pub model: bool,
    /// Where the learner saved the model too (`--out`), if anywhere.
    #[serde(default)]
    pub saved: Option<String>,
}

impl RunRecord {
    /// A finished run's record (its id and time are given when it is written).
    pub fn finished(config: RunConfig, summary: &Summary) -> RunRecord {
        RunRecord {
            version: RECORD_VERSION,
            id: String::new(),
            recorded: String::new(),
            config,
            epochs: summary.epochs.clone(),
            confusion: Some(summary.confusion.counts.clone()),
            seconds: summary.seconds,
            stopped: false,
            model: true,
            saved: summary.saved.as_ref().map(|p| p.display().to_string()),
        }
    }

    /// A run stopped after `epochs` (no model, no confusion matrix).
    pub fn stopped(config: RunConfig, epochs: Vec<EpochReport>, seconds: f64) -> RunRecord {
        RunRecord {
            version: RECORD_VERSION,
            id: String::new(),
            recorded: String::new(),
            config,
            epochs,
            confusion: None,
            seconds,
            stopped: true,
            model: false,
            saved: None,
        }
    }

    /// The best validation accuracy over its epochs (0 without one).
    pub fn best_accuracy(&self) -> f64 {
        self.epochs
            .iter()
            .map(|e| e.val_accuracy)
            .fold(0.0, f64::max)
    }

    /// The last epoch's (training loss, validation loss).
    pub fn final_losses(&self) -> Option<(f64, f64)> {
        self.epochs.last().map(|e| (e.train_loss, e.val_loss))
    }

    /// Mean training images per second over its epochs.
    pub fn images_per_second(&self) -> f64 {
        let n = self.epochs.len().max(1) as f64;
        self.epochs
            .iter()
            .map(|e| e.train_images_per_second)
            .sum::<f64>()
            / n
    }

    /// The network in a few words: a preset's name, else its convolutions' widths and
    /// hidden linear sizes (`conv 6-8 bn fc16`, `mlp fc8`).
    pub fn arch_short(&self) -> String {
        arch_short(&self.config.arch)
    }

    /// Check what serde cannot: the version, the id against its folder, the sizes.
    fn check(&self, folder: &str) -> std::result::Result<(), String> {
        if self.version > RECORD_VERSION {
            return Err(format!(
                "written by a newer version (record version {}, this one reads {RECORD_VERSION})",
                self.version
            ));
        }
        if self.id != folder {
            return Err(format!("its id {:?} is not its folder's name", self.id));
        }
        if Arch::parse(&self.config.arch).is_err() {
            return Err("its arch is not a network".into());
        }
        let n = self.config.classes.len();
        if let Some(m) = &self.confusion {
            if m.len() != n || m.iter().any(|r| r.len() != n) {
                return Err(format!("its confusion matrix is not {n}x{n}"));
            }
        }
        let bad = |v: f64| !v.is_finite();
        if bad(self.seconds)
            || self
                .epochs
                .iter()
                .any(|e| bad(e.train_loss) || bad(e.val_loss) || bad(e.val_accuracy))
        {
            return Err("a figure is not a number".into());
        }
        Ok(())
    }
}

/// The network of `text` in a few words (see [`RunRecord::arch_short`]).
pub fn arch_short(text: &str) -> String {
    use crate::nn::arch::Layer;
    let Ok(arch) = Arch::parse(text) else {
        return "?".into();
    };
    if let Some(p) = crate::nn::presets::PRESETS
        .iter()
        .find(|p| Arch::parse(p.text).is_ok_and(|a| a == arch))
    {
        return if p.text == crate::nn::arch::COURSE_NET {
            "course".into()
        } else {
            p.name.to_string()
        };
    }
    let convs: Vec<String> = arch
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::Conv { out, .. } => Some(out.to_string()),
            _ => None,
        })
        .collect();
    let mut words = vec![if convs.is_empty() {
        "mlp".to_string()
    } else {
        format!("conv {}", convs.join("-"))
    }];
    if arch.layers.iter().any(|l| matches!(l, Layer::BatchNorm)) {
        words.push("bn".into());
    }
    for l in &arch.layers {
        if let Layer::Linear { out: Some(n) } = l {
            words.push(format!("fc{n}"));
        }
    }
    words.join(" ")
}

/// The id's sort key: (time, counter); `None` for a name that is not an id.
pub fn id_key(id: &str) -> Option<(u64, u32)> {
    let mut parts = id.split('-');
    let (date, time, n) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || date.len() != 8 || time.len() != 6 || n.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date) || !digits(time) || !digits(n) {
        return None;
    }
    let stamp: u64 = format!("{date}{time}").parse().ok()?;
    Some((stamp, n.parse().ok()?))
}

/// The id folders in `dir`, oldest first.
fn run_folders(dir: &Path) -> Vec<(String, (u64, u32))> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, (u64, u32))> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let key = id_key(&name)?;
            Some((name, key))
        })
        .collect();
    v.sort_by_key(|(_, k)| *k);
    v
}

/// Record `record` (with the trained `net` and its checkpoint metadata when it has a
/// model) in `dir` (the state folder's `runs/`): a new id, `run.json` and
/// `model.safetensors` written atomically, then the oldest runs beyond [`KEEP_RUNS`]
/// dropped. Returns the id.
pub fn record(
    dir: &Path,
    mut record: RunRecord,
    model: Option<(&crate::nn::net::Net, &checkpoint::CheckpointMeta)>,
) -> Result<String> {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-12-07T17:45:01Z -> 20261207-174501
    let compact: String = stamp
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect::<String>()
        .replace('T', "-");
    crate::fsutil::create_folder(dir, &dir.join(RECORD_FILE))?;
    let mut n = 1u32;
    let folder = loop {
        let id = format!("{compact}-{n}");
        let folder = dir.join(&id);
        match std::fs::create_dir(&folder) {
            Ok(()) => {
                record.id = id;
                break folder;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
            Err(e) => return Err(Error::io(&folder, e)),
        }
    };
    record.recorded = stamp;
    record.version = RECORD_VERSION;
    record.model = false;
    if let Some((net, meta)) = model {
        // the data folder whole, as the record has it: opening the run again evaluates
        // the model on its own validation split from any working folder
        let mut meta = meta.clone();
        meta.settings
            .insert("data".into(), record.config.data.clone());
        checkpoint::save(&folder.join(MODEL_FILE), net, &meta)?;
        record.model = true;
    }
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::Other(format!("cannot write the run record: {e}")))?;
    crate::fsutil::write_atomic(&folder.join(RECORD_FILE), json.as_bytes())?;
    prune(dir, KEEP_RUNS);
    Ok(record.id)
}

/// Drop the oldest run folders beyond `keep` (best effort). Only folders named as ids are
/// touched; anything else in `dir` is left alone.
pub fn prune(dir: &Path, keep: usize) {
    let folders = run_folders(dir);
    let extra = folders.len().saturating_sub(keep);
    for (name, _) in folders.into_iter().take(extra) {
        let _ = std::fs::remove_dir_all(dir.join(name));
    }
}

/// Every readable record in `dir`, oldest first, and one warning per record skipped
/// (naming its file and why). A missing `dir` is no runs.
pub fn load_all(dir: &Path) -> (Vec<RunRecord>, Vec<String>) {
    let mut runs = Vec::new();
    let mut warnings = Vec::new();
    for (name, _) in run_folders(dir) {
        let file = dir.join(&name).join(RECORD_FILE);
        if !file.exists() {
            // being written, or emptied by hand: nothing to show
            continue;
        }
        match read_record(&file, &name) {
            Ok(r) => runs.push(r),
            Err(why) => warnings.push(format!(
                "skipped run record {}: {why}",
                crate::text::path(&file)
            )),
        }
    }
    (runs, warnings)
}

/// Read and check one record.
fn read_record(file: &Path, folder: &str) -> std::result::Result<RunRecord, String> {
    let text = crate::fsutil::read_capped(file, MAX_RECORD_BYTES)?;
    // the version first, so a newer record says so rather than what it lacks
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not a run record ({e})"))?;
    if let Some(v) = value.get("version").and_then(serde_json::Value::as_u64) {
        if v > u64::from(RECORD_VERSION) {
            return Err(format!(
                "written by a newer version (record version {v}, this one reads {RECORD_VERSION})"
            ));
        }
    }
    let record: RunRecord =
        serde_json::from_value(value).map_err(|e| format!("not a run record ({e})"))?;
    record.check(folder)?;
    Ok(record)
}

/// The record `id` in `dir` (an unknown id, or one that cannot be read, is an error
/// naming it).
pub fn find(dir: &Path, id: &str) -> Result<RunRecord> {
    if id_key(id).is_none() {
        return Err(Error::Usage(format!(
            "no run {}: a run id looks like 20261207-174501-1 (see `cnn-tutor runs`)",
            crate::text::escaped(id)
        )));
    }
    let file = dir.join(id).join(RECORD_FILE);
    if !file.exists() {
        return Err(Error::Usage(format!(
            "no run {id} in {} (see `cnn-tutor runs`)",
            crate::text::path(dir)
        )));
    }
    read_record(&file, id)
        .map_err(|why| Error::Data(format!("run record {}: {why}", crate::text::path(&file))))
}

/// Note in run `id`'s record that its model was saved as `path` too (the record written
/// again, atomically).
pub fn note_saved(dir: &Path, id: &str, path: &Path) -> Result<()> {
    let mut r = find(dir, id)?;
    let whole = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    r.saved = Some(whole.display().to_string());
    let json = serde_json::to_string_pretty(&r)
        .map_err(|e| Error::Other(format!("cannot write the run record: {e}")))?;
    crate::fsutil::write_atomic(&dir.join(id).join(RECORD_FILE), json.as_bytes())
}

/// The trained weights of run `id` in `dir` (the file may be missing: a stopped run).
pub fn model_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(id).join(MODEL_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(epoch: usize, loss: f64) -> EpochReport {
        EpochReport {
            epoch,
            train_loss: loss,
            val_loss: loss + 0.1,
            val_accuracy: 0.5 + epoch as f64 / 10.0,
            val_correct: 5,
            val_size: 9,
            train_images_per_second: 100.0,
            seconds: 0.5,
        }
    }

    fn sample(arch: &str) -> RunRecord {
        let config = TrainConfig {
            arch: Arch::parse(arch).unwrap(),
            ..TrainConfig::default()
        };
        let classes = ["a".to_string(), "b".to_string()];
        let rc = RunConfig::of(&config, 123, "cpu (1 thread)", (21, 9), &classes, "train");
        let mut r = RunRecord::stopped(rc, vec![report(1, 1.0), report(2, 0.8)], 3.5);
        r.confusion = Some(vec![vec![3, 1], vec![2, 3]]);
        r
    }

    #[test]
    fn a_record_round_trips_and_lists_oldest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("runs");
        let a = record(&dir, sample("flatten linear"), None).unwrap();
        let b = record(&dir, sample("flatten linear(4) relu linear"), None).unwrap();
        assert_ne!(a, b);
        assert!(id_key(&a) < id_key(&b), "{a} {b}");
        let (runs, warnings) = load_all(&dir);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].id, a);
        let mut want = sample("flatten linear");
        want.id = a.clone();
        want.recorded = runs[0].recorded.clone();
        assert_eq!(runs[0], want);
        assert_eq!(find(&dir, &b).unwrap().arch_short(), "mlp fc4");
        assert!(find(&dir, "20000101-000000-1").is_err());
        assert!(find(&dir, "../x").is_err());
        assert_eq!(runs[0].best_accuracy(), 0.7);
    }

    #[test]
    fn only_the_newest_runs_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("runs");
        // two old ones by hand, and a folder that is not a run
        for id in ["20200101-000000-1", "20200101-000000-2"] {
            let mut r = sample("flatten linear");
            r.id = id.into();
            std::fs::create_dir_all(dir.join(id)).unwrap();
            let json = serde_json::to_string(&r).unwrap();
            std::fs::write(dir.join(id).join(RECORD_FILE), json).unwrap();
        }
        std::fs::create_dir_all(dir.join("mine")).unwrap();
        let new = record(&dir, sample("flatten linear"), None).unwrap();
        prune(&dir, 2);
        let ids: Vec<String> = load_all(&dir).0.into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["20200101-000000-2".to_string(), new]);
        assert!(dir.join("mine").is_dir());
    }

    #[test]
    fn a_bad_record_is_skipped_with_one_warning_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("runs");
        let good = record(&dir, sample("flatten linear"), None).unwrap();
        let json = serde_json::to_string(&{
            let mut r = sample("flatten linear");
            r.id = "20200101-000000-3".into();
            r
        })
        .unwrap();
        let cases = [
            ("20200101-000000-1", json[..json.len() / 2].to_string()),
            ("20200101-000000-2", "garbage \u{1b}[31m".to_string()),
            (
                "20200101-000000-3",
                json.replace("\"version\":1", "\"version\":99"),
            ),
            (
                "20200101-000000-4",
                json.replace("20200101-000000-3", "20200101-000000-4")
                    .replace("\"epochs\":5", "\"epochs\":\"five\""),
            ),
            ("20200101-000000-5", json.clone()),
        ];
        for (id, text) in &cases {
            std::fs::create_dir_all(dir.join(id)).unwrap();
            std::fs::write(dir.join(id).join(RECORD_FILE), text).unwrap();
        }
        let (runs, warnings) = load_all(&dir);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].id, good);
        assert_eq!(warnings.len(), cases.len(), "{warnings:#?}");
        for ((id, _), w) in cases.iter().zip(&warnings) {
            assert!(w.contains(id) && w.contains(RECORD_FILE), "{w}");
            assert!(!w.contains('\u{1b}') && !w.contains('\n'), "{w}");
        }
        assert!(warnings[2].contains("newer version"), "{}", warnings[2]);
        assert!(warnings[4].contains("not its folder"), "{}", warnings[4]);
        assert!(find(&dir, "20200101-000000-1").is_err());
    }

    #[test]
    fn short_names_of_networks() {
        assert_eq!(arch_short(crate::nn::arch::COURSE_NET), "course");
        assert_eq!(arch_short(crate::nn::presets::PRESETS[1].text), "smaller");
        assert_eq!(
            arch_short("conv(6,3) relu batchnorm conv(8,3) flatten linear(16) relu linear"),
            "conv 6-8 bn fc16"
        );
        assert_eq!(id_key("20261207-174501-12"), Some((20261207174501, 12)));
        assert_eq!(id_key("2026-1207-174501"), None);
    }
}
