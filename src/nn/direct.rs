//! Direct 3x3 convolution, stride 1, padding 1: the only convolution the shapes net uses.
//! The forward kernel is written once over [`Lanes`] and compiled per vector tier by
//! [`run_tiered`] (AVX-512, AVX2 or the baseline, chosen at run time on x86-64): it keeps a
//! tile of output channels x output rows x [`LANES`] pixels in registers across every input
//! channel and tap, so each input vector loaded serves the whole block of channels and each
//! weight broadcast serves every row of the tile.
//!
//! Inputs are kept zero-padded ([c, h+2, w+2], then [`LANES`] floats of slack so the last
//! vector of a row may read past it; see [`padded_len`]) so the loops have no edge cases.
//! The input gradient is the same forward kernel run on the padded output gradient with
//! the kernel flipped and its channel axes swapped ([`flip_weights`]).

use super::simd::{run_tiered, Lanes, Tiered, LANES};

/// Floats of a padded buffer for [`pad1`]: `c` planes of (h+2) x (w+2) and [`LANES`] of
/// slack.
pub fn padded_len(c: usize, h: usize, w: usize) -> usize {
    c * (h + 2) * (w + 2) + LANES
}

/// Copy CHW `x` into `xp` = [c, h+2, w+2] with a zero border (and zero slack after it).
pub fn pad1(x: &[f32], c: usize, h: usize, w: usize, xp: &mut [f32]) {
    let (ph, pw) = (h + 2, w + 2);
    assert!(xp.len() >= padded_len(c, h, w), "pad1: buffer too short");
    xp[c * ph * pw..].fill(0.0);
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

/// Forward: `out` [cout, h, w] = bias + conv(xp, w), `xp` padded by [`pad1`]
/// ([`padded_len`] floats), `w` [cout, cin, 3, 3]. With `bias = None` the output starts
/// at 0. Each output is `bias` then every input channel's nine taps, row by row, added
/// with fused multiply-adds (unfused on a CPU without FMA).
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
    run_tiered(Fwd3::<1>::new(
        xp,
        Geo3::padded1(cin, h, w),
        wt,
        bias,
        cout,
        out,
    ));
}

/// Forward of a 3x3 convolution with stride 2 and any padding: `out` [cout, oh, ow] =
/// bias + conv, from `xp`, the input in [`super::directk::pad_phases`]'s layout for stride
/// 2 (its two column phases as planes of `hp` rows of `wq`) with its slack. The same
/// kernel and order of additions as [`conv3x3_forward`].
pub fn conv3x3_s2_forward(
    xp: &[f32],
    g: &super::kernels::ConvGeom,
    wt: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    assert!(
        g.kh == 3 && g.kw == 3 && g.stride == 2,
        "conv3x3_s2: not a 3x3 stride-2 conv"
    );
    let geo = Geo3 {
        cin: g.c,
        hp: g.h + 2 * g.pad,
        wq: (g.w + 2 * g.pad).div_ceil(2),
        oh: g.oh(),
        ow: g.ow(),
    };
    let cout = wt.len() / (g.c * 9).max(1);
    run_tiered(Fwd3::<2>::new(xp, geo, wt, bias, cout, out));
}

/// Where [`Fwd3`] reads and writes: `cin` input channels, each `S` column-phase planes of
/// `hp` rows of `wq` floats (one plane of the padded input for stride 1); outputs of
/// `oh` rows of `ow`.
#[derive(Clone, Copy)]
struct Geo3 {
    cin: usize,
    hp: usize,
    wq: usize,
    oh: usize,
    ow: usize,
}

impl Geo3 {
    /// Stride 1 over a `cin` x `h` x `w` input padded by 1 ([`pad1`]): outputs `h` x `w`.
    fn padded1(cin: usize, h: usize, w: usize) -> Geo3 {
        Geo3 {
            cin,
            hp: h + 2,
            wq: w + 2,
            oh: h,
            ow: w,
        }
    }
}

/// The 3x3 forward kernel with stride `S` ([`conv3x3_forward`], [`conv3x3_s2_forward`]),
/// compiled per tier. Tap (ky, kx) of output (oy, ox) reads phase plane `kx % S` at row
/// `S*oy + ky`, column `ox + kx / S`: [`LANES`] neighbouring outputs read [`LANES`]
/// neighbouring floats.
struct Fwd3<'a, const S: usize> {
    xp: &'a [f32],
    geo: Geo3,
    wt: &'a [f32],
    bias: Option<&'a [f32]>,
    cout: usize,
    out: &'a mut [f32],
}

