//! Spatial reshaping: zero padding's gradient is the cropped output gradient, cropping's is
//! the output gradient padded with zeros, nearest up-sampling's the sum over each cell's
//! copies. (Bilinear up-sampling has no backward pass yet.)

use super::Pass;
use crate::layer::{Interpolation, Kind, Pads, UpSampling};
use crate::runtime::convolution::{grid, widen};
use crate::runtime::elements;

pub(crate) fn upsampling_supported(kind: Kind, c: &UpSampling) -> bool {
    !(c.interpolation == Interpolation::Bilinear && kind.spatial_rank() == 2)
}

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
    for (ds, gs) in dx.chunks_exact_mut(in_len).zip(dy.chunks_exact(out_len)) {
        ds.fill(0.0);
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
