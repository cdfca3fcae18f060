//! Pooling: `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D` (padded cells are left out of
//! both the maximum and the average, as TensorFlow does), and the global forms.

use super::{GlobalPooling, PoolOp, Pooling};
use crate::layer::ops::Step;
use crate::layer::window::Window;
use crate::runtime::kernels::threads_for;
use crate::runtime::{elements, threads};
use crate::shape::Shape;

/// The pooling window between `input` and `output` (padding from Keras's `same` rule), and
/// the channel count; the backward pass reads the same window.
pub(crate) fn window(c: &Pooling, input: &Shape, output: &Shape) -> (Window, usize) {
    let w = Window::new(
        c.rank,
        input,
        output,
        c.pool_size,
        c.effective_strides(),
        [1; 3],
        c.padding,
    );
    (w, input.last())
}

pub(crate) fn pooling(c: &Pooling, s: &Step, x: &[f32], y: &mut [f32]) {
    let (w, channels) = window(c, &s.input, &s.output);
    let max = c.op == PoolOp::Max;
    let (in_len, out_len) = (elements(&s.input).max(1), elements(&s.output).max(1));
    let pool = |(xs, ys): (&[f32], &mut [f32])| pool_fastest(&w, channels, max, xs, 0, ys);
    // Samples are independent: big batches use every core; smaller ones than the threads
    // split each sample's output positions between them.
    let threads = threads_for(s.batch * out_len * w.taps());
    if threads > 1 && s.batch < threads {
        let rows = w.positions().div_ceil(threads).max(1);
        let c = channels.max(1);
        for (xs, ys) in x.chunks_exact(in_len).zip(y.chunks_exact_mut(out_len)) {
            threads::chunks_mut(ys, rows * c, |t, ys| {
                pool_fastest(&w, channels, max, xs, t * rows, ys)
            });
        }
    } else if threads > 1 {
        // Contiguous shares of whole samples, one per thread.
        let share = s.batch.div_ceil(threads);
        let whole = &mut y[..s.batch * out_len];
        threads::chunks_mut(whole, share * out_len, |t, ys| {
            let xs = &x[t * share * in_len..];
            xs.chunks_exact(in_len)
                .zip(ys.chunks_exact_mut(out_len))
                .for_each(pool)
        });
    } else {
        x.chunks_exact(in_len)
            .zip(y.chunks_exact_mut(out_len))
            .for_each(pool);
    }
}

/// [`pool_sample`], or where the CPU has AVX-512 and the window at most [`MAX_TAPS`] cells,
/// [`pool_sample_avx512`] (the crate is built for baseline x86-64, whose vectors hold four
/// values).
pub(crate) fn pool_fastest(
    w: &Window,
    channels: usize,
    max: bool,
    xs: &[f32],
    first: usize,
    ys: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if w.taps() <= MAX_TAPS && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { pool_sample_avx512(w, channels, max, xs, first, ys) };
    }
    pool_sample(w, channels, max, xs, first, ys)
}

/// The largest window [`pool_sample_avx512`] takes (its offsets live on the stack).
const MAX_TAPS: usize = 64;

/// [`pool_sample`] with each 16-channel block of an output position in one register while
/// the window's cells are combined in the same order: the same results, bit for bit.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pool_sample_avx512(
    w: &Window,
    channels: usize,
    max: bool,
    xs: &[f32],
    first: usize,
    ys: &mut [f32],
) {
    let [d, h, wd] = w.size;
    let c = channels;
    assert!(w.taps() <= MAX_TAPS && xs.len() >= d * h * wd * c && c > 0);
    let mut offsets = [0usize; MAX_TAPS];
    // Every window inside the input (no padding reached): the same cells at a step from
    // one position to the next, without dividing for each position.
    let inside = (0..3)
        .all(|a| w.pad[a] == 0 && (w.out[a].max(1) - 1) * w.stride[a] + w.kernel[a] <= w.size[a]);
    if inside {
        let mut n = 0;
        for kd in 0..w.kernel[0] {
            for kh in 0..w.kernel[1] {
                for kw in 0..w.kernel[2] {
                    offsets[n] = ((kd * h + kh) * wd + kw) * c;
                    n += 1;
                }
            }
        }
        let [od_n, oh_n, ow_n] = w.out;
        let (mut od, mut oh, mut ow) = (first / (oh_n * ow_n), (first / ow_n) % oh_n, first % ow_n);
        for out in ys.chunks_exact_mut(c) {
            let base = ((od * w.stride[0] * h + oh * w.stride[1]) * wd + ow * w.stride[2]) * c;
            combine(&xs[base..], &offsets[..n], max, out);
            ow += 1;
            if ow == ow_n {
                ow = 0;
                oh += 1;
                if oh == oh_n {
                    oh = 0;
                    od = (od + 1) % od_n.max(1);
                }
            }
        }
        return;
    }
    for (row, out) in (first..).zip(ys.chunks_exact_mut(c)) {
        // The window's cells inside the input, in `pool_sample`'s order.
        let mut n = 0;
        w.cells(row, |_, cell| {
            offsets[n] = cell * c;
            n += 1;
        });
        combine(xs, &offsets[..n], max, out);
    }
}

