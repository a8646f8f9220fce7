//! The real CUDA code path run end to end without a GPU: the `cnn-tutor` binary, cudarc
//! and our adapter (`CudarcGpu`) against a fake NVIDIA driver and NVRTC
//! (`tests/suite/common/fake_cuda.rs`) that run the kernels on the CPU. This checks what the
//! emulator tests cannot: how the adapter calls cudarc (allocations, copies, offsets,
//! launch arguments, NVRTC options, module loading), what crosses the bus during training,
//! and every device error the CLI turns into one line and exit code 2. Skipped, with the
//! reason printed, when no C++ compiler is found.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fake_cuda::{count, stats, FakeCuda};
use common::parity::golden_path;

const BIN: &str = env!("CARGO_BIN_EXE_cnn-tutor");

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The error of a run that must fail as a device error: exit code 2, one line (after the
/// data's one `memory:` line, when training got as far as loading the data).
fn device_error(o: &Output) -> String {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(2), "stdout: {out}\nstderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let mut lines: Vec<&str> = err.trim_end().lines().collect();
    if lines.len() == 2 && lines[0].starts_with("memory: ") {
        lines.remove(0);
    }
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

/// Counters of the fake driver for one run.
fn counters(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.stats"))
}

/// `per_class` images of each shape, drawn into `dir/shapes`.
fn shapes(dir: &Path, per_class: usize) -> PathBuf {
    let data = dir.join("shapes");
    let o = Command::new(BIN)
        .args([
            "data",
            "generate",
            "--per-class",
            &per_class.to_string(),
            "--out",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    data
}

/// `cnn-tutor train --json` (one CPU thread) through the fake driver.
fn train_cmd(
    fake: &FakeCuda,
    nvrtc: bool,
    device: &str,
    data: &Path,
    model: &Path,
    epochs: u32,
    batch: u32,
) -> Command {
    let mut cmd = fake.command(BIN, nvrtc);
    cmd.env("CNN_TUTOR_STATE_DIR", crate::common::scratch_state());
    cmd.args(["train", "--json", "--threads", "1", "--device", device])
        .args(["--epochs", &epochs.to_string()])
        .args(["--batch-size", &batch.to_string()])
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(model);
    cmd
}

#[test]
fn verify_device_cuda_passes_the_golden_file_through_cudarc() {
    let (Some(fake), Some(golden)) = (FakeCuda::or_skip(), golden_path()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (cc, target) in [("9.0", "sm_90"), ("8.6", "sm_86")] {
        let file = counters(dir.path(), cc);
        let o = fake
            .command(BIN, true)
            .args(["verify", "--device", "cuda", "--reference"])
            .arg(&golden)
            .env("FAKE_CUDA_STATS", &file)
            .env("FAKE_CUDA_CC", cc)
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "stdout: {out}\nstderr: {err}");
        assert!(
            out.contains(&format!(
                "on cuda (Fake GPU (cnn-tutor test driver), {target})"
            )),
            "{out}"
        );
        assert!(
            out.contains("All 47 tensors match within tolerance."),
            "{out}"
        );
        assert!(!out.contains("FAIL"), "{out}");
        let s = stats(&file);
        // compiled once, for this device's architecture, without fused multiply-adds
        assert_eq!(s["target"], target);
        assert_eq!(s["fmad"], "false");
        assert_eq!(count(&s, "modules"), 1);
        assert_eq!(count(&s, "contexts"), 1);
        assert!(count(&s, "launches") >= 27, "{s:?}");
        // every buffer zeroed when made, and given back
        assert_eq!(count(&s, "memsets"), count(&s, "allocs"));
        assert_eq!(count(&s, "live_allocs"), 0, "{s:?}");
    }
}

/// `verify --device cuda` through cudarc passes every architecture dump of
/// `tests/fixtures/arch` (six networks, eval and train mode), and gives its buffers back.
#[test]
fn verify_device_cuda_passes_every_architecture_dump() {
    let Some(fake) = FakeCuda::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arch");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12, "{files:?}");
    for (i, path) in files.iter().enumerate() {
        let file = counters(dir.path(), &i.to_string());
        let o = fake
            .command(BIN, true)
            .args(["verify", "--device", "cuda", "--reference"])
            .arg(path)
            .env("FAKE_CUDA_STATS", &file)
            .output()
            .unwrap();
        let (out, err) = text(&o);
        let name = path.display();
        assert!(o.status.success(), "{name}: stdout: {out}\nstderr: {err}");
        assert!(out.contains("on cuda (Fake GPU"), "{name}: {out}");
        assert!(
            out.contains("tensors match within tolerance."),
            "{name}: {out}"
        );
        assert!(!out.contains("FAIL"), "{name}: {out}");
        let s = stats(&file);
        assert!(count(&s, "launches") >= 10, "{name}: {s:?}");
        assert_eq!(count(&s, "live_allocs"), 0, "{name}: {s:?}");
    }
}

/// The epoch and finished lines (the started line names the device, which differs).
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v: &serde_json::Value| v["event"] != "started")
        .collect()
}

/// Two epochs on 60 images, batches of 10: the same numbers as the CPU backend, the same
/// checkpoint, and per step only the batch goes to the device and two floats come back.
#[test]
fn training_through_cudarc_matches_the_cpu_and_keeps_the_data_on_the_device() {
    let Some(fake) = FakeCuda::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = shapes(dir.path(), 20);
    let train = |device: &str| {
        let model = dir.path().join(format!("{device}.safetensors"));
        let file = counters(dir.path(), device);
        let o = train_cmd(fake, true, device, &data, &model, 2, 10)
            .env("FAKE_CUDA_STATS", &file)
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{device}: stdout: {out}\nstderr: {err}");
        (json_lines(&out), model, file)
    };
    let (gpu, gpu_model, gpu_file) = train("cuda");
    let (cpu, cpu_model, cpu_file) = train("cpu");
    assert_eq!(gpu.len(), 3, "{gpu:?}");
    assert_eq!(gpu.len(), cpu.len());
    for (g, c) in gpu.iter().zip(&cpu) {
        for key in ["train_loss", "val_loss"] {
            let (Some(g), Some(c)) = (g[key].as_f64(), c[key].as_f64()) else {
                assert_eq!(g.get(key), c.get(key), "{key}");
                continue;
            };
            assert!((g - c).abs() <= 1e-5 * c.abs(), "{key}: gpu {g}, cpu {c}");
        }
        assert_eq!(g["val_accuracy"], c["val_accuracy"]);
    }
    assert_eq!(gpu[2]["confusion_matrix"], cpu[2]["confusion_matrix"]);
    let load = |p: &Path| cnn_tutor::nn::checkpoint::load(p).unwrap();
    let ((g, gmeta), (c, cmeta)) = (load(&gpu_model), load(&cpu_model));
    assert_eq!(gmeta.classes, cmeta.classes);
    for (gp, cp) in g.params.iter().zip(&c.params) {
        assert_eq!(gp.shape, cp.shape, "{}", gp.name);
        let worst = gp
            .data
            .iter()
            .zip(&cp.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{}: differs by {worst}", gp.name);
    }

    // the CPU run never touched the driver
    assert!(!cpu_file.exists());

    // What crossed the bus. Per epoch: every image once (training, then validation);
    // back came two floats per step (loss sum, number right), the log-probabilities of
    // the validation images, and once the weights and Adam's moments (for validation
    // and the checkpoint). No activations, no per-layer round trips.
    let s = stats(&gpu_file);
    let (epochs, batch, k) = (2u64, 10u64, 3u64);
    let val: u64 = gpu[2]["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    let train = 60 - val;
    let steps = train.div_ceil(batch);
    let image = 3 * 128 * 128 * 4;
    let weights = 4 * cnn_tutor::nn::net::Net::course(0, 3).num_values() as u64;
    assert_eq!(
        count(&s, "dtoh_bytes"),
        epochs * (steps * 8 + val * k * 4 + 3 * weights),
        "{s:?}"
    );
    let up = count(&s, "htod_bytes");
    let images = epochs * (train + val) * image;
    assert!(up >= images, "{s:?}");
    assert!(up - images <= epochs * (train * 4 + 6 * weights), "{s:?}");
    assert_eq!(count(&s, "live_allocs"), 0, "{s:?}");
}

/// Any architecture trains through cudarc as on the CPU: batch norm (its running
/// statistics synced for validation and the checkpoint), a strided conv, dropout, a hidden
/// linear layer; the same losses, accuracy and checkpoint.
#[test]
fn training_another_architecture_through_cudarc_matches_the_cpu() {
    let Some(fake) = FakeCuda::or_skip() else {
        return;
    };
    let arch = "conv(4,5,stride=4,pad=2) relu batchnorm maxpool(2) conv(6,3) tanh \
                dropout2d(0.1) avgpool(2) flatten dropout(0.3) linear(10) leakyrelu linear";
    let dir = tempfile::tempdir().unwrap();
    let data = shapes(dir.path(), 8);
    let train = |device: &str| {
        let model = dir.path().join(format!("{device}.safetensors"));
        let o = train_cmd(fake, true, device, &data, &model, 2, 6)
            .args(["--arch", arch])
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{device}: stdout: {out}\nstderr: {err}");
        (json_lines(&out), model)
    };
    let (gpu, gpu_model) = train("cuda");
    let (cpu, cpu_model) = train("cpu");
    assert_eq!(gpu.len(), 3, "{gpu:?}");
    for (g, c) in gpu.iter().zip(&cpu) {
        for key in ["train_loss", "val_loss"] {
            let (Some(g), Some(c)) = (g[key].as_f64(), c[key].as_f64()) else {
                assert_eq!(g.get(key), c.get(key), "{key}");
                continue;
            };
            assert!((g - c).abs() <= 1e-5 * c.abs(), "{key}: gpu {g}, cpu {c}");
        }
        assert_eq!(g["val_accuracy"], c["val_accuracy"]);
    }
    let load = |p: &Path| cnn_tutor::nn::checkpoint::load(p).unwrap().0;
    let (g, c) = (load(&gpu_model), load(&cpu_model));
    assert_eq!(g.params.len(), c.params.len());
    assert!(g.params.iter().any(|p| p.name == "bn1.running_var"));
    for (gp, cp) in g.params.iter().zip(&c.params) {
        assert_eq!((&gp.name, &gp.shape), (&cp.name, &cp.shape));
        let worst = gp
            .data
            .iter()
            .zip(&cp.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{}: differs by {worst}", gp.name);
    }
}

/// Each way the device can fail: one line on stderr, exit code 2, no panic, and no
/// checkpoint left behind.
#[test]
fn device_failures_are_one_line_and_exit_code_2() {
    let Some(fake) = FakeCuda::or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = shapes(dir.path(), 4);
    let model = dir.path().join("model.safetensors");
    let train = |nvrtc: bool, env: &[(&str, &str)]| {
        let mut cmd = train_cmd(fake, nvrtc, "cuda", &data, &model, 1, 4);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let err = device_error(&cmd.output().unwrap());
        assert!(!model.exists(), "a checkpoint was written after: {err}");
        err
    };
    let err = train(true, &[("FAKE_CUDA_DEVICES", "0")]);
    assert_eq!(
        err,
        "error: no CUDA GPU: the NVIDIA driver reports no device; use --device cpu"
    );
    let err = train(false, &[]);
    assert!(
        err.starts_with("error: CUDA GPU found (Fake GPU (cnn-tutor test driver))")
            && err.contains("libnvrtc.so.13"),
        "{err}"
    );
    let err = train(true, &[("FAKE_CUDA_CC", "6.1")]);
    assert!(
        err.contains("(Fake GPU (cnn-tutor test driver), sm_61)")
            && err.contains("compute capability 7.5 or newer; use --device cpu"),
        "{err}"
    );
    let err = train(
        true,
        &[("FAKE_NVRTC_ERROR", "identifier \"x\" is undefined")],
    );
    assert_eq!(
        err,
        "error: the GPU kernels do not compile with NVRTC: \
         cnn_tutor_kernels.cu(1): error: identifier \"x\" is undefined"
    );
    let err = train(true, &[("FAKE_CUDA_MEM", "1000000")]);
    assert!(
        err.starts_with("error: the GPU (Fake GPU (cnn-tutor test driver), sm_90) has no room")
            && err.ends_with("MiB more; try a smaller --batch-size"),
        "{err}"
    );
    // a fault in the middle of the first step
    let err = train(true, &[("FAKE_CUDA_FAIL_LAUNCH", "10")]);
    assert!(
        err.starts_with("error: CUDA launch of ")
            && err.ends_with(
                "failed: an illegal memory access was encountered (CUDA_ERROR_ILLEGAL_ADDRESS)"
            ),
        "{err}"
    );

    // `auto` without a device trains on the CPU and says why
    let o = train_cmd(fake, true, "auto", &data, &model, 1, 4)
        .env("FAKE_CUDA_DEVICES", "0")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        err.starts_with(
            "note: no CUDA GPU: the NVIDIA driver reports no device; running on the CPU"
        ),
        "{err}"
    );
    assert!(model.exists());
}
