//! Drawing the training screen: a pure function of [`TrainingState`].

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use crate::backend::DeviceChoice;
use crate::lesson::frame::{Bars, Grid, ImagePanel, Panel};

use super::super::theme::Theme;
use super::super::view::{render_bar, render_status};
use super::super::widgets::{panel_size, render_panel, truncate, width, PanelStyle};
use super::state::{best, chw_to_rgb, Phase, ResultsTab, SettingField, TrainingState};

/// Draw the training screen into `area`.
pub(crate) fn render(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let [top, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let sym = theme.symbols();
    let title = match &st.phase {
        Phase::Settings => format!(" Training {} settings", sym.dot),
        Phase::Running if st.queue_position().is_some() => format!(" Training {} queued", sym.dot),
        Phase::Running if st.epoch == 0 => format!(" Training {} getting ready", sym.dot),
        Phase::Running => format!(
            " Training {} epoch {}/{} {} {}",
            sym.dot, st.epoch, st.epochs, sym.dot, st.device
        ),
        Phase::Done => format!(" Training {} done", sym.dot),
        Phase::Cancelled => format!(" Training {} cancelled", sym.dot),
        Phase::Failed(_) => format!(" Training {} stopped by an error", sym.dot),
    };
    let right = if st.phase == Phase::Settings {
        String::new()
    } else {
        format!("{} ", fmt_secs(st.elapsed_ms as f64 / 1000.0))
    };
    render_bar(theme, &title, &right, top, buf);
    let k = |s: &str| s.to_string();
    let mut hints: Vec<(String, &str)> = match &st.phase {
        Phase::Settings => vec![
            (format!("{}/{}", sym.up, sym.down), "choose"),
            (format!("{}/{}", sym.left, sym.right), "change"),
            (k("0-9"), "type"),
            (k("Enter/s"), "start"),
            (k("Esc"), "back"),
            (k("L"), "load saved model"),
            (k("q"), "quit"),
        ],
        Phase::Running => vec![
            (k("p"), if st.paused { "resume" } else { "pause" }),
            (k("Esc"), "cancel"),
            (k("q"), "cancel and quit"),
        ],
        Phase::Done => {
            let mut h = vec![(k("1-4/Tab"), "tabs")];
            match st.tab {
                ResultsTab::Evaluation => h.push((k("arrows"), "cell")),
                ResultsTab::Filters => h.push((format!("{}/{}", sym.left, sym.right), "filter")),
                ResultsTab::Predict => {
                    h.push((k("n"), "new shape"));
                    h.push((k("o"), "open a file"));
                }
                ResultsTab::Loss => {}
            }
            h.extend([
                (k("w"), "save"),
                (k("L"), "load"),
                (k("r"), "retrain"),
                (k("Esc"), "back"),
                (k("q"), "quit"),
            ]);
            h
        }
        Phase::Cancelled | Phase::Failed(_) => vec![
            (k("s"), "start again"),
            (k("e"), "settings"),
            (k("Esc"), "back"),
            (k("q"), "quit"),
        ],
    };
    if st.prefs.restricted {
        // a classroom session reads no files on the server
        hints.retain(|(key, _)| key != "L" && key != "o");
    }
    let notice = if let Some(p) = &st.path_input {
        Some(format!("image file: {p}_  (Enter classify, Esc cancel)"))
    } else if st.paused {
        Some("paused".to_string())
    } else {
        st.notice.clone()
    };
    render_status(theme, notice.as_deref(), &hints, status, buf);
    match &st.phase {
        Phase::Settings => render_settings(theme, st, body, buf),
        Phase::Running | Phase::Cancelled | Phase::Failed(_) => {
            render_live(theme, st, body, buf);
        }
        Phase::Done => render_results(theme, st, body, buf),
    }
}

/// `75s` -> `1m 15s`.
fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn block<'a>(theme: &Theme, title: &str) -> Block<'a> {
    Block::bordered()
        .border_set(theme.border())
        .title(format!(" {} ", theme.text(title)))
        .title_style(theme.heading())
}

// ------------------------------------------------------------------------------ settings

fn render_settings(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let s = &st.prefs.settings;
    let sym = theme.symbols();
    let mut lines: Vec<Line> = vec![
        Line::styled("Settings for this run", theme.heading()),
        Line::raw(""),
    ];
    for (i, f) in SettingField::ALL.iter().enumerate() {
        let selected = i == st.field;
        let value = if selected && !st.input.is_empty() {
            format!("{}_", st.input)
        } else {
            match f {
                SettingField::Epochs => s.epochs.to_string(),
                SettingField::BatchSize => s.batch_size.to_string(),
                SettingField::Lr => s.lr.to_string(),
                SettingField::Seed => s.seed.to_string(),
                SettingField::Device => match s.device {
                    DeviceChoice::Cpu => "cpu".into(),
                    DeviceChoice::Auto => "auto (GPU if any, else CPU)".into(),
                    DeviceChoice::Cuda => match &st.cuda_unavailable {
                        Some(_) => "cuda (unavailable here)".into(),
                        None => "cuda".into(),
                    },
                },
            }
        };
        let pointer = if selected { sym.pointer } else { " " };
        let label = format!(" {pointer} {:<14}", f.label());
        let style = if selected {
            theme.selected()
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(label),
            Span::styled(format!(" {value} "), style),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Press Enter (or s) to start training with these settings.",
        theme.emphasis(),
    ));
    if let (DeviceChoice::Cuda, Some(why)) = (s.device, &st.cuda_unavailable) {
        lines.push(Line::raw(format!("cuda: {why}")));
    }
    let total = "The seed trains 5 epochs of batches of 50 with Adam at lr 0.001; each epoch \
                 ends with a pass over the validation images.";
    lines.push(Line::raw(total));
    lines.push(Line::raw(param_line(st.data.classes.len().max(1))));
    let text: Vec<Line> = lines
        .into_iter()
        .map(|l| {
            Line::from(
                l.spans
                    .into_iter()
                    .map(|sp| Span::styled(theme.text(&sp.content).into_owned(), sp.style))
                    .collect::<Vec<_>>(),
            )
            .style(l.style)
        })
        .collect();
    let (set_area, data_area) = if area.width >= 100 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(area);
        (a, Some(b))
    } else if area.height >= 22 {
        let [a, b] = Layout::vertical([Constraint::Min(8), Constraint::Length(9)]).areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .block(block(theme, "Settings"))
        .render(set_area, buf);
    if let Some(d) = data_area {
        render_data(theme, st, d, buf);
    }
}

/// The weights to learn, per layer: `conv1 336 + conv2 1308 + ... = 77991`.
fn param_line(classes: usize) -> String {
    let mut per_layer: Vec<(String, usize)> = Vec::new();
    for (name, shape) in crate::nn::net::param_specs(classes) {
        let layer = name.split('.').next().unwrap_or(name).to_string();
        let n: usize = shape.iter().product();
        match per_layer.last_mut() {
            Some((l, c)) if *l == layer => *c += n,
            _ => per_layer.push((layer, n)),
        }
    }
    let total: usize = per_layer.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = per_layer.iter().map(|(l, n)| format!("{l} {n}")).collect();
    format!("Weights to learn: {} = {total}", parts.join(" + "))
}

/// The data: the first image of each class, the counts, what normalising does.
fn render_data(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "The data");
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height < 3 {
        return;
    }
    let w = usize::from(inner.width);
    let ell = theme.symbols().ellipsis;
    buf.set_stringn(
        inner.x,
        inner.y,
        truncate(&theme.text(&st.data.note), w, ell),
        w,
        Style::new(),
    );
    let norm = "Normalised to mean 0.5, std 0.5: a pixel p becomes (p/255 - 0.5)/0.5, so white \
                (255) is 1, black (0) is -1 and mid-grey (128) about 0.";
    let norm_lines = super::super::widgets::wrap(&theme.text(norm), w);
    let norm_h = u16::try_from(norm_lines.len())
        .unwrap_or(2)
        .min(inner.height - 2);
    let panels: Vec<Panel> = st
        .data
        .classes
        .iter()
        .map(|c| {
            Panel::Image(ImagePanel {
                label: format!("{} ({})", c.name, c.count),
                width: if c.rgb.is_some() {
                    crate::data::IMAGE_SIZE
                } else {
                    0
                },
                height: if c.rgb.is_some() {
                    crate::data::IMAGE_SIZE
                } else {
                    0
                },
                rgb: c.rgb.clone().unwrap_or_default(),
            })
        })
        .collect();
    let img_h = inner.height.saturating_sub(1 + norm_h);
    let img_area = Rect::new(inner.x, inner.y + 1, inner.width, img_h);
    let max_w = (inner.width / 3).clamp(10, 26);
    flow_panels(theme, &panels, img_area, max_w, buf);
    for (i, l) in norm_lines.iter().take(usize::from(norm_h)).enumerate() {
        let y = inner.y + 1 + img_h + u16::try_from(i).unwrap_or(0);
        buf.set_stringn(inner.x, y, l, w, theme.dim());
    }
}

