//! Drawing the inspector: a pure function of [`InspectorState`]. The stages strip, the
//! small pictures of the stage's maps, the large map (and the layer's input with the
//! window), and the explanation the state computed. Nothing here runs the network.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::explore::{Explorer, StageKind};
use crate::nn::net::IMAGE_SIDE;

use super::super::keys;
use super::super::theme::Theme;
use super::super::view::{render_bar, render_status};
use super::actions;
use super::explain_view::explanation;
use super::state::{Focus, InspectorState, View, DRAW_SIDE, PALETTE};
use crate::text::Dec;

/// The sentence every view shows.
pub const DROPOUT_OFF: &str = "Dropout is off here (evaluation mode)";

/// How one picture cell is marked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    None,
    Window,
    Cursor,
}

/// Where a picture's pixels come from.
enum Source<'a> {
    /// A plane of values, drawn grey from its smallest (black) to its largest (white).
    Grey(ndarray::ArrayView2<'a, f32>),
    /// A plane of signed values, blue below zero, red above, white at zero, scaled by `max`.
    Signed(ndarray::ArrayView2<'a, f32>, f32),
    /// RGB pixels, CHW, of a square picture of this side.
    Rgb(&'a [u8], usize),
}

impl Source<'_> {
    fn side(&self) -> usize {
        match self {
            Source::Grey(a) | Source::Signed(a, _) => a.dim().0,
            Source::Rgb(_, s) => *s,
        }
    }
}

/// The range of a plane.
fn range(a: &ndarray::ArrayView2<'_, f32>) -> (f32, f32) {
    a.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        })
}

/// Draw `src` as a `cols` x `rows` picture at (`x`, `y`) (half blocks in colour: two
/// pixels a cell; shaded characters otherwise). `marks` says how a map cell is marked.
#[allow(clippy::too_many_arguments)]
fn picture(
    theme: &Theme,
    src: &Source<'_>,
    x: u16,
    y: u16,
    cols: usize,
    rows: usize,
    marks: &dyn Fn(usize, usize) -> Mark,
    buf: &mut Buffer,
) {
    let side = src.side();
    if cols == 0 || rows == 0 || side == 0 {
        return;
    }
    let color = theme.color && !theme.ascii;
    let px_rows = if color { rows * 2 } else { rows };
    let (lo, hi) = match src {
        Source::Grey(a) => range(a),
        _ => (0.0, 1.0),
    };
    let span = (hi - lo).max(1e-12);
    let at = |py: usize, px: usize| -> ((u8, u8, u8), Mark) {
        let (r, c) = (py * side / px_rows, px * side / cols);
        // every map cell this pixel covers, so a mark is never lost when shrinking
        let r1 = ((py + 1) * side / px_rows).max(r + 1);
        let c1 = ((px + 1) * side / cols).max(c + 1);
        let mut mark = Mark::None;
        for rr in r..r1 {
            for cc in c..c1 {
                match marks(rr, cc) {
                    Mark::Cursor => mark = Mark::Cursor,
                    Mark::Window if mark == Mark::None => mark = Mark::Window,
                    _ => {}
                }
            }
        }
        let rgb = match src {
            Source::Grey(a) => {
                let g = (255.0 * (a[[r, c]] - lo) / span).clamp(0.0, 255.0) as u8;
                (g, g, g)
            }
            Source::Signed(a, max) => {
                let v = (a[[r, c]] / max.max(1e-12)).clamp(-1.0, 1.0);
                let k = (255.0 * (1.0 - v.abs())) as u8;
                if !color {
                    // no colour: zero is mid grey, positive bright, negative dark
                    let g = (127.5 * (1.0 + v)) as u8;
                    (g, g, g)
                } else if v >= 0.0 {
                    (255, k, k)
                } else {
                    (k, k, 255)
                }
            }
            Source::Rgb(chw, s) => {
                let p = s * s;
                let i = r * s + c;
                (chw[i], chw[p + i], chw[2 * p + i])
            }
        };
        (rgb, mark)
    };
    let tint = |(rgb, m): ((u8, u8, u8), Mark)| match m {
        Mark::None => theme.pixel(rgb.0, rgb.1, rgb.2),
        Mark::Window => Color::Yellow,
        Mark::Cursor => Color::Magenta,
    };
    for cy in 0..rows {
        for cx in 0..cols {
            let Some(cell) = buf.cell_mut((x + cx as u16, y + cy as u16)) else {
                continue;
            };
            if color {
                let top = at(cy * 2, cx);
                let bottom = at(cy * 2 + 1, cx);
                cell.set_symbol("▀").set_fg(tint(top)).set_bg(tint(bottom));
            } else {
                let ((r, g, b), m) = at(cy, cx);
                let lum = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
                const RAMP: &[u8] = b" .:-=+*#%@";
                let i = ((lum / 256.0) * RAMP.len() as f32) as usize;
                let ch = char::from(RAMP[i.min(RAMP.len() - 1)]);
                match m {
                    Mark::None => {
                        cell.set_char(ch).set_style(Style::reset());
                    }
                    Mark::Window => {
                        cell.set_char(if ch == ' ' { '.' } else { ch })
                            .set_style(theme.selected());
                    }
                    Mark::Cursor => {
                        cell.set_char('X').set_style(theme.cursor());
                    }
                }
            }
        }
    }
}

