//! Slice-level forward and backward passes of the layers the convolution kernels
//! ([`super::kernels`], [`super::direct`]) do not cover: average pooling, the activation
//! functions, batch norm and the linear layer, for one image (CHW or a vector) at a time,
//! with PyTorch's semantics. The array ops of [`super::ops`] and the CPU backend call
//! these same functions.

use super::arch::BN_EPS;
use super::kernels::dot;

/// An activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// x, or slope * x below 0.
    Leaky(f32),
}

/// PyTorch's sigmoid for f32 (1 / (1 + e^-x), stable at both ends).
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// e^x for the activations, in straight-line arithmetic the compiler vectorises (the
/// library's `expf` is one call per value): `x = k ln 2 + r` with `|r| <= ln 2 / 2`,
/// `e^r` by its Taylor series to r^7 (relative error under 1e-7), `2^k` put in the
/// exponent bits. `x` is clamped to [-87, 88] (the f32 range).
#[inline(always)]
fn exp_fast(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // round to the nearest integer by adding and removing 1.5 * 2^23
    let shifted = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let k = shifted - 12_582_912.0;
    // ln 2 in two parts, so that k * ln 2 is subtracted without losing r's digits
    let r = (x - k * 0.693_359_4) + k * 2.121_944_4e-4;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    // `shifted`'s low mantissa bits hold k (its bits are 0x4B40_0000 + k), so 2^k's
    // exponent field is (bits - 0x4B40_0000 + 127) << 23: integer arithmetic that
    // vectorises, where a float-to-int cast is a saturating scalar conversion
    let two_k = shifted.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23;
    p * f32::from_bits(two_k)
}

/// tanh(x) from [`exp_fast`]: `(1 - e^-2|x|) / (1 + e^-2|x|)` with the sign of x, and
/// `x - x^3/3` near 0 where that difference would lose digits.
#[inline(always)]
fn tanh_fast(x: f32) -> f32 {
    let a = x.abs();
    let e = exp_fast(-2.0 * a);
    let t = if a < 0.004 {
        a - a * a * a / 3.0
    } else {
        (1.0 - e) / (1.0 + e)
    };
    t.copysign(x)
}

impl Act {
    /// The function at `x`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Tanh => tanh_fast(x),
            Act::Sigmoid => 1.0 / (1.0 + exp_fast(-x)),
            Act::Leaky(s) => {
                if x > 0.0 {
                    x
                } else {
                    x * s
                }
            }
        }
    }

    /// `y = f(x)` for every value (vectorised for the widest instructions the CPU has).
    pub fn forward(self, x: &[f32], y: &mut [f32]) {
        crate::nn::simd::widest(
            #[inline(always)]
            || self.forward_loop(x, y),
        );
    }

    /// [`Act::forward`]'s loops.
    #[inline(always)]
    fn forward_loop(self, x: &[f32], y: &mut [f32]) {
        // one loop per function, so each vectorises
        match self {
            Act::Relu => y.iter_mut().zip(x).for_each(|(o, &v)| *o = v.max(0.0)),
            Act::Tanh => y.iter_mut().zip(x).for_each(|(o, &v)| *o = tanh_fast(v)),
            Act::Sigmoid => y
                .iter_mut()
                .zip(x)
                .for_each(|(o, &v)| *o = 1.0 / (1.0 + exp_fast(-v))),
            Act::Leaky(_) => y.iter_mut().zip(x).for_each(|(o, &v)| *o = self.apply(v)),
        }
    }

    /// `dx = dy * f'(x)`, from the input `x` and output `y` of the forward pass.
    pub fn backward(self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        crate::nn::simd::widest(
            #[inline(always)]
            || self.backward_loop(x, y, dy, dx),
        );
    }

    /// [`Act::backward`]'s loops.
    #[inline(always)]
    fn backward_loop(self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        match self {
            Act::Relu => {
                for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
                    *d = if v > 0.0 { g } else { 0.0 };
                }
            }
            Act::Leaky(s) => {
                for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
                    *d = if v > 0.0 { g } else { g * s };
                }
            }
            Act::Tanh => {
                for ((d, &g), &o) in dx.iter_mut().zip(dy).zip(y) {
                    *d = g * (1.0 - o * o);
                }
            }
            Act::Sigmoid => {
                for ((d, &g), &o) in dx.iter_mut().zip(dy).zip(y) {
                    *d = g * (o * (1.0 - o));
                }
            }
        }
    }
}

