//! Drawing the console: the header (class, limits, marks), one row per student, the
//! prompt or notice, and the hint lines; or, while looking, the student's screen.
//! Everything from clients (names, addresses, the message) is escaped before drawing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::{short_duration, Console, Prompt, StudentRow, View, CONSOLE, IDLE_MARK, WRONG_MARK};
use crate::text::escaped;
use crate::tui::keys::hints;
use crate::tui::theme::Theme;
use crate::tui::view::render_bar;
use crate::tui::widgets::{truncate, width};

/// Smallest console drawn (columns, rows).
const MIN: (u16, u16) = (40, 10);

/// Draw the console into `area` (which it fills).
pub fn render(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    if area.width < MIN.0 || area.height < MIN.1 {
        let line = format!("the class view needs {} x {}", MIN.0, MIN.1);
        buf.set_stringn(area.x, area.y, line, usize::from(area.width), Style::new());
        return;
    }
    if let (Some(_), Some(mirror)) = (console.mirror, &console.class.mirror) {
        render_mirror(console, mirror, theme, area, buf);
        return;
    }
    render_class(console, theme, area, buf);
}

pub(super) fn clean(theme: &Theme, s: &str) -> String {
    theme.text(&escaped(s)).into_owned()
}

pub(super) fn line_at(area: Rect, y: u16) -> Rect {
    Rect::new(area.x, area.y + y, area.width, 1)
}

pub(super) fn put(buf: &mut Buffer, area: Rect, text: &str, style: Style, theme: &Theme) {
    let t = truncate(text, usize::from(area.width), theme.symbols().ellipsis);
    buf.set_stringn(area.x, area.y, t, usize::from(area.width), style);
}

fn render_class(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    match console.view {
        View::Class => {
            render_class_head(console, theme, area, buf);
            render_rows(console, theme, area, buf);
        }
        View::Struggle => super::struggle::render_struggle(console, theme, area, buf),
        View::Hands => super::hands::render_hands(console, theme, area, buf),
    }
    // the prompt, a notice, or the message now up
    let status_y = area.height - BOTTOM_ROWS;
    let (status, style) = status_line(console, theme);
    put(buf, line_at(area, status_y), &status, style, theme);
    render_hints(
        console,
        theme,
        Rect::new(area.x, area.y + status_y + 1, area.width, 2),
        buf,
    );
}

/// Rows under the students: the notice or prompt, two hint lines.
pub(super) const BOTTOM_ROWS: u16 = 3;

/// The title bar, the limits and the legend of the marks.
fn render_class_head(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let class = &console.class;
    let sym = theme.symbols();
    let n = class.students.len();
    let mut title = format!(
        " cnn-tutor class {} {n} student{}",
        sym.dot,
        if n == 1 { "" } else { "s" }
    );
    if !class.hands.is_empty() {
        title.push_str(&format!(" {} {} hand(s) up: h", sym.dot, class.hands.len()));
    }
    if let Some(t) = &class.teacher {
        title.push_str(&format!(" {} teacher {}", sym.dot, clean(theme, t)));
        if let Some(at) = &class.teacher_at {
            title.push_str(&format!(" at {}", clean(theme, &at.label())));
        }
    }
    let lock = if class.locked {
        "FOLLOWING LOCKED  "
    } else {
        ""
    };
    render_bar(
        theme,
        &title,
        &format!("{lock}sort: {} ", console.sort.label()),
        line_at(area, 0),
        buf,
    );
    let l = &class.limits;
    let oldest = l.grace.1.map_or(String::new(), |d| {
        format!(", oldest waits {}", short_duration(d))
    });
    let limits = format!(
        " students {}/{}  trainings {}/{} ({} queued)  logging in {}/{}  login grace {}{oldest}",
        l.sessions.0,
        l.sessions.1,
        l.trainings.0,
        l.trainings.1,
        l.queued,
        l.unauthenticated.0,
        l.unauthenticated.1,
        short_duration(l.grace.0),
    );
    let near =
        l.sessions.0 >= l.sessions.1 || l.unauthenticated.0 >= l.unauthenticated.1 || l.queued > 0;
    put(
        buf,
        line_at(area, 1),
        &limits,
        if near { theme.notice() } else { Style::new() },
        theme,
    );
    let legend = format!(
        " marks: I idle {}+  S stuck {}+ or 3 wrong  W {WRONG_MARK}+ wrong in a row  ~ look-alike  {} idle timeout {}",
        short_duration(IDLE_MARK),
        short_duration(l.stuck_after),
        sym.dot,
        short_duration(l.idle_timeout),
    );
    put(buf, line_at(area, 2), &legend, theme.dim(), theme);
    if let Some(absent) = &class.absent {
        let line = absent_line(absent, usize::from(area.width), theme);
        let style = if absent.is_empty() {
            theme.dim()
        } else {
            theme.notice()
        };
        put(buf, line_at(area, 3), &line, style, theme);
    }
}

