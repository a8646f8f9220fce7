//! The step engine: every lesson builds sane frames; edits, presets, dropout, flatten and
//! the fully connected layer agree with `nn::ops`.

use cnn_tutor::lesson::frame::{Grid, Panel, Step, Vector};
use cnn_tutor::lesson::{self, Lesson};
use cnn_tutor::nn::ops;
use ndarray::{Array1, Array2, Array4};

fn builtin(id: &str) -> Lesson {
    lesson::builtin()
        .unwrap()
        .into_iter()
        .find(|l| l.id() == id)
        .unwrap()
}

fn grids(frame: &Step) -> Vec<&Grid> {
    frame
        .panels
        .iter()
        .filter_map(|p| match p {
            Panel::Grid(g) => Some(g),
            _ => None,
        })
        .collect()
}

fn vectors(frame: &Step) -> Vec<&Vector> {
    frame
        .panels
        .iter()
        .filter_map(|p| match p {
            Panel::Vector(v) => Some(v),
            _ => None,
        })
        .collect()
}

fn check_sane(id: &str, f: &Step) {
    assert!(!f.heading.trim().is_empty(), "{id}: empty heading");
    for p in &f.panels {
        match p {
            Panel::Grid(g) => {
                assert!(g.rows > 0 && g.cols > 0, "{id}: empty grid {}", g.label);
                assert_eq!(g.cells.len(), g.rows * g.cols, "{id}: {}", g.label);
                if let Some(w) = g.window {
                    assert!(w.height > 0 && w.width > 0);
                    assert!(w.row + w.height <= g.rows && w.col + w.width <= g.cols);
                }
                for &(r, c) in &g.emphasis {
                    assert!(
                        r < g.rows && c < g.cols,
                        "{id}: emphasis out of {}",
                        g.label
                    );
                }
                assert!(g.cells.iter().flatten().all(|v| v.is_finite()));
            }
            Panel::Image(img) => {
                assert!(img.width > 0 && img.height > 0);
                assert_eq!(
                    img.rgb.len(),
                    img.width * img.height * 3,
                    "{id}: {}",
                    img.label
                );
            }
            Panel::Bars(b) => {
                assert!(!b.items.is_empty());
                assert!(b.items.iter().all(|(_, v)| v.is_finite()));
            }
            Panel::Vector(v) => {
                assert!(!v.values.is_empty());
                assert!(v.emphasis.iter().all(|&i| i < v.values.len()));
                assert!(v.names.is_empty() || v.names.len() == v.values.len());
            }
            Panel::Pipeline(p) => {
                assert!(!p.stages.is_empty());
                assert!(p.active.is_none_or(|a| a < p.stages.len()));
            }
        }
    }
}

#[test]
fn every_builtin_lesson_builds_sane_frames() {
    let lessons = lesson::builtin().unwrap();
    let ids: Vec<&str> = lessons.iter().map(Lesson::id).collect();
    assert_eq!(
        ids,
        [
            "convolution",
            "relu",
            "pooling",
            "dropout",
            "flatten",
            "fully-connected",
            "architecture",
            "backprop",
            "train",
            "occlusion",
            "exp-overfitting",
            "exp-learning-rate",
            "exp-no-pooling",
            "exp-mlp-vs-cnn",
            "exp-filters-vs-layers",
            "exp-batch-norm"
        ]
    );
    // one lesson per kind, then the experiments
    let kinds: Vec<&str> = lessons.iter().map(Lesson::kind).collect();
    assert_eq!(kinds[..10], ids[..10]);
    assert!(kinds[10..].iter().all(|k| *k == "experiment"), "{kinds:?}");
    for l in &lessons {
        assert!(
            !l.title().is_empty() && !l.summary().is_empty(),
            "{}",
            l.id()
        );
        let frames = l.frames().unwrap();
        assert!(!frames.is_empty(), "{}", l.id());
        assert!(
            frames.iter().any(|f| !f.text.is_empty()),
            "{}: no words at all",
            l.id()
        );
        for f in &frames {
            check_sane(l.id(), f);
        }
        if !l.capabilities().training {
            assert!(frames.iter().all(|f| !f.panels.is_empty()), "{}", l.id());
        }
        // no placeholder left unfilled
        for f in &frames {
            for p in &f.text {
                assert!(!p.contains('{'), "{}: unfilled placeholder in {p}", l.id());
            }
        }
    }
}

