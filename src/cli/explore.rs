//! `cnn-tutor explore`: look inside a trained net for one image, headless (handouts,
//! tests). The numbers come from [`crate::explore::Explorer`]; this file only prints them.
//!
//! - without `--layer`: the prediction and each stage's shape and value range;
//! - `--layer NAME` (any named output of the network: `conv1`, `pool2`, `relu3`, `bn1`,
//!   `fc1` ...): one cell; a convolution's as its bias plus its products input x weight,
//!   per input channel, then where it goes (pool, activation ...);
//! - `--layer fc`: the scores, the probabilities and the channels that pushed each
//!   class's score up or down most.
//!
//! `--channel` defaults to 0; `--at` defaults to the channel's strongest cell (its largest
//! value, the first in reading order on ties), where the filter answers most.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Value};

use crate::cli::{GlobalOpts, DEFAULT_MODEL_PATH};
use crate::explore::{act_name, ConvCell, Explorer, StageKind};
use crate::nn::layers::Act;
use crate::text::Dec;
use crate::text::{escaped, path as shown_path};
use crate::{Error, Result};

#[derive(Debug, Clone, Args)]
pub struct ExploreArgs {
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// The image to look at (PNG or JPEG; resized to 128x128 as `predict` does).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// A layer's output by its name (conv1, pool1, relu1, bn1, fc1 ...: the overview lists
    /// them), or fc for the scores. Without it: the overview.
    #[arg(long, value_name = "NAME")]
    pub layer: Option<String>,
    /// Output channel of the layer (0-based; default 0).
    #[arg(long, requires = "layer")]
    pub channel: Option<usize>,
    /// Row and column of the cell, 0-based (default: the channel's strongest cell).
    #[arg(long, value_name = "ROW,COL", value_parser = parse_at, requires = "layer")]
    pub at: Option<(usize, usize)>,
    /// With --plain, the input channel whose products are written out (a convolution;
    /// default: the one with the largest subtotal; one on the image shows all three).
    #[arg(long, value_name = "C", requires = "layer")]
    pub input_channel: Option<usize>,
    /// Readable text (the default).
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
    /// Why the network decided: an attribution map for --class, in evaluation mode.
    /// saliency: the largest over the channels of |d score / d pixel| (128x128);
    /// gradcam: the feature maps after the last convolution (--layer to choose another)
    /// weighted by their mean gradient, ReLU (relu3: 32x32); occlusion: the probability
    /// lost when a grey patch hides each place (15x15 at the defaults).
    #[arg(long, value_name = "METHOD")]
    pub explain: Option<String>,
    /// The class to explain, by name (default: the predicted class).
    #[arg(long, value_name = "NAME", requires = "explain")]
    pub class: Option<String>,
    /// Occlusion's patch side, in pixels.
    #[arg(
        long,
        value_name = "N",
        requires = "explain",
        help = "Occlusion's patch side in pixels [default: 16]"
    )]
    pub patch: Option<usize>,
    /// Occlusion's step between patches, in pixels.
    #[arg(
        long,
        value_name = "N",
        requires = "explain",
        help = "Occlusion's step between patches in pixels [default: 8]"
    )]
    pub stride: Option<usize>,
    /// The same map for a network of the same layers before training (seed 0): the sanity
    /// check that a map shows what was learned.
    #[arg(long, requires = "explain")]
    pub untrained: bool,
}

fn parse_at(s: &str) -> std::result::Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not ROW,COL (two 0-based numbers, e.g. 64,64)");
    let (r, c) = s.split_once(',').ok_or_else(bad)?;
    Ok((
        r.trim().parse().map_err(|_| bad())?,
        c.trim().parse().map_err(|_| bad())?,
    ))
}

/// Run `cnn-tutor explore`.
pub fn run(args: &ExploreArgs, global: &GlobalOpts) -> Result<()> {
    let e = Explorer::from_files(&args.model, &args.image)?;
    let text = match (args.explain.as_deref(), args.layer.as_deref()) {
        (Some(method), _) => {
            let a = super::explain::attribution(&e, args, method)?;
            if args.json {
                super::explain::json_text(&e, &a, args.untrained)
            } else {
                super::explain::plain_text(&e, &a, args.untrained)
            }
        }
        (None, layer) => layer_text(&e, args, layer)?,
    };
    let ascii = crate::tui::Theme::detect(global.ascii).ascii;
    let text = if ascii && !args.json {
        crate::tui::asciify(&text).into_owned()
    } else {
        text
    };
    crate::out!("{}", text);
    if !text.ends_with('\n') {
        crate::outln!();
    }
    Ok(())
}

