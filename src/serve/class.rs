//! The class as the teacher's console sees it: who is connected (name, address, since
//! when), where each student is and what they trained, the lead of the class (following
//! locked, a message up), what the console asked of each session (commands), the
//! mirror of one screen, and the class report.
//!
//! Each session thread keeps its own [`Member`] up to date (from its `App`, a few times a
//! second) and takes the [`Command`]s waiting for it; the console (the teacher's session,
//! or `serve --console`) reads a [`ClassView`] snapshot and applies
//! [`ConsoleEffect`]s through [`super::Shared::console_apply`]. When a session ends its
//! [`Record`] stays for the report.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use ratatui::buffer::Buffer;

use super::gradebook::{GradebookFormat, LessonInfo, LessonMarks};
use super::roster::Roster;
use crate::tui::attempts::{Attempts, QuestionKey};
use crate::tui::console::{Place, QuizTally, StudentRow, TrainingStatus};
use crate::tui::training::{Phase, Stop};
use crate::tui::{App, CourseState, QuizTally as AppTally, Screen};
use crate::Result;

/// A mirror is drawn for this long after the console last asked for it.
const MIRROR_WANTED: Duration = Duration::from_secs(2);
/// Folder of the class reports, in the state folder.
pub const REPORTS_DIR: &str = "reports";

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the console asks one session to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Show this lesson and step.
    Show(usize, usize),
    /// End the session with this goodbye line.
    End(String),
    /// Cancel the training, running or waiting.
    StopTraining,
    /// A new login of this roster name (from this address) takes its place: end.
    Replaced(String),
}

/// What the report keeps of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The session's name.
    pub name: String,
    /// Where they connected from.
    pub addr: String,
    /// When they connected.
    pub connected_at: SystemTime,
    /// How long they were (or are) connected.
    pub connected: Duration,
    /// The ids of the lessons they finished.
    pub finished: BTreeSet<String>,
    /// Their "your turn" tally.
    pub quiz: Option<QuizTally>,
    /// Their best validation accuracy (0..1) of a finished training.
    pub best_accuracy: Option<f64>,
    /// Per lesson id: the furthest step and the "your turn" answers (for the gradebook).
    pub lessons: BTreeMap<String, LessonMarks>,
    /// Each "your turn" question's tries (for the report's per-question figures).
    pub attempts: BTreeMap<QuestionKey, Attempts>,
}

/// A session's state as its thread last wrote it.
#[derive(Debug)]
struct MemberState {
    place: Place,
    training: TrainingStatus,
    /// The last training's end (shown once the student leaves the training screen).
    last_training: TrainingStatus,
    quiz: Option<QuizTally>,
    last_input: Instant,
    step_since: Option<Instant>,
    following: bool,
    finished: BTreeSet<String>,
    best_accuracy: Option<f64>,
    /// Per lesson id: the furthest step and this session's answers.
    lessons: BTreeMap<String, LessonMarks>,
    /// Each question's tries (the app's, bounded there).
    attempts: BTreeMap<QuestionKey, Attempts>,
    /// Wrong tries at a question of the current step not yet answered right.
    wrong_here: u32,
    commands: VecDeque<Command>,
    mirror_wanted: Option<Instant>,
    mirror: Option<Buffer>,
    /// What the app holds to hand back if this student reconnects (see [`Carried`]).
    carried: Carried,
    /// The answers handed back at the start (a reconnection): this session's own are what
    /// the app counts beyond them, so the report does not count them twice.
    base: BTreeMap<String, AppTally>,
}

/// What a student's session leaves for their next one: their course (progress, answers,
/// "your turn") and the lesson step they were on.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Carried {
    pub(crate) course: CourseState,
    pub(crate) at: Option<(usize, usize)>,
}

