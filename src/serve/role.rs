//! A session's place in the class: its [`Role`], its view of the class ([`Class`]: the
//! shared state and its own entry), the tally the console reads, and the console's
//! commands to it (show a step, stop training, end).

use std::sync::Arc;

use super::class::{Command, Member};
use super::follow::Follow;
use super::Shared;
use crate::text::escaped;
use crate::tui::console::QuizTally;
use crate::tui::App;

/// A session's part in a class led by a teacher (`serve --teacher NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// No teacher configured.
    Alone,
    /// The teacher: publishes their lesson and step.
    Teacher,
    /// A student: `f` on the menu follows the teacher, `f` again stops.
    Student,
}

/// A session's view of the class: the shared state, its role in it, and its own entry
/// in the class (what the console reads and the commands it sends).
pub(super) struct Class {
    pub(super) shared: Arc<Shared>,
    pub(super) role: Role,
    pub(super) member: Arc<Member>,
}

/// The student's "your turn" tally for the console and the report: this session's answers
/// over every lesson (`None` until the student has answered one).
pub(super) fn quiz_tally(app: &App) -> Option<QuizTally> {
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

/// What the console's commands did to a session.
pub(super) enum Commanded {
    /// Nothing more (true: the app changed).
    Go(bool),
    /// End the session, with this line and this reason for the log.
    End(String, &'static str),
}

impl Class {
    /// Where the teacher is (lesson, step), if they have a lesson open.
    pub(super) fn teacher_at(&self) -> Option<(usize, usize)> {
        *self
            .shared
            .teacher_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The teacher's session says where it is.
    pub(super) fn publish(&self, at: Option<(usize, usize)>) {
        *self
            .shared
            .teacher_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// A student while the teacher locks following.
    pub(super) fn locked_student(&self) -> bool {
        self.role == Role::Student && self.shared.class.locked()
    }

    /// Take the console's commands for this session: show a step, stop training, end.
    pub(super) fn take_commands(&self, app: &mut App, follow: &mut Follow) -> Commanded {
        let mut changed = false;
        for cmd in self.member.take_commands() {
            match cmd {
                Command::Show(lesson, step) => {
                    if self.role != Role::Teacher {
                        app.show_position(lesson, step);
                        app.set_notice("the teacher brought the class here");
                        follow.shown_by_teacher((lesson, step));
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
                    return Commanded::End(escaped(&line).into_owned(), "ended by the teacher");
                }
                Command::Replaced(from) => {
                    let line = format!(
                        "You logged in again (from {}): this session ends here.",
                        escaped(&from)
                    );
                    return Commanded::End(line, "replaced by a new login of the same name");
                }
            }
        }
        Commanded::Go(changed)
    }
}