/// The overview (no layer), the scores (fc) or one cell of a layer.
fn layer_text(e: &Explorer, args: &ExploreArgs, layer: Option<&str>) -> Result<String> {
    Ok(match layer {
        None => overview(e, args),
        Some("fc" | "logits") => {
            if args.channel.is_some() || args.at.is_some() || args.input_channel.is_some() {
                return Err(Error::Usage(
                    "--channel, --at and --input-channel are for a layer's maps; fc has one score per class".into(),
                ));
            }
            fc(e, args.json)
        }
        Some(name) => {
            let stage = e.stage_named(name)?;
            let channel = args.channel.unwrap_or(0);
            let (row, col) = match args.at {
                Some(at) => at,
                None => e.strongest_cell(stage, channel)?,
            };
            let kind = e.stages()[stage].kind;
            if args.input_channel.is_some() && !matches!(kind, StageKind::Conv { .. }) {
                return Err(Error::Usage(format!(
                    "--input-channel is for a convolution; {} is a {}",
                    escaped(name),
                    kind.summary()
                )));
            }
            match kind {
                StageKind::Conv { .. } => {
                    let cell = e.conv_cell(stage, channel, row, col)?;
                    if args.json {
                        conv_json(&cell).to_string()
                    } else {
                        conv_plain(e, &cell, args.input_channel)?
                    }
                }
                _ => cell_text(e, stage, channel, row, col, args.json)?,
            }
        }
    })
}