/// The picture size (cols, rows) for a map of `side` in at most `w` x `h` cells.
fn fit(theme: &Theme, side: usize, w: u16, h: u16) -> (usize, usize) {
    let color = theme.color && !theme.ascii;
    let per_row = if color { 2 } else { 1 };
    if color {
        let n = side.min(usize::from(w)).min(usize::from(h) * per_row);
        (n, n.div_ceil(2))
    } else {
        // a character is about twice as tall as wide: two columns a row keeps it square
        let cols = side.min(usize::from(w)).min(usize::from(h) * 2);
        (cols, (cols / 2).max(1).min(usize::from(h)))
    }
}

/// Draw the inspector into `area`.
pub(crate) fn render(theme: &Theme, st: &InspectorState, area: Rect, buf: &mut Buffer) {
    if area.height < 8 || area.width < 40 {
        return;
    }
    let sym = theme.symbols();
    let e = st.explorer();
    let d = e.decision();
    let k = d.predicted();
    let classes = e.classes();
    let best = format!(
        "says {} ({:.1}%)",
        crate::text::escaped(classes.get(k).map_or("?", String::as_str)),
        Dec::of(100.0 * d.probabilities.get(k).copied().unwrap_or(0.0))
    );
    let title = format!(" Inspector {} {} {} {}", sym.dot, st.what, sym.dot, best);
    render_bar(
        theme,
        &title,
        "",
        Rect::new(area.x, area.y, area.width, 1),
        buf,
    );
    // the status line
    // while a path box is open its own line says the keys
    let hints = if st.path_box_open() {
        Vec::new()
    } else {
        keys::hints(actions::TABLE, st, sym)
    };
    let notice = match &st.path_input {
        Some(p) => Some(p.status(usize::from(area.width))),
        None => st.notice.clone(),
    };
    render_status(
        theme,
        notice.as_deref(),
        &hints,
        Rect::new(area.x, area.bottom() - 1, area.width, 1),
        buf,
    );
    let mut y = area.y + 1;
    y = render_strip(theme, st, Rect::new(area.x, y, area.width, 2), buf);
    // the stage line: its shape, range, and the dropout note
    let info = stage_info(st, area.width >= 100);
    let line = Line::from(vec![
        Span::styled(theme.text(&info).into_owned(), theme.heading()),
        Span::raw(format!(" {} ", sym.dot)),
        Span::raw(DROPOUT_OFF),
    ]);
    Paragraph::new(line).render(Rect::new(area.x, y, area.width, 1), buf);
    y += 1;
    let bottom = area.bottom() - 1;
    if st.help {
        render_help(theme, Rect::new(area.x, y, area.width, bottom - y), buf);
        return;
    }
    if st.focus == Focus::Draw {
        render_drawing(theme, st, Rect::new(area.x, y, area.width, bottom - y), buf);
        return;
    }
    if st.focus == Focus::Growth {
        super::growth::render(theme, st, Rect::new(area.x, y, area.width, bottom - y), buf);
        return;
    }
    if let (true, Some(a)) = (st.why_on, &st.why_map) {
        render_why(
            theme,
            st,
            a,
            Rect::new(area.x, y, area.width, bottom - y),
            buf,
        );
        return;
    }
    // the small pictures
    let big = area.height >= 34;
    let (tw, th) = if big { (8u16, 4u16) } else { (5, 2) };
    let n = st.maps();
    let per_row = usize::from((area.width - 1) / (tw + 1)).max(1);
    let thumb_rows = n.div_ceil(per_row);
    for i in 0..n {
        let (row, col) = (i / per_row, i % per_row);
        let tx = area.x + 1 + col as u16 * (tw + 1);
        let ty = y + row as u16 * th;
        let src = map_source(st, i);
        picture(
            theme,
            &src,
            tx,
            ty,
            usize::from(tw),
            usize::from(th),
            &|_, _| Mark::None,
            buf,
        );
        if i == st.channel {
            for dy in 0..th {
                buf.set_string(tx - 1, ty + dy, "[", theme.bracket());
                buf.set_string(tx + tw, ty + dy, "]", theme.bracket());
            }
        }
    }
    y += thumb_rows as u16 * th;
    if y + 4 > bottom {
        return;
    }
    render_body(theme, st, Rect::new(area.x, y, area.width, bottom - y), buf);
}

