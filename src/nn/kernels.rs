//! Slice-level kernels shared by the array ops in [`super::ops`] and the CPU backend:
//! im2col / col2im, a GEMM wrapper, fused max-pool + ReLU with argmax, and their backward
//! passes. Every buffer is a flat, row-major `f32` slice (one image, CHW), so the hot loops
//! never allocate.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Geometry of one 2-D convolution or pooling window over a CHW image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Window step.
    pub stride: usize,
    /// Zero padding on every side.
    pub pad: usize,
}

impl ConvGeom {
    /// Output height: `(h + 2p - kh) / s + 1` (0 when the kernel does not fit).
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad)
            .checked_sub(self.kh)
            .map_or(0, |v| v / self.stride + 1)
    }
    /// Output width: `(w + 2p - kw) / s + 1` (0 when the kernel does not fit).
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad)
            .checked_sub(self.kw)
            .map_or(0, |v| v / self.stride + 1)
    }
    /// Rows of the im2col matrix: `c * kh * kw`.
    pub fn col_rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the im2col matrix: `oh * ow`.
    pub fn col_cols(&self) -> usize {
        self.oh() * self.ow()
    }
    /// Floats in one input image: `c * h * w`.
    pub fn input_len(&self) -> usize {
        self.c * self.h * self.w
    }
}

/// The output columns `[lo, hi)` whose input column `ox*stride + kx - pad` lies inside
/// the image, for kernel column `kx` (the others read the zero padding).
#[inline(always)]
fn valid_cols(g: &ConvGeom, kx: usize, ow: usize) -> (usize, usize) {
    // ox*s + kx >= pad  <=>  ox >= ceil((pad - kx) / s)
    let lo = g.pad.saturating_sub(kx).div_ceil(g.stride).min(ow);
    // ox*s + kx - pad <= w - 1  <=>  ox <= (w - 1 + pad - kx) / s
    let hi = match (g.w + g.pad).checked_sub(kx + 1) {
        Some(m) => (m / g.stride + 1).min(ow),
        None => 0,
    };
    (lo, hi.max(lo))
}

/// `dst[i] = src[i * stride]` for every `i` of `dst`, in loops the compiler vectorises
/// (whole chunks of `stride` values; the last value alone when its chunk is cut short).
#[inline(always)]
fn copy_strided(dst: &mut [f32], src: &[f32], stride: usize) {
    if stride == 1 {
        dst.copy_from_slice(&src[..dst.len()]);
        return;
    }
    // a constant stride lets the compiler turn the chunks into vector shuffles
    let whole = match stride {
        2 => copy_chunks::<2>(dst, src),
        3 => copy_chunks::<3>(dst, src),
        4 => copy_chunks::<4>(dst, src),
        _ => {
            let whole = (src.len() / stride).min(dst.len());
            for (d, c) in dst[..whole].iter_mut().zip(src.chunks_exact(stride)) {
                *d = c[0];
            }
            whole
        }
    };
    for (i, d) in dst.iter_mut().enumerate().skip(whole) {
        *d = src[i * stride];
    }
}

/// The whole chunks of [`copy_strided`] for a stride known when compiling; returns how
/// many values of `dst` it wrote.
#[inline(always)]
fn copy_chunks<const S: usize>(dst: &mut [f32], src: &[f32]) -> usize {
    let whole = (src.len() / S).min(dst.len());
    let (chunks, _) = src[..whole * S].as_chunks::<S>();
    for (d, c) in dst[..whole].iter_mut().zip(chunks) {
        *d = c[0];
    }
    whole
}

/// `dst[i * stride] += src[i]` for every `i` of `src`: the adjoint of [`copy_strided`].
#[inline(always)]
fn add_strided(dst: &mut [f32], src: &[f32], stride: usize) {
    if stride == 1 {
        for (d, s) in dst[..src.len()].iter_mut().zip(src) {
            *d += *s;
        }
        return;
    }
    let whole = (dst.len() / stride).min(src.len());
    for (c, s) in dst.chunks_exact_mut(stride).zip(&src[..whole]) {
        c[0] += *s;
    }
    for (i, s) in src.iter().enumerate().skip(whole) {
        dst[i * stride] += *s;
    }
}

