//! Gradients of every op checked by central finite differences on small random shapes, the
//! dropout statistics, and the CPU backend's training gradients (dropouts on) against the
//! same computation composed from the array ops.
//!
//! The objective is `L = sum(out * r)` for a fixed random `r`, summed in f64 so that the
//! finite differences measure the op, not the rounding of the sum.

use cnn_tutor::backend::{Backend, CpuBackend};
use cnn_tutor::nn::net::{idx, Net};
use cnn_tutor::nn::ops;
use ndarray::{Array, Array1, Array2, Array4, Dimension, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rand_arr<Sh: ShapeBuilder>(shape: Sh, rng: &mut ChaCha8Rng) -> Array<f32, Sh::Dim> {
    Array::from_shape_fn(shape, |_| rng.gen_range(-1.0f32..1.0))
}

fn weighted_sum<D: Dimension>(out: &Array<f32, D>, r: &Array<f32, D>) -> f64 {
    out.iter()
        .zip(r.iter())
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// Central differences of `f` at every entry of `x` (`x` is restored).
fn numeric_grad<D: Dimension>(
    x: &mut Array<f32, D>,
    eps: f32,
    mut f: impl FnMut(&Array<f32, D>) -> f64,
) -> Array<f32, D> {
    let mut g = x.clone();
    for i in 0..x.len() {
        let orig = x.as_slice().unwrap()[i];
        x.as_slice_mut().unwrap()[i] = orig + eps;
        let up = f(x);
        x.as_slice_mut().unwrap()[i] = orig - eps;
        let down = f(x);
        x.as_slice_mut().unwrap()[i] = orig;
        g.as_slice_mut().unwrap()[i] = ((up - down) / (2.0 * f64::from(eps))) as f32;
    }
    g
}

/// max|a - b| / max|b|.
fn rel_err<D: Dimension>(a: &Array<f32, D>, b: &Array<f32, D>) -> f32 {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    let scale = b.iter().fold(0.0f32, |m, y| m.max(y.abs()));
    diff / scale.max(1e-12)
}

fn check_conv(n: usize, cin: usize, cout: usize, h: usize, w: usize, stride: usize, pad: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64((h * 31 + w * 7 + stride * 3 + pad) as u64);
    let mut x = rand_arr((n, cin, h, w), &mut rng);
    let mut wt = rand_arr((cout, cin, 3, 3), &mut rng);
    let mut b = rand_arr(cout, &mut rng);
    let out = ops::conv2d(&x, &wt, Some(&b), stride, pad);
    let r = rand_arr(out.raw_dim(), &mut rng);
    let (dx, dw, db) = ops::conv2d_backward(&x, &wt, &r, stride, pad);
    let (w0, b0) = (wt.clone(), b.clone());
    let nx = numeric_grad(&mut x, 1e-2, |x| {
        weighted_sum(&ops::conv2d(x, &w0, Some(&b0), stride, pad), &r)
    });
    let x0 = x.clone();
    let nw = numeric_grad(&mut wt, 1e-2, |w| {
        weighted_sum(&ops::conv2d(&x0, w, Some(&b0), stride, pad), &r)
    });
    let nb = numeric_grad(&mut b, 1e-2, |b| {
        weighted_sum(&ops::conv2d(&x0, &w0, Some(b), stride, pad), &r)
    });
    let tag = format!("conv {h}x{w} s{stride} p{pad}");
    assert!(rel_err(&dx, &nx) < 1e-3, "{tag} dx {}", rel_err(&dx, &nx));
    assert!(rel_err(&dw, &nw) < 1e-3, "{tag} dw {}", rel_err(&dw, &nw));
    assert!(rel_err(&db, &nb) < 1e-3, "{tag} db {}", rel_err(&db, &nb));
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    check_conv(2, 3, 4, 6, 5, 1, 1); // the net's 3x3 s1 p1
    check_conv(1, 2, 3, 7, 6, 2, 0); // strided, no padding
    check_conv(2, 2, 2, 5, 7, 2, 1); // strided with padding, odd sizes
    check_conv(1, 1, 2, 4, 4, 1, 2); // padding wider than the kernel reach
}

#[test]
fn conv2d_matches_the_direct_definition() {
    // exact small case: integer inputs, integer weights, sums exact in f32
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x = Array4::from_shape_fn((2, 3, 5, 6), |_| rng.gen_range(-4i32..5) as f32);
    let w = Array4::from_shape_fn((4, 3, 3, 3), |_| rng.gen_range(-3i32..4) as f32);
    let b = Array1::from_shape_fn(4, |i| i as f32);
    for (stride, pad) in [(1, 1), (2, 0), (2, 1), (1, 0)] {
        let out = ops::conv2d(&x, &w, Some(&b), stride, pad);
        let (_, _, h, wd) = out.dim();
        for ((n, co, oy, ox), &v) in out.indexed_iter() {
            let mut acc = b[co];
            for ci in 0..3 {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let iy = (oy * stride + ky) as isize - pad as isize;
                        let ix = (ox * stride + kx) as isize - pad as isize;
                        if iy >= 0 && ix >= 0 && iy < 5 && ix < 6 {
                            acc += x[[n, ci, iy as usize, ix as usize]] * w[[co, ci, ky, kx]];
                        }
                    }
                }
            }
            assert_eq!(v, acc, "s{stride} p{pad} at {n},{co},{oy},{ox} of {h}x{wd}");
        }
    }
}

