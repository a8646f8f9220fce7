//! Direct convolution with any square kernel and stride (the 5x5 and 7x7 layers, strided
//! ones, and 3x3 ones with another padding than 1), for few channels: im2col + GEMM
//! re-packs the whole unfolded input there and runs far below the CPU's speed.
//!
//! The input is copied zero-padded ([c, h+2p, w+2p], with [`L`] floats of slack after it)
//! so the loops have no edge cases. With a stride `s` above 1 its columns are split into
//! `s` phase planes ([`pad_phases`]), so that the inputs of neighbouring outputs under one
//! tap are neighbouring floats again: the weight gradient runs on them, and a 3x3 stride-2
//! forward runs [`crate::nn::direct`]'s 3x3 kernel on them (other strided forwards are the
//! GEMM path's, measured faster than this file's forward kernel on phase planes). The
//! forward kernel keeps a block of output channels × [`L`] output pixels of one row in
//! registers across every input channel and kernel tap: each input vector loaded is used
//! by the whole block, each weight is broadcast.
//! The stride-1 input gradient is the same kernel run on the output gradient padded by
//! `k-1-p`, with the kernel flipped and its channel axes swapped ([`flip_weights`]); a
//! strided one is `s` x `s` stride-1 correlations, one per phase pair of the input
//! ([`Igrad`]), woven back. The weight gradient keeps a block of output channels' partial
//! sums in registers while it runs over the image once per input channel and tap. All of it
//! is plain Rust compiled per vector tier ([`run_tiered`]).

use super::kernels::ConvGeom;
use super::phases::weave;
pub use super::phases::{pad_phases, phased_len};
use super::simd::{run_tiered, Lanes, Tiered, LANES};

/// Output pixels along a row handled at once (one AVX-512 vector, two AVX2 ones).
const L: usize = LANES;

/// Whether these kernels compute this convolution: a square kernel, padding below the
/// kernel size and a non-empty output, any stride (a strided forward other than 3x3
/// stride 2 is the GEMM path's).
pub fn applies(g: &ConvGeom) -> bool {
    g.stride >= 1 && g.kh == g.kw && g.pad < g.kh && g.oh() > 0 && g.ow() > 0
}

/// Floats of scratch [`forward`], [`weight_grad_padded`] and [`input_grad`] need.
pub fn scratch_len(g: &ConvGeom, cout: usize) -> usize {
    let (oh, ow) = (g.oh(), g.ow());
    // the weight gradient's widened output gradient, or the GEMM forward's columns
    let dout_rows = (cout * oh * ow.next_multiple_of(L)).max(if g.stride == 1 {
        0
    } else {
        super::kernels::tiled_scratch(g)
    });
    let grad = if g.stride == 1 {
        let q = g.kh - 1 - g.pad;
        cout * (oh + 2 * q) * (ow + 2 * q) + L
    } else {
        let (d, q) = StridedGrad::of(g).scratch(g, cout);
        (d + q).max(super::kernels::tiled_scratch(g))
    };
    dout_rows.max(grad)
}

