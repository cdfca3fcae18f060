//! `Dropout`, `SpatialDropout1D/2D/3D`, `StochasticDepth` and `GaussianNoise` in training
//! mode.
//!
//! Dropout keeps each value with probability `1 − rate` and scales it by `1 / (1 − rate)`,
//! as Keras; the spatial forms draw one decision per sample and channel, shared over the
//! spatial positions, and `StochasticDepth` one per sample. The mask is kept (as the factor each value was multiplied by) for the
//! backward pass. `GaussianNoise` adds `N(0, stddev²)` noise; its gradient is the identity.

use super::{Noise, NoiseOp};
use crate::layer::ops::{Grad, Step, Train};
use crate::runtime::{elements, Rng};

/// Uniform in `[0, 1)` with 24 random bits (exact in `f32`).
fn uniform(rng: &mut Rng) -> f32 {
    (rng.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// A standard normal value (Box–Muller).
pub(crate) fn normal(rng: &mut Rng) -> f32 {
    let u1 = 1.0 - (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    let u2 = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    ((-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos()) as f32
}

pub(crate) fn forward(c: &Noise, p: &Step, x: &[f32], y: &mut [f32], t: Train) {
    let Train { cache, rng, .. } = t;
    if c.op == NoiseOp::Gaussian {
        let std = c.rate as f32;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = v + std * normal(rng);
        }
        return;
    }
    let rate = c.rate as f32;
    let mask = &mut cache.a;
    mask.resize(x.len(), 0.0);
    if rate <= 0.0 {
        mask.fill(1.0);
    } else if rate >= 1.0 {
        mask.fill(0.0);
    } else {
        let keep = 1.0 / (1.0 - rate);
        let draw = |rng: &mut Rng| if uniform(rng) >= rate { keep } else { 0.0 };
        if c.op == NoiseOp::StochasticDepth {
            // One decision per sample, for the whole of it.
            let per_sample = elements(&p.input).max(1);
            for sample in mask.chunks_exact_mut(per_sample) {
                sample.fill(draw(rng));
            }
        } else if c.rank == 0 {
            mask.iter_mut().for_each(|m| *m = draw(rng));
        } else {
            // One decision per sample and channel.
            let channels = p.input.last().max(1);
            let per_sample = elements(&p.input).max(1);
            for sample in mask.chunks_exact_mut(per_sample) {
                let decisions: Vec<f32> = (0..channels).map(|_| draw(rng)).collect();
                for row in sample.chunks_exact_mut(channels) {
                    row.copy_from_slice(&decisions);
                }
            }
        }
    }
    for ((o, &v), &m) in y.iter_mut().zip(x).zip(mask.iter()) {
        *o = v * m;
    }
}

pub(crate) fn backward(c: &Noise, g: Grad) {
    let Grad { dy, dx, cache, .. } = g;
    let Some(dx) = dx else { return };
    if c.op == NoiseOp::Gaussian {
        dx.copy_from_slice(dy);
        return;
    }
    for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(&cache.a) {
        *d = g * m;
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, layer, train_forward};
    use crate::layer::Kind;
    use crate::shape::Shape;
    use crate::value::Value;

    #[test]
    fn dropout_family_and_gaussian_noise() {
        check(
            layer(Kind::Dropout, &[("rate", Value::Float(0.4))]),
            &[4, 5],
            3,
        );
        check(
            layer(Kind::SpatialDropout1D, &[("rate", Value::Float(0.5))]),
            &[4, 6],
            3,
        );
        check(
            layer(Kind::SpatialDropout2D, &[("rate", Value::Float(0.5))]),
            &[3, 3, 6],
            2,
        );
        check(
            layer(Kind::SpatialDropout3D, &[("rate", Value::Float(0.5))]),
            &[2, 2, 2, 6],
            2,
        );
        check(
            layer(Kind::GaussianNoise, &[("stddev", Value::Float(0.3))]),
            &[4, 5],
            2,
        );
        check(
            layer(
                Kind::StochasticDepth,
                &[("drop_path_rate", Value::Float(0.5))],
            ),
            &[3, 4],
            4,
        );
    }

    #[test]
    fn dropout_keeps_one_minus_rate_scaled_by_its_inverse() {
        let l = layer(Kind::Dropout, &[("rate", Value::Float(0.25))]);
        let input = Shape::new(&[10_000]);
        let x = vec![1.0; 10_000];
        let (y, _) = train_forward(&l, input, &[], &x, 1, 1);
        let kept = y.iter().filter(|&&v| v != 0.0).count();
        assert!((7300..7700).contains(&kept), "{kept} of 10000 kept");
        assert!(y
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0f32 / 0.75).abs() < 1e-6));
        // The same seed, the same mask.
        assert_eq!(y, train_forward(&l, input, &[], &x, 1, 1).0);
    }
}