/// ` absent (3): kim, lee +1 more`: the roster's names not connected, as many as fit in
/// `w` columns, and how many more.
fn absent_line(absent: &[String], w: usize, theme: &Theme) -> String {
    if absent.is_empty() {
        return " absent: nobody (everyone on the roster is connected)".into();
    }
    let mut line = format!(" absent ({}):", absent.len());
    for (i, name) in absent.iter().enumerate() {
        let piece = format!("{} {}", if i == 0 { "" } else { "," }, clean(theme, name));
        let rest = absent.len() - i - 1;
        let more = if rest > 0 {
            format!(" +{rest} more")
        } else {
            String::new()
        };
        if width(&line) + width(&piece) + width(&more) > w {
            line.push_str(&format!(" +{} more", absent.len() - i));
            break;
        }
        line.push_str(&piece);
    }
    line
}

/// The column heads and a row per student (as many as fit, from the scroll position).
fn render_rows(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let sym = theme.symbols();
    // columns
    let w = usize::from(area.width);
    let fixed = 4 + 8 + 13 + 6 + 7;
    let head_y = 3 + u16::from(console.class.absent.is_some());
    let list_top = head_y + 1;
    let list_h = area.height.saturating_sub(list_top + BOTTOM_ROWS);
    let order = console.order();
    let shown = usize::from(list_h);
    let start = console.scroll.min(order.len().saturating_sub(shown.max(1)));
    // when the list scrolls, "rows a-b of n" sits at the header's end: the lesson column
    // gives it room, so no column head is covered
    let more = (order.len() > shown && shown > 0).then(|| {
        format!(
            " {}-{}/{} ",
            start + 1,
            (start + shown).min(order.len()),
            order.len()
        )
    });
    let more_w = more.as_deref().map_or(0, width);
    // names whole where they fit (the longest, `~` included, up to 24), so a class of
    // `student-01` ... `student-30` is told apart; the lesson column keeps at least 16
    let longest = order
        .iter()
        .map(|r| width(&clean(theme, &r.name)) + usize::from(r.look_alike.is_some()))
        .max()
        .unwrap_or(0);
    let name_room = w.saturating_sub(fixed + more_w + 2 + 16);
    let mut name_w = longest
        .max((w.saturating_sub(fixed + more_w)) / 3)
        .min(name_room)
        .clamp(8, 24);
    if console.show_addr {
        name_w = (name_w + 22).min(w.saturating_sub(fixed + 10));
    }
    let lesson_w = w.saturating_sub(fixed + name_w + 2 + more_w).max(8);
    let cell = |s: &str, cw: usize| -> String {
        let t = truncate(s, cw, sym.ellipsis);
        let pad = cw.saturating_sub(width(&t));
        format!("{t}{} ", " ".repeat(pad))
    };
    let header = format!(
        "    {}{}{}{}{}{}",
        cell(
            if console.show_addr {
                "name, address"
            } else {
                "name"
            },
            name_w
        ),
        cell("lesson, step", lesson_w),
        cell("turn", 7),
        cell("training", 12),
        cell("idle", 5),
        cell("online", 6),
    );
    put(buf, line_at(area, head_y), &header, theme.heading(), theme);

    if order.is_empty() {
        put(
            buf,
            line_at(area, list_top),
            "    no students connected yet",
            theme.dim(),
            theme,
        );
    }
    for (i, row) in order.iter().skip(start).take(shown).enumerate() {
        let y = list_top + u16::try_from(i).unwrap_or(0);
        let selected = console.selected == Some(row.id);
        let text = row_text(row, console.show_addr, theme, &cell, name_w, lesson_w);
        let pointer = if selected { sym.pointer } else { " " };
        let marks = marks(row, console.class.limits.stuck_after);
        let line = format!("{}{marks:<3}{text}", truncate(pointer, 1, ""));
        let style = if selected {
            theme.selected()
        } else if !marks.trim().is_empty() {
            theme.notice()
        } else {
            Style::new()
        };
        put(buf, line_at(area, y), &line, style, theme);
    }
    if let Some(more) = more {
        let mw = u16::try_from(width(&more)).unwrap_or(0);
        if mw < area.width {
            buf.set_stringn(
                area.right() - mw,
                area.y + head_y,
                &more,
                usize::from(mw),
                theme.dim(),
            );
        }
    }
}