/// An f32 for JSON, written with the fewest digits that read back as the same f32
/// (`0.0919751`, not `0.09197507053613663`); NaN and infinities as `null`.
fn num(v: f32) -> Value {
    v.to_string()
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

fn nums(v: &[f32]) -> Value {
    Value::Array(v.iter().map(|&x| num(x)).collect())
}

const EVAL_NOTE: &str = "dropout is off (evaluation mode)";

fn class_name(e: &Explorer, k: usize) -> String {
    escaped(&e.classes()[k]).into_owned()
}

fn overview(e: &Explorer, args: &ExploreArgs) -> String {
    let d = e.decision();
    let pred = d.predicted();
    let stages = e.stages();
    if args.json {
        let st: Vec<Value> = stages
            .iter()
            .map(
                |s| json!({"name": s.name, "shape": s.shape, "min": num(s.min), "max": num(s.max)}),
            )
            .chain(std::iter::once(json!({
                "name": "fc",
                "shape": [d.scores.len()],
                "min": num(d.scores.iter().copied().fold(f32::INFINITY, f32::min)),
                "max": num(d.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max)),
            })))
            .collect();
        return json!({
            "model": args.model.display().to_string(),
            "image": args.image.display().to_string(),
            "classes": e.classes(),
            "predicted": e.classes()[pred],
            "scores": nums(&d.scores),
            "probabilities": nums(&d.probabilities),
            "stages": st,
            "dropout": "off (evaluation mode)",
        })
        .to_string();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {}; {EVAL_NOTE}",
        shown_path(&args.model),
        shown_path(&args.image)
    );
    let probs: Vec<String> = (0..d.scores.len())
        .map(|k| {
            format!(
                "{} {:.1}%",
                class_name(e, k),
                Dec::of(100.0 * d.probabilities[k])
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "prediction: {} ({})",
        class_name(e, pred),
        probs.join(", ")
    );
    let _ = writeln!(s);
    let nw = stages
        .iter()
        .map(|st| st.name.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        s,
        "{:<nw$} {:<12} {:>10} {:>10}",
        "stage", "shape", "min", "max"
    );
    for st in stages {
        let [c, h, w] = st.shape;
        let shape = if st.flat {
            c.to_string()
        } else {
            format!("{c}x{h}x{w}")
        };
        let _ = writeln!(
            s,
            "{:<nw$} {:<12} {:>10.4} {:>10.4}  {}",
            st.name,
            shape,
            Dec::of(st.min),
            Dec::of(st.max),
            st.kind.summary()
        );
    }
    let lo = d.scores.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = d.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let _ = writeln!(
        s,
        "{:<nw$} {:<12} {:>10.4} {:>10.4}  scores, one per class",
        "fc",
        d.scores.len(),
        Dec::of(lo),
        Dec::of(hi)
    );
    let named: Vec<&str> = stages[1..].iter().map(|st| st.name.as_str()).collect();
    let _ = writeln!(
        s,
        "\nLook closer: --layer NAME [--channel C] [--at ROW,COL] (NAME: {}), or --layer fc.",
        named.join(", ")
    );
    s
}

fn conv_json(cell: &ConvCell) -> Value {
    let terms: Vec<Value> = cell
        .terms()
        .filter_map(|t| {
            t.at.map(|(r, c)| {
                json!({"channel": t.channel, "row": r, "col": c, "input": num(t.input), "weight": num(t.weight)})
            })
        })
        .collect();
    let subtotals: Vec<f64> = cell.inputs.iter().map(|g| g.subtotal()).collect();
    json!({
        "layer": cell.name,
        "channel": cell.channel,
        "row": cell.row,
        "col": cell.col,
        "value": num(cell.value),
        "bias": num(cell.bias),
        "terms": terms,
        "subtotals": subtotals,
    })
}

fn conv_plain(e: &Explorer, cell: &ConvCell, input_channel: Option<usize>) -> Result<String> {
    let cin = cell.inputs.len();
    if let Some(ic) = input_channel {
        if ic >= cin {
            return Err(Error::Usage(format!(
                "input channel {ic} is out of range: {} has input channels 0 to {}",
                cell.name,
                cin - 1
            )));
        }
    }
    let st = &e.stages()[cell.stage];
    let from = st.from.unwrap_or(0);
    let on_image = from == 0;
    let k = cell.k;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}; {EVAL_NOTE}",
        place(&cell.name, cell.channel, cell.row, cell.col)
    );
    let fed = if on_image {
        "the image".to_string()
    } else {
        e.stages()[from].name.clone()
    };
    let _ = writeln!(
        s,
        "value = bias + {} products (input from {fed} × learned weight): a {k}x{k} window in each of {cin} input channels",
        k * k * cin
    );
    let label = |ci: usize| match (on_image && cin == 3, ci) {
        (true, 0) => "input channel 0 (red)".to_string(),
        (true, 1) => "input channel 1 (green)".to_string(),
        (true, 2) => "input channel 2 (blue)".to_string(),
        _ => format!("input channel {ci}"),
    };
    for g in &cell.inputs {
        let _ = writeln!(
            s,
            "  {:<24} {:+.4}",
            label(g.channel),
            Dec::of(g.subtotal())
        );
    }
    let _ = writeln!(s, "  {:<24} {:+.4}", "bias", Dec::of(cell.bias));
    let _ = writeln!(
        s,
        "  {:<24} {:+.4}   (the forward pass gave {:+.4})",
        "total",
        Dec::of(cell.sum()),
        Dec::of(cell.value)
    );
    let shown: Vec<usize> = match input_channel {
        Some(ic) => vec![ic],
        None if on_image && cin <= 3 => (0..cin).collect(),
        None => vec![cell.strongest_input()],
    };
    let (r0, c0) = cell.origin();
    for ci in shown {
        let g = &cell.inputs[ci];
        let _ = writeln!(
            s,
            "\n{}, rows {} to {}, columns {} to {} (pad: outside the map, 0):",
            label(ci),
            r0,
            r0 + k as isize - 1,
            c0,
            c0 + k as isize - 1
        );
        for (i, t) in g.terms.iter().enumerate() {
            let lead = if i == 0 { "   " } else { " + " };
            let x = if t.at.is_some() {
                format!("{:.4}", Dec::of(t.input))
            } else {
                "pad 0".to_string()
            };
            let _ = write!(s, "{lead}({x} × {:.4})", Dec::of(t.weight));
            if i % k == k - 1 {
                let _ = writeln!(s);
            }
        }
        let _ = writeln!(s, "   = {:+.4}", Dec::of(g.subtotal()));
    }
    if cin > 3 && input_channel.is_none() {
        let _ = writeln!(
            s,
            "(the channel with the largest subtotal; --input-channel C writes out another)"
        );
    }
    let _ = writeln!(s);
    for line in next_steps(e, cell.stage, cell.channel, cell.row, cell.col) {
        let _ = writeln!(s, "{line}");
    }
    Ok(s)
}