/// One connected session.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: u64,
    pub(crate) name: String,
    /// The name logged in with (`name` may have `-2` ... added).
    login: String,
    addr: String,
    teacher: bool,
    connected_at: SystemTime,
    since: Instant,
    state: Mutex<MemberState>,
    /// The teacher's line to this student only (an answer to a hand, a hint), numbered.
    pub(super) told: Mutex<Option<(u64, String)>>,
}

/// What a session thread learned from its app this turn (see [`Member::update`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) last_input: Instant,
    pub(crate) following: bool,
    pub(crate) quiz: Option<QuizTally>,
}

impl Member {
    /// Write what the app shows now.
    pub(crate) fn update(&self, app: &App, seen: Seen) {
        let place = place_of(app);
        let training = training_of(app);
        let mut s = lock(&self.state);
        if s.place != place {
            s.step_since = matches!(place, Place::Lesson { .. }).then(Instant::now);
            s.place = place;
        }
        match training {
            Some(t) => {
                if let TrainingStatus::Done(acc) = t {
                    if s.best_accuracy.is_none_or(|b| acc > b) {
                        s.best_accuracy = Some(acc);
                    }
                }
                if matches!(
                    t,
                    TrainingStatus::Done(_) | TrainingStatus::Cancelled | TrainingStatus::Failed
                ) {
                    s.last_training = t;
                }
                s.training = t;
            }
            None => {
                // left the training screen: a run still going was cancelled on the way
                if matches!(
                    s.training,
                    TrainingStatus::Epoch { .. } | TrainingStatus::Queued(_)
                ) {
                    s.last_training = TrainingStatus::Cancelled;
                }
                s.training = s.last_training;
            }
        }
        s.quiz = seen.quiz.map(|mut q| {
            let (asked, right) = s
                .base
                .values()
                .fold((0, 0), |(a, r), t| (a + t.asked, r + t.right));
            q.asked = q.asked.saturating_sub(asked);
            q.right = q.right.saturating_sub(right);
            q
        });
        s.last_input = seen.last_input;
        s.following = seen.following;
        for (id, p) in &app.progress().lessons {
            if p.finished && !s.finished.contains(id) {
                s.finished.insert(id.clone());
            }
        }
        if let Place::Lesson { index, step, .. } = &s.place {
            if let Some(lesson) = app.lessons().get(*index) {
                let (id, reached) = (lesson.id(), step + 1);
                match s.lessons.get_mut(id) {
                    Some(m) => m.reached = m.reached.max(reached),
                    None => {
                        let marks = LessonMarks {
                            reached,
                            ..LessonMarks::default()
                        };
                        s.lessons.insert(id.to_string(), marks);
                    }
                }
            }
        }
        for (id, t) in app.quiz_tally() {
            let base = s.base.get(id).copied().unwrap_or_default();
            let m = s.lessons.entry(id.clone()).or_default();
            m.right = t.right.saturating_sub(base.right);
            m.asked = t.asked.saturating_sub(base.asked);
        }
        if s.attempts != *app.quiz_attempts() {
            s.attempts = app.quiz_attempts().clone();
        }
        s.wrong_here = match &s.place {
            Place::Lesson { index, step, .. } => app.lessons().get(*index).map_or(0, |l| {
                s.attempts
                    .iter()
                    .filter(|(k, a)| k.lesson == l.id() && k.step == *step && !a.right)
                    .map(|(_, a)| a.wrong)
                    .max()
                    .unwrap_or(0)
            }),
            _ => 0,
        };
        let (course, at) = app.course_state();
        s.carried = Carried { course, at };
    }

    /// This session carries on from `carried` (the app was given it): the answers in it
    /// are the earlier session's, not this one's.
    pub(crate) fn carry_on_from(&self, carried: &Carried) {
        lock(&self.state).base = carried.course.quiz_tally().clone();
    }

    /// The commands waiting for this session (taken).
    pub(crate) fn take_commands(&self) -> Vec<Command> {
        lock(&self.state).commands.drain(..).collect()
    }

