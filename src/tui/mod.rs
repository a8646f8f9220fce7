//! The terminal app: lesson menu, lessons, training, the inspector, help.
//!
//! The core is terminal-free: [`App`] (the router, `app.rs`) keeps a stack of screens
//! (`menu.rs`, `lesson_screen/`, `training/`, `inspector/`, `help.rs`; what a screen is:
//! `screen.rs`), [`App::handle`] applies an [`AppEvent`] and returns the [`AppEffect`]s a
//! front end runs, and [`render`] draws the state into any ratatui `Terminal<B: Backend>`
//! (the local terminal, a test buffer, an SSH channel). `frontend.rs` is what both front
//! ends share: running the effects ([`apply`], [`settle`]) and the loop's pace ([`Pace`]).
//! This module adds the local front end: raw mode and the alternate screen behind a guard
//! that restores the terminal however the program ends (including panics), crossterm
//! events turned into [`AppEvent`]s, and saving progress.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;

use crate::{Error, Result};

mod app;
pub mod attempts;
pub mod console;
mod course;
pub use course::CourseState;
mod event;
mod frontend;
pub mod help;
pub mod inspector;
pub mod keys;
pub mod lesson_screen;
pub mod menu;
pub mod path_input;
mod progress;
mod recording;
pub mod replay;
pub mod screen;
mod terminal;
mod theme;
pub mod training;
mod view;
pub mod why_view;
mod widgets;

pub use app::{render, render_into, render_to_buffer, App, AppEffect, Screen, ScreenId};
pub use event::{
    spawn_stdin_reader, AppEvent, InputParser, Key, KeyCode, MAX_PASTE_BYTES, TICK_MS,
};
pub use frontend::{apply, settle, Pace, Turn};
pub use lesson_screen::{EditState, Focus, LessonState, DEFAULT_SPEED, SPEEDS_MS};
pub use lesson_screen::{Feedback, Outcome, QuizState, MAX_TRIES};
pub use progress::{
    default_path as default_progress_path, state_dir, LessonProgress, Progress, QuizTally,
};
pub use recording::Recording;
pub use terminal::{record_output, strip_color_resets, Output, SharedRecorder, TerminalGuard};
pub use theme::{asciify, Symbols, Theme};
pub use view::{buffer_text, MIN_HEIGHT, MIN_WIDTH};
pub use widgets::{truncate, wrap};

/// How the app was asked to start.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Open straight at this lesson id instead of the menu.
    pub start_lesson: Option<String>,
    /// Open the start lesson at this step (1-based, `lesson ID --step N`).
    pub start_step: Option<usize>,
    /// Plain ASCII drawing (from --ascii or a non-UTF-8 locale).
    pub ascii: bool,
    /// Load lessons from this folder instead of the built-in ones.
    pub lessons_dir: Option<PathBuf>,
    /// Train on this image folder instead of `data/shapes` (`--data`).
    pub data_dir: Option<PathBuf>,
    /// Most megabytes of decoded images kept in memory while training (`--cache-mb`).
    pub cache_mb: Option<usize>,
    /// Record the session to this asciicast v2 file (`--record`).
    pub record: Option<PathBuf>,
    /// Open in presenter mode (`--present`).
    pub present: bool,
}

/// Build the app for these options: load the lessons and the saved progress, open the start
/// lesson. Returns the app and where its progress is saved. Touches no terminal.
pub fn build_app(options: &Options, theme: Theme) -> Result<(App, Option<PathBuf>)> {
    let lessons = crate::lesson::load(options.lessons_dir.as_deref())?;
    let progress_path = progress::default_path();
    let (progress, note) = match &progress_path {
        Some(path) => Progress::load(path),
        None => (Progress::new(), None),
    };
    let mut app = App::new(lessons, theme, progress);
    let defaults = training::TrainPrefs::default();
    app.set_train_prefs(training::TrainPrefs {
        data_dir: options
            .data_dir
            .clone()
            .unwrap_or(defaults.data_dir.clone()),
        cache_mb: options.cache_mb.unwrap_or(defaults.cache_mb),
        // every run is kept in the state folder's runs/ (the Runs view lists them)
        runs_dir: progress::state_dir().map(|d| d.join(crate::train::runs::RUNS_DIR)),
        ..defaults
    });
    // the architecture lesson offers the inspector on a saved model
    app.set_saved_model(std::path::Path::new(crate::nn::checkpoint::DEFAULT_MODEL_PATH).is_file());
    app.set_present(options.present);
    if let Some(id) = &options.start_lesson {
        app.open_by_id(id)?;
        if let Some(n) = options.start_step {
            app.open_step(n)?;
        }
    }
    if let Some(note) = note {
        app.set_notice(note);
    }
    Ok((app, progress_path))
}

