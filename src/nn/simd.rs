//! The vector instruction tier, chosen once per process: which instructions the kernels
//! may use on this CPU ([`simd_level`]), and [`widest`], which runs a loop compiled for
//! that tier (the compiler vectorises the same Rust body for AVX-512, AVX2 or the
//! baseline). `CNN_TUTOR_SIMD=avx2` or `=baseline` caps the tier, for measuring.

/// The widest vector instructions the kernels may use on this CPU.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Simd {
    /// AVX-512F and VL, with AVX2 and FMA.
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    /// What every x86-64 has (SSE2).
    Baseline,
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn simd_level() -> Simd {
    use std::sync::OnceLock;
    static LEVEL: OnceLock<Simd> = OnceLock::new();
    #[cfg(test)]
    if let Some(t) = FORCED.get() {
        return t;
    }
    *LEVEL.get_or_init(|| {
        // CNN_TUTOR_SIMD=avx2 or =baseline caps the level (for measuring and debugging)
        let cap = std::env::var("CNN_TUTOR_SIMD").unwrap_or_default();
        let avx2 = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && cap != "baseline";
        if avx2
            && cap != "avx2"
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
        {
            Simd::Avx512
        } else if avx2 {
            Simd::Avx2
        } else {
            Simd::Baseline
        }
    })
}

/// Run `f`, an element-wise loop, compiled for the widest tier this CPU has: `f` is
/// inlined into a function built with that tier's instructions, so the compiler
/// vectorises it for AVX-512 or AVX2 rather than the baseline's SSE2.
#[inline(always)]
pub fn widest<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        // SAFETY: the CPU has these features (checked at run time by `simd_level`)
        Simd::Avx512 => unsafe { on_avx512(f) },
        // SAFETY: as above
        Simd::Avx2 => unsafe { on_avx2(f) },
        Simd::Baseline => f(),
    }
    #[cfg(not(target_arch = "x86_64"))]
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
#[inline]
fn on_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn on_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Floats in one [`Lanes`] value.
pub(crate) const LANES: usize = 16;

/// 16 floats in vector registers: one AVX-512 register, two AVX2 ones, or an array (the
/// baseline). Kernels written over `Lanes` get one of them from [`run_tiered`], the only
/// place that chooses; the vector types are private here, so their instructions run only
/// on a CPU that has them.
pub(crate) trait Lanes: Copy {
    /// 32 vector registers (AVX-512): a kernel may keep more sums in them.
    const WIDE: bool;
    fn splat(v: f32) -> Self;
    /// The first 16 floats of `s`.
    fn load(s: &[f32]) -> Self;
    /// The 16 floats at `p`, unchecked.
    ///
    /// # Safety
    /// `p..p+16` must be readable.
    unsafe fn load_ptr(p: *const f32) -> Self;
    /// `self + a * b`, fused where the tier has FMA.
    fn madd(self, a: Self, b: Self) -> Self;
    fn to_array(self) -> [f32; LANES];
    /// Write the 16 floats to the first 16 of `s`.
    fn store(self, s: &mut [f32]);
    /// The sum of the 16 floats.
    fn sum(self) -> f32;
    /// 16 bytes as floats (0.0 to 255.0).
    fn from_u8(s: &[u8]) -> Self;
    /// `v` where `a == b`, else 0.
    fn keep_eq(a: Self, b: Self, v: Self) -> Self;
    /// `v` where `a > 0`, else 0.
    fn keep_pos(a: Self, v: Self) -> Self;
    /// Each of the first 8 floats twice: `a0 a0 a1 a1 ... a7 a7`.
    fn dup_lo(self) -> Self;
    /// Each of the last 8 floats twice: `a8 a8 ... a15 a15`.
    fn dup_hi(self) -> Self;
    /// The even-numbered floats of `a` then `b`: `a0 a2 ... a14 b0 b2 ... b14`.
    fn evens(a: Self, b: Self) -> Self;
    /// `a` and `b` interleaved, as 32 floats: `a0 b0 a1 b1 ... a7 b7`, then `a8 b8 ...
    /// a15 b15`.
    fn zip(a: Self, b: Self) -> (Self, Self);
}

/// A kernel written once over [`Lanes`] and compiled per vector tier by [`run_tiered`]:
/// its `run` is inlined into a function built with that tier's instructions.
pub(crate) trait Tiered {
    type Out;
    fn run<V: Lanes>(self) -> Self::Out;
}

