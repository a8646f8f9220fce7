//! Steps as plain text: handouts, screen readers, tests. No escape codes, ASCII only
//! apart from what the lesson's own words contain.
//!
//! Marks: `[155]` a cell inside the active window, `<155>` the cell just written (or
//! emphasised), `?` a value not computed yet; on a worksheet `__3__` the answer to question 3.

use std::collections::HashMap;

use crate::lesson::frame::{Bars, Grid, ImagePanel, Panel, Pipeline, Step, Vector};
use crate::lesson::model::Lesson;
use crate::lesson::number::fmt_num;
use crate::lesson::quiz;
use crate::{Error, Result};

/// The whole lesson (or only step `step`, 1-based) as plain text.
pub fn lesson(lesson: &Lesson, step: Option<usize>) -> Result<String> {
    let frames = lesson.frames()?;
    let total = frames.len();
    let widths = column_widths(&frames);
    let mut out = format!("{} ({})\n", lesson.title(), lesson.id());
    if !lesson.summary().is_empty() {
        out.push_str(lesson.summary());
        out.push('\n');
    }
    match step {
        Some(n) => {
            if n == 0 || n > total {
                return Err(Error::Usage(format!(
                    "step {n} is out of range: lesson `{}` has steps 1 to {total}",
                    lesson.id()
                )));
            }
            out.push('\n');
            out.push_str(&render_numbered(&frames[n - 1], n, total, &widths));
        }
        None => {
            for (i, f) in frames.iter().enumerate() {
                out.push('\n');
                out.push_str(&render_numbered(f, i + 1, total, &widths));
            }
        }
    }
    Ok(out)
}

fn render_numbered(frame: &Step, n: usize, total: usize, widths: &Widths) -> String {
    render_numbered_blanks(frame, n, total, widths, &[])
}

fn render_numbered_blanks(
    frame: &Step,
    n: usize,
    total: usize,
    widths: &Widths,
    blanks: &[(usize, usize, String)],
) -> String {
    let head = format!("Step {n} of {total}: {}", frame.heading);
    format!(
        "{head}\n{}\n{}",
        "=".repeat(head.chars().count().min(78)),
        body_blanks(frame, widths, blanks)
    )
}

/// A choice's options, one numbered line each, and how to answer (nothing for a number).
fn options_text(answer: &quiz::Answer) -> String {
    let (options, how) = match answer {
        quiz::Answer::Number(_) => return String::new(),
        quiz::Answer::Choice { options, .. } => (options, "write one number"),
        quiz::Answer::Set { options, .. } => (options, "write every number that fits, 0 for none"),
    };
    let mut out: String = options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("    {}. {o}\n", i + 1))
        .collect();
    out.push_str(&format!("    ({how})\n"));
    out
}