#[test]
fn the_same_lesson_gives_the_same_frames() {
    for l in lesson::builtin().unwrap() {
        assert_eq!(l.frames().unwrap(), l.frames().unwrap(), "{}", l.id());
    }
}

fn first_window_value(l: &Lesson) -> Option<f32> {
    let frames = l.frames().unwrap();
    grids(&frames[1])
        .into_iter()
        .find(|g| g.label.starts_with("Feature map"))?
        .get(1, 1)
}

#[test]
fn editing_a_filter_weight_recomputes_every_result() {
    let mut l = builtin("convolution");
    let targets = l.edit_targets();
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["image", "filter"]);
    assert_eq!((targets[1].rows, targets[1].cols), (3, 3));
    assert_eq!(l.value(1, 1, 1), 0.0);
    assert_eq!(first_window_value(&l), Some(155.0));
    // the centre pixel of the first window is 255: weight 0 -> 1 adds 255
    l.set_value(1, 1, 1, 1.0);
    assert_eq!(l.value(1, 1, 1), 1.0);
    assert_eq!(first_window_value(&l), Some(410.0));
    let f = &l.frames().unwrap()[1];
    assert!(f.formula.as_deref().unwrap().contains("(255 x 1)"));
    // editing a pixel: the top-left pixel sits under weight 1
    l.set_value(0, 0, 0, 0.0);
    assert_eq!(first_window_value(&l), Some(155.0));
    // bad edits are ignored, out-of-range cells too
    l.set_value(1, 0, 0, f32::NAN);
    l.set_value(7, 0, 0, 3.0);
    l.set_value(1, 9, 9, 3.0);
    assert_eq!(l.value(1, 0, 0), 1.0);
    assert_eq!(l.value(7, 0, 0), 0.0);
    l.reset();
    assert_eq!(first_window_value(&l), Some(155.0));
    assert_eq!(l, builtin("convolution"));
}

#[test]
fn presets_replace_the_filter() {
    let mut l = builtin("convolution");
    let presets = l.presets();
    assert!(presets.len() >= 4);
    assert!(presets.iter().any(|p| p.contains("Blur")));
    assert!(presets.iter().any(|p| p.contains("Sharpen")));
    assert!(presets.iter().any(|p| p.contains("Sobel")));
    let identity = presets.iter().position(|p| p == "Identity").unwrap();
    l.apply_preset(identity);
    // the identity filter copies the image's interior
    let frames = l.frames().unwrap();
    let map = grids(frames.last().unwrap())
        .into_iter()
        .find(|g| g.label.starts_with("Feature map"))
        .unwrap()
        .clone();
    for r in 1..5 {
        for c in 1..5 {
            assert_eq!(map.get(r, c), Some(l.value(0, r, c)));
        }
    }
    let edge = presets.iter().position(|p| p.starts_with("Edge")).unwrap();
    l.apply_preset(edge);
    assert_eq!(l.value(1, 1, 1), 4.0);
    l.apply_preset(999); // ignored
    assert_eq!(l.value(1, 1, 1), 4.0);
    // lessons without a filter offer none
    assert!(builtin("fully-connected").presets().is_empty());
    assert!(builtin("train").presets().is_empty());
}

#[test]
fn only_dropout_lessons_reroll_and_change_p() {
    let mut conv = builtin("convolution");
    assert!(!conv.reroll());
    assert!(!conv.adjust_probability(0.1));
    let mut d = builtin("dropout");
    assert_eq!(d.dropout_p(), 0.5);
    assert!(d.adjust_probability(0.1));
    assert!((d.dropout_p() - 0.6).abs() < 1e-6);
    assert!(d.adjust_probability(5.0));
    assert!((d.dropout_p() - 0.9).abs() < 1e-6);
    assert!(d.adjust_probability(-5.0));
    assert_eq!(d.dropout_p(), 0.0);
    let seed = d.seed();
    assert!(d.reroll());
    assert_ne!(d.seed(), seed);
    d.reset();
    assert_eq!(d.seed(), seed);
    assert!(builtin("architecture").reroll());
}

/// The per-map frames of the dropout lesson: (before, after) grids.
fn dropout_pairs(l: &Lesson) -> Vec<(Grid, Grid)> {
    l.frames()
        .unwrap()
        .iter()
        .filter(|f| f.heading.starts_with("Map "))
        .map(|f| {
            let g = grids(f);
            (g[0].clone(), g[1].clone())
        })
        .collect()
}

