//! Forward ops on ndarray tensors, NCHW, f32, with PyTorch's semantics.
//!
//! These signatures are the contract the lessons and the trainer share; the bodies may be
//! replaced by faster ones as long as the numbers stay PyTorch's.

use ndarray::{Array, Array1, Array2, Array4, Axis, Dimension};
use rand::Rng;

/// 2-D convolution (cross-correlation, as PyTorch's `Conv2d`).
/// `x`: [N, C_in, H, W], `w`: [C_out, C_in, kH, kW], `b`: [C_out].
/// Zero padding of `padding` cells on every side, window step `stride`.
/// Output: [N, C_out, (H + 2p - kH) / s + 1, (W + 2p - kW) / s + 1].
pub fn conv2d(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: Option<&Array1<f32>>,
    stride: usize,
    padding: usize,
) -> Array4<f32> {
    let (n, cin, h, wd) = x.dim();
    let (cout, wcin, kh, kw) = w.dim();
    assert_eq!(
        cin, wcin,
        "conv2d: input has {cin} channels, weight expects {wcin}"
    );
    assert!(stride > 0, "conv2d: stride must be at least 1");
    let oh = (h + 2 * padding - kh) / stride + 1;
    let ow = (wd + 2 * padding - kw) / stride + 1;
    let mut out = Array4::<f32>::zeros((n, cout, oh, ow));
    for ni in 0..n {
        for co in 0..cout {
            let bias = b.map_or(0.0, |b| b[co]);
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0f32;
                    for ci in 0..cin {
                        for ky in 0..kh {
                            let iy = (oy * stride + ky) as isize - padding as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (ox * stride + kx) as isize - padding as isize;
                                if ix < 0 || ix >= wd as isize {
                                    continue;
                                }
                                acc += x[[ni, ci, iy as usize, ix as usize]] * w[[co, ci, ky, kx]];
                            }
                        }
                    }
                    out[[ni, co, oy, ox]] = acc + bias;
                }
            }
        }
    }
    out
}

/// Rectified linear unit: negatives become 0.
pub fn relu<D: Dimension>(x: &Array<f32, D>) -> Array<f32, D> {
    x.mapv(|v| v.max(0.0))
}

/// Max pooling with a square `kernel` and `stride` (PyTorch's `MaxPool2d(kernel)` uses stride = kernel).
/// Windows that do not fit are dropped (floor mode).
pub fn max_pool2d(x: &Array4<f32>, kernel: usize, stride: usize) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let oh = (h - kernel) / stride + 1;
    let ow = (w - kernel) / stride + 1;
    Array4::from_shape_fn((n, c, oh, ow), |(ni, ci, oy, ox)| {
        let mut m = f32::NEG_INFINITY;
        for ky in 0..kernel {
            for kx in 0..kernel {
                let v = x[[ni, ci, oy * stride + ky, ox * stride + kx]];
                if v > m || v.is_nan() {
                    m = v;
                }
            }
        }
        m
    })
}

/// Elementwise dropout in training mode: each value is zeroed with probability `p`,
/// kept values are scaled by 1/(1-p). Returns the output and the mask (0 or 1/(1-p)).
pub fn dropout<D: Dimension>(
    x: &Array<f32, D>,
    p: f32,
    rng: &mut impl Rng,
) -> (Array<f32, D>, Array<f32, D>) {
    let scale = keep_scale(p);
    let mask = x.mapv(|_| if rng.gen::<f32>() < p { 0.0 } else { scale });
    (x * &mask, mask)
}

/// Channel dropout (PyTorch's `Dropout2d`) in training mode: each whole feature map
/// (n, c) is zeroed with probability `p`, kept maps are scaled by 1/(1-p).
/// Returns the output and the [N, C] mask (0 or 1/(1-p)).
pub fn dropout2d(x: &Array4<f32>, p: f32, rng: &mut impl Rng) -> (Array4<f32>, Array2<f32>) {
    let (n, c, _, _) = x.dim();
    let scale = keep_scale(p);
    let mask = Array2::from_shape_fn((n, c), |_| if rng.gen::<f32>() < p { 0.0 } else { scale });
    let mut out = x.clone();
    for ((ni, ci), &m) in mask.indexed_iter() {
        out.index_axis_mut(Axis(0), ni)
            .index_axis_mut(Axis(0), ci)
            .mapv_inplace(|v| v * m);
    }
    (out, mask)
}

fn keep_scale(p: f32) -> f32 {
    if p >= 1.0 {
        0.0
    } else {
        1.0 / (1.0 - p)
    }
}

/// Flatten [N, C, H, W] to [N, C*H*W] in PyTorch's `view` order (row-major).
pub fn flatten(x: &Array4<f32>) -> Array2<f32> {
    let (n, c, h, w) = x.dim();
    x.as_standard_layout()
        .to_owned()
        .into_shape_with_order((n, c * h * w))
        .expect("a standard-layout array reshapes")
}

/// Fully connected layer: `x` [N, in], `w` [out, in] (PyTorch's layout), `b` [out] → [N, out].
pub fn linear(x: &Array2<f32>, w: &Array2<f32>, b: &Array1<f32>) -> Array2<f32> {
    x.dot(&w.t()) + b
}

/// Softmax over each row.
pub fn softmax(x: &Array2<f32>) -> Array2<f32> {
    log_softmax(x).mapv(f32::exp)
}

/// Log-softmax over each row, computed stably (max subtracted first).
pub fn log_softmax(x: &Array2<f32>) -> Array2<f32> {
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let lse = row.fold(0.0f32, |a, &v| a + (v - m).exp()).ln() + m;
        row.mapv_inplace(|v| v - lse);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The seed course's 6x6 image and 3x3 filter: the first window gives 155.
    #[test]
    fn seed_first_window_is_155() {
        let img = array![
            [255., 255., 255., 255., 255., 255.],
            [255., 255., 100., 255., 255., 255.],
            [255., 100., 100., 100., 255., 255.],
            [100., 100., 100., 100., 100., 255.],
            [255., 255., 255., 255., 255., 255.],
            [255., 255., 255., 255., 255., 255.]
        ]
        .into_shape_with_order((1, 1, 6, 6))
        .unwrap();
        let k = array![[1., -1., 1.], [-1., 0., -1.], [1., -1., 1.]]
            .into_shape_with_order((1, 1, 3, 3))
            .unwrap();
        let out = conv2d(&img, &k, None, 1, 0);
        assert_eq!(out.dim(), (1, 1, 4, 4));
        assert_eq!(out[[0, 0, 0, 0]], 155.0);
        assert_eq!(out[[0, 0, 0, 1]], -155.0);
        assert_eq!(out[[0, 0, 1, 1]], 310.0);
    }

    #[test]
    fn pooling_keeps_the_maximum() {
        let x = array![[0., 0.], [0., 155.]]
            .into_shape_with_order((1, 1, 2, 2))
            .unwrap();
        assert_eq!(max_pool2d(&x, 2, 2)[[0, 0, 0, 0]], 155.0);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let p = softmax(&array![[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]]);
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6);
        }
        assert!(p[[1, 0]] > 0.999);
    }
}
