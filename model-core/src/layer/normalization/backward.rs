//! `BatchNormalization` in training mode (the batch's statistics over every axis but the
//! last, the population variance as Keras uses it, and the moving statistics updated as
//! `moving·momentum + batch·(1 − momentum)`) and `LayerNormalization` (statistics over
//! each row's last axis, the same in training and inference).
//!
//! Both keep the normalized input `x̂` and the inverse deviations; the input's gradient is
//! `inv/N · (N·g − Σg − x̂·Σ(g·x̂))` with `g = dy·γ`, the sums over the `N` values that
//! shared the statistics.

use super::Normalization;
use crate::layer::ops::{Cache, Grad, Step};
use crate::runtime::Tensor;

/// Where gamma, beta and the moving statistics are among the weights.
struct Slots {
    gamma: Option<usize>,
    beta: Option<usize>,
    moving: Option<usize>,
}

fn slots(c: &Normalization) -> Slots {
    let mut i = 0;
    let mut next = |present: bool| {
        present.then(|| {
            i += 1;
            i - 1
        })
    };
    let gamma = next(c.scale);
    let beta = next(c.center);
    let moving = next(c.batch);
    Slots {
        gamma,
        beta,
        moving,
    }
}

pub(crate) fn forward(c: &Normalization, p: &Step, x: &[f32], y: &mut [f32], cache: &mut Cache) {
    let f = p.input.last().max(1);
    let s = slots(c);
    let gamma = s.gamma.map(|i| p.weights[i].data.as_slice());
    let beta = s.beta.map(|i| p.weights[i].data.as_slice());
    let eps = c.epsilon;
    let xhat = &mut cache.a;
    xhat.resize(x.len(), 0.0);
    let stats = &mut cache.b;
    if c.batch {
        // [mean; variance; inverse deviation], per feature.
        stats.resize(3 * f, 0.0);
        let rows = (x.len() / f).max(1) as f64;
        let mut sum = vec![0f64; f];
        for row in x.chunks_exact(f) {
            sum.iter_mut()
                .zip(row)
                .for_each(|(s, &v)| *s += f64::from(v));
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / rows).collect();
        let mut sq = vec![0f64; f];
        for row in x.chunks_exact(f) {
            for ((s, &v), m) in sq.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        for j in 0..f {
            let var = sq[j] / rows;
            stats[j] = mean[j] as f32;
            stats[f + j] = var as f32;
            stats[2 * f + j] = (1.0 / (var + eps).sqrt()) as f32;
        }
        for ((xs, hs), ys) in x
            .chunks_exact(f)
            .zip(xhat.chunks_exact_mut(f))
            .zip(y.chunks_exact_mut(f))
        {
            for j in 0..f {
                hs[j] = (xs[j] - stats[j]) * stats[2 * f + j];
                ys[j] = hs[j] * gamma.map_or(1.0, |g| g[j]) + beta.map_or(0.0, |b| b[j]);
            }
        }
    } else {
        // One inverse deviation per row.
        stats.resize(x.len() / f, 0.0);
        for (((xs, hs), ys), inv_out) in x
            .chunks_exact(f)
            .zip(xhat.chunks_exact_mut(f))
            .zip(y.chunks_exact_mut(f))
            .zip(stats.iter_mut())
        {
            let n = f as f64;
            let mean = xs.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = xs
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n;
            let inv = (1.0 / (var + eps).sqrt()) as f32;
            *inv_out = inv;
            let mean = mean as f32;
            for j in 0..f {
                hs[j] = (xs[j] - mean) * inv;
                ys[j] = hs[j] * gamma.map_or(1.0, |g| g[j]) + beta.map_or(0.0, |b| b[j]);
            }
        }
    }
}

/// `moving = moving·momentum + batch·(1 − momentum)`, with the batch's population variance.
pub(crate) fn update_moving(c: &Normalization, weights: &mut [Tensor], cache: &Cache) {
    let Some(m) = slots(c).moving else { return };
    let f = weights[m].data.len();
    if cache.b.len() != 3 * f || weights.len() < m + 2 {
        return;
    }
    let momentum = c.momentum as f32;
    for (k, w) in weights[m..m + 2].iter_mut().enumerate() {
        for (v, &b) in w.data.iter_mut().zip(&cache.b[k * f..(k + 1) * f]) {
            *v = *v * momentum + b * (1.0 - momentum);
        }
    }
}

pub(crate) fn backward(c: &Normalization, p: &Step, g: Grad) {
    let Grad {
        dy,
        dx,
        grads,
        cache,
        ..
    } = g;
    let f = p.input.last().max(1);
    let s = slots(c);
    let gamma = s.gamma.map(|i| p.weights[i].data.as_slice());
    let xhat = &cache.a;
    // dgamma = Σ dy·x̂, dbeta = Σ dy, over every row.
    let mut dgamma = vec![0f32; f];
    let mut dbeta = vec![0f32; f];
    for (gs, hs) in dy.chunks_exact(f).zip(xhat.chunks_exact(f)) {
        for j in 0..f {
            dgamma[j] += gs[j] * hs[j];
            dbeta[j] += gs[j];
        }
    }
    if let Some(i) = s.gamma {
        grads[i] = dgamma.clone();
    }
    if let Some(i) = s.beta {
        grads[i] = dbeta.clone();
    }
    let Some(dx) = dx else { return };
    let g = |j: usize| gamma.map_or(1.0, |g| g[j]);
    if c.batch {
        let n = (dy.len() / f).max(1) as f32;
        let inv = &cache.b[2 * f..3 * f];
        // Σg = γ·Σdy, Σ(g·x̂) = γ·Σ(dy·x̂).
        for ((ds, gs), hs) in dx
            .chunks_exact_mut(f)
            .zip(dy.chunks_exact(f))
            .zip(xhat.chunks_exact(f))
        {
            for j in 0..f {
                let gj = g(j);
                ds[j] = inv[j] / n * (n * gs[j] * gj - dbeta[j] * gj - hs[j] * dgamma[j] * gj);
            }
        }
    } else {
        let n = f as f32;
        for (((ds, gs), hs), &inv) in dx
            .chunks_exact_mut(f)
            .zip(dy.chunks_exact(f))
            .zip(xhat.chunks_exact(f))
            .zip(&cache.b)
        {
            let (mut sum, mut dot) = (0f32, 0f32);
            for j in 0..f {
                let gj = gs[j] * g(j);
                sum += gj;
                dot += gj * hs[j];
            }
            for j in 0..f {
                ds[j] = inv / n * (n * gs[j] * g(j) - sum - hs[j] * dot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, layer, train_forward};
    use crate::layer::Kind;
    use crate::runtime::init_model;
    use crate::shape::Shape;
    use crate::value::Value;

    #[test]
    fn batch_and_layer_normalization() {
        check(layer(Kind::BatchNormalization, &[]), &[3, 4], 3);
        // Images: statistics over the batch and both spatial axes.
        check(layer(Kind::BatchNormalization, &[]), &[2, 3, 4], 2);
        check(
            layer(
                Kind::BatchNormalization,
                &[
                    ("center", Value::Bool(false)),
                    ("scale", Value::Bool(false)),
                ],
            ),
            &[5],
            4,
        );
        check(layer(Kind::LayerNormalization, &[]), &[3, 5], 2);
        check(
            layer(Kind::LayerNormalization, &[("center", Value::Bool(false))]),
            &[6],
            3,
        );
    }

    #[test]
    fn batch_normalization_moves_its_statistics() {
        let l = layer(Kind::BatchNormalization, &[("momentum", Value::Float(0.9))]);
        let input = Shape::new(&[2]);
        let mut w = init_model(&[l], input, 1).unwrap().remove(0).tensors;
        let x = [1.0, 10.0, 3.0, 20.0];
        let (y, cache) = train_forward(&l, input, &w, &x, 2, 1);
        // Normalized with the batch's statistics: means 2 and 15, population variances 1, 25.
        let want = [-1.0 / 1.001f32.sqrt(), -5.0 / 25.001f32.sqrt()];
        assert!(
            (y[0] - want[0]).abs() < 1e-6 && (y[1] - want[1]).abs() < 1e-6,
            "{y:?}"
        );
        l.config.ops().update_statistics(&mut w, &cache);
        // moving = moving·0.9 + batch·0.1, from means 0 and variances 1.
        let close = |a: &[f32], b: [f32; 2]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-6);
        assert!(close(&w[2].data, [0.2, 1.5]), "{:?}", w[2].data);
        assert!(close(&w[3].data, [1.0, 3.4]), "{:?}", w[3].data);
    }
}
