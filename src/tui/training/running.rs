//! The running step: a run on its worker thread (or waiting in the classroom's queue),
//! what it has reported so far, and how that is drawn (progress, loss chart, log). A run
//! that was cancelled or stopped by an error stays on screen as it ended.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::data::Dataset;
use crate::train::{report, EpochReport, Summary, TrainEvent};

use super::super::event::TICK_MS;
use super::super::theme::Theme;
use super::super::widgets::truncate;
use super::queue::{Ticket, TrainQueue};
use super::settings::TrainPrefs;
use super::view::{block, fmt_secs, gauge_text, render_loss_chart};
use super::worker::{spawn_worker_kept, WorkerHandle, WorkerMsg};
use crate::text::Dec;

/// Log lines kept (older ones scroll away, so memory stays flat).
pub const LOG_LINES: usize = 200;
/// Most worker messages handled per tick (the rest wait for the next tick).
const MSGS_PER_TICK: usize = 500;

/// How a run ended before its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Cancelled before the end.
    Cancelled,
    /// Stopped by an error.
    Failed(String),
}

/// Where a run went after a message or a tick.
#[derive(Debug)]
pub(crate) enum RunEnd {
    /// It finished: the results.
    Finished(Box<Summary>),
    /// It stopped early.
    Stopped(Stop),
}

/// One run and everything it reported.
#[derive(Debug)]
pub struct Run {
    rx: Option<Receiver<WorkerMsg>>,
    worker: Option<WorkerHandle>,
    /// Waiting in the classroom's training queue (the run starts when this ticket does).
    queued: Option<Ticket>,
    /// Paused by `p`.
    pub paused: bool,
    /// Images per batch of this run.
    pub batch_size: usize,
    /// Seed of this run (the untrained net is made from it again for the filters tab).
    pub seed: u64,
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
    /// The images (for drawing validation images and feature maps).
    pub dataset: Option<Arc<Dataset>>,
    /// Validation indices.
    pub val: Vec<usize>,
    /// Predicted class of each validation image (order of `val`).
    pub predictions: Option<Vec<usize>>,
    /// The id it was kept as (see [`crate::train::runs`]), once the worker kept it.
    pub kept: Option<String>,
}

impl Run {
    /// A run of `prefs.settings` that has not started (no worker yet; see [`Run::start`]).
    pub(crate) fn new(prefs: &TrainPrefs) -> Self {
        let mut run = Run {
            rx: None,
            worker: None,
            queued: None,
            paused: false,
            batch_size: prefs.settings.batch_size,
            seed: prefs.settings.seed,
            train_size: 0,
            val_size: 0,
            batches: 0,
            epochs: prefs.settings.epochs,
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
            dataset: None,
            val: Vec::new(),
            predictions: None,
            kept: None,
        };
        run.push_log("Getting the images ready ...".into());
        run
    }

    /// Start the worker (or, with a shared queue and no free place, get in line; the run
    /// starts on a later tick). `Err` when the worker thread cannot start.
    pub(crate) fn start(&mut self, prefs: &TrainPrefs) -> Result<(), Stop> {
        match prefs.queue.as_ref().map(TrainQueue::join) {
            Some(ticket) if !ticket.is_running() => {
                self.queued = Some(ticket);
                Ok(())
            }
            ticket => self.spawn(prefs, ticket),
        }
    }

    fn spawn(&mut self, prefs: &TrainPrefs, ticket: Option<Ticket>) -> Result<(), Stop> {
        match spawn_worker_kept(
            &prefs.settings,
            prefs.data_dir.clone(),
            prefs.threads,
            prefs.cache_mb,
            ticket,
            prefs.runs_dir.clone(),
        ) {
            Ok((rx, worker)) => {
                // `p` may have been pressed while waiting in line
                worker.set_paused(self.paused);
                self.rx = Some(rx);
                self.worker = Some(worker);
                Ok(())
            }
            Err(e) => Err(Stop::Failed(format!("cannot start training: {e}"))),
        }
    }