/// Output side of a `k` window with step `s` over `n` (floor mode).
pub fn pooled(n: usize, k: usize, s: usize) -> usize {
    (n - k) / s + 1
}

/// Average pooling of one CHW image, `k`x`k` windows, step `s`, floor mode, no padding
/// (each output is the mean of k*k inputs).
pub fn avg_pool_forward(
    x: &[f32],
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    out: &mut [f32],
) {
    crate::nn::simd::widest(
        #[inline(always)]
        || avg_pool_forward_loops(x, c, h, w, k, s, out),
    )
}

/// [`avg_pool_forward`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn avg_pool_forward_loops(
    x: &[f32],
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    out: &mut [f32],
) {
    let (oh, ow) = (pooled(h, k, s), pooled(w, k, s));
    let inv = 1.0 / (k * k) as f32;
    for ci in 0..c {
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = 0.0f32;
                for ky in 0..k {
                    let row = &plane[(oy * s + ky) * w + ox * s..(oy * s + ky) * w + ox * s + k];
                    acc += row.iter().sum::<f32>();
                }
                out[(ci * oh + oy) * ow + ox] = acc * inv;
            }
        }
    }
}

/// Backward of [`avg_pool_forward`]: `dx` (overwritten) gets each output gradient / k^2 at
/// every input of its window.
#[allow(clippy::too_many_arguments)]
pub fn avg_pool_backward(
    dout: &[f32],
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    dx: &mut [f32],
) {
    crate::nn::simd::widest(
        #[inline(always)]
        || avg_pool_backward_loops(dout, c, h, w, k, s, dx),
    )
}

/// [`avg_pool_backward`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn avg_pool_backward_loops(
    dout: &[f32],
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    dx: &mut [f32],
) {
    let (oh, ow) = (pooled(h, k, s), pooled(w, k, s));
    let inv = 1.0 / (k * k) as f32;
    dx.fill(0.0);
    for ci in 0..c {
        let plane = &mut dx[ci * h * w..(ci + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let g = dout[(ci * oh + oy) * ow + ox] * inv;
                for ky in 0..k {
                    let at = (oy * s + ky) * w + ox * s;
                    for v in &mut plane[at..at + k] {
                        *v += g;
                    }
                }
            }
        }
    }
}

/// Batch norm with given statistics for one CHW image: `y = (x - mean) * inv_std * g + b`
/// per channel, where `inv_std = 1 / sqrt(var + eps)`.
pub fn bn_apply(x: &[f32], mean: &[f32], inv_std: &[f32], g: &[f32], b: &[f32], y: &mut [f32]) {
    crate::nn::simd::widest(
        #[inline(always)]
        || bn_apply_loops(x, mean, inv_std, g, b, y),
    )
}

/// [`bn_apply`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn bn_apply_loops(x: &[f32], mean: &[f32], inv_std: &[f32], g: &[f32], b: &[f32], y: &mut [f32]) {
    let c = mean.len();
    let hw = x.len() / c.max(1);
    for ci in 0..c {
        let (m, is, gg, bb) = (mean[ci], inv_std[ci], g[ci], b[ci]);
        for (o, &v) in y[ci * hw..(ci + 1) * hw]
            .iter_mut()
            .zip(&x[ci * hw..(ci + 1) * hw])
        {
            *o = (v - m) * is * gg + bb;
        }
    }
}

/// `1 / sqrt(var + eps)` per channel.
pub fn bn_inv_std(var: &[f32]) -> Vec<f32> {
    var.iter().map(|&v| 1.0 / (v + BN_EPS).sqrt()).collect()
}

