//! `cnn-tutor serve`: a classroom over SSH. A built-in SSH server (russh) gives every
//! student who connects their own [`App`](crate::tui::App), the same code as the local
//! terminal app, drawn through a ratatui backend that writes to the SSH channel. Nothing
//! else is offered: no shell, no commands, no forwarding.
//!
//! [`start`] binds, starts the server on its own tokio runtime and returns a [`Server`]
//! (the bound address, the host key's fingerprint, counters, shutdown). The rest of the
//! crate stays synchronous: each session's app runs on its own thread fed by a channel of
//! events (see [`session`]).
//!
//! Shared limits live in [`Shared`]: the session slots (`max_sessions`), the training
//! queue ([`TrainQueue`]) and the failed-login counts per address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use russh::keys::{HashAlg, PublicKey};

use crate::lesson::Lesson;
use crate::tui::console::{ClassView, Console, ConsoleEffect, Limits, Mirror, Place, View};
use crate::tui::training::TrainQueue;
use crate::{Error, Result};
use gradebook::{GradebookFormat, LessonInfo};
use roster::Roster;

use setup::code_matches;
pub use setup::{
    display_name, load_or_create_host_key, prepare_data, raise_open_file_limit,
    read_authorized_keys, state_dir_unwritable, term_has_color,
};

mod accept;
mod admit;
pub mod class;
mod conn;
mod follow;
pub mod gradebook;
mod handover;
mod hands;
mod message;
mod names;
mod output;
mod role;
pub mod roster;
mod session;
mod setup;
mod start;
mod struggle;

/// Name of the host key file in the state folder.
pub const HOST_KEY_FILE: &str = "ssh_host_ed25519_key";
/// Failed logins from one address within [`THROTTLE_WINDOW`] before it is turned away.
/// High enough that a class behind one school NAT, all typing the code at the start of a
/// lesson, does not lock itself out; per address and not per name, as a guesser may try
/// the code under any name (and a class may share one).
pub const MAX_FAILURES: u32 = 20;
/// How long failed logins are remembered (and a throttled address waits).
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(60);
/// Connections waiting to log in at once, by default: a class of 40 arriving together
/// behind one NAT address, each at the password prompt for a while, with retries and
/// mistypes, stays well below it; with 40 sessions it still leaves most of a 256 open
/// file limit free.
pub const DEFAULT_MAX_UNAUTHENTICATED: usize = 100;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The class code students type as their SSH password.
    pub code: Option<String>,
    /// Public keys that may log in.
    pub authorized_keys: Vec<PublicKey>,
    /// Most students at once.
    pub max_sessions: usize,
    /// Most trainings at once; the rest wait in line.
    pub max_trainings: usize,
    /// CPU threads of each training.
    pub threads_per_training: usize,
    /// No input for this long ends a session.
    pub idle_timeout: Duration,
    /// Where the host key and the students' saved models live.
    pub state_dir: PathBuf,
    /// Lessons folder (`None`: the built-in lessons).
    pub lessons_dir: Option<PathBuf>,
    /// The shared training images (made before serving; see [`prepare_data`]).
    pub data_dir: PathBuf,
    /// Most megabytes of decoded images each training keeps in memory (`--cache-mb`).
    pub cache_mb: usize,
    /// Delay before a refused login is answered.
    pub auth_delay: Duration,
    /// A connection that has not logged in and started the app this long after it
    /// opened (or logged in) is closed.
    pub login_grace: Duration,
    /// Most connections waiting to log in at once; one more closes the oldest of them.
    pub max_unauthenticated: usize,
    /// A session whose output cannot be sent for this long is ended (its client stopped
    /// reading) and its place freed.
    pub output_timeout: Duration,
    /// The user name that leads the class: students pressing `f` on the menu follow this
    /// user's lesson and step. When keys are configured the teacher must log in by key.
    pub teacher: Option<String>,
    /// The class roster (`--roster`): only its names log in (and the teacher), one session
    /// each, with a personal code where it gives one.
    pub roster: Option<Arc<Roster>>,
    /// Whose conventions the gradebook written with the report follows (`--gradebook`).
    pub gradebook: GradebookFormat,
    /// The class's lab (`--lab`): every student's training settings start from it, and
    /// those it locks stay.
    pub lab: Option<Arc<crate::train::lab::ClassLab>>,
    /// A student on one lesson step this long is stuck (`--stuck-after`).
    pub stuck_after: Duration,
    /// Tests only (the CLI never sets it): a session panics when its student presses this
    /// key, to check that a crashed session still gives the student their terminal back.
    #[doc(hidden)]
    pub panic_key: Option<char>,
    /// Record the teacher's session to this asciicast v2 file (`--record`); a teacher who
    /// reconnects goes on in the same recording.
    pub record: Option<PathBuf>,
}