/// `wf[ci][co][ky][kx] = w[co][ci][k-1-ky][k-1-kx]`: the kernel that maps output gradients
/// back to input gradients.
pub fn flip_weights(w: &[f32], cout: usize, cin: usize, k: usize, wf: &mut [f32]) {
    let kk = k * k;
    for co in 0..cout {
        for ci in 0..cin {
            let src = &w[(co * cin + ci) * kk..][..kk];
            let dst = &mut wf[(ci * cout + co) * kk..][..kk];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
}

/// Copy CHW `x` into `xp` = [c, h+2p, w+2p] with a zero border and [`L`] zeros after it.
fn pad_into(x: &[f32], c: usize, h: usize, w: usize, p: usize, xp: &mut [f32]) {
    pad_phases(x, c, h, w, p, 1, xp);
}

/// Forward: `out` [cout, oh, ow] = bias + conv(x, w), `x` CHW of `g`, `w` [cout, c, k, k].
/// The padded input is left in `xp` ([`phased_len`] floats, [`pad_phases`]'s layout), where
/// [`weight_grad_padded`] takes it; `scratch` holds [`scratch_len`] floats.
pub fn forward(
    x: &[f32],
    g: &ConvGeom,
    w: &[f32],
    bias: Option<&[f32]>,
    xp: &mut [f32],
    scratch: &mut [f32],
    out: &mut [f32],
) {
    let cout = w.len() / (g.c * g.kh * g.kw).max(1);
    pad_phases(x, g.c, g.h, g.w, g.pad, g.stride, xp);
    if g.stride == 2 && g.kh == 3 {
        // the 3x3 kernel's register tiles (6 channels x 2 rows) on the phase planes
        super::direct::conv3x3_s2_forward(xp, g, w, bias, out);
        return;
    }
    if g.stride != 1 {
        // measured faster than this file's direct kernel on phase planes (stride 2: 186
        // against 232 us for 16 -> 32 channels at 64x64)
        let col = &mut scratch[..super::kernels::tiled_scratch(g)];
        super::kernels::conv_forward_tiled(x, g, w, bias, col, out);
        return;
    }
    run_tiered(Fwd {
        xp,
        cin: g.c,
        hp: g.h + 2 * g.pad,
        wq: g.w + 2 * g.pad,
        k: g.kh,
        w,
        bias,
        cout,
        oh: g.oh(),
        ow: g.ow(),
        out,
    });
}

/// Input gradient: `dx` [c, h, w] (overwritten) = d loss / d x from `dout` [cout, oh, ow],
/// the weights `w` and the flipped weights `wf` ([`flip_weights`]). With stride 1 the
/// forward kernel on the padded output gradient with `wf`; with a larger stride
/// [`strided_input_grad`] with `w` (the GEMM path's for kernels too wide for it).
pub fn input_grad(
    dout: &[f32],
    g: &ConvGeom,
    (w, wf): (&[f32], &[f32]),
    scratch: &mut [f32],
    dx: &mut [f32],
) {
    if g.stride != 1 {
        if g.kh.div_ceil(g.stride).pow(2) <= MAX_PHASE_TAPS {
            strided_input_grad(dout, g, w, scratch, dx);
        } else {
            super::kernels::conv_input_grad_tiled(dout, g, w, dx, scratch);
        }
        return;
    }
    let cout = wf.len() / (g.c * g.kh * g.kw).max(1);
    let q = g.kh - 1 - g.pad;
    let (oh, ow) = (g.oh(), g.ow());
    pad_into(dout, cout, oh, ow, q, scratch);
    run_tiered(Fwd {
        xp: scratch,
        cin: cout,
        hp: oh + 2 * q,
        wq: ow + 2 * q,
        k: g.kh,
        w: wf,
        bias: None,
        cout: g.c,
        oh: g.h,
        ow: g.w,
        out: dx,
    });
}

/// The most taps one phase pair of [`strided_input_grad`] has: ceil(k/s)^2 (kernels up to
/// 16 wide at stride 2; larger ones take the GEMM path).
const MAX_PHASE_TAPS: usize = 64;

/// The sizes of [`strided_input_grad`]'s work: the output gradient padded by `m` =
/// (k-1)/s rows above and columns left (`cout` planes of `jr` x `wr`), and the input
/// gradient as `s` x `s` phase planes of `jn` x `wq` per input channel.
struct StridedGrad {
    m: usize,
    jn: usize,
    wq: usize,
    jr: usize,
    wr: usize,
}

impl StridedGrad {
    fn of(g: &ConvGeom) -> Self {
        let s = g.stride;
        let m = (g.kh - 1) / s;
        let (jn, wq) = ((g.pad + g.h).div_ceil(s), (g.pad + g.w).div_ceil(s));
        StridedGrad {
            m,
            jn,
            wq,
            jr: jn.max(g.oh()) + m,
            wr: wq.max(g.ow()) + m,
        }
    }

    /// Floats of scratch: the padded output gradient (with [`L`] of slack), then the
    /// phase planes.
    fn scratch(&self, g: &ConvGeom, cout: usize) -> (usize, usize) {
        let s = g.stride;
        (
            cout * self.jr * self.wr + L,
            g.c * s * s * self.jn * self.wq,
        )
    }
}

/// The input gradient of a strided convolution, as `s` x `s` stride-1 correlations: the
/// input position (Y, X) = (s*j + phy, s*i + phx) of the padded input takes only the taps
/// (ky, kx) = (s*a + phy, s*b + phx), from output (j - a, i - b). For each phase pair the
/// kernel ([`Igrad`]) keeps input channels x rows x [`L`] columns of sums in registers
/// across every output channel and tap; then the phases are woven back into `dx`.
fn strided_input_grad(dout: &[f32], g: &ConvGeom, w: &[f32], scratch: &mut [f32], dx: &mut [f32]) {
    let (s, k, cin) = (g.stride, g.kh, g.c);
    let cout = w.len() / (cin * k * k).max(1);
    let (oh, ow) = (g.oh(), g.ow());
    let sg = StridedGrad::of(g);
    let (dlen, qlen) = sg.scratch(g, cout);
    let (dyp, rest) = scratch.split_at_mut(dlen);
    let q = &mut rest[..qlen];
    // the output gradient with m zero rows above and columns left, zeros after
    dyp.fill(0.0);
    for (co, src) in dout.chunks_exact(oh * ow).enumerate().take(cout) {
        for (y, row) in src.chunks_exact(ow).enumerate() {
            dyp[(co * sg.jr + y + sg.m) * sg.wr + sg.m..][..ow].copy_from_slice(row);
        }
    }
    run_tiered(Igrad {
        dyp,
        cout,
        w,
        cin,
        k,
        s,
        pad: g.pad,
        hw: (g.h, g.w),
        sg: &sg,
        q,
    });
    // weave: dx[ci][y][x] is phase plane (Y % s, X % s) at (Y / s, X / s), Y = y + p,
    // X = x + p
    let (p, (h, wd)) = (g.pad, (g.h, g.w));
    let plane = sg.jn * sg.wq;
    let q = &rest[..qlen];
    for ci in 0..cin {
        for y in 0..h {
            let yy = y + p;
            let at = |phx: usize| ((ci * s + yy % s) * s + phx) * plane + (yy / s) * sg.wq;
            let d = &mut dx[(ci * h + y) * wd..][..wd];
            if s == 2 {
                // even x from phase p % 2 at p / 2 on, odd x from the other at (p + 1) / 2
                let ev = &q[at(p % 2) + p / 2..][..wd.div_ceil(2)];
                let od = &q[at((p + 1) % 2) + p.div_ceil(2)..][..wd / 2];
                weave(d, ev, od);
            } else {
                for (x, v) in d.iter_mut().enumerate() {
                    let xx = x + p;
                    *v = q[at(xx % s) + xx / s];
                }
            }
        }
    }
}

/// [`strided_input_grad`]'s kernel: `q` [cin, s, s, jn, wq] (phase planes of the padded
/// input's gradient) from `dyp` [cout, jr, wr] (the output gradient moved `m` down and
/// right, zeros around, [`L`] of slack) and `w` [cout, cin, k, k].
struct Igrad<'a> {
    dyp: &'a [f32],
    cout: usize,
    w: &'a [f32],
    cin: usize,
    k: usize,
    s: usize,
    pad: usize,
    hw: (usize, usize),
    sg: &'a StridedGrad,
    q: &'a mut [f32],
}

/// One phase pair of [`Igrad`]: its planes' index `phy * s + phx`, its taps (a, b,
/// ky*k + kx), and the rows and columns of its planes that are inside the input.
struct Phase<'a> {
    at: usize,
    taps: &'a [(usize, usize, usize)],
    rows: (usize, usize),
    cols: (usize, usize),
}

