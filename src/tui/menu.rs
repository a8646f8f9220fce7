//! The menu: the list of lessons, what the selected one is about, and its key table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::event::Key;
use super::keys::{self, action_for, Binding, KeySpec, Label};
use super::screen::{Ask, Component, Context, Facts, Open};
use super::view::{render_bar, render_status};
use super::widgets::{truncate, width, wrap};

use super::keys::{DOWN, END, ENTER, ESC, HOME, RIGHT, UP};
use KeySpec::{Char, Ctrl};

/// Help sections, in the order the overlay lists them.
pub(crate) const EVERYWHERE: &str = "Everywhere";
const MENU_HELP: &str = "Menu";
pub(crate) const QUIT: &[KeySpec] = &[Char('q'), Ctrl('c')];

/// What a key does on the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuAction {
    /// Open the help overlay.
    Help,
    /// End the app.
    Quit,
    /// Follow the teacher, or stop following (a classroom student).
    Follow,
    /// Raise a hand (a classroom student: the session takes the key before the app, so
    /// here it only names it in the hints).
    Hand,
    /// Select the lesson above.
    Up,
    /// Select the lesson below.
    Down,
    /// Select the first lesson.
    First,
    /// Select the last lesson.
    Last,
    /// Open the selected lesson.
    Open,
    /// Clear the notice line.
    ClearNotice,
}

type MenuBinding = Binding<MenuAction, MenuState>;

/// The menu's keys.
pub const MENU: &[MenuBinding] = &[
    MenuBinding::new(&[Char('?')], MenuAction::Help)
        .hint(3, Label::new(&[Char('?')], "help"))
        .help(EVERYWHERE, Label::new(&[Char('?')], "this help")),
    MenuBinding::new(QUIT, MenuAction::Quit)
        .hint(4, Label::new(&[Char('q')], "quit"))
        .help(EVERYWHERE, Label::new(QUIT, "quit").sep(", ")),
    MenuBinding::new(&[Char('f')], MenuAction::Follow)
        .when(|m| m.facts.following())
        .hint(2, Label::new(&[Char('f')], "stop following")),
    MenuBinding::new(&[Char('f')], MenuAction::Follow)
        .when(|m| m.facts.could_follow())
        .hint(2, Label::new(&[Char('f')], "follow teacher")),
    MenuBinding::new(&[Ctrl('r')], MenuAction::Hand)
        .when(|m| m.facts.follow.is_some())
        .hint(2, Label::new(&[Ctrl('r')], "raise hand")),
    MenuBinding::new(&[UP, Char('k')], MenuAction::Up)
        .hint(0, Label::new(&[UP, DOWN], "choose").sep("/"))
        .help(
            MENU_HELP,
            Label::new(&[UP, DOWN, Char('j'), Char('k')], "choose a lesson"),
        ),
    MenuBinding::new(&[DOWN, Char('j')], MenuAction::Down),
    MenuBinding::new(&[HOME, Char('g')], MenuAction::First),
    MenuBinding::new(&[END, Char('G')], MenuAction::Last),
    MenuBinding::new(&[ENTER, RIGHT, Char('l'), Char(' ')], MenuAction::Open)
        .when(|m| m.lessons > 0)
        .hint(1, Label::new(&[ENTER], "open"))
        .help(MENU_HELP, Label::new(&[ENTER], "open it")),
    MenuBinding::new(&[ESC], MenuAction::ClearNotice),
];

/// The menu's state: the selected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuState {
    /// The selected lesson (index into the course's lessons).
    pub selected: usize,
    /// How many lessons there are.
    lessons: usize,
    /// The app facts its keys read.
    facts: Facts,
}

impl MenuState {
    /// The menu of a course of `lessons` lessons, the first selected.
    pub fn new(lessons: usize) -> Self {
        MenuState {
            selected: 0,
            lessons,
            facts: Facts::default(),
        }
    }

    fn update(&mut self, action: MenuAction, cx: &mut Context) -> Vec<Ask> {
        let last = self.lessons.saturating_sub(1);
        match action {
            MenuAction::Help => return vec![Ask::Help(None)],
            MenuAction::Quit => return vec![Ask::Quit],
            MenuAction::Follow => return vec![Ask::Follow],
            MenuAction::Hand => {}
            MenuAction::Up => self.selected = self.selected.saturating_sub(1),
            MenuAction::Down => self.selected = (self.selected + 1).min(last),
            MenuAction::First => self.selected = 0,
            MenuAction::Last => self.selected = last,
            MenuAction::Open => return vec![Ask::Open(Open::Lesson(self.selected))],
            MenuAction::ClearNotice => cx.notice = None,
        }
        Vec::new()
    }
}

impl Component for MenuState {
    fn on_key(&mut self, key: Key, cx: &mut Context) -> Vec<Ask> {
        match action_for(MENU, self, key) {
            Some(action) => self.update(action, cx),
            None => Vec::new(),
        }
    }

    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer) {
        render_menu(cx, self, area, buf);
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

fn render_menu(cx: &Context, menu: &MenuState, area: Rect, buf: &mut Buffer) {
    let theme = &cx.theme;
    let sym = theme.symbols();
    let header = Rect::new(area.x, area.y, area.width, 1);
    let status = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    render_bar(
        theme,
        &format!(
            " cnn-tutor {} how a convolutional network sees, one cell at a time",
            sym.dot
        ),
        &format!("{} lessons ", cx.course.lessons().len()),
        header,
        buf,
    );

    let body_h = area.height - 2;
    let n = cx.course.lessons().len();
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
    let first = menu.selected.saturating_sub(rows.saturating_sub(1));
    let title_w = cx
        .course
        .lessons()
        .iter()
        .enumerate()
        .map(|(i, l)| width(&format!("{}. {}", i + 1, theme.text(l.title()))))
        .max()
        .unwrap_or(0)
        .min(30);
    for (row, (i, lesson)) in cx
        .course
        .lessons()
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + u16::try_from(row).unwrap_or(0);
        let selected = i == menu.selected;
        let p = cx.course.progress().get(lesson.id());
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
        render_menu_detail(cx, menu, detail_area, buf);
    }
    let hints = keys::hints(MENU, menu, theme.symbols());
    render_status(theme, cx.notice.as_deref(), &hints, status, buf);
}

fn render_menu_detail(cx: &Context, menu: &MenuState, area: Rect, buf: &mut Buffer) {
    let theme = &cx.theme;
    let sym = theme.symbols();
    let block = Block::bordered()
        .border_set(theme.border())
        .title(" About this lesson ")
        .title_style(theme.heading());
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(lesson) = cx.course.lessons().get(menu.selected) else {
        return;
    };
    let w = usize::from(inner.width.saturating_sub(2));
    let p = cx.course.progress().get(lesson.id());
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
    for para in cx.course.intro(menu.selected) {
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