#[test]
fn dropout_zeroes_or_scales_whole_maps() {
    let mut l = builtin("dropout");
    for p in [0.5f32, 0.2, 0.8] {
        l.adjust_probability(p - l.dropout_p());
        let scale = 1.0 / (1.0 - l.dropout_p());
        for _ in 0..5 {
            let pairs = dropout_pairs(&l);
            assert_eq!(pairs.len(), 4);
            for (before, after) in &pairs {
                if after.dimmed {
                    assert!(after.cells.iter().all(|c| *c == Some(0.0)));
                } else {
                    for (b, a) in before.cells.iter().zip(&after.cells) {
                        let want = b.unwrap() * scale;
                        assert!((a.unwrap() - want).abs() <= 1e-3 * want.abs().max(1.0));
                    }
                }
            }
            l.reroll();
        }
    }
}

#[test]
fn dropout_drops_about_p_of_the_maps() {
    let mut l = builtin("dropout");
    l.adjust_probability(0.3 - l.dropout_p());
    let (mut dropped, mut total) = (0usize, 0usize);
    let mut patterns = std::collections::HashSet::new();
    for _ in 0..300 {
        let pairs = dropout_pairs(&l);
        let pattern: Vec<bool> = pairs.iter().map(|(_, a)| a.dimmed).collect();
        dropped += pattern.iter().filter(|&&d| d).count();
        total += pattern.len();
        patterns.insert(pattern);
        l.reroll();
    }
    let rate = dropped as f64 / total as f64;
    assert!(
        (rate - 0.3).abs() < 0.05,
        "dropped {rate} of maps at p = 0.3"
    );
    assert!(patterns.len() > 8, "rerolls give varied drops");
}

