//! The local terminal: raw mode, the alternate screen and bracketed paste, entered by
//! [`TerminalGuard::enter`] and always left again: on [`TerminalGuard::restore`], on drop,
//! and from a panic hook before the panic message prints.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::{Error, Result};

/// What the app writes to: stdout, buffered until each frame is complete (one write per
/// frame). Without colour it also drops the colour-reset sequences ratatui's backend sends
/// after every frame, so a `NO_COLOR` session carries no colour escapes at all.
pub struct Output {
    pending: Vec<u8>,
    strip_color: bool,
    /// `--record`: every frame is also written to the recording.
    recorder: Option<SharedRecorder>,
}

/// A recording that a session's output and its loop (the markers) both write to.
pub type SharedRecorder = std::sync::Arc<std::sync::Mutex<crate::cast::Recorder>>;

/// Write `bytes` to the recording (a poisoned lock still records: it holds only a file).
pub fn record_output(recorder: &SharedRecorder, bytes: &[u8]) {
    recorder
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .output(bytes);
}

/// The colour resets crossterm writes for `Color::Reset` (foreground, background, underline).
const COLOR_RESETS: [&[u8]; 3] = [b"\x1b[39m", b"\x1b[49m", b"\x1b[59m"];

impl Output {
    /// Buffered stdout; `strip_color` removes colour resets (for `NO_COLOR`).
    pub fn new(strip_color: bool) -> Self {
        Output {
            pending: Vec::with_capacity(1 << 16),
            strip_color,
            recorder: None,
        }
    }
}

/// `bytes` without any of the colour reset sequences.
pub fn strip_color_resets(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(seq) = COLOR_RESETS.iter().find(|s| bytes[i..].starts_with(s)) {
            i += seq.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let bytes = std::mem::take(&mut self.pending);
        let bytes = if self.strip_color {
            strip_color_resets(&bytes)
        } else {
            bytes
        };
        if let Some(rec) = &self.recorder {
            if !bytes.is_empty() {
                record_output(rec, &bytes);
            }
        }
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()
    }
}

/// Owns the local terminal while the app runs; puts it back as it was when dropped.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Output>>,
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

/// The terminal is in raw mode and the alternate screen (set by `enter`, cleared by the first
/// restore). Restoring twice would leave the alternate screen twice, and the second time
/// the terminal moves the cursor back to where the app started, over what was printed since
/// (a panic message, the shell prompt).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leave raw mode, bracketed paste and the alternate screen, show the cursor; only the
/// first call after entering does anything.
fn restore_terminal() -> std::io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = std::io::stdout();
    let raw = disable_raw_mode();
    let screen = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    out.flush()?;
    raw.and(screen)
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen, and make sure a panic restores both.
    /// `color`: false strips every colour escape from the output.
    pub fn enter(color: bool) -> Result<Self> {
        Self::enter_recording(color, None)
    }

    /// [`TerminalGuard::enter`], and every frame also written to `recorder` (`--record`),
    /// which starts with the cursor hidden and the screen cleared, as the terminal is.
    pub fn enter_recording(color: bool, recorder: Option<SharedRecorder>) -> Result<Self> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let _ = restore_terminal();
                previous(info);
            }));
        });
        let fail = |e: std::io::Error| Error::Terminal(format!("cannot set up the terminal: {e}"));
        let mut output = Output::new(!color);
        if let Some(rec) = recorder {
            record_output(&rec, b"\x1b[?25l");
            output.recorder = Some(rec);
        }
        let terminal = Terminal::new(CrosstermBackend::new(output)).map_err(fail)?;
        enable_raw_mode().map_err(fail)?;
        ACTIVE.store(true, Ordering::SeqCst);
        // from here on, dropping the guard restores the terminal
        let mut guard = TerminalGuard {
            terminal,
            active: true,
        };
        // bracketed paste: a paste arrives as one event, not as thousands of keys
        execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        )
        .map_err(fail)?;
        guard.terminal.clear().map_err(fail)?;
        Ok(guard)
    }

    /// The ratatui terminal to draw on.
    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Output>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_resets_are_stripped_and_nothing_else() {
        let raw = b"\x1b[1mA\x1b[39m\x1b[49mB\x1b[59m\x1b[0m\x1b[38;5;1m";
        assert_eq!(
            strip_color_resets(raw),
            b"\x1b[1mAB\x1b[0m\x1b[38;5;1m".to_vec()
        );
    }
}