/// The why view: the image with its map, and what the map is.
fn render_why(
    theme: &Theme,
    st: &InspectorState,
    a: &crate::why::Attribution,
    area: Rect,
    buf: &mut Buffer,
) {
    let rgb = crate::data::chw_to_rgb(st.pixels());
    let pic_w = (area.width / 2).min(52);
    let used = crate::tui::why_view::render_picture(
        theme,
        &st.what,
        &rgb,
        a,
        Rect::new(area.x, area.y, pic_w, area.height),
        buf,
    );
    let x = area.x + used + 1;
    let lines =
        crate::tui::why_view::text_lines(theme, a, st.explorer().classes(), st.why.untrained);
    Paragraph::new(lines)
        .wrap(ratatui::widgets::Wrap { trim: true })
        .render(
            Rect::new(x, area.y, area.right().saturating_sub(x), area.height),
            buf,
        );
}

/// The stages in order: names (and shapes, when they fit), the one shown highlighted.
/// Returns the row after it.
fn render_strip(theme: &Theme, st: &InspectorState, area: Rect, buf: &mut Buffer) -> u16 {
    let sym = theme.symbols();
    let arrow = if theme.ascii { ">" } else { "→" };
    let e = st.explorer();
    let k = e.classes().len();
    let d = e.decision();
    let fc_in = d.channels * d.side.0 * d.side.1;
    let full: Vec<String> = st
        .views()
        .iter()
        .map(|v| match v {
            View::Stage(s) => format!("{} {}", st.view_name(*v), shape_text(e, *s)),
            View::Decision if d.side == (1, 1) => format!("fc {k} {arrow} softmax"),
            View::Decision => format!("flatten {fc_in} {arrow} fc {k} {arrow} softmax"),
        })
        .collect();
    let short: Vec<String> = st.views().iter().map(|v| st.view_name(*v)).collect();
    let sep = format!(" {arrow} ");
    let total = |t: &[String]| {
        t.iter().map(|s| s.chars().count()).sum::<usize>() + sep.len() * (t.len() - 1)
    };
    let w = usize::from(area.width);
    let two_lines = total(&full) + 2 > w && total(&full) <= 2 * w - 8;
    let tokens = if total(&full) < w || (two_lines && area.height >= 2 && w >= 100) {
        &full
    } else {
        &short
    };
    let (mut x, mut y) = (area.x + 1, area.y);
    for (i, t) in tokens.iter().enumerate() {
        let tw = t.chars().count() as u16 + if i > 0 { 3 } else { 0 };
        if x + tw > area.right() {
            y += 1;
            x = area.x + 1;
        }
        if i > 0 && x > area.x + 1 {
            buf.set_string(x, y, &sep, theme.dim());
            x += 3;
        }
        let style = if i == st.view {
            theme.selected()
        } else {
            Style::new()
        };
        buf.set_string(x, y, t, style);
        x += t.chars().count() as u16;
    }
    let _ = sym;
    y + 1
}