impl Tiered for Igrad<'_> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(mut self) {
        let (s, k) = (self.s, self.k);
        for phy in 0..s {
            for phx in 0..s {
                // (a, b, tap index ky*k + kx) of this phase pair
                let mut list = [(0, 0, 0); MAX_PHASE_TAPS];
                let mut n = 0;
                for ky in (phy..k).step_by(s) {
                    for kx in (phx..k).step_by(s) {
                        list[n] = (ky / s, kx / s, ky * k + kx);
                        n += 1;
                    }
                }
                // the rows and columns of this phase pair that are inside the input
                let (p, (h, w)) = (self.pad, self.hw);
                let span = |ph: usize, n: usize| {
                    let lo = p.saturating_sub(ph).div_ceil(s);
                    (lo, (p + n).saturating_sub(ph).div_ceil(s).max(lo))
                };
                let ph = Phase {
                    at: phy * s + phx,
                    taps: &list[..n],
                    rows: span(phy, h),
                    cols: span(phx, w),
                };
                if V::WIDE {
                    self.channels::<V, 6, 2>(&ph);
                } else {
                    self.channels::<V, 6, 1>(&ph);
                }
            }
        }
    }
}

impl Igrad<'_> {
    /// Blocks of `NB` input channels, then three, then one at a time.
    #[inline(always)]
    fn channels<V: Lanes, const NB: usize, const R: usize>(&mut self, ph: &Phase<'_>) {
        let mut ci = 0;
        while ci + NB <= self.cin {
            self.rows::<V, NB, R>(ci, ph);
            ci += NB;
        }
        while ci + 3 <= self.cin {
            self.rows::<V, 3, R>(ci, ph);
            ci += 3;
        }
        while ci < self.cin {
            self.rows::<V, 1, R>(ci, ph);
            ci += 1;
        }
    }

    #[inline(always)]
    fn rows<V: Lanes, const NB: usize, const R: usize>(&mut self, ci0: usize, ph: &Phase<'_>) {
        let (mut j, end) = ph.rows;
        while j + R <= end {
            self.tiles::<V, NB, R>(ci0, ph, j);
            j += R;
        }
        while j < end {
            self.tiles::<V, NB, 1>(ci0, ph, j);
            j += 1;
        }
    }

    /// Phase-plane rows `j..j+R` of input channels `ci0..ci0+NB`, [`L`] columns at a time.
    #[inline(always)]
    fn tiles<V: Lanes, const NB: usize, const R: usize>(
        &mut self,
        ci0: usize,
        ph: &Phase<'_>,
        j: usize,
    ) {
        let StridedGrad { m, jn, wq, jr, wr } = *self.sg;
        let (cin, kk, s) = (self.cin, self.k * self.k, self.s);
        let (dplane, qplane) = (jr * wr, jn * wq);
        assert!(
            self.dyp.len() >= self.cout * dplane + L && self.w.len() >= self.cout * cin * kk,
            "input_grad: buffers too short"
        );
        let (dyp, w) = (self.dyp.as_ptr(), self.w.as_ptr());
        let (ilo, ihi) = ph.cols;
        for i0 in (ilo..ihi).step_by(L) {
            let mut acc = [[V::splat(0.0); R]; NB];
            for co in 0..self.cout {
                for &(a, b, t) in ph.taps {
                    // SAFETY: rows j + r + m - a <= jn - 1 + m < jr of plane co, columns
                    // from i0 + m - b: L floats up to i0 + m + L - 1, past the row's wr
                    // only for lanes at or past ihi <= wq (not stored), into the next row
                    // or the L of slack after the last plane. Weight (co, ci0 + n, t) lies in `w`
                    // (asserted above).
                    unsafe {
                        let src = dyp.add(co * dplane + (j + m - a) * wr + i0 + m - b);
                        let xv: [V; R] = std::array::from_fn(|r| V::load_ptr(src.add(r * wr)));
                        let wk = w.add((co * cin + ci0) * kk + t);
                        for (n, row) in acc.iter_mut().enumerate() {
                            let wv = V::splat(*wk.add(n * kk));
                            for (a, &x) in row.iter_mut().zip(&xv) {
                                *a = a.madd(wv, x);
                            }
                        }
                    }
                }
            }
            let n = (ihi - i0).min(L);
            for (c, rows) in acc.iter().enumerate() {
                for (r, a) in rows.iter().enumerate() {
                    let o = ((ci0 + c) * s * s + ph.at) * qplane + (j + r) * wq + i0;
                    if n == L {
                        a.store(&mut self.q[o..o + L]);
                    } else {
                        self.q[o..o + n].copy_from_slice(&a.to_array()[..n]);
                    }
                }
            }
        }
    }
}

