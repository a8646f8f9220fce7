//! Drawing the app: a pure function of [`App`] state into any ratatui frame. The menu, the
//! help overlay, the too-small message and the status line live here; the lesson screen is
//! in [`super::lesson_view`].

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};
use ratatui::Frame;

use super::app::{App, Screen};
use super::lesson_view;
use super::theme::Theme;
use super::widgets::{truncate, width, wrap};

/// Smallest terminal the app draws in (columns).
pub const MIN_WIDTH: u16 = 60;
/// Smallest terminal the app draws in (rows).
pub const MIN_HEIGHT: u16 = 20;

/// Draw the whole app into `frame`. Rendering never changes state.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    render_into(app, area, frame.buffer_mut());
}

/// Draw the whole app into a buffer region (what [`render`] does, for any buffer).
pub fn render_into(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(app.theme(), area, buf);
        return;
    }
    match app.screen() {
        Screen::Menu => render_menu(app, area, buf),
        Screen::Lesson(state) => lesson_view::render(app, state, area, buf),
        Screen::Training(t) => super::training::view::render(app.theme(), t, area, buf),
        Screen::Inspector(i, _) => super::inspector::view::render(app.theme(), i, area, buf),
    }
    if let Some(scroll) = app.help() {
        render_help(app, scroll, area, buf);
    }
}

fn render_too_small(theme: &Theme, area: Rect, buf: &mut Buffer) {
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

fn render_menu(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let sym = theme.symbols();
    let header = Rect::new(area.x, area.y, area.width, 1);
    let status = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    render_bar(
        theme,
        &format!(
            " cnn-tutor {} how a convolutional network sees, one cell at a time",
            sym.dot
        ),
        &format!("{} lessons ", app.lessons().len()),
        header,
        buf,
    );

    let body_h = area.height - 2;
    let n = app.lessons().len();
    // the list takes what it needs, leaving at least 6 rows for the details
    let list_h = u16::try_from(n + 2)
        .unwrap_or(u16::MAX)
        .min(body_h.saturating_sub(6))
        .max(3);
    let list_area = Rect::new(area.x, area.y + 1, area.width, list_h);
    let detail_area = Rect::new(
        area.x,
        list_area.bottom(),
        area.width,
        body_h.saturating_sub(list_h),
    );

    let block = Block::bordered()
        .border_set(theme.border())
        .title(" Lessons ")
        .title_style(theme.heading());
    let inner = block.inner(list_area);
    block.render(list_area, buf);
    if n == 0 {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "No lessons found.",
            usize::from(inner.width),
            Style::new(),
        );
    }
    let rows = usize::from(inner.height);
    let first = app.selected().saturating_sub(rows.saturating_sub(1));
    let title_w = app
        .lessons()
        .iter()
        .enumerate()
        .map(|(i, l)| width(&format!("{}. {}", i + 1, theme.text(l.title()))))
        .max()
        .unwrap_or(0)
        .min(30);
    for (row, (i, lesson)) in app
        .lessons()
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + u16::try_from(row).unwrap_or(0);
        let selected = i == app.selected();
        let p = app.progress().get(lesson.id());
        let mark = if p.finished {
            sym.finished
        } else if p.visited {
            sym.visited
        } else {
            sym.fresh
        };
        let pointer = if selected { sym.pointer } else { " " };
        let title = truncate(
            &format!("{}. {}", i + 1, theme.text(lesson.title())),
            title_w,
            sym.ellipsis,
        );
        let pad = title_w.saturating_sub(width(&title));
        let line_w = usize::from(inner.width);
        let mut head = format!(" {pointer} {mark} {title}{}  ", " ".repeat(pad));
        // "your turn" answers over every run, right / asked
        if p.quiz.asked > 0 {
            head.push_str(&format!("{}/{} right  ", p.quiz.right, p.quiz.asked));
        }
        let summary = truncate(
            &theme.text(lesson.summary()),
            line_w.saturating_sub(width(&head) + 1),
            sym.ellipsis,
        );
        let row_style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        if selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), row_style);
        }
        let (x, _) = buf.set_stringn(inner.x, y, &head, line_w, row_style);
        let summary_style = if selected { row_style } else { theme.dim() };
        buf.set_stringn(
            x,
            y,
            &summary,
            usize::from(inner.right().saturating_sub(x)),
            summary_style,
        );
    }

    if detail_area.height >= 3 {
        render_menu_detail(app, detail_area, buf);
    }
    let hints = super::bindings::screen_hints(app);
    render_status(theme, app.notice(), &hints, status, buf);
}

