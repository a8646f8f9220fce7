//! Bad input to the engine's commands: each gives one `error:` line on stderr, a non-zero
//! exit, no panic, and no output file. Also the commands' happy paths on a tiny model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cnn_tutor::nn::checkpoint::{self, CheckpointMeta};
use cnn_tutor::nn::net::Net;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
    c.env("NO_COLOR", "1");
    // a run `train` keeps goes to a temporary state folder
    c.env("CNN_TUTOR_STATE_DIR", crate::common::scratch_state());
    c
}

fn run(args: &[&str], cwd: &Path) -> Output {
    bin().args(args).current_dir(cwd).output().unwrap()
}

/// Exit code `code`, exactly one stderr line starting with `error:` containing `needle`.
fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        !stderr
            .lines()
            .any(|l| !l.starts_with("error:") && !l.starts_with("note:")),
        "only the error (and notes): {stderr}"
    );
    assert!(errors[0].contains(needle), "wanted {needle:?} in {stderr}");
}

fn tiny_data(dir: &Path) -> PathBuf {
    let d = dir.join("shapes");
    cnn_tutor::data::generate(&d, 3, 5).unwrap();
    d
}

fn saved_net(dir: &Path) -> PathBuf {
    let p = dir.join("net.safetensors");
    let meta = CheckpointMeta {
        classes: vec!["circle".into(), "square".into(), "triangle".into()],
        settings: Default::default(),
    };
    checkpoint::save(&p, &Net::course(3, 3), &meta).unwrap();
    p
}

#[test]
fn epochs_zero_is_a_usage_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path());
    let out = tmp.path().join("m.safetensors");
    let o = run(
        &[
            "train",
            "--epochs",
            "0",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 2, "--epochs");
    assert!(!out.exists());
}

#[test]
fn missing_data_folder_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m.safetensors");
    let o = run(
        &[
            "train",
            "--device",
            "cpu",
            "--data",
            "no/such/folder",
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 1, "no/such/folder");
    assert!(!out.exists());
    assert!(!tmp.path().join("no").exists(), "no folder is made");
}

#[test]
fn empty_class_folder_and_broken_image_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path());
    std::fs::create_dir(data.join("hexagon")).unwrap();
    let out = tmp.path().join("m.safetensors");
    let args = [
        "train",
        "--device",
        "cpu",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    assert_one_line_error(&run(&args, tmp.path()), 1, "hexagon");
    std::fs::remove_dir(data.join("hexagon")).unwrap();
    std::fs::write(data.join("circle/broken.png"), b"not a png at all").unwrap();
    assert_one_line_error(&run(&args, tmp.path()), 1, "broken.png");
    assert!(!out.exists());
}

#[test]
fn cuda_without_a_gpu_backend_is_a_device_error() {
    if let Ok(b) = cnn_tutor::backend::cuda_backend() {
        use cnn_tutor::backend::Backend;
        eprintln!("skipped: this machine has a GPU ({})", b.name());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path());
    let out = tmp.path().join("m.safetensors");
    let o = run(
        &[
            "train",
            "--device",
            "cuda",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 2, "CUDA");
    assert!(!out.exists());
    let model = saved_net(tmp.path());
    let o = run(
        &[
            "evaluate",
            "--device",
            "cuda",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 2, "CUDA");
    let o = run(
        &[
            "verify",
            "--device",
            "cuda",
            "--reference",
            model.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 2, "CUDA");
}

#[test]
fn missing_truncated_and_wrong_shaped_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path());
    let d = data.to_str().unwrap();
    let o = run(
        &["evaluate", "--model", "nope.safetensors", "--data", d],
        tmp.path(),
    );
    assert_one_line_error(&o, 1, "nope.safetensors");

    let good = saved_net(tmp.path());
    let bytes = std::fs::read(&good).unwrap();
    let cut = tmp.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = run(
        &["evaluate", "--model", cut.to_str().unwrap(), "--data", d],
        tmp.path(),
    );
    assert_one_line_error(&o, 1, "cut.safetensors");

    // conv1.weight as 5x5 kernels: the message names the tensor and both shapes
    let net = Net::course(1, 3);
    let raw: Vec<Vec<u8>> = net
        .params
        .iter()
        .map(|p| {
            let n = if p.name == "conv1.weight" {
                12 * 3 * 25
            } else {
                p.data.len()
            };
            vec![0u8; n * 4]
        })
        .collect();
    let views: Vec<(&str, TensorView)> = net
        .params
        .iter()
        .zip(&raw)
        .map(|(p, b)| {
            let shape = if p.name == "conv1.weight" {
                vec![12, 3, 5, 5]
            } else {
                p.shape.clone()
            };
            (
                p.name.as_str(),
                TensorView::new(Dtype::F32, shape, b).unwrap(),
            )
        })
        .collect();
    let wrong = tmp.path().join("wrong.safetensors");
    std::fs::write(&wrong, safetensors::serialize(views, &None).unwrap()).unwrap();
    let o = run(
        &["predict", "--model", wrong.to_str().unwrap(), "--random"],
        tmp.path(),
    );
    assert_one_line_error(&o, 1, "conv1.weight");
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(
        msg.contains("[12, 3, 5, 5]") && msg.contains("[12, 3, 3, 3]"),
        "{msg}"
    );
}

#[test]
fn reference_missing_a_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let x = vec![0u8; 4 * 3 * 128 * 128 * 4];
    let t = vec![0u8; 4 * 8];
    let views = vec![
        (
            "input",
            TensorView::new(Dtype::F32, vec![4, 3, 128, 128], &x).unwrap(),
        ),
        ("target", TensorView::new(Dtype::I64, vec![4], &t).unwrap()),
    ];
    let p = tmp.path().join("ref.safetensors");
    std::fs::write(&p, safetensors::serialize(views, &None).unwrap()).unwrap();
    let o = run(&["verify", "--reference", p.to_str().unwrap()], tmp.path());
    assert_one_line_error(&o, 1, "has no tensor `loss`");
    let o = run(&["verify", "--reference", "missing.st"], tmp.path());
    assert_one_line_error(&o, 1, "missing.st");
}

