//! The backprop lesson (issue 12) and `lesson ID --json`: the lesson's gradients, updated
//! filter and fully connected gradients against PyTorch's autograd (a committed reference,
//! tests/pytorch/make_backprop_reference.py), random small lessons against an independent
//! finite-difference check in f64, the target's sign flip, the written-out sums in
//! `--plain`, the file errors, and every built-in lesson as JSON.

use std::path::{Path, PathBuf};
use std::process::Command;

use cnn_tutor::lesson::export::{document, Document, PanelData};
use cnn_tutor::lesson::{self, Lesson};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse(name: &str, text: &str) -> Lesson {
    Lesson::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The last panel called `title` in any step (the fullest: grids fill in step by step).
fn panel<'a>(doc: &'a Document, title: &str) -> &'a PanelData {
    doc.steps
        .iter()
        .rev()
        .flat_map(|s| s.panels.iter())
        .find(|p| p.title == title)
        .unwrap_or_else(|| panic!("no panel `{title}`"))
}

fn numbers(p: &PanelData) -> Vec<Vec<f32>> {
    p.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.unwrap_or_else(|| panic!("{}: a cell not filled", p.title)))
                .collect()
        })
        .collect()
}

fn flat(p: &PanelData) -> Vec<f32> {
    numbers(p).concat()
}

fn json_floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(json_floats).collect(),
        Value::Number(n) => vec![n.as_f64().expect("a number") as f32],
        other => panic!("not a number: {other}"),
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Run the binary; (status ok, stdout, stderr).
fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn gradients_and_updates_match_pytorch_autograd() {
    let reference: Value =
        serde_json::from_str(&read("tests/fixtures/backprop/reference.json")).expect("json");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 5,
        "the built-in lesson and its edited copies"
    );
    let mut worst = 0.0f32;
    for c in cases {
        let file = c["file"].as_str().expect("file");
        let doc = document(&parse(file, &read(file))).expect("steps");
        let losses = flat(panel(&doc, "Loss after each update"));
        let checks: [(&str, Vec<f32>, &str); 8] = [
            (
                "filter gradient",
                flat(panel(&doc, "dL/d filter")),
                "filter_grad",
            ),
            ("bias gradient", flat(panel(&doc, "dL/dbias")), "bias_grad"),
            (
                "fc weight gradient",
                flat(panel(&doc, "dL/d fc weights")),
                "fc_weight_grad",
            ),
            (
                "fc bias gradient",
                flat(panel(&doc, "dL/d fc bias")),
                "fc_bias_grad",
            ),
            (
                "updated filter",
                flat(panel(&doc, "New filter")),
                "updated_filter",
            ),
            ("loss", vec![losses[0]], "loss"),
            ("loss after one update", vec![losses[1]], "new_loss"),
            (
                "filter after Adam",
                flat(panel(&doc, "New filter (Adam)")),
                "adam_filter",
            ),
        ];
        for (what, ours, key) in checks {
            let theirs = json_floats(&c[key]);
            let d = max_diff(&ours, &theirs);
            assert!(d < 1e-4, "{file}: {what}: {ours:?} vs PyTorch {theirs:?}");
            worst = worst.max(d);
        }
        assert!(losses[1] < losses[0], "{file}: one update lowers the loss");
    }
    eprintln!("largest difference from PyTorch: {worst:e}");
}

#[test]
fn lesson_json_on_edited_copies_holds_pytorchs_gradients() {
    let dir = root().join("tests/fixtures/backprop");
    let reference: Value =
        serde_json::from_str(&read("tests/fixtures/backprop/reference.json")).expect("json");
    let c = reference["cases"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|c| {
                c["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("target-circle.toml"))
            })
        })
        .expect("the target-circle case");
    let (ok, out, err) = cli(&[
        "--lessons",
        dir.to_str().expect("utf-8 path"),
        "lesson",
        "bp-circle",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["id"], "bp-circle");
    let steps = v["steps"].as_array().expect("steps");
    let find = |title: &str| -> Vec<f32> {
        steps
            .iter()
            .rev()
            .flat_map(|s| s["panels"].as_array().expect("panels").iter())
            .find(|p| p["title"] == title)
            .map(|p| json_floats(&p["rows"]))
            .unwrap_or_else(|| panic!("no panel {title}"))
    };
    assert!(max_diff(&find("dL/d filter"), &json_floats(&c["filter_grad"])) < 1e-4);
    assert!(max_diff(&find("New filter"), &json_floats(&c["updated_filter"])) < 1e-4);
    assert!(max_diff(&find("dL/d fc weights"), &json_floats(&c["fc_weight_grad"])) < 1e-4);
}

