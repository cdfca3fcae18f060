//! `Dropout`, `SpatialDropout1D/2D/3D` and `GaussianNoise` in training mode.
//!
//! Dropout keeps each value with probability `1 − rate` and scales it by `1 / (1 − rate)`,
//! as Keras; the spatial forms draw one decision per sample and channel, shared over the
//! spatial positions. The mask is kept (as the factor each value was multiplied by) for the
//! backward pass. `GaussianNoise` adds `N(0, stddev²)` noise; its gradient is the identity.

use super::{Cache, Pass};
use crate::layer::{Kind, Noise};
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

pub(crate) fn forward(
    kind: Kind,
    c: &Noise,
    p: &Pass,
    x: &[f32],
    y: &mut [f32],
    cache: &mut Cache,
    rng: &mut Rng,
) {
    if kind == Kind::GaussianNoise {
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
        if kind == Kind::Dropout {
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

pub(crate) fn backward(kind: Kind, dy: &[f32], dx: Option<&mut [f32]>, cache: &Cache) {
    let Some(dx) = dx else { return };
    if kind == Kind::GaussianNoise {
        dx.copy_from_slice(dy);
        return;
    }
    for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(&cache.a) {
        *d = g * m;
    }
}