/// What happens to cell (`ch`, `r`, `c`) of `stage` next: the stages computed from it, one
/// after another, while the cell maps to one cell (pools: the window that starts it).
fn next_steps(e: &Explorer, stage: usize, ch: usize, r: usize, c: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let (mut at, mut pos, mut value) = (stage, (r, c), e.map(stage)[[ch, r, c]]);
    while let Some(next) = e.stages().iter().position(|s| s.from == Some(at)) {
        let st = &e.stages()[next];
        let line = match st.kind {
            StageKind::Pool { max, k, stride } => {
                let (pr, pc) = (pos.0 / stride, pos.1 / stride);
                let inside = pos.0 < pr * stride + k && pos.1 < pc * stride + k;
                let Ok(p) = e.pool_cell(next, ch, pr, pc).map_err(|_| ()).and_then(|p| {
                    if inside {
                        Ok(p)
                    } else {
                        Err(())
                    }
                }) else {
                    lines.push(format!(
                        "then {}: no window of its covers this cell",
                        st.name
                    ));
                    break;
                };
                let w: Vec<String> = p
                    .window
                    .iter()
                    .map(|v| format!("{v:.4}", v = Dec::of(v)))
                    .collect();
                let rows: Vec<String> = w.chunks(k).map(|r| r.join(" ")).collect();
                let mine = (pos.0 - p.origin.0) * k + (pos.1 - p.origin.1);
                let text = if max {
                    format!(
                        "the largest of [{}] is {:.4}, {}",
                        rows.join(" / "),
                        Dec::of(p.value),
                        if p.winner == Some(mine) {
                            "this cell"
                        } else {
                            "not this cell"
                        }
                    )
                } else {
                    format!(
                        "the mean of [{}] is {:.4}",
                        rows.join(" / "),
                        Dec::of(p.value)
                    )
                };
                pos = (pr, pc);
                value = p.value;
                format!("then {} ({ch}, {pr}, {pc}): {text}", st.name)
            }
            StageKind::Act(a) => {
                let after = e.map(next)[[ch, pos.0, pos.1]];
                let f = match a {
                    Act::Relu => format!("max(0, {value:.4})", value = Dec::of(value)),
                    Act::Tanh => format!("tanh({value:.4})", value = Dec::of(value)),
                    Act::Sigmoid => format!("sigmoid({value:.4})", value = Dec::of(value)),
                    Act::Leaky(sl) => format!(
                        "{} ({value:.4})",
                        act_name(Act::Leaky(sl)),
                        value = Dec::of(value)
                    ),
                };
                value = after;
                format!("then {}: {f} = {after:.4}", st.name, after = Dec::of(after))
            }
            StageKind::Norm => {
                let Ok(n) = e.norm_cell(next, ch, pos.0, pos.1) else {
                    break;
                };
                value = n.after;
                format!(
                    "then {}: ({:.4} - {:.4}) / sqrt({:.4} + 1e-5) × {:.4} + {:.4} = {:.4}",
                    st.name,
                    Dec::of(n.before),
                    Dec::of(n.mean),
                    Dec::of(n.var),
                    Dec::of(n.weight),
                    Dec::of(n.bias),
                    Dec::of(n.after)
                )
            }
            _ => {
                lines.push(format!("then (flattened) into {}", st.name));
                return lines;
            }
        };
        lines.push(line);
        at = next;
    }
    if e.decision().source == at {
        if let Some(last) = lines.last_mut() {
            last.push_str(", then (flattened) into fc");
        } else {
            lines.push("then (flattened) into fc".into());
        }
    }
    lines
}

/// Where a cell is, as learners count (maps, rows and columns from 1) with the index
/// `--channel` and `--at` take (from 0, as PyTorch) beside it.
fn place(layer: &str, ch: usize, r: usize, c: usize) -> String {
    format!(
        "{layer}, map {}, row {}, column {} (index [{ch}, {r}, {c}] from 0, as --channel and --at take it)",
        ch + 1,
        r + 1,
        c + 1
    )
}