impl ServeConfig {
    /// Defaults for everything but where to listen and the state folder: no code, no keys,
    /// 40 sessions, one training per core (one thread each), 30 minutes idle, 30 seconds
    /// to log in, [`DEFAULT_MAX_UNAUTHENTICATED`] waiting to log in, 30 seconds for output
    /// to drain.
    pub fn new(listen: SocketAddr, state_dir: PathBuf) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ServeConfig {
            listen,
            code: None,
            authorized_keys: Vec::new(),
            max_sessions: 40,
            max_trainings: cores,
            threads_per_training: 1,
            idle_timeout: Duration::from_secs(30 * 60),
            state_dir,
            lessons_dir: None,
            data_dir: PathBuf::from(crate::data::DEFAULT_DATA_DIR),
            cache_mb: crate::data::DEFAULT_CACHE_MB,
            auth_delay: Duration::from_secs(1),
            login_grace: Duration::from_secs(30),
            max_unauthenticated: DEFAULT_MAX_UNAUTHENTICATED,
            output_timeout: Duration::from_secs(30),
            teacher: None,
            roster: None,
            gradebook: GradebookFormat::Plain,
            lab: None,
            stuck_after: crate::tui::console::STUCK_MARK,
            panic_key: None,
            record: None,
        }
    }

    /// Anyone may log in: no code, no keys and no personal codes (allowed on loopback
    /// only; a roster still limits the names).
    pub fn is_open(&self) -> bool {
        self.code.is_none() && self.authorized_keys.is_empty() && !self.has_personal_codes()
    }

    /// The roster gives some student a personal code.
    pub fn has_personal_codes(&self) -> bool {
        self.roster.as_ref().is_some_and(|r| r.has_codes())
    }
}

/// What every session shares.
#[derive(Debug)]
pub struct Shared {
    config: ServeConfig,
    lessons: Vec<Lesson>,
    /// The lessons as the gradebook names them (id, title, steps).
    lesson_info: Vec<LessonInfo>,
    /// Sessions showing the app now, the teacher's included.
    sessions: AtomicUsize,
    /// Students' sessions now (at most `max_sessions`; the teacher's never count).
    students: AtomicUsize,
    queue: Arc<TrainQueue>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    /// The login methods offered (kept after a wrong code, so the client may ask again).
    methods: russh::MethodSet,
    next_id: AtomicU64,
    runtime: tokio::runtime::Handle,
    /// The teacher's lesson and step, while a teacher has a lesson open.
    teacher_at: Mutex<Option<(usize, usize)>>,
    /// The server is stopping: sessions say goodbye and restore the students' screens.
    stopping: AtomicBool,
    /// Ctrl-C or SIGTERM arrived (listened for from the start, so one that comes before
    /// anything waits for it still ends the class properly), and its wake-up.
    signalled: Arc<AtomicBool>,
    signal: tokio::sync::Notify,
    /// The names of the sessions now running, each with its lease's number (each unique:
    /// see [`Shared::lease_name`]; a roster's name passes to its newest login).
    names: Mutex<HashMap<String, u64>>,
    lease_seq: AtomicU64,
    /// The open connections (see [`accept`]).
    conns: accept::Registry,
    /// Sessions whose output is still being sent (their goodbye included).
    writers: AtomicUsize,
    /// The teacher's recording (`--record`), opened by the teacher's first session at its
    /// size and kept for the next.
    recording: Mutex<Option<crate::tui::SharedRecorder>>,
    /// The class as the teacher's console sees it (see [`class`]).
    class: Arc<class::Class>,
}

