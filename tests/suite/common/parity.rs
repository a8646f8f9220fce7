//! Checks of a [`CudaBackend`] on any [`Gpu`] (the emulator in `gpu_emu.rs`, the real
//! device in `gpu_cuda.rs`) against the PyTorch golden file and the CPU backend.

#![allow(dead_code)]

use std::path::PathBuf;

use cnn_tutor::backend::cuda::{CudaBackend, Gpu};
use cnn_tutor::backend::reference::{compare, verify, Measure};
use cnn_tutor::backend::{Backend, CpuBackend};
use cnn_tutor::nn::adam::Adam;
pub use cnn_tutor::nn::net::IN_LEN;
use cnn_tutor::nn::net::{idx, Net};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` random images roughly like normalised pixels, and targets below `classes`.
pub fn batch(n: usize, classes: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..n * IN_LEN).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let t = (0..n).map(|_| rng.gen_range(0..classes)).collect();
    (x, t)
}

/// max|ours - theirs| / max|theirs| within `tol`.
pub fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: length");
    let e = compare(ours, theirs, Measure::Relative);
    assert!(e <= tol, "{what}: relative error {e:e} > {tol:e}");
}

/// The golden PyTorch dump: `$CNN_TUTOR_GOLDEN` (for a test binary run elsewhere, see
/// `scripts/gpu_check.sh`), else `../shared/golden` beside the checkout.
pub fn golden_path() -> Option<PathBuf> {
    let p = match std::env::var_os("CNN_TUTOR_GOLDEN").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => super::shared("golden/shapes_net_seed42_batch4.safetensors"),
    };
    if !p.exists() {
        super::missing_reference(format!("no golden file at {}", p.display()));
        return None;
    }
    Some(p)
}

/// Every tensor of the golden file within tolerance (relative ones within 1e-4).
pub fn golden<G: Gpu>(be: &mut CudaBackend<G>) {
    let Some(path) = golden_path() else { return };
    let checks = verify(&path, be).unwrap().checks;
    assert_eq!(checks.len(), 47); // 37 tensors of the golden file, 10 traced maps (backend::cpu::forward_trace)
    for c in &checks {
        println!("{:<28} {:.3e}", c.name, c.error);
        assert!(c.pass(), "{}: error {} > {}", c.name, c.error, c.tolerance);
        if c.measure == Measure::Relative {
            assert!(c.error <= 1e-4, "{}: {}", c.name, c.error);
        }
    }
}

/// Tolerance (relative to the largest value) for gradient `i` of a batch of `n` random
/// images. Where two values of a 2x2 pooling window are a rounding error apart, the CPU
/// and the GPU (which sum in another order) can pick different ones, and the gradient of
/// that window flows to a different pixel. That is right on both sides (PyTorch's CPU and
/// CUDA kernels differ the same way), but one such window moves the gradients below it by
/// up to a few percent for one image: a window of pool1 moves conv1's weight gradient
/// (measured: image 5 of `batch(8, 3, 14)`, two values 1 ulp apart, 3.8e-2; a batch of 50,
/// 1.7e-3); one of pool2 moves conv2's weight gradient and conv1's weight and bias
/// gradients, but not conv2's bias gradient, which sums the same values (measured:
/// `batch(50, 3, 14)`, 2.1e-3, 2.3e-3 and 6.3e-4, conv2's bias 4.6e-7). The batches of 4
/// or fewer used here have no such window, so they keep the tight tolerance (as do the
/// other layers).
pub fn pooled_grad_tol(n: usize, i: usize) -> f32 {
    if n <= 4 || ![idx::CONV1_W, idx::CONV1_B, idx::CONV2_W].contains(&i) {
        1e-4
    } else {
        5e-2
    }
}

/// Gradients of one batch, with and without dropout, equal the CPU backend's; so do the
/// loss, the count right and where the dropout generator ends. Cases: (images,
/// classes, seed, dropout).
pub fn forward_backward<G: Gpu>(be: &mut CudaBackend<G>, cases: &[(usize, usize, u64, bool)]) {
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    for &(n, classes, seed, dropout) in cases {
        let mut net = Net::course(seed, classes);
        let (x, t) = batch(n, classes, seed + 10);
        let mut r1 = ChaCha8Rng::seed_from_u64(seed + 20);
        let mut r2 = r1.clone();
        let a = cpu
            .forward_backward(&mut net, &x, &t, dropout.then_some(&mut r1))
            .unwrap();
        let b = be
            .forward_backward(&mut net, &x, &t, dropout.then_some(&mut r2))
            .unwrap();
        let what = format!("n={n} classes={classes} dropout={dropout}");
        assert_eq!((a.images, a.correct), (b.images, b.correct), "{what}");
        assert_close(&format!("{what} loss"), &[b.loss], &[a.loss], 1e-5);
        for (i, (ga, gb)) in cpu.grads().iter().zip(be.grads()).enumerate() {
            assert!(ga.iter().any(|&v| v != 0.0), "{what}: grad {i} all zero");
            let tol = pooled_grad_tol(n, i);
            assert_close(&format!("{what} grad {i}"), gb, ga, tol);
        }
        assert_eq!(r1.get_word_pos(), r2.get_word_pos(), "{what}: generator");
    }
}

/// Log-probabilities of `n` images equal the CPU backend's, and a smaller batch after a
/// larger one reuses the buffers.
pub fn predict<G: Gpu>(be: &mut CudaBackend<G>, n: usize) {
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    let net = Net::course(5, 4);
    let (x, _) = batch(n, 4, 6);
    let a = cpu.predict(&net, &x).unwrap();
    let b = be.predict(&net, &x).unwrap();
    assert_eq!(a.dim(), (n, 4));
    assert_eq!(b.dim(), (n, 4));
    let (a, b) = (a.as_slice().unwrap(), b.as_slice().unwrap());
    assert_close("log-probs", b, a, 1e-5);
    let b1 = be.predict(&net, &x[..IN_LEN]).unwrap();
    assert_close("one image", b1.as_slice().unwrap(), &a[..4], 1e-5);
}

/// Adam steps on batches of `n` with dropout on, all on the device, then
/// `sync_to_host`: the parameters, Adam's moments and step count equal the CPU
/// backend's; the host copy is stale before the sync; after it, more steps continue from
/// the device; a second net and optimiser start from their own values.
pub fn train_steps<G: Gpu>(be: &mut CudaBackend<G>, n: usize) {
    // Parameters: Adam's tolerance in `verify` (ABS_TOL), as tiny gradients summed in
    // another order may move a value by a different fraction of lr; moments: relative.
    // Batches that may take another pooling branch (see `pooled_grad_tol`) start the
    // next step from slightly different weights, and every layer drifts a little:
    // measured at 50 images, parameters 2.1e-5 (2% of an lr step), moments 9.1e-4.
    let (param_tol, moment_tol) = if pooled_grad_tol(n, idx::CONV1_W) > 1e-4 {
        (1e-4, 5e-3)
    } else {
        (1e-5, 1e-4)
    };
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    for round in 0..2u64 {
        let classes = 3;
        let mut na = Net::course(30 + round, classes);
        let mut nb = na.clone();
        let mut aa = Adam::new(0.001, &na.params);
        let mut ab = aa.clone();
        let mut ra = ChaCha8Rng::seed_from_u64(round);
        let mut rb = ra.clone();
        for step in 0..3u64 {
            let (x, t) = batch(n, classes, 100 * round + step);
            let sa = cpu
                .train_step(&mut na, &mut aa, &x, &t, Some(&mut ra))
                .unwrap();
            let sb = be
                .train_step(&mut nb, &mut ab, &x, &t, Some(&mut rb))
                .unwrap();
            let what = format!("round {round} step {step} loss");
            assert_close(&what, &[sb.loss], &[sa.loss], 1e-4);
            assert_eq!(sa.correct, sb.correct);
        }
        assert_eq!(ab.step, 3);
        assert_ne!(
            nb.params[0].data, na.params[0].data,
            "synced before sync_to_host"
        );
        be.sync_to_host(&mut nb, &mut ab).unwrap();
        for (pa, pb) in na.params.iter().zip(&nb.params) {
            let e = compare(&pb.data, &pa.data, Measure::Absolute);
            assert!(e <= param_tol, "round {round} {}: {e:e}", pa.name);
        }
        let (ma, va) = aa.moments();
        let (mb, vb) = ab.moments();
        for i in 0..ma.len() {
            assert_close(&format!("m {i}"), &mb[i], &ma[i], moment_tol);
            assert_close(&format!("v {i}"), &vb[i], &va[i], moment_tol);
        }
        assert_eq!(ra.get_word_pos(), rb.get_word_pos());
        let (x, t) = batch(n, classes, 999);
        cpu.train_step(&mut na, &mut aa, &x, &t, None).unwrap();
        be.train_step(&mut nb, &mut ab, &x, &t, None).unwrap();
        be.sync_to_host(&mut nb, &mut ab).unwrap();
        let e = compare(&nb.params[6].data, &na.params[6].data, Measure::Absolute);
        assert!(e <= param_tol, "after a further step: {e:e}");
    }
}

/// The architectures the GPU is checked on beside the course's net: the six of
/// `tests/fixtures/arch` (with dropout on where they have it), batch norm as the first
/// layer with dropout2d before a fused pool, dropout on an MLP's input, and a net whose class scores come after an
/// activation: (text, input C x H x W, classes).
pub const ARCHS: [(&str, [usize; 3], usize); 9] = [
    (
        "conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear",
        [3, 24, 24],
        3,
    ),
    (
        "conv(8,5,stride=2) relu batchnorm maxpool(3,stride=2) conv(16,1) leakyrelu flatten linear",
        [3, 32, 32],
        3,
    ),
    (
        "conv(6,7,pad=0) sigmoid avgpool(2) conv(10,3,stride=2,pad=2) leakyrelu(0.2) flatten linear",
        [3, 24, 24],
        5,
    ),
    (
        "conv(8,3) relu batchnorm conv(8,3,pad=0) tanh batchnorm avgpool(3,stride=2) flatten linear",
        [3, 20, 20],
        4,
    ),
    (
        "conv(8,3,stride=2) relu dropout2d(0.25) maxpool(2) flatten dropout(0.5) linear(24) relu linear(12) sigmoid linear",
        [3, 24, 24],
        3,
    ),
    ("flatten linear(16) relu linear", [3, 16, 16], 3),
    (
        "batchnorm conv(4,3,stride=2,pad=0) dropout2d(0.3) maxpool(2) relu flatten dropout(0.2) linear",
        [2, 17, 17],
        3,
    ),
    ("flatten dropout(0.4) linear(9) tanh linear", [3, 8, 8], 2),
    ("conv(3,2,pad=0) avgpool(2,stride=1) flatten linear(12) relu linear(3) leakyrelu", [1, 7, 7], 3),
];

/// A net of the architecture `text` on `input` images with `classes` classes.
pub fn arch_net(text: &str, input: [usize; 3], classes: usize, seed: u64) -> Net {
    let arch = cnn_tutor::nn::arch::Arch::parse(text).unwrap();
    let plan = cnn_tutor::nn::arch::Plan::new(&arch, input, classes).unwrap();
    Net::new(plan, seed)
}

/// `n` random inputs of `net` and targets below its classes.
pub fn arch_batch(net: &Net, n: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let len = net.plan.input_len();
    let x = (0..n * len).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let t = (0..n).map(|_| rng.gen_range(0..net.classes())).collect();
    (x, t)
}

/// Every tensor (parameters and buffers) of two nets within `tol` (absolute).
pub fn assert_nets_close(what: &str, ours: &Net, theirs: &Net, tol: f32) {
    for (a, b) in ours.params.iter().zip(&theirs.params) {
        let e = compare(&a.data, &b.data, Measure::Absolute);
        assert!(e <= tol, "{what} {}: {e:e} > {tol:e}", a.name);
    }
}

/// For the architecture `text`: one batch of `n` forward and backward in eval mode and in
/// training mode (dropout on, batch norm on batch statistics) gives the CPU backend's
/// loss, count right, gradients, running statistics and generator position; the
/// log-probabilities of `predict` are the CPU's; three Adam steps with dropout and
/// `sync_to_host` give the CPU's parameters, buffers and moments.
pub fn arch<G: Gpu>(
    be: &mut CudaBackend<G>,
    text: &str,
    input: [usize; 3],
    classes: usize,
    n: usize,
) {
    let mut cpu = CpuBackend::new(Some(2)).unwrap();
    let base = arch_net(text, input, classes, 7);
    for train in [false, true] {
        let (mut na, mut nb) = (base.clone(), base.clone());
        let (x, t) = arch_batch(&base, n, 11);
        let mut r1 = ChaCha8Rng::seed_from_u64(3);
        let mut r2 = r1.clone();
        let a = cpu
            .forward_backward(&mut na, &x, &t, train.then_some(&mut r1))
            .unwrap();
        let b = be
            .forward_backward(&mut nb, &x, &t, train.then_some(&mut r2))
            .unwrap();
        let what = format!("`{text}` train={train}");
        assert_eq!((a.images, a.correct), (b.images, b.correct), "{what}");
        assert_close(&format!("{what} loss"), &[b.loss], &[a.loss], 1e-5);
        for (i, (ga, gb)) in cpu.grads().iter().zip(be.grads()).enumerate() {
            let name = &base.params[i].name;
            if base.params[i].trainable {
                assert!(ga.iter().any(|&v| v != 0.0), "{what}: {name} all zero");
            }
            assert_close(&format!("{what} grad {name}"), gb, ga, 1e-4);
        }
        assert_nets_close(&what, &nb, &na, 1e-6);
        if train && base.plan.arch.has_batchnorm() {
            assert_ne!(na.params, base.params, "{what}: running statistics");
        }
        assert_eq!(r1.get_word_pos(), r2.get_word_pos(), "{what}: generator");
    }
    let (x, _) = arch_batch(&base, n, 12);
    let a = cpu.predict(&base, &x).unwrap();
    let b = be.predict(&base, &x).unwrap();
    assert_eq!(b.dim(), (n, classes));
    assert_close(
        &format!("`{text}` log-probs"),
        b.as_slice().unwrap(),
        a.as_slice().unwrap(),
        1e-5,
    );

    let (mut na, mut nb) = (base.clone(), base.clone());
    let mut aa = Adam::new(0.001, &na.params);
    aa.weight_decay = 0.01;
    let mut ab = aa.clone();
    let mut ra = ChaCha8Rng::seed_from_u64(5);
    let mut rb = ra.clone();
    for step in 0..3u64 {
        let (x, t) = arch_batch(&base, n, 20 + step);
        let sa = cpu
            .train_step(&mut na, &mut aa, &x, &t, Some(&mut ra))
            .unwrap();
        let sb = be
            .train_step(&mut nb, &mut ab, &x, &t, Some(&mut rb))
            .unwrap();
        assert_close(
            &format!("`{text}` step {step} loss"),
            &[sb.loss],
            &[sa.loss],
            1e-4,
        );
        assert_eq!(sa.correct, sb.correct, "`{text}` step {step}");
    }
    be.sync_to_host(&mut nb, &mut ab).unwrap();
    assert_eq!(ab.step, 3);
    assert_nets_close(&format!("`{text}` after 3 steps"), &nb, &na, 1e-5);
    let ((ma, va), (mb, vb)) = (aa.moments(), ab.moments());
    for i in 0..ma.len() {
        if base.params[i].trainable {
            assert_close(&format!("`{text}` m {i}"), &mb[i], &ma[i], 1e-4);
            assert_close(&format!("`{text}` v {i}"), &vb[i], &va[i], 1e-4);
        } else {
            assert!(
                mb[i].iter().chain(&vb[i]).all(|&v| v == 0.0),
                "`{text}`: moments of a buffer"
            );
        }
    }
    assert_eq!(ra.get_word_pos(), rb.get_word_pos());
}
