//! What both front ends (the local terminal in [`super::run`] and an SSH session in
//! `serve`) do alike: run the effects [`App::handle`] returns, and keep the loop's pace
//! (when the next tick is due, whether to draw).
//!
//! The effects that read or write files and probe devices (loading a model, evaluating it
//! on its data, compiling the GPU's kernels: seconds, sometimes) run off the drawing
//! thread in a front end's loop: [`Pace`] hands them to a worker thread of its own, one
//! after the other in the order asked, and gives each outcome back to the screen that
//! asked on the loop's next turn ([`Pace::collect`]), so the screen keeps drawing and
//! answering keys meanwhile. [`apply`] and [`settle`] run them on the calling thread (the
//! tests' way: every outcome is in before they return). What is left (save the
//! progress, follow the teacher, quit) is the front end's own, in the returned [`Turn`].

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use super::app::{App, AppEffect, ScreenId};
use super::event::{AppEvent, TICK_MS};
use super::training::effects::{self, Effect};
use super::training::TrainPrefs;

/// What an event leaves to the front end, once the app's blocking effects ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turn {
    /// Something may look different: draw.
    pub redraw: bool,
    /// The progress changed: save it.
    pub save_progress: bool,
    /// The student started (`true`) or stopped following the teacher, in order.
    pub follow: Vec<bool>,
    /// The app asked to end.
    pub quit: bool,
}

/// Apply `event` and run the effects it asks for.
pub fn apply(app: &mut App, event: AppEvent) -> Turn {
    let effects = app.handle(event);
    settle(app, effects)
}

/// Run `effects` (and those their outcomes ask for); the rest is the front end's.
///
/// A classroom session's limits apply here, in the one place that decides them:
/// [`effects::run`] refuses what `TrainPrefs::restricted` forbids.
pub fn settle(app: &mut App, effects: Vec<AppEffect>) -> Turn {
    let mut turn = Turn::default();
    let mut queue: std::collections::VecDeque<AppEffect> = effects.into();
    while let Some(effect) = queue.pop_front() {
        match effect {
            AppEffect::Redraw => turn.redraw = true,
            AppEffect::Run(id, effect) => {
                // the paths an effect uses (model file, cache, restriction) are the app's:
                // a screen changes only its settings and data folder, which effects are given
                let done = effects::run(app.train_prefs(), effect);
                queue.extend(app.done(id, done));
            }
            AppEffect::SaveProgress => turn.save_progress = true,
            AppEffect::Follow(on) => turn.follow.push(on),
            AppEffect::Quit => turn.quit = true,
        }
    }
    turn
}

/// The pace of a front end's loop: ticks every [`TICK_MS`], and a frame drawn only when
/// something changed; the app's blocking effects run on its worker thread.
#[derive(Debug)]
pub struct Pace {
    tick: Duration,
    last_tick: Instant,
    dirty: bool,
    worker: Option<Worker>,
}

/// A thread that runs effects in the order it gets them and sends back each outcome.
#[derive(Debug)]
struct Worker {
    jobs: Sender<(ScreenId, TrainPrefs, Effect)>,
    done: Receiver<(ScreenId, effects::Done)>,
    /// Effects sent and not yet given back.
    pending: usize,
}

impl Worker {
    /// The thread; `None` when the system will not start one (the effects then run on
    /// the calling thread, as [`settle`] does).
    fn start() -> Option<Worker> {
        let (jobs, inbox) = channel::<(ScreenId, TrainPrefs, Effect)>();
        let (outbox, done) = channel();
        std::thread::Builder::new()
            .name("cnn-tutor-effects".into())
            .spawn(move || {
                for (id, prefs, effect) in inbox {
                    if outbox.send((id, effects::run(&prefs, effect))).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker {
            jobs,
            done,
            pending: 0,
        })
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new()
    }
}

impl Pace {
    /// A loop about to draw its first frame.
    pub fn new() -> Self {
        Pace {
            tick: Duration::from_millis(TICK_MS),
            last_tick: Instant::now(),
            dirty: true,
            worker: Worker::start(),
        }
    }

    /// How long to wait for input before the next tick is due (a short while when an
    /// effect's outcome may be waiting, so it is shown soon).
    pub fn wait(&self) -> Duration {
        let wait = self.tick.saturating_sub(self.last_tick.elapsed());
        match &self.worker {
            Some(w) if w.pending > 0 => wait.min(Duration::from_millis(10)),
            _ => wait,
        }
    }

    /// Apply an input event (a key, a paste, a size): its effects run (the blocking ones
    /// on the worker), the frame is due when it changed something.
    pub fn event(&mut self, app: &mut App, event: AppEvent) -> Turn {
        let effects = app.handle(event);
        let turn = self.settle(app, effects);
        self.dirty |= turn.redraw;
        turn
    }

    /// [`settle`], with the blocking effects sent to the worker.
    fn settle(&mut self, app: &mut App, effects: Vec<AppEffect>) -> Turn {
        let Some(worker) = &mut self.worker else {
            return settle(app, effects);
        };
        let mut now = Vec::new();
        for effect in effects {
            match effect {
                AppEffect::Run(id, effect) => {
                    let job = (id, app.train_prefs().clone(), effect);
                    match worker.jobs.send(job) {
                        Ok(()) => worker.pending += 1,
                        // the worker is gone: run it here
                        Err(e) => {
                            let (id, prefs, effect) = e.0;
                            now.extend(app.done(id, effects::run(&prefs, effect)));
                        }
                    }
                }
                other => now.push(other),
            }
        }
        settle(app, now)
    }

    /// Give the outcomes the worker has finished back to the screens that asked (and run
    /// what they ask for next). The loop calls it every turn.
    pub fn collect(&mut self, app: &mut App) -> Turn {
        let mut turn = Turn::default();
        loop {
            let Some(worker) = &mut self.worker else {
                return turn;
            };
            let Ok((id, done)) = worker.done.try_recv() else {
                return turn;
            };
            worker.pending = worker.pending.saturating_sub(1);
            let effects = app.done(id, done);
            let t = self.settle(app, effects);
            // an outcome always changes what a screen shows
            turn.redraw = true;
            turn.save_progress |= t.save_progress;
            turn.follow.extend(t.follow);
            turn.quit |= t.quit;
            self.dirty = true;
        }
    }

    /// The terminal is now `w` x `h`.
    pub fn resize(&mut self, app: &mut App, w: u16, h: u16) -> Turn {
        self.event(app, AppEvent::Resize(w, h))
    }

    /// A tick, when one is due (`None`: not yet).
    pub fn tick(&mut self, app: &mut App) -> Option<Turn> {
        if self.last_tick.elapsed() < self.tick {
            return None;
        }
        self.last_tick = Instant::now();
        Some(self.event(app, AppEvent::Tick))
    }

    /// Draw a frame: something changed since the last one.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Whether a frame is due (the front end draws it now, or marks it due again).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Whether a frame is due, without taking it.
    pub fn dirty(&self) -> bool {
        self.dirty
    }
}
