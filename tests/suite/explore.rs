//! `cnn-tutor explore` against PyTorch: a checkpoint trained by PyTorch and an image drawn
//! for the test (`tests/fixtures/explore`, made by `tests/pytorch/make_explore_reference.py`),
//! whose conv1/conv2/conv3 cells, pools and fc scores PyTorch's forward hooks recorded.
//! Also: the forward that keeps the maps against the golden dump, the products summing to
//! each value, and the errors for cells out of range.

use std::path::PathBuf;
use std::process::{Command, Output};

use cnn_tutor::backend::{cpu, Backend, CpuBackend};
use cnn_tutor::explore::Explorer;
use serde_json::Value;

use crate::common::parity;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explore")
}

fn model() -> PathBuf {
    fixtures().join("pytorch_trained.safetensors")
}

fn image() -> PathBuf {
    fixtures().join("drawn_triangle.png")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn explore(extra: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
    c.env("NO_COLOR", "1").env("LANG", "C.UTF-8").arg("explore");
    c.arg("--model").arg(model()).arg(image()).args(extra);
    c.output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// |sum of products + bias - value| within float rounding of the products' sizes.
fn assert_terms_sum(cell: &Value) {
    let terms = cell["terms"].as_array().unwrap();
    let sum: f64 = terms.iter().map(|t| f(&t["input"]) * f(&t["weight"])).sum();
    let abs: f64 = terms
        .iter()
        .map(|t| (f(&t["input"]) * f(&t["weight"])).abs())
        .sum();
    let value = f(&cell["value"]);
    let err = (sum + f(&cell["bias"]) - value).abs();
    assert!(
        err <= 1e-5 * abs + 1e-4 * value.abs() + 1e-6,
        "terms sum to {} + bias {} but the value is {value}",
        sum,
        f(&cell["bias"])
    );
}

#[test]
fn conv_cells_match_pytorch_hooks_and_their_terms_sum_to_them() {
    let reference = reference();
    let mut checked = 0;
    let mut worst = 0.0f64;
    for layer in ["conv1", "conv2", "conv3"] {
        let r = &reference["layers"][layer];
        let scale = f(&r["max_abs"]);
        let in_scale = f(&r["input_max_abs"]);
        let cin = match layer {
            "conv1" => 3,
            _ => 12,
        };
        for cell in r["cells"].as_array().unwrap() {
            let (ch, row, col) = (&cell["channel"], &cell["row"], &cell["col"]);
            let at = format!("{row},{col}");
            let out = explore(&[
                "--layer",
                layer,
                "--channel",
                &ch.to_string(),
                "--at",
                &at,
                "--json",
            ]);
            let ours = stdout_json(&out);
            assert_eq!(ours["layer"], layer);
            assert_eq!(
                (&ours["channel"], &ours["row"], &ours["col"]),
                (ch, row, col)
            );
            let (a, b) = (f(&ours["value"]), f(&cell["value"]));
            worst = worst.max((a - b).abs() / scale);
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{layer} {ch},{at}: ours {a}, PyTorch {b} (scale {scale})"
            );
            assert_terms_sum(&ours);
            let terms = ours["terms"].as_array().unwrap();
            assert!(terms.len() <= 9 * cin && terms.len() >= 4 * cin);
            if let Some(inputs) = cell["inputs"].as_array() {
                // the same window positions (padding left out), fed the same values
                assert_eq!(terms.len(), inputs.len(), "{layer} {ch},{at}");
                for (t, i) in terms.iter().zip(inputs) {
                    let i = i.as_array().unwrap();
                    assert_eq!(
                        [&t["channel"], &t["row"], &t["col"]],
                        [&i[0], &i[1], &i[2]],
                        "{layer} {ch},{at}"
                    );
                    assert!((f(&t["input"]) - f(&i[3])).abs() <= 1e-4 * in_scale);
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
    println!("24 conv cells: worst |ours - PyTorch| / max |PyTorch| = {worst:.2e}");
}

#[test]
fn fc_scores_and_probabilities_match_pytorch() {
    let reference = reference();
    let r = &reference["fc"];
    let ours = stdout_json(&explore(&["--layer", "fc", "--json"]));
    assert_eq!(ours["layer"], "fc");
    assert_eq!(ours["classes"], reference["classes"]);
    let scale = r["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| f(v).abs())
        .fold(0.0, f64::max);
    for (key, tol) in [("values", 1e-4 * scale), ("probabilities", 1e-4)] {
        let (a, b) = (ours[key].as_array().unwrap(), r[key].as_array().unwrap());
        assert_eq!(a.len(), 3);
        for (x, y) in a.iter().zip(b) {
            assert!((f(x) - f(y)).abs() <= tol, "{key}: ours {x}, PyTorch {y}");
            println!("fc {key}: ours {x}, PyTorch {y}");
        }
    }
    // the channel totals and the bias add up to each score
    for class in 0..3 {
        let total: f64 = ours["channel_totals"][class]
            .as_array()
            .unwrap()
            .iter()
            .map(f)
            .sum();
        let score = f(&ours["values"][class]);
        assert!((total + f(&ours["bias"][class]) - score).abs() <= 1e-4 * scale);
    }
}

#[test]
fn the_default_cell_is_the_channels_strongest() {
    let reference = reference();
    let r = &reference["layers"]["conv1"];
    // the reference's 4th conv1 cell is channel 0's largest value in PyTorch
    let strongest = &r["cells"][3];
    let ours = stdout_json(&explore(&["--layer", "conv1", "--json"]));
    assert_eq!(ours["channel"], 0);
    assert!(f(&ours["value"]) >= f(&strongest["value"]) - 1e-4 * f(&r["max_abs"]));
    assert_terms_sum(&ours);
}

#[test]
fn engine_pools_match_pytorch_and_its_forward_is_predicts() {
    let reference = reference();
    let e = Explorer::from_files(&model(), &image()).unwrap();
    for (name, relu) in [("pool1", "relu1"), ("pool2", "relu2")] {
        let (pool, relu) = (e.stage(name).unwrap(), e.stage(relu).unwrap());
        let r = &reference["pools"][name];
        let scale = f(&r["max_abs"]);
        for cell in r["cells"].as_array().unwrap() {
            let at = |k: &str| cell[k].as_u64().unwrap() as usize;
            let p = e
                .pool_cell(pool, at("channel"), at("row"), at("col"))
                .unwrap();
            assert!((f64::from(p.value) - f(&cell["value"])).abs() <= 1e-4 * scale);
            assert_eq!(p.value, p.window[p.winner.unwrap()]);
            let relu = e
                .act_cell(relu, at("channel"), at("row"), at("col"))
                .unwrap();
            assert_eq!((relu.before, relu.after), (p.value, p.value.max(0.0)));
        }
    }
    // predict's forward gives the explorer's numbers bit for bit: one forward, not two
    let input: Vec<f32> = e.map(0).iter().copied().collect();
    let mut be = CpuBackend::new(Some(1)).unwrap();
    let lp = be.predict(e.net(), &input).unwrap();
    assert_eq!(
        lp.iter().copied().collect::<Vec<_>>(),
        e.trace().log_probs().iter().copied().collect::<Vec<_>>()
    );
    assert_eq!(e.classes(), ["circle", "square", "triangle"]);
    assert_eq!(
        e.classes()[e.decision().predicted()],
        reference["fc"]["predicted"].as_str().unwrap()
    );
}

/// The forward that keeps the maps gives PyTorch's activations on the golden dump's four
/// real images (`$CNN_TUTOR_GOLDEN`, else `../shared/golden`; skipped where absent).
#[test]
fn forward_trace_matches_the_golden_activations() {
    use cnn_tutor::nn::arch::Plan;
    use cnn_tutor::nn::checkpoint::params_from;
    use cnn_tutor::nn::checkpoint::TensorFile;
    use cnn_tutor::nn::net::Net;
    let Some(path) = parity::golden_path() else {
        return;
    };
    let file = TensorFile::read(&path).unwrap();
    let plan = Plan::course(3);
    let params = params_from(&file, &plan, "init.").unwrap();
    let net = Net::from_params(plan.clone(), params).unwrap();
    let tr = cpu::forward_trace(&net, &file.get("input").unwrap().data).unwrap();
    assert_eq!(
        tr.acts.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        plan.act_names()
    );
    for (act, a) in &tr.acts {
        let name = format!("act.{act}");
        let name = name.as_str();
        let ours: Vec<f32> = a.iter().copied().collect();
        let theirs = &file.get(name).unwrap().data;
        assert_eq!(ours.len(), theirs.len(), "{name}");
        let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = ours
            .iter()
            .zip(theirs)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err <= 1e-4 * scale, "{name}: {err} > 1e-4 x {scale}");
    }
}

fn one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{stderr}"
    );
}

#[test]
fn out_of_range_cells_are_one_line_errors_naming_the_range() {
    one_line_error(
        &explore(&["--layer", "conv1", "--channel", "12", "--json"]),
        "channel 12 is out of range: conv1 has channels 0 to 11",
    );
    one_line_error(
        &explore(&["--layer", "conv3", "--channel", "24"]),
        "conv3 has channels 0 to 23",
    );
    one_line_error(
        &explore(&["--layer", "conv2", "--at", "10,64", "--plain"]),
        "position 10,64 is out of range: conv2 is 64x64, rows and columns 0 to 63",
    );
    one_line_error(
        &explore(&["--layer", "conv2", "--input-channel", "12", "--plain"]),
        "conv2 has input channels 0 to 11",
    );
    one_line_error(
        &explore(&["--layer", "fc", "--at", "1,1"]),
        "are for a layer's maps; fc has one score per class",
    );
}

fn stdout_text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn plain_cell_writes_out_the_products_and_the_total() {
    let text = stdout_text(&explore(&["--layer", "conv1", "--at", "40,60", "--plain"]));
    assert!(text.contains("dropout is off (evaluation mode)"), "{text}");
    for ch in ["(red)", "(green)", "(blue)"] {
        assert!(text.contains(ch), "{text}");
    }
    // 27 products written out, in three sums
    assert_eq!(text.matches(" × ").count(), 27 + 1, "{text}"); // + the heading's
    assert!(text.contains("total") && text.contains("the forward pass gave"));
    assert!(text.contains("then pool1 (0, 20, 30)") && text.contains("then relu1: max(0, "));
    assert!(!text.contains('\x1b'));

    // --ascii: the same in plain ASCII
    let mut c = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
    c.env("NO_COLOR", "1")
        .args(["--ascii", "explore", "--model"]);
    let out = c
        .arg(model())
        .arg(image())
        .args(["--layer", "conv3", "--channel", "5", "--at", "0,31"])
        .output()
        .unwrap();
    let text = stdout_text(&out);
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains(" x ") && text.contains("pad 0"), "{text}");
    assert_eq!(text.matches("input channel ").count(), 12 + 1, "{text}");
    assert!(text.contains("then relu3"));
}

#[test]
fn overview_and_fc_plain_show_the_prediction() {
    let reference = reference();
    let predicted = reference["fc"]["predicted"].as_str().unwrap();
    let text = stdout_text(&explore(&[]));
    assert!(
        text.contains(&format!("prediction: {predicted} (")),
        "{text}"
    );
    for stage in [
        "input   3x128x128",
        "conv1   12x128x128",
        "pool1   12x64x64",
        "relu2   12x32x32",
        "conv3   24x32x32",
        "relu3   24x32x32",
        "fc      3",
    ] {
        assert!(text.contains(stage), "{stage}: {text}");
    }
    let json = stdout_json(&explore(&["--json"]));
    assert_eq!(json["predicted"], predicted);
    assert_eq!(json["stages"].as_array().unwrap().len(), 10);
    assert_eq!(
        json["stages"][1]["shape"],
        serde_json::json!([12, 128, 128])
    );
    // relu3 is never negative
    assert!(f(&json["stages"][8]["min"]) >= 0.0);

    let text = stdout_text(&explore(&["--layer", "fc"]));
    assert!(text.contains("pushed up most by conv3 channels"), "{text}");
    assert!(
        text.contains(&format!("prediction: {predicted} (")),
        "{text}"
    );
    assert_eq!(text.matches(" score ").count(), 3, "{text}");
}
