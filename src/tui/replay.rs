//! `cnn-tutor replay FILE.cast`: plays an asciicast v2 recording (the app's `--record`, a
//! teacher's `serve --record`, or one asciinema made) in this terminal, in its timing with
//! the idle gaps cut to `--idle-limit`. Keys: Space pauses, `+`/`-` double or halve the
//! speed, `n` (`→`, `]`) jumps to the next marker (a lesson step), `p` (`←`, `[`) to the
//! previous one, `q`/Esc/Ctrl-C quit; at the end the last screen stays until `q`. A recording larger than the terminal is refused with
//! the size it needs (nothing is clipped). The terminal is restored however it ends.
//!
//! [`Player`] is the terminal-free part: the timeline, the position, what to write for a
//! jump; [`run`] drives it with the local terminal's input and clock.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::cast::{Cast, Kind};
use crate::{Error, Result};

use super::{AppEvent, KeyCode, TerminalGuard};

/// Sequences a recording may hold that the player must not pass on: switching screens
/// (the player is on the alternate screen already; leaving it would write over the
/// user's shell).
const DROPPED: [&str; 6] = [
    "\x1b[?1049h",
    "\x1b[?1049l",
    "\x1b[?1047h",
    "\x1b[?1047l",
    "\x1b[?47h",
    "\x1b[?47l",
];

/// What leaves the terminal as the player found it whatever the recording switched on
/// (mouse reports, colours, a hidden cursor).
const RESET: &str = "\x1b[0m\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?25h";

/// Speeds the player goes through with `+` and `-`.
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 16.0;

/// A recording on its play timeline.
#[derive(Debug)]
pub struct Player {
    cast: Cast,
    /// Each event's time on the play timeline (idle gaps cut).
    at: Vec<f64>,
    /// The next event to play.
    pub pos: usize,
    /// Where play is on the timeline (seconds).
    pub clock: f64,
    pub speed: f64,
    pub paused: bool,
}

/// `text` without the screen switches in [`DROPPED`].
pub fn filtered(text: &str) -> String {
    let mut out = text.to_string();
    for seq in DROPPED {
        if out.contains(seq) {
            out = out.replace(seq, "");
        }
    }
    out
}

impl Player {
    /// `cast` with every gap longer than `idle_limit` seconds cut to it.
    pub fn new(cast: Cast, idle_limit: f64, speed: f64) -> Self {
        let mut at = Vec::with_capacity(cast.events.len());
        let (mut t, mut prev) = (0.0, 0.0);
        for e in &cast.events {
            t += (e.time - prev).min(idle_limit);
            prev = e.time;
            at.push(t);
        }
        Player {
            cast,
            at,
            pos: 0,
            clock: 0.0,
            speed: speed.clamp(MIN_SPEED, MAX_SPEED),
            paused: false,
        }
    }

    pub fn cast(&self) -> &Cast {
        &self.cast
    }

    /// Every event has been played.
    pub fn finished(&self) -> bool {
        self.pos >= self.at.len()
    }

    /// Play-time seconds until the next event (`None`: at the end).
    pub fn until_next(&self) -> Option<f64> {
        self.at.get(self.pos).map(|t| (t - self.clock).max(0.0))
    }

    /// Move the clock on by `secs` of play time and return the output of every event due.
    pub fn advance(&mut self, secs: f64) -> String {
        self.clock += secs;
        let mut out = String::new();
        while self.pos < self.at.len() && self.at[self.pos] <= self.clock + 1e-9 {
            if let Kind::Output(text) = &self.cast.events[self.pos].kind {
                out.push_str(&filtered(text));
            }
            self.pos += 1;
        }
        out
    }

    /// The markers' event indices.
    fn marker_positions(&self) -> Vec<usize> {
        self.cast.markers().into_iter().map(|(i, _, _)| i).collect()
    }

    /// The label of the last marker played (the chapter showing).
    pub fn chapter(&self) -> Option<(usize, usize, &str)> {
        let markers = self.cast.markers();
        let n = markers.iter().take_while(|(i, _, _)| *i < self.pos).count();
        let total = markers.len();
        n.checked_sub(1).map(|k| (k + 1, total, markers[k].2))
    }

    /// Jump to event `target` (a marker): the screen cleared and every output before it
    /// written at once, then the marker itself played.
    pub fn seek(&mut self, target: usize) -> String {
        let mut out = String::from("\x1b[0m\x1b[H\x1b[2J");
        for e in &self.cast.events[..target.min(self.cast.events.len())] {
            if let Kind::Output(text) = &e.kind {
                out.push_str(&filtered(text));
            }
        }
        self.pos = target;
        self.clock = self.at.get(target).copied().unwrap_or(self.clock);
        out.push_str(&self.advance(0.0));
        out
    }

    /// Jump to the next marker (`None`: there is none after this point).
    pub fn next_marker(&mut self) -> Option<String> {
        let target = self
            .marker_positions()
            .into_iter()
            .find(|&i| i >= self.pos)?;
        Some(self.seek(target))
    }

    /// Jump to the marker before the chapter showing (the start of the recording when
    /// there is none).
    pub fn previous_marker(&mut self) -> String {
        let played: Vec<usize> = self
            .marker_positions()
            .into_iter()
            .filter(|&i| i < self.pos)
            .collect();
        // the chapter showing is the last marker played; go to the one before it
        let target = played.len().checked_sub(2).map_or(0, |k| played[k]);
        self.seek(target)
    }