impl<'a, const S: usize> Fwd3<'a, S> {
    /// The kernel's arguments, checked once here so the loops may read unchecked.
    fn new(
        xp: &'a [f32],
        geo: Geo3,
        wt: &'a [f32],
        bias: Option<&'a [f32]>,
        cout: usize,
        out: &'a mut [f32],
    ) -> Self {
        let (cin, hp, wq, oh, ow) = (geo.cin, geo.hp, geo.wq, geo.oh, geo.ow);
        assert!(
            oh > 0 && S * (oh - 1) + 3 <= hp && ow + 2 / S <= wq,
            "conv3x3: outputs outside the input"
        );
        assert!(
            xp.len() >= cin * S * hp * wq + LANES,
            "conv3x3: input too short"
        );
        assert!(wt.len() >= cout * cin * 9, "conv3x3: weights too short");
        assert!(out.len() >= cout * oh * ow, "conv3x3: output too short");
        assert!(
            bias.is_none_or(|b| b.len() >= cout),
            "conv3x3: bias too short"
        );
        Fwd3 {
            xp,
            geo,
            wt,
            bias,
            cout,
            out,
        }
    }
}

impl<const S: usize> Tiered for Fwd3<'_, S> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(mut self) {
        // 32 registers (AVX-512): 6 channels x 2 rows of sums, 6 weights and the tile's
        // input vectors; 16 (AVX2, two per `Lanes`): 6 channels x 1 row
        if V::WIDE {
            self.channels::<V, 6, 2>();
        } else {
            self.channels::<V, 6, 1>();
        }
    }
}

impl<const S: usize> Fwd3<'_, S> {
    /// Blocks of `NB` output channels, then the rest one by one.
    #[inline(always)]
    fn channels<V: Lanes, const NB: usize, const R: usize>(&mut self) {
        let mut co = 0;
        while co + NB <= self.cout {
            self.rows::<V, NB, R>(co);
            co += NB;
        }
        // the rest three, then one at a time (32 channels: 5 x 6, then 1 + 1; 16: 2 x 6,
        // then 3 + 1)
        while co + 3 <= self.cout {
            self.rows::<V, 3, R>(co);
            co += 3;
        }
        while co < self.cout {
            self.rows::<V, 1, R>(co);
            co += 1;
        }
    }

    /// Output channels `co0..co0+NB`: `R` rows at a time, then the rest one by one.
    #[inline(always)]
    fn rows<V: Lanes, const NB: usize, const R: usize>(&mut self, co0: usize) {
        let mut y = 0;
        while y + R <= self.geo.oh {
            self.tiles::<V, NB, R>(co0, y);
            y += R;
        }
        while y < self.geo.oh {
            self.tiles::<V, NB, 1>(co0, y);
            y += 1;
        }
    }

    /// Output rows `y..y+R` of channels `co0..co0+NB`, [`LANES`] pixels at a time: the
    /// sums stay in registers across every input channel and tap.
    #[inline(always)]
    fn tiles<V: Lanes, const NB: usize, const R: usize>(&mut self, co0: usize, y: usize) {
        let Geo3 {
            cin,
            hp,
            wq,
            oh,
            ow,
        } = self.geo;
        let plane = hp * wq;
        let ws = cin * 9;
        let xp = self.xp.as_ptr();
        let wt = self.wt[co0 * ws..][..NB * ws].as_ptr();
        for x0 in (0..ow).step_by(LANES) {
            let mut acc = [[V::splat(0.0); R]; NB];
            if let Some(b) = self.bias {
                for (a, &bv) in acc.iter_mut().zip(&b[co0..co0 + NB]) {
                    *a = [V::splat(bv); R];
                }
            }
            for ci in 0..cin {
                // SAFETY: `new` checked the lengths and that every tap of every output
                // lies in its plane. Tap (ky, kx) of rows y..y+R reads LANES floats from
                // column x0 + kx/S of row S*(y + r) + ky of plane (ci, kx % S): up to
                // column ow - 1 + 2/S < wq when x0 + 16 <= ow, else past the row's end
                // into the next row or the LANES of slack after the last plane (values
                // that land in lanes past `ow`, which are not stored). Kernel (co0 + j,
                // ci) lies within `wt`.
                unsafe {
                    let src = xp.add(ci * S * plane + y * S * wq + x0);
                    let k = wt.add(ci * 9);
                    for ky in 0..3 {
                        for kx in 0..3 {
                            // the tile's input vectors, then one weight at a time (in a
                            // register only while its R multiply-adds run)
                            let at = (kx % S) * plane + ky * wq + kx / S;
                            let xv: [V; R] =
                                std::array::from_fn(|r| V::load_ptr(src.add(r * S * wq + at)));
                            for (j, row) in acc.iter_mut().enumerate() {
                                let wv = V::splat(*k.add(j * ws + ky * 3 + kx));
                                for (a, &x) in row.iter_mut().zip(&xv) {
                                    *a = a.madd(wv, x);
                                }
                            }
                        }
                    }
                }
            }
            let n = (ow - x0).min(LANES);
            for (j, rows) in acc.iter().enumerate() {
                for (r, a) in rows.iter().enumerate() {
                    let o = ((co0 + j) * oh + y + r) * ow + x0;
                    if n == LANES {
                        a.store(&mut self.out[o..o + LANES]);
                    } else {
                        self.out[o..o + n].copy_from_slice(&a.to_array()[..n]);
                    }
                }
            }
        }
    }
}

