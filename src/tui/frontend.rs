//! What both front ends (the local terminal in [`super::run`] and an SSH session in
//! `serve`) do alike: run the effects [`App::handle`] returns, and keep the loop's pace
//! (when the next tick is due, whether to draw).
//!
//! The effects that read or write files and probe devices run here, one after the other,
//! on the thread that calls (as they always have: each is quick, or says it is working);
//! their outcomes go back to the screen that asked. What is left (save the progress,
//! follow the teacher, quit) is the front end's own, in the returned [`Turn`].

use std::time::{Duration, Instant};

use super::app::{App, AppEffect};
use super::event::{AppEvent, TICK_MS};
use super::training::effects;

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
/// something changed.
#[derive(Debug)]
pub struct Pace {
    tick: Duration,
    last_tick: Instant,
    dirty: bool,
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
        }
    }

    /// How long to wait for input before the next tick is due.
    pub fn wait(&self) -> Duration {
        self.tick.saturating_sub(self.last_tick.elapsed())
    }

    /// Apply an input event (a key, a paste, a size): its effects run, the frame is due
    /// when it changed something.
    pub fn event(&mut self, app: &mut App, event: AppEvent) -> Turn {
        let turn = apply(app, event);
        self.dirty |= turn.redraw;
        turn
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
