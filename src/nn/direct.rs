//! Direct 3x3 convolution, stride 1, padding 1: the only convolution the shapes net uses,
//! written so the compiler vectorises it along image rows, with an AVX2+FMA build of each
//! kernel chosen at run time on x86-64.
//!
//! Inputs are kept zero-padded ([c, h+2, w+2]) so the loops have no edge cases. The input
//! gradient is the same forward kernel run on the padded output gradient with the kernel
//! flipped and its channel axes swapped ([`flip_weights`]).

/// Copy CHW `x` into `xp` = [c, h+2, w+2] with a zero border.
pub fn pad1(x: &[f32], c: usize, h: usize, w: usize, xp: &mut [f32]) {
    let (ph, pw) = (h + 2, w + 2);
    debug_assert_eq!(xp.len(), c * ph * pw);
    for ci in 0..c {
        let plane = &mut xp[ci * ph * pw..(ci + 1) * ph * pw];
        plane[..pw].fill(0.0);
        plane[(ph - 1) * pw..].fill(0.0);
        for y in 0..h {
            let row = &mut plane[(y + 1) * pw..(y + 2) * pw];
            row[0] = 0.0;
            row[pw - 1] = 0.0;
            row[1..=w].copy_from_slice(&x[(ci * h + y) * w..(ci * h + y + 1) * w]);
        }
    }
}

/// `wf[ci][co][ky][kx] = w[co][ci][2-ky][2-kx]`: the kernel that maps output gradients
/// back to input gradients.
pub fn flip_weights(w: &[f32], cout: usize, cin: usize, wf: &mut [f32]) {
    for co in 0..cout {
        for ci in 0..cin {
            for k in 0..9 {
                wf[(ci * cout + co) * 9 + (8 - k)] = w[(co * cin + ci) * 9 + k];
            }
        }
    }
}

/// Forward: `out` [cout, h, w] = bias + conv(xp, w), `xp` padded [cin, h+2, w+2],
/// `w` [cout, cin, 3, 3]. With `bias = None` the output starts at 0.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_forward(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    wt: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        Simd::Avx512 if w.is_multiple_of(wide::V) => {
            // SAFETY: the CPU supports AVX-512F and VL, AVX2 and FMA (checked at run time by
            // `simd_level`).
            unsafe { wide::forward(xp, cin, h, w, wt, bias, cout, out) };
            return;
        }
        Simd::Avx512 => {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked at run time by
            // `simd_level`), which is all `forward_avx512` requires beyond its safe body.
            unsafe { forward_avx512(xp, cin, h, w, wt, bias, cout, out) };
            return;
        }
        Simd::Avx2 => {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time by `simd_level`).
            unsafe { forward_avx2(xp, cin, h, w, wt, bias, cout, out) };
            return;
        }
        Simd::Baseline => {}
    }
    forward_impl::<false>(xp, cin, h, w, wt, bias, cout, out);
}

/// Weight and bias gradients: `dw` `[cout, cin, 3, 3]` += `Σ dout[co] ⋆ xp[ci]`, `db` += `Σ dout`.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_weight_grad(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    dout: &[f32],
    cout: usize,
    dw: &mut [f32],
    db: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        Simd::Avx512 if w.is_multiple_of(wide::V) => {
            // SAFETY: the CPU supports AVX-512F and VL, AVX2 and FMA (checked at run time by
            // `simd_level`).
            unsafe { wide::weight_grad(xp, cin, h, w, dout, cout, dw, db) };
            return;
        }
        Simd::Avx512 => {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked by `simd_level`).
            unsafe { weight_grad_avx512(xp, cin, h, w, dout, cout, dw, db) };
            return;
        }
        Simd::Avx2 => {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time by `simd_level`).
            unsafe { weight_grad_avx2(xp, cin, h, w, dout, cout, dw, db) };
            return;
        }
        Simd::Baseline => {}
    }
    weight_grad_impl::<false>(xp, cin, h, w, dout, cout, dw, db);
}