/// Weight and bias gradients: `dw` `[cout, cin, 3, 3]` += `Σ dout[co] ⋆ xp[ci]`, `db` +=
/// `Σ dout`, from the padded input ([`pad1`]): the weight-gradient kernel of
/// [`super::directk`], which serves every square kernel. `scratch` holds
/// [`weight_grad_scratch`] floats.
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
    scratch: &mut [f32],
) {
    let g = geom(cin, h, w);
    super::directk::weight_grad_padded(dout, xp, &g, dw, &mut db[..cout], scratch);
}

/// Floats of scratch [`conv3x3_weight_grad`] needs (none when `w` is a whole number of
/// vectors).
pub fn weight_grad_scratch(cout: usize, h: usize, w: usize) -> usize {
    if w.is_multiple_of(LANES) {
        0
    } else {
        cout * h * w.next_multiple_of(LANES)
    }
}

/// The geometry of a 3x3, stride 1, padding 1 convolution of a `cin` x `h` x `w` input.
fn geom(cin: usize, h: usize, w: usize) -> super::kernels::ConvGeom {
    super::kernels::ConvGeom {
        c: cin,
        h,
        w,
        kh: 3,
        kw: 3,
        stride: 1,
        pad: 1,
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
    super::simd::widest(
        #[inline(always)]
        || pool_impl(x, c, h, w, out, code),
    );
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
    run_tiered(PoolBack {
        dout,
        out,
        code,
        c,
        h,
        w,
        dx,
    });
}

/// [`pool2_relu_backward`]'s kernel: [`LANES`] windows at a time, their gradients (kept
/// where the output was > 0) each spread over two lanes and kept in the lane their code
/// names ([`Lanes::dup_lo`], [`Lanes::keep_eq`]); the rest of a row window by window.
struct PoolBack<'a> {
    dout: &'a [f32],
    out: &'a [f32],
    code: &'a [u8],
    c: usize,
    h: usize,
    w: usize,
    dx: &'a mut [f32],
}

