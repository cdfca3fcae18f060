//! `Rescaling` and `Normalization` in inference (the same in training: they learn nothing).

use super::{Rescaling, Standardization};
use crate::layer::ops::Step;
use crate::runtime::Tensor;

/// Keras's floor on the deviation (`backend.epsilon()`).
const EPSILON: f32 = 1e-7;

pub(crate) fn rescaling(c: &Rescaling, s: &Step, x: &[f32], y: &mut [f32]) {
    let channels = s.input.last().max(1);
    for (xs, ys) in x.chunks_exact(channels).zip(y.chunks_exact_mut(channels)) {
        for (ch, (o, &v)) in ys.iter_mut().zip(xs).enumerate() {
            *o = v * c.scale.at(ch) as f32 + c.offset.at(ch) as f32;
        }
    }
}

/// The mean and the deviation `max(√variance, ε)` of channel `ch`: the layer's constants,
/// or its weights.
pub(super) fn moments(c: &Standardization, s: &Step, ch: usize) -> (f32, f32) {
    moments_of(c, s.weights, ch)
}

/// [`moments`] from the layer's weights.
pub(super) fn moments_of(c: &Standardization, weights: &[Tensor], ch: usize) -> (f32, f32) {
    let (mean, variance) = match (&c.mean, &c.variance) {
        (Some(m), Some(v)) => (m.at(ch) as f32, v.at(ch) as f32),
        _ => (weights[0].data[ch], weights[1].data[ch]),
    };
    (mean, variance.sqrt().max(EPSILON))
}

pub(crate) fn standardization(c: &Standardization, s: &Step, x: &[f32], y: &mut [f32]) {
    let channels = s.input.last().max(1);
    let m: Vec<(f32, f32)> = (0..channels).map(|ch| moments(c, s, ch)).collect();
    for (xs, ys) in x.chunks_exact(channels).zip(y.chunks_exact_mut(channels)) {
        for ((o, &v), &(mean, dev)) in ys.iter_mut().zip(xs).zip(&m) {
            *o = if c.invert {
                mean + v * dev
            } else {
                (v - mean) / dev
            };
        }
    }
}
