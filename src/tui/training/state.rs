//! The training screen's state and how keys and worker messages change it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{cpu::argmax, Backend, CpuBackend, DeviceChoice};
use crate::data::{self, Dataset, Shape};
use crate::nn::checkpoint::{self, CheckpointMeta};
use crate::nn::net::ShapesNet;
use crate::train::{report, ConfusionMatrix, EpochReport, TrainEvent};

use super::super::app::LessonState;
use super::super::event::{Key, KeyCode, TICK_MS};
use super::queue::{Ticket, TrainQueue};
use super::worker::{spawn_worker, WorkerHandle, WorkerMsg};

/// Log lines kept (older ones scroll away, so memory stays flat).
pub const LOG_LINES: usize = 200;
/// The note for keys a classroom session may not use (they would read server files).
pub const RESTRICTED: &str = "not available in a classroom session";
/// Most worker messages handled per tick (the rest wait for the next tick).
const MSGS_PER_TICK: usize = 500;

/// The settings a run starts with (the seed's by default).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Where to train.
    pub device: DeviceChoice,
    /// Seed of the weights, the split and the dropout masks.
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            epochs: 5,
            batch_size: 50,
            lr: 0.001,
            device: DeviceChoice::Auto,
            seed: 42,
        }
    }
}

/// Where the training screen reads and writes (the defaults of `cnn-tutor train`; tests
/// point them at temporary folders).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPrefs {
    /// The last settings used (kept between visits to the screen).
    pub settings: TrainSettings,
    /// The image folder.
    pub data_dir: PathBuf,
    /// Where `w` saves and `L` loads the model.
    pub model_path: PathBuf,
    /// The shared training queue of a classroom server; `None` trains at once (local app).
    pub queue: Option<Arc<TrainQueue>>,
    /// CPU threads per run (`None`: one per core).
    pub threads: Option<usize>,
    /// A classroom session: no reading of files the student names (`o`), no loading of
    /// models (`L`); `w` saves only to `model_path`, which the server makes per student.
    pub restricted: bool,
}

impl Default for TrainPrefs {
    fn default() -> Self {
        TrainPrefs {
            settings: TrainSettings::default(),
            data_dir: PathBuf::from(crate::data::DEFAULT_DATA_DIR),
            model_path: PathBuf::from(crate::nn::checkpoint::DEFAULT_MODEL_PATH),
            queue: None,
            threads: None,
            restricted: false,
        }
    }
}

/// One editable setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingField {
    /// Epochs.
    Epochs,
    /// Batch size.
    BatchSize,
    /// Learning rate.
    Lr,
    /// Device.
    Device,
    /// Seed.
    Seed,
}

impl SettingField {
    /// All fields, top to bottom.
    pub const ALL: [SettingField; 5] = [
        SettingField::Epochs,
        SettingField::BatchSize,
        SettingField::Lr,
        SettingField::Device,
        SettingField::Seed,
    ];

    /// The label shown.
    pub fn label(self) -> &'static str {
        match self {
            SettingField::Epochs => "Epochs",
            SettingField::BatchSize => "Batch size",
            SettingField::Lr => "Learning rate",
            SettingField::Device => "Device",
            SettingField::Seed => "Seed",
        }
    }
}

/// Where the screen is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Choosing the settings.
    Settings,
    /// Training (or getting the data ready).
    Running,
    /// Finished: the results tabs.
    Done,
    /// Cancelled before the end.
    Cancelled,
    /// Stopped by an error.
    Failed(String),
}

/// The tabs after training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsTab {
    /// Confusion matrix, accuracy, precision and recall, images per cell.
    Evaluation,
    /// Training and validation loss per epoch, and how to read them.
    Loss,
    /// The first layer's filters and feature maps.
    Filters,
    /// Classify a new random shape or a file.
    Predict,
}

impl ResultsTab {
    /// All tabs, in order (keys 1-4).
    pub const ALL: [ResultsTab; 4] = [
        ResultsTab::Evaluation,
        ResultsTab::Loss,
        ResultsTab::Filters,
        ResultsTab::Predict,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            ResultsTab::Evaluation => "Evaluation",
            ResultsTab::Loss => "Loss history",
            ResultsTab::Filters => "Filters",
            ResultsTab::Predict => "Predict",
        }
    }
}