/// A stage's shape as the strip writes it: `12x64x64`, or `10` for a vector.
fn shape_text(e: &Explorer, s: usize) -> String {
    let st = &e.stages()[s];
    let [c, h, w] = st.shape;
    if st.flat {
        c.to_string()
    } else {
        format!("{c}x{h}x{w}")
    }
}

/// The name of the convolution whose channels feed the decision (through activations,
/// pools, batch norms), else the stage's own name.
fn channel_origin(e: &Explorer, source: usize) -> String {
    let mut at = source;
    loop {
        let st = &e.stages()[at];
        match (st.kind, st.from) {
            (StageKind::Conv { .. }, _) => return st.name.clone(),
            (StageKind::Act(_) | StageKind::Pool { .. } | StageKind::Norm, Some(f)) => at = f,
            _ => return e.stages()[source].name.clone(),
        }
    }
}

/// The line under the strip: what the view shows.
fn stage_info(st: &InspectorState, long: bool) -> String {
    let e = st.explorer();
    match st.current() {
        View::Stage(s) => {
            let info = &e.stages()[s];
            let from = match info.from {
                None => "the image".to_string(),
                Some(0) => "input".to_string(),
                Some(f) => e.stages()[f].name.clone(),
            };
            let shape = shape_text(e, s);
            let c = info.shape[0];
            let (lo, hi) = (info.min, info.max);
            if long {
                format!(
                    "{} {shape} from {from}, map {} of {c}, values {lo:.2} to {hi:.2}",
                    info.name,
                    st.channel + 1,
                    lo = Dec::of(lo),
                    hi = Dec::of(hi)
                )
            } else {
                format!(
                    "{} {shape}, map {}, {lo:.2} to {hi:.2}",
                    info.name,
                    st.channel + 1,
                    lo = Dec::of(lo),
                    hi = Dec::of(hi)
                )
            }
        }
        View::Decision => {
            let d = e.decision();
            let src = &e.stages()[d.source];
            let n = d.channels * d.side.0 * d.side.1;
            if long {
                format!(
                    "fc: the {n} {} values x weights, per class; {} map {}",
                    src.name,
                    channel_origin(e, d.source),
                    st.channel + 1
                )
            } else {
                format!(
                    "fc {} x weights, map {}",
                    shape_text(e, d.source),
                    st.channel + 1
                )
            }
        }
    }
}

/// The source of map `i` of the view shown.
fn map_source<'a>(st: &'a InspectorState, i: usize) -> Source<'a> {
    let e = st.explorer();
    match st.current() {
        View::Stage(s) => Source::Grey(e.map(s).index_axis_move(ndarray::Axis(0), i)),
        View::Decision => {
            let d = e.decision();
            let class = st.class.min(d.scores.len().saturating_sub(1));
            Source::Signed(d.map(class, i), decision_max(st))
        }
    }
}

/// The largest |weight x activation| of the class explained (one scale for its maps).
fn decision_max(st: &InspectorState) -> f32 {
    let d = st.explorer().decision();
    let class = st.class.min(d.scores.len().saturating_sub(1));
    (0..d.channels)
        .map(|c| d.map(class, c).iter().fold(0.0f32, |m, v| m.max(v.abs())))
        .fold(1e-12, f32::max)
}

/// The input of the view's layer, with the window of the cell under the cursor:
/// (label, source, window rows, window cols).
/// A layer's input as drawn: label, pixels, window rows and columns (inclusive).
type InputMap<'a> = (String, Source<'a>, (usize, usize), (usize, usize));