    fn push(&self, c: Command) {
        let mut s = lock(&self.state);
        // a student's queue never grows without bound, whatever the console sends
        if s.commands.len() < 64 {
            s.commands.push_back(c);
        }
    }

    /// Whether a console wants this session's screen (recently asked).
    pub(crate) fn mirror_wanted(&self) -> bool {
        lock(&self.state)
            .mirror_wanted
            .is_some_and(|t| t.elapsed() < MIRROR_WANTED)
    }

    /// Whether a wanted mirror has no screen yet (the session draws one at once).
    pub(crate) fn mirror_missing(&self) -> bool {
        let s = lock(&self.state);
        s.mirror_wanted.is_some_and(|t| t.elapsed() < MIRROR_WANTED) && s.mirror.is_none()
    }

    /// Keep what the session just drew for the mirror (or drop it when nobody looks).
    pub(crate) fn set_mirror(&self, screen: Option<&Buffer>) {
        let mut s = lock(&self.state);
        s.mirror = screen.cloned();
    }

    fn record(&self) -> Record {
        let s = lock(&self.state);
        Record {
            name: self.name.clone(),
            addr: self.addr.clone(),
            connected_at: self.connected_at,
            connected: self.since.elapsed(),
            finished: s.finished.clone(),
            quiz: s.quiz,
            best_accuracy: s.best_accuracy,
            lessons: s.lessons.clone(),
            attempts: s.attempts.clone(),
        }
    }

    fn row(&self) -> StudentRow {
        let s = lock(&self.state);
        StudentRow {
            id: self.id,
            name: self.name.clone(),
            login: self.login.clone(),
            addr: self.addr.clone(),
            place: s.place.clone(),
            quiz: s.quiz,
            training: s.training,
            idle: s.last_input.elapsed(),
            on_step: s.step_since.map(|t| t.elapsed()),
            connected: self.since.elapsed(),
            following: s.following,
            look_alike: None,
            wrong_here: s.wrong_here,
        }
    }
}

fn place_of(app: &App) -> Place {
    match app.screen() {
        Screen::Menu => Place::Menu,
        Screen::Lesson(s) => Place::Lesson {
            index: s.lesson,
            title: app
                .lessons()
                .get(s.lesson)
                .map_or_else(String::new, |l| l.title().to_string()),
            step: s.step,
            steps: s.frames.len(),
        },
        Screen::Training(_) => Place::Training,
        Screen::Inspector(..) => Place::Inspector,
        // a screen the console has no column for yet
        Screen::Other => Place::Menu,
    }
}

fn training_of(app: &App) -> Option<TrainingStatus> {
    let t = app.training()?;
    Some(match &t.phase {
        // looking at the runs kept is between trainings, as the settings are
        Phase::Settings(_) | Phase::Runs(_) => TrainingStatus::Settings,
        Phase::Running(run) => match run.queue_position() {
            Some(n) => TrainingStatus::Queued(n),
            None => TrainingStatus::Epoch {
                epoch: run.epoch,
                of: run.epochs,
            },
        },
        Phase::Stopped(_, Stop::Cancelled) => TrainingStatus::Cancelled,
        Phase::Stopped(_, Stop::Failed(_)) => TrainingStatus::Failed,
        Phase::Results(r) => match r.reports.last() {
            Some(last) => TrainingStatus::Done(last.val_accuracy),
            // a model loaded from a file: nothing trained here
            None => return None,
        },
    })
}

/// The whole class: the sessions now connected, the records of those that left, the
/// lead (lock, message).
#[derive(Debug, Default)]
pub struct Class {
    members: Mutex<BTreeMap<u64, Arc<Member>>>,
    past: Mutex<Vec<Record>>,
    /// Per name, what the last session of a student who left carries to their next one.
    left: Mutex<BTreeMap<String, Carried>>,
    locked: AtomicBool,
    message: Mutex<Option<(u64, String)>>,
    message_seq: AtomicU64,
    /// Raised hands, first raised first (one per session: see `hands.rs`).
    pub(super) hands: Mutex<Vec<super::hands::Hand>>,
}