impl Tiered for PoolBack<'_> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(self) {
        let PoolBack {
            dout,
            out,
            code,
            c,
            h,
            w,
            dx,
        } = self;
        let (oh, ow) = (h / 2, w / 2);
        if h % 2 == 1 || w % 2 == 1 {
            // a last row or column outside every window gets no gradient
            dx.fill(0.0);
        }
        // the window position each lane of an input row pair stands for
        let top = V::load(&std::array::from_fn::<f32, LANES, _>(|i| (i % 2) as f32));
        let bottom = V::load(&std::array::from_fn::<f32, LANES, _>(|i| {
            (2 + i % 2) as f32
        }));
        for row in 0..c * oh {
            let (ci, oy) = (row / oh, row % oh);
            let o = row * ow;
            let (d, ov, k) = (&dout[o..o + ow], &out[o..o + ow], &code[o..o + ow]);
            let base = (ci * h + 2 * oy) * w;
            let (r0, r1) = dx[base..base + 2 * w].split_at_mut(w);
            let mut ox = 0;
            while ox + LANES <= ow {
                let g = V::keep_pos(V::load(&ov[ox..]), V::load(&d[ox..]));
                let kk = V::from_u8(&k[ox..]);
                let (g0, g1, k0, k1) = (g.dup_lo(), g.dup_hi(), kk.dup_lo(), kk.dup_hi());
                V::keep_eq(k0, top, g0).store(&mut r0[2 * ox..]);
                V::keep_eq(k1, top, g1).store(&mut r0[2 * ox + LANES..]);
                V::keep_eq(k0, bottom, g0).store(&mut r1[2 * ox..]);
                V::keep_eq(k1, bottom, g1).store(&mut r1[2 * ox + LANES..]);
                ox += LANES;
            }
            for ox in ox..ow {
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
        for (c, h, w) in [(3, 6, 8), (2, 7, 9), (2, 4, 64), (2, 6, 70), (1, 2, 96)] {
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
            // every vector tier of this CPU gives the same values (rows of 32 and more
            // take the vector loop, the rest the window-by-window one)
            #[cfg(target_arch = "x86_64")]
            for t in crate::nn::simd::tiers_here() {
                let mut dx_t = vec![f32::NAN; x.len()];
                let k = PoolBack {
                    dout: &dout,
                    out: &got,
                    code: &code,
                    c,
                    h,
                    w,
                    dx: &mut dx_t,
                };
                crate::nn::simd::run_on(t, k);
                assert_eq!(dx_t, dx_want, "{t:?}");
            }
        }
    }

    /// Every tier of the forward kernel on this CPU: AVX-512 and AVX2 fuse the same
    /// multiply-adds in the same order, so they agree bit for bit (odd widths and heights
    /// take the partial vector and the single rows); the baseline is unfused.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn forward_tiers_agree() {
        use crate::nn::simd::{run_on, tiers_here, Simd};
        for (cin, cout, h, w) in [(5, 13, 6, 32), (3, 7, 7, 21), (2, 12, 5, 16)] {
            let xp = data(padded_len(cin, h, w), 3);
            let wt = data(cout * cin * 9, 4);
            let b = data(cout, 5);
            let outs: Vec<(Simd, Vec<f32>)> = tiers_here()
                .into_iter()
                .map(|t| {
                    let mut out = vec![f32::NAN; cout * h * w];
                    let geo = Geo3::padded1(cin, h, w);
                    let k = Fwd3::<1>::new(&xp, geo, &wt, Some(&b), cout, &mut out);
                    run_on(t, k);
                    (t, out)
                })
                .collect();
            for (t, out) in &outs {
                assert!(
                    out.iter().all(|v| v.is_finite()),
                    "{t:?} left outputs unset"
                );
                if *t != Simd::Baseline {
                    assert_eq!(out, &outs[0].1, "{t:?} vs {:?}", outs[0].0);
                }
                let base = &outs.last().unwrap().1;
                for (p, q) in out.iter().zip(base) {
                    assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{t:?}: {p} vs {q}");
                }
            }
        }
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

            let mut xp = vec![0.0; padded_len(cin, h, w)];
            pad1(&x, cin, h, w, &mut xp);
            let mut got = vec![0.0; cout * h * w];
            conv3x3_forward(&xp, cin, h, w, &wt, Some(&b), cout, &mut got);
            let mut dw = vec![0.0; wt.len()];
            let mut db = vec![0.0; cout];
            conv3x3_weight_grad(
                &xp,
                cin,
                h,
                w,
                &dout,
                cout,
                &mut dw,
                &mut db,
                &mut vec![0.0; weight_grad_scratch(cout, h, w)],
            );
            let mut dp = vec![0.0; padded_len(cout, h, w)];
            pad1(&dout, cout, h, w, &mut dp);
            let mut wf = vec![0.0; wt.len()];
            flip_weights(&wt, cout, cin, &mut wf);
            let mut dx = vec![0.0; x.len()];
            conv3x3_forward(&dp, cout, h, w, &wf, None, cin, &mut dx);

            // the portable build of the kernels (what a CPU without AVX2 runs)

            let close = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .all(|(p, q)| (p - q).abs() <= 1e-5 * (1.0 + q.abs()))
            };
            assert!(close(&got, &want), "forward {cin} {cout} {h} {w}");
            assert!(close(&dw, &dw_want), "dw");
            assert!(close(&db, &db_want), "db");
            assert!(close(&dx, &dx_want), "dx");
        }
    }
}
