//! The inspector's explanation of the cell under the cursor: lines of text from the
//! engine's [`Explain`] (the view only formats it; nothing here runs the network).

use ratatui::text::{Line, Span};

use crate::explore::act_name;
use crate::nn::layers::Act;

use super::super::theme::Theme;
use super::state::{Explain, InspectorState};
use crate::text::Dec;

/// `v` with four decimals and a sign.
fn sv(v: f64) -> String {
    format!("{v:+.4}", v = Dec::of(v))
}

/// The explanation of the cell under the cursor, as lines of at most `w` columns.
pub(super) fn explanation(
    theme: &Theme,
    st: &InspectorState,
    w: usize,
    h: usize,
) -> Vec<Line<'static>> {
    let times = if theme.ascii { "*" } else { "×" };
    let head = theme.heading();
    let formula = theme.formula();
    let mut out: Vec<Line<'static>> = Vec::new();
    let e = st.explorer();
    match &st.explain {
        Explain::Input {
            channel,
            row,
            col,
            value,
            pixel,
        } => {
            let name = ["red", "green", "blue"]
                .get(*channel)
                .copied()
                .unwrap_or("?");
            out.push(Line::styled(
                format!("input {name} at row {row}, col {col}"),
                head,
            ));
            out.push(Line::raw(format!("pixel {pixel} of 255")));
            out.push(Line::styled(
                format!("normalised: {value:.4}", value = Dec::of(value)),
                formula,
            ));
            out.push(Line::raw("(as training reads it: 0..255 to -1..1)"));
        }
        Explain::Conv(_) => conv_lines(theme, st, w, h, &mut out),
        Explain::Pool(_) => pool_lines(theme, st, w, h, &mut out),
        Explain::Act { .. } => act_lines(theme, st, w, h, &mut out),
        Explain::Norm { .. } => norm_lines(theme, st, w, h, &mut out),
        Explain::Linear { stage, index, cell } => {
            let info = &e.stages()[*stage];
            out.push(Line::styled(format!("{} value {index}", info.name), head));
            out.push(Line::styled(
                format!(
                    "= {:.4}  (bias + {} products)",
                    Dec::of(cell.value),
                    cell.inputs
                ),
                formula,
            ));
            out.push(Line::raw(format!("bias {}", sv(f64::from(cell.bias)))));
            out.push(Line::raw(
                "largest input{times}weight:".replace("{times}", times),
            ));
            for (i, x, wv) in &cell.top {
                out.push(Line::raw(format!(
                    "  {i:>5}: {x:+.3}{times}{wv:+.3}",
                    x = Dec::of(x),
                    wv = Dec::of(wv)
                )));
            }
            out.push(Line::styled(
                format!("sum {:.4}", Dec::of(cell.sum)),
                formula,
            ));
        }
        Explain::Decision { .. } => decision_lines(theme, st, w, h, &mut out),
    }
    for l in &mut out {
        for s in &mut l.spans {
            if theme.ascii {
                s.content = theme.text(&s.content).into_owned().into();
            }
        }
    }
    out
}

/// The explanation lines of a `Conv` cell (see [`explanation`]).
fn conv_lines(
    theme: &Theme,
    st: &InspectorState,
    w: usize,
    h: usize,
    out: &mut Vec<Line<'static>>,
) {
    let times = if theme.ascii { "*" } else { "×" };
    let (head, formula, e) = (theme.heading(), theme.formula(), st.explorer());
    let _ = (w, h, times, head, formula, e);
    let Explain::Conv(cell) = &st.explain else {
        return;
    };
    let info = &e.stages()[cell.stage];
    let from_stage = info.from.unwrap_or(0);
    let from = if from_stage == 0 {
        "input".to_string()
    } else {
        e.stages()[from_stage].name.clone()
    };
    let rgb = from_stage == 0 && cell.inputs.len() == 3;
    let k = cell.k;
    let chosen = st.chosen_input().unwrap_or(0);
    out.push(Line::styled(
        format!(
            "{} map {} at row {}, col {} [{},{},{}]",
            cell.name,
            cell.channel + 1,
            cell.row + 1,
            cell.col + 1,
            cell.channel,
            cell.row,
            cell.col
        ),
        head,
    ));
    out.push(Line::styled(
        format!(
            "= {:.4}  (bias + {} x {} products)",
            Dec::of(cell.value),
            cell.inputs.len(),
            k * k
        ),
        formula,
    ));
    out.push(Line::raw(format!("bias {}", sv(f64::from(cell.bias)))));
    let product_lines = |g: &crate::explore::ChannelTerms, out: &mut Vec<Line<'static>>| {
        for row in g.terms.chunks(k) {
            let parts: Vec<String> = row
                .iter()
                .map(|t| format!("{:+.3}{times}{:+.3}", Dec::of(t.input), Dec::of(t.weight)))
                .collect();
            out.push(Line::raw(format!("  {}", parts.join(" "))));
        }
    };
    if rgb {
        for g in &cell.inputs {
            let name = ["red", "green", "blue"]
                .get(g.channel)
                .copied()
                .unwrap_or("?");
            out.push(Line::raw(format!(
                "{name:<5} {}  (input{times}weight)",
                sv(g.subtotal())
            )));
            product_lines(g, out);
        }
    } else {
        // a line each when there is room, else in columns
        let room = h.saturating_sub(out.len() + 5);
        let item = |g: &crate::explore::ChannelTerms| {
            let mark = if g.channel == chosen { ">" } else { " " };
            format!("{mark}{from} {:<2} {}", g.channel + 1, sv(g.subtotal()))
        };
        let iw = item(&cell.inputs[0]).chars().count() + 1;
        let per = if cell.inputs.len() <= room {
            1
        } else {
            (w / iw).max(1)
        };
        for chunk in cell.inputs.chunks(per) {
            let spans: Vec<Span<'static>> = chunk
                .iter()
                .map(|g| {
                    let s = format!("{:<iw$}", item(g));
                    if g.channel == chosen {
                        Span::styled(s, theme.selected())
                    } else {
                        Span::raw(s)
                    }
                })
                .collect();
            out.push(Line::from(spans));
        }
        if let Some(g) = cell.inputs.get(chosen) {
            out.push(Line::styled(
                format!(
                    "{from} map {}: {} = input{times}weight:",
                    chosen + 1,
                    sv(g.subtotal())
                ),
                head,
            ));
            product_lines(g, out);
        }
    }
    out.push(Line::styled(
        format!("sum {:.4}", Dec::of(cell.sum())),
        formula,
    ));
}