/// Weight and bias gradients: `dw` [cout, c, k, k] += `Σ dout[co] ⋆ x[ci]`, `db` += `Σ dout`,
/// from the input already padded by `g.pad` and split by phase for its
/// stride ([`pad_phases`]; for stride 1 and padding 1 that is what
/// [`crate::nn::direct::pad1`] leaves). `scratch`
/// holds the output gradient widened to whole vectors when its rows are not (`cout` x
/// oh x ow rounded up to [`L`]; nothing when they are).
pub fn weight_grad_padded(
    dout: &[f32],
    xp: &[f32],
    g: &ConvGeom,
    dw: &mut [f32],
    db: &mut [f32],
    scratch: &mut [f32],
) {
    let (oh, ow) = (g.oh(), g.ow());
    let owp = ow.next_multiple_of(L);
    let cout = db.len();
    let hp = g.h + 2 * g.pad;
    assert!(
        xp.len() >= phased_len(g.c, g.h, g.w, g.pad, g.stride),
        "weight_grad: input too short"
    );
    assert!(
        dout.len() >= cout * oh * ow,
        "weight_grad: gradient too short"
    );
    assert!(
        dw.len() >= cout * g.c * g.kh * g.kh,
        "weight_grad: weights too short"
    );
    let dp: &[f32] = if owp == ow {
        &dout[..cout * oh * ow]
    } else {
        // the output gradient with its rows widened to whole vectors by zeros
        let dp = &mut scratch[..cout * oh * owp];
        for (dst, src) in dp.chunks_exact_mut(owp).zip(dout.chunks_exact(ow)) {
            dst[..ow].copy_from_slice(src);
            dst[ow..].fill(0.0);
        }
        dp
    };
    run_tiered(Wgrad {
        xp,
        cin: g.c,
        hp,
        wq: (g.w + 2 * g.pad).div_ceil(g.stride),
        s: g.stride,
        k: g.kh,
        dp,
        cout,
        oh,
        owp,
        dw,
        db,
    });
}

