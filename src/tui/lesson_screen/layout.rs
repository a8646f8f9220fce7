//! Where everything of the lesson screen goes for one terminal size: the panels side by
//! side (wrapping to more rows when narrow, scrollable when they do not fit), the formula,
//! "your turn", the explanation (or the editor while editing); the view draws it.

use ratatui::layout::Rect;

use std::borrow::Cow;

use super::super::screen::Context;
use super::super::theme::Theme;
use super::super::widgets::{
    grid_cell_width, panel_size, wrap, wrap_grouped, PanelStyle, CELL_MAX,
};
use super::{EditState, LessonState};
use crate::lesson::frame::{Grid, Panel, Step};
use crate::lesson::quiz;

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
    pub(super) min_cells: Vec<usize>,
    /// Per panel: the widest a grid's cell may be drawn (empty or 0: no limit): the fixed
    /// widths of [`fixed_cells`], so an edited value never widens its grid.
    pub(super) max_cells: Vec<usize>,
    /// Grids drawn roomy (big terminals).
    pub(super) roomy: bool,
    pub(super) header: Rect,
    pub(super) heading: Rect,
    /// Visible part of the panels.
    pub(super) panels: Rect,
    /// Each panel's place in the (virtual, possibly taller) panel canvas.
    pub(super) panel_rects: Vec<Rect>,
    /// Height of the panel canvas.
    pub(super) canvas_h: u16,
    /// The panel scroll that shows the panel holding the value just written, when the
    /// panels do not all fit (used while the learner has not scrolled them).
    pub(super) auto_panel_scroll: u16,
    pub(super) formula: Rect,
    pub(super) formula_lines: Vec<String>,
    pub(super) rule: Rect,
    /// "Your turn": the question, the answer typed, what the check said, hints.
    pub(super) quiz: Rect,
    pub(super) quiz_lines: Vec<(String, QuizLine)>,
    /// The explanation, or the editor while editing.
    pub(super) bottom: Rect,
    pub(super) text_lines: Vec<String>,
    pub(super) status: Rect,
    /// A row of its own for a notice, above the hint line (issue 23: a notice pushed the
    /// hints off it); `None` when there is no notice.
    pub(super) notice: Option<Rect>,
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
pub(super) enum QuizLine {
    Ask,
    Input,
    Right,
    Wrong,
    Hint,
}

/// The step as the screen shows it: with the open question's answer hidden (`?`); in
/// presenter mode, until `v`, every value the step's questions ask (the value the step
/// computes: the engine's answer, hidden where "your turn" hides it).
pub(crate) fn shown_step<'a>(cx: &Context, state: &'a LessonState) -> Option<Cow<'a, Step>> {
    let step = state.frames.get(state.step)?;
    if let Some(q) = state
        .open_question(cx.course.your_turn())
        .and_then(|i| state.quiz.questions.get(i))
    {
        return Some(Cow::Owned(quiz::mask(step, state.step, &[q], "?").0));
    }
    if cx.present && !state.revealed {
        let here = state.step_questions();
        if !here.is_empty() {
            return Some(Cow::Owned(quiz::mask(step, state.step, &here, "?").0));
        }
    }
    Some(Cow::Borrowed(step))
}

/// The lines of the "your turn" part for `width` columns: the open question, the answer
/// typed, what the check said, the hints given; at the lesson's end, its tally.
fn quiz_lines(cx: &Context, state: &LessonState, width: usize) -> Vec<(String, QuizLine)> {
    let theme = &cx.theme;
    let cursor = if theme.ascii { "_" } else { "▏" };
    let q = &state.quiz;
    let mut out = Vec::new();
    let push = |text: &str, kind: QuizLine, out: &mut Vec<(String, QuizLine)>| {
        for l in wrap(&theme.text(text), width) {
            out.push((l, kind));
        }
    };
    if let Some(question) = state.question(cx.course.your_turn()) {
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
    let lesson_id = cx
        .course
        .lessons()
        .get(state.lesson)
        .map(|l| l.id().to_string());
    let tally = lesson_id
        .map(|id| cx.course.quiz_tally_of(&id))
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

/// Narrowest and widest fixed cell (a pixel 0..255 needs 3; a sum such as -155 needs 4).
const FIXED_CELL: (usize, usize) = (3, 4);

/// Fixed cell widths for a lesson whose values the learner edits (issue 23: a decimal
/// weight or a large pixel widened the grids, the row no longer fitted and the feature
/// map went below the screen): every grid starts at the width its values need, between
/// [`FIXED_CELL`]'s narrowest and the usual widest cell, and the spare columns of the row
/// widen the grids with the fewest columns first (a filter's weights: `-0.5`, `1.25`) up
/// to [`FIXED_CELL`]'s widest.
/// The widths depend only on the grids' shapes, the lesson's values and the terminal, not
/// on an edit; a value wider than its cell is written compactly (`fmt_cell`). `None`
/// when the step has an image panel or the panels do not fit in one row even so.
fn fixed_cells(panels: &[Panel], steady: &[usize], look: PanelStyle, w: u16) -> Option<Vec<usize>> {
    if panels.iter().any(|p| matches!(p, Panel::Image(_))) {
        return None;
    }
    let row_width = |cells: &[usize]| -> u32 {
        let widths: u32 = panels
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cw = cells.get(i).copied().unwrap_or(0);
                let style = PanelStyle {
                    min_cell: cw,
                    max_cell: cw,
                    ..look
                };
                u32::from(panel_size(p, &style, u16::MAX, u16::MAX).0)
            })
            .sum();
        widths + u32::from(GAP) * u32::try_from(panels.len().saturating_sub(1)).unwrap_or(0)
    };
    let mut cells: Vec<usize> = panels
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            Panel::Grid(_) => steady
                .get(i)
                .copied()
                .unwrap_or(0)
                .clamp(FIXED_CELL.0, CELL_MAX),
            _ => 0,
        })
        .collect();
    // too wide (a large pixel typed): the grids with the most columns go down to the
    // narrowest width in which their values still fit compactly (`1M`), never to one
    // that would cut a value such as -155
    // (fewest columns, holds the value just written, place): the order grids grow in;
    // they shrink in the reverse order, an input before the grid being filled in
    let mut by_cols: Vec<(usize, bool, usize)> = panels
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Panel::Grid(g) => Some((g.cols, g.emphasis.is_empty(), i)),
            _ => None,
        })
        .collect();
    by_cols.sort_unstable();
    for &(_, _, i) in by_cols.iter().rev() {
        if row_width(&cells) <= u32::from(w) {
            break;
        }
        if let Some(Panel::Grid(g)) = panels.get(i) {
            cells[i] = cells[i].min(fits_in(g));
        }
    }
    if row_width(&cells) > u32::from(w) {
        return None;
    }
    loop {
        let grown = by_cols.iter().find_map(|&(_, _, i)| {
            let mut next = cells.clone();
            next[i] += 1;
            (next[i] <= FIXED_CELL.1 && row_width(&next) <= u32::from(w)).then_some(next)
        });
        match grown {
            Some(next) => cells = next,
            None => return Some(cells),
        }
    }
}

