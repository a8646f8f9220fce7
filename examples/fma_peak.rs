//! The CPU's fused multiply-add peak, measured: every thread runs 12 independent chains of
//! vector FMAs (enough to cover the FMA latency on the cores we know), on the widest
//! vectors the CPU has (AVX-512, else AVX2 with FMA, else plain scalar code), for about a
//! second, and the program prints the GFLOP/s on one thread and on N threads. The
//! training's images per second times the FLOP per image, divided by this, is the share
//! of the machine a training uses (issue 27).
//!
//! `cargo run --release --example fma_peak -- [THREADS] [--json]`; `CNN_TUTOR_SIMD=avx2`
//! measures the AVX2 peak on an AVX-512 machine.

use std::time::Instant;

/// Independent accumulator chains per thread.
const CHAINS: usize = 12;
/// Loop trips per timed round.
const TRIPS: u64 = 1 << 24;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let threads = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let tier = tier();
    let one = best_of(3, 1, tier);
    let all = best_of(3, threads, tier);
    if json {
        println!(
            "{{\"tier\":\"{}\",\"lanes\":{},\"gflops_1\":{one:.1},\"threads\":{threads},\"gflops_n\":{all:.1}}}",
            tier.name(),
            tier.lanes()
        );
    } else {
        println!(
            "FMA peak ({}, {} floats per vector, {CHAINS} chains per thread):",
            tier.name(),
            tier.lanes()
        );
        println!("  1 thread:  {one:.1} GFLOP/s");
        println!("  {threads} threads: {all:.1} GFLOP/s");
    }
}

#[derive(Clone, Copy)]
enum Tier {
    Avx512,
    Avx2,
    Scalar,
}

impl Tier {
    fn name(self) -> &'static str {
        match self {
            Tier::Avx512 => "AVX-512",
            Tier::Avx2 => "AVX2+FMA",
            Tier::Scalar => "scalar",
        }
    }

    fn lanes(self) -> usize {
        match self {
            Tier::Avx512 => 16,
            Tier::Avx2 => 8,
            Tier::Scalar => 1,
        }
    }
}

/// The widest tier this CPU has, capped as the app's kernels are by `CNN_TUTOR_SIMD`
/// (`avx2` or `baseline`), so a capped training is compared with its own peak.
fn tier() -> Tier {
    let cap = std::env::var("CNN_TUTOR_SIMD").unwrap_or_default();
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && cap.is_empty() {
            return Tier::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && cap != "baseline"
        {
            return Tier::Avx2;
        }
    }
    let _ = cap;
    Tier::Scalar
}

/// The best GFLOP/s of `rounds` rounds on `threads` threads (all start together).
fn best_of(rounds: usize, threads: usize, tier: Tier) -> f64 {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let sums: f32 = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| s.spawn(move || run(tier, t)))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
            });
            let secs = start.elapsed().as_secs_f64();
            // the sum keeps the work from being optimised away
            std::hint::black_box(sums);
            let flop = 2.0 * (CHAINS * tier.lanes()) as f64 * TRIPS as f64 * threads as f64;
            flop / secs / 1e9
        })
        .fold(0.0, f64::max)
}

fn run(tier: Tier, seed: usize) -> f32 {
    let x = 1.0 + seed as f32 * 1e-9;
    match tier {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has the features (checked in `tier`)
        Tier::Avx512 => unsafe { x86::avx512(x) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above
        Tier::Avx2 => unsafe { x86::avx2(x) },
        _ => scalar(x),
    }
}

fn scalar(x: f32) -> f32 {
    let mut acc = [0.0f32; CHAINS];
    let (a, b) = (
        std::hint::black_box(0.999_999f32),
        std::hint::black_box(x * 1e-7),
    );
    for _ in 0..TRIPS {
        for v in &mut acc {
            *v = v.mul_add(a, b);
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, TRIPS};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(x: f32) -> f32 {
        let a = _mm512_set1_ps(std::hint::black_box(0.999_999));
        let b = _mm512_set1_ps(std::hint::black_box(x * 1e-7));
        // twelve named accumulators: kept in registers (an array indexed in the loop was
        // kept in memory by the compiler, halving the rate)
        let z = _mm512_setzero_ps();
        let (mut c0, mut c1, mut c2, mut c3, mut c4, mut c5) = (z, z, z, z, z, z);
        let (mut c6, mut c7, mut c8, mut c9, mut c10, mut c11) = (z, z, z, z, z, z);
        for _ in 0..TRIPS {
            c0 = _mm512_fmadd_ps(c0, a, b);
            c1 = _mm512_fmadd_ps(c1, a, b);
            c2 = _mm512_fmadd_ps(c2, a, b);
            c3 = _mm512_fmadd_ps(c3, a, b);
            c4 = _mm512_fmadd_ps(c4, a, b);
            c5 = _mm512_fmadd_ps(c5, a, b);
            c6 = _mm512_fmadd_ps(c6, a, b);
            c7 = _mm512_fmadd_ps(c7, a, b);
            c8 = _mm512_fmadd_ps(c8, a, b);
            c9 = _mm512_fmadd_ps(c9, a, b);
            c10 = _mm512_fmadd_ps(c10, a, b);
            c11 = _mm512_fmadd_ps(c11, a, b);
        }
        let acc = [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11];
        debug_assert_eq!(acc.len(), CHAINS);
        let mut sum = _mm512_setzero_ps();
        for v in acc {
            sum = _mm512_add_ps(sum, v);
        }
        _mm512_reduce_add_ps(sum)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(x: f32) -> f32 {
        let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
        let b = _mm256_set1_ps(std::hint::black_box(x * 1e-7));
        let z = _mm256_setzero_ps();
        let (mut c0, mut c1, mut c2, mut c3, mut c4, mut c5) = (z, z, z, z, z, z);
        let (mut c6, mut c7, mut c8, mut c9, mut c10, mut c11) = (z, z, z, z, z, z);
        for _ in 0..TRIPS {
            c0 = _mm256_fmadd_ps(c0, a, b);
            c1 = _mm256_fmadd_ps(c1, a, b);
            c2 = _mm256_fmadd_ps(c2, a, b);
            c3 = _mm256_fmadd_ps(c3, a, b);
            c4 = _mm256_fmadd_ps(c4, a, b);
            c5 = _mm256_fmadd_ps(c5, a, b);
            c6 = _mm256_fmadd_ps(c6, a, b);
            c7 = _mm256_fmadd_ps(c7, a, b);
            c8 = _mm256_fmadd_ps(c8, a, b);
            c9 = _mm256_fmadd_ps(c9, a, b);
            c10 = _mm256_fmadd_ps(c10, a, b);
            c11 = _mm256_fmadd_ps(c11, a, b);
        }
        let acc = [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11];
        debug_assert_eq!(acc.len(), CHAINS);
        let mut out = [0.0f32; 8];
        let mut sum = _mm256_setzero_ps();
        for v in acc {
            sum = _mm256_add_ps(sum, v);
        }
        _mm256_storeu_ps(out.as_mut_ptr(), sum);
        out.iter().sum()
    }
}
