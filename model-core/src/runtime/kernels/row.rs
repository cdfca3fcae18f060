//! `c (+)= a · b` for a single row `a`: batch-1 dense layers and recurrent steps. `gemm`
//! packs `b` first, which costs more than the product at this size; here `b` is streamed
//! once, row after row, into accumulators held in registers: AVX-512 (up to 256 columns a
//! pass) where the CPU has it, AVX2 + FMA (64 columns a pass) elsewhere. A big product
//! (a wide dense layer's kernel, tens of megabytes read once per call) splits its rows
//! between threads, each core streaming its share from memory.

use super::Mat;
use crate::runtime::threads;

/// Output columns one pass of the AVX2 loop keeps in registers: eight 8-lane accumulators.
pub(super) const TILE: usize = 64;
/// Output columns one pass of the AVX-512 loop keeps in registers: sixteen 16-lane
/// accumulators.
const WIDE: usize = 256;
/// Rows of `b` per block of the AVX-512 loop: every pass over the columns of a block reads
/// it from the core's cache (blocks of `BLOCK_ROWS · n` values).
const BLOCK_ROWS: usize = 64;

/// `c (+)= a · b` for a single row `a` of `k` values, `b` (`k × n`) with unit column
/// stride, on `threads` threads when `threaded` (rows of `b` split between them). Returns
/// `false` (and does nothing) where neither AVX-512 nor AVX2 and FMA are available.
pub(super) fn row_times_matrix(
    k: usize,
    n: usize,
    a: Mat,
    b: Mat,
    c: &mut [f32],
    accumulate: bool,
    threaded: bool,
) -> bool {
    let Some(serial) = kernel() else {
        return false;
    };
    let threads = if threaded {
        threads::count().clamp(1, k.div_ceil(BLOCK_ROWS).max(1))
    } else {
        1
    };
    if threads <= 1 {
        serial(k, n, a, b, c, accumulate);
        return true;
    }
    // Contiguous shares of the rows; the first thread adds into `c`, the others into their
    // own row of partial sums, added to `c` at the end.
    let share = k.div_ceil(threads);
    let mut partial = vec![0f32; (threads - 1) * n];
    let part = |t: usize, out: &mut [f32], accumulate: bool| {
        let (k0, k1) = (t * share, ((t + 1) * share).min(k));
        let a = Mat {
            data: &a.data[k0 * a.cs..],
            ..a
        };
        let b = Mat {
            data: &b.data[k0 * b.rs..],
            ..b
        };
        serial(k1 - k0, n, a, b, out, accumulate);
    };
    let mut outs: Vec<&mut [f32]> = std::iter::once(&mut *c)
        .chain(partial.chunks_exact_mut(n))
        .collect();
    threads::chunks_mut(&mut outs, 1, |t, out| part(t, out[0], accumulate && t == 0));
    for row in partial.chunks_exact(n) {
        c.iter_mut().zip(row).for_each(|(c, p)| *c += p);
    }
    true
}

type Serial = fn(usize, usize, Mat, Mat, &mut [f32], bool);

