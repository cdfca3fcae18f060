//! `Rescaling` (`x · scale + offset`) and `Normalization` (`(x − mean) / max(√variance, ε)`,
//! or its inverse), per channel, in any layout but a flattened one.

use super::forward::moments_of;
use super::{Rescaling, Standardization};
use crate::onnx::builder::{Layout, Val};
use crate::onnx::Call;
use crate::value::Numbers;

fn unflattened(call: &mut Call) -> Val {
    let x = call.x();
    if matches!(x.layout, Layout::FlatFirst(_)) {
        return call.b.channels_last(&x);
    }
    x
}

fn values(n: &Numbers) -> Vec<f32> {
    match n {
        Numbers::One(v) => vec![*v as f32],
        Numbers::Each(v) => v.iter().map(|&v| v as f32).collect(),
    }
}

pub(crate) fn rescaling(c: &Rescaling, call: &mut Call) -> Val {
    let x = unflattened(call);
    let b = &mut *call.b;
    let s = b.per_channel(&x, "scale", &values(&c.scale));
    let o = b.per_channel(&x, "offset", &values(&c.offset));
    let m = b.node("Mul", &[&x.name, &s], vec![]);
    let out = b.node("Add", &[&m, &o], vec![]);
    x.like(out, call.output)
}

pub(crate) fn standardization(c: &Standardization, call: &mut Call) -> Val {
    let x = unflattened(call);
    let channels = x.shape.last();
    let (mean, dev): (Vec<f32>, Vec<f32>) = (0..channels)
        .map(|ch| moments_of(c, call.weights, ch))
        .unzip();
    let b = &mut *call.b;
    let m = b.per_channel(&x, "mean", &mean);
    let d = b.per_channel(&x, "deviation", &dev);
    let out = if c.invert {
        let scaled = b.node("Mul", &[&x.name, &d], vec![]);
        b.node("Add", &[&m, &scaled], vec![])
    } else {
        let centered = b.node("Sub", &[&x.name, &m], vec![]);
        b.node("Div", &[&centered, &d], vec![])
    };
    x.like(out, call.output)
}