/// The whole lesson as a worksheet (`lesson ID --plain --worksheet`): every value its
/// questions ask is a numbered blank (`__3__`: question 3) wherever it would show (grid
/// cells, formula totals, words, the later steps that repeat it), each question is written
/// under its step, and an "Answers" section at the end gives the worked values in order
/// (wrapped for printing), then the finished grids that hold them. A lesson that asks
/// nothing says so and has no answers section.
pub fn worksheet(lesson: &Lesson) -> Result<String> {
    let frames = lesson.frames()?;
    let questions = lesson.questions(&frames);
    let total = frames.len();
    let widths = column_widths(&frames);
    let mut out = format!("{} ({}): worksheet\n", lesson.title(), lesson.id());
    if !lesson.summary().is_empty() {
        out.push_str(lesson.summary());
        out.push('\n');
    }
    if questions.is_empty() {
        out.push_str("Nothing to work out in this lesson: it is for reading and discussion.\n");
    } else {
        // the example blank is one this worksheet has
        let n = questions.len();
        out.push_str(&format!(
            "Fill in each numbered blank ({} is the answer to question {n}): {n} question{}, answered at the end.\n",
            numbered_blank(n),
            if n == 1 { "" } else { "s" }
        ));
    }
    for (i, f) in frames.iter().enumerate() {
        // this step's own questions blank first (their words win), then the earlier ones
        let order = questions
            .iter()
            .enumerate()
            .filter(|(_, q)| q.step == i)
            .chain(questions.iter().enumerate().filter(|(_, q)| q.step < i));
        let mut masked = f.clone();
        let mut blanks: Vec<(usize, usize, String)> = Vec::new();
        for (n, q) in order {
            let blank = numbered_blank(n + 1);
            let (m, cells) = quiz::mask(&masked, i, &[q], &blank);
            masked = m;
            blanks.extend(cells.into_iter().map(|(p, c)| (p, c, blank.clone())));
        }
        out.push('\n');
        out.push_str(&render_numbered_blanks(
            &masked,
            i + 1,
            total,
            &widths,
            &blanks,
        ));
        for (n, q) in questions.iter().enumerate().filter(|(_, q)| q.step == i) {
            out.push_str(&format!(
                "\nQuestion {}: {} {}\n",
                n + 1,
                q.ask,
                numbered_blank(n + 1)
            ));
            out.push_str(&options_text(&q.answer));
        }
    }
    if questions.is_empty() {
        return Ok(wrap_long_lines(&out, KEY_WIDTH));
    }
    out.push_str("\nAnswers\n=======\n");
    for (i, q) in questions.iter().enumerate() {
        out.push_str(&format!("{:>3}. {}", i + 1, q.answer.shown()));
        if !q.working.is_empty() {
            out.push_str(&format!(": {}", q.working));
        }
        out.push('\n');
    }
    // the finished grids and vectors that hold the answers, as their last step shows them
    let mut labels: Vec<&str> = Vec::new();
    for q in &questions {
        for h in &q.hide {
            if let quiz::Hide::Cell { label, .. } | quiz::Hide::Entry { label, .. } = h {
                if !labels.contains(&label.as_str()) {
                    labels.push(label);
                }
            }
        }
    }
    for label in labels {
        let last = frames.iter().rev().find_map(|f| {
            f.panels.iter().find(|p| match p {
                Panel::Grid(g) => g.label == label,
                Panel::Vector(v) => v.label == label,
                _ => false,
            })
        });
        if let Some(p) = last {
            out.push('\n');
            out.push_str(&panel_with_widths(p, &widths, &[]));
        }
    }
    Ok(wrap_long_lines(&out, KEY_WIDTH))
}

/// The widest line of a worksheet (it is printed): longer lines are wrapped.
pub const KEY_WIDTH: usize = 78;

/// The blank of question `n` on a worksheet.
pub fn numbered_blank(n: usize) -> String {
    format!("__{n}__")
}

/// Every line of `text` longer than `width` wrapped for printing: broken at spaces
/// outside parentheses (a product `(100 x -1)` stays whole), the continuation lines
/// indented under the text of the first (an answer's number, or 4 spaces).
fn wrap_long_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        // "  1. " lines of the key: continue under the answer
        let indent = match line.trim_start().split_once(". ") {
            Some((n, _)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
                lead + n.len() + 2
            }
            _ => lead + 4,
        };
        let mut current = line[..lead].to_string();
        let mut first = true;
        for word in terms(line.trim_start()) {
            let at_start = current.trim().is_empty();
            if !at_start && current.chars().count() + 1 + word.chars().count() > width {
                out.push_str(current.trim_end());
                out.push('\n');
                current = " ".repeat(indent);
                first = false;
            }
            if !current.trim().is_empty() {
                current.push(' ');
            }
            current.push_str(&word);
        }
        let _ = first;
        out.push_str(current.trim_end());
        out.push('\n');
    }
    out
}

