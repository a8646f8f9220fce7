//! "Your turn" (issue 14) in an open lesson: the questions of its current frames, the
//! answer keys, and the tally (kept by the course).

use crate::lesson::quiz::{Question, Verdict};

use super::super::event::{Key, KeyCode};
use super::super::progress::QuizTally;
use super::super::screen::Context;
use super::{LessonAction, LessonState};

/// Wrong tries after which the answer is shown, with its working.
pub const MAX_TRIES: u8 = 3;

/// "Your turn" in an open lesson: its questions (from its kind, for its current frames)
/// and the learner's answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuizState {
    /// The lesson's questions, recomputed with its frames; the app asks those `in_app`.
    pub questions: Vec<Question>,
    /// Per question: how it ended, once it has (an open question has none).
    pub outcomes: Vec<Option<Outcome>>,
    /// What has been typed for the open question.
    pub input: String,
    /// Wrong tries at the open question.
    pub tries: u8,
    /// Hints given for the open question.
    pub hints: usize,
    /// What the last check said.
    pub feedback: Option<Feedback>,
}

impl QuizState {
    /// These questions, none answered.
    pub fn new(questions: Vec<Question>) -> Self {
        QuizState {
            outcomes: vec![None; questions.len()],
            questions,
            ..QuizState::default()
        }
    }
}

/// How a question ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered right (at the first try, or later).
    Right {
        /// At the first try.
        first_try: bool,
    },
    /// Three wrong tries: the answer was shown.
    Shown,
    /// Skipped (Esc).
    Skipped,
}

/// What the last check of an answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// Right (drawn as good news) or not.
    pub right: bool,
    /// The lines to show ("Right: 155"; "Not quite: try again"; the worked answer).
    pub lines: Vec<String>,
}

impl Feedback {
    fn wrong(lines: Vec<String>) -> Self {
        Feedback {
            right: false,
            lines,
        }
    }
}

impl LessonState {
    pub(super) fn quiz_update(&mut self, action: LessonAction, key: Key, cx: &mut Context) {
        if action == LessonAction::YourTurn {
            let on = !cx.course.your_turn();
            cx.course.set_your_turn(on);
            self.facts.your_turn = on;
            cx.notice = Some(if on {
                "your turn is on".into()
            } else {
                "your turn is off: every result is shown".into()
            });
            self.quiz.input.clear();
            self.quiz.feedback = None;
            if self.open_question(on).is_some() {
                self.playing = false;
            }
            return;
        }
        let Some(qi) = self.open_question(cx.course.your_turn()) else {
            return;
        };
        let Some(question) = self.quiz.questions.get(qi).cloned() else {
            return;
        };
        let quiz = &mut self.quiz;
        match action {
            LessonAction::AnswerType => {
                if let KeyCode::Char(c) = key.code {
                    if quiz.input.chars().count() < 12 {
                        quiz.input.push(c);
                    }
                }
            }
            LessonAction::AnswerDelete => {
                quiz.input.pop();
            }
            LessonAction::AnswerHint => {
                if quiz.hints < question.hints.len() {
                    quiz.hints += 1;
                } else {
                    cx.notice = Some("no more hints: Esc skips, or try".into());
                }
            }
            LessonAction::AnswerSkip => {
                quiz.outcomes[qi] = Some(Outcome::Skipped);
                quiz.input.clear();
                quiz.feedback = Some(Feedback::wrong(vec![
                    format!("Skipped: {}", question.answer.shown()),
                    question.working.clone(),
                ]));
            }
            LessonAction::AnswerCheck => self.check(qi, &question, cx),
            _ => {}
        }
    }

    /// Enter: check the answer typed for question `qi`.
    fn check(&mut self, qi: usize, question: &Question, cx: &mut Context) {
        // which of its step's questions this is (1-based), for the class's figures
        let n = 1 + self.quiz.questions[..qi]
            .iter()
            .filter(|q| q.step == question.step)
            .count();
        let at = (question.step, n);
        let quiz = &mut self.quiz;
        let typed = std::mem::take(&mut quiz.input);
        match question.answer.check(&typed) {
            Verdict::Invalid(why) => quiz.feedback = Some(Feedback::wrong(vec![why])),
            Verdict::TooCoarse(places) => {
                quiz.input = typed;
                quiz.feedback = Some(Feedback::wrong(vec![format!(
                    "Close: give it to at least {places} decimal{}",
                    if places == 1 { "" } else { "s" }
                )]));
            }
            Verdict::Right => {
                let first_try = quiz.tries == 0;
                quiz.outcomes[qi] = Some(Outcome::Right { first_try });
                quiz.feedback = Some(Feedback {
                    right: true,
                    lines: vec![format!("Right: {}", question.answer.shown())],
                });
                let tally = QuizTally {
                    asked: u32::from(first_try),
                    right: 1,
                    first_try: u32::from(first_try),
                };
                cx.course.count(self.lesson, tally, true);
                cx.course.attempt(self.lesson, at, None);
            }
            Verdict::Wrong => {
                let first = quiz.tries == 0;
                quiz.tries += 1;
                if quiz.tries >= MAX_TRIES {
                    quiz.outcomes[qi] = Some(Outcome::Shown);
                    quiz.feedback = Some(Feedback::wrong(vec![
                        format!(
                            "Not quite ({} tries). The answer: {}",
                            quiz.tries,
                            question.answer.shown()
                        ),
                        question.working.clone(),
                    ]));
                } else {
                    let left = MAX_TRIES - quiz.tries;
                    let hint = if quiz.hints < question.hints.len() {
                        ", h for a hint"
                    } else {
                        ""
                    };
                    quiz.feedback = Some(Feedback::wrong(vec![format!(
                        "Not quite: try again ({left} tr{} left{hint})",
                        if left == 1 { "y" } else { "ies" }
                    )]));
                }
                let tally = QuizTally {
                    asked: u32::from(first),
                    ..QuizTally::default()
                };
                cx.course.count(self.lesson, tally, false);
                cx.course.attempt(self.lesson, at, Some(&typed));
            }
        }
    }
}