#[test]
fn every_built_in_lesson_exports_valid_json_with_every_step() {
    let lessons = lesson::builtin().expect("built-in lessons");
    assert!(lessons.iter().any(|l| l.id() == "backprop"));
    for l in &lessons {
        let text = lesson::export::json(l).expect("exports");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", l.id()));
        let steps = v["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), l.frames().expect("frames").len(), "{}", l.id());
        assert_eq!(v["id"], l.id());
        for s in steps {
            assert!(s["title"].is_string() && s["text"].is_string());
            assert!(s["formula"].is_string() || s["formula"].is_null());
            for p in s["panels"].as_array().expect("panels") {
                assert!(p["title"].is_string(), "{}", l.id());
                for row in p["rows"].as_array().expect("rows") {
                    assert!(row
                        .as_array()
                        .expect("a row")
                        .iter()
                        .all(|c| c.is_number() || c.is_null()));
                }
                for h in p["highlight"].as_array().expect("highlight") {
                    assert_eq!(h.as_array().map(Vec::len), Some(2));
                }
            }
        }
    }
    // cells not computed yet are null; numbers keep their full f32 value
    let conv = lesson::find(&lessons, "convolution").expect("convolution");
    let v: Value = serde_json::from_str(&lesson::export::json(conv).expect("json")).expect("json");
    let first_map = &v["steps"][0]["panels"][2]["rows"][1][1];
    assert!(first_map.is_null(), "{first_map}");
    let bp = lesson::find(&lessons, "backprop").expect("backprop");
    let text = lesson::export::json(bp).expect("json");
    // 100 x 1/255 in f32, printed as the shortest text that reads back as that f32
    assert!(
        text.contains("0.3921569,"),
        "the scaled pixel at f32 precision"
    );
    assert!(!text.contains("0.392156869"), "not widened to f64");
}

#[test]
fn the_cli_refuses_json_with_plain() {
    let (ok, _, err) = cli(&["lesson", "backprop", "--json", "--plain"]);
    assert!(!ok);
    assert!(err.contains("--json") || err.contains("--plain"), "{err}");
}

#[test]
fn changing_the_target_flips_the_score_gradients_sign() {
    let mut l = lesson::builtin()
        .expect("built-in")
        .into_iter()
        .find(|l| l.id() == "backprop")
        .expect("backprop");
    let scores = |l: &Lesson| flat(panel(&document(l).expect("doc"), "dL/dscore"));
    let probs = |l: &Lesson| flat(panel(&document(l).expect("doc"), "p"));
    assert_eq!(l.target_class(), Some("triangle"));
    let before = scores(&l);
    assert!(
        before[2] < 0.0 && before[0] > 0.0 && before[1] > 0.0,
        "{before:?}"
    );
    assert!(l.next_target());
    assert_eq!(l.target_class(), Some("circle"));
    let after = scores(&l);
    let p = probs(&l);
    // p - y: only the true class's score gradient is negative
    assert!(
        after[0] < 0.0 && after[1] > 0.0 && after[2] > 0.0,
        "{after:?}"
    );
    for j in 0..3 {
        let y = if j == 0 { 1.0 } else { 0.0 };
        assert!((after[j] - (p[j] - y)).abs() < 1e-6);
    }
    // the filter's gradient follows
    let fg = |l: &Lesson| flat(panel(&document(l).expect("doc"), "dL/d filter"));
    l.reset();
    let g_triangle = fg(&l);
    l.next_target();
    assert_ne!(fg(&l), g_triangle);
    // more updates: the loss keeps falling
    assert!(l.adjust_updates(4));
    let losses = flat(panel(&document(&l).expect("doc"), "Loss after each update"));
    assert_eq!(losses.len(), 6);
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    assert!(l.adjust_updates(-10));
    assert_eq!(l.updates(), 1);
    assert!(!l.adjust_updates(-1), "1 is the fewest");
}

#[test]
fn plain_shows_every_written_out_sum() {
    let (ok, out, err) = cli(&["lesson", "backprop", "--plain"]);
    assert!(ok, "{err}");
    for r in 1..=3 {
        for c in 1..=3 {
            let head = format!("dL/dw({r},{c}) = sum over the 16 windows");
            assert!(out.contains(&head), "missing {head}");
        }
    }
    for needle in [
        "triangle: 0.232 - 1 = -0.768",
        "(a tie: the first in reading order wins)",
        "dL/dbias = the sum of all 16 dL/dz",
        "w(1,1): 1 - 0.1 x (-0.129) = 1.013",
        "loss before = 1.462, after one update = -ln 0.378 = 0.974: lower",
        "m^ = m / (1 - 0.9^1)",
    ] {
        assert!(out.contains(needle), "missing `{needle}`");
    }
    // every sum's terms add up to the value it shows (to the display rounding)
    let sums: Vec<&str> = out.lines().filter(|l| l.starts_with("dL/dw(")).collect();
    assert_eq!(sums.len(), 9);
    for line in sums {
        let body = line.split_once(": ").expect("terms").1;
        let (terms, value) = body.rsplit_once(" = ").expect("a value");
        let total: f64 = terms
            .split(" + ")
            .map(|t| {
                let (a, b) = t
                    .trim_matches(|c| c == '(' || c == ')')
                    .split_once(" x ")
                    .expect("a product");
                a.parse::<f64>().expect("pixel") * b.parse::<f64>().expect("gradient")
            })
            .sum();
        let shown: f64 = value.parse().expect("value");
        assert!((total - shown).abs() < 2e-3, "{line}");
    }
}

const GOOD: &str = r#"
id = "bp"
title = "t"
kind = "backprop"
image = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
kernel = [[1, 0], [0, -1]]
fc_weights = [[1], [2]]
classes = ["a", "b"]
target = "a"
learning_rate = 0.1
"#;

fn error_of(text: &str) -> String {
    match Lesson::parse("bp.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_files_are_refused_with_line_and_field() {
    parse("good.toml", GOOD);
    let cases = [
        (
            GOOD.replace("fc_weights = [[1], [2]]", "fc_weights = [[1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 5, 6, 7, 8, 9]]"),
            "line 7, column 14: field `fc_weights`: has 9 columns but the pooled map (1x1) flattens to 1",
        ),
        (
            GOOD.replace("fc_weights = [[1], [2]]", "fc_weights = [[1], [2], [3]]"),
            "line 7, column 14: field `fc_weights`: has 3 rows but there are 2 classes",
        ),
        (
            GOOD.replace("target = \"a\"", "target = \"c\""),
            "line 9, column 10: field `target`: `c` is not one of the classes (a, b)",
        ),
        (
            GOOD.replace("learning_rate = 0.1", "learning_rate = -1"),
            "line 10, column 17: field `learning_rate`: -1: use a number above 0",
        ),
        (
            GOOD.replace("target = \"a\"\n", ""),
            "line 4, column 8: field `target`: a backprop lesson needs `target`",
        ),
        (
            GOOD.replace("classes", "pool = 9\nclasses"),
            "line 8, column 8: field `pool`: use a pool size from 1 to 8",
        ),
        (
            GOOD.replace("classes", "pool = 4\nclasses"),
            "line 8, column 8: field `pool`: a 4x4 pool does not fit the 3x3 feature map",
        ),
        (
            GOOD.replace("classes", "fc_bias = [1]\nclasses"),
            "line 8, column 11: field `fc_bias`: has 1 values but there are 2 classes",
        ),
        (
            GOOD.replace("kernel = [[1, 0], [0, -1]]", "kernel = [[1, 0, 0, 0, 0]]"),
            "line 6, column 10: field `kernel`: the 1x5 filter is bigger than the 4x4 image",
        ),
    ];
    for (text, want) in cases {
        let got = error_of(&text);
        assert!(got.contains(want), "want `{want}`\n got `{got}`");
        assert!(got.starts_with("bp.toml: "), "{got}");
    }
}

// ---- random small lessons against an independent f64 finite-difference check ----

struct Net {
    img: Vec<Vec<f64>>,
    k: Vec<Vec<f64>>,
    bias: f64,
    fw: Vec<Vec<f64>>,
    fb: Vec<f64>,
    target: usize,
}

/// The lesson's network in f64, written out here independently of the engine.
fn loss64(n: &Net) -> f64 {
    let (h, w) = (n.img.len(), n.img[0].len());
    let (kh, kw) = (n.k.len(), n.k[0].len());
    let (oh, ow) = (h - kh + 1, w - kw + 1);
    let a: Vec<Vec<f64>> = (0..oh)
        .map(|oy| {
            (0..ow)
                .map(|ox| {
                    let mut s = n.bias;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            s += n.img[oy + ky][ox + kx] * n.k[ky][kx];
                        }
                    }
                    s.max(0.0)
                })
                .collect()
        })
        .collect();
    let (ph, pw) = ((oh - 2) / 2 + 1, (ow - 2) / 2 + 1);
    let mut f = Vec::new();
    for py in 0..ph {
        for px in 0..pw {
            let mut m = f64::NEG_INFINITY;
            for dy in 0..2 {
                for dx in 0..2 {
                    m = m.max(a[py * 2 + dy][px * 2 + dx]);
                }
            }
            f.push(m);
        }
    }
    let scores: Vec<f64> =
        n.fw.iter()
            .zip(&n.fb)
            .map(|(row, b)| row.iter().zip(&f).map(|(w, x)| w * x).sum::<f64>() + b)
            .collect();
    let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = scores.iter().map(|s| (s - m).exp()).sum::<f64>().ln() + m;
    lse - scores[n.target]
}

