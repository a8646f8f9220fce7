//! `cnn-tutor explore IMAGE --explain saliency|gradcam|occlusion`: why the network
//! decided, as one attribution map ([`crate::why`]): JSON (`method`, `class`,
//! `probability`, `map` as rows of numbers, and what was used), or a small heat picture,
//! the regions of the image the map lies in, its strongest cell, and what the method does
//! not show.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::explore::ExploreArgs;
use crate::backend::CpuBackend;
use crate::explore::Explorer;
use crate::nn::net::Net;
use crate::text::escaped;
use crate::why::{self, Attribution, Method};
use crate::{Error, Result};

/// The characters of the heat picture, from nothing to the map's largest value.
pub const RAMP: &[u8] = b" .:-=+*#%@";

/// The attribution `args` ask for, on `e`'s image.
pub fn attribution(e: &Explorer, args: &ExploreArgs, method: &str) -> Result<Attribution> {
    let Some(mut m) = Method::parse(method) else {
        return Err(Error::Usage(format!(
            "--explain takes saliency, gradcam or occlusion, not `{}`",
            escaped(method)
        )));
    };
    if args.channel.is_some() || args.at.is_some() || args.input_channel.is_some() {
        return Err(Error::Usage(
            "--channel, --at and --input-channel look at one cell; --explain draws a whole map"
                .into(),
        ));
    }
    if args.layer.is_some() && m != Method::GradCam {
        return Err(Error::Usage(
            "--layer with --explain chooses Grad-CAM's feature map; it is for --explain gradcam"
                .into(),
        ));
    }
    if let Method::Occlusion { patch, stride } = &mut m {
        *patch = args.patch.unwrap_or(*patch);
        *stride = args.stride.unwrap_or(*stride);
    } else if args.patch.is_some() || args.stride.is_some() {
        return Err(Error::Usage(
            "--patch and --stride are occlusion's; add --explain occlusion".into(),
        ));
    }
    let class = match &args.class {
        None => None,
        Some(name) => Some(e.classes().iter().position(|c| c == name).ok_or_else(|| {
            Error::Usage(format!(
                "--class {}: the model's classes are {}",
                escaped(name),
                e.classes()
                    .iter()
                    .map(|c| escaped(c).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
    };
    let untrained;
    let net: &Net = if args.untrained {
        untrained = Net::new((*e.net().plan).clone(), 0);
        &untrained
    } else {
        e.net()
    };
    let mut backend = CpuBackend::new(None)?;
    // the class asked for is the trained network's prediction unless named
    let class = class.unwrap_or(e.decision().predicted());
    why::explain(
        &mut backend,
        net,
        e.input(),
        m,
        Some(class),
        args.layer.as_deref(),
    )
}

fn num(v: f32) -> Value {
    v.to_string()
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

/// `explore --explain ... --json`.
pub fn json_text(e: &Explorer, a: &Attribution, untrained: bool) -> String {
    let rows: Vec<Value> = a
        .map
        .rows()
        .into_iter()
        .map(|r| Value::Array(r.iter().map(|&v| num(v)).collect()))
        .collect();
    let mut v = json!({
        "method": a.method.name(),
        "class": e.classes()[a.class],
        "probability": num(a.probability),
        "predicted": e.classes()[a.predicted],
        "shape": [a.map.nrows(), a.map.ncols()],
        "untrained": untrained,
        "map": rows,
    });
    if let Some(l) = &a.layer {
        v["layer"] = json!(l);
    }
    if let Method::Occlusion { patch, stride } = a.method {
        v["patch"] = json!(patch);
        v["stride"] = json!(stride);
    }
    v.to_string()
}

/// What one cell of the map covers on the image, in words (rows and columns from 1).
fn footprint(a: &Attribution, r: usize, c: usize) -> String {
    let (sy, sx, patch) = a.cell;
    let (h, w) = (patch.max(sy), patch.max(sx));
    if (h, w) == (1, 1) {
        return format!("pixel row {}, column {}", r + 1, c + 1);
    }
    format!(
        "pixels rows {}-{}, columns {}-{}",
        r * sy + 1,
        r * sy + h,
        c * sx + 1,
        c * sx + w
    )
}

fn what(a: &Attribution, channels: usize) -> String {
    let (h, w) = a.map.dim();
    match a.method {
        Method::Saliency => format!(
            "{h}x{w}, one value per pixel: the largest over the {channels} channels of |d score / d pixel|"
        ),
        Method::GradCam => format!(
            "{h}x{w}, on `{}`: ReLU of its maps weighted by the mean gradient of the score over each map",
            a.layer.as_deref().unwrap_or("?")
        ),
        Method::Occlusion { patch, stride } => format!(
            "{h}x{w}, a {patch}x{patch} grey patch every {stride} pixels: the probability without the patch minus with it"
        ),
    }
}

/// `explore --explain ...` as text.
pub fn plain_text(e: &Explorer, a: &Attribution, untrained: bool) -> String {
    let mut s = String::new();
    let title = match a.method {
        Method::Saliency => "Saliency",
        Method::GradCam => "Grad-CAM",
        Method::Occlusion { .. } => "Occlusion",
    };
    let who = if untrained {
        "an untrained network of the same layers (the sanity check)"
    } else {
        "the trained network"
    };
    let _ = writeln!(
        s,
        "{title} for class {} of {who}: probability {:.1}%, predicted {}. Dropout is off.",
        escaped(&e.classes()[a.class]),
        100.0 * a.probability,
        escaped(&e.classes()[a.predicted])
    );
    let [channels, ih, iw] = e.net().plan.input_dims();
    let _ = writeln!(s, "Map {}.", what(a, channels));
    let (h, w) = a.map.dim();
    let (rows, cols) = (h.min(16), (2 * w).min(32));
    let small = why::resample(&a.map, rows, cols);
    let (top, (pr, pc)) = why::peak(&a.map);
    let _ = writeln!(s, "+{}+", "-".repeat(cols));
    for r in 0..rows {
        let line: String = (0..cols)
            .map(|c| {
                let v = small[[r, c]];
                if top <= 0.0 || v <= 0.0 {
                    ' '
                } else {
                    let i = ((v / top) * (RAMP.len() - 1) as f32).round() as usize;
                    char::from(RAMP[i.min(RAMP.len() - 1)])
                }
            })
            .collect();
        let _ = writeln!(s, "|{line}|");
    }
    let _ = writeln!(s, "+{}+", "-".repeat(cols));
    let _ = writeln!(
        s,
        "Shades \"{}\" run from 0 to the largest value, {top:.4}.",
        std::str::from_utf8(RAMP).unwrap_or("")
    );
    if top > 0.0 {
        let parts: Vec<String> = why::regions(a, (ih, iw))
            .into_iter()
            .filter(|(_, share)| *share >= 0.05)
            .take(4)
            .map(|(name, share)| format!("{name} {:.0}%", 100.0 * share))
            .collect();
        let _ = writeln!(
            s,
            "Where it lies (share of the map's positive total, the image cut 3x3): {}.",
            parts.join(", ")
        );
        let _ = writeln!(
            s,
            "Strongest cell: row {}, column {} ({}), {top:.4}.",
            pr + 1,
            pc + 1,
            footprint(a, pr, pc)
        );
    } else {
        let why = match a.method {
            Method::GradCam => {
                "the weighted sum of the feature maps is below zero at every place and the \
                 ReLU keeps nothing; Grad-CAM cannot say where here (try occlusion)"
            }
            Method::Occlusion { .. } => "no patch lowered the probability",
            Method::Saliency => "no pixel moves the score",
        };
        let _ = writeln!(s, "The map is zero everywhere: {why}.");
    }
    if matches!(a.method, Method::Occlusion { .. }) {
        let neg = a.map.iter().filter(|&&v| v < 0.0).count();
        if neg > 0 {
            let low = a.map.iter().copied().fold(f32::INFINITY, f32::min);
            let _ = writeln!(
                s,
                "{neg} places raised the probability when hidden (left blank above; the lowest {low:.4})."
            );
        }
    }
    let _ = writeln!(s, "\n{}", a.method.caveat());
    if !untrained {
        let _ = writeln!(
            s,
            "Sanity check: add --untrained to see the same map for the same layers before training."
        );
    }
    s
}
