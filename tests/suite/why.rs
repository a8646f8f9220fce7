//! The attribution maps (`src/why.rs`, `explore --explain`) against PyTorch: two models
//! (the course's net trained in PyTorch, and a second architecture with a 5x5 stride-2
//! convolution, batch norm, tanh, average pooling and a hidden linear layer) on images
//! neither saw, every class's saliency, Grad-CAM and occlusion from autograd and forward
//! passes (`tests/pytorch/make_why_reference.py`, `tests/fixtures/why`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Case {
    model: PathBuf,
    image: PathBuf,
    layer: String,
    probs: Vec<f32>,
    /// (name, shape, values) of every map.
    maps: Vec<(String, Vec<usize>, Vec<f32>)>,
}

fn case(file: &str) -> Case {
    let bytes = std::fs::read(root().join("tests/fixtures/why").join(file)).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut maps: Vec<(String, Vec<usize>, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .map(|(name, t)| {
            let v = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, t.shape().to_vec(), v)
        })
        .collect();
    maps.sort_by(|a, b| a.0.cmp(&b.0));
    Case {
        model: root().join(&meta["model"]),
        image: root().join(&meta["image"]),
        layer: meta["layer"].clone(),
        probs: serde_json::from_str(&meta["probs"]).unwrap(),
        maps,
    }
}

/// Every value within `tol` x the largest |value| of PyTorch's map (an all-zero map: 1e-6).
fn assert_map(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: size");
    let top = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let bound = (tol * top).max(1e-6);
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= bound,
            "{what}[{i}]: ours {a}, PyTorch {b} (bound {bound})"
        );
    }
}

fn check_engine(file: &str) {
    use cnn_tutor::why;
    let c = case(file);
    let (net, _) = cnn_tutor::nn::checkpoint::load(&c.model).unwrap();
    let px = cnn_tutor::data::load_image(&c.image).unwrap();
    let lut = cnn_tutor::data::normalize_table();
    let x: Vec<f32> = px.iter().map(|&p| lut[usize::from(p)]).collect();
    assert_eq!(why::gradcam_layer(&net).as_deref(), Some(c.layer.as_str()));
    let mut backend = cnn_tutor::backend::CpuBackend::new(Some(2)).unwrap();
    for (name, shape, want) in &c.maps {
        let (class, method) = name.split_once('.').unwrap();
        let class: usize = class.parse().unwrap();
        let a = match method {
            "saliency" => why::saliency(&net, &x, class),
            "gradcam" => why::gradcam(&net, &x, class, None),
            "occlusion" => why::occlusion(&mut backend, &net, &x, class, 16, 8),
            m => panic!("unknown map {m}"),
        }
        .unwrap();
        assert_eq!(a.map.shape(), &shape[..], "{file} {name}");
        assert!(
            (a.probability - c.probs[class]).abs() < 1e-4,
            "{file} {name}"
        );
        assert_map(
            &format!("{file} {name}"),
            a.map.as_slice().unwrap(),
            want,
            1e-3,
        );
    }
}

#[test]
fn the_course_nets_maps_equal_pytorchs() {
    check_engine("course_maps.safetensors");
}

#[test]
fn another_architectures_maps_equal_pytorchs() {
    check_engine("other_maps.safetensors");
}

fn explain(model: &Path, image: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cnn-tutor"))
        .env("NO_COLOR", "1")
        .arg("explore")
        .arg("--model")
        .arg(model)
        .arg(image)
        .args(extra)
        .output()
        .unwrap()
}

/// `explore --explain M --class C --json` for a class that is not the predicted one: the
/// JSON's rows are PyTorch's map.
#[test]
fn explore_explain_json_gives_pytorchs_maps_for_another_class() {
    let c = case("other_maps.safetensors");
    let predicted = (0..3)
        .max_by(|&a, &b| c.probs[a].total_cmp(&c.probs[b]))
        .unwrap();
    let class = (predicted + 1) % 3;
    let names = ["circle", "square", "triangle"];
    for method in ["saliency", "gradcam", "occlusion"] {
        let out = explain(
            &c.model,
            &c.image,
            &["--explain", method, "--class", names[class], "--json"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["method"], method);
        assert_eq!(v["class"], names[class]);
        assert_eq!(v["predicted"], names[predicted]);
        let p = v["probability"].as_f64().unwrap() as f32;
        assert!((p - c.probs[class]).abs() < 1e-4);
        let rows = v["map"].as_array().unwrap();
        let ours: Vec<f32> = rows
            .iter()
            .flat_map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect();
        let (_, shape, want) = c
            .maps
            .iter()
            .find(|(n, _, _)| *n == format!("{class}.{method}"))
            .unwrap();
        assert_eq!(rows.len(), shape[0]);
        assert_map(method, &ours, want, 1e-3);
    }
}

#[test]
fn occlusion_takes_its_patch_and_stride() {
    let c = case("course_maps.safetensors");
    let out = explain(
        &c.model,
        &c.image,
        &[
            "--explain",
            "occlusion",
            "--patch",
            "32",
            "--stride",
            "32",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shape"], serde_json::json!([4, 4]));
    assert_eq!(v["patch"], 32);
    assert_eq!(v["class"], "triangle");
}

#[test]
fn plain_output_draws_the_map_and_names_the_regions() {
    let c = case("course_maps.safetensors");
    let out = explain(&c.model, &c.image, &["--explain", "occlusion"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Occlusion for class triangle"), "{text}");
    assert!(text.contains("Where it lies"), "{text}");
    assert!(text.contains("Strongest cell: row "), "{text}");
    // the frame: 15 rows of 30 characters between bars
    let framed = text.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(framed, 15, "{text}");
    assert!(text.contains("a grey square is an image the network never saw"));
}

#[test]
fn bad_explain_requests_are_one_line_errors() {
    let c = case("course_maps.safetensors");
    for (args, says) in [
        (&["--explain", "lime"][..], "saliency, gradcam or occlusion"),
        (
            &["--explain", "saliency", "--class", "hexagon"],
            "circle, square, triangle",
        ),
        (&["--explain", "saliency", "--patch", "8"], "occlusion's"),
        (
            &["--explain", "occlusion", "--patch", "200"],
            "does not fit",
        ),
        (&["--explain", "occlusion", "--stride", "0"], "at least 1"),
        (&["--explain", "gradcam", "--layer", "fc"], "not one"),
        (&["--explain", "gradcam", "--layer", "conv9"], "conv9"),
    ] {
        let out = explain(&c.model, &c.image, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn the_untrained_sanity_check_uses_the_same_layers() {
    let c = case("course_maps.safetensors");
    let out = explain(
        &c.model,
        &c.image,
        &["--explain", "saliency", "--untrained", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["untrained"], true);
    assert_eq!(v["shape"], serde_json::json!([128, 128]));
    let (_, _, trained) = c.maps.iter().find(|(n, _, _)| n == "2.saliency").unwrap();
    let ours: Vec<f32> = v["map"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
        })
        .collect();
    assert_ne!(&ours, trained);
}