fn input_of(st: &InspectorState) -> Option<InputMap<'_>> {
    let e = st.explorer();
    let (r, c) = st.cell;
    let ch = st.channel;
    let View::Stage(s) = st.current() else {
        return None;
    };
    let info = &e.stages()[s];
    let from = info.from?;
    let x = e.map(from);
    let (xc, xh, xw) = x.dim();
    let src_of = |i: usize| {
        if from == 0 && xc == 3 {
            Source::Rgb(st.pixels(), xh)
        } else {
            Source::Grey(x.index_axis_move(ndarray::Axis(0), i))
        }
    };
    let from_name = if from == 0 {
        "the image".to_string()
    } else {
        e.stages()[from].name.clone()
    };
    // a window from `lo` (negative: on the padding) of `n` cells, inside the map
    let clip = |lo: isize, n: usize, side: usize| {
        let last = side as isize - 1;
        (
            lo.clamp(0, last) as usize,
            (lo + n as isize - 1).clamp(0, last) as usize,
        )
    };
    match info.kind {
        StageKind::Conv { k, stride, pad } => {
            let inp = st.chosen_input().unwrap_or(0);
            let (r0, c0) = (
                (r * stride) as isize - pad as isize,
                (c * stride) as isize - pad as isize,
            );
            let rows = clip(r0, k, xh);
            let cols = clip(c0, k, xw);
            let label = if from == 0 && xc == 3 {
                format!("the image, {k}x{k} window")
            } else {
                format!("{from_name} map {}, {k}x{k} window", inp + 1)
            };
            Some((label, src_of(inp), rows, cols))
        }
        StageKind::Pool { k, stride, .. } => Some((
            format!("{from_name} map {}, {k}x{k} window", ch + 1),
            src_of(ch),
            (r * stride, (r * stride + k - 1).min(xh - 1)),
            (c * stride, (c * stride + k - 1).min(xw - 1)),
        )),
        StageKind::Act(_) | StageKind::Norm if (xh, xw) == (info.shape[1], info.shape[2]) => {
            Some((
                format!("{from_name} map {ch} (before)"),
                src_of(ch),
                (r, r),
                (c, c),
            ))
        }
        _ => None,
    }
}

/// The large map (and the input with the window, when there is room) and the explanation.
fn render_body(theme: &Theme, st: &InspectorState, area: Rect, buf: &mut Buffer) {
    let (r, c) = st.cell;
    let cursor = move |y: usize, x: usize| {
        if (y, x) == (r, c) {
            Mark::Cursor
        } else {
            Mark::None
        }
    };
    let map_h = area.height - 1;
    let wide = area.width >= 110;
    let max_w = if wide { 34 } else { 32 };
    let side = st.side();
    let (cols, rows) = fit(theme, side, max_w, map_h);
    let mut x = area.x + 1;
    let label_style = theme.heading();
    let input = input_of(st);
    let show_input_only = !wide && st.show_input && input.is_some();
    if wide || show_input_only {
        if let Some((label, src, (r0, r1), (c0, c1))) = &input {
            let (icols, irows) = fit(theme, src.side(), max_w, map_h);
            let (r0, r1, c0, c1) = (*r0, *r1, *c0, *c1);
            let win = move |y: usize, x: usize| {
                if (r0..=r1).contains(&y) && (c0..=c1).contains(&x) {
                    Mark::Window
                } else {
                    Mark::None
                }
            };
            let lw = icols.max(24);
            let label =
                crate::tui::widgets::truncate(&theme.text(label), lw, theme.symbols().ellipsis);
            buf.set_stringn(x, area.y, &label, lw, label_style);
            picture(theme, src, x, area.y + 1, icols, irows, &win, buf);
            x += (lw + 2) as u16;
        }
    }
    if !show_input_only {
        let e = st.explorer();
        let rgb_input = e.stages()[0].shape[0] == 3;
        let label = match st.current() {
            View::Stage(0) => format!("the image row {}, col {}", r + 1, c + 1),
            View::Stage(s) => format!(
                "{} map {}, row {}, col {}",
                e.stages()[s].name,
                st.channel + 1,
                r + 1,
                c + 1
            ),
            View::Decision => format!(
                "w{}a map {}, row {}, col {}",
                if theme.ascii { "*" } else { "×" },
                st.channel + 1,
                r + 1,
                c + 1
            ),
        };
        let src = match st.current() {
            View::Stage(0) if rgb_input => Source::Rgb(st.pixels(), e.stages()[0].shape[1]),
            _ => map_source(st, st.channel),
        };
        buf.set_stringn(x, area.y, &label, cols.max(24), label_style);
        picture(theme, &src, x, area.y + 1, cols, rows, &cursor, buf);
        x += (cols.max(24) + 2) as u16;
    }
    if x + 20 > area.right() {
        return;
    }
    let ex = Rect::new(x, area.y, area.right() - x, area.height);
    let lines = explanation(theme, st, usize::from(ex.width), usize::from(ex.height));
    let max_scroll = lines.len().saturating_sub(usize::from(ex.height)) as u16;
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((st.scroll.min(max_scroll), 0))
        .render(ex, buf);
}

