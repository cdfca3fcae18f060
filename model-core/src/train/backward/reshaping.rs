//! Spatial reshaping: zero padding's gradient is the cropped output gradient, cropping's is
//! the output gradient padded with zeros, nearest up-sampling's the sum over each cell's
//! copies, bilinear up-sampling's each output's gradient shared among its four source
//! cells by the runtime's weights.

use super::Pass;
use crate::layer::{Interpolation, Kind, Pads, UpSampling};
use crate::runtime::convolution::{grid, widen};
use crate::runtime::elements;
use crate::runtime::reshaping::bilinear_axis;

pub(crate) fn pads_backward(kind: Kind, c: &Pads, p: &Pass, dy: &[f32], dx: Option<&mut [f32]>) {
    let Some(dx) = dx else { return };
    let r = kind.spatial_rank();
    let (size, channels) = grid(&p.input, r);
    let (out, _) = grid(&p.output, r);
    let mut before = [0usize; 3];
    for (a, amount) in c.amounts.iter().take(r).enumerate() {
        before[3 - r + a] = amount[0];
    }
    let cropping = matches!(kind, Kind::Cropping1D | Kind::Cropping2D | Kind::Cropping3D);
    let (in_len, out_len) = (elements(&p.input).max(1), elements(&p.output).max(1));
    for (ds, gs) in dx.chunks_exact_mut(in_len).zip(dy.chunks_exact(out_len)) {
        if cropping {
            ds.fill(0.0);
            let row = out[2] * channels;
            for d in 0..out[0] {
                for h in 0..out[1] {
                    let at = (((d + before[0]) * size[1] + h + before[1]) * size[2] + before[2])
                        * channels;
                    let from = (d * out[1] + h) * row;
                    ds[at..at + row].copy_from_slice(&gs[from..from + row]);
                }
            }
        } else {
            let row = size[2] * channels;
            for d in 0..size[0] {
                for h in 0..size[1] {
                    let from = (((d + before[0]) * out[1] + h + before[1]) * out[2] + before[2])
                        * channels;
                    let at = (d * size[1] + h) * row;
                    ds[at..at + row].copy_from_slice(&gs[from..from + row]);
                }
            }
        }
    }
}

pub(crate) fn upsampling_backward(
    kind: Kind,
    c: &UpSampling,
    p: &Pass,
    dy: &[f32],
    dx: Option<&mut [f32]>,
) {
    let Some(dx) = dx else { return };
    let r = kind.spatial_rank();
    let (size, channels) = grid(&p.input, r);
    let (out, _) = grid(&p.output, r);
    let factor = widen(c.size, r, 1);
    let (in_len, out_len) = (elements(&p.input).max(1), elements(&p.output).max(1));
    let bilinear = c.interpolation == Interpolation::Bilinear && r == 2;
    for (ds, gs) in dx.chunks_exact_mut(in_len).zip(dy.chunks_exact(out_len)) {
        ds.fill(0.0);
        if bilinear {
            bilinear_backward(size[1], size[2], channels, out[1], out[2], gs, ds);
            continue;
        }
        let mut at = 0;
        for d in 0..out[0] {
            for h in 0..out[1] {
                for w in 0..out[2] {
                    let to = (((d / factor[0]) * size[1] + h / factor[1]) * size[2]
                        + w / factor[2])
                        * channels;
                    for ch in 0..channels {
                        ds[to + ch] += gs[at + ch];
                    }
                    at += channels;
                }
            }
        }
    }
}

/// The adjoint of the runtime's `resize_bilinear` on one sample: each output is
/// `(1 − ty)·((1 − tx)·tl + tx·tr) + ty·((1 − tx)·bl + tx·br)` of its four source cells,
/// so its gradient goes to them with those weights.
fn bilinear_backward(
    h: usize,
    w: usize,
    channels: usize,
    oh: usize,
    ow: usize,
    dy: &[f32],
    dx: &mut [f32],
) {
    if h == 0 || w == 0 {
        return;
    }
    let mut at = 0;
    for i in 0..oh {
        let (top, bottom, ty) = bilinear_axis(i, h, oh);
        for j in 0..ow {
            let (left, right, tx) = bilinear_axis(j, w, ow);
            let corners = [
                (top, left, (1.0 - ty) * (1.0 - tx)),
                (top, right, (1.0 - ty) * tx),
                (bottom, left, ty * (1.0 - tx)),
                (bottom, right, ty * tx),
            ];
            let g = &dy[at..at + channels];
            for (r, c, weight) in corners {
                let d = &mut dx[(r * w + c) * channels..][..channels];
                d.iter_mut().zip(g).for_each(|(d, &g)| *d += weight * g);
            }
            at += channels;
        }
    }
}
