//! The FMA peak of this machine, the yardstick of BENCHMARKS.md's "% of peak": chains of
//! independent fused multiply-adds that never touch memory, on one thread and on two.
//! Criterion's throughput is in FLOP (two per multiply-add), so `thrpt` reads as GFLOP/s
//! once divided by 10⁹ ("Gelem/s").
//!
//! `cargo bench --bench fma_peak`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// Independent accumulators: more than the FMA latency × ports of any current core.
const CHAINS: usize = 16;

/// `n` rounds of [`CHAINS`] 16-lane multiply-adds.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512(n: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(1.0); CHAINS];
    let (b, c) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    for _ in 0..n {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, b, c);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for a in acc {
        sum = _mm512_add_ps(sum, a);
    }
    _mm512_reduce_add_ps(sum)
}

/// `n` rounds of [`CHAINS`] 8-lane multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(n: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(1.0); CHAINS];
    let (b, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    for _ in 0..n {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, b, c);
        }
    }
    let mut out = [0f32; 8];
    let mut sum = _mm256_setzero_ps();
    for a in acc {
        sum = _mm256_add_ps(sum, a);
    }
    _mm256_storeu_ps(out.as_mut_ptr(), sum);
    out.iter().sum()
}

fn bench(c: &mut Criterion) {
    #[cfg(target_arch = "x86_64")]
    {
        // `cargo bench` passes `--bench`; without it this is `cargo test`'s single run.
        let rounds = if std::env::args().any(|a| a == "--bench") {
            1 << 20
        } else {
            1 << 8
        };
        type Loop = unsafe fn(usize) -> f32;
        let mut kernels: Vec<(&str, Loop, usize)> = Vec::new();
        if std::arch::is_x86_feature_detected!("avx512f") {
            kernels.push(("avx512", avx512, 16));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            kernels.push(("avx2", avx2, 8));
        }
        let mut group = c.benchmark_group("fma_peak");
        group.sample_size(20);
        for (name, kernel, lanes) in kernels {
            for threads in [1, 2] {
                let flop = (rounds * CHAINS * lanes * 2 * threads) as u64;
                group.throughput(Throughput::Elements(flop));
                group.bench_function(format!("{name}/threads{threads}"), |b| {
                    b.iter(|| {
                        std::thread::scope(|s| {
                            let runs: Vec<_> = (0..threads)
                                // SAFETY: the CPU has the loop's features (detected above).
                                .map(|_| s.spawn(|| unsafe { kernel(black_box(rounds)) }))
                                .collect();
                            for r in runs {
                                black_box(r.join().expect("the loop ran"));
                            }
                        })
                    })
                });
            }
        }
        group.finish();
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = c;
}

criterion_group!(benches, bench);
criterion_main!(benches);