/// A session's unique name (for its saved models); dropping it frees the name.
#[derive(Debug)]
pub struct NameLease {
    shared: Arc<Shared>,
    name: String,
    holder: u64,
}

impl NameLease {
    /// The name: the login name, or with `-2`, `-3` ... while that one is taken.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for NameLease {
    fn drop(&mut self) {
        let mut names = self.shared.names.lock().unwrap_or_else(|e| e.into_inner());
        // a newer login of a roster name may hold it now
        if names.get(&self.name) == Some(&self.holder) {
            names.remove(&self.name);
        }
    }
}

/// A place among `max_sessions` (or the teacher's, which is never refused); dropping it
/// frees the place.
#[derive(Debug)]
pub struct SessionSlot {
    shared: Arc<Shared>,
    teacher: bool,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        if !self.teacher {
            self.shared.students.fetch_sub(1, Ordering::SeqCst);
        }
        self.shared.sessions.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    /// Take a student's place, if one is free.
    fn try_slot(self: &Arc<Self>) -> Option<SessionSlot> {
        self.students
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.config.max_sessions).then_some(n + 1)
            })
            .ok()?;
        self.sessions.fetch_add(1, Ordering::SeqCst);
        Some(SessionSlot {
            shared: Arc::clone(self),
            teacher: false,
        })
    }

    /// The teacher's recording for a session of `size` (`None` without `--record`): the
    /// first teacher session opens it, a later one (a reconnect) goes on in it, with a
    /// resize event when its size differs. A file that cannot be opened is logged.
    fn teacher_recorder(&self, (cols, rows): (u16, u16)) -> Option<crate::tui::SharedRecorder> {
        let path = self.config.record.as_ref()?;
        let mut slot = self
            .recording
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(rec) = slot.as_ref() {
            rec.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .resize(cols, rows);
            return Some(Arc::clone(rec));
        }
        match crate::cast::Recorder::open(path, (cols, rows), "cnn-tutor class") {
            Ok(rec) => {
                let rec = Arc::new(Mutex::new(rec));
                *slot = Some(Arc::clone(&rec));
                Some(rec)
            }
            Err(e) => {
                eprintln!(
                    "not recording the teacher's session: {}",
                    crate::text::escaped(&e.to_string())
                );
                None
            }
        }
    }

    /// The teacher's place: outside `max_sessions`, so a class filled by students (or by
    /// one student's script) never locks the teacher out.
    fn teacher_slot(self: &Arc<Self>) -> SessionSlot {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        SessionSlot {
            shared: Arc::clone(self),
            teacher: true,
        }
    }

    /// Whether `name` is leased by a running session now.
    fn name_taken(&self, name: &str) -> bool {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.contains_key(name)
    }

    /// A name no running session has: `base`, else `base-2`, `base-3` ... (a whole class
    /// may log in with one user name, and each student's saved models need their own file).
    /// `reserved` (the teacher's name, for a student) is never given.
    fn lease_name(self: &Arc<Self>, base: &str, reserved: Option<&str>) -> NameLease {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let name = std::iter::once(base.to_string())
            .chain((2..).map(|i| format!("{base}-{i}")))
            .find(|n| !names.contains_key(n) && Some(n.as_str()) != reserved)
            .unwrap_or_else(|| unreachable!("the counter never ends"));
        let holder = self.lease_seq.fetch_add(1, Ordering::SeqCst);
        names.insert(name.clone(), holder);
        NameLease {
            shared: Arc::clone(self),
            name,
            holder,
        }
    }

    /// `name` for this session even while an earlier one has it (a roster's name: the
    /// newest login holds it, and the earlier session is ended).
    fn take_name(self: &Arc<Self>, name: &str) -> NameLease {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let holder = self.lease_seq.fetch_add(1, Ordering::SeqCst);
        names.insert(name.to_string(), holder);
        NameLease {
            shared: Arc::clone(self),
            name: name.to_string(),
            holder,
        }
    }

    /// Too many failed logins lately from this address.
    fn throttled(&self, ip: IpAddr) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.retain(|_, (_, last)| last.elapsed() < THROTTLE_WINDOW);
        f.get(&ip).is_some_and(|(n, _)| *n >= MAX_FAILURES)
    }

    fn record_failure(&self, ip: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = f.entry(ip).or_insert((0, Instant::now()));
        entry.0 += 1;
        entry.1 = Instant::now();
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    fingerprint: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The host key's fingerprint as OpenSSH prints it (`SHA256:...`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Sessions showing the app now.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// Connections open now, logged in or not.
    pub fn connections(&self) -> usize {
        self.shared.conns.open()
    }

    /// Connections waiting to log in now.
    pub fn unauthenticated(&self) -> usize {
        self.shared.conns.unauthenticated()
    }

    /// The shared training queue.
    pub fn queue(&self) -> Arc<TrainQueue> {
        Arc::clone(&self.shared.queue)
    }

    /// The class as the console shows it (`mirror`: the session whose screen it looks at).
    pub fn class_view(&self, mirror: Option<u64>) -> ClassView {
        self.shared.class_view(mirror, false)
    }

    /// The class as `console` shows it (its mirror; the figures while its struggle view
    /// is open).
    pub fn console_view(&self, console: &Console) -> ClassView {
        self.shared.console_view(console, false)
    }

    /// Do what the console asked (see [`Shared::console_apply`]); a line to show back.
    pub fn console_apply(&self, effect: &ConsoleEffect) -> Option<String> {
        self.shared.console_apply(effect)
    }

    /// Every student's record so far (for the report).
    pub fn records(&self) -> Vec<class::Record> {
        self.shared.class.records()
    }

    /// Write the class report now (see [`class::write_report`]); returns the CSV and
    /// Markdown paths.
    pub fn write_report(&self) -> Result<(PathBuf, PathBuf)> {
        self.shared.write_class_report()
    }

    /// A flag set when Ctrl-C or SIGTERM arrives (for a front end that keeps the
    /// terminal itself, as `serve --console` does, and calls [`Server::stop`]).
    pub fn stop_requested(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.shared.signalled)
    }

    /// Serve until Ctrl-C or SIGTERM (or the listener fails). Then every session says
    /// goodbye and gives the student's terminal back, and the class report is written.
    pub fn wait(mut self) -> Result<()> {
        let (Some(rt), Some(task)) = (self.runtime.as_ref(), self.task.take()) else {
            return Ok(());
        };
        let shared = Arc::clone(&self.shared);
        let result = rt.block_on(async move {
            tokio::select! {
                r = task => Some(r),
                () = shared.signal.notified() => None,
            }
        });
        match result {
            None => self.stop().map(|_| ()),
            Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(Error::Other(format!("the server stopped: {e}"))),
            Some(Err(e)) => Err(Error::Other(format!("the server stopped: {e}"))),
        }
    }

    /// Stop the class: every session says goodbye and restores its student's terminal
    /// (waiting a moment for them), the class report is written, and the server ends.
    /// Returns the report's paths. Blocks for at most a few seconds; callable from within
    /// another runtime.
    pub fn stop(mut self) -> Result<(PathBuf, PathBuf)> {
        let shared = Arc::clone(&self.shared);
        eprintln!(
            "stopping: saying goodbye to {} session(s)",
            shared.sessions.load(Ordering::SeqCst)
        );
        shared.stopping.store(true, Ordering::SeqCst);
        // sessions notice within a tick; give them a moment to close and their goodbyes a
        // moment to be sent
        for _ in 0..50 {
            if shared.sessions.load(Ordering::SeqCst) == 0
                && shared.writers.load(Ordering::SeqCst) == 0
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        std::thread::sleep(Duration::from_millis(100));
        let report = shared.write_class_report();
        let came = shared.class.records().len();
        eprintln!(
            "class ended {} (UTC): {came} student(s) came",
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        match &report {
            Ok((csv, md)) => eprintln!(
                "class report: {} and {} (the gradebook beside them)",
                crate::text::path(csv),
                crate::text::path(md)
            ),
            Err(e) => {
                // the records live only in this process: print them rather than lose them
                eprintln!("the class report was not written: {e}; here it is:");
                let md =
                    class::report_markdown(&shared.class.records(), std::time::SystemTime::now());
                use std::io::Write as _;
                let _ = writeln!(std::io::stdout(), "{md}");
                let book = shared.gradebook_csv(&shared.class.records());
                let _ = writeln!(std::io::stdout(), "## Gradebook (CSV)\n\n{book}");
            }
        }
        self.stop_now();
        report
    }

    /// Stop accepting and disconnect everyone.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.runtime.take() {
            // also fine inside another runtime (tests)
            rt.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Ctrl-C and (on Unix) SIGTERM, listened for from the moment they are registered.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Start listening (inside the runtime).
    fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = signal(SignalKind::interrupt())
                .and_then(|i| signal(SignalKind::terminate()).map(|t| (i, t)))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The first of them to arrive.
    async fn arrive(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Shared {
    /// The class as a console shows it: the students' rows, the teacher's place, the
    /// lead, the limits and how close the class is to each, and the mirror asked for.
    pub(crate) fn class_view(&self, mirror: Option<u64>, in_session: bool) -> ClassView {
        let c = &self.config;
        let limits = Limits {
            sessions: (self.students.load(Ordering::SeqCst), c.max_sessions),
            trainings: (self.queue.running(), self.queue.limit()),
            queued: self.queue.waiting(),
            unauthenticated: (self.conns.unauthenticated(), c.max_unauthenticated),
            grace: (c.login_grace, self.conns.oldest_waiting()),
            idle_timeout: c.idle_timeout,
            stuck_after: c.stuck_after,
        };
        let mut students = self.class.rows();
        names::mark_look_alikes(&mut students, c.teacher.as_deref());
        ClassView {
            students,
            teacher: c.teacher.clone(),
            teacher_at: self.class.teacher_place(),
            locked: self.class.locked(),
            message: self.class.message().map(|(_, m)| m),
            limits,
            absent: self.config.roster.as_ref().map(|r| {
                let rows = self.class.rows();
                let here: Vec<&str> = rows.iter().map(|s| s.login.as_str()).collect();
                r.absent(&here).into_iter().map(str::to_string).collect()
            }),
            mirror: mirror.and_then(|id| {
                self.class
                    .mirror(id)
                    .map(|(name, screen)| Mirror { name, screen })
            }),
            in_session,
            hands: self.class.hand_rows(),
            struggle: None,
        }
    }

    /// The class as `console` shows it: with the figures per question while its
    /// struggle view is open.
    pub(crate) fn console_view(&self, console: &Console, in_session: bool) -> ClassView {
        let mut view = self.class_view(console.mirror, in_session);
        if console.view == View::Struggle {
            let records = self.class.records();
            view.struggle = Some(struggle::struggle(&self.lesson_info, &records));
        }
        view
    }

    /// Do what a console asked: bring everyone to the teacher's step, lock following, put
    /// up or take down the message, end a session, stop every training, write the report.
    /// Returns a line for the console to show, when there is one.
    pub(crate) fn console_apply(&self, effect: &ConsoleEffect) -> Option<String> {
        use class::Command;
        match effect {
            ConsoleEffect::BringHere => {
                let at = *self.teacher_at.lock().unwrap_or_else(|e| e.into_inner());
                let Some((lesson, step)) = at else {
                    return Some("the teacher has no lesson open".into());
                };
                // a student on the training screen or in the inspector stays there (the
                // app moves only lessons and the menu): count those who move
                let rows = self.class.rows();
                let stay = rows
                    .iter()
                    .filter(|r| matches!(r.place, Place::Training | Place::Inspector))
                    .count();
                let n = self.class.tell_all(&Command::Show(lesson, step));
                let moved = n.saturating_sub(stay);
                let mut line = format!("brought {moved} student(s) to your lesson and step");
                if stay > 0 {
                    line.push_str(&format!(
                        "; {stay} on the training screen or in the inspector stay there"
                    ));
                }
                eprintln!("console: lesson {} step {}: {line}", lesson + 1, step + 1);
                Some(line)
            }
            ConsoleEffect::BringOne(id) => {
                let at = *self.teacher_at.lock().unwrap_or_else(|e| e.into_inner());
                let Some((lesson, step)) = at else {
                    return Some("the teacher has no lesson open".into());
                };
                if !self.class.tell(*id, Command::Show(lesson, step)) {
                    return Some("that student has already left".into());
                }
                eprintln!(
                    "console: brought session #{id} to lesson {} step {}",
                    lesson + 1,
                    step + 1
                );
                None
            }
            ConsoleEffect::StopOne(id) => {
                if !self.class.tell(*id, Command::StopTraining) {
                    return Some("that student has already left".into());
                }
                eprintln!("console: stopping the training of session #{id}");
                None
            }
            ConsoleEffect::Lock(on) => {
                self.class.set_locked(*on);
                eprintln!(
                    "console: following {}",
                    if *on { "locked" } else { "unlocked" }
                );
                None
            }
            ConsoleEffect::Message(text) => {
                match text {
                    Some(t) => eprintln!("console: message up: {}", crate::text::escaped(t)),
                    None => eprintln!("console: message taken down"),
                }
                self.class.set_message(text.clone());
                None
            }
            ConsoleEffect::End { id, message } => {
                if self.class.tell(*id, Command::End(message.clone())) {
                    None
                } else {
                    Some("that student has already left".into())
                }
            }
            ConsoleEffect::EndAll { ids, what, message } => {
                let n = ids
                    .iter()
                    .filter(|id| self.class.tell(**id, Command::End(message.clone())))
                    .count();
                eprintln!(
                    "console: ending every session of {} ({n})",
                    crate::text::escaped(what)
                );
                Some(format!("ending {n} session(s) of {what}"))
            }
            ConsoleEffect::StopTrainings => {
                // only sessions with a run going or waiting in the queue have one to stop
                let ids: Vec<u64> = self
                    .class
                    .rows()
                    .iter()
                    .filter(|r| r.training.is_active())
                    .map(|r| r.id)
                    .collect();
                let n = ids
                    .iter()
                    .filter(|id| self.class.tell(**id, Command::StopTraining))
                    .count();
                eprintln!("console: stopping every training ({n} running or queued)");
                Some(if n == 0 {
                    "no training is running or queued".to_string()
                } else {
                    format!("stopping {n} training(s), running or queued")
                })
            }
            ConsoleEffect::Report => Some(match self.write_class_report() {
                Ok((csv, md)) => format!(
                    "report written: {} and {} (the gradebook beside them)",
                    crate::text::path(&csv),
                    crate::text::path(&md)
                ),
                Err(e) => format!("report not written: {e}"),
            }),
            ConsoleEffect::Answer { .. }
            | ConsoleEffect::Lower(_)
            | ConsoleEffect::HintStep { .. } => self.hand_apply(effect),
            ConsoleEffect::Mirror(_) | ConsoleEffect::ToLessons | ConsoleEffect::Quit => None,
        }
    }

    /// What the gradebook is made from besides the records.
    fn gradebook_spec(&self) -> class::GradebookSpec<'_> {
        class::GradebookSpec {
            format: self.config.gradebook,
            roster: self.config.roster.as_deref(),
            lessons: &self.lesson_info,
        }
    }

    /// The gradebook of `records` as CSV text (printed when it cannot be written).
    fn gradebook_csv(&self, records: &[class::Record]) -> String {
        let spec = self.gradebook_spec();
        gradebook::gradebook_csv(spec.format, spec.roster, spec.lessons, records)
    }

    /// Write the class report into the state folder.
    pub(crate) fn write_class_report(&self) -> Result<(PathBuf, PathBuf)> {
        let book = self.gradebook_spec();
        class::write_report(&self.config.state_dir, &self.class.records(), &book)
    }
}

/// Start serving: check the configuration, load the lessons and the host key (made on first
/// start), bind, and accept connections on a runtime of its own. Returns once listening.
/// The limits and the code a server cannot start without.
fn check_limits(config: &ServeConfig) -> Result<()> {
    if config.max_sessions == 0 {
        return Err(Error::Usage("--max-sessions must be at least 1".into()));
    }
    if config.login_grace.is_zero() {
        return Err(Error::Usage("--login-grace must be longer than 0".into()));
    }
    if config.max_unauthenticated == 0 {
        return Err(Error::Usage(
            "--max-unauthenticated must be at least 1".into(),
        ));
    }
    if config.code.as_deref().is_some_and(str::is_empty) {
        return Err(Error::Usage("the class code is empty".into()));
    }
    Ok(())
}

pub fn start(config: ServeConfig) -> Result<Server> {
    if config.is_open() && !config.listen.ip().is_loopback() {
        return Err(Error::Usage(format!(
            "refusing to serve on {} with no class code and no authorized keys: anyone could connect. \
             Give --code-file FILE (or CNN_TUTOR_CODE) and/or --authorized-keys FILE, or listen on 127.0.0.1",
            config.listen
        )));
    }
    check_limits(&config)?;
    admit::check_roster(&config)?;
    let lessons = crate::lesson::load(config.lessons_dir.as_deref())?;
    let lesson_info = LessonInfo::of(&lessons);
    let key = load_or_create_host_key(&config.state_dir.join(HOST_KEY_FILE))?;
    let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("cnn-tutor-ssh")
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the server runtime: {e}")))?;
    // bound here (std), handed to tokio inside the task: `start` may itself be called from
    // within a runtime (tests), where blocking on another one is not allowed
    let listener = std::net::TcpListener::bind(config.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| Error::Usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Other(format!("cannot read the bound address: {e}")))?;

    let mut methods = russh::MethodSet::empty();
    if config.code.is_some() || config.has_personal_codes() {
        methods.push(russh::MethodKind::Password);
    }
    if !config.authorized_keys.is_empty() {
        methods.push(russh::MethodKind::PublicKey);
    }
    if config.is_open() {
        methods.push(russh::MethodKind::None);
    }
    let offered = methods.clone();
    let ssh_config = Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard(
            format!("SSH-2.0-cnn_tutor_{}", env!("CARGO_PKG_VERSION")).into(),
        ),
        methods,
        auth_rejection_time: config.auth_delay,
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        max_auth_attempts: 6,
        // the app ends idle sessions itself and the login grace time connections that never
        // log in; this is a last resort
        inactivity_timeout: Some(config.idle_timeout + Duration::from_secs(60)),
        keepalive_interval: Some(Duration::from_secs(60)),
        nodelay: true,
        ..Default::default()
    });

    let shared = Arc::new(Shared {
        queue: TrainQueue::new(config.max_trainings),
        lessons,
        lesson_info,
        sessions: AtomicUsize::new(0),
        students: AtomicUsize::new(0),
        failures: Mutex::new(HashMap::new()),
        methods: offered,
        next_id: AtomicU64::new(1),
        runtime: runtime.handle().clone(),
        teacher_at: Mutex::new(None),
        stopping: AtomicBool::new(false),
        signalled: Arc::new(AtomicBool::new(false)),
        signal: tokio::sync::Notify::new(),
        names: Mutex::new(HashMap::new()),
        lease_seq: AtomicU64::new(1),
        conns: accept::Registry::default(),
        writers: AtomicUsize::new(0),
        recording: Mutex::new(None),
        class: Arc::default(),
        config,
    });
    let listening = Arc::clone(&shared);
    // registered now, before `start` returns: from here on Ctrl-C and SIGTERM end the
    // class with its goodbyes and report, even before anything waits for them
    let signals = {
        let _entered = runtime.enter();
        Signals::register()
    };
    runtime.spawn(async move {
        signals.arrive().await;
        listening.signalled.store(true, Ordering::SeqCst);
        listening.signal.notify_one();
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let accepting = Arc::clone(&shared);
    let task = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        accept::run(accepting, ssh_config, listener, stop_rx).await
    });
    Ok(Server {
        addr,
        fingerprint,
        shared,
        stop: Some(stop_tx),
        task: Some(task),
        runtime: Some(runtime),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(display_name("ada"), "ada");
        assert_eq!(display_name("../../etc/passwd"), "etcpasswd");
        assert_eq!(display_name("a b\x1b[31m"), "ab31m");
        assert_eq!(display_name(""), "student");
        assert_eq!(display_name(&"x".repeat(80)).len(), 32);
    }

    #[test]
    fn codes_compare_exactly() {
        assert!(code_matches("owl-42", "owl-42"));
        assert!(!code_matches("owl-43", "owl-42"));
        assert!(!code_matches("owl-4", "owl-42"));
        assert!(!code_matches("", "owl-42"));
    }

    #[test]
    fn terminal_types_decide_colour() {
        assert!(term_has_color("xterm-256color"));
        assert!(term_has_color("screen"));
        assert!(term_has_color("tmux-256color"));
        assert!(!term_has_color("dumb"));
        assert!(!term_has_color(""));
        assert!(!term_has_color("vt100"));
    }

    #[test]
    fn host_key_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(HOST_KEY_FILE);
        let a = load_or_create_host_key(&path).unwrap();
        let b = load_or_create_host_key(&path).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let fp = a.public_key().fingerprint(HashAlg::Sha256).to_string();
        assert!(fp.starts_with("SHA256:") && fp.len() == 7 + 43, "{fp}");
    }

    #[test]
    fn open_server_refused_off_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let config = ServeConfig::new("0.0.0.0:0".parse().unwrap(), dir.path().into());
        let err = start(config).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("no class code"), "{err}");
    }

    #[test]
    fn sessions_with_one_login_name_get_names_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let server = start(ServeConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().into(),
        ))
        .unwrap();
        let sh = &server.shared;
        let a = sh.lease_name("student", None);
        let b = sh.lease_name("student", None);
        let c = sh.lease_name("student", None);
        assert_eq!(
            (a.name(), b.name(), c.name()),
            ("student", "student-2", "student-3")
        );
        assert_eq!(sh.lease_name("kim", None).name(), "kim");
        drop(b);
        assert_eq!(
            sh.lease_name("student", None).name(),
            "student-2",
            "a freed name is reused"
        );
        // a login name that looks like a renamed one does not take another's name
        let d = sh.lease_name("student-3", None);
        assert_eq!(d.name(), "student-3-2");
    }

    #[test]
    fn a_roster_name_passes_to_its_newest_login() {
        let dir = tempfile::tempdir().unwrap();
        let server = start(ServeConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().into(),
        ))
        .unwrap();
        let sh = &server.shared;
        let old = sh.take_name("ada");
        let new = sh.take_name("ada");
        assert_eq!((old.name(), new.name()), ("ada", "ada"));
        // the replaced session ending does not free the name its successor holds
        drop(old);
        assert!(sh.name_taken("ada"));
        drop(new);
        assert!(!sh.name_taken("ada"));
    }

    #[test]
    fn throttles_after_repeated_failures() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().into());
        config.code = Some("c".into());
        let server = start(config).unwrap();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(!server.shared.throttled(ip));
            server.shared.record_failure(ip);
        }
        assert!(server.shared.throttled(ip));
        assert!(!server.shared.throttled("10.0.0.8".parse().unwrap()));
    }
}