/// Unfold one CHW image into `col` = [c*kh*kw, oh*ow]: row `(ci, ky, kx)`, column
/// `(oy, ox)` holds `x[ci, oy*s + ky - p, ox*s + kx - p]` (0 outside the image).
pub fn im2col(x: &[f32], g: &ConvGeom, col: &mut [f32]) {
    im2col_rows(x, g, 0..g.oh(), col);
}

/// [`im2col`] for the output rows `rows` only: `col` = [c*kh*kw, rows.len()*ow].
pub fn im2col_rows(x: &[f32], g: &ConvGeom, rows: std::ops::Range<usize>, col: &mut [f32]) {
    crate::nn::simd::widest(
        #[inline(always)]
        || im2col_rows_loops(x, g, rows, col),
    )
}

/// [`im2col_rows`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn im2col_rows_loops(x: &[f32], g: &ConvGeom, rows: std::ops::Range<usize>, col: &mut [f32]) {
    let ow = g.ow();
    let n = rows.len() * ow;
    debug_assert_eq!(x.len(), g.input_len());
    debug_assert!(col.len() >= g.col_rows() * n);
    let mut out = col.chunks_exact_mut(n.max(1));
    for ci in 0..g.c {
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let Some(row) = out.next() else { return };
                for (r, oy) in rows.clone().enumerate() {
                    let dst = &mut row[r * ow..(r + 1) * ow];
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let (lo, hi) = valid_cols(g, kx, ow);
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    if hi > lo {
                        let s0 = lo * g.stride + kx - g.pad;
                        copy_strided(&mut dst[lo..hi], &src[s0..], g.stride);
                    }
                }
            }
        }
    }
}

/// Fold `col` ([c*kh*kw, oh*ow], as [`im2col`] lays it out) back into the CHW image `dx`,
/// summing overlapping windows: the adjoint of [`im2col`]. `dx` is overwritten.
pub fn col2im(col: &[f32], g: &ConvGeom, dx: &mut [f32]) {
    debug_assert_eq!(dx.len(), g.input_len());
    dx.fill(0.0);
    col2im_rows_add(col, g, 0..g.oh(), dx);
}

/// The adjoint of [`im2col_rows`]: adds `col` ([c*kh*kw, rows.len()*ow]) into `dx`.
pub fn col2im_rows_add(col: &[f32], g: &ConvGeom, rows: std::ops::Range<usize>, dx: &mut [f32]) {
    crate::nn::simd::widest(
        #[inline(always)]
        || col2im_rows_add_loops(col, g, rows, dx),
    )
}

/// [`col2im_rows_add`]'s loops, compiled for each vector tier by [`crate::nn::simd::widest`].
#[inline(always)]
fn col2im_rows_add_loops(col: &[f32], g: &ConvGeom, rows: std::ops::Range<usize>, dx: &mut [f32]) {
    let ow = g.ow();
    let n = rows.len() * ow;
    let mut cols = col.chunks_exact(n.max(1));
    for ci in 0..g.c {
        let plane = &mut dx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let Some(row) = cols.next() else { return };
                for (r, oy) in rows.clone().enumerate() {
                    let srow = &row[r * ow..(r + 1) * ow];
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let drow = &mut plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let (lo, hi) = valid_cols(g, kx, ow);
                    if hi > lo {
                        let s0 = lo * g.stride + kx - g.pad;
                        add_strided(&mut drow[s0..], &srow[lo..hi], g.stride);
                    }
                }
            }
        }
    }
}

