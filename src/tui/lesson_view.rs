//! The lesson screen: title bar, the step's heading, its panels side by side (wrapping to
//! more rows when narrow, scrollable when they do not fit), the formula, the explanation (or
//! the editor while editing) and the status line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use std::borrow::Cow;

use super::app::{open_question, App, EditState, Focus, LessonState, SPEEDS_MS};
use super::theme::Theme;
use super::view::{render_bar, render_status};
use super::widgets::{
    grid_cell_width, panel_size, render_panel, width, wrap, wrap_grouped, PanelStyle,
};
use crate::lesson::fmt_num;
use crate::lesson::frame::{Grid, Panel, Step};
use crate::lesson::quiz;
use crate::lesson::{EditTarget, Lesson};

/// Columns between panels in a row.
const GAP: u16 = 1;
/// Fewest rows left for the explanation below the panels.
const MIN_TEXT_ROWS: u16 = 3;
/// Most rows the formula may take (a longer one goes on at the top of the explanation).
const MAX_FORMULA_ROWS: usize = 4;
/// Widest an image panel gets (columns, border included).
const MAX_IMAGE_WIDTH: u16 = 66;
/// Rows an image panel always gets (border included).
const MIN_IMAGE_HEIGHT: u16 = 6;

/// Where everything of the lesson screen goes, for one terminal size.
pub(crate) struct Layout {
    /// Per panel: the cell width that keeps the panel steady over the lesson's steps.
    min_cells: Vec<usize>,
    /// Grids drawn roomy (big terminals).
    roomy: bool,
    header: Rect,
    heading: Rect,
    /// Visible part of the panels.
    panels: Rect,
    /// Each panel's place in the (virtual, possibly taller) panel canvas.
    panel_rects: Vec<Rect>,
    /// Height of the panel canvas.
    canvas_h: u16,
    /// The panel scroll that shows the panel holding the value just written, when the
    /// panels do not all fit (used while the learner has not scrolled them).
    auto_panel_scroll: u16,
    formula: Rect,
    formula_lines: Vec<String>,
    rule: Rect,
    /// "Your turn": the question, the answer typed, what the check said, hints.
    quiz: Rect,
    quiz_lines: Vec<(String, QuizLine)>,
    /// The explanation, or the editor while editing.
    bottom: Rect,
    text_lines: Vec<String>,
    status: Rect,
    /// A row of its own for a notice, above the hint line (issue 23: a notice pushed the
    /// hints off it); `None` when there is no notice.
    notice: Option<Rect>,
}

impl Layout {
    /// Largest useful text scroll.
    pub(crate) fn max_text_scroll(&self) -> u16 {
        u16::try_from(self.text_lines.len())
            .unwrap_or(u16::MAX)
            .saturating_sub(self.bottom.height)
    }

    /// Largest useful panel scroll.
    pub(crate) fn max_panel_scroll(&self) -> u16 {
        self.canvas_h.saturating_sub(self.panels.height)
    }

    /// The panel scroll in effect: the learner's, or, while they have not scrolled, the
    /// one that keeps the value just written on screen (issue 23: a wider value after an
    /// edit pushed its panel below the visible rows).
    pub(crate) fn panel_scroll(&self, asked: u16) -> u16 {
        if asked == 0 {
            self.auto_panel_scroll
        } else {
            asked
        }
        .min(self.max_panel_scroll())
    }
}

/// What a line of the "your turn" part is (how it is drawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuizLine {
    Ask,
    Input,
    Right,
    Wrong,
    Hint,
}

/// The step as the screen shows it: with the open question's answer hidden (`?`).
pub(crate) fn shown_step<'a>(app: &App, state: &'a LessonState) -> Option<Cow<'a, Step>> {
    let step = state.frames.get(state.step)?;
    match open_question(state, app.your_turn()).and_then(|i| state.quiz.questions.get(i)) {
        Some(q) => Some(Cow::Owned(quiz::mask(step, state.step, &[q], "?").0)),
        None => Some(Cow::Borrowed(step)),
    }
}

