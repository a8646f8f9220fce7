//! The learner's course, shared by the menu and the lesson screen: the lessons (with the
//! learner's edits), their opening text, where each was left in this run, the saved
//! progress, and "your turn" (on or off, this run's answers).

use std::collections::BTreeMap;

use crate::lesson::Lesson;

use super::attempts::{Attempts, QuestionKey};
use super::progress::{Progress, QuizTally};

/// What a learner did in a run, kept to hand back (a classroom student who reconnects):
/// progress, where each lesson was left, "your turn" on or off and its answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CourseState {
    progress: Progress,
    resume: Vec<usize>,
    your_turn: bool,
    quiz_session: BTreeMap<String, QuizTally>,
    quiz_wrong_in_a_row: u32,
}

impl CourseState {
    /// The "your turn" answers it holds, per lesson id.
    pub fn quiz_tally(&self) -> &BTreeMap<String, QuizTally> {
        &self.quiz_session
    }
}

/// The lessons and what the learner did with them.
#[derive(Debug)]
pub struct Course {
    lessons: Vec<Lesson>,
    /// Each lesson's opening text (its first step), shown in the menu.
    intros: Vec<Vec<String>>,
    /// Per lesson, the step to reopen it at (where the learner left it in this run).
    resume: Vec<usize>,
    progress: Progress,
    progress_changed: bool,
    /// "Your turn" is on (`y`): stepping forward asks before it reveals.
    your_turn: bool,
    /// "Your turn" answers of this run, per lesson id.
    quiz_session: BTreeMap<String, QuizTally>,
    /// Wrong answers since the last right one (the teacher's console marks a run of them).
    quiz_wrong_in_a_row: u32,
    /// Each question's tries in this run (bounded: see [`super::attempts`]).
    attempts: BTreeMap<QuestionKey, Attempts>,
}

impl Course {
    /// These lessons, with this progress.
    pub fn new(lessons: Vec<Lesson>, progress: Progress) -> Self {
        let intros = lessons
            .iter()
            .map(|l| {
                l.frames()
                    .ok()
                    .and_then(|f| f.into_iter().next())
                    .map(|f| f.text)
                    .unwrap_or_default()
            })
            .collect();
        Course {
            resume: vec![0; lessons.len()],
            lessons,
            intros,
            progress,
            progress_changed: false,
            your_turn: false,
            quiz_session: BTreeMap::new(),
            quiz_wrong_in_a_row: 0,
            attempts: BTreeMap::new(),
        }
    }

    /// What the learner did in this run (see [`CourseState`]).
    pub fn state(&self) -> CourseState {
        CourseState {
            progress: self.progress.clone(),
            resume: self.resume.clone(),
            your_turn: self.your_turn,
            quiz_session: self.quiz_session.clone(),
            quiz_wrong_in_a_row: self.quiz_wrong_in_a_row,
        }
    }

    /// Carry on from `state` (taken in a run of the same lessons; a lesson index it does
    /// not have is left at its start).
    pub fn restore(&mut self, state: CourseState) {
        for (slot, step) in self.resume.iter_mut().zip(state.resume) {
            *slot = step;
        }
        self.progress = state.progress;
        self.your_turn = state.your_turn;
        self.quiz_session = state.quiz_session;
        self.quiz_wrong_in_a_row = state.quiz_wrong_in_a_row;
    }

    /// The lessons, in menu order.
    pub fn lessons(&self) -> &[Lesson] {
        &self.lessons
    }

    /// Lesson `index`, to change (the learner's edits).
    pub fn lesson_mut(&mut self, index: usize) -> Option<&mut Lesson> {
        self.lessons.get_mut(index)
    }

    /// The opening paragraphs of lesson `index` (empty if it has none).
    pub fn intro(&self, index: usize) -> &[String] {
        self.intros.get(index).map_or(&[], Vec::as_slice)
    }

    /// The step lesson `index` reopens at.
    pub fn resume_at(&self, index: usize) -> usize {
        self.resume.get(index).copied().unwrap_or(0)
    }

    /// Remember where the learner left lesson `index` (0: from the start).
    pub fn set_resume(&mut self, index: usize, step: usize) {
        if let Some(slot) = self.resume.get_mut(index) {
            *slot = step;
        }
    }

    /// The learner's progress.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Mark lesson `id` visited.
    pub fn visit(&mut self, id: &str) {
        if self.progress.visit(id) {
            self.progress_changed = true;
        }
    }

    /// Mark lesson `id` finished.
    pub fn finish(&mut self, id: &str) {
        if self.progress.finish(id) {
            self.progress_changed = true;
        }
    }

    /// True once after progress changed (the front end saves it then).
    pub fn take_progress_changed(&mut self) -> bool {
        std::mem::take(&mut self.progress_changed)
    }

    /// "Your turn" is on.
    pub fn your_turn(&self) -> bool {
        self.your_turn
    }

    /// Turn "your turn" on or off.
    pub fn set_your_turn(&mut self, on: bool) {
        self.your_turn = on;
    }

    /// This run's "your turn" answers, per lesson id.
    pub fn quiz_tally(&self) -> &BTreeMap<String, QuizTally> {
        &self.quiz_session
    }

    /// Wrong answers since the last right one, over every lesson of this run.
    pub fn quiz_wrong_in_a_row(&self) -> u32 {
        self.quiz_wrong_in_a_row
    }

    /// This run's answers in lesson `id` (all 0 when none).
    pub fn quiz_tally_of(&self, id: &str) -> QuizTally {
        self.quiz_session.get(id).copied().unwrap_or_default()
    }

    /// Each question's tries in this run.
    pub fn attempts(&self) -> &BTreeMap<QuestionKey, Attempts> {
        &self.attempts
    }

    /// Count a checked answer to question `n` (1-based) of step `step` of lesson `index`
    /// (`wrong`: what was typed, when it was wrong).
    pub fn attempt(&mut self, index: usize, (step, n): (usize, usize), wrong: Option<&str>) {
        let Some(lesson) = self.lessons.get(index).map(|l| l.id().to_string()) else {
            return;
        };
        let key = QuestionKey { lesson, step, n };
        super::attempts::record(&mut self.attempts, key, wrong);
    }

    /// Count an answer in lesson `index`: right ones end a run of wrong ones.
    pub fn count(&mut self, index: usize, tally: QuizTally, right: bool) {
        if right {
            self.quiz_wrong_in_a_row = 0;
        } else {
            self.quiz_wrong_in_a_row += 1;
        }
        let Some(id) = self.lessons.get(index).map(|l| l.id().to_string()) else {
            return;
        };
        if tally == QuizTally::default() {
            return;
        }
        self.quiz_session.entry(id.clone()).or_default().add(tally);
        if self.progress.record_quiz(&id, tally) {
            self.progress_changed = true;
        }
    }
}
