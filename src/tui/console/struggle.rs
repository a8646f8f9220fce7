//! Where the class struggles (issue 26): per lesson, each "your turn" question's results
//! across the class (tried, right first time, wrong three times, the most common wrong
//! answer), and the students who are stuck (on one step too long, or three wrong tries
//! at its question) with their last key.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::view::{clean, line_at, put, BOTTOM_ROWS};
use super::{short_duration, Console, StudentRow};
use crate::tui::attempts::{QuestionFigures, WRONG_TIMES};
use crate::tui::theme::Theme;
use crate::tui::view::render_bar;
use crate::tui::widgets::{truncate, width};

/// The class's figures, per lesson that has answers (menu order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Struggle {
    /// The lessons with answers.
    pub lessons: Vec<LessonFigures>,
}

/// One lesson's questions and their figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonFigures {
    /// The lesson (menu order).
    pub index: usize,
    /// Its title.
    pub title: String,
    /// Its questions answered, in step order.
    pub questions: Vec<QuestionFigures>,
}

/// The students who are stuck, longest on their step first, each with why: on one step
/// for `after` or more (not just following the teacher there), or
/// [`WRONG_TIMES`] wrong tries at a question of their step.
pub fn stuck(rows: &[StudentRow], after: Duration) -> Vec<(&StudentRow, String)> {
    let mut out: Vec<(&StudentRow, String)> = rows
        .iter()
        .filter(|r| r.stuck_mark(after))
        .map(|r| {
            let mut why = Vec::new();
            if let Some(d) = r.on_step.filter(|d| !r.following && *d >= after) {
                why.push(format!("{} on this step", short_duration(d)));
            }
            if r.wrong_here >= WRONG_TIMES {
                why.push(format!("{} wrong here", r.wrong_here));
            }
            (r, why.join(", "))
        })
        .collect();
    out.sort_by(|a, b| {
        b.0.on_step
            .cmp(&a.0.on_step)
            .then(crate::text::natural_key(&a.0.name).cmp(&crate::text::natural_key(&b.0.name)))
    });
    out
}

/// The struggle view: the lesson's questions (scrolled with the arrows), then the
/// students who are stuck.
pub(super) fn render_struggle(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let sym = theme.symbols();
    let lessons = console
        .class
        .struggle
        .as_ref()
        .map_or(&[][..], |s| &s.lessons[..]);
    let at = console.lesson_at.min(lessons.len().saturating_sub(1));
    let lesson = lessons.get(at);
    let title = match lesson {
        Some(l) => format!(
            " where the class struggles {} {} ({} of {} with answers)",
            sym.dot,
            clean(theme, &l.title),
            at + 1,
            lessons.len()
        ),
        None => " where the class struggles: no answers yet".to_string(),
    };
    render_bar(theme, &title, "", line_at(area, 0), buf);
    let cell = |s: &str, cw: usize| -> String {
        let t = truncate(s, cw, sym.ellipsis);
        format!("{t}{} ", " ".repeat(cw.saturating_sub(width(&t))))
    };
    let num = |n: usize, cw: usize| format!("{n:>cw$} ");
    let head = format!(
        " {}{}{}{}most common wrong answer",
        cell("question", 12),
        cell("tried", 5),
        cell("right 1st", 9),
        cell("wrong 3x", 8)
    );
    put(buf, line_at(area, 1), &head, theme.heading(), theme);
    let stuck = stuck(&console.class.students, console.class.limits.stuck_after);
    let room = area.height.saturating_sub(2 + BOTTOM_ROWS);
    let questions = lesson.map_or(&[][..], |l| &l.questions[..]);
    // the questions take what the stuck list leaves, at least half
    let stuck_rows = u16::try_from(stuck.len())
        .unwrap_or(u16::MAX)
        .saturating_add(1);
    let q_rows = room.saturating_sub(stuck_rows.min(room / 2)).max(1);
    let first = console
        .question_scroll
        .min(questions.len().saturating_sub(usize::from(q_rows)));
    let mut y = 2;
    if questions.is_empty() {
        put(
            buf,
            line_at(area, y),
            "   nobody has answered yet",
            theme.dim(),
            theme,
        );
        y += 1;
    }
    for (i, q) in questions.iter().enumerate().skip(first) {
        let last = y + 1 == 2 + q_rows;
        if last && i + 1 < questions.len() {
            let more = format!(
                "   +{} more ({} {} scroll)",
                questions.len() - i,
                sym.up,
                sym.down
            );
            put(buf, line_at(area, y), &more, theme.dim(), theme);
            y += 1;
            break;
        }
        let wrong = q.common_wrong.as_ref().map_or_else(
            || "-".to_string(),
            |(w, n)| format!("{} ({n})", clean(theme, w)),
        );
        let line = format!(
            " {}{}{}{}{wrong}",
            cell(&format!("step {} q{}", q.key.step + 1, q.key.n), 12),
            num(q.tried, 5),
            num(q.right_first, 9),
            num(q.wrong3, 8),
        );
        let style = if q.wrong3 > 0 {
            theme.notice()
        } else {
            ratatui::style::Style::new()
        };
        put(buf, line_at(area, y), &line, style, theme);
        y += 1;
        if y >= 2 + q_rows {
            break;
        }
    }
    render_stuck(console, theme, (y, 2 + room), area, buf);
}

/// The students who are stuck, from row `y` to `end`.
fn render_stuck(
    console: &Console,
    theme: &Theme,
    (mut y, end): (u16, u16),
    area: Rect,
    buf: &mut Buffer,
) {
    if y >= end {
        return;
    }
    let sym = theme.symbols();
    let cell = |s: &str, cw: usize| -> String {
        let t = truncate(s, cw, sym.ellipsis);
        format!("{t}{} ", " ".repeat(cw.saturating_sub(width(&t))))
    };
    let stuck = stuck(&console.class.students, console.class.limits.stuck_after);
    let head = format!(
        " stuck ({}): {}+ on a step, or {WRONG_TIMES} wrong at its question",
        stuck.len(),
        short_duration(console.class.limits.stuck_after)
    );
    put(buf, line_at(area, y), &head, theme.heading(), theme);
    y += 1;
    let left = usize::from(end.saturating_sub(y));
    for (i, (r, why)) in stuck.iter().enumerate() {
        if y >= end {
            break;
        }
        if i + 1 == left && stuck.len() > left {
            let more = format!("   +{} more", stuck.len() - i);
            put(buf, line_at(area, y), &more, theme.dim(), theme);
            break;
        }
        let line = format!(
            "   {}{}{}idle {}",
            cell(&clean(theme, &r.name), 12),
            cell(&clean(theme, &r.place.label()), 24),
            cell(why, 22),
            short_duration(r.idle)
        );
        put(buf, line_at(area, y), &line, theme.notice(), theme);
        y += 1;
    }
}