/// Output rows per block of the tiled convolution: as many as keep one block's unfolded
/// input near 64K floats (256 KB, in a core's L2 cache), at least one.
pub fn block_rows(g: &ConvGeom) -> usize {
    let per_row = (g.col_rows() * g.ow()).max(1);
    (65_536 / per_row).clamp(1, g.oh().max(1))
}

/// Floats of scratch [`conv_forward_tiled`] and [`conv_backward_tiled`] need.
pub fn tiled_scratch(g: &ConvGeom) -> usize {
    g.col_rows() * block_rows(g) * g.ow()
}

fn cols_of<'a>(m: &'a mut [f32], rows: usize, cols: usize) -> ArrayViewMut2<'a, f32> {
    ArrayViewMut2::from_shape((rows, cols), &mut m[..rows * cols])
        .unwrap_or_else(|_| unreachable!("cut to rows*cols"))
}

/// Forward convolution of one CHW image, unfolding the input one block of output rows at
/// a time ([`block_rows`]) so the unfolded block stays in cache: `out` [cout, oh*ow] =
/// `w` [cout, c*kh*kw] x im2col(x) + bias. `col` is scratch of [`tiled_scratch`] floats.
pub fn conv_forward_tiled(
    x: &[f32],
    g: &ConvGeom,
    w: &[f32],
    bias: Option<&[f32]>,
    col: &mut [f32],
    out: &mut [f32],
) {
    let k = g.col_rows();
    let cout = w.len() / k.max(1);
    let (oh, ow) = (g.oh(), g.ow());
    let p = oh * ow;
    match bias {
        Some(b) => {
            for (row, &bv) in out.chunks_exact_mut(p).zip(b) {
                row.fill(bv);
            }
        }
        None => out[..cout * p].fill(0.0),
    }
    let wv = view(w, cout, k);
    let mut outv = cols_of(out, cout, p);
    let step = block_rows(g);
    let mut oy = 0;
    while oy < oh {
        let end = (oy + step).min(oh);
        let n = (end - oy) * ow;
        im2col_rows(x, g, oy..end, col);
        let cb = view(col, k, n);
        let mut ob = outv.slice_mut(ndarray::s![.., oy * ow..end * ow]);
        general_mat_mul(1.0, &wv, &cb, 1.0, &mut ob);
        oy = end;
    }
}

/// Backward of [`conv_forward_tiled`] for one image, from its input `x` (the input is
/// unfolded again, block by block): adds d loss / d w to `dw` and d loss / d bias to
/// `db`; when `dx` is given, writes d loss / d x into it. `scratch` holds twice
/// [`tiled_scratch`] floats.
#[allow(clippy::too_many_arguments)]
pub fn conv_backward_tiled(
    dout: &[f32],
    x: &[f32],
    g: &ConvGeom,
    w: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    let p = g.oh() * g.ow();
    for (d, row) in db.iter_mut().zip(dout.chunks_exact(p)) {
        *d += row.iter().sum::<f32>();
    }
    backward_rows(dout, g, w, Some((x, dw)), dx, scratch);
}

/// The input gradient alone of [`conv_backward_tiled`]: d loss / d x written into `dx`.
/// `scratch` holds twice [`tiled_scratch`] floats.
pub fn conv_input_grad_tiled(
    dout: &[f32],
    g: &ConvGeom,
    w: &[f32],
    dx: &mut [f32],
    scratch: &mut [f32],
) {
    backward_rows(dout, g, w, None, Some(dx), scratch);
}

