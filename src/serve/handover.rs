//! The teacher's console in their own session: the session opens on the class view
//! ([`Console`]); Tab on the menu or Ctrl-T goes to the teacher's own lessons, Ctrl-T
//! comes back. The console's keys become [`ConsoleEffect`]s the class carries out.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::role::{Class, Role};
use crate::tui::console::{self, Console, ConsoleEffect};
use crate::tui::{App, AppEvent, Key, KeyCode, Screen, Theme};

/// The class view a teacher's session shows, and whether it shows it now.
pub(super) struct Handover {
    console: Console,
    /// The class view is showing (not the teacher's own lessons).
    pub(super) on: bool,
    teacher: bool,
}

/// What a key on the class view did.
pub(super) enum ConsoleKey {
    /// The view changed (or not); carry on.
    Stay,
    /// The teacher quit.
    Quit,
}

impl Handover {
    /// The class view of a session in `class` (shown first to the teacher).
    pub(super) fn new(class: &Class) -> Self {
        let teacher = class.role == Role::Teacher;
        Handover {
            console: Console::new(),
            on: teacher,
            teacher,
        }
    }

    /// The teacher's key to the class view: Ctrl-T, or Tab on the menu.
    pub(super) fn takes(&self, key: Key, app: &App) -> bool {
        self.teacher
            && (key == Key::ctrl('t')
                || (key.code == KeyCode::Tab && matches!(app.screen(), Screen::Menu)))
    }

    /// A key on the class view.
    pub(super) fn key(&mut self, key: Key, app: &mut App, class: &Class) -> ConsoleKey {
        let mut outcome = ConsoleKey::Stay;
        for effect in self.console.key(key) {
            match effect {
                ConsoleEffect::ToLessons => {
                    self.on = false;
                    app.set_notice("Ctrl-T: back to the class view");
                }
                ConsoleEffect::Quit => outcome = ConsoleKey::Quit,
                other => {
                    if let Some(n) = class.shared.console_apply(&other) {
                        self.console.notice = Some(n);
                    }
                }
            }
        }
        outcome
    }

    /// Another event on the class view (a paste into its prompt).
    pub(super) fn event(&mut self, event: &AppEvent) {
        self.console.handle(event);
    }

    /// Bring the class view up to date for a terminal `rows` high, before drawing it.
    pub(super) fn refresh(&mut self, class: &Class, rows: u16) {
        self.console.rows_shown = usize::from(rows.saturating_sub(7)).max(1);
        self.console
            .update(class.shared.console_view(&self.console, true));
    }

    /// Draw the class view.
    pub(super) fn render(&self, theme: &Theme, area: Rect, buf: &mut Buffer) {
        console::render(&self.console, theme, area, buf);
    }
}
