//! Spatial reshaping: `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D`, `UpSampling1D/2D/3D`
//! (nearest, and bilinear as TensorFlow's `resize` with half-pixel centers).

use super::convolution::{grid, widen};
use super::{elements, Step};
use crate::layer::{Interpolation, Kind, Pads, UpSampling};

/// Copies each row of `channels · width` values between the grids, shifted by `offset`
/// (zero padding writes into the larger output at `+before`, cropping reads at `+before`).
pub(crate) fn pads(kind: Kind, c: &Pads, s: &Step, x: &[f32], y: &mut [f32]) {
    let r = kind.spatial_rank();
    let (size, channels) = grid(&s.input, r);
    let (out, _) = grid(&s.output, r);
    let mut before = [0usize; 3];
    for (a, amount) in c.amounts.iter().take(r).enumerate() {
        before[3 - r + a] = amount[0];
    }
    let cropping = matches!(kind, Kind::Cropping1D | Kind::Cropping2D | Kind::Cropping3D);
    let (in_len, out_len) = (elements(&s.input).max(1), elements(&s.output).max(1));
    for (xs, ys) in x.chunks_exact(in_len).zip(y.chunks_exact_mut(out_len)) {
        if cropping {
            // Output row (d, h) reads input row (d + before, h + before) from column `before`.
            let row = out[2] * channels;
            for d in 0..out[0] {
                for h in 0..out[1] {
                    let src = (((d + before[0]) * size[1] + h + before[1]) * size[2] + before[2])
                        * channels;
                    let dst = (d * out[1] + h) * row;
                    ys[dst..dst + row].copy_from_slice(&xs[src..src + row]);
                }
            }
        } else {
            ys.fill(0.0);
            let row = size[2] * channels;
            for d in 0..size[0] {
                for h in 0..size[1] {
                    let dst = (((d + before[0]) * out[1] + h + before[1]) * out[2] + before[2])
                        * channels;
                    let src = (d * size[1] + h) * row;
                    ys[dst..dst + row].copy_from_slice(&xs[src..src + row]);
                }
            }
        }
    }
}

pub(crate) fn upsampling(kind: Kind, c: &UpSampling, s: &Step, x: &[f32], y: &mut [f32]) {
    let r = kind.spatial_rank();
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
