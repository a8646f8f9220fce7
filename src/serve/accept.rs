//! The accept loop and what keeps connections from piling up: every connection is
//! registered with a [`ConnState`] (whether it has logged in, whether it shows the app)
//! and reads and writes through a [`Guarded`] stream that the server can cut at any time.
//!
//! - An accept error never ends the server: it backs off and goes on (when the process is
//!   out of file descriptors it also closes the oldest connection that has not logged in).
//! - A connection must log in and start the app within the login grace time, or it is
//!   closed (the SSH keepalive replies of an idle client would otherwise keep it forever).
//! - At most `max_unauthenticated` connections wait to log in; one more makes room by
//!   closing the oldest of them (preferring those that never tried to log in), so a
//!   script holding sockets loses them and an arriving student still gets in.
//! - These closings are logged once a minute, as counts.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use super::conn::Conn;
use super::Shared;

/// How often connections are checked against the login grace time.
const SWEEP_EVERY: Duration = Duration::from_millis(200);
/// Closings and accept errors are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Longest pause of the accept loop after an error.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// What the server knows about one connection, shared by its handler, its session thread
/// and the accept loop.
#[derive(Debug)]
pub(super) struct ConnState {
    pub(super) id: u64,
    opened: Instant,
    /// Logged in.
    authed: AtomicBool,
    /// Asked to log in at least once (a person at a password prompt has).
    tried: AtomicBool,
    /// The app runs; else since when it does not (login, or the app's end).
    app: Mutex<Option<Instant>>,
    killed: AtomicBool,
    /// Tasks waiting on the connection's socket (read, write), woken when it is cut.
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl ConnState {
    fn new(id: u64) -> Self {
        ConnState {
            id,
            opened: Instant::now(),
            authed: AtomicBool::new(false),
            tried: AtomicBool::new(false),
            app: Mutex::new(None),
            killed: AtomicBool::new(false),
            wakers: Mutex::new([None, None]),
        }
    }

    /// A login was asked for (right or wrong).
    pub(super) fn tried_login(&self) {
        self.tried.store(true, Ordering::SeqCst);
    }

    /// Logged in: the grace time now counts until the app starts.
    pub(super) fn logged_in(&self) {
        *lock(&self.app) = Some(Instant::now());
        self.authed.store(true, Ordering::SeqCst);
    }

    /// The app started (`true`) or ended (`false`).
    pub(super) fn app_running(&self, running: bool) {
        *lock(&self.app) = (!running).then(Instant::now);
    }

    fn authed(&self) -> bool {
        self.authed.load(Ordering::SeqCst)
    }

    pub(super) fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Cut the connection: its socket's reads and writes fail from now on, which ends the
    /// SSH session (and with it the handler and the session's app).
    pub(super) fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *lock(&self.wakers));
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
    }

    /// Over its grace time: not logged in, or logged in without the app, for too long.
    fn overdue(&self, grace: Duration, now: Instant) -> bool {
        if !self.authed() {
            return now.duration_since(self.opened) >= grace;
        }
        lock(&self.app).is_some_and(|since| now.duration_since(since) >= grace)
    }

    /// Remember the task polling `slot` (0 read, 1 write); false when already cut.
    fn register(&self, slot: usize, cx: &Context<'_>) -> bool {
        let mut wakers = lock(&self.wakers);
        match &wakers[slot] {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => wakers[slot] = Some(cx.waker().clone()),
        }
        drop(wakers);
        !self.killed()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The connections now open, oldest first, and the counts for the next log line.
#[derive(Debug, Default)]
pub(super) struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<ConnState>>>,
    /// Closed for not logging in (or starting the app) within the grace time.
    overdue: AtomicU64,
    /// Closed to make room for a new connection.
    evicted: AtomicU64,
    /// Accept errors, and the last one's text.
    accept_errors: AtomicU64,
    last_error: Mutex<String>,
    last_log: Mutex<Option<Instant>>,
}

