//! Direct convolution with any square kernel and stride (the 5x5 and 7x7 layers, strided
//! ones, and 3x3 ones with another padding than 1), for few channels: im2col + GEMM
//! re-packs the whole unfolded input there and runs far below the CPU's speed.
//!
//! The input is copied zero-padded ([c, h+2p, w+2p], with [`L`] floats of slack after it)
//! so the loops have no edge cases. With a stride `s` above 1 only the weight gradient is
//! direct: its input's columns are split into `s` phase planes ([`pad_phases`]), so that
//! the inputs of neighbouring outputs under one tap are neighbouring floats again; the
//! forward and the input gradient are the GEMM path's (measured faster there). The
//! forward kernel keeps a block of output channels × [`L`] output pixels of one row in
//! registers across every input channel and kernel tap: each input vector loaded is used
//! by the whole block, each weight is broadcast.
//! The input gradient is the same kernel run on the output gradient padded by `k-1-p`,
//! with the kernel flipped and its channel axes swapped ([`flip_weights`]). The weight
//! gradient keeps a block of output channels' partial sums in registers while it runs
//! over the image once per input channel and tap. All of it is plain Rust compiled per
//! vector tier ([`run_tiered`]).

use super::kernels::ConvGeom;
use super::simd::{run_tiered, Lanes, Tiered, LANES};

/// Output pixels along a row handled at once (one AVX-512 vector, two AVX2 ones).
const L: usize = LANES;

/// Whether these kernels compute this convolution: a square kernel, padding below the
/// kernel size and a non-empty output (any stride: with a stride above 1 only the weight
/// gradient is direct, [`forward`] and [`input_grad`] are the GEMM path's).
pub fn applies(g: &ConvGeom) -> bool {
    g.stride >= 1 && g.kh == g.kw && g.pad < g.kh && g.oh() > 0 && g.ow() > 0
}

/// Floats of [`pad_phases`]'s layout of a `c` x `h` x `w` input padded by `p` for stride
/// `s`: `c` x `s` phase planes of h+2p rows of ceil((w+2p)/s), and [`L`] of slack.
pub fn phased_len(c: usize, h: usize, w: usize, p: usize, s: usize) -> usize {
    c * s * (h + 2 * p) * (w + 2 * p).div_ceil(s) + L
}

/// Floats of scratch [`forward`], [`weight_grad`] and [`input_grad`] need.
pub fn scratch_len(g: &ConvGeom, cout: usize) -> usize {
    let (oh, ow) = (g.oh(), g.ow());
    let padded_x = phased_len(g.c, g.h, g.w, g.pad, g.stride);
    let dout_rows = cout * oh * ow.next_multiple_of(L);
    let grad = if g.stride == 1 {
        let q = g.kh - 1 - g.pad;
        cout * (oh + 2 * q) * (ow + 2 * q) + L
    } else {
        2 * super::kernels::tiled_scratch(g)
    };
    (padded_x + dout_rows).max(grad)
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

/// Copy CHW `x`, zero-padded by `p`, into `xp` split by column phase for stride `s`:
/// padded column `s * i + ph` of row `y` of channel `ci` goes to
/// `xp[((ci * s + ph) * (h + 2p) + y) * ceil((w + 2p) / s) + i]`, so that the inputs of
/// [`L`] neighbouring outputs under one kernel tap are [`L`] neighbouring floats. With
/// `s = 1` it is the plain padded layout. [`phased_len`] floats, zeros where no input is.
pub fn pad_phases(x: &[f32], c: usize, h: usize, w: usize, p: usize, s: usize, xp: &mut [f32]) {
    let hp = h + 2 * p;
    let wq = (w + 2 * p).div_ceil(s);
    xp[..phased_len(c, h, w, p, s)].fill(0.0);
    for (ci, src) in x.chunks_exact(h * w).enumerate().take(c) {
        for (y, row) in src.chunks_exact(w).enumerate() {
            if s == 1 {
                xp[(ci * hp + y + p) * wq + p..][..w].copy_from_slice(row);
                continue;
            }
            for ph in 0..s {
                let dst = &mut xp[((ci * s + ph) * hp + y + p) * wq..][..wq];
                // padded columns ph, ph + s, ...: input column col - p where there is one
                for (i, d) in dst.iter_mut().enumerate() {
                    let col = s * i + ph;
                    if col >= p && col < p + w {
                        *d = row[col - p];
                    }
                }
            }
        }
    }
}

/// Forward: `out` [cout, oh, ow] = bias + conv(x, w), `x` CHW of `g`, `w` [cout, c, k, k].
/// `scratch` holds [`scratch_len`] floats.
pub fn forward(
    x: &[f32],
    g: &ConvGeom,
    w: &[f32],
    bias: Option<&[f32]>,
    scratch: &mut [f32],
    out: &mut [f32],
) {
    let cout = w.len() / (g.c * g.kh * g.kw).max(1);
    if g.stride != 1 {
        // measured faster than the direct kernel on phase planes (stride 2: 186 against
        // 232 us for 16 -> 32 channels at 64x64)
        let col = &mut scratch[..super::kernels::tiled_scratch(g)];
        super::kernels::conv_forward_tiled(x, g, w, bias, col, out);
        return;
    }
    pad_into(x, g.c, g.h, g.w, g.pad, scratch);
    run_tiered(Fwd {
        xp: scratch,
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
/// forward kernel on the padded output gradient with `wf`; with a larger stride the
/// GEMM path's ([`super::kernels::conv_input_grad_tiled`] with `w`).
pub fn input_grad(
    dout: &[f32],
    g: &ConvGeom,
    (w, wf): (&[f32], &[f32]),
    scratch: &mut [f32],
    dx: &mut [f32],
) {
    if g.stride != 1 {
        super::kernels::conv_input_grad_tiled(dout, g, w, dx, scratch);
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

/// Weight and bias gradients: `dw` [cout, c, k, k] += `Σ dout[co] ⋆ x[ci]`, `db` += `Σ dout`.
pub fn weight_grad(
    dout: &[f32],
    x: &[f32],
    g: &ConvGeom,
    dw: &mut [f32],
    db: &mut [f32],
    scratch: &mut [f32],
) {
    let (xp, rest) = scratch.split_at_mut(phased_len(g.c, g.h, g.w, g.pad, g.stride));
    pad_phases(x, g.c, g.h, g.w, g.pad, g.stride, xp);
    weight_grad_padded(dout, xp, g, dw, db, rest);
}

/// [`weight_grad`] from the input already padded by `g.pad` and split by phase for its
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

    /// Random shapes (odd kernels 1..7, strides 1 and 2, padding 0..k/2, 1..16 input and
    /// 1..32 output channels, small maps): forward, input and weight gradients equal the
    /// im2col + GEMM path's.
    #[test]
    fn direct_kernels_match_im2col_on_random_shapes() {
        let mut r = data(4000, 7)
            .into_iter()
            .map(|v| ((v + 1.0) * 1000.0) as usize);
        let mut checked = 0;
        for case in 0..120u32 {
            let mut pick = |n: usize| r.next().unwrap() % n;
            let k = [1, 3, 5, 7][pick(4)];
            let stride = 1 + pick(2);
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
            let mut got = vec![0.0; cout * p];
            forward(&x, &g, &wt, Some(&b), &mut scratch, &mut got);
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
            weight_grad(&dout, &x, &g, &mut dw2, &mut db2, &mut scratch);
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