/// The forward kernel (stride 1) over a padded input `xp` [cin, hp, wq] (+ [`L`] slack).
struct Fwd<'a> {
    xp: &'a [f32],
    cin: usize,
    hp: usize,
    wq: usize,
    k: usize,
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    cout: usize,
    oh: usize,
    ow: usize,
    out: &'a mut [f32],
}

impl Tiered for Fwd<'_> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(mut self) {
        let mut co = 0;
        if V::WIDE {
            while co + 8 <= self.cout {
                self.block::<V, 8>(co);
                co += 8;
            }
        }
        while co + 4 <= self.cout {
            self.block::<V, 4>(co);
            co += 4;
        }
        while co < self.cout {
            self.block::<V, 1>(co);
            co += 1;
        }
    }
}

impl Fwd<'_> {
    /// Output channels `co0..co0+NB`, [`L`] pixels of a row at a time.
    #[inline(always)]
    fn block<V: Lanes, const NB: usize>(&mut self, co0: usize) {
        let (k, cin, ow) = (self.k, self.cin, self.ow);
        let kk = k * k;
        let ws = cin * kk;
        let plane = self.oh * ow;
        let w = &self.w[co0 * ws..][..NB * ws];
        for oy in 0..self.oh {
            for ox0 in (0..ow).step_by(L) {
                let mut acc = [V::splat(0.0); NB];
                if let Some(b) = self.bias {
                    for (a, &bv) in acc.iter_mut().zip(&b[co0..co0 + NB]) {
                        *a = V::splat(bv);
                    }
                }
                for ci in 0..cin {
                    for ky in 0..k {
                        let row = &self.xp[(ci * self.hp + oy + ky) * self.wq + ox0..][..k - 1 + L];
                        let tap = ci * kk + ky * k;
                        for kx in 0..k {
                            let xv = V::load(&row[kx..]);
                            for (j, a) in acc.iter_mut().enumerate() {
                                *a = a.madd(V::splat(w[j * ws + tap + kx]), xv);
                            }
                        }
                    }
                }
                let n = (ow - ox0).min(L);
                for (j, a) in acc.iter().enumerate() {
                    let a = a.to_array();
                    self.out[(co0 + j) * plane + oy * ow + ox0..][..n].copy_from_slice(&a[..n]);
                }
            }
        }
    }
}

