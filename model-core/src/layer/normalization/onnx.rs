//! `BatchNormalization` (its moving statistics folded into one scale and one shift per
//! channel, as TensorFlow computes it: `x · inv + (beta − mean · inv)`, in any layout) and
//! `LayerNormalization` (ONNX's own, on the last axis).

use super::Normalization;
use crate::onnx::builder::{attr, Layout, Val, A};
use crate::onnx::Call;

pub(crate) fn normalization(c: &Normalization, call: &mut Call) -> Val {
    let mut w = call.weights.iter().map(|t| t.data.clone());
    let features = call.output.last();
    let gamma = if c.scale { w.next() } else { None };
    let beta = if c.center { w.next() } else { None };
    if c.batch {
        let mut x = call.x();
        if matches!(x.layout, Layout::FlatFirst(_)) {
            x = call.b.channels_last(&x);
        }
        let (mean, var) = (w.next().unwrap_or_default(), w.next().unwrap_or_default());
        let eps = c.epsilon as f32;
        let inv: Vec<f32> = (0..features)
            .map(|i| gamma.as_ref().map_or(1.0, |g| g[i]) / (var[i] + eps).sqrt())
            .collect();
        let shift: Vec<f32> = (0..features)
            .map(|i| beta.as_ref().map_or(0.0, |b| b[i]) - mean[i] * inv[i])
            .collect();
        let b = &mut *call.b;
        let s = b.per_channel(&x, "scale", &inv);
        let t = b.per_channel(&x, "shift", &shift);
        let m = b.node("Mul", &[&x.name, &s], vec![]);
        let out = b.node("Add", &[&m, &t], vec![]);
        return x.like(out, call.output);
    }
    let x = call.b.channels_last(&call.x());
    let g = call.weight(
        "gamma",
        &[features],
        &gamma.unwrap_or_else(|| vec![1.0; features]),
    );
    let mut ins = vec![x.name.clone(), g];
    if let Some(beta) = beta {
        ins.push(call.weight("beta", &[features], &beta));
    }
    let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
    let out = call.b.node(
        "LayerNormalization",
        &ins,
        vec![
            attr("axis", A::I(-1)),
            attr("epsilon", A::F(c.epsilon as f32)),
        ],
    );
    Val::last(out, call.output)
}
