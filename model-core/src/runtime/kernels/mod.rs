//! The arithmetic the layer families share: matrix products through the `gemm` crate (with
//! dimensions as run-time arguments), adding a bias, and walking strided indices.

use crate::runtime::threads;
use crate::shape::MAX_RANK;

mod row;
use row::row_times_matrix;
#[cfg(test)]
use row::TILE;

/// Work of at least this many multiply-accumulates uses every core; smaller work stays on
/// the calling thread, where the hand-off would cost more than it saves. With the spinning
/// workers of [`threads`](crate::runtime::threads) a hand-off costs under a microsecond,
/// so even 1×784×128 (the MLP at batch 1) gains from two threads: 6.4–7.0 → 5.5–6.0 µs on
/// the 2-vCPU Xeon, where rayon's hand-off had made the threshold 2^21.
const PARALLEL_MACS: usize = 1 << 16;

/// Rows of a product each thread must get for [`product`] to split them between threads
/// itself; fewer, and only `gemm` splits it (by columns too), above
/// [`GEMM_PARALLEL_MACS`].
const SPLIT_ROWS: usize = 16;

/// Products `gemm` splits between rayon's threads: at least this many multiply-accumulates
/// (on the 2-core machine, 1×784×128 ran faster on one thread, 64×784×128 faster on two).
const GEMM_PARALLEL_MACS: usize = 1 << 21;

/// How many threads work of `macs` multiply-accumulates deserves: all of them, or one.
pub(crate) fn threads_for(macs: usize) -> usize {
    if macs >= PARALLEL_MACS {
        threads::count()
    } else {
        1
    }
}

/// Element-wise passes over at least this many values split them between the threads.
pub(crate) const PARALLEL_VALUES: usize = 1 << 16;

/// `f` over `x` into `y` (the same length), in whole rows of `row` values: split between
/// the threads when there are enough values to pay for the hand-off, on the calling
/// thread otherwise.
pub(crate) fn par_rows(
    x: &[f32],
    y: &mut [f32],
    row: usize,
    f: impl Fn(&[f32], &mut [f32]) + Sync,
) {
    let row = row.max(1);
    let threads = threads::count();
    if y.len() < PARALLEL_VALUES || threads == 1 {
        return f(x, y);
    }
    let rows = y.len().div_ceil(row);
    let share = rows.div_ceil(threads) * row;
    threads::chunks_mut(y, share, |t, ys| f(&x[t * share..][..ys.len()], ys));
}

/// A read-only matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Mat<'a> {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// Whether a `rows × cols` view stays inside the data.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `c[m×n] (+)= a[m×k] · b[k×n]`, `c` row-major with row stride `c_rs`; adds to `c` when
/// `accumulate`, overwrites it otherwise.
///
/// The callers derive every dimension from shapes the evaluator checked, so a view that
/// does not fit its data is a bug in this crate: it stops here rather than reading out of
/// bounds.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    m: usize,
    k: usize,
    n: usize,
    a: Mat,
    b: Mat,
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
) {
    let threaded = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MACS;
    product(m, k, n, a, b, c, c_rs, accumulate, threaded);
}

/// [`matmul`] on the calling thread only, for callers that already split work across
/// threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_serial(
    m: usize,
    k: usize,
    n: usize,
    a: Mat,
    b: Mat,
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
) {
    product(m, k, n, a, b, c, c_rs, accumulate, false);
}

