//! Drawing the training screen: a pure function of [`TrainingState`]. The title bar and
//! the hint line are drawn here (the hints from the key table); each phase and results
//! tab draws itself in its own module. Shared here: boxes, panel flow, the loss chart.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Widget};

use crate::lesson::frame::Panel;
use crate::train::EpochReport;

use super::super::keys;
use super::super::theme::Theme;
use super::super::view::{render_bar, render_status};
use super::super::widgets::{panel_size, render_panel, PanelStyle};
use super::state::{Phase, TrainingState};
use super::{actions, results, running, runs_view, settings};

/// Draw the training screen into `area`.
pub(crate) fn render(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let [top, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let sym = theme.symbols();
    let dot = sym.dot;
    let (title, elapsed_ms) = match &st.phase {
        Phase::Settings(_) => (format!(" Training {dot} settings"), None),
        Phase::Running(run) => (run.title(dot), Some(run.elapsed_ms)),
        Phase::Stopped(run, running::Stop::Cancelled) => {
            (format!(" Training {dot} cancelled"), Some(run.elapsed_ms))
        }
        Phase::Stopped(run, running::Stop::Failed(_)) => (
            format!(" Training {dot} stopped by an error"),
            Some(run.elapsed_ms),
        ),
        Phase::Results(r) if r.loaded && r.run_id.is_some() => (
            format!(
                " Training {dot} run {} opened again",
                r.run_id.as_deref().unwrap_or("")
            ),
            None,
        ),
        Phase::Results(r) if r.loaded => (
            format!(" Training {dot} a model loaded from its file"),
            None,
        ),
        Phase::Results(r) => (format!(" Training {dot} done"), Some(r.elapsed_ms)),
        Phase::Runs(_) => (format!(" Training {dot} runs kept"), None),
    };
    let right = elapsed_ms.map_or(String::new(), |ms| {
        format!("{} ", fmt_secs(ms as f64 / 1000.0))
    });
    render_bar(theme, &title, &right, top, buf);
    // from the key table (a classroom session's leave out what it refuses)
    // while a path box is open its own line says the keys
    let hints = if st.path_box_open() {
        Vec::new()
    } else {
        keys::hints(actions::TABLE, st, sym)
    };
    let notice = if let Some(p) = st.path_box_shown() {
        Some(p.status(usize::from(status.width)))
    } else if st.paused() {
        Some("paused".to_string())
    } else {
        st.notice.clone()
    };
    render_status(theme, notice.as_deref(), &hints, status, buf);
    match &st.phase {
        Phase::Settings(form) => settings::render(theme, st, form, body, buf),
        Phase::Running(run) => running::render(theme, run, None, body, buf),
        Phase::Stopped(run, stop) => running::render(theme, run, Some(stop), body, buf),
        Phase::Results(r) => results::render(theme, r, body, buf),
        Phase::Runs(v) => runs_view::render(theme, v, body, buf),
    }
}

/// `75s` -> `1m 15s`.
pub(crate) fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A bordered box titled `title`.
pub(crate) fn block<'a>(theme: &Theme, title: &str) -> Block<'a> {
    Block::bordered()
        .border_set(theme.border())
        .title(format!(" {} ", theme.text(title)))
        .title_style(theme.heading())
}

/// Draw panels left to right, wrapping, each at most `max_w` wide (rows as tall as fit).
pub(crate) fn flow_panels(
    theme: &Theme,
    panels: &[Panel],
    area: Rect,
    max_w: u16,
    buf: &mut Buffer,
) -> usize {
    let style = PanelStyle::plain(*theme);
    let places = flow_layout(&style, panels, area, max_w);
    for (p, place) in panels.iter().zip(&places) {
        render_panel(p, &style, *place, buf);
    }
    places.len()
}

/// Where [`flow_panels`] puts each panel that fits (left to right, then down), in order.
pub(crate) fn flow_layout(
    style: &PanelStyle,
    panels: &[Panel],
    area: Rect,
    max_w: u16,
) -> Vec<Rect> {
    let (mut x, mut y, mut row_h) = (area.x, area.y, 0u16);
    let mut places = Vec::new();
    for p in panels {
        let max_h = area.bottom().saturating_sub(y);
        let (w, h) = panel_size(p, style, max_w.min(area.width), max_h.min(max_w / 2 + 2));
        if x + w > area.right() {
            x = area.x;
            y += row_h;
            row_h = 0;
        }
        if y + h > area.bottom() || w == 0 || h == 0 {
            break;
        }
        places.push(Rect::new(x, y, w, h));
        x += w;
        row_h = row_h.max(h);
    }
    places
}

/// A bar of `w` cells, `ratio` full, in the theme's symbols.
pub(crate) fn gauge_text(theme: &Theme, ratio: f64, w: usize) -> String {
    let sym = theme.symbols();
    let full = ((ratio.clamp(0.0, 1.0)) * w as f64).round() as usize;
    let mut s = String::new();
    for i in 0..w {
        s.push_str(if i < full {
            sym.bar_full
        } else {
            sym.bar_empty
        });
    }
    s
}

/// A round upper bound for the loss axis.
fn loss_ceiling(max: f64) -> f64 {
    let m = if max.is_finite() { max } else { 2.5 };
    ((m * 4.0).ceil() / 4.0).max(0.25)
}

/// The loss chart's title: each curve's mark in its colour.
fn loss_legend(theme: &Theme, epochs_only: bool) -> ratatui::text::Line<'static> {
    let colored = |c: Color| {
        if theme.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    };
    let (bm, tm, vm) = if theme.ascii {
        (".", "o", "x")
    } else {
        ("⠂", "•", "█")
    };
    // the legend's marks in their curves' colours
    if epochs_only {
        ratatui::text::Line::from(vec![
            ratatui::text::Span::raw(" Loss per epoch: "),
            ratatui::text::Span::styled(format!("{tm} training"), colored(Color::Cyan)),
            ratatui::text::Span::raw("  "),
            ratatui::text::Span::styled(format!("{vm} validation"), colored(Color::Yellow)),
            ratatui::text::Span::raw(" "),
        ])
    } else {
        ratatui::text::Line::from(vec![
            ratatui::text::Span::raw(" Loss: "),
            ratatui::text::Span::styled(format!("{bm} each batch"), colored(Color::DarkGray)),
            ratatui::text::Span::raw("  "),
            ratatui::text::Span::styled(format!("{tm} training (epoch)"), colored(Color::Cyan)),
            ratatui::text::Span::raw("  "),
            ratatui::text::Span::styled(format!("{vm} validation (epoch)"), colored(Color::Yellow)),
            ratatui::text::Span::raw(" "),
        ])
    }
}

