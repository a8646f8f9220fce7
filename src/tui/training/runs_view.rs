//! The Runs view (issue 24): the runs kept in the runs folder (see
//! [`crate::train::runs`]) as a list (short network, parameters, epochs, best validation
//! accuracy, final losses, seconds), sorted by a key; marked runs (two or more) overlay
//! their loss and accuracy curves in one chart each, every run drawn with its own letter
//! (so the curves part without colour and in ASCII) and named in a legend; Enter opens a
//! run's results again from its kept weights. The list comes in through an effect
//! (`Effect::ListRuns`); this module reads no file.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::text::Dec;
use crate::train::runs::RunRecord;

use super::super::theme::Theme;
use super::super::widgets::truncate;
use super::results::Results;
use super::view::block;

/// Most runs marked at once (each gets a letter).
pub const MAX_MARKED: usize = 8;

/// How the list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunSort {
    /// Newest first.
    Time,
    /// Best validation accuracy first.
    Accuracy,
    /// Fewest parameters first.
    Params,
    /// Quickest first.
    Seconds,
}

impl RunSort {
    /// The next order (`s`).
    pub fn next(self) -> RunSort {
        match self {
            RunSort::Time => RunSort::Accuracy,
            RunSort::Accuracy => RunSort::Params,
            RunSort::Params => RunSort::Seconds,
            RunSort::Seconds => RunSort::Time,
        }
    }

    /// Its words in the title.
    pub fn label(self) -> &'static str {
        match self {
            RunSort::Time => "newest first",
            RunSort::Accuracy => "best accuracy first",
            RunSort::Params => "fewest parameters first",
            RunSort::Seconds => "quickest first",
        }
    }
}

/// The Runs view's state.
#[derive(Debug)]
pub struct RunsView {
    /// The runs, oldest first (run `#n` is `records[n - 1]`); `None` until listed.
    pub records: Option<Vec<RunRecord>>,
    /// How the list is sorted.
    pub sort: RunSort,
    /// The selected row (in sorted order).
    pub selected: usize,
    /// Marked runs, by id, in the order they were marked.
    pub marked: Vec<String>,
    /// The results it was opened from (Esc goes back to them); `None`: the settings.
    pub back: Option<Box<Results>>,
}

impl RunsView {
    /// The view before its list arrives.
    pub fn new(back: Option<Box<Results>>) -> RunsView {
        RunsView {
            records: None,
            sort: RunSort::Time,
            selected: 0,
            marked: Vec::new(),
            back,
        }
    }

    /// The list arrived (marks of runs no longer kept are dropped).
    pub fn set_records(&mut self, records: Vec<RunRecord>) {
        self.marked.retain(|id| records.iter().any(|r| &r.id == id));
        self.selected = self.selected.min(records.len().saturating_sub(1));
        self.records = Some(records);
    }

