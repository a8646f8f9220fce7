//! One session's loop, on its own thread: the student's [`App`] and a ratatui terminal
//! whose backend writes to the SSH channel ([`Session`]). Its pace (ticks, resizes,
//! redraws) and the running of the app's effects are the local front end's
//! ([`crate::tui::Pace`]); what is the classroom's own is in `follow.rs` (following and
//! its lock), `message.rs` (the teacher's message), `handover.rs` (the teacher's class
//! view) and `role.rs` (the console's commands).

use std::io::Write;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::{cursor, execute, terminal};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::class::Seen;
use super::conn::Event;
use super::follow::Follow;
use super::handover::{ConsoleKey, Handover};
use super::hands::HandKeys;
use super::message::{message_up, overlay};
use super::output::{Pipe, MAX_BACKLOG};
use super::role::{quiz_tally, Class, Commanded, Role};
use super::start::{ChannelOut, Incoming};
use crate::tui::{render, render_into, App, AppEvent, Key, Pace, Recording, Turn};

/// How a session ends: the line to leave on the student's terminal and the reason for
/// the log (`None`: the connection is gone, nothing can be shown).
type Ending = Option<(String, &'static str)>;

/// What one turn of the loop says.
enum Flow {
    Go,
    End(Ending),
}

fn goodbye() -> Flow {
    Flow::End(Some(("Goodbye!".to_string(), "quit")))
}

/// One student's session: what its loop keeps between turns.
pub(super) struct Session<'a> {
    app: App,
    term: Terminal<CrosstermBackend<ChannelOut>>,
    pipe: Arc<Pipe>,
    incoming: &'a Incoming,
    class: &'a Class,
    idle: Duration,
    pace: Pace,
    size: (u16, u16),
    last_input: Instant,
    follow: Follow,
    handover: Handover,
    /// The number of the teacher's message this student dismissed.
    dismissed: u64,
    /// The last frame is kept for the console's mirror.
    mirrored: bool,
    /// What the overlay showed last (the message's number, locked, the hand's place and
    /// the teacher's line to this student).
    overlay_drawn: OverlayLook,
    /// A raised hand's note being typed, the teacher's line to this student dismissed.
    hands: HandKeys,
    /// `serve --record`, the teacher's session: the markers of the steps shown.
    recording: Option<Recording>,
}

type OverlayLook = (Option<u64>, bool, (Option<(usize, usize)>, Option<u64>));