// ------------------------------------------------------------------------------ live

/// A bar of `w` cells, `ratio` full, in the theme's symbols.
fn gauge_text(theme: &Theme, ratio: f64, w: usize) -> String {
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

fn render_live(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let [prog, rest] = Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(area);
    render_progress(theme, st, prog, buf);
    if rest.width >= 100 {
        let [chart, log] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(rest);
        render_loss_chart(theme, st, false, chart, buf);
        render_log(theme, st, log, buf);
    } else {
        let log_h = if rest.height >= 16 { 6 } else { 4 };
        let [chart, log] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(log_h)]).areas(rest);
        render_loss_chart(theme, st, false, chart, buf);
        render_log(theme, st, log, buf);
    }
}

fn render_progress(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "Progress");
    let inner = b.inner(area);
    b.render(area, buf);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    let head = match &st.phase {
        Phase::Running if st.queue_position().is_some() => format!(
            "queued: you are number {} in line (others are training; Esc leaves the line)",
            st.queue_position().unwrap_or(1)
        ),
        Phase::Running if st.epoch == 0 => {
            let last = st.log.back().map_or("", String::as_str);
            format!("Getting ready: {last}")
        }
        Phase::Cancelled => format!(
            "Cancelled in epoch {} at [{}/{}]; no model was written.",
            st.epoch.max(1),
            st.images_done,
            st.train_size
        ),
        Phase::Failed(e) => format!("Stopped: {e}"),
        _ => {
            let loss = st.loss.map_or("-".to_string(), |l| format!("{l:.6}"));
            let left = st
                .seconds_left()
                .map_or(String::new(), |s| format!("  about {} left", fmt_secs(s)));
            format!(
                "Epoch {}/{}  [{}/{}]  batch {}/{}  loss {loss}  {:.0} images/s{left}",
                st.epoch,
                st.epochs,
                st.images_done,
                st.train_size,
                st.batch,
                st.batches,
                st.images_per_second
            )
        }
    };
    lines.push(Line::raw(truncate(
        &theme.text(&head),
        w,
        theme.symbols().ellipsis,
    )));
    let label_w = 12;
    let bar_w = w.saturating_sub(label_w + 6).max(1);
    let epoch_ratio = st.images_done as f64 / st.train_size.max(1) as f64;
    let overall = st.overall_ratio();
    for (label, ratio) in [("this epoch", epoch_ratio), ("all epochs", overall)] {
        lines.push(Line::from(vec![
            Span::raw(format!("{label:<label_w$}")),
            Span::styled(gauge_text(theme, ratio, bar_w), theme.bar_fill()),
            Span::raw(format!(" {:>3.0}%", 100.0 * ratio)),
        ]));
    }
    Paragraph::new(lines).render(inner, buf);
}