    /// Record indices in the order shown.
    pub fn order(&self) -> Vec<usize> {
        let Some(rs) = &self.records else {
            return Vec::new();
        };
        let mut idx: Vec<usize> = (0..rs.len()).collect();
        let by = |a: f64, b: f64| a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal);
        match self.sort {
            RunSort::Time => idx.reverse(),
            RunSort::Accuracy => {
                idx.sort_by(|&a, &b| by(rs[b].best_accuracy(), rs[a].best_accuracy()));
            }
            RunSort::Params => idx.sort_by_key(|&i| rs[i].config.params),
            RunSort::Seconds => idx.sort_by(|&a, &b| by(rs[a].seconds, rs[b].seconds)),
        }
        idx
    }

    /// The selected run.
    pub fn selected_run(&self) -> Option<&RunRecord> {
        let i = *self.order().get(self.selected)?;
        self.records.as_ref()?.get(i)
    }

    /// Move the selection by `by` rows.
    pub fn step(&mut self, by: isize) {
        let n = self.order().len();
        if n == 0 {
            return;
        }
        self.selected = self.selected.saturating_add_signed(by).min(n - 1);
    }

    /// The next sort order (the selection stays on the same run).
    pub fn cycle_sort(&mut self) {
        let id = self.selected_run().map(|r| r.id.clone());
        self.sort = self.sort.next();
        if let Some(id) = id {
            let rs = self.records.as_deref().unwrap_or(&[]);
            if let Some(p) = self.order().iter().position(|&i| rs[i].id == id) {
                self.selected = p;
            }
        }
    }

    /// Mark or unmark the selected run: a notice when no more can be marked.
    pub fn toggle_mark(&mut self) -> Option<String> {
        let id = self.selected_run()?.id.clone();
        if let Some(p) = self.marked.iter().position(|m| *m == id) {
            self.marked.remove(p);
            None
        } else if self.marked.len() >= MAX_MARKED {
            Some(format!("at most {MAX_MARKED} runs are marked at once"))
        } else {
            self.marked.push(id);
            None
        }
    }

    /// Run `#n` of a record (1-based, oldest first).
    fn number(&self, id: &str) -> usize {
        self.records
            .as_deref()
            .and_then(|rs| rs.iter().position(|r| r.id == id))
            .map_or(0, |i| i + 1)
    }

    /// The marked runs, in marking order, with their letter.
    pub fn marked_runs(&self) -> Vec<(char, &RunRecord)> {
        let rs = self.records.as_deref().unwrap_or(&[]);
        self.marked
            .iter()
            .filter_map(|id| rs.iter().find(|r| &r.id == id))
            .zip('A'..='Z')
            .map(|(r, c)| (c, r))
            .collect()
    }

    /// A run's short label: `#3 smaller lr0.01`.
    pub fn label(&self, r: &RunRecord) -> String {
        format!(
            "#{} {} lr{}",
            self.number(&r.id),
            r.arch_short(),
            r.config.lr as f32
        )
    }
}

const COLORS: [Color; MAX_MARKED] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::Red,
    Color::Blue,
    Color::LightCyan,
    Color::LightYellow,
];

fn run_style(theme: &Theme, i: usize) -> Style {
    if theme.color {
        Style::new().fg(COLORS[i % COLORS.len()])
    } else {
        Style::new()
    }
}

/// Draw the view: the list, and with two or more runs marked the legend and the charts.
pub(crate) fn render(theme: &Theme, v: &RunsView, area: Rect, buf: &mut Buffer) {
    let marked = v.marked_runs();
    if marked.len() < 2 {
        render_list(theme, v, area, buf);
        return;
    }
    // the list as tall as its rows (a third of the height at most), the legend on as
    // many lines as it takes
    let rows = v.records.as_ref().map_or(0, Vec::len) as u16;
    let list_h = (rows + 3).clamp(5, (area.height / 3).max(5));
    let legend_w: usize = marked
        .iter()
        .map(|(_, r)| v.label(r).chars().count() + 4)
        .sum();
    let legend_h = if legend_w <= usize::from(area.width) {
        1
    } else {
        2
    };
    let [list, legend, charts] = Layout::vertical([
        Constraint::Length(list_h),
        Constraint::Length(legend_h),
        Constraint::Min(4),
    ])
    .areas(area);
    render_list(theme, v, list, buf);
    render_legend(theme, v, &marked, legend, buf);
    let [loss, acc] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    let most = marked
        .iter()
        .map(|(_, r)| r.epochs.len())
        .max()
        .unwrap_or(1);
    let mut loss_series = Vec::new();
    let mut acc_series = Vec::new();
    let mut top = 0.0f64;
    for (i, (c, r)) in marked.iter().enumerate() {
        let style = run_style(theme, i);
        let val: Vec<(f64, f64)> = r
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, e.val_loss))
            .collect();
        let train: Vec<(f64, f64)> = r
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, e.train_loss))
            .collect();
        top = val.iter().chain(&train).map(|p| p.1).fold(top, f64::max);
        loss_series.push(Series {
            mark: c.to_ascii_lowercase(),
            style,
            points: train,
        });
        loss_series.push(Series {
            mark: *c,
            style,
            points: val,
        });
        let accs = r
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, 100.0 * e.val_accuracy))
            .collect();
        acc_series.push(Series {
            mark: *c,
            style,
            points: accs,
        });
    }
    let top = if top > 0.0 { top * 1.05 } else { 1.0 };
    // accuracy from the tens below the lowest point, so the curves part
    let low = acc_series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(100.0f64, f64::min);
    let floor = ((low / 10.0).floor() * 10.0).clamp(0.0, 90.0);
    let plot = |title: &str, series: &[Series], y: (f64, f64), area: Rect, buf: &mut Buffer| {
        plot(theme, title, series, most, y, area, buf);
    };
    plot(
        "Loss (A validation, a training)",
        &loss_series,
        (0.0, top),
        loss,
        buf,
    );
    plot(
        "Validation accuracy %",
        &acc_series,
        (floor, 100.0),
        acc,
        buf,
    );
}

