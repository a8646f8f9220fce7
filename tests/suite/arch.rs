//! The network as data: the architecture text and its plan against PyTorch's shapes,
//! names and parameter counts (`tests/fixtures/arch/plans.json`, from
//! `tests/pytorch/make_arch_plans.py`), and every tensor of the reference dumps of six
//! architectures in eval and train mode (`tests/fixtures/arch/*.safetensors`, from
//! `tests/pytorch/make_arch_reference.py`) through `verify` on the CPU backend.

use std::path::PathBuf;

use cnn_tutor::backend::reference::{verify, Measure};
use cnn_tutor::backend::CpuBackend;
use cnn_tutor::nn::arch::{Arch, Plan};
use cnn_tutor::nn::checkpoint::TensorFile;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arch")
}

fn plans() -> Value {
    let text = std::fs::read_to_string(fixtures().join("plans.json")).expect("plans.json");
    serde_json::from_str(&text).expect("plans.json is JSON")
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("a shape")
        .iter()
        .map(|d| d.as_u64().expect("a size") as usize)
        .collect()
}

#[test]
fn plans_match_pytorchs_shapes_names_and_parameter_counts() {
    let all = plans();
    let valid = all["valid"].as_array().expect("valid");
    assert!(valid.len() >= 10);
    for case in valid {
        let text = case["text"].as_str().unwrap();
        let arch = Arch::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            arch.to_string(),
            case["normalised"].as_str().unwrap(),
            "{text}"
        );
        let input = dims(&case["input"]);
        let classes = case["classes"].as_u64().unwrap() as usize;
        let plan = Plan::new(&arch, [input[0], input[1], input[2]], classes)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let layers = case["layers"].as_array().unwrap();
        assert_eq!(plan.layers.len(), layers.len(), "{text}");
        for (ours, theirs) in plan.layers.iter().zip(layers) {
            assert_eq!(ours.layer.to_string(), theirs["layer"].as_str().unwrap());
            assert_eq!(
                ours.output.dims(),
                dims(&theirs["output"]),
                "{text}: {}",
                ours.layer
            );
            assert_eq!(
                ours.act.as_deref(),
                theirs["act"].as_str(),
                "{text}: {}",
                ours.layer
            );
        }
        let sd = case["state_dict"].as_array().unwrap();
        assert_eq!(plan.tensors.len(), sd.len(), "{text}");
        for (t, theirs) in plan.tensors.iter().zip(sd) {
            assert_eq!(t.name, theirs["key"].as_str().unwrap(), "{text}");
            assert_eq!(t.shape, dims(&theirs["shape"]), "{text}: {}", t.name);
            assert_eq!(
                t.trainable,
                theirs["trainable"].as_bool().unwrap(),
                "{}",
                t.name
            );
        }
        assert_eq!(
            plan.param_count() as u64,
            case["params"].as_u64().unwrap(),
            "{text}"
        );
    }
}

#[test]
fn impossible_architectures_are_refused_naming_the_layer() {
    let all = plans();
    let invalid = all["invalid"].as_array().expect("invalid");
    assert!(invalid.len() >= 8);
    for case in invalid {
        let text = case["text"].as_str().unwrap();
        let input = dims(&case["input"]);
        let result =
            Arch::parse(text).and_then(|a| Plan::new(&a, [input[0], input[1], input[2]], 3));
        let err = match result {
            Ok(p) => panic!("`{text}` was accepted: {}", p.arch),
            Err(e) => e.to_string(),
        };
        assert!(!err.contains('\n'), "one line: {err}");
        if let Some(layer) = case["layer"].as_u64() {
            assert!(
                err.contains(&format!("layer {layer} "))
                    || err.contains(&format!("layer {layer}:")),
                "`{text}`: PyTorch's grammar blames layer {layer}; we said: {err}"
            );
        }
    }
}

/// Every dump of `tests/fixtures/arch`: each tensor within the golden tolerances, nothing
/// unknown, on one and two threads.
#[test]
fn every_architecture_dump_verifies_in_eval_and_train_mode() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    let mut modes = (0, 0);
    for path in &files {
        let meta = TensorFile::read(path).unwrap().metadata;
        for threads in [1, 2] {
            let mut be = CpuBackend::new(Some(threads)).unwrap();
            let v = verify(path, &mut be).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(v.unknown.is_empty(), "{}: {:?}", path.display(), v.unknown);
            assert_eq!(
                v.dump.plan.param_count().to_string(),
                meta["params"],
                "{}: PyTorch's parameter count",
                path.display()
            );
            assert_eq!(v.dump.train, meta["mode"] == "train");
            let grads = v
                .checks
                .iter()
                .filter(|c| c.name.starts_with("grad."))
                .count();
            assert_eq!(
                grads,
                v.dump.plan.tensors.iter().filter(|t| t.trainable).count()
            );
            for c in &v.checks {
                assert!(
                    c.pass(),
                    "{} ({threads} threads): {} error {} > {}",
                    path.display(),
                    c.name,
                    c.error,
                    c.tolerance
                );
                if c.measure == Measure::Relative {
                    assert!(c.error <= 1e-4);
                }
            }
        }
        if meta["mode"] == "train" {
            modes.1 += 1;
        } else {
            modes.0 += 1;
        }
    }
    assert!(modes.0 >= 6 && modes.1 >= 6, "{modes:?}");
}

