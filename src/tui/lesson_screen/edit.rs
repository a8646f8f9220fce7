//! The learner's own numbers: the number editor (`e`), the preset filters (`f`), re-rolled
//! drops and dropout's p, a training step's target and updates; every change recomputes
//! the lesson's frames and questions.

use super::super::event::{Key, KeyCode};
use super::super::screen::{Ask, Context};
use super::{EditAction, LessonState, QuizState};

/// The number being edited in a lesson's matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditState {
    /// Index into the lesson's edit targets.
    pub target: usize,
    /// Cursor row.
    pub row: usize,
    /// Cursor column.
    pub col: usize,
    /// What has been typed so far.
    pub input: String,
}

impl LessonState {
    /// Recompute the frames after a change, keeping the step.
    fn recompute(&mut self, cx: &mut Context) {
        let Some(lesson) = cx.course.lessons().get(self.lesson) else {
            return;
        };
        match lesson.frames() {
            Ok(frames) if !frames.is_empty() => {
                self.step = self.step.min(frames.len() - 1);
                // new numbers, new answers: every question is asked afresh
                *self.quiz = QuizState::new(lesson.questions(&frames));
                self.frames = frames;
                self.drawn.set(None);
            }
            Ok(_) => cx.notice = Some("these numbers give no steps".into()),
            Err(e) => cx.notice = Some(format!("cannot compute: {e}")),
        }
    }

    pub(super) fn start_edit(&mut self, cx: &mut Context) {
        let Some(lesson) = cx.course.lessons().get(self.lesson) else {
            return;
        };
        let targets = lesson.edit_targets();
        if targets.is_empty() {
            cx.notice = Some("nothing to edit in this lesson".into());
            return;
        }
        // start on the filter when there is one: its weights are what learners try first
        let target = targets
            .iter()
            .position(|t| t.name.to_lowercase().starts_with("filter"))
            .unwrap_or(0);
        self.playing = false;
        self.edit = Some(EditState {
            target,
            row: 0,
            col: 0,
            input: String::new(),
        });
        self.drawn.set(None);
        cx.notice = None;
    }

    pub(super) fn next_preset(&mut self, cx: &mut Context) {
        let Some(lesson) = cx.course.lesson_mut(self.lesson) else {
            return;
        };
        let presets = lesson.presets();
        if presets.is_empty() {
            cx.notice = Some("this lesson has no preset filters".into());
            return;
        }
        let next = self.preset.map_or(0, |p| (p + 1) % presets.len());
        self.preset = Some(next);
        lesson.apply_preset(next);
        let name = presets.get(next).cloned().unwrap_or_default();
        cx.notice = Some(format!("filter: {name}"));
        self.recompute(cx);
    }

    /// `r`: outside editing, a lesson with random drops re-rolls them; otherwise (and while
    /// editing) the lesson's own numbers come back.
    pub(super) fn reset_or_reroll(&mut self, editing: bool, cx: &mut Context) {
        let Some(lesson) = cx.course.lesson_mut(self.lesson) else {
            return;
        };
        if !editing && lesson.reroll() {
            cx.notice = Some("new random drops".into());
            self.recompute(cx);
            return;
        }
        if lesson.edit_targets().is_empty() {
            return;
        }
        lesson.reset();
        self.preset = None;
        cx.notice = Some("numbers reset to the lesson's own".into());
        self.recompute(cx);
    }

    pub(super) fn adjust_probability(&mut self, delta: f32, cx: &mut Context) {
        let Some(lesson) = cx.course.lesson_mut(self.lesson) else {
            return;
        };
        if lesson.adjust_probability(delta) {
            cx.notice = Some(format!(
                "dropout p = {}",
                crate::lesson::fmt_num(lesson.dropout_p())
            ));
            self.recompute(cx);
        }
    }

    /// A training-step lesson: the next class becomes the target; every gradient recomputes.
    pub(super) fn next_target(&mut self, cx: &mut Context) {
        let Some(lesson) = cx.course.lesson_mut(self.lesson) else {
            return;
        };
        if lesson.next_target() {
            let name = lesson.target_class().unwrap_or("?").to_string();
            cx.notice = Some(format!("target class: {name}"));
            self.recompute(cx);
        }
    }