fn render_list(theme: &Theme, v: &RunsView, area: Rect, buf: &mut Buffer) {
    let title = match &v.records {
        Some(rs) => format!("Runs ({}, {})", rs.len(), v.sort.label()),
        None => "Runs".to_string(),
    };
    let b = block(theme, &title);
    let inner = b.inner(area);
    b.render(area, buf);
    let w = usize::from(inner.width);
    let ell = theme.symbols().ellipsis;
    let Some(rs) = &v.records else {
        Paragraph::new("reading the runs ...").render(inner, buf);
        return;
    };
    if rs.is_empty() {
        let text = "No runs kept yet: every run you train here (and every `cnn-tutor train`) \
                    is kept. Esc, then s to train one.";
        let lines: Vec<Line> = crate::tui::wrap(&theme.text(text), w.max(1))
            .into_iter()
            .map(Line::raw)
            .collect();
        Paragraph::new(lines).render(inner, buf);
        return;
    }
    let wide = w >= 100;
    let id_col = if wide {
        format!("{:<18}", "ID")
    } else {
        String::new()
    };
    let head = format!(
        "    {:<4}{id_col}{:<17}{:>8} {:>6} {:>7} {:>7} {:>7} {:>7}",
        "#", "network", "params", "epochs", "best", "train", "val", "secs"
    );
    let mut lines = vec![Line::styled(truncate(&head, w, ell), theme.heading())];
    let rows = usize::from(inner.height).saturating_sub(1);
    let order = v.order();
    // the window keeps the selected row in sight
    let first = v.selected.saturating_sub(rows.saturating_sub(1));
    let letters = v.marked_runs();
    for (pos, &i) in order.iter().enumerate().skip(first).take(rows) {
        let r = &rs[i];
        let letter = letters.iter().find(|(_, m)| m.id == r.id).map(|(c, _)| *c);
        let mark = letter.map_or("[ ]".to_string(), |c| format!("[{c}]"));
        let (train, val) = r.final_losses().unwrap_or((f64::NAN, f64::NAN));
        let epochs = if r.stopped {
            format!("{}/{}", r.epochs.len(), r.config.epochs)
        } else {
            r.epochs.len().to_string()
        };
        let id = if wide {
            format!("{:<18}", r.id)
        } else {
            String::new()
        };
        let short = truncate(&r.arch_short(), 16, ell);
        let text = format!(
            "{mark} {:<4}{id}{short:<17}{:>8} {:>6} {:>6.1}% {:>7.3} {:>7.3} {:>7.1}",
            format!("#{}", i + 1),
            r.config.params,
            epochs,
            Dec::of(100.0 * r.best_accuracy()),
            Dec::of(train),
            Dec::of(val),
            Dec::of(r.seconds)
        );
        let text = truncate(&theme.text(&text), w, ell);
        let style = if pos == v.selected {
            theme.selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(text, style));
    }
    if letters.len() < 2 && rows > rs.len() {
        lines.push(Line::raw(""));
        let hint = "Space marks a run: mark two or more to overlay their curves. Enter opens \
                    a run's results again.";
        for l in crate::tui::wrap(&theme.text(hint), w.max(1)) {
            lines.push(Line::styled(l, theme.dim()));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

fn render_legend(
    theme: &Theme,
    v: &RunsView,
    marked: &[(char, &RunRecord)],
    area: Rect,
    buf: &mut Buffer,
) {
    let mut spans = Vec::new();
    for (i, (c, r)) in marked.iter().enumerate() {
        spans.push(Span::styled(
            format!("{c} "),
            run_style(theme, i).patch(theme.heading()),
        ));
        spans.push(Span::styled(
            format!("{}  ", theme.text(&v.label(r))),
            run_style(theme, i),
        ));
    }
    let w = usize::from(area.width);
    // wrapped by hand: span by span onto as many lines as the area has
    let mut lines: Vec<Line> = vec![Line::default()];
    let mut used = 0usize;
    for pair in spans.chunks(2) {
        let len: usize = pair.iter().map(|s| s.content.chars().count()).sum();
        if used + len > w && used > 0 {
            lines.push(Line::default());
            used = 0;
        }
        if let Some(l) = lines.last_mut() {
            l.spans.extend(pair.iter().cloned());
        }
        used += len;
    }
    Paragraph::new(lines).render(area, buf);
}

/// One curve: its letter at each point, dots between.
struct Series {
    mark: char,
    style: Style,
    points: Vec<(f64, f64)>,
}

/// A small chart drawn cell by cell: y labels on the left, epochs 1..=`most` along the
/// bottom, each series' points as its letter joined by dots (letters drawn last).
fn plot(
    theme: &Theme,
    title: &str,
    series: &[Series],
    most: usize,
    (lo, hi): (f64, f64),
    area: Rect,
    buf: &mut Buffer,
) {
    let b = block(theme, title);
    let inner = b.inner(area);
    b.render(area, buf);
    let label_w = 6u16;
    if inner.width <= label_w + 2 || inner.height < 3 {
        return;
    }
    let plot_h = inner.height - 1;
    let x0 = inner.x + label_w;
    let plot_w = inner.width - label_w;
    let span = (hi - lo).max(1e-9);
    let col = |x: f64| -> u16 {
        let t = if most <= 1 {
            0.5
        } else {
            (x - 1.0) / (most - 1) as f64
        };
        x0 + (t.clamp(0.0, 1.0) * f64::from(plot_w - 1)).round() as u16
    };
    let row = |y: f64| -> u16 {
        let t = ((y - lo) / span).clamp(0.0, 1.0);
        inner.y + plot_h - 1 - (t * f64::from(plot_h - 1)).round() as u16
    };
    let fmt = |v: f64| {
        if hi > 10.0 {
            format!("{:>5.0}", Dec::of(v))
        } else {
            format!("{:>5.2}", Dec::of(v))
        }
    };
    for (y, v) in [(inner.y, hi), (inner.y + plot_h - 1, lo)] {
        buf.set_string(inner.x, y, fmt(v), theme.dim());
    }
    let axis = if theme.ascii { "|" } else { "│" };
    for y in inner.y..inner.y + plot_h {
        buf.set_string(x0 - 1, y, axis, theme.dim());
    }
    let bottom = inner.y + plot_h;
    buf.set_string(x0 - 1, bottom, "epoch 1", theme.dim());
    let last = format!("{most}");
    buf.set_string(x0 + plot_w - last.len() as u16, bottom, &last, theme.dim());
    let dot = if theme.ascii { "." } else { "·" };
    for s in series {
        for w in s.points.windows(2) {
            let (c0, c1) = (col(w[0].0), col(w[1].0));
            for c in c0 + 1..c1 {
                let t = f64::from(c - c0) / f64::from(c1 - c0);
                let y = w[0].1 + t * (w[1].1 - w[0].1);
                buf.set_string(c, row(y), dot, s.style);
            }
        }
    }
    for s in series {
        for &(x, y) in &s.points {
            if y.is_finite() {
                buf.set_string(col(x), row(y), s.mark.to_string(), s.style);
            }
        }
    }
}
