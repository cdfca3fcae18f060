//! Activation functions (Keras 3's definitions) and the activation layers `Activation`,
//! `ReLU`, `LeakyReLU`, `PReLU`, `ELU`, `Softmax`.

use super::{Activation, LeakyReLU, PReLU, ReLU, ELU};
use crate::layer::ops::Step;
use crate::runtime::elements;
use crate::runtime::kernels::{par_rows, strided_offsets};
use crate::shape::{Shape, MAX_RANK};

pub(super) const SELU_ALPHA: f32 = 1.673_263_2;
pub(super) const SELU_SCALE: f32 = 1.050_701;
/// `keras.activations.leaky_relu`'s default slope (the `LeakyReLU` layer's is 0.3).
pub(super) const LEAKY_RELU_SLOPE: f32 = 0.2;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `log(1 + exp(x))` without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn elu(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        alpha * x.exp_m1()
    }
}

/// Keras 3's `hard_sigmoid`: `relu6(x + 3) / 6`.
fn hard_sigmoid(x: f32) -> f32 {
    (x + 3.0).clamp(0.0, 6.0) / 6.0
}

/// `max(x, 0)`, NaN kept as TensorFlow keeps it (`f32::max` would give 0). It compiles to
/// the vector maximum with the operands in the order that returns `x` for a NaN.
#[inline]
pub(crate) fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// ReLU capped at `max` (6 for ReLU6), as a select the compiler vectorizes: NaN fails
/// `r > max` and stays, as in `clamp`.
#[inline]
pub(crate) fn relu_max(x: f32, max: f32) -> f32 {
    let r = relu(x);
    if r > max {
        max
    } else {
        r
    }
}

/// One value through an element-wise activation (softmax and log-softmax are per row).
fn scalar(a: Activation, x: f32) -> f32 {
    match a {
        Activation::Linear | Activation::Softmax | Activation::LogSoftmax => x,
        Activation::Relu => relu(x),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::Sigmoid => sigmoid(x),
        Activation::HardSigmoid => hard_sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Softplus => softplus(x),
        Activation::Softsign => x / (1.0 + x.abs()),
        Activation::Elu => elu(x, 1.0),
        Activation::Selu => SELU_SCALE * elu(x, SELU_ALPHA),
        // Keras's default is the exact form, `approximate=False`.
        Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * core::f32::consts::FRAC_1_SQRT_2)),
        Activation::Silu => x * sigmoid(x),
        Activation::HardSilu => x * hard_sigmoid(x),
        Activation::Mish => x * softplus(x).tanh(),
        Activation::LeakyRelu => leaky(x, LEAKY_RELU_SLOPE),
        Activation::Exponential => x.exp(),
    }
}

fn leaky(x: f32, slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        slope * x
    }
}

/// Applies `a` in place; softmax and log-softmax work on rows of `last` values.
pub(crate) fn apply(a: Activation, y: &mut [f32], last: usize) {
    match a {
        Activation::Linear => {}
        Activation::Softmax => y.chunks_exact_mut(last.max(1)).for_each(softmax),
        Activation::LogSoftmax => y.chunks_exact_mut(last.max(1)).for_each(log_softmax),
        Activation::Relu => y.iter_mut().for_each(|v| *v = relu(*v)),
        _ => y.iter_mut().for_each(|v| *v = scalar(a, *v)),
    }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inv);
}

fn log_softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
    let shift = max + sum.ln();
    row.iter_mut().for_each(|v| *v -= shift);
}

pub(crate) fn activation_layer(a: Activation, s: &Step, x: &[f32], y: &mut [f32]) {
    y.copy_from_slice(x);
    apply(a, y, s.input.last());
}