/// A session's place in the class; dropping it moves its record to the report's past.
#[derive(Debug)]
pub(crate) struct Membership {
    class: Arc<Class>,
    pub(crate) member: Arc<Member>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        lock(&self.class.members).remove(&self.member.id);
        self.class.lower_hand(self.member.id);
        if !self.member.teacher {
            let carried = lock(&self.member.state).carried.clone();
            let mut left = lock(&self.class.left);
            if left.len() < 10_000 || left.contains_key(&self.member.name) {
                left.insert(self.member.name.clone(), carried);
            }
            drop(left);
            let record = self.member.record();
            let mut past = lock(&self.class.past);
            // a class of thousands of short visits keeps the report, not the memory: the
            // oldest records go first beyond this
            if past.len() >= 10_000 {
                past.remove(0);
            }
            past.push(record);
        }
    }
}

impl Class {
    /// A session joins (its name and login name, address; whether it is the teacher's).
    pub(crate) fn join(
        self: &Arc<Self>,
        id: u64,
        (name, login): (&str, &str),
        addr: String,
        teacher: bool,
    ) -> Membership {
        let member = Arc::new(Member {
            id,
            name: name.to_string(),
            login: login.to_string(),
            addr,
            teacher,
            connected_at: SystemTime::now(),
            since: Instant::now(),
            state: Mutex::new(MemberState {
                place: Place::Menu,
                training: TrainingStatus::None,
                last_training: TrainingStatus::None,
                quiz: None,
                last_input: Instant::now(),
                step_since: None,
                following: false,
                finished: BTreeSet::new(),
                best_accuracy: None,
                lessons: BTreeMap::new(),
                attempts: BTreeMap::new(),
                wrong_here: 0,
                commands: VecDeque::new(),
                mirror_wanted: None,
                mirror: None,
                carried: Carried::default(),
                base: BTreeMap::new(),
            }),
            told: Mutex::new(None),
        });
        lock(&self.members).insert(id, Arc::clone(&member));
        Membership {
            class: Arc::clone(self),
            member,
        }
    }

    /// Session `id`'s member, while connected.
    pub(crate) fn member(&self, id: u64) -> Option<Arc<Member>> {
        lock(&self.members).get(&id).cloned()
    }

    fn students(&self) -> Vec<Arc<Member>> {
        lock(&self.members)
            .values()
            .filter(|m| !m.teacher)
            .cloned()
            .collect()
    }

    /// The students' rows, in id order.
    pub fn rows(&self) -> Vec<StudentRow> {
        self.students().iter().map(|m| m.row()).collect()
    }

    /// What a student named `name` left to carry on from: the session of that name still
    /// connected (a roster login replacing it), else the last one that left; `None` for a
    /// name not seen in this class.
    pub(crate) fn carried(&self, name: &str) -> Option<Carried> {
        let live = self.students().into_iter().find(|m| m.name == name);
        match live {
            Some(m) => Some(lock(&m.state).carried.clone()),
            None => lock(&self.left).get(name).cloned(),
        }
    }

    /// The teacher's lesson and step, while they have a lesson open.
    pub fn teacher_place(&self) -> Option<Place> {
        let teacher = lock(&self.members).values().find(|m| m.teacher).cloned()?;
        let place = lock(&teacher.state).place.clone();
        matches!(place, Place::Lesson { .. }).then_some(place)
    }

    /// Following is locked.
    pub fn locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    pub(crate) fn set_locked(&self, on: bool) {
        self.locked.store(on, Ordering::SeqCst);
    }

    /// The message up (with its number: a new message shows again after a dismissal).
    pub fn message(&self) -> Option<(u64, String)> {
        lock(&self.message).clone()
    }

