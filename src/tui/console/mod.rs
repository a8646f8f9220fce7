//! The teacher's console: the class view of `cnn-tutor serve` (one row per student: name,
//! lesson and step, "your turn" tally, training, idle time, time connected), and the keys
//! that lead the class (bring everyone here, lock following, a message, end a session,
//! stop all trainings), look at one student's screen (a read-only mirror) and write the
//! class report.
//!
//! Like the other screens it is terminal-free and touches nothing outside itself: the
//! server hands it a [`ClassView`] (a snapshot of the class, everything in it already
//! gathered by `serve`), [`Console::key`] returns [`ConsoleEffect`]s that the front end
//! (the teacher's SSH session, or `serve --console` on the server's own terminal) runs,
//! and [`render`] draws. Its keys are one table, [`bindings::CONSOLE`].

use std::time::Duration;

use ratatui::buffer::Buffer;

use super::event::{AppEvent, Key, KeyCode};
use super::keys::action_for;

pub mod bindings;
mod hands;
pub mod struggle;
mod view;

pub use bindings::{ConsoleAction, CONSOLE};
pub use hands::{HandRow, MAX_NOTE};
pub use struggle::{stuck, LessonFigures, Struggle};
pub use view::render;

/// A student idle (no key) this long is marked `I`.
pub const IDLE_MARK: Duration = Duration::from_secs(3 * 60);
/// A student on one lesson step this long is marked `S` (stuck), by default
/// (`serve --stuck-after`).
pub const STUCK_MARK: Duration = Duration::from_secs(5 * 60);
/// A student with this many wrong "your turn" answers in a row is marked `W`.
pub const WRONG_MARK: u32 = 3;
/// Longest message the teacher may type (characters).
pub const MAX_MESSAGE: usize = 200;

/// A student's training, as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum TrainingStatus {
    /// Never trained in this session.
    #[default]
    None,
    /// On the training screen, choosing settings.
    Settings,
    /// Waiting in the class's training queue (1 = next).
    Queued(usize),
    /// Training: epoch `epoch` (1-based; 0 while the data is read) of `of`.
    Epoch {
        /// Current epoch.
        epoch: usize,
        /// Epochs of the run.
        of: usize,
    },
    /// Finished, with this validation accuracy (0..1) in its last epoch.
    Done(f64),
    /// Cancelled (by the student or the teacher).
    Cancelled,
    /// Stopped by an error.
    Failed,
}

impl TrainingStatus {
    /// A run going or waiting in the queue (something the teacher can stop).
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            TrainingStatus::Queued(_) | TrainingStatus::Epoch { .. }
        )
    }

    /// The column text: `-`, `settings`, `queued 2`, `epoch 3/10`, `done 87.5%` ...
    pub fn label(&self) -> String {
        match *self {
            TrainingStatus::None => "-".into(),
            TrainingStatus::Settings => "settings".into(),
            TrainingStatus::Queued(n) => format!("queued {n}"),
            TrainingStatus::Epoch { epoch: 0, .. } => "starting".into(),
            TrainingStatus::Epoch { epoch, of } => format!("epoch {epoch}/{of}"),
            TrainingStatus::Done(acc) => format!("done {:.1}%", acc * 100.0),
            TrainingStatus::Cancelled => "cancelled".into(),
            TrainingStatus::Failed => "failed".into(),
        }
    }
}

/// A student's "your turn" answers (from their app's tally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuizTally {
    /// Questions answered.
    pub asked: u32,
    /// Answered right.
    pub right: u32,
    /// Wrong answers since the last right one.
    pub wrong_in_a_row: u32,
}

/// Where a student is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// On the lesson menu.
    Menu,
    /// In lesson `index` (menu order), titled `title`, at `step` (0-based) of `steps`.
    Lesson {
        /// Index into the lessons.
        index: usize,
        /// The lesson's title.
        title: String,
        /// Current step (0-based).
        step: usize,
        /// Steps of the lesson.
        steps: usize,
    },
    /// On the training screen.
    Training,
    /// Looking inside a trained network (the inspector).
    Inspector,
}

impl Place {
    /// The column text: `menu`, `2. ReLU 3/7`, `training`.
    pub fn label(&self) -> String {
        match self {
            Place::Menu => "menu".into(),
            Place::Lesson {
                title, step, steps, ..
            } => format!("{title} {}/{steps}", step + 1),
            Place::Training => "training screen".into(),
            Place::Inspector => "inspector".into(),
        }
    }
}

