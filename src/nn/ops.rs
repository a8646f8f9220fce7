//! Forward ops on ndarray tensors, NCHW, f32, with PyTorch's semantics.
//!
//! These signatures are the contract the lessons and the trainer share; the bodies may be
//! replaced by faster ones as long as the numbers stay PyTorch's.

use ndarray::{Array, Array1, Array2, Array4, Axis, Dimension, Zip};
use rand::Rng;

use super::direct;
use super::dropout::{draw, keep_scale};
use super::kernels::{
    conv_backward, conv_forward, im2col, max_pool_backward, max_pool_forward, ConvGeom,
};
use super::layers;

/// 2-D convolution (cross-correlation, as PyTorch's `Conv2d`). 3x3 kernels with stride 1
/// and padding 1 (the net's) run the direct kernel of [`super::direct`]; everything else
/// runs im2col + GEMM.
/// `x`: `[N, C_in, H, W]`, `w`: `[C_out, C_in, kH, kW]`, `b`: `[C_out]`.
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
    let g = ConvGeom {
        c: cin,
        h,
        w: wd,
        kh,
        kw,
        stride,
        pad: padding,
    };
    let (oh, ow) = (g.oh(), g.ow());
    let x = x.as_standard_layout();
    let wflat = w.as_standard_layout();
    let wflat = wflat
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let bias: Option<Vec<f32>> = b.map(|b| b.to_vec());
    let mut out = Array4::<f32>::zeros((n, cout, oh, ow));
    if oh * ow == 0 || n == 0 {
        return out;
    }
    let xs = x
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let outs = out
        .as_slice_mut()
        .unwrap_or_else(|| unreachable!("fresh array"));
    if (kh, kw, stride, padding) == (3, 3, 1, 1) {
        // the net's convolution: the same direct kernel the CPU backend trains with
        let mut xp = vec![0.0f32; direct::padded_len(cin, h, wd)];
        for (xi, oi) in xs
            .chunks_exact(g.input_len().max(1))
            .zip(outs.chunks_exact_mut(cout * oh * ow))
        {
            direct::pad1(xi, cin, h, wd, &mut xp);
            direct::conv3x3_forward(&xp, cin, h, wd, wflat, bias.as_deref(), cout, oi);
        }
        return out;
    }
    let mut col = vec![0.0f32; g.col_rows() * g.col_cols()];
    for (xi, oi) in xs
        .chunks_exact(g.input_len().max(1))
        .zip(outs.chunks_exact_mut(cout * oh * ow))
    {
        conv_forward(xi, &g, wflat, bias.as_deref(), &mut col, oi);
    }
    out
}

/// Gradients of [`conv2d`]: given the input `x`, the weight `w` and d loss / d output
/// `dout`, returns (d loss / d x, d loss / d w, d loss / d bias).
pub fn conv2d_backward(
    x: &Array4<f32>,
    w: &Array4<f32>,
    dout: &Array4<f32>,
    stride: usize,
    padding: usize,
) -> (Array4<f32>, Array4<f32>, Array1<f32>) {
    let (n, cin, h, wd) = x.dim();
    let (cout, _, kh, kw) = w.dim();
    let g = ConvGeom {
        c: cin,
        h,
        w: wd,
        kh,
        kw,
        stride,
        pad: padding,
    };
    assert_eq!(
        dout.dim(),
        (n, cout, g.oh(), g.ow()),
        "conv2d_backward: dout has the wrong shape"
    );
    let x = x.as_standard_layout();
    let wl = w.as_standard_layout();
    let dout = dout.as_standard_layout();
    let ws = wl
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let mut dx = Array4::<f32>::zeros((n, cin, h, wd));
    let mut dw = Array4::<f32>::zeros((cout, cin, kh, kw));
    let mut db = Array1::<f32>::zeros(cout);
    let p = g.col_cols();
    if n == 0 || p == 0 {
        return (dx, dw, db);
    }
    let mut col = vec![0.0f32; g.col_rows() * p];
    let mut dcol = vec![0.0f32; g.col_rows() * p];
    let xs = x
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let ds = dout
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let dxs = dx.as_slice_mut().unwrap_or_else(|| unreachable!("fresh"));
    let dws = dw.as_slice_mut().unwrap_or_else(|| unreachable!("fresh"));
    let dbs = db.as_slice_mut().unwrap_or_else(|| unreachable!("fresh"));
    for ((xi, di), dxi) in xs
        .chunks_exact(g.input_len())
        .zip(ds.chunks_exact(cout * p))
        .zip(dxs.chunks_exact_mut(g.input_len()))
    {
        im2col(xi, &g, &mut col);
        conv_backward(di, &g, ws, &col, dws, dbs, Some((dxi, &mut dcol)));
    }
    (dx, dw, db)
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

/// Average pooling with a square `kernel` and `stride` (floor mode, no padding):
/// PyTorch's `AvgPool2d(kernel, stride)`.
pub fn avg_pool2d(x: &Array4<f32>, kernel: usize, stride: usize) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    let (oh, ow) = (
        layers::pooled(h, kernel, stride),
        layers::pooled(w, kernel, stride),
    );
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let mut out = Array4::<f32>::zeros((n, c, oh, ow));
    let outs = out
        .as_slice_mut()
        .unwrap_or_else(|| unreachable!("fresh array"));
    for (xi, oi) in xs
        .chunks_exact((c * h * w).max(1))
        .zip(outs.chunks_exact_mut((c * oh * ow).max(1)))
    {
        layers::avg_pool_forward(xi, c, h, w, kernel, stride, oi);
    }
    out
}

