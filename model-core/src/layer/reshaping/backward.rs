//! Spatial reshaping: zero padding's gradient is the cropped output gradient, cropping's is
//! the output gradient padded with zeros, nearest up-sampling's the sum over each cell's
//! copies, bilinear up-sampling's each output's gradient shared among its four source
//! cells by the runtime's weights.

use super::forward::{bilinear_axis, crop_from, pad_into};
use super::{Interpolation, PadOp, Pads, UpSampling};
use crate::layer::ops::{Grad, Step};
use crate::layer::window::{grid, widen};
use crate::runtime::elements;

/// Each is the other's adjoint: zero padding's gradient is the cropped output gradient,
/// cropping's the output gradient padded with zeros.
pub(crate) fn pads_backward(c: &Pads, p: &Step, g: Grad) {
    let Some(dx) = g.dx else { return };
    match c.op {
        PadOp::Zero => crop_from(c, &p.output, &p.input, g.dy, dx),
        PadOp::Crop => pad_into(c, &p.output, &p.input, g.dy, dx),
    }
}

pub(crate) fn upsampling_backward(c: &UpSampling, p: &Step, g: Grad) {
    let (dy, Some(dx)) = (g.dy, g.dx) else {
        return;
    };
    let r = c.rank;
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

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, ints, layer};
    use crate::layer::Kind;
    use crate::value::Value;

    #[test]
    fn padding_cropping_upsampling() {
        check(
            layer(Kind::ZeroPadding1D, &[("padding", ints(&[1, 2]))]),
            &[4, 2],
            2,
        );
        check(
            layer(Kind::ZeroPadding2D, &[("padding", ints(&[1, 2]))]),
            &[3, 3, 2],
            2,
        );
        check(
            layer(Kind::ZeroPadding3D, &[("padding", Value::Int(1))]),
            &[2, 2, 2, 2],
            1,
        );
        check(
            layer(Kind::Cropping1D, &[("cropping", ints(&[1, 2]))]),
            &[6, 2],
            2,
        );
        check(
            layer(Kind::Cropping2D, &[("cropping", ints(&[1, 1]))]),
            &[4, 5, 2],
            2,
        );
        check(
            layer(Kind::Cropping3D, &[("cropping", Value::Int(1))]),
            &[3, 4, 3, 2],
            1,
        );
        check(
            layer(Kind::UpSampling1D, &[("size", Value::Int(3))]),
            &[3, 2],
            2,
        );
        check(
            layer(Kind::UpSampling2D, &[("size", ints(&[2, 3]))]),
            &[2, 3, 2],
            2,
        );
        check(
            layer(Kind::UpSampling3D, &[("size", Value::Int(2))]),
            &[2, 2, 2, 2],
            1,
        );
    }

    #[test]
    fn upsampling2d_bilinear() {
        check(
            layer(
                Kind::UpSampling2D,
                &[
                    ("size", ints(&[3, 2])),
                    ("interpolation", Value::Str("bilinear")),
                ],
            ),
            &[2, 4, 3],
            2,
        );
        check(
            layer(
                Kind::UpSampling2D,
                &[
                    ("size", ints(&[2, 2])),
                    ("interpolation", Value::Str("bilinear")),
                ],
            ),
            &[3, 3, 2],
            2,
        );
    }
}