/// One output position: `out[j]` combines `xs[o + j]` over the offsets `o`, in order.
///
/// # Safety
/// The CPU must support AVX-512F; `o + out.len() <= xs.len()` for every offset.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn combine(xs: &[f32], offsets: &[usize], max: bool, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let c = out.len();
    let n = offsets.len();
    let inv = _mm512_set1_ps(if n > 0 { 1.0 / n as f32 } else { 1.0 });
    for j0 in (0..c).step_by(16) {
        // Lanes outside the mask are neither read nor written.
        let mask = ((1u32 << (c - j0).min(16)) - 1) as u16;
        let mut acc = _mm512_set1_ps(if max { f32::MIN } else { 0.0 });
        for &o in offsets {
            let v = _mm512_maskz_loadu_ps(mask, xs.as_ptr().add(o + j0));
            // `vmaxps(v, acc)` is `if v > acc { v } else { acc }`: NaN never replaces.
            acc = if max {
                _mm512_max_ps(v, acc)
            } else {
                _mm512_add_ps(acc, v)
            };
        }
        if !max {
            acc = _mm512_mul_ps(acc, inv);
        }
        _mm512_mask_storeu_ps(out.as_mut_ptr().add(j0), mask, acc);
    }
}

/// One sample's output positions from `first` (as many as `ys` holds): each output
/// position's window, per channel.
fn pool_sample(w: &Window, channels: usize, max: bool, xs: &[f32], first: usize, ys: &mut [f32]) {
    for (row, acc) in (first..).zip(ys.chunks_exact_mut(channels.max(1))) {
        // TensorFlow's max pooling starts from the lowest finite value and only a larger
        // value replaces it: NaN never does, and a window of NaN and -inf gives f32::MIN.
        acc.fill(if max { f32::MIN } else { 0.0 });
        let mut count = 0usize;
        w.cells(row, |_, cell| {
            let src = &xs[cell * channels..][..channels];
            if max {
                // A plain comparison, which compiles to the vector maximum.
                acc.iter_mut()
                    .zip(src)
                    .for_each(|(a, &v)| *a = if v > *a { v } else { *a });
            } else {
                acc.iter_mut().zip(src).for_each(|(a, &v)| *a += v);
            }
            count += 1;
        });
        if !max && count > 0 {
            let inv = 1.0 / count as f32;
            acc.iter_mut().for_each(|a| *a *= inv);
        }
    }
}

/// The maximum or mean over every spatial position, per channel (`keepdims` only changes
/// the shape, not the data).
pub(crate) fn global(c: &GlobalPooling, s: &Step, x: &[f32], y: &mut [f32]) {
    let channels = s.input.last().max(1);
    let positions = elements(&s.input) / channels;
    let max = c.op == PoolOp::Max;
    for (xs, ys) in x
        .chunks_exact((positions * channels).max(1))
        .zip(y.chunks_exact_mut(channels))
    {
        ys.fill(if max { f32::NEG_INFINITY } else { 0.0 });
        for src in xs.chunks_exact(channels) {
            if max {
                // A reduction, unlike max pooling: a NaN anywhere makes the maximum NaN.
                ys.iter_mut()
                    .zip(src)
                    .for_each(|(a, &v)| *a = if v > *a || v.is_nan() { v } else { *a });
            } else {
                ys.iter_mut().zip(src).for_each(|(a, &v)| *a += v);
            }
        }
        if !max && positions > 0 {
            let inv = 1.0 / positions as f32;
            ys.iter_mut().for_each(|a| *a *= inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx512_path_matches_the_portable_one_bit_for_bit_but_nan_payloads() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        // (size, out, kernel, stride, pad): windows inside, windows past the end, padding
        // before, overlapping windows, a 3-D window.
        type Case = ([usize; 3], [usize; 3], [usize; 3], [usize; 3], [usize; 3]);
        let cases: [Case; 5] = [
            ([1, 8, 8], [1, 4, 4], [1, 2, 2], [1, 2, 2], [0; 3]),
            ([1, 7, 9], [1, 3, 4], [1, 3, 3], [1, 2, 2], [0; 3]),
            ([1, 7, 7], [1, 4, 4], [1, 2, 2], [1, 2, 2], [0, 1, 1]),
            ([1, 6, 5], [1, 6, 5], [1, 3, 3], [1, 1, 1], [0, 1, 1]),
            ([3, 4, 4], [2, 2, 2], [2, 2, 2], [1, 2, 2], [0; 3]),
        ];
        for (size, out, kernel, stride, pad) in cases {
            let w = Window {
                size,
                out,
                kernel,
                stride,
                dilation: [1; 3],
                pad,
            };
            for channels in [1, 5, 16, 17, 40] {
                let n_in = size.iter().product::<usize>() * channels;
                // NaN, infinities and negative zero among ordinary values.
                let xs: Vec<f32> = (0..n_in)
                    .map(|i| match i % 23 {
                        3 => f32::NAN,
                        7 => f32::NEG_INFINITY,
                        11 => f32::INFINITY,
                        13 => -0.0,
                        _ => ((i * 37) % 101) as f32 / 50.0 - 1.0,
                    })
                    .collect();
                let n_out = out.iter().product::<usize>() * channels;
                for max in [true, false] {
                    let (mut want, mut got) = (vec![7.0; n_out], vec![7.0; n_out]);
                    pool_sample(&w, channels, max, &xs, 0, &mut want);
                    // SAFETY: the CPU has AVX-512F (checked above). In two parts, the
                    // second from its first position.
                    let half = out.iter().product::<usize>() / 2 * channels;
                    let (lo, hi) = got.split_at_mut(half);
                    unsafe { pool_sample_avx512(&w, channels, max, &xs, 0, lo) };
                    unsafe { pool_sample_avx512(&w, channels, max, &xs, half / channels, hi) };
                    for (i, (a, b)) in want.iter().zip(&got).enumerate() {
                        assert!(
                            a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                            "{size:?} k {kernel:?} channels {channels} max {max}: value {i}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}