fn render_menu_detail(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let sym = theme.symbols();
    let block = Block::bordered()
        .border_set(theme.border())
        .title(" About this lesson ")
        .title_style(theme.heading());
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(lesson) = app.lessons().get(app.selected()) else {
        return;
    };
    let w = usize::from(inner.width.saturating_sub(2));
    let p = app.progress().get(lesson.id());
    let state = if p.finished {
        format!("{} finished", sym.finished)
    } else if p.visited {
        format!("{} visited", sym.visited)
    } else {
        "not opened yet".to_string()
    };
    let state = if p.quiz.asked > 0 {
        format!(
            "{state}; your turn: {} of {} right, {} at the first try",
            p.quiz.right, p.quiz.asked, p.quiz.first_try
        )
    } else {
        state
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(theme.text(lesson.title()).into_owned(), theme.heading()),
        Span::styled(format!("  ({state})"), theme.dim()),
    ])];
    for part in wrap(&theme.text(lesson.summary()), w) {
        lines.push(Line::raw(part));
    }
    let room = usize::from(inner.height);
    // the lesson's opening paragraphs, as many whole ones as fit above the hint line
    let free = room.saturating_sub(lines.len() + 1);
    let mut intro: Vec<Line> = Vec::new();
    for para in app.intro(app.selected()) {
        let mut block = vec![Line::raw("")];
        block.extend(
            wrap(&theme.text(para), w)
                .into_iter()
                .map(|l| Line::styled(l, theme.dim())),
        );
        if intro.len() + block.len() <= free {
            intro.extend(block);
            continue;
        }
        if intro.is_empty() && free >= 2 {
            // not even the first paragraph fits: show its start, marked as cut
            block.truncate(free);
            if let Some(last) = block.pop() {
                let text: String = last.spans.iter().map(|s| s.content.as_ref()).collect();
                let cut = truncate(&text, w.saturating_sub(2), sym.ellipsis);
                block.push(Line::styled(format!("{cut}{}", sym.ellipsis), theme.dim()));
            }
            intro.extend(block);
        }
        break;
    }
    lines.extend(intro);
    if lines.len() < room {
        while lines.len() + 1 < room {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            format!(
                "Enter opens it. Marks: {} finished, {} visited.",
                sym.finished, sym.visited
            ),
            theme.dim(),
        ));
    }
    Paragraph::new(lines).render(
        Rect::new(
            inner.x + 1,
            inner.y,
            inner.width.saturating_sub(2),
            inner.height,
        ),
        buf,
    );
}

/// Every key the app knows, by section, as the help overlay lists them (the help rows of
/// the menu's, lesson's and editor's key tables). A key starting with `#` is a section title.
pub(crate) fn help_lines(theme: &Theme) -> Vec<(String, String)> {
    use super::bindings::{EDIT, LESSON, MENU};
    use super::keys::{help_rows, help_sections};
    let rows = help_rows(MENU)
        .chain(help_rows(LESSON))
        .chain(help_rows(EDIT))
        .chain(help_rows(super::training::actions::TABLE));
    let mut lines = Vec::new();
    for (section, rows) in help_sections(rows, theme.symbols()) {
        lines.push((format!("#{section}"), String::new()));
        lines.extend(rows.into_iter().map(|(k, what)| (k, what.to_string())));
    }
    lines
}

/// The help as columns of lines: two side by side when the terminal is wide enough, else
/// one. Also returns the width of one column.
fn help_columns(theme: &Theme, area: Rect) -> (Vec<Vec<Line<'static>>>, usize) {
    let entries = help_lines(theme);
    let key_w = entries
        .iter()
        .filter(|(k, _)| !k.starts_with('#'))
        .map(|(k, _)| width(k))
        .max()
        .unwrap_or(0);
    let col_w = entries
        .iter()
        .map(|(k, w)| match k.strip_prefix('#') {
            Some(section) => width(section),
            None => key_w + 2 + width(w),
        })
        .max()
        .unwrap_or(0);
    // sections, each a list of lines
    let mut sections: Vec<Vec<Line<'static>>> = Vec::new();
    for (key, what) in &entries {
        if let Some(section) = key.strip_prefix('#') {
            sections.push(vec![Line::styled(section.to_string(), theme.heading())]);
        } else if let Some(current) = sections.last_mut() {
            current.push(Line::from(vec![
                Span::styled(format!("{key:<key_w$}  "), theme.key()),
                Span::raw(what.clone()),
            ]));
        }
    }
    let join = |parts: &[Vec<Line<'static>>]| {
        let mut lines = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                lines.push(Line::raw(""));
            }
            lines.extend(part.iter().cloned());
        }
        lines
    };
    let two_wide = 2 * col_w + HELP_GAP + 4;
    if usize::from(area.width.saturating_sub(2)) >= two_wide && sections.len() > 1 {
        // split where the taller column is shortest
        let best = (1..sections.len())
            .min_by_key(|&i| join(&sections[..i]).len().max(join(&sections[i..]).len()))
            .unwrap_or(1);
        (
            vec![join(&sections[..best]), join(&sections[best..])],
            col_w,
        )
    } else {
        (vec![join(&sections)], col_w)
    }
}

