//! The occlusion lesson (issue 25, item 6): every map entry is p(class) uncovered minus
//! p(class) with one patch set to 0, recomputed here with `nn::ops` from the lesson file's
//! own numbers; the questions' answers follow the map; the worksheet answers every blank.

use cnn_tutor::lesson::frame::{Grid, Panel, Step};
use cnn_tutor::lesson::quiz::Answer;
use cnn_tutor::lesson::{self, Lesson};
use cnn_tutor::nn::ops;
use ndarray::{s, Array1, Array2, Axis};

fn occlusion() -> Lesson {
    lesson::builtin()
        .expect("built-in lessons load")
        .into_iter()
        .find(|l| l.id() == "occlusion")
        .expect("the occlusion lesson is built in")
}

/// A matrix field of the lesson file, read with `toml` (not through the lesson code).
fn field(name: &str) -> Array2<f32> {
    let text = include_str!("../../lessons/10-occlusion.toml");
    let v: toml::Value = toml::from_str(text).expect("toml");
    let rows: Vec<Vec<f32>> = v[name]
        .as_array()
        .expect("a matrix")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("a row")
                .iter()
                .map(|x| {
                    x.as_float()
                        .unwrap_or_else(|| x.as_integer().unwrap() as f64)
                        as f32
                })
                .collect()
        })
        .collect();
    let (h, w) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((h, w), rows.concat()).expect("rectangular")
}

/// Softmax probabilities of the lesson's network on `x` (already -1..1), with `nn::ops`.
fn probs(x: &Array2<f32>, filter: &Array2<f32>, fc_w: &Array2<f32>, fc_b: &[f32]) -> Vec<f32> {
    let x4 = x.clone().insert_axis(Axis(0)).insert_axis(Axis(0));
    let w4 = filter.clone().insert_axis(Axis(0)).insert_axis(Axis(0));
    let z = ops::conv2d(&x4, &w4, Some(&Array1::zeros(1)), 1, 0);
    let pooled = ops::max_pool2d(&ops::relu(&z), 2, 2);
    let scores = ops::linear(&ops::flatten(&pooled), fc_w, &Array1::from(fc_b.to_vec()));
    ops::softmax(&scores).row(0).to_vec()
}