    /// A training-step lesson: take `delta` more (or fewer) update steps.
    pub(super) fn adjust_updates(&mut self, delta: i32, cx: &mut Context) {
        let Some(lesson) = cx.course.lesson_mut(self.lesson) else {
            return;
        };
        let changed = lesson.adjust_updates(delta);
        let n = lesson.updates();
        if lesson.capabilities().training_step {
            cx.notice = Some(format!(
                "{n} update step{}{}",
                if n == 1 { "" } else { "s" },
                if changed { "" } else { " (the limit)" }
            ));
        }
        if changed {
            self.recompute(cx);
        }
    }

    pub(super) fn edit_update(
        &mut self,
        action: EditAction,
        key: Key,
        cx: &mut Context,
    ) -> Vec<Ask> {
        match action {
            EditAction::Help => return vec![Ask::Help(None)],
            EditAction::Quit => return vec![Ask::Quit],
            EditAction::Follow => return vec![Ask::Follow],
            EditAction::NextPreset => self.next_preset(cx),
            EditAction::Reset => self.reset_or_reroll(true, cx),
            EditAction::Set => self.set_value(cx),
            _ => self.move_or_type(action, key, cx),
        }
        Vec::new()
    }

    /// The editor's cursor and typing keys.
    fn move_or_type(&mut self, action: EditAction, key: Key, cx: &Context) {
        let Some(lesson) = cx.course.lessons().get(self.lesson) else {
            return;
        };
        let targets = lesson.edit_targets();
        let Some(edit) = self.edit.as_mut() else {
            return;
        };
        let Some(target) = targets.get(edit.target) else {
            self.edit = None;
            return;
        };
        let (rows, cols) = (target.rows.max(1), target.cols.max(1));
        match action {
            EditAction::ClearOrStop => {
                if edit.input.is_empty() {
                    self.edit = None;
                    self.drawn.set(None);
                } else {
                    edit.input.clear();
                }
            }
            EditAction::Up => {
                edit.row = edit.row.saturating_sub(1);
                edit.input.clear();
            }
            EditAction::Down => {
                edit.row = (edit.row + 1).min(rows - 1);
                edit.input.clear();
            }
            EditAction::Left => {
                edit.col = edit.col.saturating_sub(1);
                edit.input.clear();
            }
            EditAction::Right => {
                edit.col = (edit.col + 1).min(cols - 1);
                edit.input.clear();
            }
            EditAction::RowStart => edit.col = 0,
            EditAction::RowEnd => edit.col = cols - 1,
            EditAction::NextMatrix | EditAction::PreviousMatrix => {
                let n = targets.len();
                edit.target = if action == EditAction::NextMatrix {
                    (edit.target + 1) % n
                } else {
                    (edit.target + n - 1) % n
                };
                let t = &targets[edit.target];
                edit.row = edit.row.min(t.rows.saturating_sub(1));
                edit.col = edit.col.min(t.cols.saturating_sub(1));
                edit.input.clear();
            }
            EditAction::Type => {
                if let KeyCode::Char(c) = key.code {
                    if edit.input.len() < 10 {
                        edit.input.push(c);
                    }
                }
            }
            EditAction::DeleteChar => {
                edit.input.pop();
            }
            EditAction::Help
            | EditAction::Quit
            | EditAction::Follow
            | EditAction::NextPreset
            | EditAction::Reset
            | EditAction::Set => {}
        }
    }

    /// Enter in the editor: the cell becomes the number typed; everything recomputes.
    fn set_value(&mut self, cx: &mut Context) {
        let Some(lesson) = cx.course.lessons().get(self.lesson) else {
            return;
        };
        let Some(edit) = self.edit.as_mut() else {
            return;
        };
        if lesson.edit_targets().get(edit.target).is_none() {
            self.edit = None;
            return;
        }
        if edit.input.is_empty() {
            return;
        }
        match edit.input.parse::<f32>() {
            Ok(v) if v.is_finite() && v.abs() <= 1.0e6 => {
                let (t, r, c) = (edit.target, edit.row, edit.col);
                edit.input.clear();
                if let Some(lesson) = cx.course.lesson_mut(self.lesson) {
                    lesson.set_value(t, r, c, v);
                }
                self.preset = None;
                cx.notice = None;
                self.recompute(cx);
            }
            Ok(_) => {
                edit.input.clear();
                cx.notice = Some("keep numbers between -1000000 and 1000000".into());
            }
            Err(_) => {
                let typed = std::mem::take(&mut edit.input);
                cx.notice = Some(format!("`{typed}` is not a number"));
            }
        }
    }
}