    pub(crate) fn set_message(&self, text: Option<String>) {
        let seq = self.message_seq.fetch_add(1, Ordering::SeqCst) + 1;
        *lock(&self.message) = text.map(|t| (seq, t));
    }

    /// Ask every student's session to do `c`.
    pub(crate) fn tell_all(&self, c: &Command) -> usize {
        let students = self.students();
        for m in &students {
            m.push(c.clone());
        }
        students.len()
    }

    /// End every student's session logged in as `login` (a roster name logging in again
    /// from `from`); their ids and addresses.
    pub(crate) fn replace_login(&self, login: &str, from: &str) -> Vec<(u64, String)> {
        let earlier: Vec<Arc<Member>> = self
            .students()
            .into_iter()
            .filter(|m| m.login == login)
            .collect();
        for m in &earlier {
            m.push(Command::Replaced(from.to_string()));
        }
        earlier.iter().map(|m| (m.id, m.addr.clone())).collect()
    }

    /// Ask one session; false when it is gone.
    pub(crate) fn tell(&self, id: u64, c: Command) -> bool {
        let m = lock(&self.members).get(&id).cloned();
        m.map(|m| m.push(c)).is_some()
    }

    /// The screen of session `id` for a mirror (asking it to keep drawing one), with its
    /// name; `None` when it is gone.
    pub(crate) fn mirror(&self, id: u64) -> Option<(String, Option<Buffer>)> {
        let m = lock(&self.members).get(&id).cloned()?;
        let mut s = lock(&m.state);
        s.mirror_wanted = Some(Instant::now());
        Some((m.name.clone(), s.mirror.clone()))
    }

    /// Every student's record (those connected now and those who left), one per name:
    /// a student who reconnected has their times added, lessons joined, best kept.
    pub fn records(&self) -> Vec<Record> {
        let mut all: Vec<Record> = lock(&self.past).clone();
        all.extend(self.students().iter().map(|m| m.record()));
        let mut by_name: BTreeMap<String, Record> = BTreeMap::new();
        for r in all {
            match by_name.get_mut(&r.name) {
                None => {
                    by_name.insert(r.name.clone(), r);
                }
                Some(e) => {
                    e.connected += r.connected;
                    e.connected_at = e.connected_at.min(r.connected_at);
                    e.finished.extend(r.finished);
                    // each session's answers are its own: a reconnection adds to them
                    e.quiz = match (e.quiz, r.quiz) {
                        (Some(a), Some(b)) => Some(QuizTally {
                            asked: a.asked + b.asked,
                            right: a.right + b.right,
                            wrong_in_a_row: b.wrong_in_a_row,
                        }),
                        (a, b) => a.or(b),
                    };
                    e.best_accuracy = match (e.best_accuracy, r.best_accuracy) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    for (id, m) in r.lessons {
                        let e = e.lessons.entry(id).or_default();
                        *e = e.merge(m);
                    }
                    for (q, a) in r.attempts {
                        let e = e.attempts.entry(q).or_default();
                        *e = e.merge(&a);
                    }
                }
            }
        }
        let mut all: Vec<Record> = by_name.into_values().collect();
        all.sort_by(|a, b| {
            crate::text::natural_key(&a.name).cmp(&crate::text::natural_key(&b.name))
        });
        all
    }
}

/// A field for a CSV file: quoted when it holds a comma, a quote or a line break, and
/// with a leading `'` when a spreadsheet would take it for a formula.
fn csv_field(s: &str) -> String {
    let s = crate::text::escaped(s);
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.into_owned()
    };
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A cell of a Markdown table (`|` escaped).
fn md_cell(s: &str) -> String {
    crate::text::escaped(s).replace('|', "\\|")
}

fn minutes(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() / 60.0)
}

fn tally(q: Option<QuizTally>) -> (String, String) {
    q.map_or_else(
        || ("-".into(), "-".into()),
        |q| (q.right.to_string(), q.asked.to_string()),
    )
}

