//! One SSH connection: authentication, the channel requests (only a PTY and a shell are
//! granted), and the student's app on a thread of its own.
//!
//! The russh handler ([`Conn`]) turns input bytes into keys and window changes into
//! resizes, and sends them over a channel to the session thread ([`run_app`]), which owns
//! the `App` and a ratatui terminal whose backend writes to the SSH channel. Everything a
//! session holds (the app, a training run or its place in the queue, the session slot) is
//! owned by that thread and freed when it ends: on quit, on idle timeout, or when the
//! connection drops (the handler is dropped, the channel closes, the thread sees it).

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::{cursor, execute, terminal};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, Pty};

use super::accept::ConnState;
use super::class::{Command, Member, Seen};
use super::output::{Pipe, MAX_BACKLOG};
use super::{code_matches, display_name, term_has_color, SessionSlot, Shared};
use crate::text::escaped;
use crate::tui::console::{self, Console, ConsoleEffect, QuizTally};
use crate::tui::training::TrainPrefs;
use crate::tui::{
    render, render_into, App, AppEvent, InputParser, Key, KeyCode, Progress, Screen, Theme, TICK_MS,
};

/// Told to a client that asks for no terminal.
pub const NO_PTY: &str =
    "cnn-tutor needs a terminal: connect with `ssh -t` (and without a command).";
/// Told to a client when every place is taken.
pub const FULL: &str = "Sorry, the class is full right now; please try again in a few minutes.";
/// Told to a client that asks to run a command.
pub const NO_COMMANDS: &str =
    "This server only shows the cnn-tutor lessons; it runs no commands. Connect with plain `ssh`.";

/// Keys queued for a session's app at most; more are dropped.
pub const KEY_QUEUE: usize = 256;
/// Keys a session takes per second, over a burst of [`KEY_QUEUE`]: more than anyone types
/// (or a held key repeats); a paste beyond it is dropped, so a client sending megabytes
/// costs neither memory nor the app's time.
pub const KEYS_PER_SECOND: f64 = 100.0;

/// The way into a running session's app: bounded, never blocking the connection.
struct Inbox {
    tx: SyncSender<Event>,
    /// The last size asked for (window changes are not queued: only the last counts).
    size: Arc<Mutex<Option<(u16, u16)>>>,
    /// Keys dropped (beyond the rate or the queue).
    dropped: Arc<AtomicU64>,
    tokens: f64,
    last: Instant,
}

impl Inbox {
    /// One event the client's terminal sent: a key, or a bracketed paste (one event, at
    /// most [`crate::tui::MAX_PASTE_BYTES`]); each takes one of the rate's tokens.
    fn send(&mut self, event: AppEvent) {
        match event {
            AppEvent::Key(key) => self.key(key),
            AppEvent::Paste(_) => self.event(event),
            // the terminal's bytes make nothing else
            AppEvent::Resize(..) | AppEvent::Tick => {}
        }
    }

    fn key(&mut self, key: crate::tui::Key) {
        self.event(AppEvent::Key(key));
    }

    fn event(&mut self, event: AppEvent) {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * KEYS_PER_SECOND;
        self.tokens = (self.tokens + refill).min(KEY_QUEUE as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            match self.tx.try_send(Event::App(event)) {
                Ok(()) => {
                    self.tokens -= 1.0;
                    return;
                }
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
            }
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn resize(&self, cols: u16, rows: u16) {
        let earlier = self
            .size
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace((cols, rows));
        // one wake-up for sizes not yet taken (a full queue wakes the app anyway: the size
        // is read on every turn)
        if earlier.is_none() {
            let _ = self.tx.try_send(Event::Resized);
        }
    }
}

/// A session's part in a class led by a teacher (`serve --teacher NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// No teacher configured.
    Alone,
    /// The teacher: publishes their lesson and step.
    Teacher,
    /// A student: `f` on the menu follows the teacher, `f` again stops.
    Student,
}

/// The terminal the client asked for.
#[derive(Debug, Clone)]
struct PtyInfo {
    term: String,
    cols: u16,
    rows: u16,
}

/// What the handler tells the session thread.
enum Event {
    App(AppEvent),
    /// The terminal size changed (the new one is in the inbox's size).
    Resized,
}

/// One connection's handler.
pub(super) struct Conn {
    shared: Arc<Shared>,
    /// The connection as the accept loop sees it (login state, the grace time, cutting it).
    state: Arc<ConnState>,
    id: u64,
    peer: Option<SocketAddr>,
    /// The display name, once logged in.
    name: Option<String>,
    /// The user name as the client sent it (at most 64 characters): only this exact name
    /// is the teacher's (`teach!` shows as `teach` but does not lead).
    user: String,
    channel: Option<ChannelId>,
    pty: Option<PtyInfo>,
    env: HashMap<String, String>,
    input: InputParser,
    app: Option<Inbox>,
    /// Logged in with a key (a teacher must, when keys are configured).
    by_key: bool,
}

impl Conn {
    pub(super) fn new(
        shared: Arc<Shared>,
        peer: Option<SocketAddr>,
        state: Arc<ConnState>,
    ) -> Conn {
        Conn {
            shared,
            id: state.id,
            state,
            peer,
            name: None,
            user: String::new(),
            channel: None,
            pty: None,
            env: HashMap::new(),
            input: InputParser::new(),
            app: None,
            by_key: false,
        }
    }

