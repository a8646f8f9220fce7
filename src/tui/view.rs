//! What the screens draw alike: the too-small message, the top bar, the status line (a
//! notice and the key hints), and a buffer as text for snapshots. Each screen draws the
//! rest itself.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::theme::Theme;
use super::widgets::{truncate, width, wrap};

/// Smallest terminal the app draws in (columns).
pub const MIN_WIDTH: u16 = 60;
/// Smallest terminal the app draws in (rows).
pub const MIN_HEIGHT: u16 = 20;

/// The message drawn instead of the app in a terminal smaller than it needs.
pub(crate) fn render_too_small(theme: &Theme, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    if area.width == 0 || area.height == 0 {
        return;
    }
    let messages = [
        "Terminal too small".to_string(),
        String::new(),
        format!("cnn-tutor needs at least {MIN_WIDTH} x {MIN_HEIGHT};"),
        format!("this one is {} x {}.", area.width, area.height),
        String::new(),
        "Enlarge the window, or press q to quit.".to_string(),
    ];
    let mut lines: Vec<Line> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        for part in wrap(m, usize::from(area.width)) {
            let style = if i == 0 {
                theme.heading()
            } else {
                Style::new()
            };
            lines.push(Line::styled(part, style));
        }
    }
    let h = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .min(area.height);
    let y = area.y + (area.height - h) / 2;
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .render(Rect::new(area.x, y, area.width, h), buf);
}

/// The top bar: `left` at the left, `right` at the right, in the bar style.
pub(crate) fn render_bar(theme: &Theme, left: &str, right: &str, area: Rect, buf: &mut Buffer) {
    let w = usize::from(area.width);
    buf.set_style(area, theme.bar());
    let right_w = width(right);
    let left = truncate(
        left,
        w.saturating_sub(right_w + 1),
        theme.symbols().ellipsis,
    );
    buf.set_stringn(area.x, area.y, &left, w, theme.bar());
    if right_w < w {
        let x = area.right() - u16::try_from(right_w).unwrap_or(0);
        buf.set_stringn(x, area.y, right, right_w, theme.bar());
    }
}

/// The status line: a notice (if any) then as many key hints as fit.
pub(crate) fn render_status(
    theme: &Theme,
    notice: Option<&str>,
    hints: &[(String, &str)],
    area: Rect,
    buf: &mut Buffer,
) {
    let w = usize::from(area.width);
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0;
    if let Some(n) = notice {
        let n = truncate(
            &theme.text(n),
            w.saturating_sub(1),
            theme.symbols().ellipsis,
        );
        used += width(&n) + 2;
        spans.push(Span::raw(" "));
        spans.push(Span::styled(n, theme.notice()));
        spans.push(Span::raw(" "));
    }
    // the hints in order while they fit; `?` (the list of every key) always shows, the
    // hints after it giving way
    let piece = |(key, what): &(String, &str)| width(key) + 1 + width(what) + 2;
    let help = hints.iter().position(|(k, _)| k == "?");
    let mut reserved = help.map_or(0, |i| piece(&hints[i]));
    let mut shown: Vec<&(String, &str)> = Vec::new();
    let mut full = false;
    for (i, h) in hints.iter().enumerate() {
        if Some(i) == help {
            reserved = 0;
            if used + piece(h) <= w {
                used += piece(h);
                shown.push(h);
            }
        } else if !full && used + piece(h) + reserved <= w {
            used += piece(h);
            shown.push(h);
        } else {
            full = true;
        }
    }
    for (key, what) in shown {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key.clone(), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// The characters of a buffer as text, one line per row, trailing spaces removed (for
/// snapshots: no styles, no escape codes).
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        let mut hidden = 0;
        for x in area.left()..area.right() {
            let cell = &buf[(x, y)];
            if hidden > 0 {
                // covered by the wide character before it
                hidden -= 1;
                continue;
            }
            if cell.skip {
                continue;
            }
            line.push_str(cell.symbol());
            hidden = width(cell.symbol()).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