fn accuracy(a: Option<f64>) -> String {
    a.map_or_else(|| "-".into(), |a| format!("{:.1}", a * 100.0))
}

/// The report as CSV: a header and one line per student.
pub fn report_csv(records: &[Record]) -> String {
    let mut out = String::from(
        "name,address,connected_at,minutes_connected,lessons_finished,finished_ids,turn_right,turn_asked,best_accuracy_percent\n",
    );
    for r in records {
        let ids: Vec<&str> = r.finished.iter().map(String::as_str).collect();
        let (right, asked) = tally(r.quiz);
        let fields = [
            csv_field(&r.name),
            csv_field(&r.addr),
            humantime::format_rfc3339_seconds(r.connected_at).to_string(),
            minutes(r.connected),
            r.finished.len().to_string(),
            csv_field(&ids.join(" ")),
            right,
            asked,
            accuracy(r.best_accuracy),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The report as Markdown: a title, when, and a table of the students.
pub fn report_markdown(records: &[Record], written: SystemTime) -> String {
    let mut out = format!(
        "# Class report\n\nWritten {} (UTC); {} student(s).\n\n\
         | name | address | connected at (UTC) | minutes | lessons finished | your turn (right/asked) | best accuracy |\n\
         |---|---|---|---:|---|---:|---:|\n",
        humantime::format_rfc3339_seconds(written),
        records.len()
    );
    for r in records {
        let ids: Vec<&str> = r.finished.iter().map(String::as_str).collect();
        let finished = if ids.is_empty() {
            "0".to_string()
        } else {
            format!("{} ({})", ids.len(), ids.join(", "))
        };
        let (right, asked) = tally(r.quiz);
        let turn = if r.quiz.is_some() {
            format!("{right}/{asked}")
        } else {
            "-".into()
        };
        let acc = r
            .best_accuracy
            .map_or_else(|| "-".into(), |a| format!("{:.1}%", a * 100.0));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            md_cell(&r.name),
            md_cell(&r.addr),
            humantime::format_rfc3339_seconds(r.connected_at),
            minutes(r.connected),
            md_cell(&finished),
            turn,
            acc
        ));
    }
    out
}

/// The report's line on the roster's students who never connected (their gradebook rows
/// are zeros).
fn never_came(roster: &Roster, records: &[Record]) -> String {
    let came: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let absent = roster.absent(&came);
    if absent.is_empty() {
        return "\nEveryone on the roster came.\n".into();
    }
    let names: Vec<String> = absent.iter().map(|n| md_cell(n)).collect();
    format!(
        "\nNever connected ({} of {} on the roster): {}.\n",
        absent.len(),
        roster.students.len(),
        names.join(", ")
    )
}

/// The folder of a student's runs kept (the lab's runs, `TrainPrefs::runs_dir`).
pub fn student_runs_dir(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join("students").join(format!("{name}-runs"))
}

/// The report's section on the lab: per student, the runs kept, the best validation
/// accuracy among them and that run's network (in short) and settings.
fn runs_section(state_dir: &Path, records: &[Record]) -> String {
    let mut rows = Vec::new();
    for r in records {
        let (runs, _) = crate::train::runs::load_all(&student_runs_dir(state_dir, &r.name));
        let best = runs
            .iter()
            .max_by(|a, b| a.best_accuracy().total_cmp(&b.best_accuracy()));
        let Some(best) = best else { continue };
        let c = &best.config;
        rows.push(format!(
            "| {} | {} | {:.1}% | {} | {} epochs, lr {}, {} |\n",
            md_cell(&r.name),
            runs.len(),
            best.best_accuracy() * 100.0,
            md_cell(&crate::train::runs::arch_short(&c.arch)),
            c.epochs,
            c.lr,
            c.optimizer
        ));
    }
    if rows.is_empty() {
        return "\nNo runs kept in the lab.\n".into();
    }
    format!(
        "\n## The lab: runs kept\n\n| name | runs | best validation accuracy | its network | its settings |\n|---|---:|---:|---|---|\n{}",
        rows.concat()
    )
}

/// What the gradebook is made from, besides the records: its conventions, the roster and
/// the class's lessons.
#[derive(Debug, Clone, Copy)]
pub struct GradebookSpec<'a> {
    /// Whose import conventions.
    pub format: GradebookFormat,
    /// The roster, when the class has one.
    pub roster: Option<&'a Roster>,
    /// The lessons, in menu order.
    pub lessons: &'a [LessonInfo],
}