/// The drawing grid and the live prediction.
fn render_drawing(theme: &Theme, st: &InspectorState, area: Rect, buf: &mut Buffer) {
    let Some(dr) = &st.drawing else {
        return;
    };
    let rows = DRAW_SIDE / 2;
    let rows = rows.min(usize::from(area.height.saturating_sub(1)));
    let cols = DRAW_SIDE;
    let chw = dr.to_chw();
    let (pr, pc) = dr.pen;
    // the picture at grid resolution: pen cell marked
    let pen = move |y: usize, x: usize| {
        let k = IMAGE_SIDE / DRAW_SIDE;
        if (y / k, x / k) == (pr, pc) {
            Mark::Cursor
        } else {
            Mark::None
        }
    };
    buf.set_stringn(
        area.x + 1,
        area.y,
        "your drawing, 32x32",
        usize::from(area.width),
        theme.heading(),
    );
    picture(
        theme,
        &Source::Rgb(&chw, IMAGE_SIDE),
        area.x + 1,
        area.y + 1,
        cols,
        rows,
        &pen,
        buf,
    );
    let x = area.x + cols as u16 + 3;
    if x + 20 > area.right() {
        return;
    }
    let e = st.explorer();
    let d = e.decision();
    let mut lines = vec![Line::styled("The network says, live:", theme.heading())];
    for (i, n) in e.classes().iter().enumerate() {
        let p = d.probabilities.get(i).copied().unwrap_or(0.0);
        let bar = super::super::training::view::gauge_text(theme, f64::from(p), 12);
        lines.push(Line::raw(format!(
            "{:<10} {bar} {:>5.1}%",
            crate::tui::widgets::truncate(&crate::text::escaped(n), 10, theme.symbols().ellipsis),
            Dec::of(100.0 * p)
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        "pen: {} ({}), row {pr} col {pc}",
        PALETTE[dr.color].0,
        if dr.down { "down: moving paints" } else { "up" }
    )));
    lines.push(Line::raw(format!(
        "one forward pass: {:.1} ms",
        Dec::of(st.last_pass_us as f64 / 1000.0)
    )));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(Rect::new(x, area.y, area.right() - x, area.height), buf);
}

/// The inspector's keys, by section, from its table (`?`).
fn render_help(theme: &Theme, area: Rect, buf: &mut Buffer) {
    let rows = keys::help_rows(actions::TABLE);
    let mut lines = Vec::new();
    for (section, rows) in keys::help_sections(rows, theme.symbols()) {
        lines.push(Line::styled(section.to_string(), theme.heading()));
        for (k, what) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<14} "), theme.key()),
                Span::raw(what.to_string()),
            ]));
        }
    }
    lines.push(Line::styled("any key closes this list", theme.dim()));
    // two columns when they fit
    let half = lines.len().div_ceil(2);
    if area.width >= 100 || usize::from(area.height) < lines.len() {
        let right = lines.split_off(half.min(lines.len()));
        let w = area.width / 2;
        // two columns apart, so a cut line never runs into the next column
        Paragraph::new(lines).render(
            Rect::new(area.x, area.y, w.saturating_sub(2), area.height),
            buf,
        );
        Paragraph::new(right).render(
            Rect::new(area.x + w, area.y, area.width - w, area.height),
            buf,
        );
    } else {
        Paragraph::new(lines).render(area, buf);
    }
}
