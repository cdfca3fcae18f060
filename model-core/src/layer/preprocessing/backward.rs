//! The gradients of `Rescaling` (`dy · scale`) and `Normalization` (`dy / deviation`, or
//! `dy · deviation` inverted); neither has a trainable weight.

use super::forward::moments;
use super::{Rescaling, Standardization};
use crate::layer::ops::{Grad, Step};

pub(crate) fn rescaling(c: &Rescaling, s: &Step, g: Grad) {
    let Some(dx) = g.dx else { return };
    let channels = s.input.last().max(1);
    for (gs, ds) in
        g.dy.chunks_exact(channels)
            .zip(dx.chunks_exact_mut(channels))
    {
        for (ch, (d, &v)) in ds.iter_mut().zip(gs).enumerate() {
            *d = v * c.scale.at(ch) as f32;
        }
    }
}

pub(crate) fn standardization(c: &Standardization, s: &Step, g: Grad) {
    let Some(dx) = g.dx else { return };
    let channels = s.input.last().max(1);
    let devs: Vec<f32> = (0..channels).map(|ch| moments(c, s, ch).1).collect();
    for (gs, ds) in
        g.dy.chunks_exact(channels)
            .zip(dx.chunks_exact_mut(channels))
    {
        for ((d, &v), &dev) in ds.iter_mut().zip(gs).zip(&devs) {
            *d = if c.invert { v * dev } else { v / dev };
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, layer};
    use crate::layer::Kind;
    use crate::value::Value;

    #[test]
    fn rescaling_and_normalization() {
        let scale = Value::Numbers(&[0.5, -2.0, 3.0]);
        check(
            layer(
                Kind::Rescaling,
                &[("scale", scale), ("offset", Value::Float(1.0))],
            ),
            &[2, 3],
            2,
        );
        let (mean, variance) = (
            Value::Numbers(&[0.5, -1.0, 0.0]),
            Value::Numbers(&[4.0, 0.25, 1.0]),
        );
        check(
            layer(
                Kind::Normalization,
                &[("mean", mean), ("variance", variance)],
            ),
            &[2, 3],
            2,
        );
        check(
            layer(
                Kind::Normalization,
                &[
                    ("mean", mean),
                    ("variance", variance),
                    ("invert", Value::Bool(true)),
                ],
            ),
            &[3],
            2,
        );
        check(layer(Kind::Normalization, &[]), &[4, 2], 2);
    }
}