/// The weight-gradient kernel: `xp` padded as [`Fwd`]'s, `dp` [cout, oh, owp] with zeros
/// past each row's `ow` outputs.
struct Wgrad<'a> {
    xp: &'a [f32],
    cin: usize,
    hp: usize,
    wq: usize,
    s: usize,
    k: usize,
    dp: &'a [f32],
    cout: usize,
    oh: usize,
    owp: usize,
    dw: &'a mut [f32],
    db: &'a mut [f32],
}

impl Tiered for Wgrad<'_> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(mut self) {
        self.bias::<V>();
        // the taps of a kernel row share each output-gradient vector: with 32 registers
        // for several output channels, with 16 for one (3x3)
        if V::WIDE {
            match self.k {
                3 => return self.by_row::<V, 3, 6>(),
                5 => return self.by_row::<V, 5, 4>(),
                7 => return self.by_row::<V, 7, 3>(),
                _ => {}
            }
        } else if self.k == 3 {
            return self.by_row::<V, 3, 2>();
        }
        let mut co = 0;
        if V::WIDE {
            while co + 8 <= self.cout {
                self.block::<V, 8>(co);
                co += 8;
            }
        }
        while co + 4 <= self.cout {
            self.block::<V, 4>(co);
            co += 4;
        }
        while co < self.cout {
            self.block::<V, 1>(co);
            co += 1;
        }
    }
}

impl Wgrad<'_> {
    /// `db` += each output channel's gradient summed, in four vector sums (the zeros that
    /// widen a row add nothing).
    #[inline(always)]
    fn bias<V: Lanes>(&mut self) {
        let plane = self.oh * self.owp;
        let one = V::splat(1.0);
        for (b, d) in self.db.iter_mut().zip(self.dp.chunks_exact(plane)) {
            let mut acc = [V::splat(0.0); 4];
            let mut chunks = d.chunks_exact(4 * L);
            for c in &mut chunks {
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = a.madd(one, V::load(&c[j * L..]));
                }
            }
            for c in chunks.remainder().chunks_exact(L) {
                acc[0] = acc[0].madd(one, V::load(c));
            }
            let s = acc[0].madd(one, acc[1]).madd(one, acc[2].madd(one, acc[3]));
            *b += s.sum();
        }
    }

    /// Output channels `co0..co0+NB`: for each input channel and tap, `NB` x [`L`] sums.
    #[inline(always)]
    fn block<V: Lanes, const NB: usize>(&mut self, co0: usize) {
        let (k, cin, oh, owp) = (self.k, self.cin, self.oh, self.owp);
        let kk = k * k;
        let dplane = oh * owp;
        let d = &self.dp[co0 * dplane..][..NB * dplane];
        // a band of output rows at a time, so that its output gradient (about 24 KB) stays
        // in the L1 cache while every input channel and tap runs over it
        let band = (6144 / (NB * owp)).clamp(1, oh);
        for oy0 in (0..oh).step_by(band) {
            let rows = oy0..(oy0 + band).min(oh);
            for ci in 0..cin {
                for ky in 0..k {
                    let (s, mut ph, mut q) = (self.s, 0, 0);
                    for kx in 0..k {
                        let mut acc = [V::splat(0.0); NB];
                        for oy in rows.clone() {
                            let at = ((ci * s + ph) * self.hp + s * oy + ky) * self.wq + q;
                            let row = &self.xp[at..][..owp];
                            let drow: [&[f32]; NB] =
                                std::array::from_fn(|j| &d[j * dplane + oy * owp..][..owp]);
                            for c in (0..owp).step_by(L) {
                                // SAFETY: c + L <= owp (a multiple of L), the length of
                                // `row` and of every `drow[j]`
                                let xv = unsafe { V::load_ptr(row.as_ptr().add(c)) };
                                for (a, dj) in acc.iter_mut().zip(&drow) {
                                    // SAFETY: as above
                                    let dv = unsafe { V::load_ptr(dj.as_ptr().add(c)) };
                                    *a = a.madd(dv, xv);
                                }
                            }
                        }
                        for (j, a) in acc.iter().enumerate() {
                            self.dw[((co0 + j) * cin + ci) * kk + ky * k + kx] += a.sum();
                        }
                        ph += 1;
                        if ph == s {
                            (ph, q) = (0, q + 1);
                        }
                    }
                }
            }
        }
    }
}