/// Write the class report (CSV and Markdown) and the gradebook into `state_dir/reports/`,
/// each file atomically, named after the time (`class-2026-12-01T10-30-00Z.csv` and `.md`,
/// `gradebook-2026-12-01T10-30-00Z.csv`, and for Canvas and Moodle the plain gradebook
/// beside it as `gradebook-...-detail.csv`). Returns the report's two paths.
pub fn write_report(
    state_dir: &Path,
    records: &[Record],
    book: &GradebookSpec,
) -> Result<(PathBuf, PathBuf)> {
    let now = SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(':', "-");
    let dir = state_dir.join(REPORTS_DIR);
    let csv = dir.join(format!("class-{stamp}.csv"));
    let md = dir.join(format!("class-{stamp}.md"));
    crate::fsutil::write_atomic(&csv, report_csv(records).as_bytes())?;
    let mut md_text = report_markdown(records, now);
    if let Some(roster) = book.roster {
        md_text.push_str(&never_came(roster, records));
    }
    md_text.push_str(&super::struggle::report_section(book.lessons, records));
    md_text.push_str(&runs_section(state_dir, records));
    crate::fsutil::write_atomic(&md, md_text.as_bytes())?;
    let grades = |format| {
        super::gradebook::gradebook_csv(format, book.roster, book.lessons, records).into_bytes()
    };
    let gradebook = dir.join(format!("gradebook-{stamp}.csv"));
    crate::fsutil::write_atomic(&gradebook, &grades(book.format))?;
    if book.format != GradebookFormat::Plain {
        let detail = dir.join(format!("gradebook-{stamp}-detail.csv"));
        crate::fsutil::write_atomic(&detail, &grades(GradebookFormat::Plain))?;
    }
    Ok((csv, md))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, mins: u64) -> Record {
        Record {
            name: name.into(),
            addr: "127.0.0.1:4000".into(),
            connected_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            connected: Duration::from_secs(mins * 60),
            finished: ["convolution".to_string(), "relu".to_string()].into(),
            quiz: Some(QuizTally {
                asked: 5,
                right: 4,
                wrong_in_a_row: 0,
            }),
            best_accuracy: Some(0.875),
            lessons: BTreeMap::new(),
            attempts: BTreeMap::new(),
        }
    }

    #[test]
    fn the_csv_report_has_one_line_per_student_with_every_column() {
        let mut b = record("-grace", 3);
        b.quiz = None;
        b.best_accuracy = None;
        b.finished.clear();
        let csv = report_csv(&[record("ada", 12), b]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            "ada,127.0.0.1:4000,2027-01-15T08:00:00Z,12.0,2,convolution relu,4,5,87.5"
        );
        // a name a spreadsheet would run as a formula is defused
        assert_eq!(
            lines[2],
            "'-grace,127.0.0.1:4000,2027-01-15T08:00:00Z,3.0,0,,-,-,-"
        );
    }

    #[test]
    fn the_markdown_report_escapes_and_lists_everyone() {
        let mut r = record("a|b", 1);
        r.addr = "x\x1b[2J".into();
        let md = report_markdown(&[r, record("kim", 2)], SystemTime::UNIX_EPOCH);
        assert!(md.contains("| a\\|b | x\\e[2J |"), "{md}");
        assert!(md.contains("| kim |"));
        assert!(md.contains("2 (convolution, relu) | 4/5 | 87.5% |"), "{md}");
        assert!(!md.contains('\x1b'));
    }

    #[test]
    fn a_student_who_reconnects_is_one_row_with_times_added() {
        let class = Arc::new(Class::default());
        let a = class.join(1, ("ada", "ada"), "127.0.0.1:1".into(), false);
        let t = class.join(2, ("teach", "teach"), "127.0.0.1:2".into(), true);
        let tally = |asked, right| {
            Some(QuizTally {
                asked,
                right,
                wrong_in_a_row: 0,
            })
        };
        lock(&a.member.state).quiz = tally(1, 1);
        drop(a);
        let a2 = class.join(3, ("ada", "ada"), "127.0.0.1:3".into(), false);
        lock(&a2.member.state).quiz = tally(2, 1);
        let records = class.records();
        assert_eq!(records.len(), 1, "the teacher is not in the report");
        assert_eq!(records[0].name, "ada");
        // the answers of both sessions are added up (1/1 then 1/2 is 2/3)
        assert_eq!(records[0].quiz, tally(3, 2));
        assert_eq!(class.rows().len(), 1);
        drop(t);
    }

    #[test]
    fn commands_reach_students_only_and_are_bounded() {
        let class = Arc::new(Class::default());
        let a = class.join(1, ("ada", "ada"), String::new(), false);
        let t = class.join(2, ("teach", "teach"), String::new(), true);
        assert_eq!(class.tell_all(&Command::Show(1, 2)), 1);
        assert_eq!(a.member.take_commands(), vec![Command::Show(1, 2)]);
        assert!(t.member.take_commands().is_empty());
        for _ in 0..1000 {
            class.tell(1, Command::StopTraining);
        }
        assert_eq!(a.member.take_commands().len(), 64);
        assert!(!class.tell(99, Command::StopTraining));
    }

    /// The report's lab section lists each student's runs kept (their own folder), with
    /// the best run's accuracy and network; a student with none is left out.
    #[test]
    fn the_report_lists_each_students_runs_kept() {
        use crate::train::runs::{record as keep, RunConfig, RunRecord};
        use crate::train::{EpochReport, TrainConfig};
        let tmp = tempfile::tempdir().unwrap();
        let config = TrainConfig {
            arch: crate::nn::arch::Arch::parse(crate::nn::presets::PRESETS[1].text).unwrap(),
            epochs: 2,
            ..TrainConfig::default()
        };
        let classes = vec!["a".to_string(), "b".to_string()];
        let epoch = |e: usize, acc: f64| EpochReport {
            epoch: e,
            train_loss: 1.0,
            val_loss: 1.0,
            val_accuracy: acc,
            val_correct: 1,
            val_size: 2,
            train_images_per_second: 1.0,
            seconds: 1.0,
        };
        let dir = student_runs_dir(tmp.path(), "ana");
        for acc in [0.5, 0.75] {
            let rc = RunConfig::of(&config, 10, "cpu", (4, 2), &classes, "app");
            let r = RunRecord::stopped(rc, vec![epoch(1, 0.25), epoch(2, acc)], 1.0);
            keep(&dir, r, None).unwrap();
        }
        let book = GradebookSpec {
            format: GradebookFormat::Plain,
            roster: None,
            lessons: &[],
        };
        let (_, md) =
            write_report(tmp.path(), &[record("ana", 3), record("bo", 2)], &book).unwrap();
        let text = std::fs::read_to_string(md).unwrap();
        assert!(text.contains("## The lab: runs kept"), "{text}");
        assert!(
            text.contains("| ana | 2 | 75.0% | smaller | 2 epochs, lr 0.001, adam |"),
            "{text}"
        );
        let lab = text.split("## The lab").nth(1).unwrap();
        assert!(!lab.contains("| bo | "), "{lab}");
    }
}
