//! One SSH connection: authentication and the channel requests (only a PTY and a shell
//! are granted). The russh handler ([`Conn`]) turns input bytes into keys and window
//! changes into resizes, and sends them through a bounded [`Inbox`] to the session thread
//! (`start.rs` starts it, `session.rs` runs it). Dropping the handler (the connection
//! went) drops the inbox, which ends the thread.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, Pty};

use super::accept::ConnState;
use super::admit::Expected;
use super::{code_matches, display_name, Shared};
use crate::text::escaped;
use crate::tui::{AppEvent, InputParser};

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
pub(super) struct Inbox {
    tx: SyncSender<Event>,
    /// The last size asked for (window changes are not queued: only the last counts).
    size: Arc<Mutex<Option<(u16, u16)>>>,
    /// Keys dropped (beyond the rate or the queue).
    dropped: Arc<AtomicU64>,
    tokens: f64,
    last: Instant,
}

impl Inbox {
    /// The way into the session that reads `incoming`, through `tx`.
    pub(super) fn new(tx: SyncSender<Event>, incoming: &super::start::Incoming) -> Self {
        Inbox {
            tx,
            size: Arc::clone(&incoming.size),
            dropped: Arc::clone(&incoming.dropped),
            tokens: KEY_QUEUE as f64,
            last: Instant::now(),
        }
    }

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

/// The terminal the client asked for.
#[derive(Debug, Clone)]
pub(super) struct PtyInfo {
    pub(super) term: String,
    pub(super) cols: u16,
    pub(super) rows: u16,
}

/// What the handler tells the session thread.
pub(super) enum Event {
    App(AppEvent),
    /// The terminal size changed (the new one is in the inbox's size).
    Resized,
}

/// One connection's handler.
pub(super) struct Conn {
    pub(super) shared: Arc<Shared>,
    /// The connection as the accept loop sees it (login state, the grace time, cutting it).
    pub(super) state: Arc<ConnState>,
    pub(super) id: u64,
    pub(super) peer: Option<SocketAddr>,
    /// The display name, once logged in.
    pub(super) name: Option<String>,
    /// The user name as the client sent it (at most 64 characters): only this exact name
    /// is the teacher's (`teach!` shows as `teach` but does not lead).
    pub(super) user: String,
    pub(super) channel: Option<ChannelId>,
    pub(super) pty: Option<PtyInfo>,
    pub(super) env: HashMap<String, String>,
    pub(super) input: InputParser,
    pub(super) app: Option<Inbox>,
    /// Logged in with a key (a teacher must, when keys are configured).
    pub(super) by_key: bool,
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

    pub(super) fn who(&self, user: &str) -> String {
        let addr = self
            .peer
            .map_or_else(|| "unknown address".to_string(), |p| p.to_string());
        format!("{}@{addr} (#{})", display_name(user), self.id)
    }

    /// Log a line about this connection (escaped: it may quote what the client sent).
    pub(super) fn log(&self, what: &str) {
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
    pub(super) fn say_and_close(
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
        let (ok, how, wrong) = match self.expected_code(user) {
            Expected::Personal(code) => (
                code_matches(password, code),
                "personal code",
                "wrong personal code",
            ),
            Expected::ClassCode(code) => (
                code.is_some_and(|code| code_matches(password, code)),
                "class code",
                "wrong class code",
            ),
        };
        if ok {
            return Ok(self.accepted(user, how));
        }
        if let Some(peer) = self.peer {
            self.shared.record_failure(peer.ip());
        }
        let roster = self.shared.config.roster.as_ref();
        let why = if roster.is_some_and(|r| r.get(user).is_none())
            && self.shared.config.teacher.as_deref() != Some(user)
        {
            "not on the roster"
        } else {
            wrong
        };
        eprintln!("{} login failed: {why}", self.who(user));
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
        if self.off_roster() {
            self.refuse_off_roster(session, channel);
            return Ok(());
        }
        let replaced = self.replace_earlier();
        // the teacher's place is kept for the teacher: a class filled by students (or by
        // one student's script) never turns the teacher away
        let slot = if self.leads_the_class() {
            self.shared.teacher_slot()
        } else {
            let Some(slot) = self.student_slot(replaced).await else {
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
    pub(super) fn leads_the_class(&self) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::Receiver;

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
