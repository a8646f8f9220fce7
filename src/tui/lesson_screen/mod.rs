//! The lesson screen: one lesson, stepping through its frames, with the number editor
//! (`edit.rs`) and "your turn" (`quiz.rs`); its key tables are in `bindings.rs`, its
//! drawing in `view.rs` and `layout.rs`.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::lesson::quiz::Question;
use crate::lesson::{Capabilities, Step};

use super::event::{Key, TICK_MS};
use super::keys::action_for;
use super::screen::{Ask, Component, Context, Facts, Open};

mod bindings;
mod edit;
mod layout;
mod quiz;
mod view;

pub use bindings::{EditAction, LessonAction, EDIT, LESSON};
pub use edit::EditState;
pub use quiz::{Feedback, Outcome, QuizState, MAX_TRIES};

/// Automatic stepping intervals, slowest first (milliseconds per step).
pub const SPEEDS_MS: [u64; 6] = [3000, 2000, 1000, 600, 300, 150];
/// The interval chosen at start (index into [`SPEEDS_MS`]).
pub const DEFAULT_SPEED: usize = 2;

/// Which part of the lesson screen the scroll keys move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The explanation text.
    Text,
    /// The panels (matrices, images, bars).
    Panels,
}

/// How far the two parts of the lesson screen could scroll when it was last drawn (the
/// scroll keys' limits, kept by the view as ratatui's `ListState` keeps its offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Drawn {
    text_max: u16,
    panel_max: u16,
}

/// State of an open lesson.
#[derive(Debug)]
pub struct LessonState {
    /// Index into the course's lessons.
    pub lesson: usize,
    /// The lesson's frames, recomputed after every edit.
    pub frames: Vec<Step>,
    /// The current frame (0-based).
    pub step: usize,
    /// Automatic stepping is on.
    pub playing: bool,
    /// Index into [`SPEEDS_MS`].
    pub speed: usize,
    /// Milliseconds since the last automatic step.
    pub elapsed_ms: u64,
    /// What the scroll keys move.
    pub focus: Focus,
    /// First text line shown.
    pub text_scroll: u16,
    /// First panel row shown.
    pub panel_scroll: u16,
    /// Editing a matrix, when on.
    pub edit: Option<EditState>,
    /// The last preset applied (for `f` to cycle).
    pub preset: Option<usize>,
    /// "Your turn": the lesson's questions and how the open one is going.
    pub quiz: Box<QuizState>,
    /// Presenter mode: the step's value has been revealed (`v`); hidden again on every
    /// step.
    pub revealed: bool,
    /// What the lesson offers (its keys ask these).
    caps: Capabilities,
    /// The app facts its keys read.
    facts: Facts,
    /// The scroll limits of the last drawing of this step (`None`: not drawn since the
    /// step or its numbers changed).
    drawn: Cell<Option<Drawn>>,
}

impl LessonState {
    /// Lesson `index` of `cx`'s course on step 0 (nothing else happens: see
    /// [`LessonState::open`]).
    pub(crate) fn with_frames(index: usize, frames: Vec<Step>, quiz: QuizState) -> Self {
        LessonState {
            lesson: index,
            frames,
            step: 0,
            playing: false,
            speed: DEFAULT_SPEED,
            elapsed_ms: 0,
            focus: Focus::Text,
            text_scroll: 0,
            panel_scroll: 0,
            edit: None,
            preset: None,
            quiz: Box::new(quiz),
            revealed: false,
            caps: Capabilities::default(),
            facts: Facts::default(),
            drawn: Cell::new(None),
        }
    }

    /// Open lesson `index` at the step the learner left it at in this run (marking it
    /// visited). `Err`: the line for the status line.
    pub fn open(index: usize, cx: &mut Context) -> Result<Self, String> {
        let Some(lesson) = cx.course.lessons().get(index) else {
            return Err(format!("no lesson {}", index + 1));
        };
        let frames = match lesson.frames() {
            Ok(frames) if !frames.is_empty() => frames,
            Ok(_) => return Err(format!("lesson `{}` has no steps", lesson.id())),
            Err(e) => return Err(format!("cannot open `{}`: {e}", lesson.id())),
        };
        let quiz = QuizState::new(lesson.questions(&frames));
        let id = lesson.id().to_string();
        let mut state = LessonState::with_frames(index, frames, quiz);
        state.caps = lesson.capabilities();
        state.facts = cx.facts();
        cx.notice = None;
        cx.course.visit(&id);
        state.go_to(cx.course.resume_at(index), cx);
        Ok(state)
    }