/// The logistic function, as PyTorch's `sigmoid`.
pub fn sigmoid(x: f32) -> f32 {
    layers::sigmoid(x)
}

/// Leaky ReLU: `x` above 0, `slope * x` otherwise.
pub fn leaky_relu(x: f32, slope: f32) -> f32 {
    layers::Act::Leaky(slope).apply(x)
}

/// BatchNorm2d in eval mode: per channel `(x - running_mean) / sqrt(running_var + eps) *
/// weight + bias`.
pub fn batch_norm_eval(
    x: &Array4<f32>,
    weight: &Array1<f32>,
    bias: &Array1<f32>,
    running_mean: &Array1<f32>,
    running_var: &Array1<f32>,
) -> Array4<f32> {
    let (_, c, h, w) = x.dim();
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let mut out = Array4::<f32>::zeros(x.dim());
    let outs = out
        .as_slice_mut()
        .unwrap_or_else(|| unreachable!("fresh array"));
    let v = |a: &Array1<f32>| a.to_vec();
    let inv = layers::bn_inv_std(&v(running_var));
    let (m, g, b) = (v(running_mean), v(weight), v(bias));
    for (xi, oi) in xs
        .chunks_exact((c * h * w).max(1))
        .zip(outs.chunks_exact_mut((c * h * w).max(1)))
    {
        layers::bn_apply(xi, &m, &inv, &g, &b, oi);
    }
    out
}

/// BatchNorm2d in training mode: per channel, the batch's mean and biased variance over
/// N x H x W; returns the output and those statistics (mean, variance).
pub fn batch_norm_train(
    x: &Array4<f32>,
    weight: &Array1<f32>,
    bias: &Array1<f32>,
) -> (Array4<f32>, Vec<f32>, Vec<f32>) {
    let (n, c, h, w) = x.dim();
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let len = (c * h * w).max(1);
    let count = (n * h * w).max(1) as f64;
    let mut sum = vec![0.0f64; c];
    for xi in xs.chunks_exact(len) {
        layers::bn_sums(xi, c, None, &mut sum);
    }
    let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
    let mut sq = vec![0.0f64; c];
    for xi in xs.chunks_exact(len) {
        layers::bn_sums(xi, c, Some(&mean), &mut sq);
    }
    let var: Vec<f32> = sq.iter().map(|s| (s / count) as f32).collect();
    let inv = layers::bn_inv_std(&var);
    let (g, b) = (weight.to_vec(), bias.to_vec());
    let mut out = Array4::<f32>::zeros(x.dim());
    let outs = out
        .as_slice_mut()
        .unwrap_or_else(|| unreachable!("fresh array"));
    for (xi, oi) in xs.chunks_exact(len).zip(outs.chunks_exact_mut(len)) {
        layers::bn_apply(xi, &mean, &inv, &g, &b, oi);
    }
    (out, mean, var)
}

/// Elementwise dropout in training mode: each value is zeroed with probability `p`,
/// kept values are scaled by 1/(1-p). Returns the output and the mask (0 or 1/(1-p)).
pub fn dropout<D: Dimension>(
    x: &Array<f32, D>,
    p: f32,
    rng: &mut impl Rng,
) -> (Array<f32, D>, Array<f32, D>) {
    let scale = keep_scale(p);
    let mask = x.mapv(|_| draw(rng, p, scale));
    (x * &mask, mask)
}

