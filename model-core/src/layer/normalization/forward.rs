//! `BatchNormalization` (moving statistics) and `LayerNormalization`, on the last axis.

use super::Normalization;
use crate::layer::ops::Step;
use crate::runtime::kernels::par_rows;

/// Values of a band of rows that each block of features passes over while it is in the
/// L1 cache.
const ROWS_VALUES: usize = 1 << 13;

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
                        let i = start + j;
                        inv[j] = gamma.map_or(1.0, |g| g[i]) / (var[i] + eps).sqrt();
                        shift[j] = beta.map_or(0.0, |b| b[i]) - mean[i] * inv[j];
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
