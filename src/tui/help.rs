//! The help overlay: every key the app knows, by section, over the screen that opened it,
//! and its own key table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::event::Key;
use super::keys::{action_for, Binding, Label};
use super::menu::QUIT;
use super::screen::{Ask, Component, Context, Facts};
use super::theme::Theme;
use super::widgets::width;

use super::keys::KeySpec::Char;
use super::keys::{DOWN, END, ENTER, ESC, HOME, PGDN, PGUP, UP};

/// What a key does while the help overlay is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpAction {
    /// End the app.
    Quit,
    /// Stop following the teacher (a classroom student).
    Follow,
    /// Close the overlay.
    Close,
    /// Scroll one line up.
    Up,
    /// Scroll one line down.
    Down,
    /// Scroll a page up.
    PageUp,
    /// Scroll a page down.
    PageDown,
    /// To the top.
    Top,
    /// To the bottom.
    Bottom,
}

type HelpBinding = Binding<HelpAction, HelpState>;

/// The help overlay's keys (its frame shows the `Close` hint).
pub const HELP: &[HelpBinding] = &[
    HelpBinding::new(QUIT, HelpAction::Quit),
    HelpBinding::new(&[Char('f')], HelpAction::Follow).when(|h| h.facts.following()),
    HelpBinding::new(&[ESC, Char('?'), ENTER], HelpAction::Close)
        .hint(0, Label::new(&[ESC, Char('?')], "closes").sep(" or ")),
    HelpBinding::new(&[UP, Char('k')], HelpAction::Up),
    HelpBinding::new(&[DOWN, Char('j')], HelpAction::Down),
    HelpBinding::new(&[PGUP], HelpAction::PageUp),
    HelpBinding::new(&[PGDN], HelpAction::PageDown),
    HelpBinding::new(&[HOME], HelpAction::Top),
    HelpBinding::new(&[END], HelpAction::Bottom),
];

/// The open help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpState {
    /// The first line shown.
    pub scroll: u16,
    /// The section it opened at, until the keys scroll it: drawn at that section's
    /// place in whatever layout the terminal's size gives (one column or two).
    section: Option<String>,
    /// The app facts its keys read.
    facts: Facts,
}

impl HelpState {
    /// The help scrolled to `scroll`.
    pub fn new(scroll: u16) -> Self {
        HelpState {
            scroll,
            section: None,
            facts: Facts::default(),
        }
    }

    /// The help opened at `section`'s keys (as far as it scrolls in `cx`'s size), or at
    /// the top.
    pub fn at(section: Option<&str>, cx: &Context) -> Self {
        let mut h = HelpState::new(section.map_or(0, |s| help_scroll_to(&cx.theme, cx.area(), s)));
        h.section = section.map(str::to_string);
        h
    }

    /// The first line shown in `area`.
    fn scroll_in(&self, theme: &Theme, area: Rect) -> u16 {
        match &self.section {
            Some(s) => help_scroll_to(theme, area, s),
            None => self.scroll.min(help_max_scroll(theme, area)),
        }
    }
}

impl Component for HelpState {
    fn on_key(&mut self, key: Key, cx: &mut Context) -> Vec<Ask> {
        let Some(action) = action_for(HELP, self, key) else {
            return Vec::new();
        };
        let max = help_max_scroll(&cx.theme, cx.area());
        let scroll = self.scroll_in(&cx.theme, cx.area());
        self.section = None;
        self.scroll = match action {
            HelpAction::Quit => return vec![Ask::Quit],
            HelpAction::Follow => return vec![Ask::Follow],
            HelpAction::Close => return vec![Ask::Back],
            HelpAction::Up => scroll.saturating_sub(1),
            HelpAction::Down => (scroll + 1).min(max),
            HelpAction::PageUp => scroll.saturating_sub(10),
            HelpAction::PageDown => (scroll + 10).min(max),
            HelpAction::Top => 0,
            HelpAction::Bottom => max,
        };
        Vec::new()
    }

    fn on_resize(&mut self, cx: &Context) {
        self.scroll = self.scroll_in(&cx.theme, cx.area());
    }

    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer) {
        render_help(self, &cx.theme, area, buf);
    }

    fn set_facts(&mut self, facts: Facts) {
        self.facts = facts;
    }

    fn is_overlay(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// Every key the app knows, by section, as the help overlay lists them (the help rows of
/// the menu's, lesson's and editor's key tables). A key starting with `#` is a section title.
pub(crate) fn help_lines(theme: &Theme) -> Vec<(String, String)> {
    use super::keys::{help_rows, help_sections};
    use super::lesson_screen::{EDIT, LESSON};
    use super::menu::MENU;
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
fn help_closes(help: &HelpState, theme: &Theme) -> String {
    super::keys::hints(HELP, help, theme.symbols())
        .iter()
        .map(|(k, what)| format!(" {k} {what} "))
        .collect()
}

fn render_help(help: &HelpState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let scroll = help.scroll_in(theme, area);
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
        .title_bottom(Line::from(help_closes(help, theme)).right_aligned());
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