#[test]
fn max_pool_gradient_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // distinct values at least 0.01 apart, so a 1e-3 nudge never changes the argmax
    let n = 2 * 3 * 6 * 8;
    let mut vals: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
    for i in (1..n).rev() {
        vals.swap(i, rng.gen_range(0..=i));
    }
    let mut x = Array4::from_shape_vec((2, 3, 6, 8), vals).unwrap();
    let (out, arg) = ops::max_pool2d_with_indices(&x, 2, 2);
    assert_eq!(out, ops::max_pool2d(&x, 2, 2));
    let r = rand_arr(out.raw_dim(), &mut rng);
    let dx = ops::max_pool2d_backward(&r, &arg, x.dim());
    let nx = numeric_grad(&mut x, 1e-3, |x| {
        weighted_sum(&ops::max_pool2d(x, 2, 2), &r)
    });
    assert!(rel_err(&dx, &nx) < 1e-2, "pool dx {}", rel_err(&dx, &nx));
    // a 3x3 window with stride 2 (overlapping windows)
    let (out3, arg3) = ops::max_pool2d_with_indices(&x, 3, 2);
    let r3 = rand_arr(out3.raw_dim(), &mut rng);
    let dx3 = ops::max_pool2d_backward(&r3, &arg3, x.dim());
    let nx3 = numeric_grad(&mut x, 1e-3, |x| {
        weighted_sum(&ops::max_pool2d(x, 3, 2), &r3)
    });
    assert!(
        rel_err(&dx3, &nx3) < 1e-2,
        "pool3 dx {}",
        rel_err(&dx3, &nx3)
    );
}

