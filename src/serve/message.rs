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
    message: Option<&str>,
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
    let mut line = String::new();
    if locked {
        line.push_str(" following the teacher (locked for a demo) ");
    }
    if let Some(m) = message {
        line.push_str(&format!(
            " message from the teacher: {} (Enter dismisses) ",
            theme.text(&escaped(m))
        ));
    }
    if line.is_empty() {
        return;
    }
    let line = crate::tui::truncate(&line, w, ellipsis);
    let row = Rect::new(area.x, area.y, area.width, 1);
    buf.set_style(row, theme.selected());
    for x in row.left()..row.right() {
        buf[(x, row.y)].set_symbol(" ");
    }
    buf.set_stringn(area.x, area.y, line, w, theme.selected());
}