#[allow(clippy::too_many_arguments)]
fn product(
    m: usize,
    k: usize,
    n: usize,
    a: Mat,
    b: Mat,
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
    threaded: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        a.fits(m, k) && b.fits(k, n) && Mat::rows(c, c_rs).fits(m, n),
        "matmul views out of bounds"
    );
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * c_rs..i * c_rs + n].fill(0.0);
            }
        }
        return;
    }
    if m == 1 && b.cs == 1 && row_times_matrix(k, n, a, b, &mut c[..n], accumulate, threaded) {
        return;
    }
    // Enough rows: contiguous shares of them, one per thread, each its own serial product
    // (the pool's hand-off costs under a microsecond, rayon's inside `gemm` tens).
    let threads = if threaded { threads::count() } else { 1 };
    if threads > 1 && m >= threads * SPLIT_ROWS {
        let share = m.div_ceil(threads);
        let rows = &mut c[..(m - 1) * c_rs + n];
        threads::chunks_mut(rows, share * c_rs, |t, c| {
            let m0 = t * share;
            let a = Mat {
                data: &a.data[m0 * a.rs..],
                ..a
            };
            product(share.min(m - m0), k, n, a, b, c, c_rs, accumulate, false)
        });
        return;
    }
    // Otherwise `gemm` splits its work through rayon's pool, whose hand-off costs tens of
    // microseconds: only big products pay for it.
    let parallelism = if threaded && m.saturating_mul(n).saturating_mul(k) >= GEMM_PARALLEL_MACS {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three views were checked above to stay inside their slices for the given
    // dimensions, `c` is borrowed mutably and so cannot alias `a` or `b`, and f32 is one
    // of the types `gemm` supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Adds `bias` to every row of `y` (rows of `bias.len()` values).
pub(crate) fn add_bias(y: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// Calls `f` with the offset `Σ index[i]·strides[i]` of every index of `dims`, in row-major
/// order.
pub(crate) fn strided_offsets(dims: &[usize], strides: &[usize], mut f: impl FnMut(usize)) {
    let rank = dims.len();
    if rank == 0 {
        return f(0);
    }
    if dims.contains(&0) {
        return;
    }
    let mut index = [0usize; MAX_RANK];
    let mut base = 0;
    let (last, last_stride) = (dims[rank - 1], strides[rank - 1]);
    loop {
        for j in 0..last {
            f(base + j * last_stride);
        }
        // Advance the odometer over every axis but the last.
        let mut axis = rank - 1;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            base += strides[axis];
            if index[axis] < dims[axis] {
                break;
            }
            base -= strides[axis] * dims[axis];
            index[axis] = 0;
        }
    }
}

/// Row-major strides of `dims`.
pub(crate) fn strides_of(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut strides = [0usize; MAX_RANK];
    let mut step = 1;
    for i in (0..dims.len()).rev() {
        strides[i] = step;
        step *= dims[i];
    }
    strides
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_a_naive_product() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![1.0; m * n];
        matmul(m, k, n, Mat::rows(&a, k), Mat::rows(&b, n), &mut c, n, true);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = 1.0 + (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>();
                assert!((c[i * n + j] - want).abs() < 1e-5);
            }
        }
        // A transposed right-hand side, through strides.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut d = vec![0.0; m * n];
        matmul(
            m,
            k,
            n,
            Mat::rows(&a, k),
            Mat {
                data: &bt,
                rs: 1,
                cs: k,
            },
            &mut d,
            n,
            false,
        );
        for (x, y) in c.iter().zip(&d) {
            assert!((x - 1.0 - y).abs() < 1e-5);
        }
    }

    #[test]
    fn rows_split_between_threads_give_the_serial_product() {
        // Enough rows and MACs to split (on a machine with more than one thread), `c` with
        // a row stride past `n` and longer than the product needs.
        let (m, k, n, c_rs) = (67, 40, 33, 37);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let (a, b) = (Mat::rows(&a, k), Mat::rows(&b, n));
        for accumulate in [false, true] {
            let mut want = vec![0.5; m * c_rs + 9];
            let mut got = want.clone();
            product(m, k, n, a, b, &mut want, c_rs, accumulate, false);
            product(m, k, n, a, b, &mut got, c_rs, accumulate, true);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_single_row_matches_a_naive_product() {
        // Two full tiles and a partial one; a row read with a stride; b with a row stride
        // wider than n.
        let (k, n, b_rs) = (37, 2 * TILE + 11, 2 * TILE + 20);
        let a: Vec<f32> = (0..2 * k).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = (0..k * b_rs).map(|i| (i as f32 * 0.07).cos()).collect();
        for accumulate in [false, true] {
            let mut c = vec![0.5; n];
            matmul(
                1,
                k,
                n,
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
                &mut c,
                n,
                accumulate,
            );
            for (j, got) in c.iter().enumerate() {
                let dot: f32 = (0..k).map(|p| a[2 * p] * b[p * b_rs + j]).sum();
                let want = if accumulate { 0.5 + dot } else { dot };
                assert!((got - want).abs() < 1e-4, "column {j}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn strided_offsets_walk_a_transpose() {
        let mut seen = Vec::new();
        strided_offsets(&[3, 2], &[1, 3], |o| seen.push(o));
        assert_eq!(seen, [0, 3, 1, 4, 2, 5]);
        seen.clear();
        strided_offsets(&[2, 1, 2], &[2, 0, 1], |o| seen.push(o));
        assert_eq!(seen, [0, 1, 2, 3]);
    }
}