/// Open the app in the local terminal and run it until the user quits.
pub fn run(options: Options) -> Result<()> {
    let theme = Theme::detect(options.ascii);
    // everything that can fail on bad input fails here, before the screen changes
    let (mut app, progress_path) = build_app(&options, theme)?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Terminal(
            "the lesson app needs an interactive terminal; for text output use `cnn-tutor lesson ID --plain`"
                .into(),
        ));
    }

    let mut recording = match &options.record {
        Some(path) => {
            let (cols, rows) = crossterm::terminal::size()
                .map_err(|e| Error::Terminal(format!("terminal error: {e}")))?;
            let rec = crate::cast::Recorder::open(path, (cols, rows), "cnn-tutor")?;
            Some(Recording::new(std::sync::Arc::new(std::sync::Mutex::new(
                rec,
            ))))
        }
        None => None,
    };
    let mut guard =
        TerminalGuard::enter_recording(theme.color, recording.as_ref().map(Recording::recorder))?;
    let result = event_loop(
        &mut app,
        &mut guard,
        progress_path.as_deref(),
        recording.as_mut(),
    );
    let restored = guard.restore();
    result.and(restored)
}

fn save_progress(app: &mut App, path: Option<&std::path::Path>) {
    if let Some(path) = path {
        if let Err(e) = app.progress().save(path) {
            app.set_notice(format!("progress not saved: {e}"));
        }
    }
}

/// Most input events applied between two frames.
const MAX_EVENTS_PER_FRAME: usize = 20_000;

fn event_loop(
    app: &mut App,
    guard: &mut TerminalGuard,
    progress_path: Option<&std::path::Path>,
    mut recording: Option<&mut Recording>,
) -> Result<()> {
    let term_err = |e: std::io::Error| Error::Terminal(format!("terminal error: {e}"));
    let area = guard.terminal().size().map_err(term_err)?;
    let mut size = (area.width, area.height);
    let mut pace = Pace::new();
    let mut turns = vec![pace.resize(app, size.0, size.1)];
    // input is read on a thread of its own (see event::InputParser for why not crossterm's)
    let input = event::spawn_stdin_reader().map_err(term_err)?;
    while !app.should_quit() {
        if turns.drain(..).any(|t| t.save_progress) {
            save_progress(app, progress_path);
        }
        if pace.take_dirty() {
            guard
                .terminal()
                .draw(|frame| render(app, frame))
                .map_err(term_err)?;
            if let Some(r) = recording.as_deref_mut() {
                r.mark(app);
                if let Some(why) = r.take_error() {
                    app.set_notice(why);
                    pace.mark_dirty();
                }
            }
        }
        match input.recv_timeout(pace.wait()) {
            Ok(ev) => {
                turns.push(pace.event(app, ev));
                // take what else has arrived (a paste without bracketed paste is thousands
                // of keys) before drawing again, a bounded number at a time
                for ev in input.try_iter().take(MAX_EVENTS_PER_FRAME) {
                    if app.should_quit() {
                        break;
                    }
                    turns.push(pace.event(app, ev));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // stdin ended: the terminal is gone
            Err(RecvTimeoutError::Disconnected) => break,
        }
        // the size is polled (a cheap ioctl), as input no longer comes through crossterm
        let now = crossterm::terminal::size().map_err(term_err)?;
        if now != size {
            size = now;
            if let Some(r) = recording.as_deref() {
                r.resize(size.0, size.1);
            }
            guard.terminal().autoresize().map_err(term_err)?;
            turns.push(pace.resize(app, size.0, size.1));
        }
        // the outcomes of effects that finished on the pace's worker (a model loaded ...)
        turns.push(pace.collect(app));
        turns.extend(pace.tick(app));
    }
    if turns.iter().any(|t| t.save_progress) {
        save_progress(app, progress_path);
    }
    Ok(())
}