impl<'a> Session<'a> {
    /// The session's terminal set up on `out` (alternate screen, bracketed paste, no
    /// cursor). `Err`: why it could not start, for the log.
    pub(super) fn new(
        app: App,
        out: ChannelOut,
        (cols, rows): (u16, u16),
        incoming: &'a Incoming,
        idle: Duration,
        class: &'a Class,
    ) -> Result<Self, String> {
        let pipe = Arc::clone(&out.pipe);
        let recording = out.recorder.clone().map(Recording::new);
        let Ok(mut term) = Terminal::with_options(
            CrosstermBackend::new(out),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, cols, rows)),
            },
        ) else {
            return Err("ended: cannot set up the terminal".into());
        };
        if execute!(
            term.backend_mut(),
            terminal::EnterAlternateScreen,
            crossterm::event::EnableBracketedPaste,
            cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        )
        .is_err()
        {
            return Err("disconnected".into());
        }
        let mut session = Session {
            app,
            term,
            pipe,
            incoming,
            class,
            idle,
            pace: Pace::new(),
            size: (cols, rows),
            last_input: Instant::now(),
            follow: Follow::new(),
            handover: Handover::new(class),
            dismissed: 0,
            mirrored: false,
            overlay_drawn: (None, false, (None, None)),
            hands: HandKeys::default(),
            recording,
        };
        session.pace.resize(&mut session.app, cols, rows);
        Ok(session)
    }

    /// Run the app until the student quits, goes idle or disconnects (the teacher's
    /// session shows the class view first: see [`crate::tui::console`]). Returns what
    /// ended it, for the log.
    pub(super) fn run(mut self) -> String {
        let ending = loop {
            if let Flow::End(ending) = self.turn() {
                break ending;
            }
        };
        self.finish(ending)
    }

    /// One turn: the size, the console's commands, a frame if one is due, one input (or
    /// the wait for it), a tick if one is due.
    fn turn(&mut self) -> Flow {
        if self.app.should_quit() {
            return goodbye();
        }
        if let Some(why) = self.pipe.gone() {
            // the client left, or stopped reading for the output timeout (its connection
            // is cut): nothing more can be shown
            return Flow::End(Some((String::new(), why)));
        }
        if let Some((w, h)) = self.incoming.take_size() {
            // the resize event goes before the clear that follows it
            if let Some(r) = &self.recording {
                r.resize(w, h);
            }
            if self.term.resize(Rect::new(0, 0, w, h)).is_err() {
                return Flow::End(None);
            }
            self.size = (w, h);
            self.pace.resize(&mut self.app, w, h);
        }
        match self.class.take_commands(&mut self.app, &mut self.follow) {
            Commanded::Go(true) => self.pace.mark_dirty(),
            Commanded::Go(false) => {}
            Commanded::End(line, why) => return Flow::End(Some((line, why))),
        }
        if self.class.member.mirror_missing() {
            self.pace.mark_dirty();
        }
        // while output waits to be sent, frames are skipped (the next one drawn shows
        // everything that changed)
        if self.pace.dirty() && self.pipe.backlog() < MAX_BACKLOG {
            self.pace.take_dirty();
            if self.draw().is_err() {
                return Flow::End(None);
            }
        }
        match self.incoming.rx.recv_timeout(self.pace.wait()) {
            Ok(Event::Resized) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Event::App(AppEvent::Key(key))) => {
                if let Flow::End(ending) = self.on_key(key) {
                    return Flow::End(ending);
                }
            }
            Ok(Event::App(event)) => self.on_event(event),
            Err(RecvTimeoutError::Disconnected) => return Flow::End(None),
        }
        if self.class.role == Role::Teacher {
            let at = self.app.position();
            if at != self.class.teacher_at() {
                self.class.publish(at);
            }
        }
        // the outcomes of effects that finished on the pace's worker (a model loaded ...)
        let done = self.pace.collect(&mut self.app);
        self.after(&done);
        match self.pace.tick(&mut self.app) {
            Some(turn) => self.on_tick(turn),
            None => Flow::Go,
        }
    }

    /// A key: the class view's, the teacher's way to it, dismissing the teacher's
    /// message, or the app's.
    fn on_key(&mut self, key: Key) -> Flow {
        self.last_input = Instant::now();
        if let Some(c) = self.class.shared.config.panic_key {
            assert!(
                key.code != crate::tui::KeyCode::Char(c),
                "the test panic key"
            );
        }
        self.pace.mark_dirty();
        if self.handover.on {
            if let ConsoleKey::Quit = self.handover.key(key, &mut self.app, self.class) {
                return goodbye();
            }
        } else if self.handover.takes(key, &self.app) {
            self.handover.on = true;
        } else if self.hands.key(key, self.class) {
            // the hand's note, or the teacher's line to this student dismissed
        } else if key.code == crate::tui::KeyCode::Enter && self.message().is_some() {
            self.dismissed = self.message().map_or(self.dismissed, |(seq, _)| seq);
        } else {
            let turn = self.pace.event(&mut self.app, AppEvent::Key(key));
            self.after(&turn);
        }
        Flow::Go
    }

    /// Another input event (a paste).
    fn on_event(&mut self, event: AppEvent) {
        self.last_input = Instant::now();
        if self.handover.on {
            self.handover.event(&event);
            self.pace.mark_dirty();
        } else if self.hands.event(&event) {
            self.pace.mark_dirty();
        } else {
            let turn = self.pace.event(&mut self.app, event);
            self.after(&turn);
        }
    }

    /// What the app left to the session after an event: following (a classroom keeps no
    /// progress file; quitting is seen at the top of the loop).
    fn after(&mut self, turn: &Turn) {
        for &on in &turn.follow {
            self.follow.pressed(on, &mut self.app, self.class);
        }
    }

    /// A tick (the app has had it): following, the class's view of this session, the
    /// server stopping, the idle timeout.
    fn on_tick(&mut self, turn: Turn) -> Flow {
        self.after(&turn);
        let (app, class) = (&mut self.app, self.class);
        if self.follow.keep_locked(app, class) | self.follow.sync(app, class) {
            self.pace.mark_dirty();
        }
        // following the teacher through a lesson is taking part: not idle (the console
        // does not mark it idle either); following a teacher with no lesson open is
        if self.follow.on && class.teacher_at().is_some() {
            self.last_input = Instant::now();
        }
        // the class view's times and rows change while nobody types
        if self.handover.on {
            self.pace.mark_dirty();
        }
        // a message put up or taken down, following locked or unlocked
        let look = (
            self.message().map(|(seq, _)| seq),
            class.shared.class.locked(),
            self.hands.look(class),
        );
        if look != self.overlay_drawn {
            self.overlay_drawn = look;
            self.pace.mark_dirty();
        }
        let seen = Seen {
            last_input: self.last_input,
            following: self.follow.on,
            quiz: quiz_tally(&self.app),
        };
        class.member.update(&self.app, seen);
        if class
            .shared
            .stopping
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Flow::End(Some((
                "The class is over: the server is stopping. Goodbye!".to_string(),
                "server stopping",
            )));
        }
        // the teacher watching the class view is not idle
        if self.last_input.elapsed() >= self.idle && !self.handover.on {
            let line = format!(
                "No key pressed for {}: goodbye! Connect again to carry on.",
                humantime::format_duration(self.idle)
            );
            return Flow::End(Some((line, "idle timeout")));
        }
        Flow::Go
    }

    /// The teacher's message while this session has not dismissed it.
    fn message(&self) -> Option<(u64, String)> {
        message_up(self.class, self.dismissed)
    }

    /// Draw a frame: the class view, or the app (one row shorter under a message or the
    /// locked following); keep it for the console's mirror when asked.
    fn draw(&mut self) -> std::io::Result<()> {
        if self.handover.on {
            self.handover.refresh(self.class, self.size.1);
        }
        let message = self.message();
        let locked = self.class.locked_student();
        let extra = self.hands.lines(self.class);
        let (app, class, handover) = (&self.app, self.class, &self.handover);
        let done = self.term.draw(|frame| {
            let (a, theme) = (frame.area(), app.theme());
            if handover.on {
                handover.render(theme, a, frame.buffer_mut());
            } else if message.is_some() || locked || !extra.is_empty() {
                // the line goes above the app, which draws one row shorter
                let below = Rect::new(a.x, a.y + 1, a.width, a.height.saturating_sub(1));
                render_into(app, below, frame.buffer_mut());
                let m = message.as_ref().map(|(_, m)| m.as_str());
                overlay(class, theme, (m, &extra), locked, a, frame.buffer_mut());
            } else {
                render(app, frame);
                overlay(class, theme, (None, &[]), false, a, frame.buffer_mut());
            }
        })?;
        if let Some(r) = &mut self.recording {
            r.mark(&self.app);
        }
        if self.class.member.mirror_wanted() {
            self.class.member.set_mirror(Some(done.buffer));
            self.mirrored = true;
        } else if self.mirrored {
            self.class.member.set_mirror(None);
            self.mirrored = false;
        }
        Ok(())
    }

    /// The session is over: the app (and any training it runs) goes first, then the
    /// goodbye line on the student's own screen.
    fn finish(mut self, ending: Ending) -> String {
        if self.class.role == Role::Teacher {
            self.class.publish(None);
        }
        drop(self.app);
        let pipe = self.pipe;
        let Some((line, why)) = ending else {
            pipe.finish(None);
            return "session ended (connection closed)".into();
        };
        if line.is_empty() {
            pipe.finish(None);
            return format!("session ended ({why})");
        }
        let backend = self.term.backend_mut();
        let _ = execute!(
            backend,
            crossterm::style::ResetColor,
            crossterm::event::DisableBracketedPaste,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
        let _ = write!(backend, "{line}\r\n");
        let _ = backend.flush();
        pipe.finish(Some(0));
        format!("session ended ({why})")
    }
}
