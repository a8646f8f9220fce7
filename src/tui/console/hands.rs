//! Raised hands on the console (issue 26, "help without walking over"): the queue in the
//! order the hands went up, and what the teacher does with one: answer that student only,
//! lower it, push a hint to everyone at its step (looking at their screen is `v`, the
//! class view's mirror). Also the switching between the console's views.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::view::{clean, line_at, put};
use super::{
    short_duration, Console, ConsoleAction, ConsoleEffect, Place, Prompt, StudentRow, View,
};
use crate::tui::theme::Theme;
use crate::tui::view::render_bar;
use crate::tui::widgets::{truncate, width};

/// Longest note a student may add to a raised hand (characters).
pub const MAX_NOTE: usize = 80;

/// A raised hand: whose, their note, how long it has been up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandRow {
    /// The student's session.
    pub id: u64,
    /// Their note (may be empty; escaped when drawn).
    pub note: String,
    /// How long the hand has been up.
    pub waiting: Duration,
}

impl Console {
    /// The students with a hand up, first raised first.
    pub(super) fn hand_order(&self) -> Vec<&StudentRow> {
        let rows = &self.class.students;
        self.class
            .hands
            .iter()
            .filter_map(|h| rows.iter().find(|r| r.id == h.id))
            .collect()
    }

    /// `w`, `h`, Esc, and the struggle view's lesson (left, right) and scroll (up, down).
    pub(super) fn switch(&mut self, action: ConsoleAction) {
        use ConsoleAction as A;
        let to = match action {
            A::Struggle if self.view != View::Struggle => View::Struggle,
            A::Hands if self.view != View::Hands => View::Hands,
            A::Struggle | A::Hands | A::Back => View::Class,
            A::PrevLesson => {
                self.lesson_at = self.lesson_at.saturating_sub(1);
                self.question_scroll = 0;
                return;
            }
            A::Up | A::Down => {
                let lessons = self
                    .class
                    .struggle
                    .as_ref()
                    .map_or(&[][..], |s| &s.lessons[..]);
                let n = lessons
                    .get(self.lesson_at.min(lessons.len().saturating_sub(1)))
                    .map_or(0, |l| l.questions.len());
                self.question_scroll = if action == A::Up {
                    self.question_scroll
                        .min(n.saturating_sub(1))
                        .saturating_sub(1)
                } else {
                    (self.question_scroll + 1).min(n.saturating_sub(1))
                };
                return;
            }
            _ => {
                let n = self.class.struggle.as_ref().map_or(0, |s| s.lessons.len());
                self.lesson_at = (self.lesson_at + 1).min(n.saturating_sub(1));
                self.question_scroll = 0;
                return;
            }
        };
        self.view = to;
        if to == View::Struggle {
            // the teacher's own lesson first, when the class answered in it
            let teacher = match &self.class.teacher_at {
                Some(Place::Lesson { index, .. }) => Some(*index),
                _ => None,
            };
            if let (Some(t), Some(s)) = (teacher, &self.class.struggle) {
                if let Some(i) = s.lessons.iter().position(|l| l.index == t) {
                    self.lesson_at = i;
                }
            }
        }
        let order: Vec<u64> = self.order().iter().map(|r| r.id).collect();
        // the queue opens on the hand up longest
        if to == View::Hands || !self.selected.is_some_and(|id| order.contains(&id)) {
            self.selected = order.first().copied();
        }
        if to == View::Hands && order.is_empty() {
            self.notice = Some("no hand is up".into());
        }
    }

