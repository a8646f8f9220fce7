//! The loss history tab: the training and validation loss of every epoch, and how to read
//! the two curves.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::train::EpochReport;

use super::super::super::theme::Theme;
use super::super::super::widgets::wrap;
use super::super::view::{block, render_loss_chart};
use super::Results;
use crate::text::Dec;

/// Draw the loss history tab.
pub(crate) fn render(theme: &Theme, r: &Results, area: Rect, buf: &mut Buffer) {
    let words = reading_words(r);
    // the words get the rows they need (the chart keeps at least 6), so no sentence is cut
    let needed: usize = words
        .iter()
        .map(|w| wrap(&theme.text(w), usize::from(area.width.saturating_sub(2))).len())
        .sum::<usize>()
        + 2;
    let text_h = u16::try_from(needed)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(6));
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
                Dec::of(e.train_loss),
                Dec::of(e.val_loss),
                Dec::of(100.0 * e.val_accuracy)
            )));
        }
        Paragraph::new(lines)
            .block(block(theme, "Per epoch"))
            .render(table, buf);
    } else {
        render_loss_chart(theme, &r.reports, None, r.epochs, chart, buf);
    }
    let lines: Vec<Line> = words
        .iter()
        .map(|w| Line::raw(theme.text(w).into_owned()))
        .collect();
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(block(theme, "Reading the curves"))
        .render(text, buf);
}

/// The "Reading the curves" paragraphs: how to read them, why validation can be lower,
/// and what this run's curves say.
fn reading_words(r: &Results) -> [&'static str; 3] {
    let verdict = if r.reports.is_empty() && r.loaded {
        "This model was loaded from a file that records no loss history (saved by an older \
         version or by PyTorch): train it here to see its curves."
    } else {
        overfitting_verdict(&r.reports)
    };
    [
        "Both curves should fall. If validation levels off or rises while training keeps \
         falling, the network memorises its training images: overfitting (more varied data \
         helps, more epochs do not).",
        "Validation can sit below training: dropout is on only while training, and the \
         training loss is averaged over the epoch while the weights were still improving.",
        verdict,
    ]
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