#[test]
fn relu_linear_and_log_softmax_gradients_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // relu, inputs kept away from the kink
    let mut x = Array2::from_shape_fn((4, 5), |_| {
        let v: f32 = rng.gen_range(0.1..1.0);
        if rng.gen::<bool>() {
            v
        } else {
            -v
        }
    });
    let r = rand_arr((4, 5), &mut rng);
    let dx = ops::relu_backward(&ops::relu(&x), &r);
    let nx = numeric_grad(&mut x, 1e-2, |x| weighted_sum(&ops::relu(x), &r));
    assert!(rel_err(&dx, &nx) < 1e-3);

    // linear
    let mut x = rand_arr((3, 7), &mut rng);
    let mut w = rand_arr((4, 7), &mut rng);
    let mut b = rand_arr(4, &mut rng);
    let r = rand_arr((3, 4), &mut rng);
    let (dx, dw, db) = ops::linear_backward(&x, &w, &r);
    let (x0, w0, b0) = (x.clone(), w.clone(), b.clone());
    let nx = numeric_grad(&mut x, 1e-2, |x| {
        weighted_sum(&ops::linear(x, &w0, &b0), &r)
    });
    let nw = numeric_grad(&mut w, 1e-2, |w| {
        weighted_sum(&ops::linear(&x0, w, &b0), &r)
    });
    let nb = numeric_grad(&mut b, 1e-2, |b| {
        weighted_sum(&ops::linear(&x0, &w0, b), &r)
    });
    assert!(rel_err(&dx, &nx) < 1e-3);
    assert!(rel_err(&dw, &nw) < 1e-3);
    assert!(rel_err(&db, &nb) < 1e-3);

    // log_softmax
    let mut z = rand_arr((3, 4), &mut rng);
    let r = rand_arr((3, 4), &mut rng);
    let dz = ops::log_softmax_backward(&ops::log_softmax(&z), &r);
    let nz = numeric_grad(&mut z, 1e-3, |z| weighted_sum(&ops::log_softmax(z), &r));
    assert!(
        rel_err(&dz, &nz) < 1e-2,
        "log_softmax {}",
        rel_err(&dz, &nz)
    );
}

#[test]
fn cross_entropy_is_mean_nll_and_its_gradient_is_softmax_minus_onehot() {
    let logits = ndarray::array![[1.0f32, 2.0, 3.0], [0.5, -0.5, 0.0]];
    let targets = [2usize, 0];
    // by hand: -(3 - ln(e^1+e^2+e^3)) and -(0.5 - ln(e^0.5+e^-0.5+e^0)), averaged
    let l0 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 3.0;
    let l1 = (0.5f64.exp() + (-0.5f64).exp() + 1.0).ln() - 0.5;
    let loss = ops::cross_entropy(&logits, &targets);
    assert!((f64::from(loss) - (l0 + l1) / 2.0).abs() < 1e-6);
    let lp = ops::log_softmax(&logits);
    let d = ops::log_softmax_backward(&lp, &ops::nll_loss_backward(lp.dim(), &targets));
    let mut mz = logits.clone();
    let nd = numeric_grad(&mut mz, 1e-3, |z| {
        f64::from(ops::cross_entropy(z, &targets))
    });
    assert!(rel_err(&d, &nd) < 1e-2);
    let sm = ops::softmax(&logits);
    assert!((d[[0, 2]] - (sm[[0, 2]] - 1.0) / 2.0).abs() < 1e-6);
    assert!((d[[1, 1]] - sm[[1, 1]] / 2.0).abs() < 1e-6);
}

#[test]
fn dropout_statistics_and_scaling() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = Array2::<f32>::ones((200, 1000));
    let (out, mask) = ops::dropout(&x, 0.5, &mut rng);
    let dropped = out.iter().filter(|&&v| v == 0.0).count() as f64 / out.len() as f64;
    assert!((dropped - 0.5).abs() < 0.01, "dropped {dropped}");
    assert!(out.iter().all(|&v| v == 0.0 || v == 2.0));
    assert_eq!(ops::dropout_backward(&x, &mask), out);

    let x4 = Array4::<f32>::ones((100, 50, 4, 4));
    let (out, mask) = ops::dropout2d(&x4, 0.2, &mut rng);
    let dropped = mask.iter().filter(|&&v| v == 0.0).count() as f64 / mask.len() as f64;
    assert!((dropped - 0.2).abs() < 0.02, "dropped {dropped}");
    for ((n, c), &m) in mask.indexed_iter() {
        let plane = out.slice(ndarray::s![n, c, .., ..]);
        assert!(plane.iter().all(|&v| v == m), "whole channel {n},{c}");
        assert!(m == 0.0 || (m - 1.25).abs() < 1e-6);
    }
    assert_eq!(ops::dropout2d_backward(&x4, &mask), out);
}