    fn who(&self, user: &str) -> String {
        let addr = self
            .peer
            .map_or_else(|| "unknown address".to_string(), |p| p.to_string());
        format!("{}@{addr} (#{})", display_name(user), self.id)
    }

    /// Log a line about this connection (escaped: it may quote what the client sent).
    fn log(&self, what: &str) {
        let name = self.name.clone().unwrap_or_else(|| "-".into());
        eprintln!("{} {}", self.who(&name), escaped(what));
    }

    fn accepted(&mut self, user: &str, how: &str) -> Auth {
        self.name = Some(display_name(user));
        self.user = user.chars().take(64).collect();
        self.by_key = how == "public key";
        self.state.logged_in();
        eprintln!("{} logged in ({how})", self.who(user));
        Auth::Accept
    }

    /// Refuse a password, still offering the methods: russh would drop `password` from
    /// them; OpenSSH keeps it, so a mistyped code can be typed again (within
    /// max_auth_attempts and the throttle) and the client says "Permission denied
    /// (password)" rather than "()".
    fn reject_keeping_methods(&self) -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(self.shared.methods.clone()),
            partial_success: false,
        }
    }

    fn throttled(&self, user: &str) -> bool {
        let Some(peer) = self.peer else { return false };
        if self.shared.throttled(peer.ip()) {
            eprintln!(
                "{} refused: too many failed logins from this address",
                self.who(user)
            );
            return true;
        }
        false
    }

    /// Write a line to the client and close the channel (the connection may open another).
    fn say_and_close(
        &mut self,
        session: &mut Session,
        channel: ChannelId,
        line: &str,
        status: u32,
    ) {
        if self.channel == Some(channel) {
            self.channel = None;
            self.pty = None;
        }
        let _ = session.data(channel, format!("{line}\r\n").into_bytes());
        let _ = session.exit_status_request(channel, status);
        let _ = session.eof(channel);
        let _ = session.close(channel);
    }

    fn start_app(
        &mut self,
        channel: ChannelId,
        pty: PtyInfo,
        slot: SessionSlot,
        session: &Session,
    ) {
        let shared = Arc::clone(&self.shared);
        let name = self.name.clone().unwrap_or_else(|| "student".into());
        let env = self.env.clone();
        let theme = {
            let mut theme = Theme::from_env(false, |var| match var {
                "TERM" => Some(pty.term.clone()),
                other => env.get(other).cloned(),
            });
            theme.color &= term_has_color(&pty.term);
            theme
        };
        let mut app = App::new(shared.lessons.clone(), theme, Progress::new());
        let config = &shared.config;
        // the teacher is who logs in as the teacher's name, exactly as typed, by the
        // teacher's key; with no keys configured, the first session of that name (a second
        // one, while it is connected, is a student: knowing the class code must not be
        // enough to take over the class). Students never get the teacher's name (a student
        // logging in as it while the teacher is away saves as NAME-2), so the teacher finds
        // it free on return.
        let by_name_only = config.authorized_keys.is_empty();
        let leads = self.leads_the_class();
        let reserved = config.teacher.as_deref().filter(|_| !leads);
        let lease = shared.lease_name(&name, reserved);
        let role = match &config.teacher {
            None => Role::Alone,
            Some(t)
                if leads
                    && *t == name
                    && ((by_name_only && lease.name() == name)
                        || (!by_name_only && self.by_key)) =>
            {
                Role::Teacher
            }
            Some(t) => {
                app.set_notice(format!("press f to follow the teacher ({t})"));
                app.set_follow(Some(false));
                Role::Student
            }
        };
        if lease.name() != name {
            self.log(&format!("saves models as {}", lease.name()));
            let why = if reserved == Some(name.as_str()) && !shared.name_taken(&name) {
                "is the teacher's name"
            } else {
                "is already connected"
            };
            app.set_notice(format!(
                "{name} {why}: your models save as {}",
                lease.name()
            ));
        }
        app.set_train_prefs(TrainPrefs {
            data_dir: config.data_dir.clone(),
            model_path: config
                .state_dir
                .join("students")
                .join(format!("{}.safetensors", lease.name())),
            queue: Some(Arc::clone(&shared.queue)),
            threads: Some(config.threads_per_training.max(1)),
            restricted: true,
            cache_mb: config.cache_mb,
            ..TrainPrefs::default()
        });
        let pipe = Arc::new(Pipe::default());
        let out = ChannelOut {
            pending: Vec::with_capacity(1 << 14),
            strip_color: !theme.color,
            pipe: Arc::clone(&pipe),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(KEY_QUEUE);
        let incoming = Incoming {
            rx,
            size: Arc::default(),
            dropped: Arc::default(),
        };
        let who = self.who(&name);
        let idle = config.idle_timeout;
        let addr = self
            .peer
            .map_or_else(|| "unknown".to_string(), |p| p.to_string());
        let membership =
            shared
                .class
                .join(self.id, (lease.name(), &name), addr, role == Role::Teacher);
        let class = Class {
            shared: Arc::clone(&shared),
            role,
            member: Arc::clone(&membership.member),
        };
        let conn = Arc::clone(&self.state);
        let (size_cell, dropped) = (Arc::clone(&incoming.size), Arc::clone(&incoming.dropped));
        self.state.app_running(true);
        let spawned = std::thread::Builder::new()
            .name(format!("cnn-tutor-session-{}", self.id))
            .spawn(move || {
                let size = (pty.cols, pty.rows);
                let sender = Arc::clone(&out.pipe);
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_app(app, out, size, &incoming, idle, &class)
                }));
                // a bug in the app ends only this session (the panic message is in the log
                // above); the student still gets their terminal back
                let end = run.unwrap_or_else(|_| {
                    if class.role == Role::Teacher {
                        class.publish(None);
                    }
                    say_sorry_and_close(&sender);
                    "session ended (internal error: it panicked)".into()
                });
                let dropped = incoming.dropped.load(Ordering::Relaxed);
                if dropped > 0 {
                    eprintln!(
                        "{who} {end}; dropped {dropped} key(s) sent faster than anyone types"
                    );
                } else {
                    eprintln!("{who} {end}");
                }
                drop(membership);
                drop(lease);
                drop(slot);
                conn.app_running(false);
            });
        match spawned {
            Ok(_) => {
                self.app = Some(Inbox {
                    tx,
                    size: size_cell,
                    dropped,
                    tokens: KEY_QUEUE as f64,
                    last: Instant::now(),
                });
                let timeout = config.output_timeout;
                let (handle, conn) = (session.handle(), Arc::clone(&self.state));
                shared.writers.fetch_add(1, Ordering::SeqCst);
                let counted = Arc::clone(&shared);
                shared.runtime.spawn(async move {
                    pipe.run(handle, channel, conn, timeout).await;
                    counted.writers.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Err(e) => {
                self.state.app_running(false);
                eprintln!("cannot start a session thread: {e}");
            }
        }
    }
}

/// What the session thread reads: the keys and wake-ups, and the last terminal size.
struct Incoming {
    rx: Receiver<Event>,
    size: Arc<Mutex<Option<(u16, u16)>>>,
    dropped: Arc<AtomicU64>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.name.is_some() {
            self.log("disconnected");
        }
        // dropping `app` (the sender) ends the session thread, which frees the rest
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        self.state.tried_login();
        if self.shared.config.is_open() {
            return Ok(self.accepted(user, "open class on loopback"));
        }
        Ok(Auth::reject())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.state.tried_login();
        if self.throttled(user) {
            return Ok(self.reject_keeping_methods());
        }
        let ok = self
            .shared
            .config
            .code
            .as_deref()
            .is_some_and(|code| code_matches(password, code));
        if ok {
            return Ok(self.accepted(user, "class code"));
        }
        if let Some(peer) = self.peer {
            self.shared.record_failure(peer.ip());
        }
        eprintln!("{} login failed: wrong class code", self.who(user));
        Ok(self.reject_keeping_methods())
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.key_allowed(offer.public_key) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.state.tried_login();
        if self.throttled(user) {
            return Ok(Auth::reject());
        }
        if self.key_allowed(key.public_key) {
            return Ok(self.accepted(user, "public key"));
        }
        eprintln!("{} login failed: key not authorized", self.who(user));
        Ok(Auth::reject())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel.is_some() {
            // one app per connection
            reply
                .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.channel = Some(channel.id());
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (cols, rows) = clamp_size(col_width, row_height);
        self.pty = Some(PtyInfo {
            term: term.chars().take(64).collect(),
            cols,
            rows,
        });
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        const KEPT: [&str; 5] = ["NO_COLOR", "LANG", "LC_ALL", "LC_CTYPE", "COLORTERM"];
        if KEPT.contains(&name) && value.len() < 256 && self.env.len() < KEPT.len() {
            self.env.insert(name.to_string(), value.to_string());
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.app.is_some() {
            session.channel_failure(channel)?;
            return Ok(());
        }
        session.channel_success(channel)?;
        let Some(pty) = self.pty.clone() else {
            self.log("refused: no terminal (asked to use ssh -t)");
            self.say_and_close(session, channel, NO_PTY, 1);
            return Ok(());
        };
        // the teacher's place is kept for the teacher: a class filled by students (or by
        // one student's script) never turns the teacher away
        let slot = if self.leads_the_class() {
            self.shared.teacher_slot()
        } else {
            let Some(slot) = self.shared.try_slot() else {
                self.log("refused: the class is full");
                self.say_and_close(session, channel, FULL, 1);
                return Ok(());
            };
            slot
        };
        self.log(&format!(
            "started the app ({}x{}, TERM={})",
            pty.cols,
            pty.rows,
            escaped(&pty.term)
        ));
        self.start_app(channel, pty, slot, session);
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // the command is neither run nor logged (it may hold anything)
        self.log("refused a command (exec request)");
        session.channel_failure(channel)?;
        self.say_and_close(session, channel, NO_COMMANDS, 1);
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.log(&format!("refused subsystem `{}`", display_name(name)));
        session.channel_failure(channel)?;
        self.say_and_close(session, channel, NO_COMMANDS, 1);
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.log("refused port forwarding");
        Ok(false)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.log("refused port forwarding (direct-tcpip)");
        reply
            .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn data(
        &mut self,
        _channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // before the app starts (and after it ends) what is typed goes nowhere
        let Some(inbox) = self.app.as_mut() else {
            return Ok(());
        };
        for event in self.input.feed(data) {
            inbox.send(event);
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (cols, rows) = clamp_size(col_width, row_height);
        if let Some(pty) = self.pty.as_mut() {
            pty.cols = cols;
            pty.rows = rows;
        }
        if let Some(inbox) = &self.app {
            inbox.resize(cols, rows);
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.app = None;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel == Some(channel) {
            self.channel = None;
            self.pty = None;
        }
        self.app = None;
        Ok(())
    }
}

impl Conn {
    /// This login would lead the class: the teacher's name, logged in by key when keys are
    /// configured, else while no session of that name is running (see [`Role`]).
    fn leads_the_class(&self) -> bool {
        let config = &self.shared.config;
        let (Some(teacher), Some(name)) = (&config.teacher, &self.name) else {
            return false;
        };
        // compared as typed: a name that only cleans up to the teacher's is a student's
        if *teacher != self.user {
            return false;
        }
        if config.authorized_keys.is_empty() {
            !self.shared.name_taken(name)
        } else {
            self.by_key
        }
    }

    fn key_allowed(&self, key: &russh::keys::PublicKey) -> bool {
        self.shared
            .config
            .authorized_keys
            .iter()
            .any(|k| k.key_data() == key.key_data())
    }
}

/// Largest terminal drawn (columns, rows): a huge size asked for by a client would cost
/// memory for every frame buffer.
const MAX_SIZE: (u16, u16) = (400, 200);

/// A terminal size from the client, kept between 1x1 and [`MAX_SIZE`]; a size of 0 (what
/// `ssh -tt` sends without a terminal) is taken as 80x24.
fn clamp_size(cols: u32, rows: u32) -> (u16, u16) {
    let clamp = |v: u32, max: u16, unknown: u16| match v {
        0 => unknown,
        v => u16::try_from(v).unwrap_or(max).clamp(1, max),
    };
    (clamp(cols, MAX_SIZE.0, 80), clamp(rows, MAX_SIZE.1, 24))
}

/// The app's output: buffered until a frame is complete, then queued on the session's
/// [`Pipe`] (never blocking). Once the pipe is finished, later writes (ratatui's own
/// clean-up when the `Terminal` drops) go nowhere.
struct ChannelOut {
    pending: Vec<u8>,
    strip_color: bool,
    pipe: Arc<Pipe>,
}

impl Write for ChannelOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.pending);
        let bytes = if self.strip_color {
            crate::tui::strip_color_resets(&bytes)
        } else {
            bytes
        };
        if self.pipe.send(&bytes) {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "client gone",
            ))
        }
    }
}

