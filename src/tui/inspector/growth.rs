//! The inspector's `g`: how the first layer's filters grew through the run that trained
//! the model, drawn by the training screen's filters tab ([`render_tab`]) from the run's
//! [`FilterHistory`](crate::train::growth::FilterHistory); a model read from a file has
//! none, and the view says so.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::state::{Focus, InspectorState};
use crate::tui::theme::Theme;
use crate::tui::training::{render_filters, Filters};

impl InspectorState {
    /// Show the filters through the epochs (the run's last epoch first), with the feature
    /// maps of the run's first validation image (when the history kept them), else of
    /// the image shown.
    pub(super) fn open_growth(&mut self) {
        let image = match (&self.history, self.validation_image(0)) {
            (Some(h), Some(first)) if h.map_size.0 > 0 => first.to_vec(),
            _ => self.pixels().to_vec(),
        };
        let g = Filters::for_image(self.history.clone(), self.explorer().net(), Some(&image));
        self.growth = Some(g);
        self.focus = Focus::Growth;
    }
}

/// Draw the view in `area` (below the inspector's header).
pub(super) fn render(theme: &Theme, st: &InspectorState, area: Rect, buf: &mut Buffer) {
    let Some(g) = &st.growth else {
        return;
    };
    let title = match &st.history {
        Some(h) => format!(
            "How {} grew through the run (maps of {})",
            h.layer,
            h.image.as_deref().unwrap_or("the image shown")
        ),
        None => "The first layer's filters (no history: see the note)".into(),
    };
    buf.set_stringn(
        area.x,
        area.y,
        theme.text(&title),
        usize::from(area.width),
        theme.heading(),
    );
    let rest = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(1),
    );
    render_filters(theme, g, st.explorer().net(), rest, buf);
}