    /// The question this lesson asks now, when "your turn" is `on`: the first one of its
    /// step the app asks that has not ended (index into its questions).
    pub fn open_question(&self, on: bool) -> Option<usize> {
        if !on {
            return None;
        }
        let q = &self.quiz;
        q.questions.iter().enumerate().position(|(i, x)| {
            x.in_app && x.step == self.step && q.outcomes.get(i).is_some_and(Option::is_none)
        })
    }

    /// The questions of the step showing (presenter mode hides their answers until `v`).
    pub fn step_questions(&self) -> Vec<&Question> {
        let q = &self.quiz.questions;
        q.iter().filter(|x| x.step == self.step).collect()
    }

    /// The question asked now, if any.
    pub fn question(&self, on: bool) -> Option<&Question> {
        self.quiz.questions.get(self.open_question(on)?)
    }

    /// "Your turn": a question is open (its keys take digits, `-`, `.`, Enter, `h`, Esc).
    pub(crate) fn answering(&self) -> bool {
        self.open_question(self.facts.your_turn).is_some()
    }

    /// Move to `step` (clamped); reaching the last step finishes the lesson.
    pub(crate) fn go_to(&mut self, step: usize, cx: &mut Context) {
        let last = self.frames.len().saturating_sub(1);
        let step = step.min(last);
        if step != self.step {
            self.revealed = false;
            self.text_scroll = 0;
            self.drawn.set(None);
            let q = &mut self.quiz;
            q.input.clear();
            q.tries = 0;
            q.hints = 0;
            q.feedback = None;
        }
        self.step = step;
        self.elapsed_ms = 0;
        if self.open_question(cx.course.your_turn()).is_some() {
            // automatic stepping waits for the learner's answer
            self.playing = false;
        }
        if step == last {
            self.playing = false;
            if let Some(id) = cx
                .course
                .lessons()
                .get(self.lesson)
                .map(|l| l.id().to_string())
            {
                cx.course.finish(&id);
            }
        }
    }

    /// Show `step` without playing (a classroom student following the teacher).
    pub(crate) fn show(&mut self, step: usize, cx: &mut Context) {
        self.playing = false;
        self.go_to(step, cx);
    }

    /// Scroll the focused part, within what the last drawing showed (and clamp the other).
    fn scroll(&mut self, by: i32) {
        let (text_max, panel_max) = self
            .drawn
            .get()
            .map_or((u16::MAX, u16::MAX), |d| (d.text_max, d.panel_max));
        self.text_scroll = self.text_scroll.min(text_max);
        self.panel_scroll = self.panel_scroll.min(panel_max);
        let (target, max) = match self.focus {
            Focus::Text => (&mut self.text_scroll, text_max),
            Focus::Panels => (&mut self.panel_scroll, panel_max),
        };
        let next = (i32::from(*target) + by).clamp(0, i32::from(max));
        *target = u16::try_from(next).unwrap_or(0);
    }

