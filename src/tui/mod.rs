//! The terminal app: lesson menu, lessons, help.
//!
//! The core is terminal-free: [`App`] holds the state, [`App::handle`] applies an
//! [`AppEvent`], and [`render`] draws the state into any ratatui `Terminal<B: Backend>` (the
//! local terminal, a test buffer, or later an SSH channel). This module adds the local front
//! end: raw mode and the alternate screen behind a guard that restores the terminal however
//! the program ends (including panics), crossterm events turned into [`AppEvent`]s, and
//! saving progress.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cli::GlobalOpts;
use crate::{Error, Result};

mod app;
mod event;
mod lesson_view;
mod progress;
mod terminal;
mod theme;
pub mod training;
mod view;
mod widgets;

pub use app::{App, EditState, Focus, LessonState, Screen, DEFAULT_SPEED, SPEEDS_MS};
pub use event::{AppEvent, Key, KeyCode, TICK_MS};
pub use progress::{default_path as default_progress_path, state_dir, LessonProgress, Progress};
pub use terminal::{strip_color_resets, Output, TerminalGuard};
pub use theme::{asciify, Symbols, Theme};
pub use view::{buffer_text, render, render_into, render_to_buffer, MIN_HEIGHT, MIN_WIDTH};
pub use widgets::wrap;

/// How the app was asked to start.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Open straight at this lesson id instead of the menu.
    pub start_lesson: Option<String>,
    /// Plain ASCII drawing (from --ascii or a non-UTF-8 locale).
    pub ascii: bool,
    /// Load lessons from this folder instead of the built-in ones.
    pub lessons_dir: Option<PathBuf>,
}

impl Options {
    /// The options from the command line's global flags.
    pub fn from_global(global: &GlobalOpts, start_lesson: Option<String>) -> Self {
        Options {
            start_lesson,
            ascii: global.ascii,
            lessons_dir: global.lessons.clone(),
        }
    }
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
    if let Some(id) = &options.start_lesson {
        app.open_by_id(id)?;
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

    let mut guard = TerminalGuard::enter(theme.color)?;
    let result = event_loop(&mut app, &mut guard, progress_path.as_deref());
    let restored = guard.restore();
    save_progress(&mut app, progress_path.as_deref());
    result.and(restored)
}

fn save_progress(app: &mut App, path: Option<&std::path::Path>) {
    if app.take_progress_changed() {
        if let Some(path) = path {
            if let Err(e) = app.progress().save(path) {
                app.set_notice(format!("progress not saved: {e}"));
            }
        }
    }
}

fn event_loop(
    app: &mut App,
    guard: &mut TerminalGuard,
    progress_path: Option<&std::path::Path>,
) -> Result<()> {
    let term_err = |e: std::io::Error| Error::Terminal(format!("terminal error: {e}"));
    let size = guard.terminal().size().map_err(term_err)?;
    app.handle(AppEvent::Resize(size.width, size.height));
    let tick = Duration::from_millis(TICK_MS);
    let mut last_tick = Instant::now();
    let mut dirty = true;
    while !app.should_quit() {
        if dirty {
            guard
                .terminal()
                .draw(|frame| render(app, frame))
                .map_err(term_err)?;
            dirty = false;
        }
        let timeout = tick.saturating_sub(last_tick.elapsed());
        if crossterm::event::poll(timeout).map_err(term_err)? {
            let ev = crossterm::event::read().map_err(term_err)?;
            if let Some(ev) = AppEvent::from_crossterm(ev) {
                if let AppEvent::Resize(..) = ev {
                    guard.terminal().autoresize().map_err(term_err)?;
                }
                dirty |= app.handle(ev);
            }
        }
        if last_tick.elapsed() >= tick {
            last_tick = Instant::now();
            dirty |= app.handle(AppEvent::Tick);
        }
        save_progress(app, progress_path);
    }
    Ok(())
}
