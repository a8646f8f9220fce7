//! `cnn-tutor predict`: classify image files, or draw a new random shape (the seed's last
//! cell), show it in the terminal and classify it.

use std::io::IsTerminal;

use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::backend::{self, cpu::argmax, DeviceChoice};
use crate::cli::PredictArgs;
use crate::data::{self, Shape, IMAGE_LEN};
use crate::nn::checkpoint;
use crate::{Error, Result};

/// Run `cnn-tutor predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    let (net, meta) = checkpoint::load(&args.model)?;
    let (mut backend, _) = backend::select(DeviceChoice::Cpu, None)?;
    let classes = meta.classes;

    // (name shown, the drawn shape for --random, CHW u8 pixels)
    let mut items: Vec<(String, Option<Shape>, Vec<u8>)> = Vec::new();
    let mut drawn: Option<RgbImage> = None;
    let mut unreadable: Vec<Error> = Vec::new();
    if args.random {
        let mut rng = match args.seed {
            Some(s) => ChaCha8Rng::seed_from_u64(s),
            None => ChaCha8Rng::from_entropy(),
        };
        let shape = Shape::ALL[rng.gen_range(0..Shape::ALL.len())];
        let img = data::create_image(shape, &mut rng);
        items.push(("random".into(), Some(shape), data::rgb_to_chw(&img)));
        drawn = Some(img);
    } else {
        if args.images.is_empty() {
            return Err(Error::Usage(
                "give one or more image files to classify, or --random to draw a new random shape and classify it".into(),
            ));
        }
        // one unreadable file is reported and the others are still classified
        for path in &args.images {
            match data::load_image(path) {
                Ok(px) => items.push((crate::text::path(path), None, px)),
                Err(e) if args.images.len() == 1 => return Err(e),
                Err(e) => unreadable.push(e),
            }
        }
        if items.is_empty() {
            return Err(unreadable.remove(0));
        }
    }

    let lut = data::normalize_table();
    let mut input = Vec::with_capacity(items.len() * IMAGE_LEN);
    for (_, _, px) in &items {
        input.extend(px.iter().map(|&p| lut[usize::from(p)]));
    }
    let lp = backend.predict(&net, &input)?;
    let results: Vec<(usize, Vec<f32>)> = lp
        .rows()
        .into_iter()
        .map(|row| {
            let probs: Vec<f32> = row.iter().map(|v| v.exp()).collect();
            (argmax(&probs), probs)
        })
        .collect();

    if args.json {
        let preds: Vec<_> = items
            .iter()
            .zip(&results)
            .map(|((name, shape, _), (pred, probs))| {
                let mut o = json!({
                    "file": if shape.is_some() { None } else { Some(name) },
                    "predicted": classes.get(*pred),
                    "probabilities": probs,
                });
                if let Some(s) = shape {
                    o["drawn"] = json!(s.name());
                }
                o
            })
            .collect();
        crate::outln!(
            "{}",
            json_text(&json!({ "classes": classes, "predictions": preds }))
        );
        return not_all_read(unreadable);
    }

    if let (Some(img), Some((_, Some(shape), _))) = (&drawn, items.first()) {
        crate::out!("{}", render_image(img, use_color()));
        crate::outln!("Drew a random {shape}.");
    }
    // class names come from the checkpoint's metadata: no control character is printed
    let shown: Vec<String> = classes
        .iter()
        .map(|c| crate::text::escaped(c).into_owned())
        .collect();
    for ((name, _, _), (pred, probs)) in items.iter().zip(&results) {
        let detail: Vec<String> = shown
            .iter()
            .zip(probs)
            .map(|(c, p)| format!("{c} {:.1}%", 100.0 * p))
            .collect();
        let pred_name = shown.get(*pred).map_or("?", String::as_str);
        crate::outln!("{name}: {pred_name} ({})", detail.join(", "));
    }
    not_all_read(unreadable)
}

/// The files that could not be read, each on a line of its own on stderr, after the
/// others were classified; exit 1 when there were any.
fn not_all_read(unreadable: Vec<Error>) -> Result<()> {
    let Some(last) = unreadable.last() else {
        return Ok(());
    };
    for e in &unreadable[..unreadable.len() - 1] {
        eprintln!("error: {e}");
    }
    Err(Error::Data(format!(
        "{last} ({} of the files could not be read; the others are classified above)",
        unreadable.len()
    )))
}

/// `value` as one line of JSON with nothing a terminal acts on: serde_json escapes C0
/// controls, and this also escapes DEL, C1 controls (such as U+009B, a one-character CSI)
/// and the Unicode line separators and bidirectional overrides, as `\uXXXX`. These only
/// occur inside strings, so the JSON holds the same values.
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let needs = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            )
    };
    let s = value.to_string();
    if !s.chars().any(needs) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if needs(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn use_color() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Draw an RGB image small: 32 columns by 16 rows. With `color`, each cell is an upper
/// half-block coloured with two 4x4-pixel averages (24-bit ANSI); without, a character
/// from a darkness ramp per 4x8-pixel block.
pub fn render_image(img: &RgbImage, color: bool) -> String {
    let (w, h) = img.dimensions();
    let cols = 32u32.min(w.max(1));
    let cw = (w / cols).max(1);
    let avg = |x0: u32, y0: u32, bw: u32, bh: u32| -> [u32; 3] {
        let mut s = [0u32; 3];
        let mut n = 0;
        for y in y0..(y0 + bh).min(h) {
            for x in x0..(x0 + bw).min(w) {
                let p = img.get_pixel(x, y).0;
                for c in 0..3 {
                    s[c] += u32::from(p[c]);
                }
                n += 1;
            }
        }
        s.map(|v| v / n.max(1))
    };
    let mut out = String::new();
    let rows = h / (2 * cw).max(1);
    for r in 0..rows {
        for c in 0..cols {
            let x0 = c * cw;
            let y0 = r * 2 * cw;
            if color {
                let t = avg(x0, y0, cw, cw);
                let b = avg(x0, y0 + cw, cw, cw);
                out.push_str(&format!(
                    "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m\u{2580}",
                    t[0], t[1], t[2], b[0], b[1], b[2]
                ));
            } else {
                let p = avg(x0, y0, cw, 2 * cw);
                let lum = (p[0] * 3 + p[1] * 6 + p[2]) / 10;
                let ramp = b"@%#*+=-:. ";
                let i = (lum as usize * (ramp.len() - 1)) / 255;
                out.push(char::from(ramp[i.min(ramp.len() - 1)]));
            }
        }
        if color {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_escapes_what_serde_leaves_and_keeps_the_value() {
        let v = json!({ "c": "a\u{1b}[2J\u{9b}31m\u{7f}\u{202e}b", "n": 1 });
        let s = json_text(&v);
        assert!(!s.chars().any(|c| c.is_control() || c == '\u{202e}'), "{s}");
        assert_eq!(s, r#"{"c":"a\u001b[2J\u009b31m\u007f\u202eb","n":1}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }

    #[test]
    fn ascii_drawing_shows_a_dark_square_on_white() {
        let mut img = RgbImage::from_pixel(128, 128, image::Rgb([255, 255, 255]));
        for y in 32..96 {
            for x in 32..96 {
                img.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
        let s = render_image(&img, false);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 16);
        assert!(lines.iter().all(|l| l.len() == 32));
        assert_eq!(lines[0], " ".repeat(32));
        assert_eq!(&lines[8][8..24], "@".repeat(16));
    }
}
