//! The CUDA backend's kernels and host orchestration, run on the CPU through the
//! emulator (`tests/common/emu.rs`: the same `kernels/*.cu` compiled as C++): the golden
//! PyTorch checks, and parity with the CPU backend for gradients, Adam steps with dropout
//! on, predictions and a short training run. Skipped, with the reason printed, when no
//! C++ compiler is found.

mod common;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use cnn_tutor::backend::cuda::{Arg, CudaBackend, Gpu};
use cnn_tutor::backend::{Backend, CpuBackend, DeviceChoice};
use cnn_tutor::nn::adam::Adam;
use cnn_tutor::nn::net::{ShapesNet, DROP2D_P, DROP_P, FC_IN, IMAGE_SIDE, IN_CHANNELS};
use cnn_tutor::nn::reference::{compare, verify, Measure};
use cnn_tutor::train::{self, Outcome, TrainConfig};
use common::emu::EmuGpu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const IN_LEN: usize = IN_CHANNELS * IMAGE_SIDE * IMAGE_SIDE;

fn emu() -> Option<EmuGpu> {
    match EmuGpu::new() {
        Ok(Some(g)) => Some(g),
        Ok(None) => {
            eprintln!("skipped: no C++ compiler (c++, g++, clang++ or $CXX) for the GPU emulator");
            None
        }
        Err(e) => panic!("GPU emulator: {e}"),
    }
}

fn gpu() -> Option<CudaBackend<EmuGpu>> {
    emu().map(CudaBackend::new)
}

/// `n` random images roughly like normalised pixels, and targets below `classes`.
fn batch(n: usize, classes: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..n * IN_LEN).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let t = (0..n).map(|_| rng.gen_range(0..classes)).collect();
    (x, t)
}

fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let e = compare(ours, theirs, Measure::Relative);
    assert!(e <= tol, "{what}: relative error {e:e} > {tol:e}");
}

#[test]
fn every_golden_tensor_is_within_tolerance_on_the_emulated_gpu() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/golden/shapes_net_seed42_batch4.safetensors");
    if !path.exists() {
        eprintln!("skipped: ../shared/golden is not beside the checkout");
        return;
    }
    let Some(mut be) = gpu() else { return };
    let checks = verify(&path, &mut be).unwrap();
    assert_eq!(checks.len(), 37);
    for c in &checks {
        println!("{:<28} {:.3e}", c.name, c.error);
        assert!(c.pass(), "{}: error {} > {}", c.name, c.error, c.tolerance);
        if c.measure == Measure::Relative {
            assert!(c.error <= 1e-4, "{}: {}", c.name, c.error);
        }
    }
    assert!(be.name().starts_with("cuda ("), "{}", be.name());
}

