//! The line over a session's screen: the teacher's message (until the student dismisses it
//! with Enter) and the locked following for students, the way back to the class view for
//! the teacher.

use ratatui::layout::Rect;

use super::role::{Class, Role};
use crate::text::escaped;
use crate::tui::Theme;

/// The teacher's message (with its number) while this session has not dismissed it.
pub(super) fn message_up(class: &Class, dismissed: u64) -> Option<(u64, String)> {
    if class.role == Role::Teacher {
        return None;
    }
    class
        .shared
        .class
        .message()
        .filter(|(seq, _)| *seq > dismissed)
}

/// The line drawn over the top of a session's screen: the teacher's message and the
/// locked following for students, the way back to the class view for the teacher.
pub(super) fn overlay(
    class: &Class,
    theme: &Theme,
    (message, extra): (Option<&str>, &[String]),
    locked: bool,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let w = usize::from(area.width);
    let ellipsis = theme.symbols().ellipsis;
    if class.role == Role::Teacher {
        let tag = " Ctrl-T class view ";
        if w > tag.len() + 20 {
            let x = area.right() - u16::try_from(tag.len()).unwrap_or(0);
            buf.set_stringn(x, area.y, tag, tag.len(), theme.selected());
        }
        return;
    }
    // the lock on a line of its own, then the message wrapped over as many lines as it
    // needs (at most a third of the screen, the last cut with an ellipsis)
    let mut lines: Vec<String> = Vec::new();
    if locked {
        lines.push(" following the teacher (locked for a demo) ".to_string());
    }
    // a raised hand and the teacher's line to this student only (see `hands.rs`)
    for line in extra {
        let text = theme.text(&escaped(line)).into_owned();
        lines.extend(
            crate::tui::wrap(&text, w.saturating_sub(2).max(1))
                .into_iter()
                .map(|l| format!(" {l} ")),
        );
    }
    if let Some(m) = message {
        let text = format!(
            "message from the teacher: {} (Enter dismisses)",
            theme.text(&escaped(m))
        );
        lines.extend(
            crate::tui::wrap(&text, w.saturating_sub(2).max(1))
                .into_iter()
                .map(|l| format!(" {l} ")),
        );
    }
    if lines.is_empty() {
        return;
    }
    let most = usize::from(area.height / 3).max(1);
    if lines.len() > most {
        lines.truncate(most);
        if let Some(last) = lines.last_mut() {
            let cut = crate::tui::truncate(last, w.saturating_sub(1), ellipsis);
            *last = format!("{cut}{ellipsis}");
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let y = area.y + u16::try_from(i).unwrap_or(0);
        let row = Rect::new(area.x, y, area.width, 1);
        buf.set_style(row, theme.selected());
        for x in row.left()..row.right() {
            buf[(x, y)].set_symbol(" ");
        }
        let line = crate::tui::truncate(line, w, ellipsis);
        buf.set_stringn(area.x, y, line, w, theme.selected());
    }
}