impl Wgrad<'_> {
    /// [`Wgrad::block`] for a `K`x`K` kernel, `NB` output channels at a time: the `K`
    /// taps of a kernel row are summed together (`K` x `NB` sums in registers), so each
    /// output-gradient vector loaded serves all of them.
    #[inline(always)]
    fn by_row<V: Lanes, const K: usize, const NB: usize>(&mut self) {
        let mut co = 0;
        while co + NB <= self.cout {
            self.row_block::<V, K, NB>(co);
            co += NB;
        }
        // the rest two at a time where it can (32 channels: 5 x 6, then 2)
        if NB > 2 {
            while co + 2 <= self.cout {
                self.row_block::<V, K, 2>(co);
                co += 2;
            }
        }
        while co < self.cout {
            self.row_block::<V, K, 1>(co);
            co += 1;
        }
    }

    #[inline(always)]
    fn row_block<V: Lanes, const K: usize, const NB: usize>(&mut self, co0: usize) {
        let (cin, oh, owp) = (self.cin, self.oh, self.owp);
        let dplane = oh * owp;
        let d = &self.dp[co0 * dplane..][..NB * dplane];
        // tap kx reads phase kx % s from column kx / s on
        let s = self.s;
        let taps: [(usize, usize); K] = std::array::from_fn(|kx| (kx % s, kx / s));
        // no bands of rows here (as `block` has): each of a band's K x NB sums would be
        // reduced across its lanes once per band, which cost more than reading the output
        // gradient from the L2 cache once per input channel and kernel row
        let (hp, wq) = (self.hp, self.wq);
        // the furthest read of every tap (last channel, last output row) lies inside `xp`
        let last = |(ph, q): (usize, usize)| {
            (((cin - 1) * s + ph) * hp + s * (oh - 1) + K - 1) * wq + q + owp
        };
        let furthest = taps.iter().map(|&t| last(t)).max().unwrap_or(0);
        assert!(
            cin > 0 && oh > 0 && furthest <= self.xp.len(),
            "weight_grad: input too short"
        );
        for ci in 0..cin {
            for ky in 0..K {
                // SAFETY: tap kx's row oy starts at ((ci*s + ph)*hp + s*oy + ky)*wq + q, and
                // its owp floats end at or before `furthest` (asserted above); the
                // gradient's rows j*dplane + oy*owp.. lie inside `d` (NB*dplane long)
                let acc = unsafe {
                    let xb: [*const f32; K] = std::array::from_fn(|kx| {
                        let (ph, q) = taps[kx];
                        self.xp.as_ptr().add(((ci * s + ph) * hp + ky) * wq + q)
                    });
                    let db: [*const f32; NB] = std::array::from_fn(|j| d.as_ptr().add(j * dplane));
                    row_sums::<V, K, NB>(xb, db, oh, (s * wq, owp))
                };
                for (kx, ak) in acc.iter().enumerate() {
                    for (j, a) in ak.iter().enumerate() {
                        self.dw[((co0 + j) * cin + ci) * K * K + ky * K + kx] += a.sum();
                    }
                }
            }
        }
    }
}

