//! `cnn-tutor explore`: look inside a trained net for one image, headless (handouts,
//! tests). The numbers come from [`crate::explore::Explorer`]; this file only prints them.
//!
//! - without `--layer`: the prediction and each stage's shape and value range;
//! - `--layer conv1|conv2|conv3`: one output cell (before pooling and ReLU) as its bias
//!   plus its products input x weight, per input channel, then where it goes (pool, ReLU);
//! - `--layer fc`: the scores, the probabilities and the conv3 channels that pushed each
//!   class's score up or down most.
//!
//! `--channel` defaults to 0; `--at` defaults to the channel's strongest cell (its largest
//! value, the first in reading order on ties), where the filter answers most.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Value};

use crate::cli::{GlobalOpts, DEFAULT_MODEL_PATH};
use crate::explore::{ConvCell, ConvLayer, Explorer, Stage};
use crate::text::{escaped, path as shown_path};
use crate::{Error, Result};

#[derive(Debug, Clone, Args)]
pub struct ExploreArgs {
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// The image to look at (PNG or JPEG; resized to 128x128 as `predict` does).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// The layer (PyTorch's module names): a conv layer's output cell, or fc's scores.
    /// Without it: the overview.
    #[arg(long, value_enum)]
    pub layer: Option<ExploreLayer>,
    /// Output channel of the conv layer (0-based; default 0).
    #[arg(long, requires = "layer")]
    pub channel: Option<usize>,
    /// Row and column of the cell, 0-based (default: the channel's strongest cell).
    #[arg(long, value_name = "ROW,COL", value_parser = parse_at, requires = "layer")]
    pub at: Option<(usize, usize)>,
    /// With --plain, the input channel whose nine products are written out
    /// (conv2 and conv3; default: the one with the largest subtotal; conv1 shows all three).
    #[arg(long, value_name = "C", requires = "layer")]
    pub input_channel: Option<usize>,
    /// Readable text (the default).
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `--layer`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExploreLayer {
    Conv1,
    Conv2,
    Conv3,
    Fc,
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
    let text = match args.layer {
        None => overview(&e, args),
        Some(ExploreLayer::Fc) => {
            if args.channel.is_some() || args.at.is_some() || args.input_channel.is_some() {
                return Err(Error::Usage(
                    "--channel, --at and --input-channel are for conv1, conv2 and conv3; fc has one score per class".into(),
                ));
            }
            fc(&e, args.json)
        }
        Some(l) => {
            let layer = match l {
                ExploreLayer::Conv1 => ConvLayer::Conv1,
                ExploreLayer::Conv2 => ConvLayer::Conv2,
                _ => ConvLayer::Conv3,
            };
            let channel = args.channel.unwrap_or(0);
            let (row, col) = match args.at {
                Some(at) => at,
                None => e.strongest_cell(layer, channel)?,
            };
            let cell = e.conv_cell(layer, channel, row, col)?;
            if args.json {
                conv_json(&cell).to_string()
            } else {
                conv_plain(&e, &cell, args.input_channel)?
            }
        }
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
            .map(|s| json!({"name": s.stage.name(), "shape": s.shape, "min": num(s.min), "max": num(s.max)}))
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
        .map(|k| format!("{} {:.1}%", class_name(e, k), 100.0 * d.probabilities[k]))
        .collect();
    let _ = writeln!(
        s,
        "prediction: {} ({})",
        class_name(e, pred),
        probs.join(", ")
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<7} {:<12} {:>10} {:>10}",
        "stage", "shape", "min", "max"
    );
    for st in &stages {
        let [c, h, w] = st.shape;
        let what = match st.stage {
            Stage::Input => "  the image, normalised",
            Stage::Conv1 | Stage::Conv2 | Stage::Conv3 => "  3x3 convolution",
            Stage::Pool1 | Stage::Pool2 => "  2x2 max pool",
            _ => "  ReLU",
        };
        let _ = writeln!(
            s,
            "{:<7} {:<12} {:>10.4} {:>10.4}{what}",
            st.stage.name(),
            format!("{c}x{h}x{w}"),
            st.min,
            st.max
        );
    }
    let lo = d.scores.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = d.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let _ = writeln!(
        s,
        "{:<7} {:<12} {:>10.4} {:>10.4}  scores, one per class",
        "fc",
        d.scores.len(),
        lo,
        hi
    );
    let _ = writeln!(
        s,
        "\nLook closer: --layer conv1|conv2|conv3 [--channel C] [--at ROW,COL], or --layer fc."
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
        "layer": cell.layer.name(),
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
    let layer = cell.layer;
    let cin = layer.in_channels();
    if let Some(ic) = input_channel {
        if ic >= cin {
            return Err(Error::Usage(format!(
                "input channel {ic} is out of range: {} has input channels 0 to {}",
                layer.name(),
                cin - 1
            )));
        }
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}, channel {}, row {}, column {} (0-based); {EVAL_NOTE}",
        layer.name(),
        cell.channel,
        cell.row,
        cell.col
    );
    let fed = match layer {
        ConvLayer::Conv1 => "the image",
        ConvLayer::Conv2 => "relu1",
        ConvLayer::Conv3 => "relu2",
    };
    let _ = writeln!(
        s,
        "value = bias + {} products (input from {fed} × learned weight): a 3x3 window in each of {cin} input channels",
        9 * cin
    );
    let label = |ci: usize| match (layer, ci) {
        (ConvLayer::Conv1, 0) => "input channel 0 (red)".to_string(),
        (ConvLayer::Conv1, 1) => "input channel 1 (green)".to_string(),
        (ConvLayer::Conv1, 2) => "input channel 2 (blue)".to_string(),
        _ => format!("input channel {ci}"),
    };
    for g in &cell.inputs {
        let _ = writeln!(s, "  {:<24} {:+.4}", label(g.channel), g.subtotal());
    }
    let _ = writeln!(s, "  {:<24} {:+.4}", "bias", cell.bias);
    let _ = writeln!(
        s,
        "  {:<24} {:+.4}   (the forward pass gave {:+.4})",
        "total",
        cell.sum(),
        cell.value
    );
    let shown: Vec<usize> = match (layer, input_channel) {
        (_, Some(ic)) => vec![ic],
        (ConvLayer::Conv1, None) => (0..cin).collect(),
        (_, None) => vec![cell.strongest_input()],
    };
    for ci in shown {
        let g = &cell.inputs[ci];
        let (r0, c0) = (cell.row as isize - 1, cell.col as isize - 1);
        let _ = writeln!(
            s,
            "\n{}, rows {} to {}, columns {} to {} (pad: outside the map, 0):",
            label(ci),
            r0,
            r0 + 2,
            c0,
            c0 + 2
        );
        for (i, t) in g.terms.iter().enumerate() {
            let lead = if i == 0 { "   " } else { " + " };
            let x = if t.at.is_some() {
                format!("{:.4}", t.input)
            } else {
                "pad 0".to_string()
            };
            let _ = write!(s, "{lead}({x} × {:.4})", t.weight);
            if i % 3 == 2 {
                let _ = writeln!(s);
            }
        }
        let _ = writeln!(s, "   = {:+.4}", g.subtotal());
    }
    if cin > 3 && input_channel.is_none() {
        let _ = writeln!(
            s,
            "(the channel with the largest subtotal; --input-channel C writes out another)"
        );
    }
    // where the value goes next
    let (ch, r, c) = (cell.channel, cell.row, cell.col);
    let _ = writeln!(s);
    if layer.is_pooled() {
        let p = e.pool_cell(layer, ch, r / 2, c / 2)?;
        let relu = e.relu_cell(layer, ch, r / 2, c / 2)?;
        let n = if layer == ConvLayer::Conv1 { 1 } else { 2 };
        let w = p.window;
        let mine = (r % 2) * 2 + c % 2;
        let _ = writeln!(
            s,
            "then pool{n} ({ch}, {}, {}): the largest of [{:.4} {:.4} / {:.4} {:.4}] is {:.4}, {}",
            r / 2,
            c / 2,
            w[0],
            w[1],
            w[2],
            w[3],
            p.value,
            if p.winner == mine {
                "this cell"
            } else {
                "not this cell"
            }
        );
        let _ = writeln!(
            s,
            "then relu{n}: max(0, {:.4}) = {:.4}",
            relu.before, relu.after
        );
    } else {
        let relu = e.relu_cell(layer, ch, r, c)?;
        let _ = writeln!(
            s,
            "then relu3: max(0, {:.4}) = {:.4}, then (flattened) into fc",
            relu.before, relu.after
        );
    }
    Ok(s)
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
    let _ = writeln!(
        s,
        "score of a class = its bias + the sum over the 24 conv3 channels (after relu3, 32x32 each) of weight × activation"
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
            d.scores[class],
            d.bias[class],
            d.sum(class) - f64::from(d.bias[class]),
            100.0 * d.probabilities[class]
        );
        let ranked = d.ranked_channels(class);
        let fmt = |v: &[(usize, f64)]| {
            v.iter()
                .map(|(c, t)| format!("{c} ({t:+.4})"))
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
            "  pushed up most by conv3 channels: {}",
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
        100.0 * d.probabilities[pred]
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
