//! The CUDA backend's kernels and host orchestration, run on the CPU through the
//! emulator (`tests/suite/common/emu.rs`: the same `kernels/*.cu` compiled as C++): the golden
//! PyTorch checks, and parity with the CPU backend for gradients, Adam steps with dropout
//! on, predictions and a short training run. Skipped, with the reason printed, when no
//! C++ compiler is found.

use crate::common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use cnn_tutor::backend::cuda::{Arg, CudaBackend, Gpu};
use cnn_tutor::backend::reference::{compare, Measure};
use cnn_tutor::backend::{Backend, CpuBackend, DeviceChoice};
use cnn_tutor::nn::dropout::{fill_mask, keep_scale};
use cnn_tutor::nn::net::{Net, DROP2D_P, DROP_P};
use cnn_tutor::train::{self, Outcome, TrainConfig};
use common::emu::EmuGpu;
use common::parity::{self, assert_close, batch};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn gpu() -> Option<CudaBackend<EmuGpu>> {
    EmuGpu::or_skip().map(CudaBackend::new)
}

#[test]
fn every_golden_tensor_is_within_tolerance_on_the_emulated_gpu() {
    let Some(mut be) = gpu() else { return };
    parity::golden(&mut be);
    assert!(be.name().starts_with("cuda ("), "{}", be.name());
}