fn grid<'a>(step: &'a Step, label: &str) -> &'a Grid {
    step.panels
        .iter()
        .find_map(|p| match p {
            Panel::Grid(g) if g.label == label => Some(g),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no grid {label} in {}", step.heading))
}

/// The map of `image` (0..255), patch 2, step 2, as the lesson defines it.
fn expected_map(image: &Array2<f32>) -> (Vec<f32>, usize, Vec<Vec<f32>>) {
    let filter = field("kernel");
    let fc_w = field("fc_weights");
    let fc_b = [0.1, 0.0, -0.1];
    let x = image.mapv(|p| (p / 255.0 - 0.5) / 0.5);
    let p0 = probs(&x, &filter, &fc_w, &fc_b);
    let c = (0..3).fold(0, |b, j| if p0[j] > p0[b] { j } else { b });
    let mut map = Vec::new();
    let mut covered = Vec::new();
    for r in (0..=4).step_by(2) {
        for col in (0..=4).step_by(2) {
            let mut y = x.clone();
            y.slice_mut(s![r..r + 2, col..col + 2]).fill(0.0);
            let p = probs(&y, &filter, &fc_w, &fc_b);
            map.push(p0[c] - p[c]);
            covered.push(p);
        }
    }
    (map, c, covered)
}

#[test]
fn every_map_entry_is_a_recomputed_difference_of_probabilities() {
    let l = occlusion();
    let steps = l.frames().expect("frames");
    // intro, uncovered, 9 patches, the map, the closing
    assert_eq!(steps.len(), 13);
    let (map, c, covered) = expected_map(&field("image"));
    assert_eq!(c, 2, "the hand-picked weights say triangle");
    let shown = grid(&steps[11], "Occlusion map");
    assert_eq!((shown.rows, shown.cols), (3, 3));
    for (i, want) in map.iter().enumerate() {
        let got = shown.get(i / 3, i % 3).expect("filled in");
        assert!((got - want).abs() < 1e-6, "entry {i}: {got} vs {want}");
        // the patch's own step fills in exactly its entry, emphasised, and says the drop
        let g = grid(&steps[2 + i], "Occlusion map");
        assert_eq!(g.emphasis, vec![(i / 3, i % 3)]);
        assert_eq!(g.cells.iter().flatten().count(), i + 1);
        let f = steps[2 + i].formula.as_deref().expect("formula");
        assert!(f.ends_with(&format!("= {}", lesson::fmt_num(*want))), "{f}");
        let bars = steps[2 + i]
            .panels
            .iter()
            .find_map(|p| match p {
                Panel::Bars(b) => Some(b),
                _ => None,
            })
            .expect("bars");
        for (j, (_, p)) in bars.items.iter().enumerate() {
            assert!((p - covered[i][j]).abs() < 1e-6);
        }
    }
    // the numbers of this example: the lower-left patch matters most, two change nothing
    let best = (0..9).fold(0, |b, j| if map[j] > map[b] { j } else { b });
    assert_eq!(best, 3);
    assert_eq!(map.iter().filter(|&&v| v == 0.0).count(), 2);
    // covered pixels are 0 in the covered input, the others as normalised
    let cov = grid(&steps[5], "Covered input");
    assert_eq!(cov.get(2, 0), Some(0.0));
    assert_eq!(cov.get(0, 0), Some(1.0));
}

#[test]
fn an_edited_pixel_changes_the_map_as_the_engine_does() {
    let mut l = occlusion();
    let image = l
        .edit_targets()
        .iter()
        .position(|t| t.name == "image")
        .expect("the image is editable");
    // darken the top-right corner: now covering it matters
    l.set_value(image, 0, 5, 0.0);
    l.set_value(image, 1, 4, 0.0);
    let steps = l.frames().expect("frames");
    let mut img = field("image");
    img[[0, 5]] = 0.0;
    img[[1, 4]] = 0.0;
    let (map, _, _) = expected_map(&img);
    let shown = grid(&steps[11], "Occlusion map");
    for (i, want) in map.iter().enumerate() {
        assert!((shown.get(i / 3, i % 3).unwrap() - want).abs() < 1e-6);
    }
    assert_ne!(map, expected_map(&field("image")).0);
}

#[test]
fn the_questions_predict_explain_and_ask_each_entry() {
    let l = occlusion();
    let steps = l.frames().expect("frames");
    let qs = l.questions(&steps);
    let (map, c, covered) = expected_map(&field("image"));
    // predict first, on the uncovered step: the patch with the largest fall
    assert_eq!(qs[0].step, 1);
    match &qs[0].answer {
        Answer::Choice { options, right } => {
            assert_eq!(options.len(), 9);
            assert_eq!(*right, 3);
        }
        other => panic!("{other:?}"),
    }
    // one number per patch, the map's entry
    let numbers: Vec<f32> = qs
        .iter()
        .filter_map(|q| match q.answer {
            Answer::Number(v) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(numbers.len(), 9);
    for (got, want) in numbers.iter().zip(&map) {
        assert!((got - want).abs() < 1e-6);
    }
    // explain: what the largest entry supports, decided by the covered pass
    let set = qs
        .iter()
        .find(|q| matches!(q.answer, Answer::Set { .. }))
        .unwrap();
    let Answer::Set { right, .. } = &set.answer else {
        unreachable!()
    };
    let f = &covered[3];
    let switched = (0..3).fold(0, |b, j| if f[j] > f[b] { j } else { b }) != c;
    let p0 = {
        let x = field("image").mapv(|p| (p / 255.0 - 0.5) / 0.5);
        probs(
            &x,
            &field("kernel"),
            &field("fc_weights"),
            &[0.1, 0.0, -0.1],
        )
    };
    let raised = (0..3).any(|j| j != c && f[j] > p0[j]);
    let mut want = vec![0];
    if switched {
        want.push(2);
    }
    if raised {
        want.push(3);
    }
    assert_eq!(right, &want);
    // explain a zero: its pooled values did not change
    let zero = qs.last().unwrap();
    assert!(zero.ask.contains("rows 1-2, columns 5-6"), "{}", zero.ask);
    assert!(matches!(zero.answer, Answer::Choice { right: 1, .. }));
}

#[test]
fn the_worksheet_answers_every_numbered_blank_on_short_lines() {
    let l = occlusion();
    let w = lesson::plain::worksheet(&l).expect("worksheet");
    let (body, key) = w.split_once("\nAnswers\n").expect("an answers section");
    let n = l.questions(&l.frames().unwrap()).len();
    assert_eq!(n, 12);
    for q in 1..=n {
        assert!(body.contains(&format!("__{q}__")), "blank {q}");
        assert!(key.contains(&format!("\n{q:>3}. ")), "answer {q}");
    }
    assert!(!body.contains("____"), "an unnumbered blank");
    assert!(!body.contains(&format!("__{}__", n + 1)));
    assert!(w.lines().all(|line| line.chars().count() <= 100));
    // the choices are printed under their questions
    assert!(body.contains("    2. No pooled value changed"));
    // no entry is given away in the words of its step
    assert!(!body.contains("covered: 0.011"));
}