/// [`conv_backward_tiled`]'s GEMMs, a block of output rows at a time: with `x` and `dw`,
/// `dw += dout x im2col(x)^T`; with `dx`, `dx = col2im(w^T x dout)`.
fn backward_rows(
    dout: &[f32],
    g: &ConvGeom,
    w: &[f32],
    mut weights: Option<(&[f32], &mut [f32])>,
    mut dx: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    let k = g.col_rows();
    let cout = w.len() / k.max(1);
    let (oh, ow) = (g.oh(), g.ow());
    let p = oh * ow;
    let half = tiled_scratch(g);
    let (col, dcol) = scratch.split_at_mut(half);
    let dv = view(dout, cout, p);
    let wv = view(w, cout, k);
    if let Some(d) = dx.as_deref_mut() {
        d.fill(0.0);
    }
    let step = block_rows(g);
    let mut oy = 0;
    while oy < oh {
        let end = (oy + step).min(oh);
        let n = (end - oy) * ow;
        let db_ = dv.slice(ndarray::s![.., oy * ow..end * ow]);
        if let Some((x, dw)) = weights.as_mut() {
            im2col_rows(x, g, oy..end, col);
            let cb = view(col, k, n);
            let mut dwv = cols_of(dw, cout, k);
            general_mat_mul(1.0, &db_, &cb.t(), 1.0, &mut dwv);
        }
        if let Some(d) = dx.as_deref_mut() {
            let mut dc = cols_of(dcol, k, n);
            general_mat_mul(1.0, &wv.t(), &db_, 0.0, &mut dc);
            col2im_rows_add(&dcol[..k * n], g, oy..end, d);
        }
        oy = end;
    }
}

/// `c = alpha * op(a) * op(b) + beta * c` on row-major slices, where `op(a)` is [m, k]
/// (`a` stored [k, m] when `trans_a`) and `op(b)` is [k, n] (`b` stored [n, k] when `trans_b`).
/// Runs on the calling thread (matrixmultiply's packed kernels).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    trans_a: bool,
    b: &[f32],
    trans_b: bool,
    beta: f32,
    c: &mut [f32],
) {
    let a = if trans_a {
        view(a, k, m).reversed_axes()
    } else {
        view(a, m, k)
    };
    let b = if trans_b {
        view(b, n, k).reversed_axes()
    } else {
        view(b, k, n)
    };
    let mut c = ArrayViewMut2::from_shape((m, n), &mut c[..m * n])
        .unwrap_or_else(|_| unreachable!("gemm: c is sliced to m*n"));
    general_mat_mul(alpha, &a, &b, beta, &mut c);
}

fn view(s: &[f32], rows: usize, cols: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, cols), &s[..rows * cols])
        .unwrap_or_else(|_| unreachable!("view: slice is cut to rows*cols"))
}

/// Forward convolution of one CHW image: `out` [cout, oh*ow] = `w` [cout, c*kh*kw] x
/// im2col(x) + bias. `col` is scratch of `g.col_rows() * g.col_cols()` floats and keeps
/// the unfolded input (needed again by [`conv_backward`]).
pub fn conv_forward(
    x: &[f32],
    g: &ConvGeom,
    w: &[f32],
    bias: Option<&[f32]>,
    col: &mut [f32],
    out: &mut [f32],
) {
    let cout = w.len() / g.col_rows().max(1);
    let p = g.col_cols();
    im2col(x, g, col);
    match bias {
        Some(b) => {
            for (row, &bv) in out.chunks_exact_mut(p).zip(b) {
                row.fill(bv);
            }
        }
        None => out[..cout * p].fill(0.0),
    }
    gemm(cout, g.col_rows(), p, 1.0, w, false, col, false, 1.0, out);
}

/// Backward of [`conv_forward`] for one image. Adds d loss / d w to `dw` ([cout, c*kh*kw])
/// and d loss / d bias to `db`; when `dx` is given, writes d loss / d x into it using
/// `dcol` (scratch the size of `col`). `col` must hold im2col(x) from the forward pass.
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    dout: &[f32],
    g: &ConvGeom,
    w: &[f32],
    col: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<(&mut [f32], &mut [f32])>,
) {
    let k = g.col_rows();
    let p = g.col_cols();
    let cout = w.len() / k.max(1);
    gemm(cout, p, k, 1.0, dout, false, col, true, 1.0, dw);
    for (d, row) in db.iter_mut().zip(dout.chunks_exact(p)) {
        *d += row.iter().sum::<f32>();
    }
    if let Some((dx, dcol)) = dx {
        gemm(k, cout, p, 1.0, w, true, dout, false, 0.0, dcol);
        col2im(dcol, g, dx);
    }
}

