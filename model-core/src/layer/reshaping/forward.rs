//! Spatial reshaping: `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D`, `UpSampling1D/2D/3D`
//! (nearest, and bilinear as TensorFlow's `resize` with half-pixel centers).

use super::{Interpolation, PadOp, Pads, UpSampling};
use crate::layer::ops::Step;
use crate::layer::window::{grid, widen};
use crate::runtime::elements;
use crate::shape::Shape;

/// Where the input starts in the padded grid (or the output in the cropped one), per axis.
fn before(c: &Pads) -> [usize; 3] {
    let mut before = [0usize; 3];
    for (a, amount) in c.amounts.iter().take(c.rank).enumerate() {
        before[3 - c.rank + a] = amount[0];
    }
    before
}

/// Copies each sample of `small` (grid `inner`) into `large` (grid `outer`), shifted by
/// `at`, zeros elsewhere: zero padding, and the gradient of cropping.
pub(super) fn pad_into(c: &Pads, inner: &Shape, outer: &Shape, small: &[f32], large: &mut [f32]) {
    let (size, channels) = grid(inner, c.rank);
    let (out, _) = grid(outer, c.rank);
    let at = before(c);
    let (in_len, out_len) = (elements(inner).max(1), elements(outer).max(1));
    let row = size[2] * channels;
    for (xs, ys) in small
        .chunks_exact(in_len)
        .zip(large.chunks_exact_mut(out_len))
    {
        ys.fill(0.0);
        for d in 0..size[0] {
            for h in 0..size[1] {
                let dst = (((d + at[0]) * out[1] + h + at[1]) * out[2] + at[2]) * channels;
                let src = (d * size[1] + h) * row;
                ys[dst..dst + row].copy_from_slice(&xs[src..src + row]);
            }
        }
    }
}

/// Copies the part of each sample of `large` (grid `outer`) that starts at `at` into
/// `small` (grid `inner`): cropping, and the gradient of zero padding.
pub(super) fn crop_from(c: &Pads, outer: &Shape, inner: &Shape, large: &[f32], small: &mut [f32]) {
    let (size, channels) = grid(outer, c.rank);
    let (out, _) = grid(inner, c.rank);
    let at = before(c);
    let (in_len, out_len) = (elements(outer).max(1), elements(inner).max(1));
    let row = out[2] * channels;
    for (xs, ys) in large
        .chunks_exact(in_len)
        .zip(small.chunks_exact_mut(out_len))
    {
        for d in 0..out[0] {
            for h in 0..out[1] {
                let src = (((d + at[0]) * size[1] + h + at[1]) * size[2] + at[2]) * channels;
                let dst = (d * out[1] + h) * row;
                ys[dst..dst + row].copy_from_slice(&xs[src..src + row]);
            }
        }
    }
}

/// Zero padding writes the input into the larger output; cropping reads the output out of
/// the larger input.
pub(crate) fn pads(c: &Pads, s: &Step, x: &[f32], y: &mut [f32]) {
    match c.op {
        PadOp::Zero => pad_into(c, &s.input, &s.output, x, y),
        PadOp::Crop => crop_from(c, &s.input, &s.output, x, y),
    }
}

pub(crate) fn upsampling(c: &UpSampling, s: &Step, x: &[f32], y: &mut [f32]) {
    let r = c.rank;
    let (size, channels) = grid(&s.input, r);
    let (out, _) = grid(&s.output, r);
    let factor = widen(c.size, r, 1);
    let (in_len, out_len) = (elements(&s.input).max(1), elements(&s.output).max(1));
    let bilinear = c.interpolation == Interpolation::Bilinear && r == 2;
    for (xs, ys) in x.chunks_exact(in_len).zip(y.chunks_exact_mut(out_len)) {
        if bilinear {
            resize_bilinear(xs, size[1], size[2], channels, out[1], out[2], ys);
            continue;
        }
        let mut at = 0;
        for d in 0..out[0] {
            for h in 0..out[1] {
                for w in 0..out[2] {
                    let src = (((d / factor[0]) * size[1] + h / factor[1]) * size[2]
                        + w / factor[2])
                        * channels;
                    ys[at..at + channels].copy_from_slice(&xs[src..src + channels]);
                    at += channels;
                }
            }
        }
    }
}

/// TensorFlow's bilinear weights on one axis: the two source cells and the weight of the
/// second, for output cell `o` with half-pixel centers.
pub(crate) fn bilinear_axis(o: usize, size: usize, out: usize) -> (usize, usize, f32) {
    let scale = size as f32 / out as f32;
    let at = (o as f32 + 0.5) * scale - 0.5;
    let floor = at.floor();
    let lower = (floor.max(0.0) as usize).min(size - 1);
    let upper = (at.ceil().max(0.0) as usize).min(size - 1);
    (lower, upper, at - floor)
}

fn resize_bilinear(
    x: &[f32],
    h: usize,
    w: usize,
    channels: usize,
    oh: usize,
    ow: usize,
    y: &mut [f32],
) {
    if h == 0 || w == 0 {
        return;
    }
    let mut at = 0;
    for i in 0..oh {
        let (top, bottom, dy) = bilinear_axis(i, h, oh);
        for j in 0..ow {
            let (left, right, dx) = bilinear_axis(j, w, ow);
            let px = |r: usize, c: usize| &x[(r * w + c) * channels..][..channels];
            let (tl, tr, bl, br) = (
                px(top, left),
                px(top, right),
                px(bottom, left),
                px(bottom, right),
            );
            for ch in 0..channels {
                let t = tl[ch] + (tr[ch] - tl[ch]) * dx;
                let b = bl[ch] + (br[ch] - bl[ch]) * dx;
                y[at + ch] = t + (b - t) * dy;
            }
            at += channels;
        }
    }
}