/// Columns between the help's two columns.
const HELP_GAP: usize = 3;

/// Where the help opens to show the section titled `section` first (as far as it can
/// scroll): the training screen opens it on its own keys.
pub(crate) fn help_scroll_to(theme: &Theme, area: Rect, section: &str) -> u16 {
    let (columns, _) = help_columns(theme, area);
    let at = columns.iter().find_map(|col| {
        col.iter().position(|l| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
                == section
        })
    });
    let at = u16::try_from(at.unwrap_or(0)).unwrap_or(0);
    at.min(help_max_scroll(theme, area))
}

/// How far the help can scroll in a terminal of `area`'s size.
pub(crate) fn help_max_scroll(theme: &Theme, area: Rect) -> u16 {
    let (columns, _) = help_columns(theme, area);
    let total = columns.iter().map(Vec::len).max().unwrap_or(0);
    let total = u16::try_from(total).unwrap_or(u16::MAX);
    let h = (total + 2).min(area.height.saturating_sub(2));
    total.saturating_sub(h.saturating_sub(2))
}

/// The help frame's hint: how to close it (` Esc or ? closes `), from its key table.
fn help_closes(app: &App) -> String {
    super::keys::hints(super::bindings::HELP, app, app.theme().symbols())
        .iter()
        .map(|(k, what)| format!(" {k} {what} "))
        .collect()
}

fn render_help(app: &App, scroll: u16, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let sym = theme.symbols();
    let (columns, col_w) = help_columns(theme, area);
    let n = columns.len();
    let content_w = n * col_w + (n - 1) * HELP_GAP;
    let w = u16::try_from(content_w + 4)
        .unwrap_or(u16::MAX)
        .max(36)
        .min(area.width.saturating_sub(2));
    let total = columns.iter().map(Vec::len).max().unwrap_or(0);
    let total = u16::try_from(total).unwrap_or(u16::MAX);
    let h = (total + 2).min(area.height.saturating_sub(2));
    let x = area.x + (area.width - w) / 2;
    let y = area.y + (area.height - h) / 2;
    let rect = Rect::new(x, y, w, h);
    let max_scroll = help_max_scroll(theme, area);
    let scroll = scroll.min(max_scroll);
    let mut block = Block::bordered()
        .border_set(theme.border())
        .title(" Keys ")
        .title_style(theme.heading())
        .title_bottom(Line::from(help_closes(app)).right_aligned());
    if max_scroll > 0 {
        let more = if scroll < max_scroll {
            format!(" {} (j/k) ", sym.more_below)
        } else {
            format!(" {} ", sym.more_above)
        };
        block = block.title_bottom(Line::from(more).left_aligned());
    }
    Clear.render(rect, buf);
    let inner = block.inner(rect);
    block.render(rect, buf);
    let col_w16 = u16::try_from(col_w).unwrap_or(u16::MAX);
    let gap = u16::try_from(HELP_GAP).unwrap_or(0);
    for (i, lines) in columns.into_iter().enumerate() {
        let cx = inner.x + 1 + u16::try_from(i).unwrap_or(0) * (col_w16 + gap);
        if cx >= inner.right() {
            break;
        }
        let cw = col_w16.min(inner.right() - cx);
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .render(Rect::new(cx, inner.y, cw, inner.height), buf);
    }
}

/// Draw the app into a fresh `width` x `height` buffer (tests, snapshots, previews).
pub fn render_to_buffer(app: &App, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    render_into(app, area, &mut buf);
    buf
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