/// A pooled cell: its JSON (`Ok`) or its value and how it was computed (`Err`).
fn pool_text(
    e: &Explorer,
    stage: usize,
    (ch, r, c): (usize, usize, usize),
    (max, k): (bool, usize),
    json: bool,
) -> Result<std::result::Result<String, (f32, String)>> {
    let st = &e.stages()[stage];
    let name = &st.name;
    let p = e.pool_cell(stage, ch, r, c)?;
    if json {
        return Ok(Ok(json!({
            "layer": name, "channel": ch, "row": r, "col": c, "value": num(p.value),
            "window": nums(&p.window), "origin": [p.origin.0, p.origin.1],
            "winner": p.winner, "kind": if max { "max" } else { "average" },
        })
        .to_string()));
    }
    let w: Vec<String> = p
        .window
        .iter()
        .map(|v| format!("{v:.4}", v = Dec::of(v)))
        .collect();
    let rows: Vec<String> = w.chunks(k).map(|r| r.join(" ")).collect();
    let how = if max { "the largest" } else { "the mean" };
    Ok(Err((
        p.value,
        format!(
            "{how} of its {k}x{k} window at rows {} to {}, columns {} to {} (from 1) of {}: [{}]",
            p.origin.0 + 1,
            p.origin.0 + k,
            p.origin.1 + 1,
            p.origin.1 + k,
            e.stages()[st.from.unwrap_or(0)].name,
            rows.join(" / ")
        ),
    )))
}

/// Any other stage's cell (pool, activation, batch norm, hidden linear, the input).
fn cell_text(
    e: &Explorer,
    stage: usize,
    ch: usize,
    r: usize,
    c: usize,
    json: bool,
) -> Result<String> {
    let st = &e.stages()[stage];
    let name = &st.name;
    let (value, what): (f32, String) = match st.kind {
        StageKind::Pool { max, k, .. } => match pool_text(e, stage, (ch, r, c), (max, k), json)? {
            Ok(json) => return Ok(json),
            Err(plain) => plain,
        },
        StageKind::Act(a) => {
            let cell = e.act_cell(stage, ch, r, c)?;
            if json {
                return Ok(json!({"layer": name, "channel": ch, "row": r, "col": c,
                    "value": num(cell.after), "before": num(cell.before), "function": act_name(a)})
                .to_string());
            }
            (
                cell.after,
                format!("{} of {:.4}", act_name(a), Dec::of(cell.before)),
            )
        }
        StageKind::Norm => {
            let n = e.norm_cell(stage, ch, r, c)?;
            if json {
                return Ok(json!({"layer": name, "channel": ch, "row": r, "col": c,
                    "value": num(n.after), "before": num(n.before), "running_mean": num(n.mean),
                    "running_var": num(n.var), "weight": num(n.weight), "bias": num(n.bias)})
                .to_string());
            }
            (
                n.after,
                format!(
                    "({:.4} - running mean {:.4}) / sqrt(running variance {:.4} + 1e-5) × weight {:.4} + bias {:.4}",
                    Dec::of(n.before), Dec::of(n.mean), Dec::of(n.var), Dec::of(n.weight), Dec::of(n.bias)
                ),
            )
        }
        StageKind::Linear => {
            let l = e.linear_cell(stage, ch)?;
            if json {
                let top: Vec<Value> = l
                    .top
                    .iter()
                    .map(|&(i, x, w)| json!({"input": i, "value": num(x), "weight": num(w)}))
                    .collect();
                return Ok(json!({"layer": name, "channel": ch, "value": num(l.value),
                    "bias": num(l.bias), "inputs": l.inputs, "largest_terms": top})
                .to_string());
            }
            let terms: Vec<String> = l
                .top
                .iter()
                .map(|&(i, x, w)| {
                    format!("input {i}: {x:.4} × {w:.4}", x = Dec::of(x), w = Dec::of(w))
                })
                .collect();
            (
                l.value,
                format!(
                    "bias {:.4} + {} products input × weight (total {:+.4}); the largest:\n  {}",
                    Dec::of(l.bias),
                    l.inputs,
                    Dec::of(l.sum),
                    terms.join("\n  ")
                ),
            )
        }
        StageKind::Input | StageKind::Conv { .. } => {
            let v = e.map(stage)[[ch, r, c]];
            if json {
                return Ok(
                    json!({"layer": name, "channel": ch, "row": r, "col": c, "value": num(v)})
                        .to_string(),
                );
            }
            (v, "the normalised pixel (pixel / 255 × 2 - 1)".into())
        }
    };
    let mut s = String::new();
    let _ = writeln!(s, "{}; {EVAL_NOTE}", place(name, ch, r, c));
    let _ = writeln!(s, "value {value:.4} = {what}", value = Dec::of(value));
    let next = next_steps(e, stage, ch, r, c);
    if !next.is_empty() {
        let _ = writeln!(s);
        for line in next {
            let _ = writeln!(s, "{line}");
        }
    }
    Ok(s)
}