/// The explanation lines of a `Pool` cell (see [`explanation`]).
fn pool_lines(
    theme: &Theme,
    st: &InspectorState,
    w: usize,
    h: usize,
    out: &mut Vec<Line<'static>>,
) {
    let times = if theme.ascii { "*" } else { "×" };
    let (head, formula, e) = (theme.heading(), theme.formula(), st.explorer());
    let _ = (w, h, times, head, formula, e);
    let Explain::Pool(p) = &st.explain else {
        return;
    };
    let info = &e.stages()[p.stage];
    let from = e.stages()[info.from.unwrap_or(0)].name.clone();
    let (r0, c0) = p.origin;
    let k = p.k;
    out.push(Line::styled(
        format!(
            "{} map {} at row {}, col {} [{},{},{}]",
            p.name,
            p.channel + 1,
            p.row + 1,
            p.col + 1,
            p.channel,
            p.row,
            p.col
        ),
        head,
    ));
    out.push(Line::styled(
        format!(
            "= {:.4}, the {} of",
            Dec::of(p.value),
            if p.max { "largest" } else { "mean" }
        ),
        formula,
    ));
    out.push(Line::raw(format!(
        "{from} map {}, rows {}-{}, cols {}-{}:",
        p.channel + 1,
        r0 + 1,
        r0 + k,
        c0 + 1,
        c0 + k
    )));
    for row in 0..k {
        let cells: Vec<Span<'static>> = (0..k)
            .map(|col| {
                let i = row * k + col;
                let v = format!("{:>9.4}", Dec::of(p.window[i]));
                if p.winner == Some(i) {
                    Span::styled(format!("[{v}]"), theme.emphasis())
                } else {
                    Span::raw(format!(" {v} "))
                }
            })
            .collect();
        out.push(Line::from(cells));
    }
    out.push(Line::raw(format!("({})", info.kind.summary())));
}

/// The explanation lines of a `Act` cell (see [`explanation`]).
fn act_lines(theme: &Theme, st: &InspectorState, w: usize, h: usize, out: &mut Vec<Line<'static>>) {
    let times = if theme.ascii { "*" } else { "×" };
    let (head, formula, e) = (theme.heading(), theme.formula(), st.explorer());
    let _ = (w, h, times, head, formula, e);
    let Explain::Act { stage, cell } = &st.explain else {
        return;
    };
    let info = &e.stages()[*stage];
    let before = e.stages()[info.from.unwrap_or(0)].name.clone();
    out.push(Line::styled(
        format!(
            "{} map {} at row {}, col {} [{},{},{}]",
            info.name,
            st.channel + 1,
            st.cell.0 + 1,
            st.cell.1 + 1,
            st.channel,
            st.cell.0,
            st.cell.1
        ),
        head,
    ));
    out.push(Line::raw(format!(
        "before ({before}): {:.4}",
        Dec::of(cell.before)
    )));
    let (x, y) = (cell.before, cell.after);
    let f = match cell.act {
        Act::Relu => format!("max(0, {x:.4})", x = Dec::of(x)),
        Act::Tanh => format!("tanh({x:.4})", x = Dec::of(x)),
        Act::Sigmoid => format!("1 / (1 + e^-({x:.4}))", x = Dec::of(x)),
        Act::Leaky(sl) if x > 0.0 => {
            format!("{x:.4} (positive; below 0: {sl} {times} x)", x = Dec::of(x))
        }
        Act::Leaky(sl) => format!("{sl} {times} {x:.4}", x = Dec::of(x)),
    };
    out.push(Line::styled(
        format!("after: {f} = {y:.4}", y = Dec::of(y)),
        formula,
    ));
    out.push(Line::raw(match cell.act {
        Act::Relu if x > 0.0 => "positive: passes unchanged".to_string(),
        Act::Relu => "not positive: becomes 0".to_string(),
        Act::Tanh => "squeezed into -1..1".to_string(),
        Act::Sigmoid => "squeezed into 0..1".to_string(),
        a @ Act::Leaky(_) => act_name(a),
    }));
}

