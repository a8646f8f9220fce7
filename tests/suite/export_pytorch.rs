//! `cnn-tutor export --pytorch` (issue 24): the exported file for a non-course network,
//! its agreement with `predict` (run here where PyTorch is installed; CI has none, so
//! there it is the committed result of tests/pytorch/check_export.py that is checked),
//! and bad input.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_cnn-tutor");

/// tests/pytorch/check_export.py's network.
const ARCH: &str = "conv(6,5,stride=2) batchnorm leakyrelu maxpool(2) conv(8,3) relu avgpool(2) \
                    dropout2d(0.1) flatten linear(16) tanh dropout(0.2) linear";

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/export")
            .join(name),
    )
    .unwrap()
}

/// The file without its first line (which names the version).
fn body(src: &str) -> &str {
    src.split_once('\n').map_or("", |(_, rest)| rest)
}

#[test]
fn the_committed_pytorch_run_agrees_with_predict() {
    let result = fixture("result.txt");
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines.len(), 13, "{result}");
    for l in &lines[..12] {
        let (_, rest) = l.split_once(": cnn-tutor ").unwrap();
        let (ours, rest) = rest.split_once(", pytorch ").unwrap();
        let (theirs, rest) = rest.split_once(", max |log-prob difference| ").unwrap();
        assert_eq!(ours, theirs, "{l}");
        let diff: f64 = rest.trim().parse().unwrap();
        assert!(diff < 1e-4, "{l}");
    }
    assert!(lines[12].starts_with("agree 12/12;"), "{}", lines[12]);
    assert!(lines[12].ends_with(ARCH), "{}", lines[12]);
}

#[test]
fn export_writes_a_net_that_loads_the_checkpoint_and_predicts_as_we_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(run(
        dir,
        &[
            "data",
            "generate",
            "--out",
            "d",
            "--per-class",
            "6",
            "--seed",
            "11"
        ]
    )
    .status
    .success());
    let o = run(
        dir,
        &[
            "train",
            "--data",
            "d",
            "--epochs",
            "2",
            "--batch-size",
            "6",
            "--threads",
            "2",
            "--device",
            "cpu",
            "--arch",
            ARCH,
            "--out",
            "m.safetensors",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(
        dir,
        &[
            "export",
            "--pytorch",
            "out/net.py",
            "--model",
            "m.safetensors",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let src = std::fs::read_to_string(dir.join("out/net.py")).unwrap();
    // what check_export.py committed is what export writes today
    assert_eq!(body(&src), body(&fixture("net.py")));
    for want in [
        "class Net(nn.Module):",
        "self.conv1 = nn.Conv2d(in_channels=3, out_channels=6, kernel_size=5, stride=2, padding=2)",
        "self.bn1 = nn.BatchNorm2d(6)",
        "self.fc1 = nn.Linear(in_features=",
        "self.fc2 = nn.Linear(in_features=16, out_features=num_classes)",
        "model.load_state_dict(load_file(path), strict=True)",
        r#"CLASSES = ["circle","square","triangle"]"#,
    ] {
        assert!(src.contains(want), "{want}\n{src}");
    }
    let torch = Command::new("python3")
        .args(["-c", "import torch, safetensors, PIL"])
        .output();
    if !torch.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: running the exported file needs python3 with torch, safetensors and Pillow (the committed tests/fixtures/export/result.txt is checked instead)");
        return;
    }
    let images: Vec<String> = ["circle", "square", "triangle"]
        .iter()
        .flat_map(|c| (1..=3).map(move |i| format!("d/{c}/{c}{i:04}.png")))
        .collect();
    let mut py = vec!["out/net.py".to_string(), "m.safetensors".into()];
    py.extend(images.iter().cloned());
    let o = Command::new("python3")
        .current_dir(dir)
        .args(&py)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs = String::from_utf8(o.stdout).unwrap();
    let mut args = vec!["predict", "--model", "m.safetensors"];
    args.extend(images.iter().map(String::as_str));
    let o = run(dir, &args);
    assert!(o.status.success());
    let ours = String::from_utf8(o.stdout).unwrap();
    let ours: Vec<&str> = ours
        .lines()
        .map(|l| l.split(" (").next().unwrap())
        .collect();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(theirs.len(), images.len());
    assert_eq!(ours, theirs);
}

#[test]
fn export_refuses_bad_input_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("file"), "not a folder").unwrap();
    std::fs::write(dir.join("bad.safetensors"), "not a model").unwrap();
    for (args, want) in [
        (
            &["export", "--pytorch", "x.py", "--model", "none.safetensors"][..],
            "none.safetensors",
        ),
        (
            &["export", "--pytorch", "x.py", "--model", "bad.safetensors"][..],
            "bad.safetensors",
        ),
        (
            &["export", "--model", "bad.safetensors"][..],
            "--pytorch FILE.py",
        ),
    ] {
        let o = run(dir, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    assert!(!dir.join("x.py").exists());
    // an output whose folder is a file: a model is needed first
    assert!(
        run(dir, &["data", "generate", "--out", "d", "--per-class", "2"])
            .status
            .success()
    );
    let o = run(
        dir,
        &[
            "train",
            "--data",
            "d",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--out",
            "m.safetensors",
        ],
    );
    assert!(o.status.success());
    let o = run(
        dir,
        &[
            "export",
            "--pytorch",
            "file/net.py",
            "--model",
            "m.safetensors",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("file"), "{err}");
}
