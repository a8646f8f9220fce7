//! The loss history tab: the training and validation loss of every epoch, and how to read
//! the two curves.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::train::EpochReport;

use super::super::super::theme::Theme;
use super::super::view::{block, render_loss_chart};
use super::Results;

/// Draw the loss history tab.
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let text_h = if area.height >= 24 { 9 } else { 7 };
    let [chart, text] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(text_h)]).areas(area);
    if area.width >= 100 {
        let [c, table] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(44)]).areas(chart);
        render_loss_chart(theme, &r.reports, None, r.epochs, c, buf);
        let mut lines = vec![Line::styled(
            format!(
                "{:>5} {:>11} {:>11} {:>9}",
                "epoch", "training", "validation", "accuracy"
            ),
            theme.heading(),
        )];
        for e in &r.reports {
            lines.push(Line::raw(format!(
                "{:>5} {:>11.6} {:>11.6} {:>8.1}%",
                e.epoch,
                e.train_loss,
                e.val_loss,
                100.0 * e.val_accuracy
            )));
        }
        Paragraph::new(lines)
            .block(block(theme, "Per epoch"))
            .render(table, buf);
    } else {
        render_loss_chart(theme, &r.reports, None, r.epochs, chart, buf);
    }
    let verdict = overfitting_verdict(&r.reports);
    let words = [
        "Both curves should fall. When the validation loss levels off or rises while the \
         training loss keeps falling, the network is memorising its training images instead of \
         learning shapes: overfitting (more epochs will not help; more varied data will).",
        verdict,
    ];
    let lines: Vec<Line> = words
        .iter()
        .map(|w| Line::raw(theme.text(w).into_owned()))
        .collect();
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(block(theme, "Reading the curves"))
        .render(text, buf);
}

/// What this run's curves say.
fn overfitting_verdict(r: &[EpochReport]) -> &'static str {
    if r.len() < 2 {
        return "This run: one epoch is too few to see a trend.";
    }
    let last = &r[r.len() - 1];
    let prev = &r[r.len() - 2];
    let train_falls = last.train_loss < prev.train_loss;
    let val_falls = last.val_loss < prev.val_loss - 1e-3;
    match (train_falls, val_falls) {
        (true, true) => {
            "This run: both losses still fell in the last epoch, so more epochs may still help."
        }
        (true, false) => {
            "This run: training loss fell but validation loss did not in the last epoch: the \
             first sign of overfitting."
        }
        _ => {
            "This run: the training loss has stopped falling; the network has learned what it \
             can with these settings."
        }
    }
}
