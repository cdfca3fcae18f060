//! The activations and activation layers in ONNX, each as Keras defines it (`gelu` exact,
//! through `Erf`; `hard_sigmoid` as Keras 3's `relu6(x + 3) / 6`).
//!
//! Every one is element-wise except softmax and log-softmax, which work on Keras's last
//! axis: the channel axis of a channels-first value, and any order of a flattened one.
//! So every layout is kept as it comes.

use super::forward::{LEAKY_RELU_SLOPE, SELU_ALPHA, SELU_SCALE};
use super::{Activation, LeakyReLU, ReLU, ELU};
use crate::onnx::builder::{attr, Builder, Layout, Val, A};
use crate::onnx::Call;

/// `log(1 + exp(x))` without overflow: `relu(x) + log(1 + exp(-|x|))`.
fn softplus(b: &mut Builder, x: &str) -> String {
    let relu = b.node("Relu", &[x], vec![]);
    let abs = b.node("Abs", &[x], vec![]);
    let neg = b.node("Neg", &[&abs], vec![]);
    let exp = b.node("Exp", &[&neg], vec![]);
    let one = b.scalar(1.0);
    let sum = b.node("Add", &[&exp, &one], vec![]);
    let log = b.node("Log", &[&sum], vec![]);
    b.node("Add", &[&relu, &log], vec![])
}

/// `x − max − log(Σ exp(x − max))` along `axis`, written out: an engine's `LogSoftmax`
/// may take the log of a softmax that underflowed to 0 (tract gave `-inf` where Keras
/// gives −111.9).
fn log_softmax(b: &mut Builder, x: &str, axis: i64) -> String {
    let keep = || attr("keepdims", A::I(1));
    let max = b.node(
        "ReduceMax",
        &[x],
        vec![attr("axes", A::Ints(&[axis])), keep()],
    );
    let shifted = b.node("Sub", &[x, &max], vec![]);
    let exp = b.node("Exp", &[&shifted], vec![]);
    let axes = b.ints("axes", &[axis]);
    let sum = b.node("ReduceSum", &[&exp, &axes], vec![keep()]);
    let log = b.node("Log", &[&sum], vec![]);
    b.node("Sub", &[&shifted, &log], vec![])
}

fn hard_sigmoid(b: &mut Builder, x: &str) -> String {
    b.node(
        "HardSigmoid",
        &[x],
        vec![attr("alpha", A::F(1.0 / 6.0)), attr("beta", A::F(0.5))],
    )
}

/// `a` applied to `x`, in `x`'s layout.
pub(crate) fn apply(b: &mut Builder, x: &Val, a: Activation) -> Val {
    let n = x.name.as_str();
    let axis = match x.layout {
        Layout::First => 1,
        Layout::Last | Layout::FlatFirst(_) => -1,
    };
    let out = match a {
        Activation::Linear => return x.clone(),
        Activation::Relu => b.node("Relu", &[n], vec![]),
        Activation::Relu6 => {
            let (lo, hi) = (b.scalar(0.0), b.scalar(6.0));
            b.node("Clip", &[n, &lo, &hi], vec![])
        }
        Activation::Sigmoid => b.node("Sigmoid", &[n], vec![]),
        Activation::HardSigmoid => hard_sigmoid(b, n),
        Activation::Tanh => b.node("Tanh", &[n], vec![]),
        Activation::Softmax => b.node("Softmax", &[n], vec![attr("axis", A::I(axis))]),
        Activation::LogSoftmax => log_softmax(b, n, axis),
        Activation::Softplus => softplus(b, n),
        Activation::Softsign => b.node("Softsign", &[n], vec![]),
        Activation::Elu => b.node("Elu", &[n], vec![attr("alpha", A::F(1.0))]),
        Activation::Selu => b.node(
            "Selu",
            &[n],
            vec![
                attr("alpha", A::F(SELU_ALPHA)),
                attr("gamma", A::F(SELU_SCALE)),
            ],
        ),
        Activation::Gelu => {
            // 0.5 · x · (1 + erf(x / √2)), Keras's default (`approximate=False`).
            let r = b.scalar(core::f32::consts::FRAC_1_SQRT_2);
            let scaled = b.node("Mul", &[n, &r], vec![]);
            let erf = b.node("Erf", &[&scaled], vec![]);
            let one = b.scalar(1.0);
            let plus = b.node("Add", &[&erf, &one], vec![]);
            let half = b.scalar(0.5);
            let hx = b.node("Mul", &[n, &half], vec![]);
            b.node("Mul", &[&hx, &plus], vec![])
        }
        Activation::Silu => {
            let s = b.node("Sigmoid", &[n], vec![]);
            b.node("Mul", &[n, &s], vec![])
        }
        Activation::HardSilu => {
            let s = hard_sigmoid(b, n);
            b.node("Mul", &[n, &s], vec![])
        }
        Activation::Mish => {
            let sp = softplus(b, n);
            let t = b.node("Tanh", &[&sp], vec![]);
            b.node("Mul", &[n, &t], vec![])
        }
        Activation::LeakyRelu => b.node(
            "LeakyRelu",
            &[n],
            vec![attr("alpha", A::F(LEAKY_RELU_SLOPE))],
        ),
        Activation::Exponential => b.node("Exp", &[n], vec![]),
    };
    x.like(out, x.shape)
}