/// Channel dropout (PyTorch's `Dropout2d`) in training mode: each whole feature map
/// (n, c) is zeroed with probability `p`, kept maps are scaled by 1/(1-p).
/// Returns the output and the [N, C] mask (0 or 1/(1-p)).
pub fn dropout2d(x: &Array4<f32>, p: f32, rng: &mut impl Rng) -> (Array4<f32>, Array2<f32>) {
    let (n, c, _, _) = x.dim();
    let scale = keep_scale(p);
    let mask = Array2::from_shape_fn((n, c), |_| draw(rng, p, scale));
    let mut out = x.clone();
    for ((ni, ci), &m) in mask.indexed_iter() {
        out.index_axis_mut(Axis(0), ni)
            .index_axis_mut(Axis(0), ci)
            .mapv_inplace(|v| v * m);
    }
    (out, mask)
}

/// Flatten [N, C, H, W] to [N, C*H*W] in PyTorch's `view` order (row-major).
pub fn flatten(x: &Array4<f32>) -> Array2<f32> {
    let (n, c, h, w) = x.dim();
    x.as_standard_layout()
        .to_owned()
        .into_shape_with_order((n, c * h * w))
        .expect("a standard-layout array reshapes")
}

/// Fully connected layer: `x` `[N, in]`, `w` `[out, in]` (PyTorch's layout), `b` `[out]` → `[N, out]`.
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

/// Max pooling that also returns, for every output, where its maximum was: the flat CHW
/// index inside the same image (the first maximum on ties, as PyTorch).
/// Feed both to [`max_pool2d_backward`].
pub fn max_pool2d_with_indices(
    x: &Array4<f32>,
    kernel: usize,
    stride: usize,
) -> (Array4<f32>, Array4<u32>) {
    let (n, c, h, w) = x.dim();
    assert!(
        kernel >= 1 && stride >= 1 && kernel <= h && kernel <= w,
        "max_pool2d: kernel {kernel} does not fit a {h}x{w} input"
    );
    let oh = (h - kernel) / stride + 1;
    let ow = (w - kernel) / stride + 1;
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let mut out = Array4::<f32>::zeros((n, c, oh, ow));
    let mut arg = Array4::<u32>::zeros((n, c, oh, ow));
    let os = out.as_slice_mut().unwrap_or_else(|| unreachable!("fresh"));
    let as_ = arg.as_slice_mut().unwrap_or_else(|| unreachable!("fresh"));
    let per_in = c * h * w;
    let per_out = c * oh * ow;
    if per_in == 0 || per_out == 0 {
        return (out, arg);
    }
    for ((xi, oi), ai) in xs
        .chunks_exact(per_in)
        .zip(os.chunks_exact_mut(per_out))
        .zip(as_.chunks_exact_mut(per_out))
    {
        max_pool_forward(xi, c, h, w, kernel, stride, false, oi, ai);
    }
    (out, arg)
}

/// Gradient of max pooling: each output gradient goes to its maximum's position.
/// `indices` come from [`max_pool2d_with_indices`]; `input_dim` is the input's shape.
pub fn max_pool2d_backward(
    dout: &Array4<f32>,
    indices: &Array4<u32>,
    input_dim: (usize, usize, usize, usize),
) -> Array4<f32> {
    let (n, c, h, w) = input_dim;
    let mut dx = Array4::<f32>::zeros(input_dim);
    let dout = dout.as_standard_layout();
    let indices = indices.as_standard_layout();
    let ds = dout
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let is = indices
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard layout"));
    let dxs = dx.as_slice_mut().unwrap_or_else(|| unreachable!("fresh"));
    let per_out = ds.len() / n.max(1);
    if per_out == 0 || c * h * w == 0 {
        return dx;
    }
    for ((di, ii), dxi) in ds
        .chunks_exact(per_out)
        .zip(is.chunks_exact(per_out))
        .zip(dxs.chunks_exact_mut(c * h * w))
    {
        max_pool_backward(di, di, ii, false, dxi);
    }
    dx
}

/// Gradient of [`relu`]: `dout` where the ReLU's output (or input) `y` is > 0, else 0
/// (PyTorch's rule: the gradient at exactly 0 is 0).
pub fn relu_backward<D: Dimension>(y: &Array<f32, D>, dout: &Array<f32, D>) -> Array<f32, D> {
    let mut dx = dout.clone();
    Zip::from(&mut dx).and(y).for_each(|d, &v| {
        if v <= 0.0 {
            *d = 0.0;
        }
    });
    dx
}

