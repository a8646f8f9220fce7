//! A toy screen (scratch): what the app is, opened with `a` on the menu.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::event::Key;
use super::keys::{action_for, hints, Binding, KeySpec, Label};
use super::screen::{Ask, Component, Context};
use super::view::{render_bar, render_status};

/// What a key does on the about screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AboutAction {
    /// Back to the menu.
    Back,
}

/// The about screen's keys.
pub const ABOUT: &[Binding<AboutAction, AboutState>] = &[Binding::new(
    &[KeySpec::Code(super::event::KeyCode::Esc)],
    AboutAction::Back,
)
.hint(0, Label::new(&[super::keys::ESC], "back"))];

/// The about screen (no state of its own).
#[derive(Debug, Default)]
pub struct AboutState;

impl Component for AboutState {
    fn on_key(&mut self, key: Key, _cx: &mut Context) -> Vec<Ask> {
        match action_for(ABOUT, self, key) {
            Some(AboutAction::Back) => vec![Ask::Back],
            None => Vec::new(),
        }
    }

    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer) {
        render_bar(
            &cx.theme,
            " cnn-tutor · about",
            "",
            Rect::new(area.x, area.y, area.width, 1),
            buf,
        );
        let h = hints(ABOUT, self, cx.theme.symbols());
        render_status(
            &cx.theme,
            None,
            &h,
            Rect::new(area.x, area.bottom() - 1, area.width, 1),
            buf,
        );
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
