//! What a filter looks for (the filters tab's `Enter`): for one channel of one
//! convolution, the 9 validation images that excite it most, each drawn as the part of the
//! image around what its best unit sees (the receptive field, outlined), and the channel's
//! mean activation per class. The numbers are the engine's ([`crate::filters_look`]),
//! computed once for every channel when the view first opens; the pictures are cut when
//! the selection changes; drawing only reads.

use std::sync::Arc;
use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::filters_look::{Looks, Patch, Region};
use crate::nn::net::Net;

use super::super::super::theme::Theme;
use super::super::super::widgets::{truncate, wrap};
use super::evaluation::Evaluation;

/// Patches shown per channel.
pub const TOP: usize = 9;

/// One patch ready to draw: the engine's numbers, the part of the image cut out around
/// its receptive field (`context`, RGB row-major) and its class name.
#[derive(Debug, Clone)]
pub struct Tile {
    /// The engine's patch.
    pub patch: Patch,
    /// The part of the image drawn.
    pub context: Region,
    /// Its pixels, RGB row-major.
    pub rgb: Vec<u8>,
    /// The image's class.
    pub class: String,
}

/// The open view: which convolution and channel, the engine's result and the tiles.
#[derive(Debug, Clone)]
pub struct LookView {
    /// Index into the convolutions.
    pub layer: usize,
    /// Channel of that convolution.
    pub channel: usize,
    /// First row of tiles shown (when they do not all fit).
    pub page: usize,
    /// The engine's numbers for every channel, or why there are none.
    pub looks: Result<Arc<Looks>, String>,
    /// Seconds the engine took (0 when it came from before).
    pub seconds: f64,
    /// The tiles of the channel shown.
    pub tiles: Vec<Tile>,
    /// The channel's mean activation per class (`None`: no image of it).
    pub means: Vec<Option<f64>>,
    /// Class names.
    pub classes: Vec<String>,
}

impl LookView {
    /// Open on `channel` of the first convolution: the engine runs over the evaluation's
    /// validation images unless `cached` holds its result already.
    pub(crate) fn open(
        net: &Net,
        ev: &Evaluation,
        classes: &[String],
        channel: usize,
        cached: Option<Arc<Looks>>,
    ) -> LookView {
        let t0 = Instant::now();
        let looks = match (cached, &ev.dataset) {
            (Some(l), _) => Ok(l),
            (None, Some(ds)) => Looks::compute(net, ds, &ev.val)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
            (None, None) => Err(
                "There are no validation images here (a model read from a file is evaluated on \
                 its own validation split first; train or load one that has it)."
                    .into(),
            ),
        };
        let mut v = LookView {
            layer: 0,
            channel,
            page: 0,
            looks,
            seconds: t0.elapsed().as_secs_f64(),
            tiles: Vec::new(),
            means: Vec::new(),
            classes: classes.to_vec(),
        };
        v.select(ev, 0, 0);
        v
    }

    /// The convolution (`dl`: -1, 0, +1) and channel (`dc`) next to the one shown.
    pub(crate) fn select(&mut self, ev: &Evaluation, dl: isize, dc: isize) {
        let Ok(looks) = &self.looks else {
            return;
        };
        let looks = looks.clone();
        let last = looks.layers.len().saturating_sub(1);
        let layer = self.layer.saturating_add_signed(dl).min(last);
        if layer != self.layer {
            self.layer = layer;
            self.channel = 0;
        }
        let channels = looks.layers.get(layer).map_or(1, |l| l.channels);
        self.channel = self.channel.saturating_add_signed(dc).min(channels - 1);
        self.page = 0;
        let top = looks.top(self.layer, self.channel, TOP).unwrap_or_default();
        self.means = looks
            .class_means(self.layer, self.channel)
            .unwrap_or_default();
        let field = looks.layers.get(layer).map(|l| l.field);
        self.tiles = top
            .into_iter()
            .filter_map(|p| {
                let ds = ev.dataset.as_ref()?;
                let chw = ds.try_image(*ev.val.get(p.image)?).ok()?;
                // the field and half its size around it, at least 2 pixels
                let by = field.map_or(2, |f| (f.size / 2).max(2));
                let context = p.region.grown(by, looks.image_size);
                Some(Tile {
                    patch: p,
                    context,
                    rgb: cut(&chw, looks.image_size, context),
                    class: self.classes.get(p.label).cloned().unwrap_or_default(),
                })
            })
            .collect();
    }

    /// Scroll the tiles a row down (`down`) or up.
    pub(crate) fn scroll(&mut self, down: bool) {
        self.page = if down {
            (self.page + 1).min(self.tiles.len().saturating_sub(1))
        } else {
            self.page.saturating_sub(1)
        };
    }
}