/// Run `k` compiled for the widest tier this CPU has.
#[inline(always)]
pub(crate) fn run_tiered<K: Tiered>(k: K) -> K::Out {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        // SAFETY: the CPU has these features (checked at run time by `simd_level`)
        Simd::Avx512 => unsafe { tiered_avx512(k) },
        // SAFETY: as above
        Simd::Avx2 => unsafe { tiered_avx2(k) },
        Simd::Baseline => k.run::<Scalar>(),
    }
    #[cfg(not(target_arch = "x86_64"))]
    k.run::<Scalar>()
}

/// The tiers this CPU has, widest first (for tests that compare them).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn tiers_here() -> Vec<Simd> {
    match simd_level() {
        Simd::Avx512 => vec![Simd::Avx512, Simd::Avx2, Simd::Baseline],
        Simd::Avx2 => vec![Simd::Avx2, Simd::Baseline],
        Simd::Baseline => vec![Simd::Baseline],
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
thread_local! {
    /// The tier [`with_tier`] makes this thread's kernels use.
    static FORCED: std::cell::Cell<Option<Simd>> = const { std::cell::Cell::new(None) };
}

/// Run `f` with every kernel it calls on this thread compiled for `tier`, one of
/// [`tiers_here`] (tests compare the tiers through the public functions).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn with_tier<R>(tier: Simd, f: impl FnOnce() -> R) -> R {
    assert!(tiers_here().contains(&tier), "{tier:?} is not on this CPU");
    let before = FORCED.replace(Some(tier));
    let r = f();
    FORCED.set(before);
    r
}