    fn lesson_update(&mut self, action: LessonAction, key: Key, cx: &mut Context) -> Vec<Ask> {
        let step = self.step;
        let last = self.frames.len().saturating_sub(1);
        match action {
            LessonAction::YourTurn
            | LessonAction::AnswerType
            | LessonAction::AnswerDelete
            | LessonAction::AnswerCheck
            | LessonAction::AnswerHint
            | LessonAction::AnswerSkip => self.quiz_update(action, key, cx),
            LessonAction::Help => return vec![Ask::Help(None)],
            LessonAction::Present => {
                cx.present = !cx.present;
                self.facts.present = cx.present;
                self.revealed = false;
                self.drawn.set(None);
            }
            LessonAction::Reveal => self.revealed = true,
            LessonAction::Quit => return vec![Ask::Quit],
            LessonAction::Follow => return vec![Ask::Follow],
            LessonAction::TrainNow | LessonAction::TrainSettings => {
                let lab = cx
                    .course
                    .lessons()
                    .get(self.lesson)
                    .and_then(|l| l.lab_setup(step))
                    .map(Box::new);
                let start = action == LessonAction::TrainNow;
                return vec![Ask::Open(Open::Training { start, lab })];
            }
            LessonAction::Inspect => return vec![Ask::Open(Open::LastModel)],
            LessonAction::InspectHowTo => {
                cx.notice = Some(
                    "no model to look inside yet: train one in lesson 9 (s) or load one there (L)"
                        .into(),
                );
            }
            LessonAction::Next => self.show(step + 1, cx),
            LessonAction::Previous => self.show(step.saturating_sub(1), cx),
            LessonAction::First => self.show(0, cx),
            LessonAction::Last => self.show(last, cx),
            LessonAction::PlayPause => self.play_pause(cx),
            LessonAction::Faster => self.speed = (self.speed + 1).min(SPEEDS_MS.len() - 1),
            LessonAction::Slower => self.speed = self.speed.saturating_sub(1),
            LessonAction::Focus => {
                self.focus = match self.focus {
                    Focus::Text => Focus::Panels,
                    Focus::Panels => Focus::Text,
                };
            }
            LessonAction::ScrollUp => self.scroll(-1),
            LessonAction::ScrollDown => self.scroll(1),
            LessonAction::PageUp => self.scroll(-10),
            LessonAction::PageDown => self.scroll(10),
            LessonAction::Back => {
                // remember where the learner was, for coming back during this run
                cx.course
                    .set_resume(self.lesson, if step == last { 0 } else { step });
                return vec![Ask::Back];
            }
            LessonAction::Edit => self.start_edit(cx),
            LessonAction::NextPreset => self.next_preset(cx),
            LessonAction::Reroll => self.reset_or_reroll(false, cx),
            LessonAction::LowerP => self.adjust_probability(-0.1, cx),
            LessonAction::RaiseP => self.adjust_probability(0.1, cx),
            LessonAction::NextTarget => self.next_target(cx),
            LessonAction::MoreUpdates => self.adjust_updates(1, cx),
            LessonAction::FewerUpdates => self.adjust_updates(-1, cx),
        }
        Vec::new()
    }

    fn play_pause(&mut self, cx: &mut Context) {
        let last = self.frames.len().saturating_sub(1);
        if self.playing {
            self.playing = false;
        } else if self.step < last {
            self.playing = true;
            self.elapsed_ms = 0;
        } else {
            // at the end: play from the start
            self.go_to(0, cx);
            self.playing = true;
        }
    }
}

impl Component for LessonState {
    fn on_key(&mut self, key: Key, cx: &mut Context) -> Vec<Ask> {
        if self.edit.is_some() {
            if let Some(action) = action_for(EDIT, self, key) {
                return self.edit_update(action, key, cx);
            }
            return Vec::new();
        }
        match action_for(LESSON, self, key) {
            Some(action) => self.lesson_update(action, key, cx),
            None => Vec::new(),
        }
    }

    fn on_paste(&mut self, line: &str) {
        if let Some(edit) = &mut self.edit {
            for c in line.chars() {
                if !matches!(c, '0'..='9' | '-' | '.') || edit.input.len() >= 10 {
                    break;
                }
                edit.input.push(c);
            }
        }
    }

    fn on_tick(&mut self, covered: bool, cx: &mut Context) -> bool {
        if !self.playing || covered {
            return false;
        }
        self.elapsed_ms += TICK_MS;
        if self.elapsed_ms < SPEEDS_MS[self.speed] {
            return false;
        }
        self.elapsed_ms = 0;
        if self.step + 1 >= self.frames.len() {
            self.playing = false;
        } else {
            self.go_to(self.step + 1, cx);
        }
        true
    }

    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer) {
        if let Some(lay) = view::render(cx, self, area, buf) {
            self.drawn.set(Some(Drawn {
                text_max: lay.max_text_scroll(),
                panel_max: lay.max_panel_scroll(),
            }));
        }
    }

    fn set_facts(&mut self, facts: Facts) {
        self.facts = facts;
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