/// The loss chart: batch losses as they come (`batches`; `None` draws the epochs only),
/// and the training and validation loss of every finished epoch, over `epochs` epochs.
pub(crate) fn render_loss_chart(
    theme: &Theme,
    reports: &[EpochReport],
    batches: Option<&[(f64, f64)]>,
    epochs: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    let epochs_only = batches.is_none();
    let train: Vec<(f64, f64)> = reports
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    let val: Vec<(f64, f64)> = reports
        .iter()
        .map(|r| (r.epoch as f64, r.val_loss))
        .collect();
    let batches: &[(f64, f64)] = batches.unwrap_or(&[]);
    let max = batches
        .iter()
        .chain(&train)
        .chain(&val)
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = loss_ceiling(if max > 0.0 { max } else { 1.2 });
    let epochs = epochs.max(1) as f64;
    let x0 = if epochs_only { 1.0f64.min(epochs) } else { 0.0 };
    let (batch_marker, train_marker, val_marker) = if theme.ascii {
        (Marker::Bar, Marker::Dot, Marker::Block)
    } else {
        (Marker::Braille, Marker::Dot, Marker::Block)
    };
    let colored = |c: Color| {
        if theme.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    };
    let mut sets = Vec::new();
    if !epochs_only {
        sets.push(
            Dataset::default()
                .marker(batch_marker)
                .graph_type(GraphType::Scatter)
                .style(colored(Color::DarkGray))
                .data(batches),
        );
    }
    // thin lines between the epochs (Unicode only), then the epoch points on top
    if !theme.ascii {
        for (data, c) in [(&train, Color::Cyan), (&val, Color::Yellow)] {
            sets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(colored(c))
                    .data(data),
            );
        }
    }
    sets.push(
        Dataset::default()
            .marker(train_marker)
            .graph_type(GraphType::Scatter)
            .style(colored(Color::Cyan))
            .data(&train),
    );
    sets.push(
        Dataset::default()
            .marker(val_marker)
            .graph_type(GraphType::Scatter)
            .style(colored(Color::Yellow))
            .data(&val),
    );
    let legend = loss_legend(theme, epochs_only);
    let mid_x = (x0 + epochs) / 2.0;
    let x_labels: Vec<String> = if (epochs - x0) >= 2.0 {
        vec![
            format!("{x0:.0}"),
            format!("{mid_x:.1}").trim_end_matches(".0").to_string(),
            format!("{epochs:.0}"),
        ]
    } else {
        vec![format!("{x0:.0}"), format!("{epochs:.0}")]
    };
    let chart = Chart::new(sets)
        .block(
            Block::bordered()
                .border_set(theme.border())
                .title(legend)
                .title_style(theme.heading()),
        )
        .legend_position(None)
        .x_axis(
            Axis::default()
                .title("epoch")
                .bounds([x0, epochs.max(x0 + 1.0)])
                .labels(x_labels),
        )
        .y_axis(
            Axis::default()
                .title("loss")
                .bounds([0.0, top])
                .labels(vec![
                    "0".to_string(),
                    format!("{:.2}", top / 2.0),
                    format!("{top:.2}"),
                ]),
        );
    chart.render(area, buf);
    if theme.ascii {
        ascii_area(buf, area);
    }
}

/// Replace the chart's Unicode drawing characters with ASCII ones.
fn ascii_area(buf: &mut Buffer, area: Rect) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let Some(cell) = buf.cell_mut((x, y)) else {
                continue;
            };
            let sym = cell.symbol();
            if sym.is_ascii() {
                continue;
            }
            let to = match sym {
                "│" | "┃" => "|",
                "─" | "━" => "-",
                "└" | "┌" | "┐" | "┘" => "+",
                "•" => "o",
                "█" => "x",
                "▄" | "▀" => ".",
                _ => "*",
            };
            cell.set_symbol(to);
        }
    }
}
