//! A session's start-up: the student's app (theme from the client's terminal, role in the
//! class, a name to save models under, the classroom's training preferences), the output
//! pipe, and the thread that runs the session loop ([`super::session`]). Everything the
//! thread holds (the app, the class membership, the name, the slot) is freed when it ends.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use crossterm::{cursor, terminal};
use russh::server::Session;
use russh::ChannelId;

use super::class::{Carried, Membership};
use super::conn::{Conn, Event, Inbox, PtyInfo, KEY_QUEUE};
use super::output::Pipe;
use super::role::{Class, Role};
use super::session::Session as AppSession;
use super::{term_has_color, NameLease, SessionSlot, Shared};
use crate::tui::training::{TrainPrefs, TrainSettings};
use crate::tui::{App, Progress, Theme};

/// What the session thread reads: the keys and wake-ups, and the last terminal size.
pub(super) struct Incoming {
    pub(super) rx: Receiver<Event>,
    pub(super) size: Arc<Mutex<Option<(u16, u16)>>>,
    pub(super) dropped: Arc<AtomicU64>,
}

impl Incoming {
    /// The size asked for since the last look, if any.
    pub(super) fn take_size(&self) -> Option<(u16, u16)> {
        self.size.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What a session thread owns until it ends.
struct Seat {
    who: String,
    membership: Membership,
    lease: NameLease,
    slot: SessionSlot,
}

impl Conn {
    /// Start the student's app on a thread of its own, reading from a new inbox and
    /// writing through a new pipe.
    pub(super) fn start_app(
        &mut self,
        channel: ChannelId,
        pty: PtyInfo,
        slot: SessionSlot,
        session: &Session,
    ) {
        let shared = Arc::clone(&self.shared);
        let name = self.name.clone().unwrap_or_else(|| "student".into());
        let theme = self.theme_for(&pty);
        let mut app = App::new(shared.lessons.clone(), theme, Progress::new());
        let (role, lease) = self.seat(&mut app, &name);
        let carried = self.place_back(&mut app, role, (lease.name(), &name));
        app.set_train_prefs(classroom_prefs(&shared, lease.name()));
        let pipe = Arc::new(Pipe::default());
        let recorder = match role {
            Role::Teacher => shared.teacher_recorder((pty.cols, pty.rows)),
            _ => None,
        };
        let out = ChannelOut {
            pending: Vec::with_capacity(1 << 14),
            strip_color: !theme.color,
            pipe: Arc::clone(&pipe),
            recorder,
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(KEY_QUEUE);
        let incoming = Incoming {
            rx,
            size: Arc::default(),
            dropped: Arc::default(),
        };
        let inbox = Inbox::new(tx, &incoming);
        let addr = self
            .peer
            .map_or_else(|| "unknown".to_string(), |p| p.to_string());
        let membership =
            shared
                .class
                .join(self.id, (lease.name(), &name), addr, role == Role::Teacher);
        if let Some(c) = &carried {
            membership.member.carry_on_from(c);
        }
        let class = Class {
            shared: Arc::clone(&shared),
            role,
            member: Arc::clone(&membership.member),
        };
        let seat = Seat {
            who: self.who(&name),
            membership,
            lease,
            slot,
        };
        let conn = Arc::clone(&self.state);
        let size = (pty.cols, pty.rows);
        self.state.app_running(true);
        let spawned = std::thread::Builder::new()
            .name(format!("cnn-tutor-session-{}", self.id))
            .spawn(move || {
                run_thread(app, out, size, &incoming, &class, seat);
                conn.app_running(false);
            });
        match spawned {
            Ok(_) => {
                self.app = Some(inbox);
                let timeout = shared.config.output_timeout;
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

    /// A student who was here before under this name (Wi-Fi dropped, a new login replacing
    /// the old) carries on where they were: their lesson step, progress and "your turn"
    /// answers. Only a name used as typed (`ana`, not `ana-2` while `ana` is connected).
    fn place_back(
        &self,
        app: &mut App,
        role: Role,
        (name, typed): (&str, &str),
    ) -> Option<Carried> {
        if role == Role::Teacher || name != typed {
            return None;
        }
        let carried = self.shared.class.carried(name)?;
        if carried == Carried::default() {
            return None;
        }
        app.restore_course(carried.course.clone(), carried.at);
        let (asked, right) = carried
            .course
            .quiz_tally()
            .values()
            .fold((0, 0), |(a, r), t| (a + t.asked, r + t.right));
        let turn = if asked > 0 {
            format!("; your turn {right}/{asked}")
        } else {
            String::new()
        };
        let place = match app.position() {
            Some((lesson, step)) => format!("lesson {}, step {}", lesson + 1, step + 1),
            None => "the menu".to_string(),
        };
        self.log(&format!("gets their place back: {place}{turn}"));
        app.set_notice(format!(
            "welcome back, {name}: you carry on at {place}{turn}"
        ));
        Some(carried)
    }

    /// Colours and symbols for the client's terminal (its TERM and the variables it sent).
    fn theme_for(&self, pty: &PtyInfo) -> Theme {
        let mut theme = Theme::from_env(false, |var| match var {
            "TERM" => Some(pty.term.clone()),
            other => self.env.get(other).cloned(),
        });
        theme.color &= term_has_color(&pty.term);
        theme
    }

    /// This login's part in the class and the name its models save under; the app says
    /// so (following, a name taken).
    fn seat(&self, app: &mut App, name: &str) -> (Role, NameLease) {
        let shared = &self.shared;
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
        // a roster's name is one student's: the newest login holds it (the earlier session
        // was told to end, see `admit.rs`)
        let lease = if config.roster.is_some() && !leads {
            shared.take_name(name)
        } else {
            shared.lease_name(name, reserved)
        };
        let role = match &config.teacher {
            None => Role::Alone,
            Some(t)
                if leads
                    && t == name
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
        if role != Role::Teacher {
            let rows = shared.class.rows();
            let others = rows.iter().map(|r| r.name.as_str());
            let teacher = config.teacher.as_deref();
            if let Some(o) = super::names::looks_like(lease.name(), teacher, others) {
                self.log(&format!("looks like {o} (a different name)"));
            }
        }
        if lease.name() != name {
            self.log(&format!("saves models as {}", lease.name()));
            let why = if reserved == Some(name) && !shared.name_taken(name) {
                "is the teacher's name"
            } else {
                "is already connected"
            };
            app.set_notice(format!(
                "{name} {why}: your models save as {}",
                lease.name()
            ));
        }
        (role, lease)
    }
}

/// The training screen in a classroom: the server's data, a model file per student, the
/// shared queue, and nothing read from files the student names.
fn classroom_prefs(shared: &Shared, saved_as: &str) -> TrainPrefs {
    let config = &shared.config;
    TrainPrefs {
        data_dir: config.data_dir.clone(),
        model_path: config
            .state_dir
            .join("students")
            .join(format!("{saved_as}.safetensors")),
        queue: Some(Arc::clone(&shared.queue)),
        threads: Some(config.threads_per_training.max(1)),
        restricted: true,
        cache_mb: config.cache_mb,
        // each student's runs under their own name, beside their model
        runs_dir: Some(super::class::student_runs_dir(&config.state_dir, saved_as)),
        settings: match &config.lab {
            Some(lab) => TrainSettings::default().with_lab(&lab.setup),
            None => TrainSettings::default(),
        },
        lab: config.lab.clone(),
    }
}

/// The session thread: the loop, then the log line; a panic ends only this session.
fn run_thread(
    app: App,
    out: ChannelOut,
    size: (u16, u16),
    incoming: &Incoming,
    class: &Class,
    seat: Seat,
) {
    let sender = Arc::clone(&out.pipe);
    let idle = class.shared.config.idle_timeout;
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        AppSession::new(app, out, size, incoming, idle, class)
            .map_or_else(|why| why, AppSession::run)
    }));
    // a bug in the app ends only this session (the panic message is in the log above);
    // the student still gets their terminal back
    let end = run.unwrap_or_else(|_| {
        if class.role == Role::Teacher {
            class.publish(None);
        }
        say_sorry_and_close(&sender);
        "session ended (internal error: it panicked)".into()
    });
    let who = &seat.who;
    let dropped = incoming.dropped.load(Ordering::Relaxed);
    if dropped > 0 {
        eprintln!("{who} {end}; dropped {dropped} key(s) sent faster than anyone types");
    } else {
        eprintln!("{who} {end}");
    }
    drop(seat.membership);
    drop(seat.lease);
    drop(seat.slot);
}

/// The app's output: buffered until a frame is complete, then queued on the session's
/// [`Pipe`] (never blocking). Once the pipe is finished, later writes (ratatui's own
/// clean-up when the `Terminal` drops) go nowhere.
pub(super) struct ChannelOut {
    pending: Vec<u8>,
    strip_color: bool,
    pub(super) pipe: Arc<Pipe>,
    /// The teacher's session with `serve --record`: what is sent is recorded too.
    pub(super) recorder: Option<crate::tui::SharedRecorder>,
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
        if let Some(rec) = &self.recorder {
            crate::tui::record_output(rec, &bytes);
        }
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