/// The serial loop for the running CPU.
fn kernel() -> Option<Serial> {
    #[cfg(target_arch = "x86_64")]
    {
        static CHOSEN: std::sync::OnceLock<Option<Serial>> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| {
            if std::arch::is_x86_feature_detected!("avx512f") {
                Some(row_avx512 as Serial)
            } else if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                Some(row_avx2 as Serial)
            } else {
                None
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Checked entry to [`row_times_matrix_avx512`].
#[cfg(target_arch = "x86_64")]
fn row_avx512(k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], accumulate: bool) {
    // SAFETY: `kernel` picks this function only where the CPU has AVX-512F.
    unsafe { row_times_matrix_avx512(k, n, a, b, c, accumulate) }
}

/// Checked entry to [`row_times_matrix_fma`].
#[cfg(target_arch = "x86_64")]
fn row_avx2(k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], accumulate: bool) {
    // SAFETY: `kernel` picks this function only where the CPU has AVX2 and FMA.
    unsafe { row_times_matrix_fma(k, n, a, b, c, accumulate) }
}

/// A block of rows at a time, each block's columns [`WIDE`] at a time.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn row_times_matrix_avx512(
    k: usize,
    n: usize,
    a: Mat,
    b: Mat,
    c: &mut [f32],
    accumulate: bool,
) {
    // The bounds the passes rely on (the product's caller checked the views already).
    assert!(c.len() >= n && (k == 0 || n == 0 || b.fits(k, n) && a.fits(1, k)));
    if k == 0 {
        if !accumulate {
            c[..n].fill(0.0);
        }
        return;
    }
    for k0 in (0..k).step_by(BLOCK_ROWS) {
        let rows = BLOCK_ROWS.min(k - k0);
        for j0 in (0..n).step_by(WIDE) {
            let p = Pass {
                x: a.data[k0 * a.cs..].as_ptr(),
                x_stride: a.cs,
                b: b.data[k0 * b.rs + j0..].as_ptr(),
                b_stride: b.rs,
                rows,
                width: WIDE.min(n - j0),
                add: accumulate || k0 > 0,
            };
            let out = c[j0..].as_mut_ptr();
            match p.width.div_ceil(16) {
                1 => pass::<1>(&p, out),
                2 => pass::<2>(&p, out),
                3 => pass::<3>(&p, out),
                4 => pass::<4>(&p, out),
                5 => pass::<5>(&p, out),
                6 => pass::<6>(&p, out),
                7 => pass::<7>(&p, out),
                8 => pass::<8>(&p, out),
                9 => pass::<9>(&p, out),
                10 => pass::<10>(&p, out),
                11 => pass::<11>(&p, out),
                12 => pass::<12>(&p, out),
                13 => pass::<13>(&p, out),
                14 => pass::<14>(&p, out),
                15 => pass::<15>(&p, out),
                _ => pass::<16>(&p, out),
            }
        }
    }
}

/// How far ahead of the row being read the AVX-512 pass asks for `b`'s rows.
#[cfg(target_arch = "x86_64")]
const PREFETCH_ROWS: usize = 16;

/// One pass: `rows` rows of `x` (`x_stride` apart) times `rows × width` of `b`.
#[cfg(target_arch = "x86_64")]
struct Pass {
    x: *const f32,
    x_stride: usize,
    b: *const f32,
    b_stride: usize,
    rows: usize,
    width: usize,
    /// Add to the output's values rather than overwrite them.
    add: bool,
}