/// The lines of the "your turn" part for `width` columns: the open question, the answer
/// typed, what the check said, the hints given; at the lesson's end, its tally.
fn quiz_lines(app: &App, state: &LessonState, width: usize) -> Vec<(String, QuizLine)> {
    let theme = app.theme();
    let cursor = if theme.ascii { "_" } else { "▏" };
    let q = &state.quiz;
    let mut out = Vec::new();
    let push = |text: &str, kind: QuizLine, out: &mut Vec<(String, QuizLine)>| {
        for l in wrap(&theme.text(text), width) {
            out.push((l, kind));
        }
    };
    if let Some(question) = app.open_question() {
        push(
            &format!("Your turn: {}", question.ask),
            QuizLine::Ask,
            &mut out,
        );
        out.push((
            format!(
                "> {}{cursor}   ({}, Enter checks)",
                q.input,
                question.answer.how()
            ),
            QuizLine::Input,
        ));
        for h in question.hints.iter().take(q.hints) {
            push(&format!("Hint: {h}"), QuizLine::Hint, &mut out);
        }
    }
    if let Some(f) = &q.feedback {
        let kind = if f.right {
            QuizLine::Right
        } else {
            QuizLine::Wrong
        };
        for line in &f.lines {
            push(line, kind, &mut out);
        }
    }
    let last = state.frames.len().saturating_sub(1);
    let lesson_id = app.lessons().get(state.lesson).map(|l| l.id().to_string());
    let tally = lesson_id
        .map(|id| app.quiz_tally_of(&id))
        .unwrap_or_default();
    if state.step == last && tally.asked > 0 {
        push(
            &format!(
                "Your turn in this lesson: {} of {} right, {} at the first try",
                tally.right, tally.asked, tally.first_try
            ),
            QuizLine::Right,
            &mut out,
        );
    }
    out
}

/// The widest cell of every grid panel of every frame (0 for other panels).
fn cell_width_table(frames: &[Step]) -> Vec<Vec<usize>> {
    frames
        .iter()
        .map(|f| {
            f.panels
                .iter()
                .map(|p| match p {
                    Panel::Grid(g) => grid_cell_width(g),
                    _ => 0,
                })
                .collect()
        })
        .collect()
}