/// The line above the hints: the prompt being answered, a notice, or the message up.
fn status_line(console: &Console, theme: &Theme) -> (String, Style) {
    let class = &console.class;
    match &console.prompt {
        Some(Prompt::Message(text)) => (
            format!(" message for every student: {}_", clean(theme, text)),
            theme.focused(),
        ),
        Some(Prompt::End { name, text, .. }) => (
            format!(
                " end {}'s session; goodbye line (Enter: \"{}\"): {}_",
                clean(theme, name),
                super::DEFAULT_GOODBYE,
                clean(theme, text)
            ),
            theme.focused(),
        ),
        Some(Prompt::EndAll { host, login }) => {
            let (by_host, by_name) = console.sessions_of(host, login);
            (
                format!(
                    " end every session  a: from {} ({})  n: named {} ({})  other key: none",
                    clean(theme, host),
                    by_host.len(),
                    clean(theme, login),
                    by_name.len()
                ),
                theme.focused(),
            )
        }
        Some(Prompt::Quit) => (
            " end the class for everyone? y ends it (goodbyes, the report), any other key keeps it"
                .to_string(),
            theme.focused(),
        ),
        Some(Prompt::Answer { name, text, .. }) => (
            format!(
                " answer {} (only they see it): {}_",
                clean(theme, name),
                clean(theme, text)
            ),
            theme.focused(),
        ),
        Some(Prompt::Hint { label, text, .. }) => (
            format!(
                " hint for everyone at {}: {}_",
                clean(theme, label),
                clean(theme, text)
            ),
            theme.focused(),
        ),
        Some(Prompt::StopTrainings) => (
            " stop every training, running and queued? y stops, any other key keeps them"
                .to_string(),
            theme.focused(),
        ),
        None => match (&console.notice, &class.message) {
            (Some(n), _) => (format!(" {}", clean(theme, n)), theme.notice()),
            (None, _) if look_alike(console, theme).is_some() => (
                look_alike(console, theme).unwrap_or_default(),
                theme.notice(),
            ),
            (None, Some(m)) => (format!(" message up: {}", clean(theme, m)), Style::new()),
            (None, None) => (String::new(), Style::new()),
        },
    }
}