/// The explanation lines of a `Norm` cell (see [`explanation`]).
fn norm_lines(
    theme: &Theme,
    st: &InspectorState,
    w: usize,
    h: usize,
    out: &mut Vec<Line<'static>>,
) {
    let times = if theme.ascii { "*" } else { "×" };
    let (head, formula, e) = (theme.heading(), theme.formula(), st.explorer());
    let _ = (w, h, times, head, formula, e);
    let Explain::Norm { stage, cell } = &st.explain else {
        return;
    };
    let info = &e.stages()[*stage];
    let before = e.stages()[info.from.unwrap_or(0)].name.clone();
    out.push(Line::styled(
        format!(
            "{} map {} at row {}, col {} [{},{},{}]",
            info.name,
            st.channel + 1,
            st.cell.0 + 1,
            st.cell.1 + 1,
            st.channel,
            st.cell.0,
            st.cell.1
        ),
        head,
    ));
    out.push(Line::raw(format!(
        "before ({before}): {:.4}",
        Dec::of(cell.before)
    )));
    out.push(Line::raw(format!(
        "running mean {:.4}, variance {:.4}",
        Dec::of(cell.mean),
        Dec::of(cell.var)
    )));
    out.push(Line::raw(format!(
        "weight {:.4}, bias {:.4}",
        Dec::of(cell.weight),
        Dec::of(cell.bias)
    )));
    out.push(Line::styled(
        format!(
            "({:.4} - {:.4}) / sqrt({:.4} + 1e-5) {times} {:.4} + {:.4} = {:.4}",
            Dec::of(cell.before),
            Dec::of(cell.mean),
            Dec::of(cell.var),
            Dec::of(cell.weight),
            Dec::of(cell.bias),
            Dec::of(cell.after)
        ),
        formula,
    ));
}

/// The explanation lines of a `Decision` cell (see [`explanation`]).
fn decision_lines(
    theme: &Theme,
    st: &InspectorState,
    w: usize,
    h: usize,
    out: &mut Vec<Line<'static>>,
) {
    let times = if theme.ascii { "*" } else { "×" };
    let (head, formula, e) = (theme.heading(), theme.formula(), st.explorer());
    let _ = (w, h, times, head, formula, e);
    let Explain::Decision {
        class,
        channel,
        row,
        col,
        weight,
        activation,
        product,
        ranked,
        sum,
    } = &st.explain
    else {
        return;
    };
    let d = e.decision();
    let names = e.classes();
    out.push(Line::styled("scores (fc) and softmax", head));
    for (i, n) in names.iter().enumerate() {
        let s = format!(
            "{}{:<10} {:>8.3} {:>6.1}%",
            if i == *class { ">" } else { " " },
            crate::tui::widgets::truncate(&crate::text::escaped(n), 10, theme.symbols().ellipsis),
            Dec::of(d.scores.get(i).copied().unwrap_or(0.0)),
            Dec::of(100.0 * d.probabilities.get(i).copied().unwrap_or(0.0))
        );
        out.push(if i == *class {
            Line::styled(s, theme.selected())
        } else {
            Line::raw(s)
        });
    }
    let cname = crate::text::escaped(names.get(*class).map_or("?", String::as_str));
    out.push(Line::styled(
        format!(
            "{cname}: bias {} + {} maps = {sum:.4}",
            sv(f64::from(d.bias[*class])),
            d.channels,
            sum = Dec::of(sum)
        ),
        formula,
    ));
    let top = if h > 20 { 6 } else { 3 };
    let best: Vec<String> = ranked
        .iter()
        .take(top)
        .map(|(c, v)| format!("{c}:{}", sv(*v)))
        .collect();
    out.push(Line::raw(format!("most for: {}", best.join(" "))));
    let worst: Vec<String> = ranked
        .iter()
        .rev()
        .take(top.min(3))
        .map(|(c, v)| format!("{c}:{}", sv(*v)))
        .collect();
    out.push(Line::raw(format!("most against: {}", worst.join(" "))));
    out.push(Line::styled(
        format!("map {} row {} col {}:", channel + 1, row + 1, col + 1),
        head,
    ));
    out.push(Line::raw(format!(
        "{weight:+.4} {times} {activation:.4} = {product:+.4}",
        weight = Dec::of(weight),
        activation = Dec::of(activation),
        product = Dec::of(product)
    )));
    out.push(Line::raw("red pushed towards the class, blue away"));
}