/// The words of `line`, a parenthesised group (with what sticks to it) kept as one.
fn terms(line: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for ch in line.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if ch == ' ' && depth <= 0 {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(ch);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Cell width per panel label, the widest over all frames, so that a grid keeps its
/// columns while its `?` cells fill in.
type Widths = HashMap<String, usize>;

fn column_widths(frames: &[Step]) -> Widths {
    let mut widths = Widths::new();
    for f in frames {
        for p in &f.panels {
            let (label, cells) = match p {
                Panel::Grid(g) => (&g.label, &g.cells),
                Panel::Vector(v) => (&v.label, &v.values),
                _ => continue,
            };
            let w = cells
                .iter()
                .map(|c| c.map_or(1, |v| fmt_num(v).chars().count()))
                .max()
                .unwrap_or(1);
            let e = widths.entry(label.clone()).or_insert(0);
            *e = (*e).max(w);
        }
    }
    widths
}

/// One frame as plain text: heading, panels, formula, text.
pub fn render(frame: &Step) -> String {
    format!(
        "{}\n{}\n{}",
        frame.heading,
        "=".repeat(frame.heading.chars().count().min(78)),
        body(frame, &Widths::new())
    )
}

fn body(frame: &Step, widths: &Widths) -> String {
    body_blanks(frame, widths, &[])
}

fn body_blanks(frame: &Step, widths: &Widths, blanks: &[(usize, usize, String)]) -> String {
    let mut out = String::new();
    for (i, panel) in frame.panels.iter().enumerate() {
        let mine: Vec<(usize, String)> = blanks
            .iter()
            .filter(|(p, _, _)| *p == i)
            .map(|(_, c, b)| (*c, b.clone()))
            .collect();
        out.push('\n');
        out.push_str(&panel_with_widths(panel, widths, &mine));
    }
    if let Some(f) = &frame.formula {
        out.push('\n');
        out.push_str(f);
        out.push('\n');
    }
    for p in &frame.text {
        out.push('\n');
        out.push_str(&wrap(p, 78));
        out.push('\n');
    }
    out
}

/// One panel as plain text, ending in a newline.
pub fn panel_text(panel: &Panel) -> String {
    panel_with_widths(panel, &Widths::new(), &[])
}

/// One panel; the cells (row-major indices) in `blanks` are written as their blank.
fn panel_with_widths(panel: &Panel, widths: &Widths, blanks: &[(usize, String)]) -> String {
    match panel {
        Panel::Grid(g) => grid_text(g, widths.get(&g.label).copied().unwrap_or(0), blanks),
        Panel::Image(img) => image_text(img),
        Panel::Bars(b) => bars_text(b),
        Panel::Vector(v) => vector_text(v, widths.get(&v.label).copied().unwrap_or(0), blanks),
        Panel::Pipeline(p) => pipeline_text(p),
    }
}

fn cell_or_blank(i: usize, c: Option<f32>, blanks: &[(usize, String)]) -> String {
    match blanks.iter().find(|(b, _)| *b == i) {
        Some((_, blank)) => blank.clone(),
        None => c.map_or_else(|| "?".to_string(), fmt_num),
    }
}

fn grid_text(g: &Grid, min_width: usize, blanks: &[(usize, String)]) -> String {
    let mut out = g.label.clone();
    if g.dimmed {
        out.push_str(" (dropped: every value is 0)");
    }
    out.push('\n');
    let cells: Vec<String> = g
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| cell_or_blank(i, *c, blanks))
        .collect();
    let width = cells
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(1)
        .max(min_width);
    for r in 0..g.rows {
        let mut line = String::new();
        for c in 0..g.cols {
            let text = cells.get(r * g.cols + c).map_or("?", String::as_str);
            let in_window = g.window.is_some_and(|w| {
                r >= w.row && r < w.row + w.height && c >= w.col && c < w.col + w.width
            });
            let emphasised = g.emphasis.contains(&(r, c));
            let (open, close) = if in_window {
                ('[', ']')
            } else if emphasised {
                ('<', '>')
            } else {
                (' ', ' ')
            };
            let cell = format!("{open}{text}{close}");
            let w = width + 2;
            line.push_str(&format!("{cell:>w$}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn vector_text(v: &Vector, min_width: usize, blanks: &[(usize, String)]) -> String {
    let mut out = format!("{}\n", v.label);
    let cells: Vec<String> = v
        .values
        .iter()
        .enumerate()
        .map(|(i, c)| cell_or_blank(i, *c, blanks))
        .collect();
    let index = |i: usize| -> String {
        v.names
            .get(i)
            .cloned()
            .unwrap_or_else(|| (v.offset + i).to_string())
    };
    let width = cells
        .iter()
        .map(|c| c.chars().count())
        .chain((0..v.values.len()).map(|i| index(i).chars().count()))
        .max()
        .unwrap_or(1)
        .max(min_width);
    let per_line = (70 / (width + 2)).max(1);
    for chunk_start in (0..v.values.len()).step_by(per_line) {
        let end = (chunk_start + per_line).min(v.values.len());
        let mut idx = String::from(if v.names.is_empty() {
            "index "
        } else {
            "      "
        });
        let mut val = String::from("value ");
        for (i, cell) in cells.iter().enumerate().take(end).skip(chunk_start) {
            let (o, c) = if v.emphasis.contains(&i) {
                ('<', '>')
            } else {
                (' ', ' ')
            };
            let w = width + 2;
            idx.push_str(&format!("{:>w$}", format!("{} ", index(i))));
            val.push_str(&format!("{:>w$}", format!("{o}{cell}{c}")));
        }
        out.push_str(idx.trim_end());
        out.push('\n');
        out.push_str(val.trim_end());
        out.push('\n');
    }
    out
}

fn bars_text(b: &Bars) -> String {
    let mut out = format!("{}\n", b.label);
    let name_w = b
        .items
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, v) in &b.items {
        let len = (v.clamp(0.0, 1.0) * 40.0).round() as usize;
        out.push_str(&format!(
            "{name:<name_w$} {:>6} {}\n",
            fmt_num(*v),
            "#".repeat(len)
        ));
    }
    out
}

fn pipeline_text(p: &Pipeline) -> String {
    let mut out = format!("{}\n", p.label);
    for (i, s) in p.stages.iter().enumerate() {
        let mark = if p.active == Some(i) { "->" } else { "  " };
        out.push_str(&format!("{mark} {}. {}: {}\n", i + 1, s.name, s.shape));
    }
    out
}

/// A picture as shaded ASCII, at most 32 characters wide.
fn image_text(img: &ImagePanel) -> String {
    let mut out = format!("{} ({}x{} pixels)\n", img.label, img.width, img.height);
    if img.width == 0 || img.height == 0 || img.rgb.len() < img.width * img.height * 3 {
        return out;
    }
    const SHADES: &[u8] = b"@%#*+=-:. ";
    let cols = img.width.min(32);
    // characters are about twice as tall as wide
    let rows = (img.height * cols / img.width).div_ceil(2).max(1);
    let edge = format!("+{}+\n", "-".repeat(cols));
    out.push_str(&edge);
    for r in 0..rows {
        let mut line = String::with_capacity(cols + 2);
        for c in 0..cols {
            let (y0, y1) = (
                r * img.height / rows,
                ((r + 1) * img.height / rows).max(r * img.height / rows + 1),
            );
            let (x0, x1) = (
                c * img.width / cols,
                ((c + 1) * img.width / cols).max(c * img.width / cols + 1),
            );
            let mut sum = 0u64;
            let mut n = 0u64;
            for y in y0..y1.min(img.height) {
                for x in x0..x1.min(img.width) {
                    let i = (y * img.width + x) * 3;
                    sum += u64::from(img.rgb[i])
                        + u64::from(img.rgb[i + 1])
                        + u64::from(img.rgb[i + 2]);
                    n += 3;
                }
            }
            let lum = sum.checked_div(n).unwrap_or(255);
            let idx = (lum as usize * (SHADES.len() - 1)) / 255;
            line.push(SHADES[idx] as char);
        }
        out.push('|');
        out.push_str(&line);
        out.push_str("|\n");
    }
    out.push_str(&edge);
    out
}

/// Wrap a paragraph at `width` columns on spaces.
fn wrap(p: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in p.split_whitespace() {
        let wl = word.chars().count();
        if line_len > 0 && line_len + 1 + wl > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += wl;
    }
    out
}