/// Max pooling of one CHW image with a `k`x`k` window and step `s` (floor mode), optionally
/// followed by ReLU (`relu = true` gives relu(pool(x)) in one pass). `arg` receives, for
/// every output, the flat index in `x` of the maximum (the first one on ties, as PyTorch).
#[allow(clippy::too_many_arguments)]
pub fn max_pool_forward(
    x: &[f32],
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    relu: bool,
    out: &mut [f32],
    arg: &mut [u32],
) {
    let oh = (h - k) / s + 1;
    let ow = (w - k) / s + 1;
    if k == 2 && s == 2 {
        for ci in 0..c {
            let base = ci * h * w;
            for oy in 0..oh {
                let r0 = base + 2 * oy * w;
                let r1 = r0 + w;
                let o = (ci * oh + oy) * ow;
                for ox in 0..ow {
                    let i0 = r0 + 2 * ox;
                    let cand = [i0, i0 + 1, r1 + 2 * ox, r1 + 2 * ox + 1];
                    let mut bi = cand[0];
                    let mut bv = x[bi];
                    for &i in &cand[1..] {
                        let v = x[i];
                        if v > bv || v.is_nan() {
                            bv = v;
                            bi = i;
                        }
                    }
                    out[o + ox] = if relu { bv.max(0.0) } else { bv };
                    arg[o + ox] = bi as u32;
                }
            }
        }
        return;
    }
    for ci in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut bi = ci * h * w + oy * s * w + ox * s;
                let mut bv = x[bi];
                for ky in 0..k {
                    for kx in 0..k {
                        let i = ci * h * w + (oy * s + ky) * w + ox * s + kx;
                        let v = x[i];
                        if v > bv || v.is_nan() {
                            bv = v;
                            bi = i;
                        }
                    }
                }
                let o = (ci * oh + oy) * ow + ox;
                out[o] = if relu { bv.max(0.0) } else { bv };
                arg[o] = bi as u32;
            }
        }
    }
}

/// Backward of [`max_pool_forward`]: `dx` (overwritten, input-sized) gets each output
/// gradient at its argmax. With `relu`, gradients pass only where the output was > 0.
pub fn max_pool_backward(dout: &[f32], out: &[f32], arg: &[u32], relu: bool, dx: &mut [f32]) {
    dx.fill(0.0);
    for ((&d, &o), &a) in dout.iter().zip(out).zip(arg) {
        if !relu || o > 0.0 {
            dx[a as usize] += d;
        }
    }
}