    /// Place in the classroom's training queue while waiting (1 = next); `None` otherwise.
    pub fn queue_position(&self) -> Option<usize> {
        self.queued.as_ref().and_then(Ticket::position)
    }

    /// Pause or resume (`p`).
    pub(crate) fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if let Some(w) = &self.worker {
            w.set_paused(self.paused);
        }
    }

    /// Stop the worker (returns at once; the worker stops within a batch) or leave the
    /// line, which gives the place to the next in line.
    pub(crate) fn cancel(&mut self) {
        self.queued = None;
        if let Some(w) = self.worker.take() {
            w.cancel();
        }
        self.rx = None;
    }

    /// A tick passed: start when the queue lets us, take what the worker sent. Returns
    /// whether the screen changed, and how the run ended if it did.
    pub(crate) fn tick(&mut self, prefs: &TrainPrefs) -> (bool, Option<RunEnd>) {
        if let Some(ticket) = self.queued.as_mut() {
            if !ticket.try_start() {
                // still waiting: the place in line may have changed
                return (true, None);
            }
            let ticket = self.queued.take();
            if let Err(stop) = self.spawn(prefs, ticket) {
                return (true, Some(RunEnd::Stopped(stop)));
            }
        }
        if !self.paused {
            self.elapsed_ms += TICK_MS;
        }
        for _ in 0..MSGS_PER_TICK {
            let Some(rx) = &self.rx else { break };
            match rx.try_recv() {
                Ok(msg) => {
                    if let Some(end) = self.apply(msg) {
                        return (true, Some(end));
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.rx = None;
                    let stop = Stop::Failed("the training thread stopped".into());
                    return (true, Some(RunEnd::Stopped(stop)));
                }
            }
        }
        (true, None)
    }

    fn push_log(&mut self, line: String) {
        if self.log.len() >= LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Apply one worker message; `Some` when the run ended with it.
    pub(crate) fn apply(&mut self, msg: WorkerMsg) -> Option<RunEnd> {
        match msg {
            WorkerMsg::Loaded { dataset, val } => {
                self.dataset = Some(dataset);
                self.val = val;
                None
            }
            WorkerMsg::Kept(id) => {
                self.kept = Some(id);
                None
            }
            WorkerMsg::Predictions(p) => {
                self.predictions = Some(p);
                None
            }
            WorkerMsg::Train(e) => self.apply_event(e),
        }
    }

    /// Apply one training event; `Some` when the run ended with it.
    pub(crate) fn apply_event(&mut self, event: TrainEvent) -> Option<RunEnd> {
        match event {
            TrainEvent::Note(n) => self.push_log(n),
            TrainEvent::Started {
                train_size,
                split_size,
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
                self.push_log(report::started_line(
                    &device, train_size, val_size, &classes,
                ));
                if split_size != train_size {
                    self.push_log(report::share_line(train_size, split_size));
                }
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
                    self.batch_size,
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
                    Dec::of(100.0 * summary.confusion.accuracy())
                ));
                self.worker = None;
                return Some(RunEnd::Finished(summary));
            }
            TrainEvent::Cancelled { epochs_done } => {
                self.push_log(format!("Cancelled after {epochs_done} whole epoch(s)"));
                self.worker = None;
                return Some(RunEnd::Stopped(Stop::Cancelled));
            }
            TrainEvent::Failed(e) => {
                self.push_log(format!("error: {e}"));
                self.worker = None;
                return Some(RunEnd::Stopped(Stop::Failed(e)));
            }
        }
        None
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

    /// The title bar's words for this run while it runs.
    pub(crate) fn title(&self, dot: &str) -> String {
        if self.queue_position().is_some() {
            format!(" Training {dot} queued")
        } else if self.epoch == 0 {
            format!(" Training {dot} getting ready")
        } else {
            format!(
                " Training {dot} epoch {}/{} {dot} {}",
                self.epoch, self.epochs, self.device
            )
        }
    }
}