fn matrix_toml(m: &[Vec<f64>]) -> String {
    let rows: Vec<String> = m
        .iter()
        .map(|r| {
            let v: Vec<String> = r.iter().map(|x| format!("{x:?}")).collect();
            format!("[{}]", v.join(", "))
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// f32-exact random values (so the lesson and the f64 check see the same numbers).
fn r(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    f64::from(rng.gen_range(lo as f32..hi as f32))
}

#[test]
fn random_small_lessons_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut checked = 0;
    for case in 0..12 {
        let (kh, kw) = (rng.gen_range(1..=3), rng.gen_range(1..=3));
        let (h, w) = (kh + 1 + rng.gen_range(0..4), kw + 1 + rng.gen_range(0..4));
        let classes = rng.gen_range(2..=4);
        let (oh, ow) = (h - kh + 1, w - kw + 1);
        let n_flat = ((oh - 2) / 2 + 1) * ((ow - 2) / 2 + 1);
        let net = Net {
            img: (0..h)
                .map(|_| (0..w).map(|_| r(&mut rng, 0.0, 1.0)).collect())
                .collect(),
            k: (0..kh)
                .map(|_| (0..kw).map(|_| r(&mut rng, -1.0, 1.0)).collect())
                .collect(),
            bias: r(&mut rng, -0.2, 0.5),
            fw: (0..classes)
                .map(|_| (0..n_flat).map(|_| r(&mut rng, -1.0, 1.0)).collect())
                .collect(),
            fb: (0..classes).map(|_| r(&mut rng, -0.5, 0.5)).collect(),
            target: rng.gen_range(0..classes),
        };
        let names: Vec<String> = (0..classes).map(|c| format!("\"c{c}\"")).collect();
        let text = format!(
            "id = \"r{case}\"\ntitle = \"r\"\nkind = \"backprop\"\nimage = {}\nkernel = {}\nbias = {:?}\nfc_weights = {}\nfc_bias = [{}]\nclasses = [{}]\ntarget = \"c{}\"\nlearning_rate = 0.25\n",
            matrix_toml(&net.img),
            matrix_toml(&net.k),
            net.bias,
            matrix_toml(&net.fw),
            net.fb.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", "),
            names.join(", "),
            net.target
        );
        let doc = document(&parse("random.toml", &text)).expect("steps");
        let loss = flat(panel(&doc, "Loss after each update"))[0];
        assert!(
            (f64::from(loss) - loss64(&net)).abs() < 1e-4,
            "case {case}: loss"
        );
        let dk = flat(panel(&doc, "dL/d filter"));
        let dfw = flat(panel(&doc, "dL/d fc weights"));
        let db = flat(panel(&doc, "dL/dbias"))[0];
        let new_k = flat(panel(&doc, "New filter"));
        let eps = 1e-6;
        let fd = |perturb: &dyn Fn(&mut Net, f64)| {
            let mut up = clone(&net);
            perturb(&mut up, eps);
            let mut down = clone(&net);
            perturb(&mut down, -eps);
            (loss64(&up) - loss64(&down)) / (2.0 * eps)
        };
        for ky in 0..kh {
            for kx in 0..kw {
                let g = fd(&|n: &mut Net, e| n.k[ky][kx] += e);
                let ours = f64::from(dk[ky * kw + kx]);
                assert!(
                    (g - ours).abs() < 1e-3 * (1.0 + g.abs()),
                    "case {case}: filter ({ky},{kx}): {ours} vs {g}"
                );
                let stepped = net.k[ky][kx] - 0.25 * ours;
                assert!((f64::from(new_k[ky * kw + kx]) - stepped).abs() < 1e-5);
                checked += 1;
            }
        }
        let g = fd(&|n: &mut Net, e| n.bias += e);
        assert!(
            (g - f64::from(db)).abs() < 1e-3 * (1.0 + g.abs()),
            "case {case}: bias"
        );
        for j in 0..classes {
            for i in 0..n_flat {
                let g = fd(&|n: &mut Net, e| n.fw[j][i] += e);
                let ours = f64::from(dfw[j * n_flat + i]);
                assert!(
                    (g - ours).abs() < 1e-3 * (1.0 + g.abs()),
                    "case {case}: fc ({j},{i})"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
}

fn clone(n: &Net) -> Net {
    Net {
        img: n.img.clone(),
        k: n.k.clone(),
        bias: n.bias,
        fw: n.fw.clone(),
        fb: n.fb.clone(),
        target: n.target,
    }
}

#[test]
fn the_lesson_is_listed_between_fully_connected_and_training() {
    let (ok, out, _) = cli(&["lessons"]);
    assert!(ok);
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let at = |id: &str| ids.iter().position(|i| *i == id).expect(id);
    assert!(at("fully-connected") < at("backprop"));
    assert!(at("architecture") < at("backprop"));
    assert_eq!(at("backprop") + 1, at("train"));
    assert!(Path::new(&root().join("lessons/08-backprop.toml")).exists());
}

/// At 80x24 every step's formula is on screen whole: wrapped, and what does not fit in
/// the formula's rows goes on at the top of the explanation (nothing cut off).
#[test]
fn every_formula_is_shown_whole_at_80x24() {
    use cnn_tutor::tui::{buffer_text, render, App, AppEvent, Key, KeyCode, Progress, Theme};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let lessons = lesson::builtin().expect("built-in lessons");
    let frames = lesson::find(&lessons, "backprop")
        .expect("backprop")
        .frames()
        .expect("frames");
    let mut app = App::new(lessons, Theme::new(true, false), Progress::new());
    cnn_tutor::tui::apply(&mut app, AppEvent::Resize(80, 24));
    app.open_by_id("backprop").expect("opens");
    for (i, f) in frames.iter().enumerate() {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        terminal.draw(|fr| render(&app, fr)).expect("draw");
        let screen = buffer_text(terminal.backend().buffer());
        let formula = f.formula.as_deref().unwrap_or("");
        // every word of the formula, in order, after the step's heading
        let mut rest = screen.split_once(f.heading.as_str()).map_or("", |(_, r)| r);
        for word in formula.split_whitespace() {
            let at = rest.find(word).unwrap_or_else(|| {
                panic!(
                    "step {}: `{word}` of the formula is not shown\n{screen}",
                    i + 1
                )
            });
            rest = &rest[at + word.len()..];
        }
        cnn_tutor::tui::apply(&mut app, AppEvent::Key(Key::new(KeyCode::Right)));
    }
}

/// issue 23: the backprop lesson asks about every part: p - y, pooling's routing, the
/// bias's gradient, the update, and a finite-difference check that agrees with the
/// gradient.
#[test]
fn backprop_asks_every_part_and_the_finite_difference_agrees() {
    use cnn_tutor::lesson::quiz::Answer;
    let lessons = lesson::builtin().expect("built-in lessons");
    let l = lesson::find(&lessons, "backprop").expect("backprop");
    let frames = l.frames().expect("frames");
    let qs = l.questions(&frames);
    let ask = |needle: &str| {
        qs.iter()
            .find(|q| q.ask.contains(needle))
            .unwrap_or_else(|| panic!("no question on {needle}"))
    };
    assert_eq!(ask("(p - y)").answer.shown(), "-0.768");
    let Answer::Choice { options, right } = &ask("through pooling").answer else {
        panic!("a choice");
    };
    assert_eq!(options[*right], "row 2, column 2 (1.216)");
    assert_eq!(ask("dL/dbias").answer.shown(), "0.077");
    assert_eq!(ask("new w(1,1)").answer.shown(), "1.013");
    let fd = ask("0.01 bigger");
    assert_eq!(fd.answer.shown(), "-0.00129");
    // the working runs the forward pass again: the real change matches the prediction
    assert!(
        fd.working.ends_with("a change of -0.00129"),
        "{}",
        fd.working
    );
    assert!(!qs.iter().any(|q| q.ask.contains("the 1 value")));
}
