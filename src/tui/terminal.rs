//! The local terminal: raw mode and the alternate screen, entered by [`TerminalGuard::enter`]
//! and always left again: on [`TerminalGuard::restore`], on drop, and from a panic hook
//! before the panic message prints.

use std::io::{Stdout, Write};
use std::sync::Once;

use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::{Error, Result};

/// Owns the local terminal while the app runs; puts it back as it was when dropped.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    active: bool,
}

impl std::fmt::Debug for TerminalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalGuard")
            .field("active", &self.active)
            .finish()
    }
}

static PANIC_HOOK: Once = Once::new();

/// Leave raw mode and the alternate screen, show the cursor. Safe to call more than once.
fn restore_terminal() -> std::io::Result<()> {
    let mut out = std::io::stdout();
    let raw = disable_raw_mode();
    let screen = execute!(out, LeaveAlternateScreen, cursor::Show);
    out.flush()?;
    raw.and(screen)
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen, and make sure a panic restores both.
    pub fn enter() -> Result<Self> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let _ = restore_terminal();
                previous(info);
            }));
        });
        let fail = |e: std::io::Error| Error::Terminal(format!("cannot set up the terminal: {e}"));
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(fail)?;
        enable_raw_mode().map_err(fail)?;
        // from here on, dropping the guard restores the terminal
        let mut guard = TerminalGuard {
            terminal,
            active: true,
        };
        execute!(std::io::stdout(), EnterAlternateScreen, cursor::Hide).map_err(fail)?;
        guard.terminal.clear().map_err(fail)?;
        Ok(guard)
    }

    /// The ratatui terminal to draw on.
    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        &mut self.terminal
    }

    /// Put the terminal back now (drop does it too, ignoring errors).
    pub fn restore(&mut self) -> Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        restore_terminal().map_err(|e| Error::Terminal(format!("cannot restore the terminal: {e}")))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.active {
            self.active = false;
            let _ = restore_terminal();
        }
    }
}
