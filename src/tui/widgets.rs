//! Drawing the panels of a lesson frame: matrix grids with the active window and emphasised
//! cells, images as half-block pixels (shaded ASCII without colour), bar charts, and the text
//! helpers (wrapping) they share; numbers are written by [`crate::lesson::fmt_num`].

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Block, Widget};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::theme::Theme;
use crate::lesson::frame::{Bars, Grid, ImagePanel, Panel, Pipeline, Vector};
use crate::lesson::{fmt_cell, fmt_fit, fmt_num};

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Break `text` into lines of at most `max` columns at spaces; words longer than a line are
/// cut. An empty text gives one empty line.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut line_w = 0;
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let word_w = width(word);
            if line_w > 0 && line_w + 1 + word_w <= max {
                line.push(' ');
                line.push_str(word);
                line_w += 1 + word_w;
                continue;
            }
            if line_w > 0 {
                lines.push(std::mem::take(&mut line));
                line_w = 0;
            }
            if word_w <= max {
                line.push_str(word);
                line_w = word_w;
            } else {
                // cut an over-long word
                for ch in word.chars() {
                    let cw = UnicodeWidthChar::width(ch).unwrap_or(0);
                    if line_w + cw > max {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0;
                    }
                    line.push(ch);
                    line_w += cw;
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// Like [`wrap`], but a bracketed group such as `(255 x -1)` is never split across lines
/// (unless it alone is wider than a line).
pub fn wrap_grouped(text: &str, max: usize) -> Vec<String> {
    // protect spaces inside brackets, wrap, then put them back
    const KEEP: char = '\u{1}';
    let mut depth = 0usize;
    let protected: String = text
        .chars()
        .map(|c| match c {
            '(' | '[' => {
                depth += 1;
                c
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                c
            }
            ' ' if depth > 0 => KEEP,
            _ => c,
        })
        .collect();
    wrap(&protected, max)
        .into_iter()
        .map(|l| l.replace(KEEP, " "))
        .collect()
}

/// Cut `s` to at most `max` columns, ending with `ellipsis` when cut.
pub fn truncate(s: &str, max: usize, ellipsis: &str) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(width(ellipsis));
    let mut out = String::new();
    let mut w = 0;
    for ch in s.chars() {
        let cw = UnicodeWidthChar::width(ch).unwrap_or(0);
        if w + cw > room {
            break;
        }
        out.push(ch);
        w += cw;
    }
    if max >= width(ellipsis) {
        out.push_str(ellipsis);
    }
    out
}

/// How a panel is drawn: which theme, whether it has the focus, an edit cursor in it.
#[derive(Debug, Clone, Copy)]
pub struct PanelStyle {
    /// Colours and symbols.
    pub theme: Theme,
    /// Draw the border as focused.
    pub focused: bool,
    /// The edit cursor (row, col), for grids.
    pub cursor: Option<(usize, usize)>,
    /// Grids: draw every cell at least this wide (keeps a grid's size steady from step to
    /// step while its cells fill in).
    pub min_cell: usize,
    /// Grids: the widest a cell may be drawn (0: [`CELL_MAX`]); a value wider than this is
    /// written compactly ([`fmt_cell`]) so an edit never widens the grid (issue 23).
    pub max_cell: usize,
    /// Grids: two columns between cells and a blank line between rows (big terminals).
    pub roomy: bool,
}

impl PanelStyle {
    /// A plain, compact, unfocused style.
    pub fn plain(theme: Theme) -> Self {
        PanelStyle {
            theme,
            focused: false,
            cursor: None,
            min_cell: 0,
            max_cell: 0,
            roomy: false,
        }
    }
}

fn block<'a>(title: &str, style: &PanelStyle) -> Block<'a> {
    let theme = style.theme;
    let title = format!(" {} ", theme.text(title));
    let mut b = Block::bordered()
        .border_set(theme.border())
        .title(title)
        .title_style(theme.heading());
    if style.focused {
        b = b.border_style(theme.focused());
    }
    b
}

/// The size (columns, rows) a panel wants, given at most `max_w` x `max_h` cells.
pub fn panel_size(panel: &Panel, style: &PanelStyle, max_w: u16, max_h: u16) -> (u16, u16) {
    let theme = &style.theme;
    let (w, h) = match panel {
        Panel::Grid(g) => grid_size(g, style),
        Panel::Image(img) => image_size(img, max_w, max_h),
        Panel::Bars(b) => bars_size(b, theme),
        Panel::Vector(v) => vector_size(v, theme, max_w),
        Panel::Pipeline(p) => pipeline_size(p, theme, max_w),
    };
    (w.min(max_w), h)
}

/// Draw a panel into `area`.
pub fn render_panel(panel: &Panel, style: &PanelStyle, area: Rect, buf: &mut Buffer) {
    match panel {
        Panel::Grid(g) => render_grid(g, style, area, buf),
        Panel::Image(img) => render_image(img, style, area, buf),
        Panel::Bars(b) => render_bars(b, style, area, buf),
        Panel::Vector(v) => render_vector(v, style, area, buf),
        Panel::Pipeline(p) => render_pipeline(p, style, area, buf),
    }
}

// ---------------------------------------------------------------- grids

/// Widest number in a grid or vector cell: every value a built-in lesson shows fits, so a
/// grid reads as the formula under it.
pub const CELL_MAX: usize = 6;

fn cell_text(v: Option<f32>) -> String {
    v.map_or_else(|| "?".to_string(), |v| fmt_fit(v, CELL_MAX))
}

/// A grid cell's text in at most `max` columns (0: [`CELL_MAX`]).
fn cell_text_in(v: Option<f32>, max: usize) -> String {
    match (v, max) {
        (_, 0) => cell_text(v),
        (None, _) => "?".to_string(),
        (Some(v), max) => fmt_cell(v, max),
    }
}

/// The widest cell of a grid, in columns.
pub fn grid_cell_width(g: &Grid) -> usize {
    g.cells
        .iter()
        .map(|v| width(&cell_text(*v)))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// The grid's title: its label, and "dropped" for a dropped map.
fn grid_title(g: &Grid) -> String {
    if g.dimmed {
        format!("{} (dropped)", g.label)
    } else {
        g.label.clone()
    }
}

/// Cell width, columns between cells, rows per grid row.
fn grid_geometry(g: &Grid, style: &PanelStyle) -> (usize, usize, usize) {
    let cw = if style.max_cell > 0 {
        g.cells
            .iter()
            .map(|v| width(&cell_text_in(*v, style.max_cell)))
            .max()
            .unwrap_or(1)
            .max(style.min_cell)
    } else {
        grid_cell_width(g).max(style.min_cell)
    };
    if style.roomy {
        (cw, 2, 2)
    } else {
        (cw, 1, 1)
    }
}

fn grid_size(g: &Grid, style: &PanelStyle) -> (u16, u16) {
    let (cw, sep, pitch) = grid_geometry(g, style);
    let inner = g.cols * (cw + sep) + sep;
    let title = width(&style.theme.text(&grid_title(g))) + 2;
    let w = inner.max(title) + 2;
    let h = (g.rows * pitch).saturating_sub(pitch - 1) + 2;
    (clamp_u16(w), clamp_u16(h))
}

fn clamp_u16(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn render_grid(g: &Grid, style: &PanelStyle, area: Rect, buf: &mut Buffer) {
    let theme = &style.theme;
    let b = block(&grid_title(g), style);
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let (cw, sep_w, pitch) = grid_geometry(g, style);
    let content_w = g.cols * (cw + sep_w) + sep_w;
    let pad = (usize::from(inner.width).saturating_sub(content_w)) / 2;
    let x0 = usize::from(inner.x) + pad;
    let right = usize::from(inner.right());
    for r in 0..g.rows {
        let dy = r * pitch;
        if dy >= usize::from(inner.height) {
            break;
        }
        let y = inner.y + clamp_u16(dy);
        let in_rows = g.window.is_some_and(|w| r >= w.row && r < w.row + w.height);
        for sep in 0..=g.cols {
            let x = x0 + sep * (cw + sep_w);
            if x >= right {
                break;
            }
            // brackets hug the window's cells
            let mark = match g.window {
                Some(w) if in_rows && sep == w.col => Some(("[", x + sep_w - 1)),
                Some(w) if in_rows && sep == w.col + w.width => Some(("]", x)),
                _ => None,
            };
            if let Some((mark, mx)) = mark {
                if mx < right {
                    buf.set_string(clamp_u16(mx), y, mark, theme.bracket());
                }
            }
            if sep == g.cols {
                break;
            }
            let c = sep;
            let value = g.cells.get(r * g.cols + c).copied().flatten();
            let text = format!("{:>cw$}", cell_text_in(value, style.max_cell));
            let in_window = g
                .window
                .is_some_and(|w| in_rows && c >= w.col && c < w.col + w.width);
            let cell_style = if style.cursor == Some((r, c)) {
                theme.cursor()
            } else if g.emphasis.contains(&(r, c)) {
                theme.emphasis()
            } else if in_window {
                theme.window()
            } else if value.is_none() || g.dimmed {
                theme.dim()
            } else {
                Style::new()
            };
            let room = right.saturating_sub(x + sep_w);
            buf.set_stringn(clamp_u16(x + sep_w), y, text, room, cell_style);
        }
    }
}

// ---------------------------------------------------------------- images

/// Largest upscaling of a tiny image (cells per pixel).
const MAX_UPSCALE: f32 = 4.0;

/// Image pixels per cell column and pixel rows per cell row, for an image fitted into
/// `max_w` x `max_h` cells (inside the border).
fn image_cells(img: &ImagePanel, max_w: u16, max_h: u16) -> (usize, usize) {
    if img.width == 0 || img.height == 0 {
        return (1, 1);
    }
    let room_w = f32::from(max_w.saturating_sub(2).max(1));
    // two pixel rows per cell row (half blocks)
    let room_h = f32::from(max_h.saturating_sub(2).max(1)) * 2.0;
    let (w, h) = (img.width as f32, img.height as f32);
    let k = (room_w / w).min(room_h / h).min(MAX_UPSCALE);
    let cols = ((w * k).floor() as usize).max(1);
    let px_rows = ((h * k).floor() as usize).max(2);
    (cols, px_rows.div_ceil(2))
}

fn image_size(img: &ImagePanel, max_w: u16, max_h: u16) -> (u16, u16) {
    let (cols, rows) = image_cells(img, max_w, max_h);
    let title = width(&img.label) + 4;
    (clamp_u16(cols.max(title) + 2), clamp_u16(rows + 2))
}

/// The average colour of the source pixels that land in output pixel (`x`, `y`) of an
/// `out_w` x `out_h` picture.
fn sample(img: &ImagePanel, x: usize, y: usize, out_w: usize, out_h: usize) -> (u8, u8, u8) {
    let x0 = x * img.width / out_w;
    let x1 = ((x + 1) * img.width / out_w).max(x0 + 1).min(img.width);
    let y0 = y * img.height / out_h;
    let y1 = ((y + 1) * img.height / out_h).max(y0 + 1).min(img.height);
    let (mut r, mut g, mut b, mut n) = (0u32, 0u32, 0u32, 0u32);
    for sy in y0..y1 {
        for sx in x0..x1 {
            let i = (sy * img.width + sx) * 3;
            if let Some(px) = img.rgb.get(i..i + 3) {
                r += u32::from(px[0]);
                g += u32::from(px[1]);
                b += u32::from(px[2]);
                n += 1;
            }
        }
    }
    if n == 0 {
        return (0, 0, 0);
    }
    let avg = |v: u32| u8::try_from(v / n).unwrap_or(u8::MAX);
    (avg(r), avg(g), avg(b))
}

/// Shades from dark to bright, for images drawn without colour or in ASCII.
const RAMP: &[u8] = b" .:-=+*#%@";

fn shade(r: u8, g: u8, b: u8) -> char {
    let lum = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
    let i = ((lum / 256.0) * RAMP.len() as f32) as usize;
    char::from(RAMP[i.min(RAMP.len() - 1)])
}

fn render_image(img: &ImagePanel, style: &PanelStyle, area: Rect, buf: &mut Buffer) {
    let theme = &style.theme;
    let b = block(&img.label, style);
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.width == 0 || inner.height == 0 || img.width == 0 || img.height == 0 {
        return;
    }
    let (cols, rows) = image_cells(img, area.width, area.height);
    let cols = cols.min(usize::from(inner.width));
    let rows = rows.min(usize::from(inner.height));
    let x0 = inner.x + clamp_u16((usize::from(inner.width) - cols) / 2);
    let px_rows = rows * 2;
    for cy in 0..rows {
        for cx in 0..cols {
            let top = sample(img, cx, cy * 2, cols, px_rows);
            let bottom = sample(img, cx, cy * 2 + 1, cols, px_rows);
            let Some(cell) = buf.cell_mut((x0 + clamp_u16(cx), inner.y + clamp_u16(cy))) else {
                continue;
            };
            if theme.color && !theme.ascii {
                cell.set_symbol("▀")
                    .set_fg(theme.pixel(top.0, top.1, top.2))
                    .set_bg(theme.pixel(bottom.0, bottom.1, bottom.2));
            } else {
                let avg =
                    |a: u8, b: u8| u8::try_from((u16::from(a) + u16::from(b)) / 2).unwrap_or(0);
                cell.set_char(shade(
                    avg(top.0, bottom.0),
                    avg(top.1, bottom.1),
                    avg(top.2, bottom.2),
                ));
            }
        }
    }
}

// ---------------------------------------------------------------- vectors

/// Entries per line of a vector drawn in at most `max_w` columns, the index column width and
/// the value width. Named vectors (class scores) put one entry on each line.
fn vector_geometry(v: &Vector, theme: &Theme, max_w: u16) -> (usize, usize, usize) {
    let cw = v
        .values
        .iter()
        .map(|x| width(&cell_text(*x)))
        .max()
        .unwrap_or(1)
        .max(1);
    if !v.names.is_empty() {
        let name_w = v
            .names
            .iter()
            .map(|n| width(&theme.text(n)))
            .max()
            .unwrap_or(0);
        return (1, name_w, cw);
    }
    // an index row above the values (as `--plain` draws it): the index column is as wide
    // as the widest index, and the lead is "index"/"value"
    let last = v.offset + v.values.len().saturating_sub(1);
    let cw = cw.max(width(&last.to_string()));
    let idx_w = VECTOR_LEAD.len();
    // border, " " + lead, then (space + value) per entry, then a space
    let room = usize::from(max_w).saturating_sub(2 + idx_w + 2);
    let most = (room / (cw + 1)).clamp(1, v.values.len().max(1));
    // as few lines as fit, filled evenly (18 values: 9 and 9, not 17 and 1)
    let lines = v.values.len().div_ceil(most).max(1);
    let per_line = v.values.len().div_ceil(lines).max(1);
    (per_line, idx_w, cw)
}

/// The width of the "index"/"value" labels before a vector's rows.
const VECTOR_LEAD: &str = "index";

fn vector_size(v: &Vector, theme: &Theme, max_w: u16) -> (u16, u16) {
    let (per_line, idx_w, cw) = vector_geometry(v, theme, max_w);
    let chunks = v.values.len().div_ceil(per_line).max(1);
    // named vectors: one line per entry; the others: an index line over each value line
    let lines = if v.names.is_empty() {
        chunks * 2
    } else {
        chunks
    };
    let inner = idx_w + if v.names.is_empty() { 1 } else { 3 } + per_line * (cw + 1) + 1;
    let w = inner.max(width(&theme.text(&v.label)) + 2) + 2;
    (clamp_u16(w), clamp_u16(lines + 2))
}

fn render_vector(v: &Vector, style: &PanelStyle, area: Rect, buf: &mut Buffer) {
    let theme = &style.theme;
    let b = block(&v.label, style);
    let inner = b.inner(area);
    b.render(area, buf);
    let (per_line, idx_w, cw) = vector_geometry(v, theme, area.width);
    let right = usize::from(inner.right());
    let indexed = v.names.is_empty();
    for (chunk_no, chunk) in v.values.chunks(per_line).enumerate() {
        let line = if indexed { chunk_no * 2 + 1 } else { chunk_no };
        if line >= usize::from(inner.height) {
            break;
        }
        let y = inner.y + clamp_u16(line);
        let first = chunk_no * per_line;
        if indexed {
            let mut text = format!(" {VECTOR_LEAD:<idx_w$}");
            for k in 0..chunk.len() {
                text.push_str(&format!(" {:>cw$}", v.offset + first + k));
            }
            buf.set_stringn(inner.x, y - 1, text, usize::from(inner.width), theme.dim());
        }
        let lead = match v.names.get(first) {
            Some(name) => format!(" {:<idx_w$}", theme.text(name)),
            None if !indexed => format!(" {:<idx_w$}", ""),
            None => format!(" {:<idx_w$}", "value"),
        };
        let (mut x, _) = buf.set_stringn(inner.x, y, lead, usize::from(inner.width), theme.dim());
        for (k, value) in chunk.iter().enumerate() {
            let index = first + k;
            let cell_style = if v.emphasis.contains(&index) {
                theme.emphasis()
            } else if value.is_none() {
                theme.dim()
            } else {
                Style::new()
            };
            let room = right.saturating_sub(usize::from(x) + 1);
            if room == 0 {
                break;
            }
            let (nx, _) = buf.set_stringn(
                x + 1,
                y,
                format!("{:>cw$}", cell_text(*value)),
                room,
                cell_style,
            );
            x = nx;
        }
    }
}

// ---------------------------------------------------------------- pipelines

/// The pipeline's stages as text pieces, wrapped into lines of at most `max` columns:
/// each line is a list of (text, stage index or None for arrows).
fn pipeline_lines(p: &Pipeline, theme: &Theme, max: usize) -> Vec<Vec<(String, Option<usize>)>> {
    let arrow = if theme.ascii { " -> " } else { " → " };
    let mut lines: Vec<Vec<(String, Option<usize>)>> = vec![Vec::new()];
    let mut used = 0;
    for (i, stage) in p.stages.iter().enumerate() {
        let text = format!("{} [{}]", theme.text(&stage.name), theme.text(&stage.shape));
        let text = truncate(&text, max.saturating_sub(1), theme.symbols().ellipsis);
        let tw = width(&text);
        let lead = if i == 0 { 0 } else { width(arrow) };
        // room for the arrow that ends the line if the next stage has to wrap
        let reserve = if i + 1 < p.stages.len() {
            width(arrow.trim_end())
        } else {
            0
        };
        if i > 0 && used + lead + tw + reserve > max {
            // the arrow ends the line; the stage starts the next one
            if let Some(line) = lines.last_mut() {
                line.push((arrow.trim_end().to_string(), None));
            }
            lines.push(Vec::new());
            used = 0;
        } else if i > 0 {
            if let Some(line) = lines.last_mut() {
                line.push((arrow.to_string(), None));
            }
            used += lead;
        }
        if let Some(line) = lines.last_mut() {
            line.push((text, Some(i)));
        }
        used += tw;
    }
    lines
}

fn pipeline_size(p: &Pipeline, theme: &Theme, max_w: u16) -> (u16, u16) {
    let room = usize::from(max_w).saturating_sub(4).max(8);
    let lines = pipeline_lines(p, theme, room);
    let content = lines
        .iter()
        .map(|l| l.iter().map(|(t, _)| width(t)).sum::<usize>())
        .max()
        .unwrap_or(0);
    let w = (content + 2).max(width(&theme.text(&p.label)) + 2) + 2;
    (clamp_u16(w), clamp_u16(lines.len() + 2))
}

fn render_pipeline(p: &Pipeline, style: &PanelStyle, area: Rect, buf: &mut Buffer) {
    let theme = &style.theme;
    let b = block(&p.label, style);
    let inner = b.inner(area);
    b.render(area, buf);
    let room = usize::from(area.width).saturating_sub(4).max(8);
    for (row, line) in pipeline_lines(p, theme, room).iter().enumerate() {
        if row >= usize::from(inner.height) {
            break;
        }
        let y = inner.y + clamp_u16(row);
        let mut x = inner.x + 1;
        for (text, stage) in line {
            let piece_style = match stage {
                Some(i) if p.active == Some(*i) => theme.selected(),
                Some(_) => Style::new(),
                None => theme.dim(),
            };
            let room = usize::from(inner.right().saturating_sub(x));
            let (nx, _) = buf.set_stringn(x, y, text, room, piece_style);
            x = nx;
        }
    }
}

// ---------------------------------------------------------------- bars

const BAR_WIDTH: usize = 20;

fn bars_size(b: &Bars, theme: &Theme) -> (u16, u16) {
    let label_w = b
        .items
        .iter()
        .map(|(l, _)| width(&theme.text(l)))
        .max()
        .unwrap_or(0);
    let value_w = b
        .items
        .iter()
        .map(|(_, v)| width(&fmt_num(*v)))
        .max()
        .unwrap_or(1);
    let inner = label_w + 1 + BAR_WIDTH + 1 + value_w + 2;
    let w = inner.max(width(&theme.text(&b.label)) + 2) + 2;
    (clamp_u16(w), clamp_u16(b.items.len() + 2))
}

fn render_bars(b: &Bars, style: &PanelStyle, area: Rect, buf: &mut Buffer) {
    let theme = &style.theme;
    let sym = theme.symbols();
    let blk = block(&b.label, style);
    let inner = blk.inner(area);
    blk.render(area, buf);
    let label_w = b
        .items
        .iter()
        .map(|(l, _)| width(&theme.text(l)))
        .max()
        .unwrap_or(0);
    let max = b
        .items
        .iter()
        .map(|(_, v)| v.abs())
        .fold(0.0f32, f32::max)
        .max(1.0);
    // room for the widest value, so a tiny probability (9.6e-10) is never cut into a
    // number that reads as another (9.6e-1)
    let value_w = b
        .items
        .iter()
        .map(|(_, v)| fmt_num(*v).chars().count())
        .max()
        .unwrap_or(1)
        .max(5);
    let bar_w = usize::from(inner.width)
        .saturating_sub(label_w + 4 + value_w)
        .clamp(1, BAR_WIDTH * 2);
    for (i, (label, value)) in b.items.iter().enumerate() {
        if i >= usize::from(inner.height) {
            break;
        }
        let y = inner.y + clamp_u16(i);
        let label = theme.text(label);
        let filled = if value.is_finite() {
            ((value.abs() / max) * bar_w as f32).round() as usize
        } else {
            0
        };
        let filled = filled.min(bar_w);
        let line_label = format!(" {label:<label_w$} ");
        let (x, _) = buf.set_stringn(
            inner.x,
            y,
            &line_label,
            usize::from(inner.width),
            Style::new(),
        );
        let room = usize::from(inner.right().saturating_sub(x));
        let (x, _) = buf.set_stringn(x, y, sym.bar_full.repeat(filled), room, theme.bar_fill());
        let room = usize::from(inner.right().saturating_sub(x));
        let (x, _) = buf.set_stringn(
            x,
            y,
            sym.bar_empty.repeat(bar_w - filled),
            room,
            theme.dim(),
        );
        let room = usize::from(inner.right().saturating_sub(x));
        buf.set_stringn(x, y, format!(" {}", fmt_num(*value)), room, Style::new());
    }
}

#[cfg(test)]
mod bar_tests {
    use super::*;

    #[test]
    fn a_tiny_value_is_written_whole_beside_its_bar() {
        let bars = Panel::Bars(Bars {
            label: "p".into(),
            items: vec![("circle".into(), 9.6e-10), ("triangle".into(), 1.0)],
        });
        let style = PanelStyle::plain(Theme::new(false, true));
        for w in [30u16, 38, 60] {
            let area = Rect::new(0, 0, w, 4);
            let mut buf = Buffer::empty(area);
            render_panel(&bars, &style, area, &mut buf);
            let text: String = buf.content.iter().map(|c| c.symbol()).collect();
            assert!(text.contains("9.6e-10"), "{w}: {text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_width_and_paragraphs() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn grouped_wrap_keeps_products_whole() {
        assert_eq!(
            wrap_grouped("(255 x 1) + (255 x -1) = 0", 14),
            vec!["(255 x 1) +", "(255 x -1) = 0"]
        );
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("hello world", 8, "..."), "hello...");
        assert_eq!(truncate("hi", 8, "..."), "hi");
    }

    #[test]
    fn images_are_half_blocks_in_colour_and_shades_without() {
        use ratatui::style::Color;
        // 2x2: white top row, black bottom row
        let img = ImagePanel {
            label: "i".into(),
            width: 2,
            height: 2,
            rgb: vec![255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0],
        };
        let panel = Panel::Image(img);
        let draw = |theme: Theme| {
            let (w, h) = panel_size(&panel, &PanelStyle::plain(theme), 20, 10);
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            render_panel(&panel, &PanelStyle::plain(theme), area, &mut buf);
            buf
        };
        let buf = draw(Theme::new(true, false));
        let pixels: Vec<_> = buf.content.iter().filter(|c| c.symbol() == "▀").collect();
        let white = Color::Rgb(255, 255, 255);
        let black = Color::Rgb(0, 0, 0);
        assert!(pixels.iter().any(|c| c.fg == white && c.bg == white));
        assert!(pixels.iter().any(|c| c.fg == black && c.bg == black));
        for theme in [Theme::new(false, false), Theme::new(true, true)] {
            let buf = draw(theme);
            assert!(buf.content.iter().all(|c| c.symbol() != "▀"));
            if !theme.color {
                assert!(buf
                    .content
                    .iter()
                    .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
            }
            // white is the densest shade
            assert!(buf.content.iter().any(|c| c.symbol() == "@"));
        }
    }

    #[test]
    fn images_fit_their_box() {
        let img = ImagePanel {
            label: "x".into(),
            width: 128,
            height: 128,
            rgb: vec![200; 128 * 128 * 3],
        };
        let (w, h) = image_size(&img, 40, 12);
        assert!(w <= 40 && h <= 12, "{w}x{h}");
        let tiny = ImagePanel {
            label: "t".into(),
            width: 4,
            height: 4,
            rgb: vec![0; 48],
        };
        let (cols, rows) = image_cells(&tiny, 80, 40);
        assert_eq!((cols, rows), (16, 8));
    }
}