    /// Enter, `d`, `H` on the selected hand.
    pub(super) fn on_hand(&mut self, action: ConsoleAction) -> Vec<ConsoleEffect> {
        let Some(r) = self.selected_row() else {
            return Vec::new();
        };
        let (id, name) = (r.id, crate::text::escaped(&r.name).into_owned());
        match action {
            ConsoleAction::Answer => {
                self.prompt = Some(Prompt::Answer {
                    id,
                    name: r.name.clone(),
                    text: String::new(),
                });
            }
            ConsoleAction::Lower => {
                self.notice = Some(format!("lowered {name}'s hand"));
                return vec![ConsoleEffect::Lower(id)];
            }
            _ => match &r.place {
                Place::Lesson { index, step, .. } => {
                    self.prompt = Some(Prompt::Hint {
                        at: (*index, *step),
                        label: r.place.label(),
                        text: String::new(),
                    });
                }
                _ => self.notice = Some(format!("{name} is not in a lesson: no step to hint")),
            },
        }
        Vec::new()
    }

    /// Enter on the answer or the hint being typed.
    pub(super) fn send_hand(&mut self, prompt: Prompt) -> Vec<ConsoleEffect> {
        let (text, effect, done) = match prompt {
            Prompt::Answer { id, name, text } => {
                let t = text.trim().to_string();
                let done = format!(
                    "answered {} (only they see it)",
                    crate::text::escaped(&name)
                );
                (t.clone(), ConsoleEffect::Answer { id, text: t }, done)
            }
            Prompt::Hint { at, label, text } => {
                let t = text.trim().to_string();
                let done = format!("hint sent to everyone at {}", crate::text::escaped(&label));
                (t.clone(), ConsoleEffect::HintStep { at, text: t }, done)
            }
            _ => return Vec::new(),
        };
        if text.is_empty() {
            self.notice = Some("nothing sent (it was empty)".into());
            return Vec::new();
        }
        self.notice = Some(done);
        vec![effect]
    }
}

/// The hands view: a title bar, the column heads and a row per hand (as many as fit,
/// the selected one shown).
pub(super) fn render_hands(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let sym = theme.symbols();
    let hands = &console.class.hands;
    let n = hands.len();
    render_bar(
        theme,
        &format!(" raised hands {} {n} in the queue", sym.dot),
        "first raised first ",
        line_at(area, 0),
        buf,
    );
    let w = usize::from(area.width);
    let name_w = 12;
    let place_w = ((w.saturating_sub(4 + name_w + 1 + 8)) / 3).clamp(10, 28);
    let cell = |s: &str, cw: usize| -> String {
        let t = truncate(s, cw, sym.ellipsis);
        format!("{t}{} ", " ".repeat(cw.saturating_sub(width(&t))))
    };
    let head = format!(
        "  # {}{}{}note",
        cell("name", name_w),
        cell("where", place_w),
        cell("waiting", 7)
    );
    put(buf, line_at(area, 1), &head, theme.heading(), theme);
    let order = console.hand_order();
    let shown = usize::from(area.height.saturating_sub(2 + super::view::BOTTOM_ROWS));
    if order.is_empty() {
        put(
            buf,
            line_at(area, 2),
            "    no hand is up",
            theme.dim(),
            theme,
        );
        return;
    }
    let at = console
        .selected
        .and_then(|id| order.iter().position(|r| r.id == id))
        .unwrap_or(0);
    let start = (at + 1).saturating_sub(shown.max(1));
    for (i, r) in order.iter().enumerate().skip(start).take(shown) {
        let hand = hands.iter().find(|h| h.id == r.id);
        let note = hand.map_or(String::new(), |h| clean(theme, &h.note));
        let waiting = hand.map_or(String::new(), |h| short_duration(h.waiting));
        let selected = console.selected == Some(r.id);
        let pointer = if selected { sym.pointer } else { " " };
        let line = format!(
            "{}{:>2} {}{}{}{note}",
            truncate(pointer, 1, ""),
            i + 1,
            cell(&clean(theme, &r.name), name_w),
            cell(&clean(theme, &r.place.label()), place_w),
            cell(&waiting, 7),
        );
        let y = 2 + u16::try_from(i - start).unwrap_or(0);
        let style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        put(buf, line_at(area, y), &line, style, theme);
    }
}