/// The device draws the same dropout masks as the CPU backend's `fill_mask` from a
/// ChaCha8 stream: any word position (inside a block, across blocks), any stream.
#[test]
fn device_dropout_masks_are_the_cpu_generator_stream() {
    let Some(mut g) = emu() else { return };
    for (seed, stream, start, len, p) in [
        (42u64, 0u64, 0u128, 100usize, DROP2D_P),
        (7, 0, 5, 37, DROP_P),
        (9, 3, 1_000_003, 300, 0.3),
        (1, u64::MAX - 1, (1u128 << 36) + 11, 40, 0.5),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        rng.set_word_pos(start);
        let keep = 1.0 / (1.0 - p);
        let want: Vec<f32> = (0..len)
            .map(|_| if rng.gen::<f32>() < p { 0.0 } else { keep })
            .collect();
        let buf = g.alloc(len).unwrap();
        let key = rng.get_seed();
        let mut args = vec![Arg::Buf(buf, 0), Arg::I32(len as i32)];
        for c in key.chunks_exact(4) {
            args.push(Arg::I32(i32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        }
        args.extend([
            Arg::I32(stream as u32 as i32),
            Arg::I32((stream >> 32) as u32 as i32),
            Arg::I32(start as u32 as i32),
            Arg::I32((start >> 32) as u32 as i32),
            Arg::F32(p),
            Arg::F32(keep),
        ]);
        g.launch("chacha8_mask", (len as u32).div_ceil(64), 64, &args)
            .unwrap();
        let mut got = vec![0.0; len];
        g.download(buf, 0, &mut got).unwrap();
        assert_eq!(got, want, "seed {seed} stream {stream} start {start}");
        let dropped = got.iter().filter(|&&v| v == 0.0).count();
        assert!(dropped > 0 && dropped < len, "{dropped} of {len} dropped");
    }
}

/// Gradients of one batch, with and without dropout, equal the CPU backend's; so do
/// the loss, the count right and where the dropout generator ends.
#[test]
fn forward_backward_matches_the_cpu_backend() {
    let Some(mut be) = gpu() else { return };
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    for (n, classes, seed, dropout) in [(2, 3, 1u64, true), (3, 5, 2, false), (1, 2, 3, true)] {
        let net = ShapesNet::new(seed, classes);
        let (x, t) = batch(n, classes, seed + 10);
        let mut r1 = ChaCha8Rng::seed_from_u64(seed + 20);
        let mut r2 = r1.clone();
        let a = cpu
            .forward_backward(&net, &x, &t, dropout.then_some(&mut r1))
            .unwrap();
        let b = be
            .forward_backward(&net, &x, &t, dropout.then_some(&mut r2))
            .unwrap();
        let what = format!("n={n} classes={classes} dropout={dropout}");
        assert_eq!((a.images, a.correct), (b.images, b.correct), "{what}");
        assert_close(&format!("{what} loss"), &[b.loss], &[a.loss], 1e-5);
        for (i, (ga, gb)) in cpu.grads().iter().zip(be.grads()).enumerate() {
            assert!(ga.iter().any(|&v| v != 0.0), "{what}: grad {i} all zero");
            assert_close(&format!("{what} grad {i}"), gb, ga, 1e-4);
        }
        assert_eq!(r1.get_word_pos(), r2.get_word_pos(), "{what}: generator");
    }
}

#[test]
fn predictions_match_the_cpu_backend() {
    let Some(mut be) = gpu() else { return };
    let mut cpu = CpuBackend::new(Some(1)).unwrap();
    let net = ShapesNet::new(5, 4);
    let (x, _) = batch(3, 4, 6);
    let a = cpu.predict(&net, &x).unwrap();
    let b = be.predict(&net, &x).unwrap();
    assert_eq!(a.dim(), (3, 4));
    assert_eq!(b.dim(), (3, 4));
    assert_close(
        "log-probs",
        b.as_slice().unwrap(),
        a.as_slice().unwrap(),
        1e-5,
    );
    // a smaller batch after a larger one reuses the buffers
    let b1 = be.predict(&net, &x[..IN_LEN]).unwrap();
    assert_close(
        "one image",
        b1.as_slice().unwrap(),
        &a.as_slice().unwrap()[..4],
        1e-5,
    );
}

/// Adam steps with dropout on, all on the device, then `sync_to_host`: the parameters,
/// Adam's moments and step count equal the CPU backend's after the same steps; a new
/// net and optimiser afterwards starts from its own values, not the device's.
#[test]
fn train_steps_with_dropout_match_the_cpu_backend() {
    let Some(mut be) = gpu() else { return };
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    for round in 0..2u64 {
        let classes = 3;
        let mut na = ShapesNet::new(30 + round, classes);
        let mut nb = na.clone();
        let mut aa = Adam::new(0.001, &na.params);
        let mut ab = aa.clone();
        let mut ra = ChaCha8Rng::seed_from_u64(round);
        let mut rb = ra.clone();
        for step in 0..3u64 {
            let (x, t) = batch(2, classes, 100 * round + step);
            let sa = cpu
                .train_step(&mut na, &mut aa, &x, &t, Some(&mut ra))
                .unwrap();
            let sb = be
                .train_step(&mut nb, &mut ab, &x, &t, Some(&mut rb))
                .unwrap();
            assert_close(
                &format!("round {round} step {step} loss"),
                &[sb.loss],
                &[sa.loss],
                1e-4,
            );
            assert_eq!(sa.correct, sb.correct);
        }
        // the host copy is stale until synced
        assert_eq!(ab.step, 3);
        assert_ne!(
            nb.params[0].data, na.params[0].data,
            "synced before sync_to_host"
        );
        be.sync_to_host(&mut nb, &mut ab).unwrap();
        for (pa, pb) in na.params.iter().zip(&nb.params) {
            let e = compare(&pb.data, &pa.data, Measure::Absolute);
            // Adam's tolerance in `verify` (ABS_TOL): tiny gradients summed in another
            // order may move a value by a different fraction of lr
            assert!(e <= 1e-5, "round {round} {}: {e:e}", pa.name);
        }
        let (ma, va) = aa.moments();
        let (mb, vb) = ab.moments();
        for i in 0..ma.len() {
            assert_close(&format!("m {i}"), &mb[i], &ma[i], 1e-4);
            assert_close(&format!("v {i}"), &vb[i], &va[i], 1e-4);
        }
        assert_eq!(ra.get_word_pos(), rb.get_word_pos());
        // after a sync, more steps continue from the device copy
        let (x, t) = batch(2, classes, 999);
        cpu.train_step(&mut na, &mut aa, &x, &t, None).unwrap();
        be.train_step(&mut nb, &mut ab, &x, &t, None).unwrap();
        be.sync_to_host(&mut nb, &mut ab).unwrap();
        let e = compare(&nb.params[6].data, &na.params[6].data, Measure::Absolute);
        assert!(e <= 1e-5, "after a further step: {e:e}");
    }
}

#[test]
fn bad_batches_are_errors_not_panics() {
    let Some(mut be) = gpu() else { return };
    let net = ShapesNet::new(1, 3);
    let (x, _) = batch(2, 3, 1);
    assert!(be.forward_backward(&net, &x[..100], &[0], None).is_err());
    assert!(be.forward_backward(&net, &x, &[0], None).is_err());
    let e = be.forward_backward(&net, &x, &[0, 3], None).unwrap_err();
    assert!(e.to_string().contains("class 3"), "{e}");
    assert!(be.predict(&net, &[]).is_err());
}

/// `train::run` on the emulated GPU: the same epoch report as on the CPU (one epoch, a
/// few generated images, batches of 4 with dropout), through `sync_to_host` before
/// validation.
#[test]
fn a_short_training_run_matches_the_cpu() {
    let Some(g) = emu() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    cnn_tutor::data::generate(&dir, 4, 3).unwrap();
    let ds = Arc::new(cnn_tutor::data::load_folder(&dir).unwrap());
    let cfg = TrainConfig {
        data_dir: "unused".into(),
        dataset: Some(ds),
        epochs: 2,
        batch_size: 4,
        lr: 0.001,
        seed: 5,
        device: DeviceChoice::Cpu,
        threads: Some(2),
        out: None,
    };
    let run =
        |be: &mut dyn Backend| match train::run(&cfg, be, &AtomicBool::new(false), &mut |_| {})
            .unwrap()
        {
            Outcome::Finished(s) => s,
            Outcome::Cancelled { .. } => panic!("cancelled"),
        };
    let a = run(&mut CpuBackend::new(Some(2)).unwrap());
    let mut gpu = CudaBackend::new(g);
    let b = run(&mut gpu);
    assert_eq!(a.epochs.len(), 2);
    for (ea, eb) in a.epochs.iter().zip(&b.epochs) {
        assert_close(
            "train loss",
            &[eb.train_loss as f32],
            &[ea.train_loss as f32],
            1e-4,
        );
        assert_close(
            "val loss",
            &[eb.val_loss as f32],
            &[ea.val_loss as f32],
            1e-4,
        );
        assert_eq!(ea.val_correct, eb.val_correct);
    }
    for (pa, pb) in a.net.params.iter().zip(&b.net.params) {
        let e = compare(&pb.data, &pa.data, Measure::Absolute);
        assert!(e <= 1e-5, "{}: {e:e}", pa.name);
    }
    // every kernel ran; one upload of the images per batch, two floats back
    let launches = &gpu.gpu().launches;
    for k in ["conv3x3_fwd", "adam_step", "chacha8_mask", "pool2_relu_bwd"] {
        assert!(launches.get(k).copied().unwrap_or(0) > 0, "{k} never ran");
    }
    let _ = FC_IN;
}
