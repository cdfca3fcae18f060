//! Pooling: `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D` (padded cells are left out of
//! both the maximum and the average, as TensorFlow does), and the global forms.

use super::convolution::{grid, pad_before, widen, Window};
use super::kernels::threads_for;
use super::{elements, Step};
use crate::layer::{Kind, Pooling};
use crate::shape::Shape;
use rayon::prelude::*;

/// Whether `kind` takes the maximum (else the average).
pub(crate) fn is_max(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::MaxPooling1D
            | Kind::MaxPooling2D
            | Kind::MaxPooling3D
            | Kind::GlobalMaxPooling1D
            | Kind::GlobalMaxPooling2D
            | Kind::GlobalMaxPooling3D
    )
}

/// The pooling window of `kind` between `input` and `output` (padding from Keras's `same`
/// rule), and the channel count; the backward pass reads the same window.
pub(crate) fn window(kind: Kind, c: &Pooling, input: &Shape, output: &Shape) -> (Window, usize) {
    let r = kind.spatial_rank();
    let (size, channels) = grid(input, r);
    let (out, _) = grid(output, r);
    let kernel = widen(c.pool_size, r, 1);
    let stride = widen(c.effective_strides(), r, 1);
    let mut pad = [0; 3];
    for a in 0..3 {
        pad[a] = pad_before(c.padding, size[a], out[a], stride[a], kernel[a]);
    }
    let w = Window {
        size,
        out,
        kernel,
        stride,
        dilation: [1; 3],
        pad,
    };
    (w, channels)
}

pub(crate) fn pooling(kind: Kind, c: &Pooling, s: &Step, x: &[f32], y: &mut [f32]) {
    let (w, channels) = window(kind, c, &s.input, &s.output);
    let max = is_max(kind);
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
        acc.fill(if max { f32::NEG_INFINITY } else { 0.0 });
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
pub(crate) fn global(kind: Kind, s: &Step, x: &[f32], y: &mut [f32]) {
    let channels = s.input.last().max(1);
    let positions = elements(&s.input) / channels;
    let max = is_max(kind);
    for (xs, ys) in x
        .chunks_exact((positions * channels).max(1))
        .zip(y.chunks_exact_mut(channels))
    {
        ys.fill(if max { f32::NEG_INFINITY } else { 0.0 });
        for src in xs.chunks_exact(channels) {
            if max {
                ys.iter_mut().zip(src).for_each(|(a, &v)| *a = a.max(v));
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