/// One classified picture on the predict tab.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictView {
    /// What was classified ("a random circle", a file name).
    pub what: String,
    /// 128x128 RGB pixels, row-major (HWC).
    pub rgb: Vec<u8>,
    /// Probability of each class.
    pub probs: Vec<f32>,
}

/// What the app does after a key on the training screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The screen handled it.
    Stay,
    /// Go back to the lesson.
    Back,
    /// Quit the app.
    Quit,
}

/// The whole training screen.
#[derive(Debug)]
pub struct TrainingState {
    /// The lesson to return to.
    pub back: Option<LessonState>,
    /// Settings, data and model paths.
    pub prefs: TrainPrefs,
    /// Where the screen is.
    pub phase: Phase,
    /// The selected setting.
    pub field: usize,
    /// Digits typed for the selected setting.
    pub input: String,
    /// Why CUDA cannot be chosen here, if it cannot.
    pub cuda_unavailable: Option<String>,
    /// The data, as the settings step shows it.
    pub data: super::preview::DataPreview,
    rx: Option<Receiver<WorkerMsg>>,
    worker: Option<WorkerHandle>,
    /// Waiting in the classroom's training queue (the run starts when this ticket does).
    queued: Option<Ticket>,
    /// Paused by `p`.
    pub paused: bool,
    /// Training images per epoch (0 until known).
    pub train_size: usize,
    /// Validation images.
    pub val_size: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// Epochs of this run.
    pub epochs: usize,
    /// Class names.
    pub classes: Vec<String>,
    /// The backend's name.
    pub device: String,
    /// Current epoch (1-based; 0 before the first batch).
    pub epoch: usize,
    /// Batches done in the current epoch.
    pub batch: usize,
    /// Images done in the current epoch.
    pub images_done: usize,
    /// The latest batch loss.
    pub loss: Option<f64>,
    /// Training images per second (the worker's measure).
    pub images_per_second: f64,
    /// (epoch position, loss) of every batch: x = epoch - 1 + share of the epoch done.
    pub batch_losses: Vec<(f64, f64)>,
    /// Each finished epoch's report.
    pub reports: Vec<EpochReport>,
    /// The seed's log lines, newest last.
    pub log: VecDeque<String>,
    /// Milliseconds spent running (counted in ticks, paused time left out).
    pub elapsed_ms: u64,
    /// The validation confusion matrix of the last epoch.
    pub confusion: Option<ConfusionMatrix>,
    /// The trained net.
    pub net: Option<ShapesNet>,
    /// The untrained net (same seed), for before/after filters.
    pub net_before: Option<ShapesNet>,
    /// The images (for drawing validation images and feature maps).
    pub dataset: Option<Arc<Dataset>>,
    /// Validation indices.
    pub val: Vec<usize>,
    /// Predicted class of each validation image (order of `val`).
    pub predictions: Option<Vec<usize>>,
    /// The results tab shown.
    pub tab: ResultsTab,
    /// Selected confusion-matrix cell (actual, predicted).
    pub cell: (usize, usize),
    /// Selected filter (0-based) on the filters tab.
    pub filter: usize,
    /// The last prediction shown.
    pub predicted: Option<PredictView>,
    /// A path being typed on the predict tab.
    pub path_input: Option<String>,
    /// Asking whether to overwrite the model file.
    pub confirm_overwrite: bool,
    /// A one-line message (saved, loaded, errors).
    pub notice: Option<String>,
    rng: ChaCha8Rng,
}

impl TrainingState {
    /// The screen on its settings step, coming from `back` (looks at the data folder).
    pub fn new(back: Option<LessonState>, prefs: TrainPrefs) -> Self {
        let cuda_unavailable = crate::backend::select(DeviceChoice::Cuda, Some(1))
            .err()
            .map(|e| e.to_string());
        let data = super::preview::preview(&prefs.data_dir);
        TrainingState {
            data,
            cuda_unavailable,
            ..TrainingState::empty(back, prefs)
        }
    }