/// Gradient of [`dropout`]: `dout * mask` (the mask already holds 0 or 1/(1-p)).
pub fn dropout_backward<D: Dimension>(dout: &Array<f32, D>, mask: &Array<f32, D>) -> Array<f32, D> {
    dout * mask
}

/// Gradient of [`dropout2d`]: each (n, c) plane of `dout` times its mask value.
pub fn dropout2d_backward(dout: &Array4<f32>, mask: &Array2<f32>) -> Array4<f32> {
    let mut dx = dout.clone();
    for ((ni, ci), &m) in mask.indexed_iter() {
        dx.index_axis_mut(Axis(0), ni)
            .index_axis_mut(Axis(0), ci)
            .mapv_inplace(|v| v * m);
    }
    dx
}

/// Inverse of [`flatten`] for gradients: [N, C*H*W] back to [N, C, H, W].
pub fn unflatten(x: &Array2<f32>, dim: (usize, usize, usize, usize)) -> Array4<f32> {
    x.as_standard_layout()
        .to_owned()
        .into_shape_with_order(dim)
        .unwrap_or_else(|_| panic!("unflatten: {:?} does not hold {dim:?}", x.dim()))
}

/// Gradients of [`linear`]: given `x` [N, in], `w` [out, in] and `dout` [N, out], returns
/// (d x `[N, in]`, d w `[out, in]`, d b `[out]`).
pub fn linear_backward(
    x: &Array2<f32>,
    w: &Array2<f32>,
    dout: &Array2<f32>,
) -> (Array2<f32>, Array2<f32>, Array1<f32>) {
    (dout.dot(w), dout.t().dot(x), dout.sum_axis(Axis(0)))
}

/// Gradient of [`log_softmax`] (rows): `dout - softmax * sum(dout)`, from its output `y`.
pub fn log_softmax_backward(y: &Array2<f32>, dout: &Array2<f32>) -> Array2<f32> {
    let mut dx = dout.clone();
    for (mut drow, yrow) in dx.rows_mut().into_iter().zip(y.rows()) {
        let s: f32 = drow.sum();
        Zip::from(&mut drow)
            .and(&yrow)
            .for_each(|d, &v| *d -= v.exp() * s);
    }
    dx
}

/// Negative log-likelihood, mean over the batch (PyTorch's `nll_loss`): `-mean(y[i, t_i])`.
/// `log_probs` [N, classes], `targets` N class indices (each < classes).
pub fn nll_loss(log_probs: &Array2<f32>, targets: &[usize]) -> f32 {
    let n = targets.len();
    assert_eq!(log_probs.nrows(), n, "nll_loss: one target per row");
    let sum: f32 = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| -log_probs[[i, t]])
        .sum();
    sum / n as f32
}

/// Gradient of [`nll_loss`] with respect to the log-probabilities: -1/N at each target.
pub fn nll_loss_backward(shape: (usize, usize), targets: &[usize]) -> Array2<f32> {
    let mut d = Array2::<f32>::zeros(shape);
    let scale = 1.0 / targets.len().max(1) as f32;
    for (i, &t) in targets.iter().enumerate() {
        d[[i, t]] = -scale;
    }
    d
}

/// Cross-entropy of raw scores (PyTorch's `CrossEntropyLoss`, mean over the batch):
/// `nll_loss(log_softmax(logits), targets)`.
pub fn cross_entropy(logits: &Array2<f32>, targets: &[usize]) -> f32 {
    nll_loss(&log_softmax(logits), targets)
}

/// The seed course's 6x6 greyscale image, for tests here and in the lessons.
#[cfg(test)]
pub(crate) fn seed_image() -> ndarray::Array2<f32> {
    ndarray::array![
        [255., 255., 255., 255., 255., 255.],
        [255., 255., 100., 255., 255., 255.],
        [255., 100., 100., 100., 255., 255.],
        [100., 100., 100., 100., 100., 255.],
        [255., 255., 255., 255., 255., 255.],
        [255., 255., 255., 255., 255., 255.]
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The seed course's 6x6 image and 3x3 filter: the first window gives 155.
    #[test]
    fn seed_first_window_is_155() {
        let img = seed_image().into_shape_with_order((1, 1, 6, 6)).unwrap();
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