#[cfg(target_arch = "x86_64")]
use super::simd::{simd_level, Simd};

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn forward_avx512(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    wt: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    out: &mut [f32],
) {
    forward_impl::<true>(xp, cin, h, w, wt, bias, cout, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn weight_grad_avx512(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    dout: &[f32],
    cout: usize,
    dw: &mut [f32],
    db: &mut [f32],
) {
    weight_grad_impl::<true>(xp, cin, h, w, dout, cout, dw, db);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn forward_avx2(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    wt: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    out: &mut [f32],
) {
    forward_impl::<true>(xp, cin, h, w, wt, bias, cout, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn weight_grad_avx2(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    dout: &[f32],
    cout: usize,
    dw: &mut [f32],
    db: &mut [f32],
) {
    weight_grad_impl::<true>(xp, cin, h, w, dout, cout, dw, db);
}

/// `a * b + c`, fused when the build target has FMA (`FMA = true` only under it).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward_impl<const FMA: bool>(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    wt: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    out: &mut [f32],
) {
    let pw = w + 2;
    let plane = (h + 2) * pw;
    for co in 0..cout {
        let o_plane = &mut out[co * h * w..(co + 1) * h * w];
        let bv = bias.map_or(0.0, |b| b[co]);
        if cin == 0 {
            o_plane.fill(bv);
        }
        for ci in 0..cin {
            let k = &wt[(co * cin + ci) * 9..(co * cin + ci) * 9 + 9];
            let (k0, k1, k2, k3, k4, k5, k6, k7, k8) =
                (k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]);
            let first = ci == 0;
            let src = &xp[ci * plane..(ci + 1) * plane];
            let row = |y: usize| &src[y * pw..y * pw + pw];
            // two output rows per pass share three of their four input rows
            let mut y = 0;
            while y + 2 <= h {
                let (r0, r1, r2, r3) = (row(y), row(y + 1), row(y + 2), row(y + 3));
                let (oa, ob) = o_plane[y * w..(y + 2) * w].split_at_mut(w);
                let (a0, a1, a2) = (&r0[..w], &r0[1..w + 1], &r0[2..w + 2]);
                let (b0, b1, b2) = (&r1[..w], &r1[1..w + 1], &r1[2..w + 2]);
                let (c0, c1, c2) = (&r2[..w], &r2[1..w + 1], &r2[2..w + 2]);
                let (d0, d1, d2) = (&r3[..w], &r3[1..w + 1], &r3[2..w + 2]);
                let (oa, ob) = (&mut oa[..w], &mut ob[..w]);
                for x in 0..w {
                    let (va0, va1, va2) = (a0[x], a1[x], a2[x]);
                    let (vb0, vb1, vb2) = (b0[x], b1[x], b2[x]);
                    let (vc0, vc1, vc2) = (c0[x], c1[x], c2[x]);
                    let (vd0, vd1, vd2) = (d0[x], d1[x], d2[x]);
                    let s0 = madd::<FMA>(k2, va2, madd::<FMA>(k1, va1, k0 * va0));
                    let s1 = madd::<FMA>(k5, vb2, madd::<FMA>(k4, vb1, k3 * vb0));
                    let s2 = madd::<FMA>(k8, vc2, madd::<FMA>(k7, vc1, k6 * vc0));
                    let t0 = madd::<FMA>(k2, vb2, madd::<FMA>(k1, vb1, k0 * vb0));
                    let t1 = madd::<FMA>(k5, vc2, madd::<FMA>(k4, vc1, k3 * vc0));
                    let t2 = madd::<FMA>(k8, vd2, madd::<FMA>(k7, vd1, k6 * vd0));
                    // the first input channel starts from the bias instead of the output
                    let (pa, pb) = if first { (bv, bv) } else { (oa[x], ob[x]) };
                    oa[x] = pa + ((s0 + s1) + s2);
                    ob[x] = pb + ((t0 + t1) + t2);
                }
                y += 2;
            }
            if y < h {
                let (r0, r1, r2) = (row(y), row(y + 1), row(y + 2));
                let o = &mut o_plane[y * w..y * w + w];
                let (a0, a1, a2) = (&r0[..w], &r0[1..w + 1], &r0[2..w + 2]);
                let (b0, b1, b2) = (&r1[..w], &r1[1..w + 1], &r1[2..w + 2]);
                let (c0, c1, c2) = (&r2[..w], &r2[1..w + 1], &r2[2..w + 2]);
                for x in 0..w {
                    let s0 = madd::<FMA>(k2, a2[x], madd::<FMA>(k1, a1[x], k0 * a0[x]));
                    let s1 = madd::<FMA>(k5, b2[x], madd::<FMA>(k4, b1[x], k3 * b0[x]));
                    let s2 = madd::<FMA>(k8, c2[x], madd::<FMA>(k7, c1[x], k6 * c0[x]));
                    let p = if first { bv } else { o[x] };
                    o[x] = p + ((s0 + s1) + s2);
                }
            }
        }
    }
}

/// relu(max_pool2d(x, 2, 2)) of one CHW image (`h`, `w` even), recording for each output
/// which input of its window was the maximum: `code` 0..=3 in row-major window order, the
/// first one on ties (as PyTorch). Written as selects so that it vectorises; NaN inputs
/// are not propagated (a NaN loss stops training anyway).
pub fn pool2_relu_forward(
    x: &[f32],
    c: usize,
    h: usize,
    w: usize,
    out: &mut [f32],
    code: &mut [u8],
) {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        Simd::Avx512 => {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked by `simd_level`).
            unsafe { pool_avx512(x, c, h, w, out, code) };
            return;
        }
        Simd::Avx2 => {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time by `simd_level`).
            unsafe { pool_avx2(x, c, h, w, out, code) };
            return;
        }
        Simd::Baseline => {}
    }
    pool_impl(x, c, h, w, out, code);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn pool_avx512(x: &[f32], c: usize, h: usize, w: usize, out: &mut [f32], code: &mut [u8]) {
    pool_impl(x, c, h, w, out, code);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn pool_avx2(x: &[f32], c: usize, h: usize, w: usize, out: &mut [f32], code: &mut [u8]) {
    pool_impl(x, c, h, w, out, code);
}

#[inline(always)]
fn pool_impl(x: &[f32], c: usize, h: usize, w: usize, out: &mut [f32], code: &mut [u8]) {
    let (oh, ow) = (h / 2, w / 2);
    for ci in 0..c {
        for oy in 0..oh {
            let r0 = &x[(ci * h + 2 * oy) * w..(ci * h + 2 * oy) * w + 2 * ow];
            let r1 = &x[(ci * h + 2 * oy + 1) * w..(ci * h + 2 * oy + 1) * w + 2 * ow];
            let o = &mut out[(ci * oh + oy) * ow..(ci * oh + oy) * ow + ow];
            let k = &mut code[(ci * oh + oy) * ow..(ci * oh + oy) * ow + ow];
            for ox in 0..ow {
                let (a, b) = (r0[2 * ox], r0[2 * ox + 1]);
                let (cc, d) = (r1[2 * ox], r1[2 * ox + 1]);
                let m0 = if b > a { b } else { a };
                let m1 = if d > cc { d } else { cc };
                let m = if m1 > m0 { m1 } else { m0 };
                let i1: u8 = if b > a { 1 } else { 0 };
                let i2: u8 = if d > cc { 3 } else { 2 };
                k[ox] = if m1 > m0 { i2 } else { i1 };
                o[ox] = if m > 0.0 { m } else { 0.0 };
            }
        }
    }
}

/// Backward of [`pool2_relu_forward`]: `dx` (overwritten) gets each output gradient where
/// the output was > 0, at the window position its `code` names, and 0 elsewhere. Written
/// as dense selects (no scatter, no branches on the data) so that it vectorises.
pub fn pool2_relu_backward(
    dout: &[f32],
    out: &[f32],
    code: &[u8],
    c: usize,
    h: usize,
    w: usize,
    dx: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        Simd::Avx512 if h.is_multiple_of(2) && w.is_multiple_of(2 * wide::V) => {
            // SAFETY: the CPU supports AVX-512F and VL, AVX2 and FMA (checked at run time by
            // `simd_level`).
            unsafe { wide::pool_back(dout, out, code, c, h, w, dx) };
            return;
        }
        Simd::Avx512 => {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked by `simd_level`).
            unsafe { pool_back_avx512(dout, out, code, c, h, w, dx) };
            return;
        }
        Simd::Avx2 => {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time by `simd_level`).
            unsafe { pool_back_avx2(dout, out, code, c, h, w, dx) };
            return;
        }
        Simd::Baseline => {}
    }
    pool_back_impl(dout, out, code, c, h, w, dx);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn pool_back_avx512(
    dout: &[f32],
    out: &[f32],
    code: &[u8],
    c: usize,
    h: usize,
    w: usize,
    dx: &mut [f32],
) {
    pool_back_impl(dout, out, code, c, h, w, dx);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn pool_back_avx2(
    dout: &[f32],
    out: &[f32],
    code: &[u8],
    c: usize,
    h: usize,
    w: usize,
    dx: &mut [f32],
) {
    pool_back_impl(dout, out, code, c, h, w, dx);
}

#[inline(always)]
fn pool_back_impl(
    dout: &[f32],
    out: &[f32],
    code: &[u8],
    c: usize,
    h: usize,
    w: usize,
    dx: &mut [f32],
) {
    let (oh, ow) = (h / 2, w / 2);
    if h % 2 == 1 || w % 2 == 1 {
        // a last row or column outside every window gets no gradient
        dx.fill(0.0);
    }
    for ci in 0..c {
        for oy in 0..oh {
            let o = (ci * oh + oy) * ow;
            let (d, ov, k) = (&dout[o..o + ow], &out[o..o + ow], &code[o..o + ow]);
            let base = (ci * h + 2 * oy) * w;
            let (r0, r1) = dx[base..base + 2 * w].split_at_mut(w);
            let (r0, r1) = (&mut r0[..2 * ow], &mut r1[..2 * ow]);
            for ox in 0..ow {
                let g = if ov[ox] > 0.0 { d[ox] } else { 0.0 };
                let kk = k[ox];
                r0[2 * ox] = if kk == 0 { g } else { 0.0 };
                r0[2 * ox + 1] = if kk == 1 { g } else { 0.0 };
                r1[2 * ox] = if kk == 2 { g } else { 0.0 };
                r1[2 * ox + 1] = if kk == 3 { g } else { 0.0 };
            }
        }
    }
}

/// Lanes accumulated side by side in the weight-gradient reductions.
const LANES: usize = 8;

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn weight_grad_impl<const FMA: bool>(
    xp: &[f32],
    cin: usize,
    h: usize,
    w: usize,
    dout: &[f32],
    cout: usize,
    dw: &mut [f32],
    db: &mut [f32],
) {
    let pw = w + 2;
    let plane = (h + 2) * pw;
    let full = w / LANES * LANES;
    for co in 0..cout {
        let d_plane = &dout[co * h * w..(co + 1) * h * w];
        db[co] += d_plane.iter().sum::<f32>();
        for ci in 0..cin {
            let src = &xp[ci * plane..(ci + 1) * plane];
            // acc[k][lane]: tap k = ky*3 + kx
            let mut acc = [[0.0f32; LANES]; 9];
            let mut tail = [0.0f32; 9];
            for y in 0..h {
                let d = &d_plane[y * w..y * w + w];
                let r0 = &src[y * pw..y * pw + pw];
                let r1 = &src[(y + 1) * pw..(y + 1) * pw + pw];
                let r2 = &src[(y + 2) * pw..(y + 2) * pw + pw];
                let mut x0 = 0;
                while x0 < full {
                    let dv: &[f32; LANES] = d[x0..x0 + LANES]
                        .try_into()
                        .unwrap_or_else(|_| unreachable!("LANES long"));
                    for (ky, r) in [r0, r1, r2].into_iter().enumerate() {
                        for kx in 0..3 {
                            let sv: &[f32; LANES] = r[x0 + kx..x0 + kx + LANES]
                                .try_into()
                                .unwrap_or_else(|_| unreachable!("LANES long"));
                            let a = &mut acc[ky * 3 + kx];
                            for l in 0..LANES {
                                a[l] = madd::<FMA>(dv[l], sv[l], a[l]);
                            }
                        }
                    }
                    x0 += LANES;
                }
                for x in full..w {
                    for (ky, r) in [r0, r1, r2].into_iter().enumerate() {
                        for kx in 0..3 {
                            tail[ky * 3 + kx] += d[x] * r[x + kx];
                        }
                    }
                }
            }
            let g = &mut dw[(co * cin + ci) * 9..(co * cin + ci) * 9 + 9];
            for k in 0..9 {
                let a = &acc[k];
                let s = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
                g[k] += s + tail[k];
            }
        }
    }
}

/// AVX-512 kernels for rows that are a whole number of 16-float vectors (all the shapes
/// net's layers: 128, 64 and 32 wide). They block several output channels together so
/// that each input vector loaded is used for all of them, and keep the sums in registers
/// across the input channels instead of re-reading the output plane for each.
#[cfg(target_arch = "x86_64")]
mod wide {
    use std::arch::x86_64::*;

    /// Floats in one vector.
    pub const V: usize = 16;
    /// Weight gradients of two output channels per pass (else one). With AVX-512VL
    /// enabled the compiler keeps all 18 sums in registers (without it, it used only
    /// zmm0-20 and spilled some to the stack inside the loop).
    const PAIRS: bool = true;

    /// [`super::conv3x3_forward`] for `w % 16 == 0`, with the same rounding: every output
    /// is `bias + Σ_ci ((s0 + s1) + s2)`, `s_r` being row `r` of the 3x3 window summed
    /// left to right with fused multiply-adds, exactly as the portable kernel does it.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512VL.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn forward(
        xp: &[f32],
        cin: usize,
        h: usize,
        w: usize,
        wt: &[f32],
        bias: Option<&[f32]>,
        cout: usize,
        out: &mut [f32],
    ) {
        assert!(w.is_multiple_of(V));
        assert!(xp.len() >= cin * (h + 2) * (w + 2));
        assert!(wt.len() >= cout * cin * 9);
        assert!(out.len() >= cout * h * w);
        assert!(bias.is_none_or(|b| b.len() >= cout));
        // six output channels per pass (every layer of the net has 12 or 24): six sums,
        // nine input vectors and the row temporaries fit the 32 vector registers
        let mut co = 0;
        while co + 6 <= cout {
            // SAFETY: AVX-512F and VL are enabled here; the lengths were checked above.
            unsafe { forward_block::<6>(xp, cin, h, w, wt, bias, co, out) };
            co += 6;
        }
        while co < cout {
            // SAFETY: as above.
            unsafe { forward_block::<1>(xp, cin, h, w, wt, bias, co, out) };
            co += 1;
        }
    }

    /// Output channels `co0..co0 + NB` of [`forward`].
    ///
    /// # Safety
    /// AVX-512F and VL; `xp` holds `cin` padded planes, `wt` holds the kernels of channels up to
    /// `co0 + NB`, `out` their planes, `bias` (if any) their biases, and `w % 16 == 0`.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn forward_block<const NB: usize>(
        xp: &[f32],
        cin: usize,
        h: usize,
        w: usize,
        wt: &[f32],
        bias: Option<&[f32]>,
        co0: usize,
        out: &mut [f32],
    ) {
        let pw = w + 2;
        let plane = (h + 2) * pw;
        let xp = xp.as_ptr();
        let wt = wt.as_ptr();
        let out = out.as_mut_ptr();
        for y in 0..h {
            for x0 in (0..w).step_by(V) {
                let mut acc = [_mm512_setzero_ps(); NB];
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_set1_ps(bias.map_or(0.0, |b| b[co0 + j]));
                }
                for ci in 0..cin {
                    // SAFETY: the window's top-left input is at (ci, y, x0) of the padded
                    // planes; the last float read, (ci, y + 2, x0 + 17), is at most the
                    // last of plane ci since x0 + 16 <= w. Kernel (co, ci) lies within
                    // `wt` for co < co0 + NB. Unaligned loads are allowed.
                    unsafe {
                        let r0 = xp.add(ci * plane + y * pw + x0);
                        let (r1, r2) = (r0.add(pw), r0.add(2 * pw));
                        let a0 = _mm512_loadu_ps(r0);
                        let a1 = _mm512_loadu_ps(r0.add(1));
                        let a2 = _mm512_loadu_ps(r0.add(2));
                        let b0 = _mm512_loadu_ps(r1);
                        let b1 = _mm512_loadu_ps(r1.add(1));
                        let b2 = _mm512_loadu_ps(r1.add(2));
                        let c0 = _mm512_loadu_ps(r2);
                        let c1 = _mm512_loadu_ps(r2.add(1));
                        let c2 = _mm512_loadu_ps(r2.add(2));
                        for (j, a) in acc.iter_mut().enumerate() {
                            let k = wt.add(((co0 + j) * cin + ci) * 9);
                            let kv = |i: usize| _mm512_set1_ps(*k.add(i));
                            let s0 = _mm512_fmadd_ps(
                                kv(2),
                                a2,
                                _mm512_fmadd_ps(kv(1), a1, _mm512_mul_ps(kv(0), a0)),
                            );
                            let s1 = _mm512_fmadd_ps(
                                kv(5),
                                b2,
                                _mm512_fmadd_ps(kv(4), b1, _mm512_mul_ps(kv(3), b0)),
                            );
                            let s2 = _mm512_fmadd_ps(
                                kv(8),
                                c2,
                                _mm512_fmadd_ps(kv(7), c1, _mm512_mul_ps(kv(6), c0)),
                            );
                            *a = _mm512_add_ps(*a, _mm512_add_ps(_mm512_add_ps(s0, s1), s2));
                        }
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    // SAFETY: output (co0 + j, y, x0..x0 + 16) lies within `out`.
                    unsafe { _mm512_storeu_ps(out.add(((co0 + j) * h + y) * w + x0), *a) };
                }
            }
        }
    }

    /// [`super::conv3x3_weight_grad`] for `w % 16 == 0`: two output channels at a time,
    /// 18 vector sums of 16 lanes; the bias gradient is summed in vectors too.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512VL.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn weight_grad(
        xp: &[f32],
        cin: usize,
        h: usize,
        w: usize,
        dout: &[f32],
        cout: usize,
        dw: &mut [f32],
        db: &mut [f32],
    ) {
        assert!(w.is_multiple_of(V));
        assert!(xp.len() >= cin * (h + 2) * (w + 2));
        assert!(dout.len() >= cout * h * w);
        assert!(dw.len() >= cout * cin * 9);
        assert!(db.len() >= cout);
        let mut co = 0;
        while PAIRS && co + 2 <= cout {
            // SAFETY: AVX-512F and VL are enabled here; the lengths were checked above.
            unsafe { weight_grad_block::<true>(xp, cin, h, w, dout, co, dw, db) };
            co += 2;
        }
        while co < cout {
            // SAFETY: as above.
            unsafe { weight_grad_block::<false>(xp, cin, h, w, dout, co, dw, db) };
            co += 1;
        }
    }

    /// Output channels `co0` and `co0 + 1` of [`weight_grad`], or only `co0` when `!PAIR`.
    /// The eighteen sums are named variables so that they stay in registers.
    ///
    /// # Safety
    /// AVX-512F and VL; `xp` holds `cin` padded planes, `dout` the planes of channels up to
    /// `co0 + 1` (`co0` when `!PAIR`), `dw` and `db` their gradients, and `w % 16 == 0`.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn weight_grad_block<const PAIR: bool>(
        xp: &[f32],
        cin: usize,
        h: usize,
        w: usize,
        dout: &[f32],
        co0: usize,
        dw: &mut [f32],
        db: &mut [f32],
    ) {
        let pw = w + 2;
        let plane = (h + 2) * pw;
        let xpp = xp.as_ptr();
        let dp = dout.as_ptr();
        // without PAIR the second channel's sums are computed from the first's gradient
        // and thrown away (a layer with an odd channel count is not on the hot path)
        let co1 = if PAIR { co0 + 1 } else { co0 };
        for ci in 0..cin {
            let z = _mm512_setzero_ps();
            let (mut p0, mut p1, mut p2, mut p3, mut p4, mut p5, mut p6, mut p7, mut p8) =
                (z, z, z, z, z, z, z, z, z);
            let (mut q0, mut q1, mut q2, mut q3, mut q4, mut q5, mut q6, mut q7, mut q8) =
                (z, z, z, z, z, z, z, z, z);
            for y in 0..h {
                for x0 in (0..w).step_by(V) {
                    // SAFETY: as in `forward_block`, the nine shifted vectors lie within
                    // padded plane ci; gradient (co, y, x0..x0 + 16) lies within `dout`
                    // for co <= co1.
                    unsafe {
                        let r = xpp.add(ci * plane + y * pw + x0);
                        let d0 = _mm512_loadu_ps(dp.add((co0 * h + y) * w + x0));
                        let d1 = _mm512_loadu_ps(dp.add((co1 * h + y) * w + x0));
                        macro_rules! tap {
                            ($p:ident, $q:ident, $off:expr) => {
                                let s = _mm512_loadu_ps(r.add($off));
                                $p = _mm512_fmadd_ps(d0, s, $p);
                                if PAIR {
                                    $q = _mm512_fmadd_ps(d1, s, $q);
                                }
                            };
                        }
                        tap!(p0, q0, 0);
                        tap!(p1, q1, 1);
                        tap!(p2, q2, 2);
                        tap!(p3, q3, pw);
                        tap!(p4, q4, pw + 1);
                        tap!(p5, q5, pw + 2);
                        tap!(p6, q6, 2 * pw);
                        tap!(p7, q7, 2 * pw + 1);
                        tap!(p8, q8, 2 * pw + 2);
                    }
                }
            }
            let sums = [
                [p0, p1, p2, p3, p4, p5, p6, p7, p8],
                [q0, q1, q2, q3, q4, q5, q6, q7, q8],
            ];
            for (co, a) in [co0, co1]
                .into_iter()
                .zip(&sums)
                .take(1 + usize::from(PAIR))
            {
                let g = &mut dw[(co * cin + ci) * 9..(co * cin + ci) * 9 + 9];
                for (gk, ak) in g.iter_mut().zip(a) {
                    *gk += _mm512_reduce_add_ps(*ak);
                }
            }
        }
        for co in [co0, co1].into_iter().take(1 + usize::from(PAIR)) {
            // SAFETY: AVX-512F and VL are enabled here; plane co of `dout` exists.
            db[co] += unsafe { sum(&dout[co * h * w..(co + 1) * h * w]) };
        }
    }

    /// [`super::pool2_relu_backward`] for even `h` and `w % 32 == 0`, 16 windows at a
    /// time: four masked copies of the gradient, one per window position, interleaved
    /// into the two input rows. The same values as the portable loop, bit for bit.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and AVX-512VL.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub unsafe fn pool_back(
        dout: &[f32],
        out: &[f32],
        code: &[u8],
        c: usize,
        h: usize,
        w: usize,
        dx: &mut [f32],
    ) {
        let (oh, ow) = (h / 2, w / 2);
        assert!(h.is_multiple_of(2) && ow.is_multiple_of(V));
        let n = c * oh * ow;
        assert!(dout.len() >= n && out.len() >= n && code.len() >= n);
        assert!(dx.len() >= c * h * w);
        // lanes of (a, b) interleaved: a0 b0 a1 b1 ... (low half, then high half)
        let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        let zero = _mm512_setzero_ps();
        let dx = dx.as_mut_ptr();
        for row in 0..c * oh {
            // output row `row` covers input rows 2 * row and 2 * row + 1 (channel planes
            // of even height follow each other without a gap)
            for ox0 in (0..ow).step_by(V) {
                let o = row * ow + ox0;
                // SAFETY: o + 16 <= n, checked against the three inputs above; the stores
                // write input columns 2 * ox0 .. 2 * ox0 + 32 <= w of rows 2 * row and
                // 2 * row + 1 < c * h, within `dx`.
                unsafe {
                    let g = _mm512_loadu_ps(dout.as_ptr().add(o));
                    let pos = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(
                        _mm512_loadu_ps(out.as_ptr().add(o)),
                        zero,
                    );
                    let k = _mm512_cvtepu8_epi32(_mm_loadu_si128(code.as_ptr().add(o).cast()));
                    let at = |i: i32| {
                        let m = pos & _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(i));
                        _mm512_maskz_mov_ps(m, g)
                    };
                    let (s0, s1, s2, s3) = (at(0), at(1), at(2), at(3));
                    let r0 = dx.add(2 * row * w + 2 * ox0);
                    let r1 = r0.add(w);
                    _mm512_storeu_ps(r0, _mm512_permutex2var_ps(s0, lo, s1));
                    _mm512_storeu_ps(r0.add(V), _mm512_permutex2var_ps(s0, hi, s1));
                    _mm512_storeu_ps(r1, _mm512_permutex2var_ps(s2, lo, s3));
                    _mm512_storeu_ps(r1.add(V), _mm512_permutex2var_ps(s2, hi, s3));
                }
            }
        }
    }

    /// Sum of `x` (`x.len() % 16 == 0`) in four vector accumulators.
    ///
    /// # Safety
    /// AVX-512F and VL.
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn sum(x: &[f32]) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut chunks = x.chunks_exact(4 * V);
        for c in &mut chunks {
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: c holds 4 * V floats, so c[j * V..] holds at least V.
                *a = _mm512_add_ps(*a, unsafe { _mm512_loadu_ps(c.as_ptr().add(j * V)) });
            }
        }
        for c in chunks.remainder().chunks_exact(V) {
            // SAFETY: c holds exactly V floats.
            acc[0] = _mm512_add_ps(acc[0], unsafe { _mm512_loadu_ps(c.as_ptr()) });
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::{conv_backward, conv_forward, ConvGeom};

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 2000) as f32 / 1000.0 - 1.0)
            .collect()
    }

    #[test]
    fn fused_pool_relu_matches_pool_then_relu_with_ties() {
        use crate::nn::kernels::{max_pool_backward, max_pool_forward};
        // small integers: many ties inside windows, negatives for the relu; odd sizes
        // leave a last row and column outside every window
        for (c, h, w) in [(3, 6, 8), (2, 7, 9), (2, 4, 64)] {
            let x: Vec<f32> = (0..c * h * w).map(|i| ((i * 7 % 5) as f32) - 2.0).collect();
            let n = c * (h / 2) * (w / 2);
            let mut want = vec![0.0; n];
            let mut arg = vec![0u32; n];
            max_pool_forward(&x, c, h, w, 2, 2, true, &mut want, &mut arg);
            let mut got = vec![0.0; n];
            let mut code = vec![0u8; n];
            pool2_relu_forward(&x, c, h, w, &mut got, &mut code);
            assert_eq!(got, want);
            // the portable build gives the same outputs and codes
            let (mut got_base, mut code_base) = (vec![0.0; n], vec![0u8; n]);
            pool_impl(&x, c, h, w, &mut got_base, &mut code_base);
            assert_eq!((got_base, code_base), (got.clone(), code.clone()));
            let dout: Vec<f32> = (0..n).map(|i| i as f32 + 1.0).collect();
            let mut dx_want = vec![0.0; x.len()];
            max_pool_backward(&dout, &want, &arg, true, &mut dx_want);
            let mut dx = vec![f32::NAN; x.len()];
            pool2_relu_backward(&dout, &got, &code, c, h, w, &mut dx);
            assert_eq!(dx, dx_want);
            let mut dx_base = vec![f32::NAN; x.len()];
            pool_back_impl(&dout, &got, &code, c, h, w, &mut dx_base);
            assert_eq!(dx_base, dx_want);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn wide_forward_rounds_as_the_fused_kernel() {
        if simd_level() != Simd::Avx512 {
            return;
        }
        let (cin, cout, h, w) = (5, 13, 6, 32);
        let xp = data(cin * (h + 2) * (w + 2), 3);
        let wt = data(cout * cin * 9, 4);
        let b = data(cout, 5);
        let (mut wide_out, mut fused_out) = (vec![0.0; cout * h * w], vec![0.0; cout * h * w]);
        // SAFETY: the CPU supports AVX-512F and VL, AVX2 and FMA (checked just above).
        unsafe {
            wide::forward(&xp, cin, h, w, &wt, Some(&b), cout, &mut wide_out);
            forward_avx512(&xp, cin, h, w, &wt, Some(&b), cout, &mut fused_out);
        }
        assert_eq!(wide_out, fused_out);
    }

    #[test]
    fn direct_kernels_match_im2col() {
        for (cin, cout, h, w) in [
            (3, 4, 9, 13),
            (2, 3, 16, 16),
            (1, 1, 3, 20),
            (3, 6, 5, 32),
            (5, 9, 4, 48),
        ] {
            let g = ConvGeom {
                c: cin,
                h,
                w,
                kh: 3,
                kw: 3,
                stride: 1,
                pad: 1,
            };
            let x = data(cin * h * w, 1);
            let wt = data(cout * cin * 9, 2);
            let b = data(cout, 3);
            let dout = data(cout * h * w, 4);
            let mut col = vec![0.0; g.col_rows() * g.col_cols()];
            let mut want = vec![0.0; cout * h * w];
            conv_forward(&x, &g, &wt, Some(&b), &mut col, &mut want);
            let mut dw_want = vec![0.0; wt.len()];
            let mut db_want = vec![0.0; cout];
            let mut dx_want = vec![0.0; x.len()];
            let mut dcol = vec![0.0; col.len()];
            conv_backward(
                &dout,
                &g,
                &wt,
                &col,
                &mut dw_want,
                &mut db_want,
                Some((&mut dx_want, &mut dcol)),
            );

            let mut xp = vec![0.0; cin * (h + 2) * (w + 2)];
            pad1(&x, cin, h, w, &mut xp);
            let mut got = vec![0.0; cout * h * w];
            conv3x3_forward(&xp, cin, h, w, &wt, Some(&b), cout, &mut got);
            let mut dw = vec![0.0; wt.len()];
            let mut db = vec![0.0; cout];
            conv3x3_weight_grad(&xp, cin, h, w, &dout, cout, &mut dw, &mut db);
            let mut dp = vec![0.0; cout * (h + 2) * (w + 2)];
            pad1(&dout, cout, h, w, &mut dp);
            let mut wf = vec![0.0; wt.len()];
            flip_weights(&wt, cout, cin, &mut wf);
            let mut dx = vec![0.0; x.len()];
            conv3x3_forward(&dp, cout, h, w, &wf, None, cin, &mut dx);

            // the portable build of the kernels (what a CPU without AVX2 runs)
            let mut got_base = vec![0.0; cout * h * w];
            forward_impl::<false>(&xp, cin, h, w, &wt, Some(&b), cout, &mut got_base);
            let mut dw_base = vec![0.0; wt.len()];
            let mut db_base = vec![0.0; cout];
            weight_grad_impl::<false>(&xp, cin, h, w, &dout, cout, &mut dw_base, &mut db_base);

            let close = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .all(|(p, q)| (p - q).abs() <= 1e-5 * (1.0 + q.abs()))
            };
            assert!(close(&got, &want), "forward {cin} {cout} {h} {w}");
            assert!(close(&dw, &dw_want), "dw");
            assert!(close(&db, &db_want), "db");
            assert!(close(&dx, &dx_want), "dx");
            assert!(close(&got_base, &want), "portable forward");
            assert!(close(&dw_base, &dw_want), "portable dw");
            assert!(close(&db_base, &db_want), "portable db");
        }
    }
}