/// The RGB pixels of `r` of a CHW image of `(h, w)`.
fn cut(chw: &[u8], (h, w): (usize, usize), r: Region) -> Vec<u8> {
    let plane = h * w;
    let mut out = Vec::with_capacity((r.y1 - r.y0) * (r.x1 - r.x0) * 3);
    for y in r.y0..r.y1 {
        for x in r.x0..r.x1 {
            for c in 0..3 {
                out.push(chw.get(c * plane + y * w + x).copied().unwrap_or(0));
            }
        }
    }
    out
}

/// Tile geometry for `n` tiles in `w` x `h` cells: (picture rows, picture columns, tiles
/// per row); pictures keep square pixels (two pixel rows per cell row, one per column).
fn geometry(n: usize, w: u16, h: u16) -> (usize, usize, usize) {
    let (w, h) = (usize::from(w), usize::from(h));
    for rows in (3..=10).rev() {
        let cols = 2 * rows;
        let per_row = ((w + 1) / (cols + 1)).max(1);
        if n.div_ceil(per_row) * (rows + 1) <= h && cols <= w {
            return (rows, cols, per_row);
        }
    }
    let cols = w.clamp(1, 6);
    (3, cols, ((w + 1) / (cols + 1)).max(1))
}

/// Draw the view into `area`.
pub(crate) fn render(theme: &Theme, v: &LookView, area: Rect, buf: &mut Buffer) {
    let looks = match &v.looks {
        Ok(l) => l,
        Err(why) => {
            Paragraph::new(
                theme
                    .text(&format!("What a filter looks for: {why}"))
                    .into_owned(),
            )
            .wrap(Wrap { trim: true })
            .render(area, buf);
            return;
        }
    };
    let Some(layer) = looks.layers.get(v.layer) else {
        return;
    };
    let f = layer.field;
    let head = format!(
        "What {} filter {} of {} looks for (left/right filter, up/down layer: {} of {}): the \
         {} of {} validation images where it is strongest (its output before any activation), \
         each around the {}x{} pixels its strongest unit sees (outlined).",
        layer.name,
        v.channel + 1,
        layer.channels,
        v.layer + 1,
        looks.layers.len(),
        v.tiles.len(),
        looks.images(),
        f.size.min(looks.image_size.0),
        f.size.min(looks.image_size.1),
    );
    let means: Vec<String> = v
        .means
        .iter()
        .enumerate()
        .map(|(c, m)| {
            let name = crate::text::escaped(v.classes.get(c).map_or("?", String::as_str));
            match m {
                Some(m) => format!("{name} {m:.3}"),
                None => format!("{name} (none)"),
            }
        })
        .collect();
    let took = if v.seconds > 0.0 {
        format!(" (computed in {:.2} s)", v.seconds)
    } else {
        String::new()
    };
    let text = format!(
        "{head} Mean per class, over every position: {}{took}.",
        means.join(", ")
    );
    let text = theme.text(&text).into_owned();
    let lines = u16::try_from(wrap(&text, usize::from(area.width.max(1))).len()).unwrap_or(0);
    let head_h = lines.min(area.height);
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .render(Rect::new(area.x, area.y, area.width, head_h), buf);
    let room = Rect::new(
        area.x,
        area.y + head_h,
        area.width,
        area.height.saturating_sub(head_h),
    );
    render_tiles(theme, v, room, buf);
}

/// The tiles in rows, from the row `v.page` on.
fn render_tiles(theme: &Theme, v: &LookView, room: Rect, buf: &mut Buffer) {
    let (rows, cols, per_row) = geometry(v.tiles.len(), room.width, room.height);
    let fit_rows = usize::from(room.height) / (rows + 1);
    let total_rows = v.tiles.len().div_ceil(per_row);
    let first = v.page.min(total_rows.saturating_sub(fit_rows.max(1)));
    for (i, tile) in v.tiles.iter().enumerate().skip(first * per_row) {
        let (row, col) = (i / per_row - first, i % per_row);
        if row >= fit_rows {
            break;
        }
        let x = room.x + u16::try_from(col * (cols + 1)).unwrap_or(0);
        let y = room.y + u16::try_from(row * (rows + 1)).unwrap_or(0);
        let label = format!(
            "{} {:.2} {}",
            i + 1,
            tile.patch.value,
            crate::text::escaped(&tile.class)
        );
        buf.set_stringn(
            x,
            y,
            truncate(&theme.text(&label), cols, theme.symbols().ellipsis),
            cols,
            theme.heading(),
        );
        draw_tile(
            theme,
            tile,
            Rect::new(x, y + 1, cols as u16, rows as u16),
            buf,
        );
    }
    if total_rows > fit_rows {
        let more = format!(
            "rows {}-{} of {total_rows} (PgUp/PgDn)",
            first + 1,
            (first + fit_rows).min(total_rows)
        );
        let y = room.bottom().saturating_sub(1);
        buf.set_stringn(
            room.right().saturating_sub(more.len() as u16),
            y,
            &more,
            more.len(),
            theme.dim(),
        );
    }
}

