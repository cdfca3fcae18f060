//! Derivatives of the activation functions (Keras 3's definitions, as the runtime computes
//! them) and the backward passes of the activation layers.
//!
//! Most derivatives are read from the activation's output `y`; `gelu`, `silu`, `hard_silu`
//! and `mish` need its input `z` ([`needs_input`]). At a kink the derivative is
//! TensorFlow's: `relu`'s is 0 at 0.

use super::forward::{alpha_strides, LEAKY_RELU_SLOPE, SELU_ALPHA, SELU_SCALE};
use super::{Activation, PReLU, ReLU};
use crate::layer::ops::{Grad, Step};
use crate::runtime::kernels::{strided_offsets, PARALLEL_VALUES};
use crate::runtime::{elements, threads};

/// Whether the derivative of `a` needs the activation's input (not only its output).
pub(crate) fn needs_input(a: Activation) -> bool {
    matches!(
        a,
        Activation::Gelu | Activation::Silu | Activation::HardSilu | Activation::Mish
    )
}

/// `a'(z)` as a function of `y = a(z)`, for the element-wise activations whose derivative
/// needs only the output (`None` for the others: softmax and log-softmax, and those that
/// [`needs_input`]).
pub(crate) fn from_output(a: Activation) -> Option<fn(f32) -> f32> {
    Some(match a {
        Activation::Linear => |_| 1.0,
        Activation::Relu => |v| f32::from(u8::from(v > 0.0)),
        Activation::Relu6 => |v| f32::from(u8::from(v > 0.0 && v < 6.0)),
        Activation::Sigmoid => |v| v * (1.0 - v),
        Activation::HardSigmoid => |v| if v > 0.0 && v < 1.0 { 1.0 / 6.0 } else { 0.0 },
        Activation::Tanh => |v| 1.0 - v * v,
        // σ(z) = 1 − e^(−softplus(z)).
        Activation::Softplus => |v| -(-v).exp_m1(),
        Activation::Softsign => |v| (1.0 - v.abs()) * (1.0 - v.abs()),
        Activation::Elu => |v| if v > 0.0 { 1.0 } else { v + 1.0 },
        Activation::Selu => |v| {
            if v > 0.0 {
                SELU_SCALE
            } else {
                v + SELU_SCALE * SELU_ALPHA
            }
        },
        Activation::Exponential => |v| v,
        Activation::LeakyRelu => |v| if v > 0.0 { 1.0 } else { LEAKY_RELU_SLOPE },
        _ => return None,
    })
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `dz = dy · a'(z)`, with `z` the activation's input (used only where
/// [`needs_input`]; may be empty otherwise) and `y = a(z)` its output; softmax and
/// log-softmax work on rows of `last` values.
pub(crate) fn backward(
    a: Activation,
    z: &[f32],
    y: &[f32],
    dy: &[f32],
    dz: &mut [f32],
    last: usize,
) {
    let each = |dz: &mut [f32], f: &dyn Fn(f32) -> f32| {
        for ((d, &g), &v) in dz.iter_mut().zip(dy).zip(y) {
            *d = g * f(v);
        }
    };
    let each_z = |dz: &mut [f32], f: &dyn Fn(f32) -> f32| {
        for ((d, &g), &v) in dz.iter_mut().zip(dy).zip(z) {
            *d = g * f(v);
        }
    };
    match a {
        Activation::Linear => dz.copy_from_slice(dy),
        Activation::Relu => {
            let one = |(dz, (dy, y)): (&mut [f32], (&[f32], &[f32]))| {
                for ((d, &g), &v) in dz.iter_mut().zip(dy).zip(y) {
                    *d = if v > 0.0 { g } else { 0.0 };
                }
            };
            // A big tensor split between the threads: the pass is bound by memory, and
            // each core brings its own share of the bandwidth.
            let threads = threads::count();
            if dz.len() < PARALLEL_VALUES
                || threads == 1
                || dy.len() != dz.len()
                || y.len() != dz.len()
            {
                one((dz, (dy, y)));
            } else {
                let share = dz.len().div_ceil(threads);
                threads::chunks_mut(dz, share, |t, dz| {
                    let (dy, y) = (&dy[t * share..], &y[t * share..]);
                    one((dz, (dy, y)))
                });
            }
        }
        Activation::Softmax => {
            let w = last.max(1);
            for ((d, g), p) in dz
                .chunks_exact_mut(w)
                .zip(dy.chunks_exact(w))
                .zip(y.chunks_exact(w))
            {
                let dot: f32 = g.iter().zip(p).map(|(a, b)| a * b).sum();
                for ((d, &g), &p) in d.iter_mut().zip(g).zip(p) {
                    *d = p * (g - dot);
                }
            }
        }
        Activation::LogSoftmax => {
            let w = last.max(1);
            for ((d, g), ls) in dz
                .chunks_exact_mut(w)
                .zip(dy.chunks_exact(w))
                .zip(y.chunks_exact(w))
            {
                let sum: f32 = g.iter().sum();
                for ((d, &g), &l) in d.iter_mut().zip(g).zip(ls) {
                    *d = g - l.exp() * sum;
                }
            }
        }
        Activation::Gelu => each_z(dz, &|x| {
            let cdf = 0.5 * (1.0 + libm::erff(x * core::f32::consts::FRAC_1_SQRT_2));
            let pdf = (-0.5 * x * x).exp() * 0.398_942_3;
            cdf + x * pdf
        }),
        Activation::Silu => each_z(dz, &|x| {
            let s = sigmoid(x);
            s + x * s * (1.0 - s)
        }),
        Activation::HardSilu => each_z(dz, &|x| {
            let hs = (x + 3.0).clamp(0.0, 6.0) / 6.0;
            hs + if x > -3.0 && x < 3.0 { x / 6.0 } else { 0.0 }
        }),
        Activation::Mish => each_z(dz, &|x| {
            let sp = x.max(0.0) + (-x.abs()).exp().ln_1p();
            let t = sp.tanh();
            t + x * (1.0 - t * t) * sigmoid(x)
        }),
        // The rest read their derivative from the output.
        _ => {
            if let Some(f) = from_output(a) {
                each(dz, &f);
            }
        }
    }
}

/// The `Activation` and `Softmax` layers: `a`'s derivative over the input's last axis.
pub(crate) fn activation_backward(a: Activation, s: &Step, g: Grad) {
    if let Some(dx) = g.dx {
        backward(a, g.x, g.y, g.dy, dx, s.input.last());
    }
}

/// Keras's `ReLU` layer: 1 above the threshold (0 at or above `max_value`), the negative
/// slope below it.
pub(crate) fn relu_backward(c: &ReLU, x: &[f32], dy: &[f32], dx: Option<&mut [f32]>) {
    let Some(dx) = dx else { return };
    let slope = c.negative_slope as f32;
    let threshold = c.threshold as f32;
    let max = c.max_value.map(|m| m as f32);
    for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
        let pass = if threshold != 0.0 {
            v > threshold
        } else {
            v > 0.0
        };
        let mut k = if pass && max.is_none_or(|m| v < m) {
            1.0
        } else {
            0.0
        };
        if slope != 0.0 && v < threshold {
            k += slope;
        }
        *d = g * k;
    }
}