#[test]
fn predict_names_a_file_that_is_not_an_image() {
    let tmp = tempfile::tempdir().unwrap();
    let model = saved_net(tmp.path());
    let txt = tmp.path().join("notes.png");
    std::fs::write(&txt, "hello").unwrap();
    let o = run(
        &[
            "predict",
            "--model",
            model.to_str().unwrap(),
            txt.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 1, "notes.png");
}

#[test]
fn train_evaluate_predict_happy_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path());
    let out = tmp.path().join("models/m.safetensors");
    let o = run(
        &[
            "train",
            "--device",
            "cpu",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["event"], "started");
    assert_eq!(lines[0]["settings"]["optimizer"], "adam");
    let lines = &lines[1..];
    for (i, l) in lines[..2].iter().enumerate() {
        assert_eq!(l["epoch"], i + 1);
        for k in [
            "train_loss",
            "val_loss",
            "val_accuracy",
            "train_images_per_second",
            "seconds",
        ] {
            assert!(l[k].as_f64().unwrap().is_finite(), "{k}");
        }
    }
    assert_eq!(lines[2]["event"], "finished");
    assert!(out.exists());

    let o = run(
        &[
            "evaluate",
            "--model",
            out.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--split",
            "all",
            "--json",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["split"], "all");
    assert_eq!(
        v["classes"],
        serde_json::json!(["circle", "square", "triangle"])
    );
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 9);
    let correct = preds
        .iter()
        .filter(|p| p["label"] == p["predicted"])
        .count();
    assert!((v["accuracy"].as_f64().unwrap() - correct as f64 / 9.0).abs() < 1e-12);
    let cm = v["confusion_matrix"].as_array().unwrap();
    let total: u64 = cm
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(total, 9);
    let probs: f64 = preds[0]["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((probs - 1.0).abs() < 1e-5);

    let o = run(
        &[
            "predict",
            "--model",
            out.to_str().unwrap(),
            "--random",
            "--seed",
            "4",
        ],
        tmp.path(),
    );
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("Drew a random"), "{text}");
    assert!(text.lines().count() >= 17, "{text}");
}

/// issue 23: on the folder it trained on, `evaluate` counts the model's validation split
/// (the images it never trained on) and says so; `--split train|all` count the others.
#[test]
fn evaluate_on_the_training_folder_counts_the_validation_split() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data(tmp.path());
    let out = tmp.path().join("m.safetensors");
    let d = data.to_str().unwrap();
    let m = out.to_str().unwrap();
    let o = run(
        &[
            "train",
            "--device",
            "cpu",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--data",
            d,
            "--out",
            m,
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // 9 images: int(0.7 * 9) = 6 trained on, 3 validated on
    let o = run(&["evaluate", "--model", m, "--data", d], tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.contains("the validation split, 3 of the 9 images")
            && first.contains("never trained on"),
        "{text}"
    );
    assert!(text.contains("/3)"), "{text}");
    for (split, n) in [("validation", 3), ("train", 6), ("all", 9)] {
        let o = run(
            &[
                "evaluate", "--model", m, "--data", d, "--split", split, "--json",
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["split"], split);
        assert_eq!(v["total"], n, "{split}");
        assert_eq!(v["predictions"].as_array().unwrap().len(), n);
    }
    // another folder: every image, and the reason; --split validation is refused
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other = tiny_data(&other);
    let o2 = other.to_str().unwrap();
    let o = run(&["evaluate", "--model", m, "--data", o2], tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("Counted: all 9 images"), "{text}");
    assert!(text.contains("not the model's own split"), "{text}");
    let o = run(
        &[
            "evaluate",
            "--model",
            m,
            "--data",
            o2,
            "--split",
            "validation",
        ],
        tmp.path(),
    );
    assert_one_line_error(&o, 2, "--split all");
}

/// issue 23: `predict` with nothing to classify names --random; one unreadable file among
/// several is reported while the others are still classified (exit 1).
#[test]
fn predict_names_random_and_classifies_the_readable_files() {
    let tmp = tempfile::tempdir().unwrap();
    let model = saved_net(tmp.path());
    let m = model.to_str().unwrap();
    let o = run(&["predict", "--model", m], tmp.path());
    assert_one_line_error(&o, 2, "--random");
    let data = tiny_data(tmp.path());
    let a = data.join("circle/circle0001.png");
    let b = data.join("square/square0001.png");
    let bad = tmp.path().join("bad.png");
    std::fs::write(&bad, "not a png").unwrap();
    let o = run(
        &[
            "predict",
            "--model",
            m,
            a.to_str().unwrap(),
            bad.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains("circle0001.png: ") && out.contains("square0001.png: "),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.png") && err.contains("1 of the files"),
        "{err}"
    );
}