/// One student, as the class view shows them (times as durations, so the view stays
/// pure: `serve` measures them).
#[derive(Debug, Clone, PartialEq)]
pub struct StudentRow {
    /// The session's id (what the effects name).
    pub id: u64,
    /// The name (escaped when drawn): the login name, with `-2`, `-3` ... while another
    /// session has it.
    pub name: String,
    /// The name the student logged in with.
    pub login: String,
    /// The address the student connected from.
    pub addr: String,
    /// Where they are.
    pub place: Place,
    /// Their "your turn" tally (`None` until the app keeps one).
    pub quiz: Option<QuizTally>,
    /// Their training.
    pub training: TrainingStatus,
    /// Since their last key.
    pub idle: Duration,
    /// On the same lesson step for this long (`None` when not in a lesson).
    pub on_step: Option<Duration>,
    /// Connected for this long.
    pub connected: Duration,
    /// Following the teacher now.
    pub following: bool,
    /// Another name in the class (or the teacher's) this one looks like as drawn
    /// (`tеach` with a Cyrillic `е` and `teach`).
    pub look_alike: Option<String>,
    /// Wrong tries at a question of their current step not yet answered right.
    pub wrong_here: u32,
}

impl StudentRow {
    /// No key for [`IDLE_MARK`].
    pub fn idle_mark(&self) -> bool {
        self.idle >= IDLE_MARK
    }

    /// On one step for `after` (and not just following the teacher there), or
    /// [`crate::tui::attempts::WRONG_TIMES`] wrong tries at a question of this step.
    pub fn stuck_mark(&self, after: Duration) -> bool {
        (!self.following && self.on_step.is_some_and(|d| d >= after))
            || self.wrong_here >= crate::tui::attempts::WRONG_TIMES
    }

    /// [`WRONG_MARK`] wrong answers in a row.
    pub fn wrong_mark(&self) -> bool {
        self.quiz.is_some_and(|q| q.wrong_in_a_row >= WRONG_MARK)
    }
}

/// The server's limits and how close the class is to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Students' sessions now, of `max_sessions` (the teacher's place is kept apart).
    pub sessions: (usize, usize),
    /// Trainings running now, of `max_trainings`.
    pub trainings: (usize, usize),
    /// Trainings waiting in line.
    pub queued: usize,
    /// Connections waiting to log in now, of `max_unauthenticated`.
    pub unauthenticated: (usize, usize),
    /// The login grace time, and how long the oldest connection now waiting has waited.
    pub grace: (Duration, Option<Duration>),
    /// The idle timeout.
    pub idle_timeout: Duration,
    /// On one step this long is stuck ([`STUCK_MARK`] unless `serve --stuck-after`).
    pub stuck_after: Duration,
}

/// A student's screen as they see it (for the mirror).
#[derive(Debug, Clone, PartialEq)]
pub struct Mirror {
    /// Whose screen.
    pub name: String,
    /// What it shows (`None` until their session has drawn it).
    pub screen: Option<Buffer>,
}

/// What the console draws: a snapshot of the class.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassView {
    /// The students now connected (the teacher is not among them).
    pub students: Vec<StudentRow>,
    /// The teacher's name, when a teacher is configured.
    pub teacher: Option<String>,
    /// The teacher's lesson and step (as [`Place`]) while they have a lesson open.
    pub teacher_at: Option<Place>,
    /// Following is locked (a demo).
    pub locked: bool,
    /// The message shown on the students' screens, if any.
    pub message: Option<String>,
    /// The limits.
    pub limits: Limits,
    /// The mirror asked for, when one is.
    pub mirror: Option<Mirror>,
    /// With a roster (`serve --roster`), its names not connected now, in its order;
    /// `None` without one.
    pub absent: Option<Vec<String>>,
    /// The console runs in the teacher's session (Tab goes to their own lessons).
    pub in_session: bool,
    /// Raised hands, first raised first.
    pub hands: Vec<HandRow>,
    /// Per question, the class's figures (gathered while the struggle view is open).
    pub struggle: Option<Struggle>,
}

/// How the rows are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// By name.
    #[default]
    Name,
    /// By lesson (menu order), then step, then name.
    Lesson,
    /// Longest idle first.
    Idle,
}