#[test]
fn dropout_shows_flipped_mirrored_and_skewed_pictures() {
    let frames = builtin("dropout").frames().unwrap();
    let last = frames.last().unwrap();
    let images: Vec<_> = last
        .panels
        .iter()
        .filter_map(|p| match p {
            Panel::Image(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(images.len(), 4);
    let labels: Vec<&str> = images.iter().map(|i| i.label.as_str()).collect();
    assert!(labels.iter().any(|l| l.starts_with("Upside down")));
    assert!(labels.iter().any(|l| l.starts_with("Mirrored")));
    assert!(labels.iter().any(|l| l.starts_with("Slanted")));
    // a real shape: not all white, and the transforms differ from the original
    assert!(images[0].rgb.iter().any(|&b| b < 200));
    for other in &images[1..] {
        assert_ne!(other.rgb, images[0].rgb, "{}", other.label);
    }
}

#[test]
fn flatten_follows_pytorch_order() {
    let frames = builtin("flatten").frames().unwrap();
    let last = frames.last().unwrap();
    let maps: Vec<&Grid> = grids(last);
    let (c, h, w) = (maps.len(), maps[0].rows, maps[0].cols);
    let flat: Vec<f32> = maps
        .iter()
        .flat_map(|g| g.cells.iter().map(|v| v.unwrap()))
        .collect();
    let x = Array4::from_shape_vec((1, c, h, w), flat).unwrap();
    let want = ops::flatten(&x);
    let got: Vec<f32> = vectors(last)[0].values.iter().map(|v| v.unwrap()).collect();
    assert_eq!(got, want.row(0).to_vec());
    // each step highlights the cell that lands at its index
    let steps: Vec<&Step> = frames
        .iter()
        .filter(|f| f.heading.starts_with("Index "))
        .collect();
    assert_eq!(steps.len(), c * h * w);
    for (i, f) in steps.iter().enumerate() {
        let v = vectors(f)[0];
        assert_eq!(v.emphasis, vec![i]);
        assert_eq!(v.values.iter().filter(|x| x.is_some()).count(), i + 1);
        let (ci, r, col) = (i / (h * w), (i / w) % h, i % w);
        let g = grids(f)[ci];
        assert_eq!(g.emphasis, vec![(r, col)]);
        assert_eq!(g.get(r, col), v.values[i]);
    }
}

#[test]
fn fully_connected_matches_linear_and_softmax() {
    let l = builtin("fully-connected");
    let targets = l.edit_targets();
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["inputs", "weights", "bias"]);
    let n = targets[0].cols;
    let k = targets[1].rows;
    let x = Array2::from_shape_fn((1, n), |(_, i)| l.value(0, 0, i));
    let w = Array2::from_shape_fn((k, n), |(j, i)| l.value(1, j, i));
    let b = Array1::from_shape_fn(k, |j| l.value(2, 0, j));
    let probs = ops::softmax(&ops::linear(&x, &w, &b));
    let frames = l.frames().unwrap();
    let bars = frames
        .iter()
        .rev()
        .find_map(|f| {
            f.panels.iter().find_map(|p| match p {
                Panel::Bars(b) => Some(b),
                _ => None,
            })
        })
        .unwrap();
    let names: Vec<&str> = bars.items.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["circle", "square", "triangle"]);
    let sum: f32 = bars.items.iter().map(|(_, p)| p).sum();
    assert!((sum - 1.0).abs() < 1e-5);
    for (j, (_, p)) in bars.items.iter().enumerate() {
        assert_eq!(*p, probs[[0, j]]);
    }
    // each class's sum is written out term by term
    let score_frames: Vec<&Step> = frames
        .iter()
        .filter(|f| f.heading.starts_with("Score "))
        .collect();
    assert_eq!(score_frames.len(), 3);
    assert!(score_frames[0]
        .formula
        .as_deref()
        .unwrap()
        .starts_with("circle: (2 x 0.2) + (1 x -0.1)"));
}

#[test]
fn architecture_walks_every_stage_with_its_shape() {
    let frames = builtin("architecture").frames().unwrap();
    let pipe = frames[0]
        .panels
        .iter()
        .find_map(|p| match p {
            Panel::Pipeline(p) => Some(p),
            _ => None,
        })
        .unwrap();
    let shapes: Vec<&str> = pipe.stages.iter().map(|s| s.shape.as_str()).collect();
    assert_eq!(
        shapes,
        [
            "1x128x128",
            "2x126x126",
            "2x63x63",
            "2x63x63",
            "7938",
            "3",
            "3 probabilities"
        ]
    );
    // the feature maps are shown as pictures, and the end is three probabilities
    assert!(frames.iter().any(|f| f
        .panels
        .iter()
        .filter(|p| matches!(p, Panel::Image(i) if i.label.starts_with("Feature map")))
        .count()
        == 2));
    let last = frames.last().unwrap();
    let bars = last
        .panels
        .iter()
        .find_map(|p| match p {
            Panel::Bars(b) => Some(b),
            _ => None,
        })
        .unwrap();
    assert_eq!(bars.items.len(), 3);
    let sum: f32 = bars.items.iter().map(|(_, p)| p).sum();
    assert!((sum - 1.0).abs() < 1e-5);
}

#[test]
fn the_written_out_sums_agree_with_linear() {
    let frames = builtin("fully-connected").frames().unwrap();
    for f in frames.iter().filter(|f| f.heading.starts_with("Score ")) {
        let formula = f.formula.as_deref().unwrap();
        let (_, sum) = formula.split_once(": ").unwrap();
        let (lhs, rhs) = sum.rsplit_once(" = ").unwrap();
        // "(a x b) + (c x d) + ... + bias" or "... - bias"
        let (terms, bias) = match lhs.rsplit_once(") ") {
            Some((t, b)) => (format!("{t})"), b.replace(' ', "")),
            None => (lhs.to_string(), String::new()),
        };
        let mut total: f32 = terms
            .split(" + ")
            .map(|term| {
                let inner = term.trim_start_matches('(').trim_end_matches(')');
                let (a, b) = inner.split_once(" x ").unwrap();
                a.parse::<f32>().unwrap() * b.parse::<f32>().unwrap()
            })
            .sum();
        if !bias.is_empty() {
            total += bias.parse::<f32>().unwrap();
        }
        let shown: f32 = rhs.parse().unwrap();
        assert!(
            (total - shown).abs() < 1e-3,
            "{formula}: terms give {total}"
        );
    }
}

#[test]
fn pooling_formulas_list_the_window_and_its_maximum() {
    let frames = builtin("pooling").frames().unwrap();
    for f in frames.iter().filter(|f| f.heading.starts_with("Window ")) {
        let formula = f.formula.as_deref().unwrap();
        let inner = formula
            .trim_start_matches("max(")
            .split_once(") = ")
            .unwrap();
        let max = inner
            .0
            .split(", ")
            .map(|v| v.parse::<f32>().unwrap())
            .fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(max, inner.1.parse::<f32>().unwrap(), "{formula}");
        let relu = grids(f)[0];
        let w = relu.window.unwrap();
        let in_window: Vec<f32> = (w.row..w.row + w.height)
            .flat_map(|r| (w.col..w.col + w.width).map(move |c| (r, c)))
            .map(|(r, c)| relu.get(r, c).unwrap())
            .collect();
        assert_eq!(in_window.len(), 4);
    }
}

#[test]
fn extreme_edits_still_give_sane_frames() {
    for mut l in lesson::builtin().unwrap() {
        let targets = l.edit_targets();
        for (t, target) in targets.iter().enumerate() {
            for r in 0..target.rows {
                for c in 0..target.cols {
                    let v = if (r + c) % 2 == 0 { 1.0e9 } else { -1.0e9 };
                    l.set_value(t, r, c, v);
                }
            }
        }
        if !targets.is_empty() {
            assert_eq!(l.value(0, 0, 0), 1.0e6, "{}: edits are clamped", l.id());
        }
        let frames = l.frames().unwrap();
        for f in &frames {
            check_sane(l.id(), f);
        }
        let text = lesson::plain::lesson(&l, None).unwrap();
        assert!(!text.contains("NaN"), "{}", l.id());
    }
}

/// The dropout lesson's two steps of the course's own dropouts: Dropout2d with the
/// course's p on the lesson's maps (each map zero or its values x 1/(1-p)), then
/// F.dropout on single values of a kept map (each value zero or x 1/(1-p)), the counts
/// in the text those of the grids.
#[test]
fn the_dropout_lesson_shows_both_of_the_courses_dropouts() {
    use cnn_tutor::nn::arch::{Arch, Layer};
    let course = Arch::course().layers;
    let p_map = course
        .iter()
        .find_map(|l| match l {
            Layer::Dropout2d { p } => Some(*p),
            _ => None,
        })
        .unwrap();
    let p_value = course
        .iter()
        .find_map(|l| match l {
            Layer::Dropout { p } => Some(*p),
            _ => None,
        })
        .unwrap();
    let l = builtin("dropout");
    let frames = l.frames().unwrap();
    let before: Vec<Vec<f32>> = grids(&frames[0])
        .iter()
        .map(|g| g.cells.iter().map(|c| c.unwrap()).collect())
        .collect();
    let first = frames
        .iter()
        .find(|f| f.heading.starts_with("The course's first dropout"))
        .expect("the Dropout2d step");
    assert!(first.heading.contains(&format!("p={p_map}")));
    let after = grids(first);
    assert_eq!(after.len(), before.len());
    let s_map = 1.0 / (1.0 - p_map);
    for (g, b) in after.iter().zip(&before) {
        let cells: Vec<f32> = g.cells.iter().map(|c| c.unwrap()).collect();
        if g.dimmed {
            assert!(cells.iter().all(|&v| v == 0.0), "{}", g.label);
        } else {
            for (a, x) in cells.iter().zip(b) {
                assert!((a - x * s_map).abs() < 1e-3, "{}: {a} vs {x}", g.label);
            }
        }
    }
    let second = frames
        .iter()
        .find(|f| f.heading.starts_with("The course's second dropout"))
        .expect("the F.dropout step");
    let g = grids(second);
    let (b, a) = (&g[0].cells, &g[1].cells);
    let s_value = 1.0 / (1.0 - p_value);
    let (mut lost, mut zeros) = (0, 0);
    for (x, y) in b.iter().zip(a) {
        let (x, y) = (x.unwrap(), y.unwrap());
        if y == 0.0 {
            zeros += 1;
            lost += usize::from(x != 0.0);
        } else {
            assert!((y - x * s_value).abs() < 1e-3, "{y} vs {x}");
        }
    }
    // the count the text gives: at least the values that became 0, at most the zeros
    let text = second.text.join(" ");
    let end = text
        .find(&format!(" of its {} values", b.len()))
        .expect("the count");
    let stated: usize = text[..end].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        lost <= stated && stated <= zeros,
        "{lost} {stated} {zeros}: {text}"
    );
}