/// One tile: the context picture (half blocks, or a character ramp without colour), the
/// receptive field outlined with line characters.
fn draw_tile(theme: &Theme, t: &Tile, area: Rect, buf: &mut Buffer) {
    let (ch, cw) = t.context.size();
    let (cols, rows) = (usize::from(area.width), usize::from(area.height));
    if ch == 0 || cw == 0 || cols == 0 || rows == 0 {
        return;
    }
    let px = |x: usize, y: usize| -> (u8, u8, u8) {
        // pixel (x, y) of a cols x 2*rows picture: the nearest source pixel
        let sx = (x * cw / cols).min(cw - 1);
        let sy = (y * ch / (2 * rows)).min(ch - 1);
        let i = (sy * cw + sx) * 3;
        (t.rgb[i], t.rgb[i + 1], t.rgb[i + 2])
    };
    // the frame around the field's cells, just outside them where the tile has room
    let r = t.patch.region;
    let cell_x = |x: usize| (x - t.context.x0) * cols / cw;
    let cell_y = |y: usize| (y - t.context.y0) * rows / ch;
    let (fx0, fx1) = (
        cell_x(r.x0).saturating_sub(1),
        (cell_x(r.x1 - 1) + 1).min(cols - 1),
    );
    let (fy0, fy1) = (
        cell_y(r.y0).saturating_sub(1),
        (cell_y(r.y1 - 1) + 1).min(rows - 1),
    );
    let ramp = b" .:-=+*#%@";
    for cy in 0..rows {
        for cx in 0..cols {
            let (top, bottom) = (px(cx, 2 * cy), px(cx, 2 * cy + 1));
            let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) else {
                continue;
            };
            let edge = outline(theme, (cx, cy), (fx0, fx1), (fy0, fy1));
            let avg = |a: u8, b: u8| ((u16::from(a) + u16::from(b)) / 2) as u8;
            let mid = (
                avg(top.0, bottom.0),
                avg(top.1, bottom.1),
                avg(top.2, bottom.2),
            );
            match (edge, theme.color && !theme.ascii) {
                (Some(e), true) => {
                    cell.set_symbol(e)
                        .set_style(Style::new().fg(Color::Yellow))
                        .set_bg(theme.pixel(mid.0, mid.1, mid.2));
                }
                (Some(e), false) => {
                    cell.set_symbol(e);
                }
                (None, true) => {
                    cell.set_symbol("▀")
                        .set_fg(theme.pixel(top.0, top.1, top.2))
                        .set_bg(theme.pixel(bottom.0, bottom.1, bottom.2));
                }
                (None, false) => {
                    let lum = 0.299 * f32::from(mid.0)
                        + 0.587 * f32::from(mid.1)
                        + 0.114 * f32::from(mid.2);
                    let i = ((lum / 256.0) * ramp.len() as f32) as usize;
                    cell.set_char(char::from(ramp[i.min(ramp.len() - 1)]));
                }
            }
        }
    }
}

/// The line character of cell (`x`, `y`) when it lies on the outline of the field's
/// cells (`fx`, `fy`: first and last, inclusive).
fn outline(
    theme: &Theme,
    (x, y): (usize, usize),
    (fx0, fx1): (usize, usize),
    (fy0, fy1): (usize, usize),
) -> Option<&'static str> {
    let (on_x, on_y) = (x == fx0 || x == fx1, y == fy0 || y == fy1);
    let in_x = (fx0..=fx1).contains(&x);
    let in_y = (fy0..=fy1).contains(&y);
    let ascii = theme.ascii;
    Some(match (on_x && in_y, on_y && in_x) {
        (true, true) if ascii => "+",
        (true, true) => match (x == fx0, y == fy0) {
            (true, true) => "┌",
            (false, true) => "┐",
            (true, false) => "└",
            (false, false) => "┘",
        },
        (true, false) if ascii => "|",
        (true, false) => "│",
        (false, true) if ascii => "-",
        (false, true) => "─",
        (false, false) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_tiles_fit_both_sizes() {
        // 80x24's body below the heading: 3 rows of 3 need 3 x (rows + 1) lines
        let (rows, cols, per_row) = geometry(9, 80, 14);
        assert!(
            9usize.div_ceil(per_row) * (rows + 1) <= 14,
            "{rows} {cols} {per_row}"
        );
        let (rows, _, per_row) = geometry(9, 120, 32);
        assert!(rows >= 6 && 9usize.div_ceil(per_row) * (rows + 1) <= 32);
    }

    #[test]
    fn the_outline_is_the_fields_border() {
        let t = Theme::new(false, true);
        assert_eq!(outline(&t, (2, 3), (2, 5), (3, 4)), Some("+"));
        assert_eq!(outline(&t, (3, 3), (2, 5), (3, 4)), Some("-"));
        assert_eq!(outline(&t, (5, 4), (2, 5), (3, 4)), Some("+"));
        assert_eq!(outline(&t, (2, 5), (2, 5), (3, 4)), None);
        assert_eq!(outline(&t, (3, 4), (2, 5), (3, 4)), Some("-"));
    }
}