/// `Activation(a)` and `Softmax()`.
pub(crate) fn activation_layer(a: Activation, call: &mut Call) -> Val {
    let x = call.x();
    apply(call.b, &x, a)
}

/// `ReLU(max_value, negative_slope, threshold)`, term by term as Keras computes it.
pub(crate) fn relu(c: &ReLU, call: &mut Call) -> Val {
    let x = call.x();
    let b = &mut *call.b;
    let n = x.name.as_str();
    let slope = c.negative_slope as f32;
    let threshold = c.threshold as f32;
    if c.max_value.is_none() && threshold == 0.0 {
        let out = if slope == 0.0 {
            b.node("Relu", &[n], vec![])
        } else {
            b.node("LeakyRelu", &[n], vec![attr("alpha", A::F(slope))])
        };
        return x.like(out, x.shape);
    }
    let mut out = if threshold != 0.0 {
        let t = b.scalar(threshold);
        let above = b.node("Greater", &[n, &t], vec![]);
        let zero = b.scalar(0.0);
        b.node("Where", &[&above, n, &zero], vec![])
    } else {
        b.node("Relu", &[n], vec![])
    };
    if let Some(m) = c.max_value {
        let (lo, hi) = (b.scalar(0.0), b.scalar(m as f32));
        out = b.node("Clip", &[&out, &lo, &hi], vec![]);
    }
    if slope != 0.0 {
        // out − slope · relu(threshold − x)
        let t = b.scalar(threshold);
        let below = b.node("Sub", &[&t, n], vec![]);
        let r = b.node("Relu", &[&below], vec![]);
        let s = b.scalar(slope);
        let scaled = b.node("Mul", &[&r, &s], vec![]);
        out = b.node("Sub", &[&out, &scaled], vec![]);
    }
    x.like(out, x.shape)
}

pub(crate) fn leaky_relu(c: &LeakyReLU, call: &mut Call) -> Val {
    let x = call.x();
    let out = call.b.node(
        "LeakyRelu",
        &[&x.name],
        vec![attr("alpha", A::F(c.negative_slope as f32))],
    );
    x.like(out, x.shape)
}

pub(crate) fn elu(c: &ELU, call: &mut Call) -> Val {
    let x = call.x();
    let out = call
        .b
        .node("Elu", &[&x.name], vec![attr("alpha", A::F(c.alpha as f32))]);
    x.like(out, x.shape)
}

/// `PReLU`: ONNX's `PRelu` with `alpha` (Keras's shape, shared axes of size 1), which
/// broadcasts against the channels-last input.
pub(crate) fn prelu(call: &mut Call) -> Val {
    let x = call.b.channels_last(&call.x());
    let alpha = &call.weights[0];
    let (dims, data) = (alpha.shape.clone(), alpha.data.clone());
    let a = call.weight("alpha", &dims, &data);
    let out = call.b.node("PRelu", &[&x.name, &a], vec![]);
    x.like(out, x.shape)
}