pub(crate) fn leaky_backward(slope: f64, x: &[f32], dy: &[f32], dx: Option<&mut [f32]>) {
    let Some(dx) = dx else { return };
    let slope = slope as f32;
    for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
        *d = if v > 0.0 { g } else { g * slope };
    }
}

pub(crate) fn elu_backward(alpha: f32, x: &[f32], y: &[f32], dy: &[f32], dx: Option<&mut [f32]>) {
    let Some(dx) = dx else { return };
    for (((d, &g), &v), &o) in dx.iter_mut().zip(dy).zip(x).zip(y) {
        *d = if v > 0.0 { g } else { g * (o + alpha) };
    }
}

/// `y = x` above 0, `alpha · x` below: `dx = dy` or `alpha · dy`, `dalpha = Σ dy · x` over
/// the positions sharing each alpha.
pub(crate) fn prelu_backward(c: &PReLU, p: &Step, g: Grad) {
    let Grad {
        x,
        dy,
        mut dx,
        grads,
        ..
    } = g;
    let alpha = &p.weights[0].data;
    let dims = p.input.dims();
    let strides = alpha_strides(c, &p.input);
    let da = &mut grads[0];
    da.resize(alpha.len(), 0.0);
    da.fill(0.0);
    let n = elements(&p.input).max(1);
    for (s, (xs, gs)) in x.chunks_exact(n).zip(dy.chunks_exact(n)).enumerate() {
        let mut i = 0;
        strided_offsets(dims, &strides[..dims.len()], |off| {
            let v = xs[i];
            let g = gs[i];
            if v > 0.0 {
                if let Some(dx) = dx.as_deref_mut() {
                    dx[s * n + i] = g;
                }
            } else {
                if let Some(dx) = dx.as_deref_mut() {
                    dx[s * n + i] = alpha[off] * g;
                }
                da[off] += g * v;
            }
            i += 1;
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, ints, layer};
    use crate::layer::Kind;
    use crate::value::Value;

    #[test]
    fn activation_layer_every_activation() {
        for a in crate::layer::Activation::ALL {
            check(
                layer(Kind::Activation, &[("activation", Value::Str(a.name()))]),
                &[3, 4],
                2,
            );
        }
    }

    #[test]
    fn activation_layers() {
        check(layer(Kind::ReLU, &[]), &[4, 3], 2);
        check(
            layer(
                Kind::ReLU,
                &[
                    ("max_value", Value::Float(0.5)),
                    ("negative_slope", Value::Float(0.1)),
                    ("threshold", Value::Float(0.2)),
                ],
            ),
            &[4, 3],
            2,
        );
        check(
            layer(Kind::LeakyReLU, &[("negative_slope", Value::Float(0.2))]),
            &[6],
            3,
        );
        check(layer(Kind::ELU, &[("alpha", Value::Float(0.7))]), &[6], 3);
        check(layer(Kind::Softmax, &[]), &[2, 5], 2);
        check(layer(Kind::PReLU, &[]), &[3, 4], 2);
        check(
            layer(Kind::PReLU, &[("shared_axes", ints(&[1]))]),
            &[3, 4],
            2,
        );
    }
}