fn render_log(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let b = block(theme, "Log");
    let inner = b.inner(area);
    b.render(area, buf);
    let h = usize::from(inner.height);
    let w = usize::from(inner.width);
    let start = st.log.len().saturating_sub(h);
    let lines: Vec<Line> = st
        .log
        .iter()
        .skip(start)
        .map(|l| Line::raw(truncate(&theme.text(l), w, theme.symbols().ellipsis)))
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

/// A round upper bound for the loss axis.
fn loss_ceiling(max: f64) -> f64 {
    let m = if max.is_finite() { max } else { 2.5 };
    ((m * 4.0).ceil() / 4.0).max(0.25)
}

/// The loss chart: batch losses as they come (unless `epochs_only`), and the training and
/// validation loss of every finished epoch.
fn render_loss_chart(
    theme: &Theme,
    st: &TrainingState,
    epochs_only: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let train: Vec<(f64, f64)> = st
        .reports
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    let val: Vec<(f64, f64)> = st
        .reports
        .iter()
        .map(|r| (r.epoch as f64, r.val_loss))
        .collect();
    let batches: &[(f64, f64)] = if epochs_only { &[] } else { &st.batch_losses };
    let max = batches
        .iter()
        .chain(&train)
        .chain(&val)
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = loss_ceiling(if max > 0.0 { max } else { 1.2 });
    let epochs = st.epochs.max(1) as f64;
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
    let (bm, tm, vm) = if theme.ascii {
        (".", "o", "x")
    } else {
        ("⠂", "•", "█")
    };
    let legend = if epochs_only {
        format!("Loss per epoch: {tm} training  {vm} validation")
    } else {
        format!("Loss: {bm} each batch  {tm} training (epoch)  {vm} validation (epoch)")
    };
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
        .block(block(theme, &legend))
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

// ------------------------------------------------------------------------------ results

fn render_results(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut spans = Vec::new();
    for (i, t) in ResultsTab::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, t.title());
        let style = if *t == st.tab {
            theme.selected()
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    if let Some(r) = st.reports.last() {
        let mut s = format!(" accuracy {:.1}%", 100.0 * r.val_accuracy);
        if area.width >= 100 {
            s.push_str(&format!(
                " {} validation loss {:.4}",
                theme.symbols().dot,
                r.val_loss
            ));
        }
        spans.push(Span::raw(s));
    }
    Paragraph::new(Line::from(spans)).render(tabs, buf);
    match st.tab {
        ResultsTab::Evaluation => render_evaluation(theme, st, body, buf),
        ResultsTab::Loss => render_loss_history(theme, st, body, buf),
        ResultsTab::Filters => render_filters(theme, st, body, buf),
        ResultsTab::Predict => render_predict(theme, st, body, buf),
    }
}

/// The confusion matrix as a grid of text lines with styles: actual classes down,
/// predicted across.
fn confusion_lines<'a>(theme: &Theme, st: &TrainingState) -> Vec<Line<'a>> {
    let Some(m) = &st.confusion else {
        return vec![Line::raw("No validation results.")];
    };
    let names = &st.classes;
    let name_w = names.iter().map(|n| width(n)).max().unwrap_or(5).max(6) + 2;
    let cell_w = names.iter().map(|n| width(n)).max().unwrap_or(5).max(5) + 2;
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    let mut lines = vec![
        Line::from(vec![
            Span::raw(format!("{:name_w$}", "")),
            Span::styled("predicted ->", theme.heading()),
        ]),
        Line::from(
            std::iter::once(Span::styled(
                format!("{:<name_w$}", "actual"),
                theme.heading(),
            ))
            .chain(
                names
                    .iter()
                    .map(|n| Span::styled(format!("{n:>cell_w$}"), theme.heading())),
            )
            .collect::<Vec<_>>(),
        ),
    ];
    for (r, row) in m.counts.iter().enumerate() {
        let mut spans = vec![Span::styled(
            format!("{:<name_w$}", names.get(r).map_or("?", String::as_str)),
            theme.heading(),
        )];
        for (c, &count) in row.iter().enumerate() {
            let selected = st.cell == (r, c);
            let text = if selected {
                format!("[{count}]")
            } else {
                format!("{count} ")
            };
            let mut style = Style::new();
            if theme.color {
                let shade = (count as f64 / max as f64).clamp(0.0, 1.0);
                let blue = 80 + (175.0 * shade) as u8;
                let fg = if shade > 0.5 {
                    Color::Black
                } else {
                    Color::White
                };
                style = style
                    .bg(theme.pixel(20, 40 + (100.0 * shade) as u8, blue))
                    .fg(fg);
            }
            if r == c {
                style = style.add_modifier(Modifier::BOLD);
            }
            if selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            spans.push(Span::styled(format!("{text:>cell_w$}"), style));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn render_evaluation(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let n = st.classes.len();
    let grid_h = u16::try_from(n + 4).unwrap_or(8);
    let [upper, lower] =
        Layout::vertical([Constraint::Length(grid_h), Constraint::Min(0)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(upper);
    Paragraph::new(confusion_lines(theme, st))
        .block(block(theme, "Confusion matrix (validation images)"))
        .render(left, buf);
    let mut lines = Vec::new();
    if let Some(m) = &st.confusion {
        lines.push(Line::raw(format!(
            "Accuracy {}/{} = {:.1}%",
            m.correct(),
            m.total(),
            100.0 * m.accuracy()
        )));
        lines.push(Line::styled(
            format!("{:<10}{:>10}{:>8}", "class", "precision", "recall"),
            theme.heading(),
        ));
        for (i, name) in st.classes.iter().enumerate().take(m.classes()) {
            lines.push(Line::raw(format!(
                "{name:<10}{:>9.1}%{:>7.1}%",
                100.0 * m.precision(i),
                100.0 * m.recall(i)
            )));
        }
    }
    Paragraph::new(lines)
        .block(block(theme, "Scores"))
        .render(right, buf);
    // the images in the selected cell
    let (a, p) = st.cell;
    let name = |i: usize| st.classes.get(i).map_or("?", String::as_str).to_string();
    let title = format!(
        "Validation images: actually {}, predicted {}",
        name(a),
        name(p)
    );
    let b = block(theme, &title);
    let inner = b.inner(lower);
    b.render(lower, buf);
    if inner.height == 0 {
        return;
    }
    let (Some(ds), Some(preds)) = (&st.dataset, &st.predictions) else {
        Paragraph::new("(images appear when the run has classified them)").render(inner, buf);
        return;
    };
    let picked: Vec<usize> = st
        .val
        .iter()
        .zip(preds)
        .filter(|(&i, &pr)| ds.labels.get(i) == Some(&a) && pr == p)
        .map(|(&i, _)| i)
        .collect();
    let intro = format!(
        "{} image(s); {}",
        picked.len(),
        if a == p {
            "right answers"
        } else {
            "mistakes: the network confused these"
        }
    );
    buf.set_stringn(
        inner.x,
        inner.y,
        &intro,
        usize::from(inner.width),
        Style::new(),
    );
    let img_area = Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1),
    );
    let panels: Vec<Panel> = picked
        .iter()
        .take(24)
        .map(|&i| {
            let file = ds
                .files
                .get(i)
                .and_then(|f| f.file_name())
                .map_or_else(|| format!("#{i}"), |f| f.to_string_lossy().into_owned());
            let file = file
                .trim_end_matches(".png")
                .trim_end_matches(".jpg")
                .to_string();
            Panel::Image(ImagePanel {
                label: file,
                width: crate::data::IMAGE_SIZE,
                height: crate::data::IMAGE_SIZE,
                rgb: chw_to_rgb(ds.image(i)),
            })
        })
        .collect();
    flow_panels(theme, &panels, img_area, 14, buf);
}

/// Draw panels left to right, wrapping, each at most `max_w` wide (rows as tall as fit).
fn flow_panels(theme: &Theme, panels: &[Panel], area: Rect, max_w: u16, buf: &mut Buffer) {
    let style = PanelStyle::plain(*theme);
    let (mut x, mut y, mut row_h) = (area.x, area.y, 0u16);
    for p in panels {
        let max_h = area.bottom().saturating_sub(y);
        let (w, h) = panel_size(p, &style, max_w.min(area.width), max_h.min(max_w / 2 + 2));
        if x + w > area.right() {
            x = area.x;
            y += row_h;
            row_h = 0;
        }
        if y + h > area.bottom() || w == 0 || h == 0 {
            break;
        }
        render_panel(p, &style, Rect::new(x, y, w, h), buf);
        x += w;
        row_h = row_h.max(h);
    }
}

fn render_loss_history(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let text_h = if area.height >= 24 { 9 } else { 7 };
    let [chart, text] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(text_h)]).areas(area);
    if area.width >= 100 {
        let [c, table] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(44)]).areas(chart);
        render_loss_chart(theme, st, true, c, buf);
        let mut lines = vec![Line::styled(
            format!(
                "{:>5} {:>11} {:>11} {:>9}",
                "epoch", "training", "validation", "accuracy"
            ),
            theme.heading(),
        )];
        for r in &st.reports {
            lines.push(Line::raw(format!(
                "{:>5} {:>11.6} {:>11.6} {:>8.1}%",
                r.epoch,
                r.train_loss,
                r.val_loss,
                100.0 * r.val_accuracy
            )));
        }
        Paragraph::new(lines)
            .block(block(theme, "Per epoch"))
            .render(table, buf);
    } else {
        render_loss_chart(theme, st, true, chart, buf);
    }
    let verdict = overfitting_verdict(st);
    let words = [
        "Both curves should fall. When the validation loss levels off or rises while the \
         training loss keeps falling, the network is memorising its training images instead of \
         learning shapes: overfitting (more epochs will not help; more varied data will).",
        verdict.as_str(),
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
fn overfitting_verdict(st: &TrainingState) -> String {
    let r = &st.reports;
    if r.len() < 2 {
        return "This run: one epoch is too few to see a trend.".into();
    }
    let last = &r[r.len() - 1];
    let prev = &r[r.len() - 2];
    let train_falls = last.train_loss < prev.train_loss;
    let val_falls = last.val_loss < prev.val_loss - 1e-3;
    match (train_falls, val_falls) {
        (true, true) => "This run: both losses still fell in the last epoch, so more epochs may \
                         still help."
            .into(),
        (true, false) => "This run: training loss fell but validation loss did not in the last \
                          epoch: the first sign of overfitting."
            .into(),
        _ => "This run: the training loss has stopped falling; the network has learned what \
              it can with these settings."
            .into(),
    }
}

/// A filter's three colour channels summed, as a 3x3 grid of weights.
fn filter_sum(w: &ndarray::ArrayView4<'_, f32>, f: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; 9];
    for c in 0..w.shape()[1] {
        for y in 0..3 {
            for x in 0..3 {
                out[y * 3 + x] += w[[f, c, y, x]];
            }
        }
    }
    out
}

/// A filter drawn as a 3x3 colour picture (each channel's weights scaled to 0..255).
fn filter_image(w: &ndarray::ArrayView4<'_, f32>, f: usize, label: String) -> Panel {
    let max = w.iter().map(|v| v.abs()).fold(1e-6f32, f32::max);
    let mut rgb = Vec::with_capacity(27);
    for y in 0..3 {
        for x in 0..3 {
            for c in 0..3 {
                let v = w[[f, c.min(w.shape()[1] - 1), y, x]] / max;
                rgb.push((127.5 + 127.5 * v).clamp(0.0, 255.0) as u8);
            }
        }
    }
    Panel::Image(ImagePanel {
        label,
        width: 3,
        height: 3,
        rgb,
    })
}

fn render_filters(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let (Some(after), Some(before)) = (&st.net, &st.net_before) else {
        Paragraph::new("No trained network.").render(area, buf);
        return;
    };
    let (wb, wa) = (before.conv_weight(0), after.conv_weight(0));
    let f = st.filter.min(wa.shape()[0].saturating_sub(1));
    let [top, rest] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(area);
    let style = PanelStyle::plain(*theme);
    let grids = [
        Panel::Grid(Grid::full(
            format!("filter {} before", f + 1),
            3,
            3,
            &filter_sum(&wb, f),
        )),
        Panel::Grid(Grid::full(
            format!("filter {} after", f + 1),
            3,
            3,
            &filter_sum(&wa, f),
        )),
    ];
    let mut x = top.x;
    for g in &grids {
        let (w, h) = panel_size(g, &style, top.width.saturating_sub(x - top.x), top.height);
        if x + w > top.right() {
            break;
        }
        render_panel(g, &style, Rect::new(x, top.y, w, h.min(top.height)), buf);
        x += w + 1;
    }
    let note = "Each filter's 3x3 weights, summed over red, green and blue (the numbers), and as \
                colours below (grey = 0). Training turned random weights into edge and colour \
                detectors.";
    let note_area = Rect::new(x, top.y, top.right().saturating_sub(x), top.height);
    Paragraph::new(theme.text(note).into_owned())
        .wrap(Wrap { trim: true })
        .render(note_area, buf);
    let n = wa.shape()[0];
    let before_p: Vec<Panel> = (0..n)
        .map(|i| filter_image(&wb, i, format!("{}", i + 1)))
        .collect();
    let after_p: Vec<Panel> = (0..n)
        .map(|i| filter_image(&wa, i, format!("{}", i + 1)))
        .collect();
    let row_h = 5u16;
    let rows = [("before training", before_p), ("after training", after_p)];
    let mut y = rest.y;
    for (label, panels) in &rows {
        if y + 1 + row_h > rest.bottom() {
            break;
        }
        buf.set_stringn(rest.x, y, *label, usize::from(rest.width), theme.heading());
        flow_panels(
            theme,
            panels,
            Rect::new(rest.x, y + 1, rest.width, row_h),
            9,
            buf,
        );
        y += 1 + row_h;
    }
    // feature maps of the first validation image
    let (Some(ds), Some(&img)) = (&st.dataset, st.val.first()) else {
        return;
    };
    if y + 4 > rest.bottom() {
        return;
    }
    buf.set_stringn(
        rest.x,
        y,
        "feature maps of one validation image (after training)",
        usize::from(rest.width),
        theme.heading(),
    );
    let maps = feature_maps(after, ds.image(img));
    let mut panels = vec![Panel::Image(ImagePanel {
        label: "image".into(),
        width: crate::data::IMAGE_SIZE,
        height: crate::data::IMAGE_SIZE,
        rgb: chw_to_rgb(ds.image(img)),
    })];
    panels.extend(maps);
    let h = rest.bottom() - y - 1;
    flow_panels(
        theme,
        &panels,
        Rect::new(rest.x, y + 1, rest.width, h),
        10,
        buf,
    );
}

/// The first layer's feature maps (conv1 output) of one image, as grey pictures.
fn feature_maps(net: &crate::nn::net::ShapesNet, chw: &[u8]) -> Vec<Panel> {
    let lut = crate::data::normalize_table();
    let side = crate::data::IMAGE_SIZE;
    let x: Vec<f32> = chw.iter().map(|&p| lut[usize::from(p)]).collect();
    let Ok(x) = ndarray::Array4::from_shape_vec((1, 3, side, side), x) else {
        return Vec::new();
    };
    let w = net.conv_weight(0);
    let b = net.bias(0);
    let maps = crate::nn::ops::conv2d(&x, &w.to_owned(), Some(&b.to_owned()), 1, 1);
    let mut out = Vec::new();
    for m in 0..maps.shape()[1] {
        let plane = maps.slice(ndarray::s![0, m, .., ..]);
        let (lo, hi) = plane
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let span = (hi - lo).max(1e-6);
        // shrink to 32x32 so drawing stays cheap
        let s = 32;
        let k = side / s;
        let mut rgb = Vec::with_capacity(s * s * 3);
        for y in 0..s {
            for xx in 0..s {
                let v = plane[[y * k, xx * k]];
                let g = (255.0 * (v - lo) / span) as u8;
                rgb.extend([g, g, g]);
            }
        }
        out.push(Panel::Image(ImagePanel {
            label: format!("{}", m + 1),
            width: s,
            height: s,
            rgb,
        }));
    }
    out
}

fn render_predict(theme: &Theme, st: &TrainingState, area: Rect, buf: &mut Buffer) {
    let Some(p) = &st.predicted else {
        let msg = "Press n to draw a new random shape (the seed's create_image) and let the \
                   trained network classify it, or o to type the path of an image file of your \
                   own.";
        Paragraph::new(theme.text(msg).into_owned())
            .wrap(Wrap { trim: true })
            .block(block(theme, "Use the model"))
            .render(area, buf);
        return;
    };
    let style = PanelStyle::plain(*theme);
    let img = Panel::Image(ImagePanel {
        label: p.what.clone(),
        width: crate::data::IMAGE_SIZE,
        height: crate::data::IMAGE_SIZE,
        rgb: p.rgb.clone(),
    });
    let max_h = area.height.min(24);
    let (w, h) = panel_size(&img, &style, (area.width / 2).min(52), max_h);
    render_panel(&img, &style, Rect::new(area.x, area.y, w, h), buf);
    let bars = Panel::Bars(Bars {
        label: "Probabilities".into(),
        items: st
            .classes
            .iter()
            .cloned()
            .zip(p.probs.iter().copied())
            .collect(),
    });
    let bx = area.x + w + 1;
    let bw = area.right().saturating_sub(bx);
    let (_, bh) = panel_size(&bars, &style, bw, area.height);
    render_panel(
        &bars,
        &style,
        Rect::new(bx, area.y, bw, bh.min(area.height)),
        buf,
    );
    let k = best(&p.probs);
    let verdict = format!(
        "The network says: {} ({:.1}%).",
        st.classes.get(k).map_or("?", String::as_str),
        100.0 * p.probs.get(k).copied().unwrap_or(0.0)
    );
    let y = area.y + bh + 1;
    if y < area.bottom() {
        buf.set_stringn(bx, y, &verdict, usize::from(bw), theme.emphasis());
    }
}