impl Sort {
    /// The next order (`s` cycles).
    pub fn next(self) -> Sort {
        match self {
            Sort::Name => Sort::Lesson,
            Sort::Lesson => Sort::Idle,
            Sort::Idle => Sort::Name,
        }
    }

    /// Its name in the header.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Lesson => "lesson",
            Sort::Idle => "idle",
        }
    }
}

/// What the console is asking for: nothing, a message to send, a message for a student
/// whose session it ends, or a yes to stop all trainings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Typing the message for every student.
    Message(String),
    /// Ending every session of one address or one login name: `a` or `n` chooses.
    EndAll {
        /// The selected student's address (host only).
        host: String,
        /// Their login name.
        login: String,
    },
    /// Typing the goodbye for the student whose session ends.
    End {
        /// The session.
        id: u64,
        /// Their name (for the prompt).
        name: String,
        /// What has been typed.
        text: String,
    },
    /// `y` stops every training, anything else keeps them.
    StopTrainings,
    /// `y` ends the class (`serve --console`), anything else keeps it.
    Quit,
    /// Typing the answer to a raised hand (that student only).
    Answer {
        /// The session.
        id: u64,
        /// Their name (for the prompt).
        name: String,
        /// What has been typed.
        text: String,
    },
    /// Typing a hint for every student at one lesson step.
    Hint {
        /// The lesson (menu order) and step.
        at: (usize, usize),
        /// Where that is, for the prompt.
        label: String,
        /// What has been typed.
        text: String,
    },
}

/// What the front end is to do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleEffect {
    /// Show the teacher's lesson and step on every student's screen now.
    BringHere,
    /// Show the teacher's lesson and step on this session's screen now.
    BringOne(u64),
    /// Stop this session's training (running or queued).
    StopOne(u64),
    /// Lock (`true`) or unlock following the teacher.
    Lock(bool),
    /// Show this line on every student's screen until they dismiss it (`None` clears it).
    Message(Option<String>),
    /// End this session, telling the student this.
    End {
        /// The session.
        id: u64,
        /// The goodbye line.
        message: String,
    },
    /// End these sessions (every one of an address or a login name), telling each this.
    EndAll {
        /// The sessions.
        ids: Vec<u64>,
        /// What they had in common, for the log (`address 10.0.0.7`, `name sam`).
        what: String,
        /// The goodbye line.
        message: String,
    },
    /// Cancel every training, running or waiting.
    StopTrainings,
    /// Mirror this session's screen (`None`: stop).
    Mirror(Option<u64>),
    /// Write the class report.
    Report,
    /// Go to the teacher's own lessons.
    ToLessons,
    /// Leave the console (the teacher's session ends; `serve --console` stops the server).
    Quit,
    /// Answer this session's raised hand with a line on its screen (and lower the hand).
    Answer {
        /// The session.
        id: u64,
        /// The answer.
        text: String,
    },
    /// Lower this session's hand without an answer.
    Lower(u64),
    /// Show this line on the screen of every student at this lesson and step.
    HintStep {
        /// The lesson (menu order) and step.
        at: (usize, usize),
        /// The hint.
        text: String,
    },
}

/// Which of the console's views shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// One row per student.
    #[default]
    Class,
    /// Per question, the class's results, and who is stuck (`w`).
    Struggle,
    /// The raised hands in order (`h`).
    Hands,
}

/// The console's own state: sort, selection, scroll, prompt, mirror, notice.
#[derive(Debug, Clone, Default)]
pub struct Console {
    /// How rows are sorted.
    pub sort: Sort,
    /// The selected student (by session id, so a re-sort keeps it).
    pub selected: Option<u64>,
    /// First row shown.
    pub scroll: usize,
    /// Addresses are shown with the names.
    pub show_addr: bool,
    /// What is being typed, if anything.
    pub prompt: Option<Prompt>,
    /// Whose screen the mirror shows.
    pub mirror: Option<u64>,
    /// A one-line note (report written, nobody to bring, ...).
    pub notice: Option<String>,
    /// The class as last seen (what keys act on).
    pub class: ClassView,
    /// Rows shown at once, as last drawn (for scrolling).
    pub rows_shown: usize,
    /// The view showing.
    pub view: View,
    /// The struggle view's lesson (an index into [`Struggle::lessons`]).
    pub lesson_at: usize,
    /// The struggle view's first question shown.
    pub question_scroll: usize,
}

/// The default goodbye when the teacher ends a session without typing one.
pub const DEFAULT_GOODBYE: &str = "The teacher ended your session.";