/// Run `k` compiled for `tier`, one of [`tiers_here`].
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn run_on<K: Tiered>(tier: Simd, k: K) -> K::Out {
    assert!(tiers_here().contains(&tier), "{tier:?} is not on this CPU");
    match tier {
        // SAFETY: the CPU has these features (checked just above)
        Simd::Avx512 => unsafe { tiered_avx512(k) },
        // SAFETY: as above
        Simd::Avx2 => unsafe { tiered_avx2(k) },
        Simd::Baseline => k.run::<Scalar>(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn tiered_avx512<K: Tiered>(k: K) -> K::Out {
    k.run::<x86::V512>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tiered_avx2<K: Tiered>(k: K) -> K::Out {
    k.run::<x86::V256x2>()
}

/// The baseline: plain arrays (the compiler uses SSE2 where it can).
#[derive(Clone, Copy)]
pub(crate) struct Scalar([f32; LANES]);

impl Lanes for Scalar {
    const WIDE: bool = false;
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Scalar([v; LANES])
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        let mut a = [0.0; LANES];
        a.copy_from_slice(&s[..LANES]);
        Scalar(a)
    }
    #[inline(always)]
    unsafe fn load_ptr(p: *const f32) -> Self {
        // SAFETY: the caller's
        Scalar(unsafe { p.cast::<[f32; LANES]>().read_unaligned() })
    }
    #[inline(always)]
    fn madd(self, a: Self, b: Self) -> Self {
        let mut r = self.0;
        for ((r, a), b) in r.iter_mut().zip(a.0).zip(b.0) {
            *r += a * b;
        }
        Scalar(r)
    }
    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        self.0
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        s[..LANES].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        self.0.iter().sum()
    }
    #[inline(always)]
    fn from_u8(s: &[u8]) -> Self {
        Scalar(std::array::from_fn(|i| f32::from(s[i])))
    }
    #[inline(always)]
    fn keep_eq(a: Self, b: Self, v: Self) -> Self {
        Scalar(std::array::from_fn(|i| {
            if a.0[i] == b.0[i] {
                v.0[i]
            } else {
                0.0
            }
        }))
    }
    #[inline(always)]
    fn keep_pos(a: Self, v: Self) -> Self {
        Scalar(std::array::from_fn(
            |i| if a.0[i] > 0.0 { v.0[i] } else { 0.0 },
        ))
    }
    #[inline(always)]
    fn dup_lo(self) -> Self {
        Scalar(std::array::from_fn(|i| self.0[i / 2]))
    }
    #[inline(always)]
    fn dup_hi(self) -> Self {
        Scalar(std::array::from_fn(|i| self.0[8 + i / 2]))
    }
    #[inline(always)]
    fn evens(a: Self, b: Self) -> Self {
        Scalar(std::array::from_fn(|i| {
            if i < 8 {
                a.0[2 * i]
            } else {
                b.0[2 * i - 16]
            }
        }))
    }
    #[inline(always)]
    fn zip(a: Self, b: Self) -> (Self, Self) {
        let at = |i: usize| {
            if i.is_multiple_of(2) {
                a.0[i / 2]
            } else {
                b.0[i / 2]
            }
        };
        (
            Scalar(std::array::from_fn(at)),
            Scalar(std::array::from_fn(|i| at(16 + i))),
        )
    }
}

/// The x86-64 vector tiers. Their methods are only ever called from [`tiered_avx512`] and
/// [`tiered_avx2`] (the types are private to this module), after `simd_level` checked that
/// the CPU has the instructions, and are inlined there.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Lanes, LANES};
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(crate) struct V512(__m512);

    impl Lanes for V512 {
        const WIDE: bool = true;
        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: AVX-512F is present (see the module's note)
            V512(unsafe { _mm512_set1_ps(v) })
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            let s = &s[..LANES];
            // SAFETY: 16 floats in bounds; AVX-512F is present
            V512(unsafe { _mm512_loadu_ps(s.as_ptr()) })
        }
        #[inline(always)]
        unsafe fn load_ptr(p: *const f32) -> Self {
            // SAFETY: the caller's; AVX-512F is present
            V512(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        fn madd(self, a: Self, b: Self) -> Self {
            // SAFETY: AVX-512F is present
            V512(unsafe { _mm512_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        fn to_array(self) -> [f32; LANES] {
            let mut a = [0.0; LANES];
            // SAFETY: 16 floats in bounds; AVX-512F is present
            unsafe { _mm512_storeu_ps(a.as_mut_ptr(), self.0) };
            a
        }
        #[inline(always)]
        fn store(self, s: &mut [f32]) {
            let s = &mut s[..LANES];
            // SAFETY: 16 floats in bounds; AVX-512F is present
            unsafe { _mm512_storeu_ps(s.as_mut_ptr(), self.0) };
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            // SAFETY: AVX-512F is present
            unsafe { _mm512_reduce_add_ps(self.0) }
        }
        #[inline(always)]
        fn from_u8(s: &[u8]) -> Self {
            let s = &s[..LANES];
            // SAFETY: 16 bytes in bounds; AVX-512F is present
            V512(unsafe {
                _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(s.as_ptr().cast())))
            })
        }
        #[inline(always)]
        fn keep_eq(a: Self, b: Self, v: Self) -> Self {
            // SAFETY: AVX-512F is present
            V512(unsafe { _mm512_maskz_mov_ps(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a.0, b.0), v.0) })
        }
        #[inline(always)]
        fn keep_pos(a: Self, v: Self) -> Self {
            // SAFETY: AVX-512F is present
            V512(unsafe {
                let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a.0, _mm512_setzero_ps());
                _mm512_maskz_mov_ps(m, v.0)
            })
        }
        #[inline(always)]
        fn dup_lo(self) -> Self {
            // SAFETY: AVX-512F is present
            V512(unsafe {
                let i = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
                _mm512_permutexvar_ps(i, self.0)
            })
        }
        #[inline(always)]
        fn dup_hi(self) -> Self {
            // SAFETY: AVX-512F is present
            V512(unsafe {
                let i =
                    _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
                _mm512_permutexvar_ps(i, self.0)
            })
        }
        #[inline(always)]
        fn evens(a: Self, b: Self) -> Self {
            // SAFETY: AVX-512F is present
            V512(unsafe {
                let i =
                    _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                _mm512_permutex2var_ps(a.0, i, b.0)
            })
        }
        #[inline(always)]
        fn zip(a: Self, b: Self) -> (Self, Self) {
            // SAFETY: AVX-512F is present
            unsafe {
                let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                let hi =
                    _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                (
                    V512(_mm512_permutex2var_ps(a.0, lo, b.0)),
                    V512(_mm512_permutex2var_ps(a.0, hi, b.0)),
                )
            }
        }
    }

    #[derive(Clone, Copy)]
    pub(crate) struct V256x2(__m256, __m256);

    impl Lanes for V256x2 {
        const WIDE: bool = false;
        #[inline(always)]
        fn splat(v: f32) -> Self {
            // SAFETY: AVX2 is present (see the module's note)
            unsafe { V256x2(_mm256_set1_ps(v), _mm256_set1_ps(v)) }
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            let s = &s[..LANES];
            // SAFETY: 16 floats in bounds; AVX2 is present
            unsafe {
                V256x2(
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(8)),
                )
            }
        }
        #[inline(always)]
        unsafe fn load_ptr(p: *const f32) -> Self {
            // SAFETY: the caller's; AVX2 is present
            unsafe { V256x2(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) }
        }
        #[inline(always)]
        fn madd(self, a: Self, b: Self) -> Self {
            // SAFETY: AVX2 and FMA are present
            unsafe {
                V256x2(
                    _mm256_fmadd_ps(a.0, b.0, self.0),
                    _mm256_fmadd_ps(a.1, b.1, self.1),
                )
            }
        }
        #[inline(always)]
        fn to_array(self) -> [f32; LANES] {
            let mut a = [0.0; LANES];
            // SAFETY: 16 floats in bounds; AVX2 is present
            unsafe {
                _mm256_storeu_ps(a.as_mut_ptr(), self.0);
                _mm256_storeu_ps(a.as_mut_ptr().add(8), self.1);
            }
            a
        }
        #[inline(always)]
        fn store(self, s: &mut [f32]) {
            let s = &mut s[..LANES];
            // SAFETY: 16 floats in bounds; AVX2 is present
            unsafe {
                _mm256_storeu_ps(s.as_mut_ptr(), self.0);
                _mm256_storeu_ps(s.as_mut_ptr().add(8), self.1);
            }
        }
        #[inline(always)]
        fn sum(self) -> f32 {
            self.to_array().iter().sum()
        }
        #[inline(always)]
        fn from_u8(s: &[u8]) -> Self {
            let s = &s[..LANES];
            // SAFETY: 16 bytes in bounds (8 read at each address); AVX2 is present
            unsafe {
                let lo = _mm_loadl_epi64(s.as_ptr().cast());
                let hi = _mm_loadl_epi64(s.as_ptr().add(8).cast());
                V256x2(
                    _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)),
                    _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)),
                )
            }
        }
        #[inline(always)]
        fn keep_eq(a: Self, b: Self, v: Self) -> Self {
            // SAFETY: AVX is present
            unsafe {
                V256x2(
                    _mm256_and_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(a.0, b.0), v.0),
                    _mm256_and_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(a.1, b.1), v.1),
                )
            }
        }
        #[inline(always)]
        fn keep_pos(a: Self, v: Self) -> Self {
            // SAFETY: AVX is present
            unsafe {
                let z = _mm256_setzero_ps();
                V256x2(
                    _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(a.0, z), v.0),
                    _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(a.1, z), v.1),
                )
            }
        }
        #[inline(always)]
        fn dup_lo(self) -> Self {
            // SAFETY: AVX is present
            unsafe { dup256(self.0) }
        }
        #[inline(always)]
        fn dup_hi(self) -> Self {
            // SAFETY: AVX is present
            unsafe { dup256(self.1) }
        }
        #[inline(always)]
        fn evens(a: Self, b: Self) -> Self {
            // SAFETY: AVX2 is present
            unsafe { V256x2(evens256(a.0, a.1), evens256(b.0, b.1)) }
        }
        #[inline(always)]
        fn zip(a: Self, b: Self) -> (Self, Self) {
            // SAFETY: AVX is present
            unsafe { (zip256(a.0, b.0), zip256(a.1, b.1)) }
        }
    }

    /// The even-numbered floats of `x` then `y` (8 of 16).
    #[inline(always)]
    unsafe fn evens256(x: __m256, y: __m256) -> __m256 {
        // SAFETY: the caller's (AVX2 is present)
        unsafe {
            // [x0 x2 y0 y2 | x4 x6 y4 y6], then the 64-bit pairs in order 0 2 1 3
            let e = _mm256_shuffle_ps::<0b10_00_10_00>(x, y);
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(e)))
        }
    }

    /// `a` and `b` interleaved: `a0 b0 ... a3 b3` and `a4 b4 ... a7 b7`, as a pair.
    #[inline(always)]
    unsafe fn zip256(a: __m256, b: __m256) -> V256x2 {
        // SAFETY: the caller's (AVX is present)
        unsafe {
            // [a0 b0 a1 b1 | a4 b4 a5 b5] and [a2 b2 a3 b3 | a6 b6 a7 b7]
            let (lo, hi) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
            V256x2(
                _mm256_permute2f128_ps::<0x20>(lo, hi),
                _mm256_permute2f128_ps::<0x31>(lo, hi),
            )
        }
    }

    /// `a0 a0 ... a3 a3` and `a4 a4 ... a7 a7` of one AVX vector, as a pair.
    #[inline(always)]
    unsafe fn dup256(a: __m256) -> V256x2 {
        // SAFETY: the caller's (AVX is present)
        unsafe {
            // [a0 a0 a1 a1 | a4 a4 a5 a5] and [a2 a2 a3 a3 | a6 a6 a7 a7]
            let (lo, hi) = (_mm256_unpacklo_ps(a, a), _mm256_unpackhi_ps(a, a));
            V256x2(
                _mm256_permute2f128_ps::<0x20>(lo, hi),
                _mm256_permute2f128_ps::<0x31>(lo, hi),
            )
        }
    }
}