/// Dot product with four independent accumulators (fast and still well within f32 error).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    let s0 = (acc[0] + acc[4]) + (acc[1] + acc[5]);
    let s1 = (acc[2] + acc[6]) + (acc[3] + acc[7]);
    s0 + s1 + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// im2col against its definition, for strides and paddings that leave columns out.
    #[test]
    fn im2col_is_its_definition() {
        for (h, w, k, stride, pad) in [
            (7, 9, 3, 2, 2),
            (8, 5, 5, 3, 0),
            (6, 6, 2, 2, 1),
            (5, 11, 4, 3, 3),
        ] {
            let g = ConvGeom {
                c: 2,
                h,
                w,
                kh: k,
                kw: k,
                stride,
                pad,
            };
            let x: Vec<f32> = (0..g.input_len()).map(|i| i as f32 + 1.0).collect();
            let (oh, ow) = (g.oh(), g.ow());
            let mut col = vec![-1.0; g.col_rows() * oh * ow];
            im2col(&x, &g, &mut col);
            for ci in 0..2 {
                for ky in 0..k {
                    for kx in 0..k {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let iy = (oy * stride + ky) as isize - pad as isize;
                                let ix = (ox * stride + kx) as isize - pad as isize;
                                let want =
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        0.0
                                    } else {
                                        x[(ci * h + iy as usize) * w + ix as usize]
                                    };
                                let row = (ci * k + ky) * k + kx;
                                assert_eq!(
                                    col[row * oh * ow + oy * ow + ox],
                                    want,
                                    "{g:?} {ci} {ky} {kx} {oy} {ox}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The tiled convolution gives the untiled one's numbers, whatever the blocks.
    #[test]
    fn tiled_convolution_equals_the_whole_image_one() {
        for (c, h, k, stride, pad, cout) in [
            (3, 40, 5, 2, 2, 4),
            (2, 33, 3, 1, 0, 3),
            (4, 64, 7, 1, 3, 5),
            (1, 9, 1, 3, 1, 2),
        ] {
            let g = ConvGeom {
                c,
                h,
                w: h + 3,
                kh: k,
                kw: k,
                stride,
                pad,
            };
            let x: Vec<f32> = (0..g.input_len())
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let wn = cout * g.col_rows();
            let w: Vec<f32> = (0..wn)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 14.0)
                .collect();
            let b: Vec<f32> = (0..cout).map(|i| i as f32 * 0.1).collect();
            let p = g.col_cols();
            let (mut col, mut a, mut t) = (
                vec![0.0; g.col_rows() * p],
                vec![0.0; cout * p],
                vec![0.0; cout * p],
            );
            conv_forward(&x, &g, &w, Some(&b), &mut col, &mut a);
            let mut scratch = vec![0.0; 2 * tiled_scratch(&g)];
            conv_forward_tiled(&x, &g, &w, Some(&b), &mut scratch, &mut t);
            let close = |u: &[f32], v: &[f32]| {
                u.iter()
                    .zip(v)
                    .all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + q.abs()))
            };
            assert!(close(&a, &t), "forward {g:?}");
            let dout: Vec<f32> = (0..cout * p)
                .map(|i| ((i * 7 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let (mut dw1, mut db1, mut dx1, mut dcol) = (
                vec![0.0; wn],
                vec![0.0; cout],
                vec![0.0; g.input_len()],
                vec![0.0; g.col_rows() * p],
            );
            conv_backward(
                &dout,
                &g,
                &w,
                &col,
                &mut dw1,
                &mut db1,
                Some((&mut dx1, &mut dcol)),
            );
            let (mut dw2, mut db2, mut dx2) =
                (vec![0.0; wn], vec![0.0; cout], vec![0.0; g.input_len()]);
            conv_backward_tiled(
                &dout,
                &x,
                &g,
                &w,
                &mut dw2,
                &mut db2,
                Some(&mut dx2),
                &mut scratch,
            );
            assert!(
                close(&dw1, &dw2) && close(&db1, &db2) && close(&dx1, &dx2),
                "backward {g:?}"
            );
        }
    }

    #[test]
    fn im2col_then_col2im_counts_window_overlaps() {
        let g = ConvGeom {
            c: 2,
            h: 5,
            w: 4,
            kh: 3,
            kw: 3,
            stride: 1,
            pad: 1,
        };
        let x = vec![1.0; g.input_len()];
        let mut col = vec![0.0; g.col_rows() * g.col_cols()];
        im2col(&x, &g, &mut col);
        let mut back = vec![0.0; g.input_len()];
        col2im(&col, &g, &mut back);
        // a corner pixel is covered by 4 windows, an interior one by 9
        assert_eq!(back[0], 4.0);
        assert_eq!(back[g.w + 1], 9.0);
        assert_eq!(back[g.w], 6.0);
    }

    #[test]
    fn pool_picks_first_of_ties() {
        let x = [3.0, 3.0, 1.0, 3.0];
        let mut out = [0.0];
        let mut arg = [9];
        max_pool_forward(&x, 1, 2, 2, 2, 2, false, &mut out, &mut arg);
        assert_eq!((out[0], arg[0]), (3.0, 0));
    }
}
