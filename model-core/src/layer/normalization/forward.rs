//! `BatchNormalization` (moving statistics) and `LayerNormalization`, on the last axis.

use super::Normalization;
use crate::layer::ops::Step;
use crate::runtime::kernels::par_rows;
use crate::runtime::Tensor;

/// Values of a band of rows that each block of features passes over while it is in the
/// L1 cache.
const ROWS_VALUES: usize = 1 << 13;

/// Feature `i`'s `(inv, shift)` of a BatchNormalization with these weights: `y = x · inv +
/// shift`, `inv = gamma / sqrt(var + eps)`, `shift = beta - mean · inv`, as TensorFlow does.
#[inline]
fn factor(
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    mean: &[f32],
    var: &[f32],
    eps: f32,
    i: usize,
) -> (f32, f32) {
    let inv = gamma.map_or(1.0, |g| g[i]) / (var[i] + eps).sqrt();
    (inv, beta.map_or(0.0, |b| b[i]) - mean[i] * inv)
}

/// Whether [`factors`] takes a layer of this configuration with these weights for
/// `features` features: a BatchNormalization (moving statistics), gamma and beta where it
/// has them, each weight one value per feature.
pub(crate) fn folds(c: &Normalization, weights: &[Tensor], features: usize) -> bool {
    let expected = usize::from(c.scale) + usize::from(c.center) + 2;
    c.batch && weights.len() == expected && weights.iter().all(|t| t.data.len() == features)
}

/// A BatchNormalization's `(inv, shift)` for each of its `scale.len()` features, into
/// `scale` and `shift`, for a layer that folds it into its own output (a convolution
/// before it): the same values [`forward`] multiplies and adds. `false`, having written
/// nothing, where [`folds`] says no.
pub(crate) fn factors(
    c: &Normalization,
    weights: &[Tensor],
    scale: &mut [f32],
    shift: &mut [f32],
) -> bool {
    let features = scale.len();
    if !folds(c, weights, features) || shift.len() != features {
        return false;
    }
    let mut w = weights.iter().map(|t| t.data.as_slice());
    let gamma = if c.scale { w.next() } else { None };
    let beta = if c.center { w.next() } else { None };
    let (Some(mean), Some(var)) = (w.next(), w.next()) else {
        return false;
    };
    for (i, (s, t)) in scale.iter_mut().zip(shift.iter_mut()).enumerate() {
        (*s, *t) = factor(gamma, beta, mean, var, c.epsilon as f32, i);
    }
    true
}

pub(crate) fn forward(c: &Normalization, s: &Step, x: &[f32], y: &mut [f32]) {
    let features = s.input.last().max(1);
    let mut w = s.weights.iter().map(|t| t.data.as_slice());
    let gamma = if c.scale { w.next() } else { None };
    let beta = if c.center { w.next() } else { None };
    let eps = c.epsilon as f32;
    if c.batch {
        let (Some(mean), Some(var)) = (w.next(), w.next()) else {
            return;
        };
        // y = x · inv + (beta - mean · inv), inv = gamma / sqrt(var + eps), as TensorFlow does.
        // Blocks of features keep the factors on the stack (no allocation per call), over
        // bands of rows that stay in cache while each block passes over them; bands split
        // between the threads when the tensor is big.
        const BLOCK: usize = 64;
        let band = (ROWS_VALUES / features).max(1) * features;
        let one = |x: &[f32], y: &mut [f32]| {
            let (mut inv, mut shift) = ([0f32; BLOCK], [0f32; BLOCK]);
            for (xb, yb) in x.chunks(band).zip(y.chunks_mut(band)) {
                for start in (0..features).step_by(BLOCK) {
                    let len = BLOCK.min(features - start);
                    for j in 0..len {
                        (inv[j], shift[j]) = factor(gamma, beta, mean, var, eps, start + j);
                    }
                    for (xs, ys) in xb.chunks_exact(features).zip(yb.chunks_exact_mut(features)) {
                        let (xs, ys) = (&xs[start..start + len], &mut ys[start..start + len]);
                        for (((o, &v), &a), &b) in ys.iter_mut().zip(xs).zip(&inv).zip(&shift) {
                            *o = v * a + b;
                        }
                    }
                }
            }
        };
        par_rows(x, y, features, one);
    } else {
        for (xs, ys) in x.chunks_exact(features).zip(y.chunks_exact_mut(features)) {
            let n = features as f64;
            let mean = xs.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = xs.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let inv = 1.0 / (var as f32 + eps).sqrt();
            let mean = mean as f32;
            for i in 0..features {
                let g = gamma.map_or(inv, |g| g[i] * inv);
                ys[i] = (xs[i] - mean) * g + beta.map_or(0.0, |b| b[i]);
            }
        }
    }
}