/// `out[..width] (+)= Σ_p x[p] · b[p][..width]` in `V` accumulators, the last one masked
/// to the columns that exist.
///
/// # Safety
/// The CPU must support AVX-512F; `p`'s pointers must cover its rows and width, `out`
/// its width (checked by [`row_times_matrix_avx512`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pass<const V: usize>(p: &Pass, out: *mut f32) {
    use std::arch::x86_64::*;
    let mut masks = [u16::MAX; V];
    masks[V - 1] = ((1u32 << (p.width - 16 * (V - 1))) - 1) as u16;
    let mut acc = [_mm512_setzero_ps(); V];
    if p.add {
        for v in 0..V {
            acc[v] = _mm512_maskz_loadu_ps(masks[v], out.add(16 * v));
        }
    }
    for r in 0..p.rows {
        let xv = _mm512_set1_ps(*p.x.add(r * p.x_stride));
        let row = p.b.add(r * p.b_stride);
        // The row PREFETCH_ROWS ahead, a cache line per vector: a hint, never a fault.
        let ahead = row.wrapping_add(PREFETCH_ROWS * p.b_stride);
        for v in 0..V {
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16 * v) as *const i8);
        }
        for v in 0..V {
            // Lanes outside the mask are neither read nor written.
            let w = _mm512_maskz_loadu_ps(masks[v], row.add(16 * v));
            acc[v] = _mm512_fmadd_ps(xv, w, acc[v]);
        }
    }
    for v in 0..V {
        _mm512_mask_storeu_ps(out.add(16 * v), masks[v], acc[v]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_times_matrix_fma(k: usize, n: usize, a: Mat, b: Mat, c: &mut [f32], accumulate: bool) {
    let x = |p: usize| a.data[p * a.cs];
    let mut j0 = 0;
    while j0 < n {
        let width = TILE.min(n - j0);
        let mut acc = [0f32; TILE];
        if width == TILE {
            for p in 0..k {
                let xv = x(p);
                let row: &[f32; TILE] = b.data[p * b.rs + j0..][..TILE]
                    .try_into()
                    .expect("a full tile");
                for j in 0..TILE {
                    acc[j] = xv.mul_add(row[j], acc[j]);
                }
            }
        } else {
            for p in 0..k {
                let xv = x(p);
                let row = &b.data[p * b.rs + j0..][..width];
                for (acc, &bv) in acc.iter_mut().zip(row) {
                    *acc = xv.mul_add(bv, *acc);
                }
            }
        }
        let out = &mut c[j0..j0 + width];
        if accumulate {
            out.iter_mut().zip(&acc).for_each(|(o, v)| *o += v);
        } else {
            out.copy_from_slice(&acc[..width]);
        }
        j0 += width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each loop this CPU runs, by name.
    fn kernels() -> Vec<(&'static str, Serial)> {
        let mut found: Vec<(&'static str, Serial)> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                found.push(("avx512", row_avx512));
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                found.push(("avx2", row_avx2));
            }
        }
        found
    }

    #[test]
    fn every_loop_matches_a_naive_product() {
        // Widths around the 16-lane vectors, the 64- and 256-column passes; depths around
        // the 64-row blocks; `a` read with a stride, `b` with a row stride wider than n.
        for (name, serial) in kernels() {
            for n in [1, 15, 16, 17, 63, 65, 160, 255, 256, 257, 300] {
                for k in [1, 63, 64, 65, 200] {
                    let b_rs = n + 5;
                    let a: Vec<f32> = (0..2 * k).map(|i| (i as f32 * 0.3).sin()).collect();
                    let b: Vec<f32> = (0..k * b_rs).map(|i| (i as f32 * 0.07).cos()).collect();
                    for accumulate in [false, true] {
                        let mut c = vec![0.5; n + 3];
                        let (a, b) = (
                            Mat {
                                data: &a,
                                rs: 0,
                                cs: 2,
                            },
                            Mat {
                                data: &b,
                                rs: b_rs,
                                cs: 1,
                            },
                        );
                        serial(k, n, a, b, &mut c[..n], accumulate);
                        for (j, got) in c[..n].iter().enumerate() {
                            let dot: f32 =
                                (0..k).map(|p| a.data[2 * p] * b.data[p * b_rs + j]).sum();
                            let want = if accumulate { 0.5 + dot } else { dot };
                            assert!(
                                (got - want).abs() < 1e-3,
                                "{name} k {k} n {n} column {j}: {got} vs {want}"
                            );
                        }
                        assert_eq!(c[n..], [0.5; 3], "{name}: nothing written past n");
                    }
                }
            }
        }
    }

    #[test]
    fn rows_split_between_threads_sum_to_the_product() {
        let (k, n) = (1000, 160);
        let a: Vec<f32> = (0..k).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.07).cos()).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for accumulate in [false, true] {
            let mut c = vec![0.5; n];
            let ran = pool.install(|| {
                row_times_matrix(
                    k,
                    n,
                    Mat::rows(&a, k),
                    Mat::rows(&b, n),
                    &mut c,
                    accumulate,
                    true,
                )
            });
            if !ran {
                return;
            }
            for (j, got) in c.iter().enumerate() {
                let dot: f32 = (0..k).map(|p| a[p] * b[p * n + j]).sum();
                let want = if accumulate { 0.5 + dot } else { dot };
                assert!((got - want).abs() < 1e-3, "column {j}: {got} vs {want}");
            }
        }
    }
}
