//! The padded layouts the direct convolutions read: an input zero-padded and, for a stride
//! `s` above 1, split by column phase ([`pad_phases`]), so that the inputs of [`L`]
//! neighbouring outputs under one kernel tap are [`L`] neighbouring floats; and the weave
//! that puts two phases of a row back together ([`weave`]). The stride-2 copies run in
//! vectors ([`Lanes::evens`], [`Lanes::zip`]).

use super::simd::{run_tiered, Lanes, Tiered, LANES};

/// Floats in one vector of the kernels.
const L: usize = LANES;

/// Floats of [`pad_phases`]'s layout of a `c` x `h` x `w` input padded by `p` for stride
/// `s`: `c` x `s` phase planes of h+2p rows of ceil((w+2p)/s), and [`L`] of slack.
pub fn phased_len(c: usize, h: usize, w: usize, p: usize, s: usize) -> usize {
    c * s * (h + 2 * p) * (w + 2 * p).div_ceil(s) + L
}

/// Copy CHW `x`, zero-padded by `p`, into `xp` split by column phase for stride `s`:
/// padded column `s * i + ph` of row `y` of channel `ci` goes to
/// `xp[((ci * s + ph) * (h + 2p) + y) * ceil((w + 2p) / s) + i]`, so that the inputs of
/// [`L`] neighbouring outputs under one kernel tap are [`L`] neighbouring floats. With
/// `s = 1` it is the plain padded layout. [`phased_len`] floats, zeros where no input is.
pub fn pad_phases(x: &[f32], c: usize, h: usize, w: usize, p: usize, s: usize, xp: &mut [f32]) {
    let hp = h + 2 * p;
    let wq = (w + 2 * p).div_ceil(s);
    let len = phased_len(c, h, w, p, s);
    // zeros only where no input goes: the rows above and below, each row's columns left
    // and right of its inputs, and the slack
    xp[len - L..len].fill(0.0);
    for (ci, src) in x.chunks_exact(h * w).enumerate().take(c) {
        for ph in 0..s {
            let plane = &mut xp[(ci * s + ph) * hp * wq..][..hp * wq];
            plane[..p * wq].fill(0.0);
            plane[(p + h) * wq..].fill(0.0);
            // padded columns s*i + ph for i in i0..i1 are input columns s*i + ph - p
            let i0 = p.saturating_sub(ph).div_ceil(s);
            let i1 = (p + w).saturating_sub(ph).div_ceil(s).min(wq).max(i0);
            for (y, row) in src.chunks_exact(w).enumerate() {
                let dst = &mut plane[(y + p) * wq..][..wq];
                dst[..i0].fill(0.0);
                dst[i1..].fill(0.0);
                if i1 == i0 {
                    continue;
                }
                let from = s * i0 + ph - p;
                match s {
                    1 => dst[i0..i1].copy_from_slice(&row[from..from + i1 - i0]),
                    // the source runs on past the row (to the input's end), so that
                    // the row's last 16 outputs have their 32 inputs' span to load
                    2 => every_other(&mut dst[i0..i1], &x[(ci * h + y) * w + from..]),
                    _ => {
                        for (d, &v) in dst[i0..i1].iter_mut().zip(row[from..].iter().step_by(s)) {
                            *d = v;
                        }
                    }
                }
            }
        }
    }
}

/// `dst[i] = src[2 * i]` ([`Evens`]).
fn every_other(dst: &mut [f32], src: &[f32]) {
    assert!(
        dst.is_empty() || src.len() > 2 * (dst.len() - 1),
        "every_other: source too short"
    );
    run_tiered(Evens { dst, src });
}

/// [`every_other`]'s kernel: 16 outputs from two vectors of input at a time
/// ([`Lanes::evens`]) while 32 inputs are there, the rest one by one.
struct Evens<'a> {
    dst: &'a mut [f32],
    src: &'a [f32],
}

impl Tiered for Evens<'_> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(self) {
        let Evens { dst, src } = self;
        let mut i = 0;
        while i + L <= dst.len() && 2 * i + 2 * L <= src.len() {
            let v = V::evens(V::load(&src[2 * i..]), V::load(&src[2 * i + L..]));
            v.store(&mut dst[i..]);
            i += L;
        }
        for (k, v) in dst.iter_mut().enumerate().skip(i) {
            *v = src[2 * k];
        }
    }
}

/// `d[2t] = ev[t]`, `d[2t + 1] = od[t]` (`ev` holds `d.len().div_ceil(2)`, `od`
/// `d.len() / 2`), 32 at a time from a vector of each ([`Lanes::zip`]), the rest one by
/// one.
pub(super) fn weave(d: &mut [f32], ev: &[f32], od: &[f32]) {
    assert!(
        ev.len() >= d.len().div_ceil(2) && od.len() >= d.len() / 2,
        "weave: too short"
    );
    run_tiered(Weave { d, ev, od });
}

/// [`weave`]'s kernel.
struct Weave<'a> {
    d: &'a mut [f32],
    ev: &'a [f32],
    od: &'a [f32],
}

impl Tiered for Weave<'_> {
    type Out = ();
    #[inline(always)]
    fn run<V: Lanes>(self) {
        let Weave { d, ev, od } = self;
        let mut t = 0;
        while 2 * t + 2 * L <= d.len() {
            let (lo, hi) = V::zip(V::load(&ev[t..]), V::load(&od[t..]));
            lo.store(&mut d[2 * t..]);
            hi.store(&mut d[2 * t + L..]);
            t += L;
        }
        for (x, v) in d.iter_mut().enumerate().skip(2 * t) {
            *v = if x % 2 == 0 { ev[x / 2] } else { od[x / 2] };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`every_other`] and [`weave`] on lengths around whole vectors, every tier.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn phase_copies_pick_and_weave_every_other_float() {
        for t in crate::nn::simd::tiers_here() {
            for n in [0, 1, 15, 16, 17, 31, 32, 33, 64, 65] {
                let src: Vec<f32> = (0..2 * n + 1).map(|i| i as f32).collect();
                let (mut got, mut woven) = (vec![-1.0; n], vec![-1.0; n]);
                crate::nn::simd::with_tier(t, || {
                    every_other(&mut got, &src[..(2 * n).saturating_sub(1)]);
                    let ev: Vec<f32> = (0..n.div_ceil(2)).map(|i| (2 * i) as f32).collect();
                    let od: Vec<f32> = (0..n / 2).map(|i| (2 * i + 1) as f32).collect();
                    weave(&mut woven, &ev, &od);
                });
                let want: Vec<f32> = (0..n).map(|i| (2 * i) as f32).collect();
                assert_eq!(got, want, "every_other {n} {t:?}");
                let want: Vec<f32> = (0..n).map(|i| i as f32).collect();
                assert_eq!(woven, want, "weave {n} {t:?}");
            }
        }
    }
}