/// The narrowest fixed cell in which every value of `g` is written whole or compactly.
fn fits_in(g: &Grid) -> usize {
    (FIXED_CELL.0..FIXED_CELL.1)
        .find(|&cw| {
            g.cells
                .iter()
                .flatten()
                .all(|&v| crate::lesson::fmt_cell(v, cw).chars().count() <= cw)
        })
        .unwrap_or(FIXED_CELL.1)
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
    max_cells: &[usize],
    look: PanelStyle,
    w: u16,
    panel_room: u16,
    body_h: u16,
) -> Vec<(u16, u16)> {
    let is_image = |p: &Panel| matches!(p, Panel::Image(_));
    let size_of = |i: usize, p: &Panel, max_w: u16, max_h: u16| {
        let style = PanelStyle {
            min_cell: min_cells.get(i).copied().unwrap_or(0),
            max_cell: max_cells.get(i).copied().unwrap_or(0),
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
            let sizes = panel_sizes(&f.panels, &min_cells, &[], look, w, room, body_h);
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

/// Per panel, the narrowest and widest cell: fixed widths in a lesson the learner edits
/// (when they fit), else the steady widths with no limit.
fn cell_widths(
    cx: &Context,
    state: &LessonState,
    panels: &[Panel],
    steady: Vec<usize>,
    look: PanelStyle,
    w: u16,
) -> (Vec<usize>, Vec<usize>) {
    let editable = cx
        .course
        .lessons()
        .get(state.lesson)
        .is_some_and(|l| l.capabilities().editable);
    match editable
        .then(|| fixed_cells(panels, &steady, look, w))
        .flatten()
    {
        Some(fixed) => (fixed.clone(), fixed),
        None => (steady, Vec::new()),
    }
}

/// Lay out the lesson screen for `area`.
pub(crate) fn layout(cx: &Context, state: &LessonState, area: Rect) -> Layout {
    let theme = &cx.theme;
    let shown = shown_step(cx, state);
    let step = shown.as_deref();
    let w = area.width;
    let header = Rect::new(area.x, area.y, w, 1);
    let heading = Rect::new(area.x, area.y + 1, w, 1);
    let status = Rect::new(area.x, area.bottom().saturating_sub(1), w, 1);
    let notice = cx
        .notice
        .as_ref()
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
        None => quiz_lines(cx, state, usize::from(w.saturating_sub(2))),
    };
    let quiz_h = u16::try_from(quiz_lines.len()).unwrap_or(0);
    let bottom_min = match &state.edit {
        Some(edit) => editor_height(cx, state, edit),
        // presenter mode: the explanation is the teacher's to say
        None if cx.present => quiz_h,
        None => MIN_TEXT_ROWS + quiz_h,
    };
    // rule line + bottom part + formula
    let reserved = 1 + bottom_min + formula_h;
    let panel_room = body_h.saturating_sub(reserved).max(3);
    let panels: &[Panel] = step.map_or(&[], |s| s.panels.as_slice());
    let table = cell_width_table(&state.frames);
    let steady = steady_cell_widths(&state.frames, &table, state.step);
    let keep = if cx.present { 0 } else { ROOMY_KEEP_ROWS };
    let bottom_need = bottom_min.max(keep);
    let look = PanelStyle {
        roomy: roomy_fits(theme, &state.frames, &table, w, body_h, bottom_need),
        ..PanelStyle::plain(*theme)
    };
    let (min_cells, max_cells) = cell_widths(cx, state, panels, steady, look, w);
    let sizes = panel_sizes(panels, &min_cells, &max_cells, look, w, panel_room, body_h);
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
    if let Some(step) = step.filter(|_| !cx.present) {
        for (i, para) in step.text.iter().enumerate() {
            if i > 0 {
                text_lines.push(String::new());
            }
            text_lines.extend(wrap(&theme.text(para), usize::from(w.saturating_sub(2))));
        }
    }
    Layout {
        min_cells,
        max_cells,
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

fn editor_height(cx: &Context, state: &LessonState, edit: &EditState) -> u16 {
    let rows = cx
        .course
        .lessons()
        .get(state.lesson)
        .and_then(|l| l.edit_targets().get(edit.target).map(|t| t.rows))
        .unwrap_or(1);
    u16::try_from(rows + 2).unwrap_or(u16::MAX).max(6)
}