/// The name of what a decision channel is: the convolution whose channels reach the
/// decision (through activations, pools and batch norms), else the stage itself.
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

fn fc(e: &Explorer, json: bool) -> String {
    let d = e.decision();
    let k = d.scores.len();
    if json {
        return json!({
            "layer": "fc",
            "classes": e.classes(),
            "values": nums(&d.scores),
            "probabilities": nums(&d.probabilities),
            "bias": nums(&d.bias),
            "channel_totals": d.channel_totals,
        })
        .to_string();
    }
    let mut s = String::new();
    let _ = writeln!(s, "fc; {EVAL_NOTE}");
    let src = &e.stages()[d.source];
    let origin = channel_origin(e, d.source);
    let (h, w) = d.side;
    let each = if (h, w) == (1, 1) {
        String::new()
    } else {
        format!(", {h}x{w} each")
    };
    let after = if origin == src.name {
        String::new()
    } else {
        format!(" (after {}{each})", src.name)
    };
    let _ = writeln!(
        s,
        "score of a class = its bias + the sum over the {} {origin} channels{after} of weight × activation",
        d.channels
    );
    let width = (0..k)
        .map(|i| class_name(e, i).chars().count())
        .max()
        .unwrap_or(0);
    for class in 0..k {
        let name = class_name(e, class);
        let pad = width - name.chars().count();
        let _ = writeln!(
            s,
            "\n{name}{} score {:+.4} = bias {:+.4} + channels {:+.4}; probability {:.1}%",
            " ".repeat(pad),
            Dec::of(d.scores[class]),
            Dec::of(d.bias[class]),
            Dec::of(d.sum(class) - f64::from(d.bias[class])),
            Dec::of(100.0 * d.probabilities[class])
        );
        let ranked = d.ranked_channels(class);
        let fmt = |v: &[(usize, f64)]| {
            v.iter()
                .map(|(c, t)| format!("{c} ({t:+.4})", t = Dec::of(t)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let up: Vec<(usize, f64)> = ranked
            .iter()
            .copied()
            .filter(|t| t.1 > 0.0)
            .take(3)
            .collect();
        let down: Vec<(usize, f64)> = ranked
            .iter()
            .rev()
            .copied()
            .filter(|t| t.1 < 0.0)
            .take(3)
            .collect();
        let _ = writeln!(
            s,
            "  pushed up most by {origin} channels: {}",
            if up.is_empty() {
                "none".into()
            } else {
                fmt(&up)
            }
        );
        let _ = writeln!(
            s,
            "  pushed down most by:              {}",
            if down.is_empty() {
                "none".into()
            } else {
                fmt(&down)
            }
        );
    }
    let pred = d.predicted();
    let _ = writeln!(
        s,
        "\nprediction: {} ({:.1}%); probabilities are the softmax of the scores",
        class_name(e, pred),
        Dec::of(100.0 * d.probabilities[pred])
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_the_shortest_that_read_back() {
        assert_eq!(num(0.1).to_string(), "0.1");
        let v: f32 = 0.091_975_07;
        assert_eq!(num(v).as_f64().map(|x| x as f32), Some(v));
        assert_eq!(num(f32::NAN), Value::Null);
    }

    #[test]
    fn at_parses_row_and_column() {
        assert_eq!(parse_at("3,40"), Ok((3, 40)));
        assert_eq!(parse_at(" 3 , 4 "), Ok((3, 4)));
        assert!(parse_at("3").unwrap_err().contains("ROW,COL"));
        assert!(parse_at("-1,2").is_err());
    }
}