/// The sum of `f(v)` over `values`, in f64 with eight running sums (so the additions do
/// not wait on each other), added in a fixed order.
#[inline]
fn sum8(values: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for ch in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(ch) {
            *a += f(v);
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Per channel, the sum and the sum of squared deviations from `mean` of one CHW image
/// (added into `sum` and `sq`; pass `mean` = `None` for the first sweep).
pub fn bn_sums(x: &[f32], c: usize, mean: Option<&[f32]>, out: &mut [f64]) {
    crate::nn::simd::widest(
        #[inline(always)]
        || bn_sums_loops(x, c, mean, out),
    )
}

/// [`bn_sums`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn bn_sums_loops(x: &[f32], c: usize, mean: Option<&[f32]>, out: &mut [f64]) {
    let hw = x.len() / c.max(1);
    for ci in 0..c {
        let plane = &x[ci * hw..(ci + 1) * hw];
        out[ci] += match mean {
            None => sum8(plane, f64::from),
            Some(m) => {
                let m = f64::from(m[ci]);
                sum8(plane, |v| (f64::from(v) - m) * (f64::from(v) - m))
            }
        };
    }
}

/// Per channel, `sum(dy)` and `sum(dy * xhat)` of one CHW image, added into `out`
/// ([c] then [c]); `xhat = (x - mean) * inv_std`.
pub fn bn_grad_sums(dy: &[f32], x: &[f32], mean: &[f32], inv_std: &[f32], out: &mut [f64]) {
    crate::nn::simd::widest(
        #[inline(always)]
        || bn_grad_sums_loops(dy, x, mean, inv_std, out),
    )
}

/// [`bn_grad_sums`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn bn_grad_sums_loops(dy: &[f32], x: &[f32], mean: &[f32], inv_std: &[f32], out: &mut [f64]) {
    let c = mean.len();
    let hw = x.len() / c.max(1);
    let mut prod = vec![0.0f32; hw];
    for ci in 0..c {
        let (m, is) = (mean[ci], inv_std[ci]);
        let g = &dy[ci * hw..(ci + 1) * hw];
        for ((p, &gv), &v) in prod.iter_mut().zip(g).zip(&x[ci * hw..(ci + 1) * hw]) {
            *p = gv * ((v - m) * is);
        }
        out[ci] += sum8(g, f64::from);
        out[c + ci] += sum8(&prod, f64::from);
    }
}

/// Batch norm's input gradient for one CHW image in training mode (batch statistics), from
/// the batch's `sum(dy)` and `sum(dy * xhat)` per channel over `count` values each:
/// `dx = g * inv_std * (dy - sum_dy / count - xhat * sum_dy_xhat / count)`.
#[allow(clippy::too_many_arguments)]
pub fn bn_backward_train(
    dy: &[f32],
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    g: &[f32],
    sums: &[f64],
    count: usize,
    dx: &mut [f32],
) {
    crate::nn::simd::widest(
        #[inline(always)]
        || bn_backward_train_loops(dy, x, mean, inv_std, g, sums, count, dx),
    )
}

/// [`bn_backward_train`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn bn_backward_train_loops(
    dy: &[f32],
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    g: &[f32],
    sums: &[f64],
    count: usize,
    dx: &mut [f32],
) {
    let c = mean.len();
    let hw = x.len() / c.max(1);
    for ci in 0..c {
        let (m, is) = (mean[ci], inv_std[ci]);
        let a = (sums[ci] / count as f64) as f32;
        let b = (sums[c + ci] / count as f64) as f32;
        let k = g[ci] * is;
        for ((d, &gy), &v) in dx[ci * hw..(ci + 1) * hw]
            .iter_mut()
            .zip(&dy[ci * hw..(ci + 1) * hw])
            .zip(&x[ci * hw..(ci + 1) * hw])
        {
            let xhat = (v - m) * is;
            *d = k * (gy - a - xhat * b);
        }
    }
}

/// Batch norm's input gradient in eval mode (fixed statistics): `dx = dy * g * inv_std`.
pub fn bn_backward_eval(dy: &[f32], inv_std: &[f32], g: &[f32], dx: &mut [f32]) {
    crate::nn::simd::widest(
        #[inline(always)]
        || bn_backward_eval_loops(dy, inv_std, g, dx),
    )
}

/// [`bn_backward_eval`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn bn_backward_eval_loops(dy: &[f32], inv_std: &[f32], g: &[f32], dx: &mut [f32]) {
    let c = inv_std.len();
    let hw = dy.len() / c.max(1);
    for ci in 0..c {
        let k = g[ci] * inv_std[ci];
        for (d, &gy) in dx[ci * hw..(ci + 1) * hw]
            .iter_mut()
            .zip(&dy[ci * hw..(ci + 1) * hw])
        {
            *d = gy * k;
        }
    }
}

/// A linear layer for one vector: `y[j] = w[j] . x + b[j]`, `w` [out, in].
pub fn linear_forward(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    let n = x.len();
    for (j, o) in y.iter_mut().enumerate() {
        *o = dot(&w[j * n..(j + 1) * n], x) + b[j];
    }
}