/// The `K` x `NB` sums of one input channel and kernel row over every output row: sum `kx`
/// of channel `j` adds `db[j][oy*owp + c] * xb[kx][oy*xstep + c]` over the rows `oy` and
/// the columns `c` (whole vectors). The sums stay in registers: plain index loops over
/// constant bounds, nothing indexed by a value the compiler must keep in memory.
///
/// # Safety
/// Every `xb[kx] + oy*xstep + c` and `db[j] + oy*owp + c`, for `oy < oh` and `c + L <=
/// owp`, starts [`L`] readable floats.
#[inline(always)]
unsafe fn row_sums<V: Lanes, const K: usize, const NB: usize>(
    xb: [*const f32; K],
    db: [*const f32; NB],
    oh: usize,
    (xstep, owp): (usize, usize),
) -> [[V; NB]; K] {
    let mut acc = [[V::splat(0.0); NB]; K];
    for oy in 0..oh {
        let (xo, dox) = (oy * xstep, oy * owp);
        let mut c = 0;
        while c < owp {
            // SAFETY: the caller's promise
            let dv: [V; NB] = std::array::from_fn(|j| unsafe { V::load_ptr(db[j].add(dox + c)) });
            for kx in 0..K {
                // SAFETY: the caller's promise
                let xv = unsafe { V::load_ptr(xb[kx].add(xo + c)) };
                for j in 0..NB {
                    acc[kx][j] = acc[kx][j].madd(dv[j], xv);
                }
            }
            c += L;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// Random shapes (odd kernels 1..7, strides 1 to 3, padding 0..k/2, 1..16 input and
    /// 1..32 output channels, small maps): forward, input and weight gradients equal the
    /// im2col + GEMM path's.
    #[test]
    fn direct_kernels_match_im2col_on_random_shapes() {
        random_shapes();
    }

    /// The same shapes with every kernel compiled for each tier this CPU has (the strided
    /// forward, input gradient and phase copies among them).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_tier_matches_im2col_on_random_shapes() {
        for t in crate::nn::simd::tiers_here() {
            crate::nn::simd::with_tier(t, random_shapes);
        }
    }

    fn random_shapes() {
        let mut r = data(4000, 7)
            .into_iter()
            .map(|v| ((v + 1.0) * 1000.0) as usize);
        let mut checked = 0;
        for case in 0..120u32 {
            let mut pick = |n: usize| r.next().unwrap() % n;
            let k = [1, 3, 5, 7][pick(4)];
            let stride = 1 + pick(3);
            let pad = pick(k / 2 + 1);
            let (c, cout) = (1 + pick(16), 1 + pick(32));
            let (h, w) = (k + pick(20), k + pick(40));
            let g = ConvGeom {
                c,
                h,
                w,
                kh: k,
                kw: k,
                stride,
                pad,
            };
            assert!(applies(&g), "{g:?}");
            if !applies(&g) {
                continue;
            }
            checked += 1;
            let (x, wt, b) = (
                data(g.input_len(), case),
                data(cout * g.col_rows(), case + 1),
                data(cout, case + 2),
            );
            let p = g.col_cols();
            let dout = data(cout * p, case + 3);
            let mut col = vec![0.0; g.col_rows() * p];
            let mut want = vec![0.0; cout * p];
            kernels::conv_forward(&x, &g, &wt, Some(&b), &mut col, &mut want);
            let mut scratch = vec![f32::NAN; scratch_len(&g, cout)];
            let mut xp = vec![f32::NAN; phased_len(c, g.h, g.w, pad, stride)];
            let mut got = vec![0.0; cout * p];
            forward(&x, &g, &wt, Some(&b), &mut xp, &mut scratch, &mut got);
            close(&got, &want, &format!("forward {g:?} cout {cout}"));

            let (mut dw, mut db, mut dx) =
                (vec![0.5; wt.len()], vec![0.5; cout], vec![0.0; x.len()]);
            let mut dcol = vec![0.0; col.len()];
            kernels::conv_backward(
                &dout,
                &g,
                &wt,
                &col,
                &mut dw,
                &mut db,
                Some((&mut dx, &mut dcol)),
            );
            let (mut dw2, mut db2, mut dx2) = (
                vec![0.5; wt.len()],
                vec![0.5; cout],
                vec![f32::NAN; x.len()],
            );
            weight_grad_padded(&dout, &xp, &g, &mut dw2, &mut db2, &mut scratch);
            let mut wf = vec![0.0; wt.len()];
            flip_weights(&wt, cout, c, k, &mut wf);
            input_grad(&dout, &g, (&wt, &wf), &mut scratch, &mut dx2);
            close(&dw2, &dw, &format!("weight grad {g:?} cout {cout}"));
            close(&db2, &db, &format!("bias grad {g:?}"));
            close(&dx2, &dx, &format!("input grad {g:?} cout {cout}"));
        }
        assert_eq!(checked, 120);
    }
}