fn row_text(
    row: &StudentRow,
    show_addr: bool,
    theme: &Theme,
    cell: &dyn Fn(&str, usize) -> String,
    name_w: usize,
    lesson_w: usize,
) -> String {
    let mut name = clean(theme, &row.name);
    if row.look_alike.is_some() {
        // a name that reads like another's: the status line says whose when selected
        name = format!("~{name}");
    }
    if show_addr {
        name = format!("{name} {}", clean(theme, &row.addr));
    }
    let mut place = clean(theme, &row.place.label());
    if row.following {
        place = format!("[f] {place}");
    }
    let turn = row
        .quiz
        .map_or_else(|| "-".to_string(), |q| format!("{}/{}", q.right, q.asked));
    format!(
        "{}{}{}{}{}{}",
        cell(&name, name_w),
        cell(&place, lesson_w),
        cell(&turn, 7),
        cell(&row.training.label(), 12),
        cell(&short_duration(row.idle), 5),
        cell(&short_duration(row.connected), 6),
    )
}

/// For the selected student whose name reads like another: whose, in one line.
fn look_alike(console: &Console, theme: &Theme) -> Option<String> {
    let id = console.selected?;
    let row = console.class.students.iter().find(|r| r.id == id)?;
    let other = row.look_alike.as_deref()?;
    let whose = if console.class.teacher.as_deref() == Some(other) {
        " (the teacher's name)"
    } else {
        ""
    };
    // the letters that are not plain ASCII, by code point: where the two differ
    let odd: Vec<String> = row
        .name
        .chars()
        .filter(|c| !c.is_ascii())
        .take(4)
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    let odd = if odd.is_empty() {
        String::new()
    } else {
        format!(" (has {})", odd.join(" "))
    };
    Some(format!(
        " {}{odd} looks like {}{whose}: a different name, check who it is",
        clean(theme, &row.name),
        clean(theme, other)
    ))
}

/// The marks of a row: `I` idle, `S` stuck on a step, `W` wrong answers in a row.
pub(super) fn marks(row: &StudentRow, stuck_after: std::time::Duration) -> String {
    let mut m = String::new();
    if row.idle_mark() {
        m.push('I');
    }
    if row.stuck_mark(stuck_after) {
        m.push('S');
    }
    if row.wrong_mark() {
        m.push('W');
    }
    m
}

/// The hints over up to `area.height` lines: as many as fit on each, in order.
fn render_hints(console: &Console, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let all = hints(CONSOLE, console, theme.symbols());
    let w = usize::from(area.width);
    let mut lines: Vec<Vec<Span>> = vec![Vec::new()];
    let mut used = 0;
    for (key, what) in all {
        let piece = width(&key) + 1 + width(what) + 2;
        if used + piece > w {
            if lines.len() == usize::from(area.height) {
                break;
            }
            lines.push(Vec::new());
            used = 0;
        }
        used += piece;
        let spans = lines.last_mut().expect("one line at least");
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    for (i, spans) in lines.into_iter().enumerate() {
        let y = area.y + u16::try_from(i).unwrap_or(0);
        buf.set_line(area.x, y, &Line::from(spans), area.width);
    }
}

fn render_mirror(
    console: &Console,
    mirror: &super::Mirror,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let name = clean(theme, &mirror.name);
    render_bar(
        theme,
        &format!(" looking at {name}'s screen (read-only: your keys do not reach it)"),
        "Esc closes ",
        line_at(area, 0),
        buf,
    );
    let inner = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    let Some(screen) = &mirror.screen else {
        put(
            buf,
            line_at(inner, 0),
            " waiting for their screen ...",
            theme.dim(),
            theme,
        );
        return;
    };
    let src = screen.area;
    let (w, h) = (src.width.min(inner.width), src.height.min(inner.height));
    for y in 0..h {
        for x in 0..w {
            let from = &screen[(src.x + x, src.y + y)];
            buf[(inner.x + x, inner.y + y)] = from.clone();
        }
    }
    if src.width > inner.width || src.height > inner.height {
        let note = format!(
            " their screen is {}x{}: the part that fits is shown ",
            src.width, src.height
        );
        put(
            buf,
            Rect::new(area.x, area.bottom() - 1, area.width, 1),
            &note,
            theme.bar(),
            theme,
        );
    }
    let _ = console;
}