impl Registry {
    /// Connections open now (those being cut included).
    pub(super) fn open(&self) -> usize {
        lock(&self.conns).len()
    }

    /// Connections waiting to log in now.
    pub(super) fn unauthenticated(&self) -> usize {
        lock(&self.conns)
            .values()
            .filter(|c| !c.authed() && !c.killed())
            .count()
    }

    /// How long the oldest connection now waiting to log in has waited (the console shows
    /// it against the login grace time).
    pub(super) fn oldest_waiting(&self) -> Option<Duration> {
        lock(&self.conns)
            .values()
            .filter(|c| !c.authed() && !c.killed())
            .map(|c| c.opened.elapsed())
            .max()
    }

    /// Register a new connection, first closing the oldest one waiting to log in when
    /// `cap` of them wait already.
    fn add(&self, id: u64, cap: usize) -> Arc<ConnState> {
        let state = Arc::new(ConnState::new(id));
        let mut conns = lock(&self.conns);
        let waiting: Vec<&Arc<ConnState>> = conns
            .values()
            .filter(|c| !c.authed() && !c.killed())
            .collect();
        if waiting.len() >= cap {
            // never tried to log in before those at a password prompt; oldest first
            let victim = waiting
                .iter()
                .min_by_key(|c| (c.tried.load(Ordering::SeqCst), c.id));
            if let Some(v) = victim {
                v.kill();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        conns.insert(id, Arc::clone(&state));
        state
    }

    fn remove(&self, id: u64) {
        lock(&self.conns).remove(&id);
    }

    /// Out of file descriptors: close the oldest connection waiting to log in.
    fn make_room(&self) {
        let conns = lock(&self.conns);
        let victim = conns
            .values()
            .filter(|c| !c.authed() && !c.killed())
            .min_by_key(|c| (c.tried.load(Ordering::SeqCst), c.id));
        if let Some(v) = victim {
            v.kill();
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Close the connections over their grace time.
    fn sweep(&self, grace: Duration) {
        let now = Instant::now();
        for c in lock(&self.conns).values() {
            if !c.killed() && c.overdue(grace, now) {
                c.kill();
                self.overdue.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Cut every connection (the server is stopping).
    fn kill_all(&self) {
        for c in lock(&self.conns).values() {
            c.kill();
        }
    }

    /// One line for the log when anything was closed or failed since the last line and
    /// that line is a minute old (or there was none); the counts start again.
    fn log_line(&self, grace: Duration, cap: usize) -> Option<String> {
        let mut last = lock(&self.last_log);
        if last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            return None;
        }
        let overdue = self.overdue.swap(0, Ordering::Relaxed);
        let evicted = self.evicted.swap(0, Ordering::Relaxed);
        let errors = self.accept_errors.swap(0, Ordering::Relaxed);
        if overdue + evicted + errors == 0 {
            return None;
        }
        *last = Some(Instant::now());
        let mut parts = Vec::new();
        if overdue > 0 {
            parts.push(format!(
                "closed {overdue} connection(s) that did not log in and start within {}",
                humantime::format_duration(grace)
            ));
        }
        if evicted > 0 {
            parts.push(format!(
                "closed {evicted} waiting to log in to make room (at most {cap} wait at once)"
            ));
        }
        if errors > 0 {
            parts.push(format!(
                "{errors} failed accept(s), the last: {}",
                crate::text::escaped(&lock(&self.last_error))
            ));
        }
        Some(parts.join("; "))
    }
}

/// A connection's socket, cut when its [`ConnState`] is killed.
pub(super) struct Guarded<S> {
    inner: S,
    state: Arc<ConnState>,
}

fn cut() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "closed by the server")
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.state.register(0, cx) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.state.register(1, cx) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.state.register(1, cx) {
            return Poll::Ready(Err(cut()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Out of file descriptors (or memory for sockets): room is made by closing a waiting
/// connection.
fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == libc::EMFILE || code == libc::ENFILE || code == libc::ENOBUFS || code == libc::ENOMEM
    )
}

/// Accept connections until `stop` fires. Errors never end it.
pub(super) async fn run(
    shared: Arc<Shared>,
    ssh_config: Arc<russh::server::Config>,
    listener: TcpListener,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> io::Result<()> {
    let grace = shared.config.login_grace;
    let cap = shared.config.max_unauthenticated.max(1);
    let sweeper = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(SWEEP_EVERY.min(grace / 4).max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                shared.conns.sweep(grace);
                if let Some(line) = shared.conns.log_line(grace, cap) {
                    eprintln!("{line}");
                }
            }
        })
    };
    let mut backoff = Duration::from_millis(5);
    let result = loop {
        let accepted = tokio::select! {
            _ = &mut stop => break Ok(()),
            r = listener.accept() => r,
        };
        match accepted {
            Ok((tcp, peer)) => {
                backoff = Duration::from_millis(5);
                spawn_conn(&shared, &ssh_config, tcp, peer, cap);
            }
            Err(e) => {
                shared.conns.accept_errors.fetch_add(1, Ordering::Relaxed);
                *lock(&shared.conns.last_error) = e.to_string();
                if out_of_descriptors(&e) {
                    shared.conns.make_room();
                }
                if let Some(line) = shared.conns.log_line(grace, cap) {
                    eprintln!("{line}");
                }
                // the failed connection is still queued: try again after a pause
                tokio::select! {
                    _ = &mut stop => break Ok(()),
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    };
    sweeper.abort();
    shared.conns.kill_all();
    result
}

fn spawn_conn(
    shared: &Arc<Shared>,
    ssh_config: &Arc<russh::server::Config>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    cap: usize,
) {
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let state = shared.conns.add(id, cap);
    let handler = Conn::new(Arc::clone(shared), Some(peer), Arc::clone(&state));
    let config = Arc::clone(ssh_config);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let _ = tcp.set_nodelay(true);
        let stream = Guarded {
            inner: tcp,
            state: Arc::clone(&state),
        };
        if let Ok(session) = russh::server::run_stream(config, stream, handler).await {
            let _ = session.await;
        }
        shared.conns.remove(state.id);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_waiting_connection_makes_room_preferring_those_never_tried() {
        let r = Registry::default();
        let a = r.add(1, 3);
        let b = r.add(2, 3);
        let c = r.add(3, 3);
        a.tried_login();
        assert_eq!(r.unauthenticated(), 3);
        let d = r.add(4, 3);
        // a is oldest, but at a password prompt: b goes
        assert!(!a.killed() && b.killed() && !c.killed() && !d.killed());
        assert_eq!(r.unauthenticated(), 3);
        // a logged-in connection never counts and is never chosen
        c.logged_in();
        let e = r.add(5, 3);
        assert!(!e.killed() && !c.killed() && !d.killed());
        let _f = r.add(6, 3);
        assert!(d.killed(), "d is the oldest never tried");
        assert_eq!(r.evicted.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn connections_over_their_grace_time_are_cut() {
        let r = Registry::default();
        let grace = Duration::from_millis(30);
        let waiting = r.add(1, 10);
        let in_app = r.add(2, 10);
        in_app.logged_in();
        in_app.app_running(true);
        let logged_in_only = r.add(3, 10);
        logged_in_only.logged_in();
        r.sweep(grace);
        assert!(!waiting.killed() && !in_app.killed() && !logged_in_only.killed());
        std::thread::sleep(grace * 2);
        r.sweep(grace);
        assert!(waiting.killed(), "never logged in");
        assert!(logged_in_only.killed(), "logged in, never started the app");
        assert!(!in_app.killed(), "a student in the app stays");
        assert_eq!(r.overdue.load(Ordering::Relaxed), 2);
        // one log line with the counts, then none for a minute
        let line = r.log_line(grace, 10).expect("a line");
        assert!(line.contains("closed 2 connection(s)"), "{line}");
        r.overdue.fetch_add(5, Ordering::Relaxed);
        assert_eq!(r.log_line(grace, 10), None);
    }
}