impl Console {
    /// A console sorted by name, nothing selected.
    pub fn new() -> Console {
        Console {
            rows_shown: 10,
            ..Console::default()
        }
    }

    /// Take a new snapshot of the class (keeping the selection when that student is
    /// still there; the first row otherwise).
    pub fn update(&mut self, class: ClassView) {
        self.class = class;
        let order = self.order();
        if !self
            .selected
            .is_some_and(|id| order.iter().any(|r| r.id == id))
        {
            self.selected = order.first().map(|r| r.id);
        }
        if self
            .mirror
            .is_some_and(|id| !self.class.students.iter().any(|r| r.id == id))
        {
            self.mirror = None;
            self.notice = Some("that student left".into());
        }
        self.keep_selection_shown();
    }

    /// The students in the order shown (in the hands view, those with a hand up, in the
    /// queue's order).
    pub fn order(&self) -> Vec<&StudentRow> {
        if self.view == View::Hands {
            return self.hand_order();
        }
        let mut rows: Vec<&StudentRow> = self.class.students.iter().collect();
        match self.sort {
            Sort::Name => rows.sort_by(|a, b| {
                crate::text::natural_key(&a.name)
                    .cmp(&crate::text::natural_key(&b.name))
                    .then(a.id.cmp(&b.id))
            }),
            Sort::Lesson => rows.sort_by_key(|r| {
                let (kind, index, step) = match &r.place {
                    Place::Menu => (0, 0, 0),
                    Place::Lesson { index, step, .. } => (1, *index, *step),
                    Place::Training => (2, 0, 0),
                    Place::Inspector => (3, 0, 0),
                };
                (kind, index, step, r.name.clone(), r.id)
            }),
            Sort::Idle => rows.sort_by(|a, b| b.idle.cmp(&a.idle).then(a.name.cmp(&b.name))),
        }
        rows
    }

    /// `B` (bring, `stop` false) or `X` (stop its training) on the selected student: the
    /// effect, or a notice saying why there is nothing to do.
    fn one_student(&mut self, stop: bool) -> Vec<ConsoleEffect> {
        let Some(r) = self.selected_row() else {
            return Vec::new();
        };
        let (id, name) = (r.id, crate::text::escaped(&r.name).into_owned());
        if stop {
            if r.training.is_active() {
                self.notice = Some(format!("stopping {name}'s training"));
                return vec![ConsoleEffect::StopOne(id)];
            } else {
                self.notice = Some(format!("{name} has no training running or queued"));
            }
        } else if self.class.teacher_at.is_none() {
            self.notice = Some("open a lesson first (Tab: your lessons)".into());
        } else if matches!(r.place, Place::Training | Place::Inspector) {
            self.notice = Some(format!(
                "{name} is on the {} and stays there",
                if r.place == Place::Training {
                    "training screen"
                } else {
                    "inspector"
                }
            ));
        } else {
            self.notice = Some(format!("bringing {name} to your lesson and step"));
            return vec![ConsoleEffect::BringOne(id)];
        }
        Vec::new()
    }

    /// The selected student's row.
    pub fn selected_row(&self) -> Option<&StudentRow> {
        let id = self.selected?;
        self.class.students.iter().find(|r| r.id == id)
    }

    fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.order().iter().position(|r| r.id == id)
    }

    /// Students' rows that fit: [`Console::rows_shown`] less the roster's absent line.
    pub fn list_rows(&self) -> usize {
        let absent_line = usize::from(self.class.absent.is_some());
        self.rows_shown.saturating_sub(absent_line).max(1)
    }

    fn keep_selection_shown(&mut self) {
        let n = self.class.students.len();
        let shown = self.list_rows();
        self.scroll = self.scroll.min(n.saturating_sub(shown));
        if let Some(i) = self.selected_index() {
            if i < self.scroll {
                self.scroll = i;
            } else if i >= self.scroll + shown {
                self.scroll = i + 1 - shown;
            }
        }
    }

    fn select_by(&mut self, delta: isize) {
        let order: Vec<u64> = self.order().iter().map(|r| r.id).collect();
        if order.is_empty() {
            return;
        }
        let at = self.selected_index().unwrap_or(0);
        let last = order.len() - 1;
        let to = at.saturating_add_signed(delta).min(last);
        self.selected = Some(order[to]);
        self.keep_selection_shown();
    }

    /// Whether a prompt is open (the table's `when`s read it).
    pub fn typing(&self) -> bool {
        matches!(
            self.prompt,
            Some(
                Prompt::Message(_)
                    | Prompt::End { .. }
                    | Prompt::Answer { .. }
                    | Prompt::Hint { .. }
            )
        )
    }

    /// Apply an event (keys and pastes; the rest changes nothing here). Returns the
    /// effects to run.
    pub fn handle(&mut self, event: &AppEvent) -> Vec<ConsoleEffect> {
        match event {
            AppEvent::Key(key) => self.key(*key),
            AppEvent::Paste(text) => {
                if let Some(input) = self.input_mut() {
                    push_text(input, text);
                }
                Vec::new()
            }
            AppEvent::Resize(..) | AppEvent::Tick => Vec::new(),
        }
    }

    fn input_mut(&mut self) -> Option<&mut String> {
        match &mut self.prompt {
            Some(
                Prompt::Message(text)
                | Prompt::End { text, .. }
                | Prompt::Answer { text, .. }
                | Prompt::Hint { text, .. },
            ) => Some(text),
            _ => None,
        }
    }

    /// Apply a key: the effects the front end is to run.
    pub fn key(&mut self, key: Key) -> Vec<ConsoleEffect> {
        // a notice is read by the next key
        self.notice = None;
        if let Some(Prompt::EndAll { host, login }) = &self.prompt {
            let (host, login) = (host.clone(), login.clone());
            self.prompt = None;
            return self.end_all(key, &host, &login);
        }
        if matches!(self.prompt, Some(Prompt::Quit)) {
            self.prompt = None;
            if key == Key::char('y') {
                return vec![ConsoleEffect::Quit];
            }
            self.notice = Some("the class goes on".into());
            return Vec::new();
        }
        if matches!(self.prompt, Some(Prompt::StopTrainings)) {
            self.prompt = None;
            if key == Key::char('y') {
                self.notice = Some("stopping every training".into());
                return vec![ConsoleEffect::StopTrainings];
            }
            self.notice = Some("trainings left running".into());
            return Vec::new();
        }
        let Some(action) = action_for(CONSOLE, self, key) else {
            return Vec::new();
        };
        self.apply(action, key)
    }

    /// The sessions from address `host` and those logged in as `login`.
    pub fn sessions_of(&self, host: &str, login: &str) -> (Vec<u64>, Vec<u64>) {
        let rows = &self.class.students;
        let by_host = rows
            .iter()
            .filter(|r| host_of(&r.addr) == host)
            .map(|r| r.id);
        let by_name = rows.iter().filter(|r| r.login == login).map(|r| r.id);
        (by_host.collect(), by_name.collect())
    }

    /// The answer to "end every session of this address (`a`) or this name (`n`)?".
    fn end_all(&mut self, key: Key, host: &str, login: &str) -> Vec<ConsoleEffect> {
        let (by_host, by_name) = self.sessions_of(host, login);
        let (ids, what) = if key == Key::char('a') {
            (by_host, format!("address {host}"))
        } else if key == Key::char('n') {
            (by_name, format!("name {login}"))
        } else {
            self.notice = Some("no session ended".into());
            return Vec::new();
        };
        self.notice = Some(format!(
            "ending {} session{} of {what}",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        ));
        vec![ConsoleEffect::EndAll {
            ids,
            what,
            message: DEFAULT_GOODBYE.to_string(),
        }]
    }

    fn apply(&mut self, action: ConsoleAction, key: Key) -> Vec<ConsoleEffect> {
        use ConsoleAction as A;
        let mut effects = Vec::new();
        match action {
            A::Up | A::Down if self.view == View::Struggle => self.switch(action),
            A::Up => self.select_by(-1),
            A::Down => self.select_by(1),
            A::PageUp => self.select_by(-(self.list_rows() as isize)),
            A::PageDown => self.select_by(self.list_rows() as isize),
            A::Sort => {
                self.sort = self.sort.next();
                self.keep_selection_shown();
            }
            A::Addresses => self.show_addr = !self.show_addr,
            A::BringHere => {
                if self.class.teacher_at.is_some() {
                    self.notice = Some("bringing everyone to your lesson and step".into());
                    effects.push(ConsoleEffect::BringHere);
                } else {
                    self.notice = Some(if self.class.in_session {
                        "open a lesson first (Tab: your lessons)".into()
                    } else {
                        "the teacher has no lesson open".into()
                    });
                }
            }
            A::BringOne | A::StopOne => effects.extend(self.one_student(action == A::StopOne)),
            A::Lock => {
                let lock = !self.class.locked;
                self.class.locked = lock;
                self.notice = Some(if lock {
                    "following locked: every student follows you".into()
                } else {
                    "following unlocked: students may leave with f".into()
                });
                effects.push(ConsoleEffect::Lock(lock));
            }
            A::Message => self.prompt = Some(Prompt::Message(String::new())),
            A::ClearMessage => {
                self.class.message = None;
                self.notice = Some("message taken down".into());
                effects.push(ConsoleEffect::Message(None));
            }
            A::End => {
                if let Some(r) = self.selected_row() {
                    self.prompt = Some(Prompt::End {
                        id: r.id,
                        name: r.name.clone(),
                        text: String::new(),
                    });
                }
            }
            A::EndAll => {
                if let Some(r) = self.selected_row() {
                    self.prompt = Some(Prompt::EndAll {
                        host: host_of(&r.addr).to_string(),
                        login: r.login.clone(),
                    });
                }
            }
            A::StopTrainings => self.prompt = Some(Prompt::StopTrainings),
            A::Look => {
                if let Some(id) = self.selected {
                    self.mirror = Some(id);
                    effects.push(ConsoleEffect::Mirror(Some(id)));
                }
            }
            A::CloseLook => {
                self.mirror = None;
                effects.push(ConsoleEffect::Mirror(None));
            }
            A::Report => effects.push(ConsoleEffect::Report),
            A::Struggle | A::Hands | A::Back | A::PrevLesson | A::NextLesson => {
                self.switch(action);
            }
            A::Answer | A::Lower | A::HintStep => effects.extend(self.on_hand(action)),
            A::ToLessons => effects.push(ConsoleEffect::ToLessons),
            // on the server's own terminal q ends the class for everyone: it asks first
            // (Ctrl-C does not)
            A::Quit if !self.class.in_session && !key.is_ctrl_c() => {
                self.prompt = Some(Prompt::Quit);
            }
            A::Quit => effects.push(ConsoleEffect::Quit),
            A::Type => {
                if let (Some(input), KeyCode::Char(c)) = (self.input_mut(), key.code) {
                    push_text(input, &c.to_string());
                }
            }
            A::Erase => {
                if let Some(input) = self.input_mut() {
                    input.pop();
                }
            }
            A::Cancel => {
                self.prompt = None;
                self.notice = Some("cancelled".into());
            }
            A::Send => effects.extend(self.send()),
        }
        effects
    }

    /// Enter on a prompt being typed: what it sends.
    fn send(&mut self) -> Vec<ConsoleEffect> {
        match self.prompt.take() {
            Some(Prompt::Message(text)) => {
                let text = text.trim().to_string();
                if text.is_empty() {
                    self.notice = Some("no message sent (it was empty)".into());
                } else {
                    self.class.message = Some(text.clone());
                    self.notice = Some("message sent to every student".into());
                    return vec![ConsoleEffect::Message(Some(text))];
                }
            }
            Some(Prompt::End { id, name, text }) => {
                let text = text.trim();
                let message = if text.is_empty() {
                    DEFAULT_GOODBYE.to_string()
                } else {
                    text.to_string()
                };
                self.notice = Some(format!("ended {name}'s session"));
                return vec![ConsoleEffect::End { id, message }];
            }
            Some(p @ (Prompt::Answer { .. } | Prompt::Hint { .. })) => return self.send_hand(p),
            other => self.prompt = other,
        }
        Vec::new()
    }
}

/// Add typed or pasted text to a prompt: printable characters only, up to
/// [`MAX_MESSAGE`] in all.
fn push_text(input: &mut String, text: &str) {
    let room = MAX_MESSAGE.saturating_sub(input.chars().count());
    input.extend(text.chars().filter(|c| !c.is_control()).take(room));
}

/// The host part of an address as `serve` writes it (`10.0.0.7:50122` -> `10.0.0.7`,
/// `[::1]:50122` -> `::1`); anything else as it is.
pub fn host_of(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            host.trim_start_matches('[').trim_end_matches(']')
        }
        _ => addr,
    }
}

/// Format a duration as the console shows it: `12s`, `4m`, `1h05`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else {
        format!("{}h{:02}", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests;
