//! The inspector on the app's stack: its outcomes and effects become the router's
//! [`Ask`]s.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::super::event::Key;
use super::super::screen::{Ask, Component, Context};
use super::super::training::Done;
use super::{InspectorState, Outcome};

impl Component for InspectorState {
    fn on_key(&mut self, key: Key, _cx: &mut Context) -> Vec<Ask> {
        let (outcome, effects) = self.key(key);
        let mut asks: Vec<Ask> = effects.into_iter().map(Ask::Run).collect();
        match outcome {
            Outcome::Stay => {}
            Outcome::Help => asks.push(Ask::Help(None)),
            Outcome::Quit => asks.push(Ask::Quit),
            Outcome::Back => asks.push(Ask::Back),
        }
        asks
    }

    fn on_paste(&mut self, line: &str) {
        self.paste(line);
    }

    fn on_done(&mut self, done: Done, _cx: &mut Context) -> Vec<Ask> {
        self.done(done);
        Vec::new()
    }

    fn draw(&self, cx: &Context, area: Rect, buf: &mut Buffer) {
        super::view::render(&cx.theme, self, area, buf);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
