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