/// Draw a run: progress on top, the loss chart and the log below.
pub(crate) fn render(theme: &Theme, run: &Run, stop: Option<&Stop>, area: Rect, buf: &mut Buffer) {
    let [prog, rest] = Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(area);
    render_progress(theme, run, stop, prog, buf);
    let chart = |area: Rect, buf: &mut Buffer| {
        render_loss_chart(
            theme,
            &run.reports,
            Some(&run.batch_losses),
            run.epochs,
            area,
            buf,
        );
    };
    if rest.width >= 100 {
        let [c, log] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(rest);
        chart(c, buf);
        render_log(theme, run, log, buf);
    } else {
        let log_h = if rest.height >= 16 { 6 } else { 4 };
        let [c, log] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(log_h)]).areas(rest);
        chart(c, buf);
        render_log(theme, run, log, buf);
    }
}

fn render_progress(theme: &Theme, run: &Run, stop: Option<&Stop>, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "Progress");
    let inner = b.inner(area);
    b.render(area, buf);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    let head = match stop {
        None if run.queue_position().is_some() => format!(
            "queued: you are number {} in line (others are training; Esc leaves the line)",
            run.queue_position().unwrap_or(1)
        ),
        None if run.epoch == 0 => {
            let last = run.log.back().map_or("", String::as_str);
            format!("Getting ready: {last}")
        }
        Some(Stop::Cancelled) => format!(
            "Cancelled in epoch {} at [{}/{}]; no model was written.",
            run.epoch.max(1),
            run.images_done,
            run.train_size
        ),
        Some(Stop::Failed(e)) => format!("Stopped: {e}"),
        None => {
            let loss = run
                .loss
                .map_or("-".to_string(), |l| format!("{l:.6}", l = Dec::of(l)));
            let left = run
                .seconds_left()
                .map_or(String::new(), |s| format!("  about {} left", fmt_secs(s)));
            format!(
                "Epoch {}/{}  [{}/{}]  batch {}/{}  loss {loss}  {:.0} images/s{left}",
                run.epoch,
                run.epochs,
                run.images_done,
                run.train_size,
                run.batch,
                run.batches,
                Dec::of(run.images_per_second)
            )
        }
    };
    lines.push(Line::raw(truncate(
        &theme.text(&head),
        w,
        theme.symbols().ellipsis,
    )));
    let label_w = 12;
    let bar_w = w.saturating_sub(label_w + 6).max(1);
    let epoch_ratio = run.images_done as f64 / run.train_size.max(1) as f64;
    let overall = run.overall_ratio();
    for (label, ratio) in [("this epoch", epoch_ratio), ("all epochs", overall)] {
        lines.push(Line::from(vec![
            Span::raw(format!("{label:<label_w$}")),
            Span::styled(gauge_text(theme, ratio, bar_w), theme.bar_fill()),
            Span::raw(format!(" {:>3.0}%", Dec::of(100.0 * ratio))),
        ]));
    }
    Paragraph::new(lines).render(inner, buf);
}

fn render_log(theme: &Theme, run: &Run, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "Log");
    let inner = b.inner(area);
    b.render(area, buf);
    let h = usize::from(inner.height);
    let w = usize::from(inner.width);
    // a long line wraps (issue 23: the validation accuracy, the number a class watches,
    // was cut off at the end of the line); the newest rows that fit are shown
    let mut rows: Vec<String> = Vec::new();
    for l in run.log.iter().rev() {
        if rows.len() >= h {
            break;
        }
        let mut wrapped = crate::tui::wrap(&theme.text(l), w.saturating_sub(2).max(1));
        for (i, r) in wrapped.iter_mut().enumerate() {
            if i > 0 {
                r.insert_str(0, "  ");
            }
        }
        for r in wrapped.into_iter().rev() {
            rows.push(truncate(&r, w, theme.symbols().ellipsis));
        }
    }
    let skip = rows.len().saturating_sub(h);
    let lines: Vec<Line> = rows.into_iter().rev().skip(skip).map(Line::raw).collect();
    Paragraph::new(lines).render(inner, buf);
}