    /// The status line: state, speed, chapter, keys (fits `width`).
    pub fn status(&self, width: u16) -> String {
        let state = if self.finished() {
            "the end"
        } else if self.paused {
            "paused"
        } else {
            "playing"
        };
        let chapter = self
            .chapter()
            .map(|(n, total, label)| format!(" | {n}/{total} {label}"))
            .unwrap_or_default();
        let line = format!(
            "{state} {}x{chapter} | Space pause  +/- speed  n/p step  q quit",
            self.speed
        );
        super::truncate(&crate::text::escaped(&line), width as usize, "~")
    }
}

/// Play `path` in this terminal until it ends or the user quits.
pub fn run(path: &Path, speed: f64, idle_limit: f64) -> Result<()> {
    use std::io::IsTerminal;
    if !(speed.is_finite() && (MIN_SPEED..=MAX_SPEED).contains(&speed)) {
        return Err(Error::Usage(format!(
            "--speed {speed}: give a speed from {MIN_SPEED} to {MAX_SPEED}"
        )));
    }
    if !(idle_limit.is_finite() && idle_limit > 0.0) {
        return Err(Error::Usage(format!(
            "--idle-limit {idle_limit}: give a number of seconds above 0"
        )));
    }
    let cast = crate::cast::read(path)?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::Terminal(
            "replay needs an interactive terminal (or play the file with asciinema)".into(),
        ));
    }
    let term = |e: std::io::Error| Error::Terminal(format!("terminal error: {e}"));
    let (cols, rows) = crossterm::terminal::size().map_err(term)?;
    let (w, h) = cast.largest_size();
    if w > cols || h > rows {
        return Err(Error::Terminal(format!(
            "{} is {w}x{h}; this terminal is {cols}x{rows}: make it at least {w}x{h} to play it",
            crate::text::path(path)
        )));
    }
    let mut player = Player::new(cast, idle_limit, speed);
    let mut guard = TerminalGuard::enter(true)?;
    let played = play(&mut player, (cols, rows)).map_err(term);
    let mut out = std::io::stdout();
    let _ = out.write_all(RESET.as_bytes());
    let _ = out.flush();
    let restored = guard.restore();
    played.and(restored)
}

/// The loop: input, the clock, the output and the status line below the recording (when
/// the terminal has a row to spare).
fn play(player: &mut Player, (cols, rows): (u16, u16)) -> std::io::Result<()> {
    let input = super::spawn_stdin_reader()?;
    let status_row = (rows > player.cast().largest_size().1).then_some(rows);
    let mut out = std::io::stdout();
    let mut last = Instant::now();
    let mut shown = String::new();
    loop {
        let mut text = String::new();
        let wait = match (player.paused, player.until_next()) {
            (false, Some(secs)) => Duration::from_secs_f64((secs / player.speed).min(0.1)),
            _ => Duration::from_millis(100),
        };
        match input.recv_timeout(wait) {
            Ok(AppEvent::Key(key)) => match key.code {
                KeyCode::Char('c') if key.ctrl => break,
                KeyCode::Char('q') | KeyCode::Esc => break,
                KeyCode::Char(' ') => player.paused = !player.paused,
                KeyCode::Char('+') | KeyCode::Char('=') => {
                    player.speed = (player.speed * 2.0).min(MAX_SPEED)
                }
                KeyCode::Char('-') => player.speed = (player.speed / 2.0).max(MIN_SPEED),
                KeyCode::Char('n') | KeyCode::Char(']') | KeyCode::Right => {
                    text.push_str(&player.next_marker().unwrap_or_default())
                }
                KeyCode::Char('p') | KeyCode::Char('[') | KeyCode::Left => {
                    text.push_str(&player.previous_marker())
                }
                _ => {}
            },
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        let real = now.duration_since(last).as_secs_f64();
        last = now;
        if !player.paused {
            text.push_str(&player.advance(real * player.speed));
        }
        if let Some(row) = status_row {
            let status = player.status(cols);
            if !text.is_empty() || status != shown {
                // saved and restored around it: the recording's cursor and colours go on
                text.push_str(&format!(
                    "\x1b7\x1b[{row};1H\x1b[0m\x1b[2K\x1b[7m{status}\x1b[0m\x1b8"
                ));
                shown = status;
            }
        }
        if !text.is_empty() {
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast::Event;

    fn cast(events: Vec<(f64, Kind)>) -> Cast {
        Cast {
            width: 10,
            height: 3,
            title: None,
            events: events
                .into_iter()
                .map(|(time, kind)| Event { time, kind })
                .collect(),
        }
    }

    fn o(s: &str) -> Kind {
        Kind::Output(s.into())
    }

    fn m(s: &str) -> Kind {
        Kind::Marker(s.into())
    }

    #[test]
    fn idle_gaps_are_cut_and_markers_jump() {
        let c = cast(vec![
            (0.0, o("a")),
            (0.5, m("one")),
            (0.6, o("b")),
            (100.0, m("two")),
            (100.5, o("c\x1b[?1049l")),
        ]);
        let mut p = Player::new(c, 2.0, 1.0);
        assert_eq!(p.advance(0.55), "a");
        assert_eq!(p.chapter(), Some((1, 2, "one")));
        // the 99.4 s gap is played as 2 s
        assert_eq!(p.advance(1.0), "b");
        assert_eq!(p.advance(1.1), "");
        assert_eq!(p.advance(0.5), "c", "the screen switch is dropped");
        assert!(p.finished());
        // back: the chapter before the one showing ("two" -> "one")
        assert_eq!(p.previous_marker(), "\x1b[0m\x1b[H\x1b[2Ja");
        assert_eq!(p.chapter(), Some((1, 2, "one")));
        let next = p.next_marker().unwrap();
        assert_eq!(next, "\x1b[0m\x1b[H\x1b[2Jab");
        assert_eq!(p.chapter(), Some((2, 2, "two")));
        assert!(p.next_marker().is_none());
        assert!(p.status(200).contains("2/2 two"));
    }
}