/// A dump with a tensor this network does not have is reported, not silently passed.
#[test]
fn verify_names_the_tensors_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let src = TensorFile::read(&fixtures().join("mlp-eval.safetensors")).unwrap();
    let bytes = std::fs::read(fixtures().join("mlp-eval.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> =
        st.tensors().into_iter().collect();
    let extra = vec![0u8; 8];
    views.push((
        "act.relu7".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &extra).unwrap(),
    ));
    let meta: std::collections::HashMap<String, String> = src.metadata.clone();
    let out = dir.path().join("extra.safetensors");
    std::fs::write(&out, safetensors::serialize(views, &Some(meta)).unwrap()).unwrap();
    let mut be = CpuBackend::new(Some(1)).unwrap();
    let v = verify(&out, &mut be).unwrap();
    assert_eq!(v.unknown, ["act.relu7"]);
    assert!(v.checks.iter().all(|c| c.pass()));
}

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-tutor"));
    c.env("NO_COLOR", "1");
    // a run `train` keeps goes to a temporary state folder
    c.env("CNN_TUTOR_STATE_DIR", crate::common::scratch_state());
    c
}

/// `train --arch` on a few generated images: the `finished` line names the normalised
/// architecture and PyTorch's parameter count; the checkpoint keeps the description and
/// batch norm's buffers (its batch count as int64), and `evaluate` and `predict` read it.
#[test]
fn train_evaluate_and_predict_take_any_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 12, 3).unwrap();
    let model = tmp.path().join("m.safetensors");
    let text = "conv(6,5,stride=2) -> relu batchnorm maxpool(2) conv(8,3,pad=0) tanh avgpool(2) \
                flatten linear(16) leakyrelu dropout(0.2) linear";
    let o = bin()
        .args([
            "train",
            "--json",
            "--device",
            "cpu",
            "--threads",
            "2",
            "--epochs",
            "2",
        ])
        .args(["--batch-size", "8", "--arch", text, "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let arch = Arch::parse(text).unwrap();
    let plan = Plan::new(&arch, [3, 128, 128], 3).unwrap();
    assert_eq!(last["arch"], arch.to_string());
    assert_eq!(last["params"], plan.param_count());
    let (net, _) = cnn_tutor::nn::checkpoint::load(&model).unwrap();
    assert_eq!(net.plan.arch, arch);
    let file = TensorFile::read(&model).unwrap();
    // 36 images: 25 to train, in 4 batches of 8, over 2 epochs
    let nbt = file.get("bn1.num_batches_tracked").unwrap();
    assert_eq!(
        (nbt.shape.clone(), nbt.ints.clone()),
        (vec![], Some(vec![8]))
    );
    assert_ne!(file.get("bn1.running_var").unwrap().data, vec![1.0; 6]);
    let o = bin()
        .args(["evaluate", "--json", "--device", "cpu", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = data
        .join("circle")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let o = bin()
        .args(["predict", "--model"])
        .arg(&model)
        .arg(&img)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let name = img.file_name().unwrap().to_string_lossy().into_owned();
    assert!(String::from_utf8_lossy(&o.stdout).contains(&name));

    // the same text from a file (comments skipped), and SGD with momentum
    let file = tmp.path().join("net.txt");
    std::fs::write(&file, "# a small net\nflatten linear(8)\n  relu linear\n").unwrap();
    let o = bin()
        .args([
            "train",
            "--json",
            "--device",
            "cpu",
            "--epochs",
            "1",
            "--optimizer",
            "sgd",
        ])
        .args(["--lr", "0.01", "--momentum", "0.5", "--arch-file"])
        .arg(&file)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(tmp.path().join("mlp.safetensors"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["arch"], "flatten linear(8) relu linear");
    assert_eq!(last["params"], 3 * 128 * 128 * 8 + 8 + 8 * 3 + 3);
}

#[test]
fn an_impossible_architecture_is_one_line_and_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "conv(8,3) relu linear",
            "layer 3 linear: linear before flatten",
        ),
        (
            "conv(8,3) maxpool(11) maxpool(11) maxpool(11) flatten linear",
            "layer 4 maxpool(11): its input is 1x1, smaller than the 11x11 window",
        ),
        (
            "conv(999,3) flatten linear",
            "layer 1 `conv(999,3)`: OUT 999 is out of range (1 to 256)",
        ),
    ] {
        let o = bin()
            .args(["train", "--device", "cpu", "--arch", text, "--data"])
            .arg(tmp.path().join("none"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(want), "{text}: {err}");
        assert!(
            !tmp.path().join("none").exists(),
            "no data is made for a bad network"
        );
    }
}

/// `explore` looks inside any architecture: the overview lists its layers' outputs, and
/// `--layer NAME` explains a cell of each (a strided 5x5 convolution's products add up to
/// its value; batch norm, pools, activations and the hidden linear layer say how they
/// were computed); a name the network lacks lists the ones it has.
#[test]
fn explore_looks_inside_any_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("shapes");
    cnn_tutor::data::generate(&data, 6, 5).unwrap();
    let model = tmp.path().join("m.safetensors");
    let text = "conv(6,5,stride=2) batchnorm leakyrelu(0.2) maxpool(3,stride=2) conv(8,1) \
                sigmoid avgpool(2) flatten linear(12) tanh linear";
    let o = bin()
        .args([
            "train", "--device", "cpu", "--epochs", "1", "--arch", text, "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = data
        .join("square")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let explore = |args: &[&str]| {
        let o = bin()
            .args(["explore", "--model"])
            .arg(&model)
            .arg(&img)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let overview = explore(&[]);
    for line in [
        "conv1       6x64x64",
        "bn1         6x64x64",
        "leakyrelu1  6x64x64",
        "pool1       6x31x31",
        "conv2       8x31x31",
        "avgpool1    8x15x15",
        "fc1         12 ",
        "tanh1       12 ",
    ] {
        assert!(overview.contains(line), "{line}: {overview}");
    }
    assert!(overview.contains("5x5 convolution, stride 2"), "{overview}");
    let conv: Value =
        serde_json::from_str(&explore(&["--layer", "conv1", "--at", "0,40", "--json"])).unwrap();
    let terms = conv["terms"].as_array().unwrap();
    // row 0 reads rows -2..2: 3 of the 5 kernel rows are inside the image
    assert_eq!(terms.len(), 3 * 3 * 5);
    let sum: f64 = terms
        .iter()
        .map(|t| t["input"].as_f64().unwrap() * t["weight"].as_f64().unwrap())
        .sum::<f64>()
        + conv["bias"].as_f64().unwrap();
    assert!(
        (sum - conv["value"].as_f64().unwrap()).abs() < 1e-4,
        "{conv}"
    );
    let plain = explore(&["--layer", "conv1", "--at", "3,4", "--plain"]);
    assert!(
        plain.contains("a 5x5 window in each of 3 input channels"),
        "{plain}"
    );
    assert!(plain.contains("then bn1: ("), "{plain}");
    assert!(
        plain.contains("then leakyrelu1: leaky ReLU (slope 0.2)"),
        "{plain}"
    );
    let bn = explore(&["--layer", "bn1", "--channel", "2", "--at", "5,6"]);
    assert!(
        bn.contains("running mean") && bn.contains("running variance"),
        "{bn}"
    );
    let pool = explore(&["--layer", "pool1", "--at", "1,2"]);
    assert!(
        pool.contains("the largest of its 3x3 window at rows 3 to 5, columns 5 to 7 (from 1)"),
        "{pool}"
    );
    let avg = explore(&["--layer", "avgpool1", "--at", "0,0"]);
    assert!(avg.contains("the mean of its 2x2 window"), "{avg}");
    let fc1 = explore(&["--layer", "fc1", "--channel", "3"]);
    assert!(fc1.contains("1800 products input × weight"), "{fc1}");
    let fc = explore(&["--layer", "fc"]);
    assert!(fc.contains("the sum over the 12 tanh1 channels"), "{fc}");
    let o = bin()
        .args(["explore", "--layer", "conv3", "--model"])
        .arg(&model)
        .arg(&img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no layer output `conv3`") && err.contains("tanh1, fc"),
        "{err}"
    );
}

/// A checkpoint trained here (batch norm, hidden linear, leaky ReLU, average pool) loads
/// into a PyTorch module built from its own `arch` text with `strict=True`, and PyTorch's
/// log-probabilities and classes are ours (`tests/pytorch/make_interop_reference.py`
/// wrote them into `tests/fixtures/interop/pytorch.json`).
#[test]
fn a_checkpoint_of_any_architecture_loads_into_pytorch() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop");
    let theirs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pytorch.json")).unwrap()).unwrap();
    let (net, meta) = cnn_tutor::nn::checkpoint::load(&dir.join("model.safetensors")).unwrap();
    assert_eq!(net.plan.arch.to_string(), theirs["arch"]);
    assert_eq!(net.num_values() as u64, theirs["params"].as_u64().unwrap());
    assert!(net.plan.arch.has_batchnorm());
    let lut = cnn_tutor::data::normalize_table();
    let mut be = CpuBackend::new(Some(2)).unwrap();
    let images = theirs["images"].as_array().unwrap();
    assert_eq!(images.len(), 9);
    for img in images {
        let file = dir.join(img["file"].as_str().unwrap());
        let x: Vec<f32> = cnn_tutor::data::load_image(&file)
            .unwrap()
            .iter()
            .map(|&p| lut[usize::from(p)])
            .collect();
        use cnn_tutor::backend::Backend;
        let lp = be.predict(&net, &x).unwrap();
        let ours: Vec<f32> = lp.iter().copied().collect();
        let want: Vec<f32> = img["log_probs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        for (a, b) in ours.iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-4,
                "{}: {ours:?} vs {want:?}",
                file.display()
            );
        }
        let pred = cnn_tutor::backend::cpu::argmax(&ours);
        assert_eq!(meta.classes[pred], img["predicted"].as_str().unwrap());
    }
}