/// The device draws the same dropout masks as `nn::dropout::fill_mask` (the CPU's) from a
/// ChaCha8 stream: any word position (inside a block, across blocks), any stream.
#[test]
fn device_dropout_masks_are_the_cpu_generator_stream() {
    let Some(mut g) = EmuGpu::or_skip() else {
        return;
    };
    for (seed, stream, start, len, p) in [
        (42u64, 0u64, 0u128, 100usize, DROP2D_P),
        (7, 0, 5, 37, DROP_P),
        (9, 3, 1_000_003, 300, 0.3),
        (1, u64::MAX - 1, (1u128 << 36) + 11, 40, 0.5),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        rng.set_word_pos(start);
        let keep = keep_scale(p);
        let mut want = vec![0.0f32; len];
        fill_mask(&mut want, p, &mut rng.clone());
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

#[test]
fn forward_backward_matches_the_cpu_backend() {
    let Some(mut be) = gpu() else { return };
    parity::forward_backward(
        &mut be,
        &[(2, 3, 1, true), (3, 5, 2, false), (1, 2, 3, true)],
    );
}

#[test]
fn predictions_match_the_cpu_backend() {
    let Some(mut be) = gpu() else { return };
    parity::predict(&mut be, 3);
}

#[test]
fn train_steps_with_dropout_match_the_cpu_backend() {
    let Some(mut be) = gpu() else { return };
    parity::train_steps(&mut be, 2);
}

/// No kernel depends on the order its threads run in (on a GPU they run in any order):
/// a training step with dropout gives bit-identical loss, gradients, parameters and
/// moments when the emulator runs every launch's blocks and threads last to first.
#[test]
fn results_do_not_depend_on_the_order_threads_run_in() {
    let Some(g) = EmuGpu::or_skip() else { return };
    let mut be = CudaBackend::new(g);
    let run = |be: &mut CudaBackend<EmuGpu>, reverse: bool| {
        be.gpu_mut().set_reverse(reverse);
        let mut net = Net::course(8, 3);
        let mut adam = cnn_tutor::nn::adam::Adam::new(0.001, &net.params);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (x, t) = batch(3, 3, 12);
        let s1 = be
            .train_step(&mut net, &mut adam, &x, &t, Some(&mut rng))
            .unwrap();
        let s2 = be
            .forward_backward(&mut net, &x, &t, Some(&mut rng))
            .unwrap();
        be.sync_to_host(&mut net, &mut adam).unwrap();
        let lp = be.predict(&net, &x).unwrap();
        let (m, v) = adam.moments();
        (s1, s2, be.grads().to_vec(), net, m.to_vec(), v.to_vec(), lp)
    };
    let a = run(&mut be, false);
    let b = run(&mut be, true);
    be.gpu_mut().set_reverse(false);
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2, "gradients");
    assert_eq!(a.3, b.3, "parameters");
    assert_eq!((a.4, a.5), (b.4, b.5), "moments");
    assert_eq!(a.6, b.6, "log-probs");
}

#[test]
fn bad_batches_are_errors_not_panics() {
    let Some(mut be) = gpu() else { return };
    let mut net = Net::course(1, 3);
    let (x, _) = batch(2, 3, 1);
    assert!(be
        .forward_backward(&mut net, &x[..100], &[0], None)
        .is_err());
    assert!(be.forward_backward(&mut net, &x, &[0], None).is_err());
    let e = be
        .forward_backward(&mut net, &x, &[0, 3], None)
        .unwrap_err();
    assert!(e.to_string().contains("class 3"), "{e}");
    assert!(be.predict(&net, &[]).is_err());
}

/// `train::run` on the emulated GPU: the same epoch report as on the CPU (one epoch, a
/// few generated images, batches of 4 with dropout), through `sync_to_host` before
/// validation.
#[test]
fn a_short_training_run_matches_the_cpu() {
    let Some(g) = EmuGpu::or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    cnn_tutor::data::generate(&dir, 4, 3).unwrap();
    let ds = Arc::new(cnn_tutor::data::load_folder(&dir).unwrap());
    let cfg = TrainConfig {
        data_dir: "unused".into(),
        epochs: 2,
        batch_size: 4,
        lr: 0.001,
        seed: 5,
        device: DeviceChoice::Cpu,
        threads: Some(2),
        out: None,
        ..TrainConfig::default()
    };
    let cfg = train::Prepared::new(cfg, ds).unwrap();
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
}

/// The training batch size on the real data: 1,200 generated images (the seed's set),
/// the first two training batches of 50 of `train --seed 42`, as train steps with dropout
/// on the emulated GPU and on the CPU (a few seconds).
#[test]
fn batches_of_50_real_images_match_the_cpu() {
    let Some(g) = EmuGpu::or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    cnn_tutor::data::generate(&dir, 400, 42).unwrap();
    let ds = cnn_tutor::data::load_folder(&dir).unwrap();
    let (train_idx, _) = cnn_tutor::data::split(ds.len(), 42);
    let mut be = CudaBackend::new(g);
    let mut cpu = CpuBackend::new(None).unwrap();
    let mut na = Net::course(42, 3);
    let mut nb = na.clone();
    let mut aa = cnn_tutor::nn::adam::Adam::new(0.001, &na.params);
    let mut ab = aa.clone();
    let mut ra = ChaCha8Rng::seed_from_u64(42 ^ 0x5eed_d209_u64);
    let mut rb = ra.clone();
    let mut x = vec![0.0f32; 50 * parity::IN_LEN];
    for chunk in train_idx.chunks(50).take(2) {
        ds.normalized_into(chunk, &mut x);
        let t: Vec<usize> = chunk.iter().map(|&i| ds.labels[i]).collect();
        let sa = cpu
            .train_step(&mut na, &mut aa, &x, &t, Some(&mut ra))
            .unwrap();
        let sb = be
            .train_step(&mut nb, &mut ab, &x, &t, Some(&mut rb))
            .unwrap();
        println!(
            "loss cpu {} gpu(emu) {}, right {} {}",
            sa.loss, sb.loss, sa.correct, sb.correct
        );
        assert_close("loss", &[sb.loss], &[sa.loss], 1e-4);
        assert_eq!(sa.correct, sb.correct);
    }
    be.sync_to_host(&mut nb, &mut ab).unwrap();
    for (pa, pb) in na.params.iter().zip(&nb.params) {
        let e = compare(&pb.data, &pa.data, Measure::Absolute);
        println!("{:<14} max |gpu - cpu| {e:.3e}", pa.name);
        assert!(e <= 1e-5, "{}: {e:e}", pa.name);
    }
}