/// After a session panicked: leave the alternate screen, show the cursor, say what
/// happened and close the channel with exit status 1.
fn say_sorry_and_close(pipe: &Pipe) {
    let mut bytes = Vec::new();
    let _ = crossterm::queue!(
        bytes,
        crossterm::style::ResetColor,
        crossterm::event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    bytes.extend_from_slice(
        b"Sorry: cnn-tutor hit an internal error and ended this session. \
          Connect again to carry on.\r\n",
    );
    pipe.last_words(&bytes, 1);
}

/// A session's view of the class: the shared state, its role in it, and its own entry
/// in the class (what the console reads and the commands it sends).
struct Class {
    shared: Arc<Shared>,
    role: Role,
    member: Arc<Member>,
}

/// The student's "your turn" tally for the console and the report: this session's answers
/// over every lesson (`None` until the student has answered one).
fn quiz_tally(app: &App) -> Option<QuizTally> {
    let (asked, right) = app
        .quiz_tally()
        .values()
        .fold((0, 0), |(a, r), t| (a + t.asked, r + t.right));
    (asked > 0).then_some(QuizTally {
        asked,
        right,
        wrong_in_a_row: app.quiz_wrong_in_a_row(),
    })
}

impl Class {
    fn teacher_at(&self) -> Option<(usize, usize)> {
        *self
            .shared
            .teacher_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, at: Option<(usize, usize)>) {
        *self
            .shared
            .teacher_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = at;
    }
}

/// Following the teacher: the app's `f` toggles it (on the menu, or anywhere while
/// following; in a lesson `f` keeps its own meaning, the filter presets); the session shows
/// the teacher's lesson and step.
struct Follow {
    on: bool,
    /// The teacher's position last shown.
    shown: Option<(usize, usize)>,
}

impl Follow {
    /// The student's `f` changed [`App::follow`]: start or stop following.
    fn toggled(&mut self, app: &mut App, class: &Class) {
        self.on = app.follow() == Some(true);
        self.shown = None;
        if self.on {
            if !self.sync(app, class) {
                app.set_notice("following the teacher, who has no lesson open yet (f stops)");
            }
        } else {
            app.set_notice("you have the controls again (f on the menu follows the teacher)");
        }
    }

    /// Show the teacher's lesson and step when they changed; true when the app changed.
    fn sync(&mut self, app: &mut App, class: &Class) -> bool {
        if !self.on {
            return false;
        }
        let at = class.teacher_at();
        if at.is_none() || at == self.shown {
            return false;
        }
        self.shown = at;
        if let Some((lesson, step)) = at {
            app.show_position(lesson, step);
            app.set_notice("following the teacher (f takes the controls back)");
        }
        true
    }
}

/// The teacher's message (with its number) while this session has not dismissed it.
fn message_up(class: &Class, dismissed: u64) -> Option<(u64, String)> {
    if class.role == Role::Teacher {
        return None;
    }
    class
        .shared
        .class
        .message()
        .filter(|(seq, _)| *seq > dismissed)
}

/// The line drawn over the top of a session's screen: the teacher's message and the
/// locked following for students, the way back to the class view for the teacher.
fn overlay(
    class: &Class,
    theme: &Theme,
    message: Option<&str>,
    locked: bool,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let w = usize::from(area.width);
    let ellipsis = theme.symbols().ellipsis;
    if class.role == Role::Teacher {
        let tag = " Ctrl-T class view ";
        if w > tag.len() + 20 {
            let x = area.right() - u16::try_from(tag.len()).unwrap_or(0);
            buf.set_stringn(x, area.y, tag, tag.len(), theme.selected());
        }
        return;
    }
    let mut line = String::new();
    if locked {
        line.push_str(" following the teacher (locked for a demo) ");
    }
    if let Some(m) = message {
        line.push_str(&format!(
            " message from the teacher: {} (Enter dismisses) ",
            theme.text(&escaped(m))
        ));
    }
    if line.is_empty() {
        return;
    }
    let line = crate::tui::truncate(&line, w, ellipsis);
    let row = Rect::new(area.x, area.y, area.width, 1);
    buf.set_style(row, theme.selected());
    for x in row.left()..row.right() {
        buf[(x, row.y)].set_symbol(" ");
    }
    buf.set_stringn(area.x, area.y, line, w, theme.selected());
}

/// What one turn of the loop asks of the session besides drawing.
enum Turn {
    Go,
    End(String, &'static str),
}

/// Take the console's commands for this session: show a step, stop training, end.
fn take_commands(app: &mut App, follow: &mut Follow, class: &Class) -> (bool, Turn) {
    let mut changed = false;
    for cmd in class.member.take_commands() {
        match cmd {
            Command::Show(lesson, step) => {
                if class.role != Role::Teacher {
                    app.show_position(lesson, step);
                    app.set_notice("the teacher brought the class here");
                    if follow.on {
                        follow.shown = Some((lesson, step));
                    }
                    changed = true;
                }
            }
            Command::StopTraining => {
                if let Some(t) = app.training_mut() {
                    if t.is_running() {
                        t.cancel();
                        t.notice = Some("the teacher stopped every training".into());
                        changed = true;
                    }
                }
            }
            Command::End(line) => {
                return (
                    true,
                    Turn::End(escaped(&line).into_owned(), "ended by the teacher"),
                );
            }
        }
    }
    (changed, Turn::Go)
}

/// While the teacher locks following, a student follows, and a step of their own snaps
/// back to the teacher's. True when the app changed.
fn keep_locked(app: &mut App, follow: &mut Follow, class: &Class) -> bool {
    if class.role != Role::Student || !class.shared.class.locked() {
        return false;
    }
    let mut changed = false;
    if !follow.on || app.follow() != Some(true) {
        app.set_follow(Some(true));
        follow.on = true;
        follow.shown = None;
        changed = true;
    }
    let at = class.teacher_at();
    if at.is_some() && app.position() != at && follow.shown == at {
        follow.shown = None;
    }
    changed | follow.sync(app, class)
}

/// Run one student's app until they quit, go idle or disconnect (the teacher's session
/// shows the class view first: see [`crate::tui::console`]). Returns what ended it, for
/// the log.
fn run_app(
    mut app: App,
    out: ChannelOut,
    (cols, rows): (u16, u16),
    incoming: &Incoming,
    idle: Duration,
    class: &Class,
) -> String {
    let mut follow = Follow {
        on: false,
        shown: None,
    };
    let teacher = class.role == Role::Teacher;
    let mut console = Console::new();
    let mut on_console = teacher;
    // the number of the teacher's message this student dismissed
    let mut dismissed = 0u64;
    let mut mirrored = false;
    // what the overlay showed last (the message's number, locked)
    let mut overlay_drawn: (Option<u64>, bool) = (None, false);
    let area = |w: u16, h: u16| Rect::new(0, 0, w, h);
    let mut size = (cols, rows);
    let pipe = Arc::clone(&out.pipe);
    let Ok(mut term) = Terminal::with_options(
        CrosstermBackend::new(out),
        TerminalOptions {
            viewport: Viewport::Fixed(area(cols, rows)),
        },
    ) else {
        return "ended: cannot set up the terminal".into();
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
        return "disconnected".into();
    }
    app.handle(AppEvent::Resize(cols, rows));
    let tick = Duration::from_millis(TICK_MS);
    let mut last_tick = Instant::now();
    let mut last_input = Instant::now();
    let mut dirty = true;
    let ending = loop {
        if app.should_quit() {
            break Some(("Goodbye!".to_string(), "quit"));
        }
        if let Some(why) = pipe.gone() {
            // the client left, or stopped reading for the output timeout (its connection
            // is cut): nothing more can be shown
            break Some((String::new(), why));
        }
        let resized = incoming
            .size
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((w, h)) = resized {
            if term.resize(area(w, h)).is_err() {
                break None;
            }
            size = (w, h);
            app.handle(AppEvent::Resize(w, h));
            dirty = true;
        }
        let (changed, turn) = take_commands(&mut app, &mut follow, class);
        dirty |= changed;
        if let Turn::End(line, why) = turn {
            break Some((line, why));
        }
        if class.member.mirror_missing() {
            dirty = true;
        }
        // while output waits to be sent, frames are skipped (the next one drawn shows
        // everything that changed)
        if dirty && pipe.backlog() < MAX_BACKLOG {
            if on_console {
                console.rows_shown = usize::from(size.1.saturating_sub(7)).max(1);
                console.update(class.shared.class_view(console.mirror, true));
            }
            let message = message_up(class, dismissed);
            let locked = class.role == Role::Student && class.shared.class.locked();
            let drawn = term.draw(|frame| {
                let (a, theme) = (frame.area(), app.theme());
                if on_console {
                    console::render(&console, theme, a, frame.buffer_mut());
                } else if message.is_some() || locked {
                    // the line goes above the app, which draws one row shorter
                    let below = Rect::new(a.x, a.y + 1, a.width, a.height.saturating_sub(1));
                    render_into(&app, below, frame.buffer_mut());
                    let m = message.as_ref().map(|(_, m)| m.as_str());
                    overlay(class, theme, m, locked, a, frame.buffer_mut());
                } else {
                    render(&app, frame);
                    overlay(class, theme, None, false, a, frame.buffer_mut());
                }
            });
            match drawn {
                Err(_) => break None,
                Ok(done) => {
                    if class.member.mirror_wanted() {
                        class.member.set_mirror(Some(done.buffer));
                        mirrored = true;
                    } else if mirrored {
                        class.member.set_mirror(None);
                        mirrored = false;
                    }
                }
            }
            dirty = false;
        }
        match incoming
            .rx
            .recv_timeout(tick.saturating_sub(last_tick.elapsed()))
        {
            Ok(Event::Resized) => {}
            Ok(Event::App(AppEvent::Key(key))) => {
                last_input = Instant::now();
                if let Some(c) = class.shared.config.panic_key {
                    assert!(
                        key.code != crate::tui::KeyCode::Char(c),
                        "the test panic key"
                    );
                }
                dirty = true;
                if on_console {
                    let mut quit = false;
                    for effect in console.key(key) {
                        match effect {
                            ConsoleEffect::ToLessons => {
                                on_console = false;
                                app.set_notice("Ctrl-T: back to the class view");
                            }
                            ConsoleEffect::Quit => quit = true,
                            other => {
                                if let Some(n) = class.shared.console_apply(&other) {
                                    console.notice = Some(n);
                                }
                            }
                        }
                    }
                    if quit {
                        break Some(("Goodbye!".to_string(), "quit"));
                    }
                } else if teacher
                    && (key == Key::ctrl('t')
                        || (key.code == KeyCode::Tab && matches!(app.screen(), Screen::Menu)))
                {
                    on_console = true;
                } else if key.code == KeyCode::Enter && message_up(class, dismissed).is_some() {
                    dismissed = message_up(class, dismissed).map_or(dismissed, |(seq, _)| seq);
                } else {
                    let was = app.follow();
                    app.handle(AppEvent::Key(key));
                    if app.follow() != was {
                        if class.role == Role::Student
                            && class.shared.class.locked()
                            && app.follow() != Some(true)
                        {
                            app.set_follow(Some(true));
                            app.set_notice("the teacher has locked following for a demo");
                        } else {
                            follow.toggled(&mut app, class);
                        }
                    }
                }
            }
            Ok(Event::App(ev)) => {
                last_input = Instant::now();
                if on_console {
                    console.handle(&ev);
                    dirty = true;
                } else {
                    dirty |= app.handle(ev);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break None,
        }
        if teacher {
            let at = app.position();
            if at != class.teacher_at() {
                class.publish(at);
            }
        }
        if last_tick.elapsed() >= tick {
            last_tick = Instant::now();
            dirty |= app.handle(AppEvent::Tick);
            dirty |= keep_locked(&mut app, &mut follow, class);
            dirty |= follow.sync(&mut app, class);
            // following the teacher through a lesson is taking part: not idle (the console
            // does not mark it idle either); following a teacher with no lesson open is
            if follow.on && class.teacher_at().is_some() {
                last_input = Instant::now();
            }
            // the class view's times and rows change while nobody types
            dirty |= on_console;
            // a message put up or taken down, following locked or unlocked
            let look = (
                message_up(class, dismissed).map(|(seq, _)| seq),
                class.shared.class.locked(),
            );
            if look != overlay_drawn {
                overlay_drawn = look;
                dirty = true;
            }
            class.member.update(
                &app,
                Seen {
                    last_input,
                    following: follow.on,
                    quiz: quiz_tally(&app),
                },
            );
            if class
                .shared
                .stopping
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                break Some((
                    "The class is over: the server is stopping. Goodbye!".to_string(),
                    "server stopping",
                ));
            }
            // the teacher watching the class view is not idle
            if last_input.elapsed() >= idle && !on_console {
                let line = format!(
                    "No key pressed for {}: goodbye! Connect again to carry on.",
                    humantime::format_duration(idle)
                );
                break Some((line, "idle timeout"));
            }
        }
    };
    if teacher {
        class.publish(None);
    }
    // the app (and any training it runs) goes before the goodbye is sent
    drop(app);
    let Some((line, why)) = ending else {
        pipe.finish(None);
        return "session ended (connection closed)".into();
    };
    if line.is_empty() {
        pipe.finish(None);
        return format!("session ended ({why})");
    }
    let backend = term.backend_mut();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_of_no_size_is_taken_as_80x24() {
        assert_eq!(clamp_size(0, 0), (80, 24));
        assert_eq!(clamp_size(120, 0), (120, 24));
        assert_eq!(clamp_size(100_000, 3), (400, 3));
    }

    fn inbox() -> (Inbox, Receiver<Event>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(KEY_QUEUE);
        let inbox = Inbox {
            tx,
            size: Arc::default(),
            dropped: Arc::default(),
            tokens: KEY_QUEUE as f64,
            last: Instant::now(),
        };
        (inbox, rx)
    }

    #[test]
    fn the_input_queue_is_bounded_whatever_is_sent() {
        let (mut inbox, rx) = inbox();
        // the tokens spent by the first part refill from then on, so the bound on the
        // second part counts the time from here (a slow first part under load is fine)
        let start = Instant::now();
        // the app is busy: a paste of 100,000 keys queues at most KEY_QUEUE of them
        let mut parser = InputParser::new();
        for event in parser.feed(&b"jk".repeat(50_000)) {
            inbox.send(event);
        }
        assert_eq!(rx.try_iter().count(), KEY_QUEUE);
        assert_eq!(
            inbox.dropped.load(Ordering::Relaxed),
            100_000 - KEY_QUEUE as u64
        );
        // with the queue read at once, the rate still bounds what gets in
        let before = inbox.dropped.load(Ordering::Relaxed);
        for _ in 0..10_000 {
            inbox.key(crate::tui::Key::char('j'));
            while rx.try_recv().is_ok() {}
        }
        let elapsed = start.elapsed().as_secs_f64();
        let taken = 10_000 - (inbox.dropped.load(Ordering::Relaxed) - before);
        assert!(
            (taken as f64) <= 1.0 + elapsed * KEYS_PER_SECOND,
            "{taken} keys taken in {elapsed} s"
        );
    }

    #[test]
    fn window_changes_keep_only_the_last_size_and_wake_the_app() {
        let (inbox, rx) = inbox();
        for i in 0..1000u16 {
            inbox.resize(10 + i, 5);
        }
        assert_eq!(*inbox.size.lock().unwrap(), Some((1009, 5)));
        // one wake-up until the app takes the size
        assert_eq!(rx.try_iter().count(), 1);
        inbox.size.lock().unwrap().take();
        inbox.resize(80, 24);
        assert_eq!(rx.try_iter().count(), 1);
    }
}