/// For each panel of step `step`: the widest cell the same grid (same place, same label)
/// has in any step, so a grid keeps its size while its cells fill in. `table` is
/// [`cell_width_table`] of `frames`.
fn steady_cell_widths(frames: &[Step], table: &[Vec<usize>], step: usize) -> Vec<usize> {
    let Some(current) = frames.get(step) else {
        return Vec::new();
    };
    current
        .panels
        .iter()
        .enumerate()
        .map(|(i, panel)| {
            let Panel::Grid(g) = panel else { return 0 };
            frames
                .iter()
                .zip(table)
                .filter_map(|(f, widths)| match f.panels.get(i) {
                    Some(Panel::Grid(other)) if other.label == g.label => widths.get(i).copied(),
                    _ => None,
                })
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Place panels left to right, wrapping into rows that are centred in `width`.
fn flow(sizes: &[(u16, u16)], width: u16) -> (Vec<Rect>, u16) {
    let mut rects = Vec::with_capacity(sizes.len());
    let mut rows: Vec<(usize, usize, u16, u16)> = Vec::new(); // first, end, row width, row height
    let mut first = 0;
    let (mut x, mut row_h) = (0u16, 0u16);
    for (i, &(w, h)) in sizes.iter().enumerate() {
        let needed = if x == 0 { w } else { x + GAP + w };
        if x > 0 && needed > width {
            rows.push((first, i, x, row_h));
            first = i;
            x = 0;
            row_h = 0;
        }
        x = if x == 0 { w } else { x + GAP + w };
        row_h = row_h.max(h);
    }
    if first < sizes.len() {
        rows.push((first, sizes.len(), x, row_h));
    }
    let mut y = 0u16;
    for (first, end, row_w, row_h) in rows {
        let mut px = width.saturating_sub(row_w) / 2;
        for &(w, h) in &sizes[first..end] {
            rects.push(Rect::new(px, y, w.min(width), h));
            px = px.saturating_add(w + GAP);
        }
        y = y.saturating_add(row_h);
    }
    (rects, y)
}

/// The size of each panel. Images share what the other panels leave: side by side across
/// the width, and no taller than about half the screen, so the explanation stays in view.
fn panel_sizes(
    panels: &[Panel],
    min_cells: &[usize],
    look: PanelStyle,
    w: u16,
    panel_room: u16,
    body_h: u16,
) -> Vec<(u16, u16)> {
    let is_image = |p: &Panel| matches!(p, Panel::Image(_));
    let size_of = |i: usize, p: &Panel, max_w: u16, max_h: u16| {
        let style = PanelStyle {
            min_cell: min_cells.get(i).copied().unwrap_or(0),
            ..look
        };
        panel_size(p, &style, max_w, max_h)
    };
    let images = u16::try_from(panels.iter().filter(|p| is_image(p)).count()).unwrap_or(1);
    let img_w = w
        .saturating_sub(GAP * images.saturating_sub(1))
        .checked_div(images)
        .unwrap_or(w)
        .min(MAX_IMAGE_WIDTH);
    let sizes_with = |img_h: u16| -> Vec<(u16, u16)> {
        panels
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if is_image(p) {
                    size_of(i, p, img_w, img_h)
                } else {
                    size_of(i, p, w, panel_room)
                }
            })
            .collect()
    };
    // the tallest images (up to half the screen) with which all panels fit
    let mut img_h = panel_room
        .min((body_h / 2).max(MIN_IMAGE_HEIGHT))
        .max(MIN_IMAGE_HEIGHT);
    loop {
        let sizes = sizes_with(img_h);
        if images == 0 || img_h <= MIN_IMAGE_HEIGHT || flow(&sizes, w).1 <= panel_room {
            return sizes;
        }
        img_h -= 1;
    }
}

/// Rows of the screen below the panels that roomy grids must leave free.
const ROOMY_KEEP_ROWS: u16 = 8;

/// Whether every step of the lesson fits with roomy grids (wider spacing, a blank line
/// between rows) in the same number of panel rows as compact ones, leaving room for the
/// explanation. Decided for the whole lesson so the screen does not jump between steps.
fn roomy_fits(
    theme: &Theme,
    frames: &[Step],
    table: &[Vec<usize>],
    w: u16,
    body_h: u16,
    bottom_need: u16,
) -> bool {
    let compact = PanelStyle::plain(*theme);
    let roomy = PanelStyle {
        roomy: true,
        ..compact
    };
    frames.iter().enumerate().all(|(i, f)| {
        let formula_h = f.formula.as_deref().map_or(0, |t| {
            wrap_grouped(&theme.text(t), usize::from(w.saturating_sub(2)))
                .len()
                .min(MAX_FORMULA_ROWS)
        });
        let formula_h = u16::try_from(formula_h).unwrap_or(u16::MAX);
        let room = body_h.saturating_sub(1 + formula_h + bottom_need);
        let min_cells = steady_cell_widths(frames, table, i);
        let rows_of = |look: PanelStyle| {
            let sizes = panel_sizes(&f.panels, &min_cells, look, w, room, body_h);
            let (rects, h) = flow(&sizes, w);
            let rows = rects
                .iter()
                .map(|r| r.y)
                .collect::<std::collections::BTreeSet<_>>();
            (rows.len(), h)
        };
        let (compact_rows, _) = rows_of(compact);
        let (roomy_rows, roomy_h) = rows_of(roomy);
        roomy_rows == compact_rows && roomy_h <= room
    })
}

/// Lay out the lesson screen for `area`.
pub(crate) fn layout(app: &App, state: &LessonState, area: Rect) -> Layout {
    let theme = app.theme();
    let shown = shown_step(app, state);
    let step = shown.as_deref();
    let w = area.width;
    let header = Rect::new(area.x, area.y, w, 1);
    let heading = Rect::new(area.x, area.y + 1, w, 1);
    let status = Rect::new(area.x, area.bottom().saturating_sub(1), w, 1);
    let notice = app
        .notice()
        .map(|_| Rect::new(area.x, status.y.saturating_sub(1), w, 1));
    let body_top = heading.bottom();
    let body_h = notice.unwrap_or(status).y.saturating_sub(body_top);

    let mut formula_lines: Vec<String> = step
        .and_then(|s| s.formula.as_deref())
        .map(|f| wrap_grouped(&theme.text(f), usize::from(w.saturating_sub(2))))
        .unwrap_or_default();
    // a formula longer than its rows goes on at the top of the (scrolling) explanation
    let formula_rest = formula_lines.split_off(formula_lines.len().min(MAX_FORMULA_ROWS));
    let formula_h = u16::try_from(formula_lines.len()).unwrap_or(0);

    let quiz_lines = match &state.edit {
        Some(_) => Vec::new(),
        None => quiz_lines(app, state, usize::from(w.saturating_sub(2))),
    };
    let quiz_h = u16::try_from(quiz_lines.len()).unwrap_or(0);
    let bottom_min = match &state.edit {
        Some(edit) => editor_height(app, state, edit),
        None => MIN_TEXT_ROWS + quiz_h,
    };
    // rule line + bottom part + formula
    let reserved = 1 + bottom_min + formula_h;
    let panel_room = body_h.saturating_sub(reserved).max(3);
    let panels: &[Panel] = step.map_or(&[], |s| s.panels.as_slice());
    let table = cell_width_table(&state.frames);
    let min_cells = steady_cell_widths(&state.frames, &table, state.step);
    let bottom_need = bottom_min.max(ROOMY_KEEP_ROWS);
    let look = PanelStyle {
        roomy: roomy_fits(theme, &state.frames, &table, w, body_h, bottom_need),
        ..PanelStyle::plain(*theme)
    };
    let sizes = panel_sizes(panels, &min_cells, look, w, panel_room, body_h);
    let (panel_rects, canvas_h) = flow(&sizes, w);
    let panels_h = canvas_h.min(panel_room).min(body_h);
    let panels_area = Rect::new(area.x, body_top, w, panels_h);
    // the lowest row that must show: the emphasised cell's row of a grid (its panel's
    // top border, then a row per grid row, two when roomy), or a vector's last row
    let pitch: u16 = if look.roomy { 2 } else { 1 };
    let must_show =
        |p: &Panel, r: &Rect| -> Option<u16> {
            match p {
                Panel::Grid(g) => g.emphasis.iter().map(|&(row, _)| row).max().map(|row| {
                    r.y + 1 + u16::try_from(row).unwrap_or(u16::MAX).saturating_mul(pitch)
                }),
                Panel::Vector(v) if !v.emphasis.is_empty() => Some(r.bottom().saturating_sub(1)),
                _ => None,
            }
        };
    let auto_panel_scroll = step
        .and_then(|s| {
            s.panels
                .iter()
                .zip(&panel_rects)
                .rev()
                .find_map(|(p, r)| must_show(p, r).map(|y| (y, r.y)))
        })
        .map_or(0, |(y, top)| {
            (y + 2)
                .saturating_sub(panels_h)
                .min(top)
                .min(canvas_h.saturating_sub(panels_h))
        });
    let formula = Rect::new(area.x, panels_area.bottom(), w, formula_h);
    let rule = Rect::new(area.x, formula.bottom(), w, 1);
    let quiz_h = quiz_h.min(status.y.saturating_sub(rule.bottom()));
    let quiz = Rect::new(area.x, rule.bottom(), w, quiz_h);
    let bottom_h = status.y.saturating_sub(quiz.bottom());
    let bottom = Rect::new(area.x, quiz.bottom(), w, bottom_h);

    let mut text_lines = formula_rest;
    if !text_lines.is_empty() {
        text_lines.push(String::new());
    }
    if let Some(step) = step {
        for (i, para) in step.text.iter().enumerate() {
            if i > 0 {
                text_lines.push(String::new());
            }
            text_lines.extend(wrap(&theme.text(para), usize::from(w.saturating_sub(2))));
        }
    }
    Layout {
        min_cells,
        roomy: look.roomy,
        header,
        heading,
        panels: panels_area,
        panel_rects,
        canvas_h,
        auto_panel_scroll,
        formula,
        formula_lines,
        rule,
        quiz,
        quiz_lines,
        bottom,
        text_lines,
        status,
        notice,
    }
}

fn editor_height(app: &App, state: &LessonState, edit: &EditState) -> u16 {
    let rows = app
        .lessons()
        .get(state.lesson)
        .and_then(|l| l.edit_targets().get(edit.target).map(|t| t.rows))
        .unwrap_or(1);
    u16::try_from(rows + 2).unwrap_or(u16::MAX).max(6)
}

/// The grid panel that shows an edit target: same shape, and one label contains the other.
fn panel_for_target(step: &Step, target: &EditTarget) -> Option<usize> {
    let name = target.name.to_lowercase();
    step.panels.iter().position(|p| match p {
        Panel::Grid(g) => {
            let label = g.label.to_lowercase();
            g.rows == target.rows
                && g.cols == target.cols
                && (label.contains(&name) || name.contains(&label))
        }
        _ => false,
    })
}

/// Draw the lesson screen.
pub(crate) fn render(app: &App, state: &LessonState, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    let sym = theme.symbols();
    let Some(lesson) = app.lessons().get(state.lesson) else {
        return;
    };
    let lay = layout(app, state, area);
    let shown = shown_step(app, state);
    let step = shown.as_deref();

    // title bar
    let n = state.frames.len();
    let speed = SPEEDS_MS[state.speed] as f32 / 1000.0;
    let play = if state.playing {
        format!("{} playing, {speed:.1} s/step", sym.play)
    } else {
        format!("paused, p plays ({speed:.1} s/step)")
    };
    let left = format!(
        " cnn-tutor {} {}. {}",
        sym.dot,
        state.lesson + 1,
        theme.text(lesson.title())
    );
    let mut right = format!("step {}/{} {} ", state.step + 1, n, play);
    if width(&left) + width(&right) + 1 > usize::from(area.width) {
        // narrow: keep the title whole, shorten the play state
        let short = if state.playing { sym.play } else { "" };
        right = format!("step {}/{} {short} ", state.step + 1, n);
    }
    render_bar(theme, &left, &right, lay.header, buf);

    let Some(step) = step else {
        return;
    };
    buf.set_stringn(
        lay.heading.x + 1,
        lay.heading.y,
        theme.text(&step.heading),
        usize::from(lay.heading.width.saturating_sub(2)),
        theme.heading(),
    );

    render_panels(app, state, lesson, step, &lay, buf);

    for (i, line) in lay.formula_lines.iter().enumerate() {
        let y = lay.formula.y + u16::try_from(i).unwrap_or(0);
        buf.set_stringn(
            lay.formula.x + 1,
            y,
            line,
            usize::from(lay.formula.width.saturating_sub(2)),
            theme.formula(),
        );
    }

    match &state.edit {
        Some(edit) => render_editor(app, lesson, edit, &lay, buf),
        None => render_text(app, state, &lay, buf),
    }

    render_quiz(app, &lay, buf);
    let hints = super::bindings::screen_hints(app);
    let tally = app.quiz_tally_of(lesson.id());
    let notice = if app.your_turn() || tally.asked > 0 {
        Some(format!("{}/{} right", tally.right, tally.asked))
    } else {
        None
    };
    // a notice has a row of its own, so the hint line keeps every key
    if let (Some(n), Some(row)) = (app.notice(), lay.notice) {
        render_status(theme, Some(n), &[], row, buf);
    }
    render_status(theme, notice.as_deref(), &hints, lay.status, buf);
}

fn render_quiz(app: &App, lay: &Layout, buf: &mut Buffer) {
    let theme = app.theme();
    for (i, (line, kind)) in lay.quiz_lines.iter().enumerate() {
        let Ok(dy) = u16::try_from(i) else { break };
        if dy >= lay.quiz.height {
            break;
        }
        let style = match kind {
            QuizLine::Ask => theme.heading(),
            QuizLine::Input => theme.cursor(),
            QuizLine::Right => theme.emphasis(),
            QuizLine::Wrong => theme.notice(),
            QuizLine::Hint => theme.dim(),
        };
        buf.set_stringn(
            lay.quiz.x + 1,
            lay.quiz.y + dy,
            line,
            usize::from(lay.quiz.width.saturating_sub(2)),
            style,
        );
    }
}

fn render_panels(
    app: &App,
    state: &LessonState,
    lesson: &Lesson,
    step: &Step,
    lay: &Layout,
    buf: &mut Buffer,
) {
    let theme = app.theme();
    if lay.panels.height == 0 || step.panels.is_empty() {
        return;
    }
    let focused = state.focus == Focus::Panels && state.edit.is_none();
    let cursor_panel = state.edit.as_ref().and_then(|e| {
        let target = lesson.edit_targets().into_iter().nth(e.target)?;
        panel_for_target(step, &target).map(|i| (i, (e.row, e.col)))
    });
    // draw on a canvas as tall as all panels, then copy the visible rows
    let canvas_area = Rect::new(0, 0, lay.panels.width, lay.canvas_h.max(1));
    let mut canvas = Buffer::empty(canvas_area);
    for (i, (panel, rect)) in step.panels.iter().zip(&lay.panel_rects).enumerate() {
        let rect = rect.intersection(canvas_area);
        if rect.is_empty() {
            continue;
        }
        let style = PanelStyle {
            theme: *theme,
            focused,
            cursor: cursor_panel.and_then(|(p, pos)| (p == i).then_some(pos)),
            min_cell: lay.min_cells.get(i).copied().unwrap_or(0),
            roomy: lay.roomy,
        };
        render_panel(panel, &style, rect, &mut canvas);
    }
    let scroll = lay.panel_scroll(state.panel_scroll);
    for dy in 0..lay.panels.height {
        for dx in 0..lay.panels.width {
            let Some(src) = canvas.cell((dx, dy + scroll)) else {
                continue;
            };
            if let Some(dst) = buf.cell_mut((lay.panels.x + dx, lay.panels.y + dy)) {
                *dst = src.clone();
            }
        }
    }
}

/// The line between the panels and the text: a title, then an optional note right after
/// it (`middle`) and one at the right end (`extra`); notes that do not fit are left out.
fn render_rule(
    app: &App,
    title: &str,
    focused: bool,
    middle: Option<&str>,
    extra: Option<&str>,
    lay: &Layout,
    buf: &mut Buffer,
) {
    let theme = app.theme();
    let horizontal = theme.border().horizontal_top;
    let w = usize::from(lay.rule.width);
    buf.set_stringn(lay.rule.x, lay.rule.y, horizontal.repeat(w), w, theme.dim());
    let style = if focused {
        theme.focused()
    } else {
        theme.heading()
    };
    let (x, _) = buf.set_stringn(lay.rule.x + 1, lay.rule.y, format!(" {title} "), w, style);
    let mut right_end = lay.rule.right();
    if let Some(extra) = extra {
        let ew = u16::try_from(width(extra)).unwrap_or(0);
        if x + ew + 2 < right_end {
            right_end -= ew + 1;
            buf.set_string(right_end, lay.rule.y, extra, theme.key());
        }
    }
    if let Some(middle) = middle {
        let mw = u16::try_from(width(middle)).unwrap_or(0);
        if x + 1 + mw + 1 < right_end {
            buf.set_string(x + 1, lay.rule.y, middle, theme.key());
        }
    }
}

fn render_text(app: &App, state: &LessonState, lay: &Layout, buf: &mut Buffer) {
    let theme = app.theme();
    let sym = theme.symbols();
    let max = lay.max_text_scroll();
    let scroll = state.text_scroll.min(max);
    // what scrolls the text and the panels: j/k for the focused one, Tab to switch
    let how = |focus: Focus| {
        if state.focus == focus {
            "(j/k)"
        } else {
            "(Tab)"
        }
    };
    let text_note = if scroll < max {
        Some(format!(" {} {} ", sym.more_below, how(Focus::Text)))
    } else if scroll > 0 {
        Some(format!(" {} {} ", sym.more_above, how(Focus::Text)))
    } else {
        None
    };
    let panel_max = lay.max_panel_scroll();
    let panel_scroll = lay.panel_scroll(state.panel_scroll);
    let panel_note = if panel_scroll < panel_max {
        Some(format!(
            " panels {} {} ",
            sym.more_below,
            how(Focus::Panels)
        ))
    } else if panel_scroll > 0 {
        Some(format!(
            " panels {} {} ",
            sym.more_above,
            how(Focus::Panels)
        ))
    } else {
        None
    };
    let focused = state.focus == Focus::Text;
    render_rule(
        app,
        "Explanation",
        focused,
        panel_note.as_deref(),
        text_note.as_deref(),
        lay,
        buf,
    );
    let lines: Vec<Line> = lay
        .text_lines
        .iter()
        .skip(usize::from(scroll))
        .take(usize::from(lay.bottom.height))
        .map(|l| Line::raw(l.as_str()))
        .collect();
    Paragraph::new(lines).render(
        Rect::new(
            lay.bottom.x + 1,
            lay.bottom.y,
            lay.bottom.width.saturating_sub(2),
            lay.bottom.height,
        ),
        buf,
    );
}

fn render_editor(app: &App, lesson: &Lesson, edit: &EditState, lay: &Layout, buf: &mut Buffer) {
    let theme = app.theme();
    let targets = lesson.edit_targets();
    let Some(target) = targets.get(edit.target) else {
        return;
    };
    let names: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == edit.target {
                format!("[{}]", t.name)
            } else {
                t.name.clone()
            }
        })
        .collect();
    render_rule(
        app,
        &format!("Editing {}", theme.text(&target.name)),
        true,
        None,
        Some(&format!(" Tab: {} ", theme.text(&names.join(" | ")))),
        lay,
        buf,
    );
    // the target's numbers with the cursor
    let grid = Grid {
        label: target.name.clone(),
        rows: target.rows,
        cols: target.cols,
        cells: (0..target.rows * target.cols)
            .map(|i| {
                Some(lesson.value(edit.target, i / target.cols.max(1), i % target.cols.max(1)))
            })
            .collect(),
        window: None,
        emphasis: Vec::new(),
        dimmed: false,
    };
    let panel = Panel::Grid(grid);
    let (gw, _) = panel_size(
        &panel,
        &PanelStyle::plain(*theme),
        lay.bottom.width / 2,
        lay.bottom.height,
    );
    let gh = lay
        .bottom
        .height
        .min(u16::try_from(target.rows + 2).unwrap_or(u16::MAX));
    let grid_rect = Rect::new(lay.bottom.x + 1, lay.bottom.y, gw, gh);
    let style = PanelStyle {
        theme: *theme,
        focused: true,
        cursor: Some((edit.row, edit.col)),
        min_cell: 0,
        roomy: false,
    };
    render_panel(&panel, &style, grid_rect, buf);

    let current = lesson.value(edit.target, edit.row, edit.col);
    let cursor_mark = if theme.ascii { "_" } else { "▏" };
    let lines = vec![
        Line::from(vec![
            Span::raw(format!("row {}, column {}: ", edit.row + 1, edit.col + 1)),
            Span::styled(fmt_num(current), theme.heading()),
        ]),
        Line::from(vec![
            Span::raw("new value: "),
            Span::styled(format!("{}{cursor_mark}", edit.input), theme.cursor()),
        ]),
        Line::raw(""),
        Line::styled("Type a number, Enter sets it and", theme.dim()),
        Line::styled("every result recomputes. Esc: done.", theme.dim()),
        Line::styled("f: a well-known filter  r: reset", theme.dim()),
    ];
    let x = grid_rect.right() + 2;
    let info = Rect::new(
        x,
        lay.bottom.y,
        lay.bottom.right().saturating_sub(x),
        lay.bottom.height,
    );
    Paragraph::new(lines).style(Style::new()).render(info, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::frame::{Bars, ImagePanel, Pipeline, Stage, Vector, Window};
    use crate::tui::app::DEFAULT_SPEED;
    use crate::tui::progress::Progress;

    /// Frames no lesson file would make: empty, huge, inconsistent, not finite.
    fn odd_frames() -> Vec<Step> {
        let grid = |rows: usize, cols: usize, n: usize, v: f32| {
            Panel::Grid(Grid {
                label: "a label much longer than the grid it names, to see it cut".into(),
                rows,
                cols,
                cells: vec![Some(v); n],
                window: Some(Window {
                    row: rows,
                    col: cols.saturating_sub(1),
                    height: 9,
                    width: 9,
                }),
                emphasis: vec![(99, 99), (0, 0)],
                dimmed: true,
            })
        };
        vec![
            Step {
                heading: String::new(),
                text: Vec::new(),
                panels: Vec::new(),
                formula: None,
                sum: None,
            },
            Step {
                heading: "x".repeat(500),
                text: vec!["word ".repeat(400), "y".repeat(1000)],
                panels: vec![
                    grid(0, 0, 0, 1.0),
                    grid(3, 3, 2, f32::NAN),
                    grid(40, 40, 1600, -1.0e6),
                    grid(1, 200, 200, 0.125),
                ],
                formula: Some("(1 x 2) + ".repeat(100)),
                sum: None,
            },
            Step {
                heading: "images and friends".into(),
                text: vec!["ünïcödé × → ✓".into()],
                panels: vec![
                    Panel::Image(ImagePanel {
                        label: "short rgb".into(),
                        width: 64,
                        height: 64,
                        rgb: vec![7; 10],
                    }),
                    Panel::Image(ImagePanel {
                        label: "empty".into(),
                        width: 0,
                        height: 0,
                        rgb: Vec::new(),
                    }),
                    Panel::Image(ImagePanel {
                        label: "tall".into(),
                        width: 1,
                        height: 500,
                        rgb: vec![255; 1500],
                    }),
                    Panel::Bars(Bars {
                        label: "bars".into(),
                        items: vec![
                            ("nan".into(), f32::NAN),
                            ("inf".into(), f32::INFINITY),
                            ("neg".into(), -3.0),
                        ],
                    }),
                    Panel::Vector(Vector {
                        label: "v".into(),
                        values: vec![None; 3000],
                        emphasis: vec![5000],
                        offset: usize::MAX / 2,
                        names: vec!["only one name".into()],
                    }),
                    Panel::Vector(Vector {
                        label: "empty".into(),
                        values: Vec::new(),
                        emphasis: Vec::new(),
                        offset: 0,
                        names: Vec::new(),
                    }),
                    Panel::Pipeline(Pipeline {
                        label: "p".into(),
                        stages: vec![
                            Stage {
                                name: "z".repeat(300),
                                shape: "1x1".into(),
                            };
                            5
                        ],
                        active: Some(42),
                    }),
                ],
                formula: Some(String::new()),
                sum: None,
            },
        ]
    }

    #[test]
    fn odd_frames_never_panic() {
        let lessons = crate::lesson::builtin().expect("lessons");
        for theme in [Theme::new(true, false), Theme::new(false, true)] {
            let app = App::new(lessons.clone(), theme, Progress::new());
            let frames = odd_frames();
            for step in 0..frames.len() {
                for (w, h) in [(60, 20), (80, 24), (120, 40), (250, 70), (61, 200)] {
                    let state = LessonState {
                        lesson: 0,
                        frames: frames.clone(),
                        step,
                        playing: true,
                        speed: DEFAULT_SPEED,
                        elapsed_ms: 0,
                        focus: Focus::Panels,
                        text_scroll: u16::MAX,
                        panel_scroll: u16::MAX,
                        edit: None,
                        preset: None,
                        quiz: Default::default(),
                    };
                    let area = Rect::new(0, 0, w, h);
                    let mut buf = Buffer::empty(area);
                    render(&app, &state, area, &mut buf);
                    if theme.ascii {
                        assert!(buf.content.iter().all(|c| c.symbol().is_ascii()));
                    }
                }
            }
        }
    }
}