/// Keras's `ReLU` layer (`keras.activations.relu`, term by term).
pub(crate) fn relu_layer(c: &ReLU, x: &[f32], y: &mut [f32]) {
    let slope = c.negative_slope as f32;
    let threshold = c.threshold as f32;
    let max = c.max_value.map(|m| m as f32);
    if slope != 0.0 && max.is_none() && threshold == 0.0 {
        return leaky_relu_layer(
            &LeakyReLU {
                negative_slope: c.negative_slope,
            },
            x,
            y,
        );
    }
    if slope == 0.0 && threshold == 0.0 {
        // ReLU and ReLU6: a select the compiler vectorizes; NaN fails `r > m` and stays.
        let m = max.unwrap_or(f32::INFINITY);
        return par_rows(x, y, 1, |xs, ys| {
            for (o, &v) in ys.iter_mut().zip(xs) {
                *o = relu_max(v, m);
            }
        });
    }
    for (o, &v) in y.iter_mut().zip(x) {
        if v.is_nan() {
            // Every term of Keras's formula keeps a NaN.
            *o = v;
            continue;
        }
        let mut out = if threshold != 0.0 {
            if v > threshold {
                v
            } else {
                0.0
            }
        } else {
            relu(v)
        };
        if let Some(m) = max {
            out = out.clamp(0.0, m);
        }
        if slope != 0.0 {
            out -= slope * (threshold - v).max(0.0);
        }
        *o = out;
    }
}

pub(crate) fn leaky_relu_layer(c: &LeakyReLU, x: &[f32], y: &mut [f32]) {
    let slope = c.negative_slope as f32;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = leaky(v, slope);
    }
}

pub(crate) fn elu_layer(c: &ELU, x: &[f32], y: &mut [f32]) {
    let alpha = c.alpha as f32;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = elu(v, alpha);
    }
}

/// The strides of `PReLU`'s alpha over the input's axes: the offset into alpha of each
/// input element, which a shared axis does not move.
pub(super) fn alpha_strides(c: &PReLU, input: &Shape) -> [usize; MAX_RANK] {
    let a_shape = c.alpha_shape(input);
    let mut strides = [0usize; MAX_RANK];
    let mut step = 1;
    for i in (0..input.rank()).rev() {
        strides[i] = if a_shape.dim(i) == 1 { 0 } else { step };
        step *= a_shape.dim(i);
    }
    strides
}

/// `relu(x) - alpha · relu(-x)`, `alpha` broadcast along the shared axes.
pub(crate) fn prelu_layer(c: &PReLU, s: &Step, x: &[f32], y: &mut [f32]) {
    let alpha = &s.weights[0].data;
    let dims = s.input.dims();
    let strides = alpha_strides(c, &s.input);
    let n = elements(&s.input);
    for (xs, ys) in x.chunks_exact(n.max(1)).zip(y.chunks_exact_mut(n.max(1))) {
        let mut i = 0;
        strided_offsets(dims, &strides[..dims.len()], |off| {
            let v = xs[i];
            ys[i] = if v > 0.0 { v } else { alpha[off] * v };
            i += 1;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_match_keras_at_known_points() {
        let close = |a: f32, b: f32| assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        close(scalar(Activation::Gelu, 1.0), 0.841_344_8);
        close(scalar(Activation::HardSigmoid, 1.0), 4.0 / 6.0);
        close(scalar(Activation::HardSilu, -1.0), -2.0 / 6.0);
        close(scalar(Activation::Selu, -1.0), -1.111_330_7);
        close(scalar(Activation::Mish, 1.0), 0.865_098_4);
        close(scalar(Activation::LeakyRelu, -1.0), -0.2);
        close(scalar(Activation::Softplus, 100.0), 100.0);
        close(scalar(Activation::Softsign, -3.0), -0.75);
        close(scalar(Activation::Exponential, 1.0), core::f32::consts::E);
        close(scalar(Activation::Relu6, 7.0), 6.0);
        close(scalar(Activation::Silu, 2.0), 1.761_594_2);
        close(scalar(Activation::Elu, -1.0), -0.632_120_56);
        let mut logs = [1.0, 2.0, 3.0];
        apply(Activation::LogSoftmax, &mut logs, 3);
        close(logs[0], -2.407_606);
        let mut row = [1.0, 2.0, 3.0];
        apply(Activation::Softmax, &mut row, 3);
        close(row.iter().sum(), 1.0);
        close(row[2], 0.665_240_94);
    }

    #[test]
    fn relu_layer_follows_keras_terms() {
        let c = ReLU {
            max_value: Some(2.0),
            negative_slope: 0.5,
            threshold: 1.0,
        };
        let x = [-1.0, 0.5, 1.5, 3.0];
        let mut y = [0.0; 4];
        relu_layer(&c, &x, &mut y);
        assert_eq!(y, [-1.0, -0.25, 1.5, 2.0]);
    }
}
