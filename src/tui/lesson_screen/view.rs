//! Drawing the lesson screen: title bar, the step's heading, its panels, the formula, "your
//! turn", the explanation (or the editor while editing) and the status line, where
//! [`super::layout`] put them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::super::keys;
use super::super::screen::Context;
use super::super::view::{render_bar, render_status};
use super::super::widgets::{panel_size, render_panel, width, PanelStyle};
use super::layout::{layout, shown_step, Layout, QuizLine};
use super::{EditState, Focus, LessonState, EDIT, LESSON, SPEEDS_MS};
use crate::lesson::fmt_num;
use crate::lesson::frame::{Grid, Panel, Step};
use crate::lesson::{EditTarget, Lesson};

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

/// Draw the lesson screen; the layout it was drawn in (`None`: no such lesson).
pub(super) fn render(
    cx: &Context,
    state: &LessonState,
    area: Rect,
    buf: &mut Buffer,
) -> Option<Layout> {
    let theme = &cx.theme;
    let sym = theme.symbols();
    let lesson = cx.course.lessons().get(state.lesson)?;
    let lay = layout(cx, state, area);
    let shown = shown_step(cx, state);
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
        return Some(lay);
    };
    buf.set_stringn(
        lay.heading.x + 1,
        lay.heading.y,
        theme.text(&step.heading),
        usize::from(lay.heading.width.saturating_sub(2)),
        theme.heading(),
    );

    render_panels(cx, state, lesson, step, &lay, buf);

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
        Some(edit) => render_editor(cx, lesson, edit, &lay, buf),
        None => render_text(cx, state, &lay, buf),
    }

    render_quiz(cx, &lay, buf);
    let hints = match state.edit {
        Some(_) => keys::hints(EDIT, state, sym),
        None => keys::hints(LESSON, state, sym),
    };
    let tally = cx.course.quiz_tally_of(lesson.id());
    let notice = if cx.course.your_turn() || tally.asked > 0 {
        Some(format!("{}/{} right", tally.right, tally.asked))
    } else {
        None
    };
    // a notice has a row of its own, so the hint line keeps every key
    if let (Some(n), Some(row)) = (cx.notice.as_deref(), lay.notice) {
        render_status(theme, Some(n), &[], row, buf);
    }
    render_status(theme, notice.as_deref(), &hints, lay.status, buf);
    Some(lay)
}

fn render_quiz(cx: &Context, lay: &Layout, buf: &mut Buffer) {
    let theme = &cx.theme;
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
    cx: &Context,
    state: &LessonState,
    lesson: &Lesson,
    step: &Step,
    lay: &Layout,
    buf: &mut Buffer,
) {
    let theme = &cx.theme;
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
            max_cell: lay.max_cells.get(i).copied().unwrap_or(0),
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
    cx: &Context,
    title: &str,
    focused: bool,
    middle: Option<&str>,
    extra: Option<&str>,
    lay: &Layout,
    buf: &mut Buffer,
) {
    let theme = &cx.theme;
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

fn render_text(cx: &Context, state: &LessonState, lay: &Layout, buf: &mut Buffer) {
    let theme = &cx.theme;
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
    // presenting, the explanation is hidden: the rule says how to bring it back
    let title = if cx.present {
        "Presenter mode (P shows the explanation)"
    } else {
        "Explanation"
    };
    render_rule(
        cx,
        title,
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

fn render_editor(cx: &Context, lesson: &Lesson, edit: &EditState, lay: &Layout, buf: &mut Buffer) {
    let theme = &cx.theme;
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
        cx,
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
        max_cell: 0,
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
    use crate::tui::course::Course;
    use crate::tui::progress::Progress;
    use crate::tui::theme::Theme;

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
            let cx = Context::new(Course::new(lessons.clone(), Progress::new()), theme);
            let frames = odd_frames();
            for step in 0..frames.len() {
                for (w, h) in [(60, 20), (80, 24), (120, 40), (250, 70), (61, 200)] {
                    let mut state = LessonState::with_frames(0, frames.clone(), Default::default());
                    state.step = step;
                    state.playing = true;
                    state.focus = Focus::Panels;
                    state.text_scroll = u16::MAX;
                    state.panel_scroll = u16::MAX;
                    let area = Rect::new(0, 0, w, h);
                    let mut buf = Buffer::empty(area);
                    render(&cx, &state, area, &mut buf);
                    if theme.ascii {
                        assert!(buf.content.iter().all(|c| c.symbol().is_ascii()));
                    }
                }
            }
        }
    }
}