/// Backward of [`linear_forward`]: adds `dy[j] * x` to row j of `dw` and `dy` to `db`;
/// when given, `dx = w^T dy` (overwritten).
pub fn linear_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    let n = x.len();
    for (j, &g) in dy.iter().enumerate() {
        for (d, &v) in dw[j * n..(j + 1) * n].iter_mut().zip(x) {
            *d += g * v;
        }
        db[j] += g;
    }
    if let Some(dx) = dx {
        dx.fill(0.0);
        for (j, &g) in dy.iter().enumerate() {
            for (d, &wv) in dx.iter_mut().zip(&w[j * n..(j + 1) * n]) {
                *d += g * wv;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_pooling_is_the_window_mean_and_spreads_its_gradient() {
        // one 3x3 channel, 2x2 windows with step 1
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = vec![0.0; 4];
        avg_pool_forward(&x, 1, 3, 3, 2, 1, &mut out);
        assert_eq!(out, [3.0, 4.0, 6.0, 7.0]);
        let mut dx = vec![0.0; 9];
        avg_pool_backward(&[1.0, 1.0, 1.0, 1.0], 1, 3, 3, 2, 1, &mut dx);
        assert_eq!(dx, [0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]);
    }

    #[test]
    fn activation_derivatives_match_finite_differences() {
        let xs = [-2.0f32, -0.3, 0.4, 1.7];
        for act in [Act::Relu, Act::Tanh, Act::Sigmoid, Act::Leaky(0.2)] {
            let mut y = [0.0; 4];
            act.forward(&xs, &mut y);
            let mut dx = [0.0; 4];
            act.backward(&xs, &y, &[1.0; 4], &mut dx);
            for (i, &x) in xs.iter().enumerate() {
                let h = 1e-3f64;
                let f = |v: f64| f64::from(act.apply(v as f32));
                let fd = (f(f64::from(x) + h) - f(f64::from(x) - h)) / (2.0 * h);
                assert!(
                    (fd - f64::from(dx[i])).abs() < 1e-3,
                    "{act:?} at {x}: {fd} vs {}",
                    dx[i]
                );
            }
        }
        assert!(sigmoid(-100.0) > 0.0 && sigmoid(-100.0) < 1e-40);
        assert_eq!(sigmoid(100.0), 1.0);
    }

    /// The vectorised exp, tanh and sigmoid against the library's, over the whole range.
    #[test]
    fn fast_activations_match_the_library() {
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for i in -20_000..=20_000 {
            let x = i as f32 * 0.001;
            let rel = |a: f32, b: f32| f64::from((a - b).abs()) / f64::from(b.abs()).max(1e-30);
            worst.0 = worst.0.max(rel(exp_fast(x * 4.0), (x * 4.0).exp()));
            worst.1 = worst
                .1
                .max(f64::from((Act::Tanh.apply(x) - x.tanh()).abs()));
            worst.2 = worst
                .2
                .max(f64::from((Act::Sigmoid.apply(x) - sigmoid(x)).abs()));
        }
        assert!(
            worst.0 < 5e-7 && worst.1 < 3e-7 && worst.2 < 3e-7,
            "{worst:?}"
        );
        assert_eq!(Act::Tanh.apply(-50.0), -1.0);
        assert!(Act::Sigmoid.apply(-200.0) < 1e-30);
        assert_eq!(Act::Sigmoid.apply(200.0), 1.0);
    }

    #[test]
    fn linear_backward_is_the_transpose() {
        let x = [1.0, 2.0];
        let w = [1.0, 0.0, 0.5, -1.0, 2.0, 3.0]; // [3, 2]
        let mut y = [0.0; 3];
        linear_forward(&x, &w, &[0.1, 0.2, 0.3], &mut y);
        assert_eq!(y, [1.1, -1.3, 8.3]);
        let (mut dw, mut db, mut dx) = ([0.0; 6], [0.0; 3], [0.0; 2]);
        linear_backward(&x, &w, &[1.0, 2.0, 3.0], &mut dw, &mut db, Some(&mut dx));
        assert_eq!(dw, [1.0, 2.0, 2.0, 4.0, 3.0, 6.0]);
        assert_eq!(db, [1.0, 2.0, 3.0]);
        assert_eq!(dx, [1.0 + 1.0 + 6.0, 0.0 - 2.0 + 9.0]);
    }
}