    fn empty(back: Option<LessonState>, prefs: TrainPrefs) -> Self {
        let seed = prefs.settings.seed;
        TrainingState {
            data: super::preview::DataPreview {
                classes: Vec::new(),
                note: String::new(),
            },
            back,
            prefs,
            phase: Phase::Settings,
            field: 0,
            input: String::new(),
            cuda_unavailable: None,
            rx: None,
            worker: None,
            queued: None,
            paused: false,
            train_size: 0,
            val_size: 0,
            batches: 0,
            epochs: 0,
            classes: Vec::new(),
            device: String::new(),
            epoch: 0,
            batch: 0,
            images_done: 0,
            loss: None,
            images_per_second: 0.0,
            batch_losses: Vec::new(),
            reports: Vec::new(),
            log: VecDeque::new(),
            elapsed_ms: 0,
            confusion: None,
            net: None,
            net_before: None,
            dataset: None,
            val: Vec::new(),
            predictions: None,
            tab: ResultsTab::Evaluation,
            cell: (0, 0),
            filter: 0,
            predicted: None,
            path_input: None,
            confirm_overwrite: false,
            notice: None,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x00c0_ffee),
        }
    }

    /// Forget the last run and enter the running phase (no worker yet; see
    /// [`TrainingState::start`]). Tests feed recorded events after this.
    pub fn begin(&mut self) {
        let back = self.back.take();
        let prefs = self.prefs.clone();
        let data = std::mem::replace(
            &mut self.data,
            super::preview::DataPreview {
                classes: Vec::new(),
                note: String::new(),
            },
        );
        let cuda = self.cuda_unavailable.take();
        *self = TrainingState {
            data,
            cuda_unavailable: cuda,
            ..TrainingState::empty(back, prefs)
        };
        self.phase = Phase::Running;
        self.epochs = self.prefs.settings.epochs;
        self.push_log("Getting the images ready ...".into());
    }

    /// Start a run with the current settings on a worker thread (or, with a shared queue
    /// and no free place, get in line; the run starts on a later tick).
    pub fn start(&mut self) {
        self.begin();
        match self.prefs.queue.as_ref().map(TrainQueue::join) {
            Some(ticket) if !ticket.is_running() => {
                self.queued = Some(ticket);
            }
            ticket => self.spawn(ticket),
        }
    }

    fn spawn(&mut self, ticket: Option<Ticket>) {
        match spawn_worker(
            &self.prefs.settings,
            self.prefs.data_dir.clone(),
            self.prefs.threads,
            ticket,
        ) {
            Ok((rx, worker)) => {
                // `p` may have been pressed while waiting in line
                worker.set_paused(self.paused);
                self.rx = Some(rx);
                self.worker = Some(worker);
            }
            Err(e) => self.phase = Phase::Failed(format!("cannot start training: {e}")),
        }
    }

    /// Place in the classroom's training queue while waiting (1 = next); `None` otherwise.
    pub fn queue_position(&self) -> Option<usize> {
        self.queued.as_ref().and_then(Ticket::position)
    }

    /// True while a worker is computing.
    pub fn is_running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// A tick passed: take what the worker sent. Returns true when the screen changed.
    pub fn tick(&mut self) -> bool {
        if let Some(ticket) = self.queued.as_mut() {
            if !ticket.try_start() {
                // still waiting: the place in line may have changed
                return true;
            }
            let ticket = self.queued.take();
            self.spawn(ticket);
        }
        let running = self.is_running();
        if running && !self.paused {
            self.elapsed_ms += TICK_MS;
        }
        let mut changed = running;
        for _ in 0..MSGS_PER_TICK {
            let Some(rx) = &self.rx else { break };
            match rx.try_recv() {
                Ok(msg) => {
                    self.apply(msg);
                    changed = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.rx = None;
                    if self.is_running() {
                        self.phase = Phase::Failed("the training thread stopped".into());
                    }
                    changed = true;
                }
            }
        }
        changed
    }

    fn push_log(&mut self, line: String) {
        if self.log.len() >= LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Apply one message from the worker (or a recorded one, in tests).
    pub fn apply(&mut self, msg: WorkerMsg) {
        match msg {
            WorkerMsg::Loaded { dataset, val } => {
                self.dataset = Some(dataset);
                self.val = val;
            }
            WorkerMsg::Predictions(p) => self.predictions = Some(p),
            WorkerMsg::Train(e) => self.apply_event(e),
        }
    }

    /// Apply one training event.
    pub fn apply_event(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Note(n) => self.push_log(n),
            TrainEvent::Started {
                train_size,
                val_size,
                batches_per_epoch,
                epochs,
                classes,
                device,
            } => {
                self.train_size = train_size;
                self.val_size = val_size;
                self.batches = batches_per_epoch;
                self.epochs = epochs;
                self.net_before = Some(ShapesNet::new(self.prefs.settings.seed, classes.len()));
                self.push_log(format!(
                    "Training on {device}: {train_size} training and {val_size} validation images, classes {}",
                    classes.join(", ")
                ));
                self.classes = classes;
                self.device = device;
            }
            TrainEvent::Batch {
                epoch,
                batch,
                images_done,
                loss,
                images_per_second,
            } => {
                for line in report::batch_lines(
                    epoch,
                    batch,
                    loss,
                    self.prefs.settings.batch_size,
                    self.train_size,
                    self.batches,
                ) {
                    self.push_log(line);
                }
                self.epoch = epoch;
                self.batch = batch;
                self.images_done = images_done;
                self.loss = Some(loss);
                self.images_per_second = images_per_second;
                let x = epoch.saturating_sub(1) as f64
                    + images_done as f64 / self.train_size.max(1) as f64;
                self.batch_losses.push((x, loss));
            }
            TrainEvent::Epoch(r) => {
                for line in report::epoch_lines(&r) {
                    self.push_log(line);
                }
                self.reports.push(r);
            }
            TrainEvent::Finished(summary) => {
                self.push_log(format!(
                    "Finished: {} epoch(s), validation accuracy {:.0}%",
                    summary.epochs.len(),
                    100.0 * summary.confusion.accuracy()
                ));
                self.confusion = Some(summary.confusion.clone());
                self.classes.clone_from(&summary.classes);
                self.net = Some(summary.net);
                self.phase = Phase::Done;
                self.tab = ResultsTab::Evaluation;
                self.worker = None;
            }
            TrainEvent::Cancelled { epochs_done } => {
                self.push_log(format!("Cancelled after {epochs_done} whole epoch(s)"));
                self.phase = Phase::Cancelled;
                self.worker = None;
            }
            TrainEvent::Failed(e) => {
                self.push_log(format!("error: {e}"));
                self.phase = Phase::Failed(e);
                self.worker = None;
            }
        }
    }

    /// Seconds left, estimated from the images per second (validation counted as a third
    /// of a training pass per image); `None` before the first batch.
    pub fn seconds_left(&self) -> Option<f64> {
        if self.images_per_second <= 0.0 || self.epoch == 0 {
            return None;
        }
        let epochs_after = self.epochs.saturating_sub(self.epoch);
        let train_left = (self.train_size.saturating_sub(self.images_done)
            + epochs_after * self.train_size) as f64;
        let val_left = ((epochs_after + 1) * self.val_size) as f64 / 3.0;
        Some((train_left + val_left) / self.images_per_second)
    }

    /// Share of the whole run done, 0..=1.
    pub fn overall_ratio(&self) -> f64 {
        let total = (self.epochs * self.train_size) as f64;
        if total <= 0.0 || self.epoch == 0 {
            return 0.0;
        }
        let done =
            ((self.epoch - 1) * self.train_size + self.images_done.min(self.train_size)) as f64;
        (done / total).clamp(0.0, 1.0)
    }

    /// Cancel a running worker (returns at once; the worker stops within a batch).
    pub fn cancel(&mut self) {
        // leaving the line gives the place to the next in line
        self.queued = None;
        if let Some(w) = self.worker.take() {
            w.cancel();
        }
        self.rx = None;
        if self.is_running() {
            self.phase = Phase::Cancelled;
        }
    }

    /// Handle a key. `Back` and `Quit` leave the screen (a run is cancelled first).
    pub fn key(&mut self, key: Key) -> KeyOutcome {
        if key.ctrl {
            if matches!(key.code, KeyCode::Char('c' | 'C')) {
                self.cancel();
                return KeyOutcome::Quit;
            }
            return KeyOutcome::Stay;
        }
        if self.path_input.is_some() {
            self.path_key(key);
            return KeyOutcome::Stay;
        }
        if self.confirm_overwrite {
            self.confirm_overwrite = false;
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                self.save(true);
            } else {
                self.notice = Some("not saved".into());
            }
            return KeyOutcome::Stay;
        }
        match key.code {
            KeyCode::Char('q') => {
                self.cancel();
                return KeyOutcome::Quit;
            }
            KeyCode::Esc => {
                self.cancel();
                return KeyOutcome::Back;
            }
            _ => {}
        }
        match self.phase {
            Phase::Settings => self.settings_key(key),
            Phase::Running => {
                if key.code == KeyCode::Char('p') {
                    self.paused = !self.paused;
                    if let Some(w) = &self.worker {
                        w.set_paused(self.paused);
                    }
                }
            }
            Phase::Done => self.results_key(key),
            Phase::Cancelled | Phase::Failed(_) => match key.code {
                KeyCode::Char('s') | KeyCode::Enter => self.start(),
                KeyCode::Char('e') => self.phase = Phase::Settings,
                _ => {}
            },
        }
        KeyOutcome::Stay
    }

    fn settings_key(&mut self, key: Key) {
        let field = SettingField::ALL[self.field.min(SettingField::ALL.len() - 1)];
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.commit_input();
                self.field = self.field.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab => {
                self.commit_input();
                self.field = (self.field + 1).min(SettingField::ALL.len() - 1);
            }
            KeyCode::Left | KeyCode::Char('-') => {
                self.input.clear();
                self.step_field(field, false);
            }
            KeyCode::Right | KeyCode::Char('+' | '=') => {
                self.input.clear();
                self.step_field(field, true);
            }
            KeyCode::Char(c @ ('0'..='9' | '.' | 'e'))
                if self.input.len() < 12 && field != SettingField::Device =>
            {
                self.input.push(c);
            }
            KeyCode::Backspace | KeyCode::Delete => {
                self.input.pop();
            }
            KeyCode::Enter => {
                if self.input.is_empty() {
                    self.start();
                } else {
                    self.commit_input();
                }
            }
            KeyCode::Char('s') if self.commit_input() => self.start(),
            KeyCode::Char('L') if self.prefs.restricted => {
                self.notice = Some(RESTRICTED.into());
            }
            KeyCode::Char('L') => {
                self.load();
                if self.net.is_some() {
                    self.phase = Phase::Done;
                }
            }
            _ => {}
        }
    }

    /// Apply what was typed to the selected field. False (with a notice) when it is not a
    /// valid value.
    fn commit_input(&mut self) -> bool {
        if self.input.is_empty() {
            return true;
        }
        let typed = std::mem::take(&mut self.input);
        let s = &mut self.prefs.settings;
        let ok = match SettingField::ALL[self.field.min(4)] {
            SettingField::Epochs => typed
                .parse::<usize>()
                .ok()
                .filter(|v| (1..=1000).contains(v))
                .map(|v| s.epochs = v)
                .is_some(),
            SettingField::BatchSize => typed
                .parse::<usize>()
                .ok()
                .filter(|v| (1..=1000).contains(v))
                .map(|v| s.batch_size = v)
                .is_some(),
            SettingField::Lr => typed
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0 && *v <= 1.0)
                .map(|v| s.lr = v)
                .is_some(),
            SettingField::Seed => typed.parse::<u64>().ok().map(|v| s.seed = v).is_some(),
            SettingField::Device => true,
        };
        if ok {
            self.notice = None;
        } else {
            self.notice = Some(format!("`{typed}` is not allowed here"));
        }
        ok
    }

    fn step_field(&mut self, field: SettingField, up: bool) {
        let s = &mut self.prefs.settings;
        match field {
            SettingField::Epochs => {
                s.epochs = if up { s.epochs + 1 } else { s.epochs - 1 }.clamp(1, 1000);
            }
            SettingField::BatchSize => {
                const SIZES: [usize; 8] = [1, 5, 10, 20, 32, 50, 64, 100];
                let i = SIZES.iter().position(|&b| b >= s.batch_size).unwrap_or(5);
                let i = if up {
                    (i + 1).min(SIZES.len() - 1)
                } else {
                    i.saturating_sub(1)
                };
                s.batch_size = SIZES[i];
            }
            SettingField::Lr => {
                const LRS: [f64; 7] = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];
                let i = LRS.iter().position(|&l| l >= s.lr * 0.999).unwrap_or(2);
                let i = if up {
                    (i + 1).min(LRS.len() - 1)
                } else {
                    i.saturating_sub(1)
                };
                s.lr = LRS[i];
            }
            SettingField::Device => {
                let order = [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::Cuda];
                let i = order.iter().position(|d| *d == s.device).unwrap_or(0);
                s.device = order[if up { (i + 1) % 3 } else { (i + 2) % 3 }];
                if s.device == DeviceChoice::Cuda {
                    if let Some(why) = &self.cuda_unavailable {
                        self.notice = Some(format!("cuda unavailable: {why}"));
                    }
                }
            }
            SettingField::Seed => {
                s.seed = if up {
                    s.seed.saturating_add(1)
                } else {
                    s.seed.saturating_sub(1)
                };
            }
        }
    }

    fn results_key(&mut self, key: Key) {
        match key.code {
            KeyCode::Char(c @ '1'..='4') => {
                let i = usize::from(c as u8 - b'1');
                self.tab = ResultsTab::ALL[i];
            }
            KeyCode::Tab => {
                let i = ResultsTab::ALL
                    .iter()
                    .position(|t| *t == self.tab)
                    .unwrap_or(0);
                self.tab = ResultsTab::ALL[(i + 1) % ResultsTab::ALL.len()];
            }
            KeyCode::BackTab => {
                let i = ResultsTab::ALL
                    .iter()
                    .position(|t| *t == self.tab)
                    .unwrap_or(0);
                self.tab = ResultsTab::ALL[(i + ResultsTab::ALL.len() - 1) % ResultsTab::ALL.len()];
            }
            KeyCode::Char('w') => self.save(false),
            KeyCode::Char('L') if self.prefs.restricted => self.notice = Some(RESTRICTED.into()),
            KeyCode::Char('L') => self.load(),
            KeyCode::Char('r') => self.phase = Phase::Settings,
            _ => match self.tab {
                ResultsTab::Evaluation => {
                    let n = self.classes.len().max(1);
                    let (r, c) = &mut self.cell;
                    match key.code {
                        KeyCode::Up | KeyCode::Char('k') => *r = r.saturating_sub(1),
                        KeyCode::Down | KeyCode::Char('j') => *r = (*r + 1).min(n - 1),
                        KeyCode::Left | KeyCode::Char('h') => *c = c.saturating_sub(1),
                        KeyCode::Right | KeyCode::Char('l') => *c = (*c + 1).min(n - 1),
                        _ => {}
                    }
                }
                ResultsTab::Filters => match key.code {
                    KeyCode::Left | KeyCode::Char('h') => {
                        self.filter = self.filter.saturating_sub(1);
                    }
                    KeyCode::Right | KeyCode::Char('l') => {
                        self.filter = (self.filter + 1).min(crate::nn::net::C1 - 1);
                    }
                    _ => {}
                },
                ResultsTab::Predict => match key.code {
                    KeyCode::Char('n') | KeyCode::Enter => self.predict_random(),
                    KeyCode::Char('o' | '/') if self.prefs.restricted => {
                        self.notice = Some(RESTRICTED.into());
                    }
                    KeyCode::Char('o' | '/') => self.path_input = Some(String::new()),
                    _ => {}
                },
                ResultsTab::Loss => {}
            },
        }
    }

    fn path_key(&mut self, key: Key) {
        let Some(input) = self.path_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.path_input = None,
            KeyCode::Backspace | KeyCode::Delete => {
                input.pop();
            }
            KeyCode::Char(c) if input.chars().count() < 400 => input.push(c),
            KeyCode::Enter => {
                let path = std::mem::take(input);
                self.path_input = None;
                self.predict_file(path.trim());
            }
            _ => {}
        }
    }

    /// The net the predict tab uses (the trained one, or a loaded one).
    fn classify(&mut self, chw: &[u8]) -> Option<Vec<f32>> {
        let net = self.net.as_ref()?;
        let lut = data::normalize_table();
        let input: Vec<f32> = chw.iter().map(|&p| lut[usize::from(p)]).collect();
        let mut backend = match CpuBackend::new(Some(1)) {
            Ok(b) => b,
            Err(e) => {
                self.notice = Some(format!("cannot classify: {e}"));
                return None;
            }
        };
        match backend.predict(net, &input) {
            Ok(lp) => Some(lp.row(0).iter().map(|v| v.exp()).collect()),
            Err(e) => {
                self.notice = Some(format!("cannot classify: {e}"));
                None
            }
        }
    }

    /// Draw a new random shape (the seed's `create_image`) and classify it.
    pub fn predict_random(&mut self) {
        let shape = Shape::ALL[self.rng.gen_range(0..Shape::ALL.len())];
        let img = data::create_image(shape, &mut self.rng);
        let chw = data::rgb_to_chw(&img);
        if let Some(probs) = self.classify(&chw) {
            self.predicted = Some(PredictView {
                what: format!("a random {}", shape.name()),
                rgb: img.into_raw(),
                probs,
            });
        }
    }

    fn predict_file(&mut self, path: &str) {
        if path.is_empty() {
            return;
        }
        match data::load_image(std::path::Path::new(path)) {
            Ok(chw) => {
                if let Some(probs) = self.classify(&chw) {
                    let name = std::path::Path::new(path)
                        .file_name()
                        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into());
                    self.predicted = Some(PredictView {
                        what: name,
                        rgb: chw_to_rgb(&chw),
                        probs,
                    });
                    self.notice = None;
                }
            }
            Err(e) => self.notice = Some(e.to_string()),
        }
    }

    fn save(&mut self, overwrite: bool) {
        let Some(net) = &self.net else {
            self.notice = Some("nothing to save yet".into());
            return;
        };
        let path = self.prefs.model_path.clone();
        if path.exists() && !overwrite {
            self.confirm_overwrite = true;
            self.notice = Some(format!("{} exists: overwrite it? y/n", path.display()));
            return;
        }
        let s = &self.prefs.settings;
        let mut settings = std::collections::BTreeMap::new();
        settings.insert("epochs".to_string(), s.epochs.to_string());
        settings.insert("batch_size".to_string(), s.batch_size.to_string());
        settings.insert("lr".to_string(), s.lr.to_string());
        settings.insert("seed".to_string(), s.seed.to_string());
        if let Some(r) = self.reports.last() {
            settings.insert("val_accuracy".to_string(), format!("{:.6}", r.val_accuracy));
            settings.insert("val_loss".to_string(), format!("{:.6}", r.val_loss));
        }
        settings.insert(
            "trained_by".to_string(),
            format!("cnn-tutor {} (app)", env!("CARGO_PKG_VERSION")),
        );
        let meta = CheckpointMeta {
            classes: self.classes.clone(),
            settings,
        };
        self.notice = Some(match checkpoint::save(&path, net, &meta) {
            Ok(()) => format!("model saved as {}", path.display()),
            Err(e) => format!("not saved: {e}"),
        });
    }

    fn load(&mut self) {
        let path = self.prefs.model_path.clone();
        match checkpoint::load(&path) {
            Ok((net, meta)) => {
                self.net = Some(net);
                self.classes = meta.classes;
                self.tab = ResultsTab::Predict;
                self.notice = Some(format!(
                    "loaded {}: the predict tab uses it now",
                    path.display()
                ));
            }
            Err(e) => self.notice = Some(format!("cannot load: {e}")),
        }
    }
}

/// CHW u8 pixels (3 planes) to row-major RGB.
pub(crate) fn chw_to_rgb(chw: &[u8]) -> Vec<u8> {
    let plane = chw.len() / 3;
    let mut out = Vec::with_capacity(chw.len());
    for i in 0..plane {
        out.push(chw[i]);
        out.push(chw[plane + i]);
        out.push(chw[2 * plane + i]);
    }
    out
}

/// The class with the highest probability.
pub(crate) fn best(probs: &[f32]) -> usize {
    argmax(probs)
}