/// The backend's training step (dropouts on) gives the gradients of the same computation
/// written with the array ops and the same masks (both draw them in the same order).
#[test]
fn backend_training_gradients_match_the_composed_ops() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut net = Net::course(4, 3);
    let n = 3;
    let x = rand_arr((n, 3, 128, 128), &mut rng);
    let targets = [2usize, 0, 1];

    let mut backend = CpuBackend::new(Some(2)).unwrap();
    let mut drop_rng = ChaCha8Rng::seed_from_u64(77);
    let stats = backend
        .forward_backward(
            &mut net,
            x.as_slice().unwrap(),
            &targets,
            Some(&mut drop_rng),
        )
        .unwrap();

    // the same forward with the array ops
    let mut drop_rng = ChaCha8Rng::seed_from_u64(77);
    let w = |i| net.conv_weight(i).to_owned();
    let b = |i| net.bias(i).to_owned();
    let c1 = ops::conv2d(&x, &w(idx::CONV1_W), Some(&b(idx::CONV1_B)), 1, 1);
    let (p1, a1) = ops::max_pool2d_with_indices(&c1, 2, 2);
    let r1 = ops::relu(&p1);
    let c2 = ops::conv2d(&r1, &w(idx::CONV2_W), Some(&b(idx::CONV2_B)), 1, 1);
    let (p2, a2) = ops::max_pool2d_with_indices(&c2, 2, 2);
    let r2 = ops::relu(&p2);
    let c3 = ops::conv2d(&r2, &w(idx::CONV3_W), Some(&b(idx::CONV3_B)), 1, 1);
    let (d3, m3) = ops::dropout2d(&c3, 0.2, &mut drop_rng);
    let r3 = ops::relu(&d3);
    let flat = ops::flatten(&r3);
    let (dr, md) = ops::dropout(&flat, 0.5, &mut drop_rng);
    let fcw = net.fc_weight().to_owned();
    let logits = ops::linear(&dr, &fcw, &b(idx::FC_B));
    let lp = ops::log_softmax(&logits);
    let loss = ops::nll_loss(&lp, &targets);
    assert!((loss - stats.loss).abs() < 1e-5 * loss.abs().max(1.0));

    // and back
    let dl = ops::log_softmax_backward(&lp, &ops::nll_loss_backward(lp.dim(), &targets));
    let (ddr, dfcw, dfcb) = ops::linear_backward(&dr, &fcw, &dl);
    let dflat = ops::dropout_backward(&ddr, &md);
    let dr3 = ops::unflatten(&dflat, r3.dim());
    let dd3 = ops::relu_backward(&r3, &dr3);
    let dc3 = ops::dropout2d_backward(&dd3, &m3);
    let (dr2, dw3, db3) = ops::conv2d_backward(&r2, &w(idx::CONV3_W), &dc3, 1, 1);
    let dp2 = ops::relu_backward(&r2, &dr2);
    let dc2 = ops::max_pool2d_backward(&dp2, &a2, c2.dim());
    let (dr1, dw2, db2) = ops::conv2d_backward(&r1, &w(idx::CONV2_W), &dc2, 1, 1);
    let dp1 = ops::relu_backward(&r1, &dr1);
    let dc1 = ops::max_pool2d_backward(&dp1, &a1, c1.dim());
    let (_, dw1, db1) = ops::conv2d_backward(&x, &w(idx::CONV1_W), &dc1, 1, 1);

    let refs: [Vec<f32>; 8] = [
        dw1.into_raw_vec_and_offset().0,
        db1.to_vec(),
        dw2.into_raw_vec_and_offset().0,
        db2.to_vec(),
        dw3.into_raw_vec_and_offset().0,
        db3.to_vec(),
        dfcw.into_raw_vec_and_offset().0,
        dfcb.to_vec(),
    ];
    for ((ours, theirs), p) in backend.grads().iter().zip(&refs).zip(&net.params) {
        let a = Array1::from(ours.clone());
        let b = Array1::from(theirs.clone());
        let e = rel_err(&a, &b);
        assert!(e < 1e-4, "{}: {e}", p.name);
        assert!(b.iter().any(|&v| v != 0.0), "{} has a gradient", p.name);
    }
}
