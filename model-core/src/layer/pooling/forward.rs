//! Pooling: `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D` (padded cells are left out of
//! both the maximum and the average, as TensorFlow does), and the global forms.

use super::{GlobalPooling, PoolOp, Pooling};
use crate::layer::ops::Step;
use crate::layer::window::Window;
use crate::runtime::elements;
use crate::runtime::kernels::threads_for;
use crate::shape::Shape;
use rayon::prelude::*;

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
    let pool = |(xs, ys): (&[f32], &mut [f32])| pool_sample(&w, channels, max, xs, ys);
    // Samples are independent: big batches use every core.
    if threads_for(s.batch * out_len * w.taps()) > 1 {
        x.par_chunks_exact(in_len)
            .zip(y.par_chunks_exact_mut(out_len))
            .for_each(pool);
    } else {
        x.chunks_exact(in_len)
            .zip(y.chunks_exact_mut(out_len))
            .for_each(pool);
    }
}

/// One sample: each output position's window, per channel.
fn pool_sample(w: &Window, channels: usize, max: bool, xs: &[f32], ys: &mut [f32]) {
    let [_, h, wd] = w.size;
    for (row, acc) in ys.chunks_exact_mut(channels.max(1)).enumerate() {
        let (od, oh, ow) = (
            row / (w.out[1] * w.out[2]),
            (row / w.out[2]) % w.out[1],
            row % w.out[2],
        );
        // TensorFlow's max pooling starts from the lowest finite value and only a larger
        // value replaces it: NaN never does, and a window of NaN and -inf gives f32::MIN.
        acc.fill(if max { f32::MIN } else { 0.0 });
        let mut count = 0usize;
        for kd in 0..w.kernel[0] {
            let Some(id) = w.source(0, od, kd) else {
                continue;
            };
            for kh in 0..w.kernel[1] {
                let Some(ih) = w.source(1, oh, kh) else {
                    continue;
                };
                for kw in 0..w.kernel[2] {
                    let Some(iw) = w.source(2, ow, kw) else {
                        continue;
                    };
                    let src = &xs[((id * h + ih) * wd + iw) * channels..][..channels];
                    if max {
                        // A plain comparison, which compiles to the vector maximum.
                        acc.iter_mut()
                            .zip(src)
                            .for_each(|(a, &v)| *a = if v > *a { v } else { *a });
                    } else {
                        acc.iter_mut().zip(src).for_each(|(a, &v)| *a += v);
                    }
                    count += 1;
                }
            }
        }
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
