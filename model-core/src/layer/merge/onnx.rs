//! Merge layers in ONNX. The element-wise ones broadcast as Keras does (axes compared from
//! the last), which is ONNX's rule; they and `Concatenate` work channels first when their
//! inputs are of one rank and one of them already is (a residual block between
//! convolutions stays channels first). `Dot` is a batched `MatMul` of each input with its
//! summed axis moved into place.

use super::{sample_axis, Merge, MergeOp};
use crate::onnx::builder::{attr, Builder, Layout, Val, A};
use crate::onnx::Call;

/// The inputs in one layout: channels first when they share a rank of 2 or more and one
/// of them is, else Keras's.
fn aligned(b: &mut Builder, inputs: &[Val]) -> Vec<Val> {
    let rank = inputs[0].shape.rank();
    let first = rank >= 2
        && inputs.iter().all(|v| v.shape.rank() == rank)
        && inputs.iter().any(|v| v.layout == Layout::First);
    inputs
        .iter()
        .map(|v| {
            if first {
                b.channels_first(v)
            } else {
                b.channels_last(v)
            }
        })
        .collect()
}

/// `x` divided by its L2 norm along ONNX axis `axis` (`max(‖x‖, 1e-7)`, as the run time
/// does).
fn l2_normalize(b: &mut Builder, x: &str, axis: usize) -> String {
    let sq = b.node("Mul", &[x, x], vec![]);
    let axes = b.ints("axes", &[axis as i64]);
    let sum = b.node("ReduceSum", &[&sq, &axes], vec![attr("keepdims", A::I(1))]);
    let norm = b.node("Sqrt", &[&sum], vec![]);
    let eps = b.scalar(1e-7);
    let floor = b.node("Max", &[&norm, &eps], vec![]);
    b.node("Div", &[x, &floor], vec![])
}

/// `Dot(axes)`: `[N, rest_a…] × [N, rest_b…]`, summed over one axis of each.
fn dot(c: &Merge, call: &mut Call) -> Val {
    let b = &mut *call.b;
    let (xa, xb) = (
        b.channels_last(&call.inputs[0]),
        b.channels_last(&call.inputs[1]),
    );
    let ax = sample_axis(c.axes[0], xa.shape.rank()).unwrap_or(0);
    let ay = sample_axis(c.axes[1], xb.shape.rank()).unwrap_or(0);
    let (mut a, mut bb) = (xa.name.clone(), xb.name.clone());
    if c.normalize {
        a = l2_normalize(b, &a, ax + 1);
        bb = l2_normalize(b, &bb, ay + 1);
    }
    let k = xa.shape.dim(ax);
    let rest = |s: &crate::shape::Shape, skip: usize| -> (Vec<usize>, usize) {
        let others: Vec<usize> = (0..s.rank()).filter(|&d| d != skip).collect();
        let n = others.iter().map(|&d| s.dim(d)).product();
        (others, n)
    };
    let (others_a, rows) = rest(&xa.shape, ax);
    let (others_b, cols) = rest(&xb.shape, ay);
    // [N, rest_a…, k] → [N, rows, k]
    let mut perm = vec![0];
    perm.extend(others_a.iter().map(|d| d + 1));
    perm.push(ax + 1);
    let ta = b.transpose(&a, &perm);
    let ma = b.reshape(&ta, &[rows, k]);
    // [N, k, rest_b…] → [N, k, cols]
    let mut perm = vec![0, ay + 1];
    perm.extend(others_b.iter().map(|d| d + 1));
    let tb = b.transpose(&bb, &perm);
    let mb = b.reshape(&tb, &[k, cols]);
    let prod = b.node("MatMul", &[&ma, &mb], vec![]);
    let out = b.reshape(&prod, call.output.dims());
    Val::last(out, call.output)
}

pub(crate) fn merge(c: &Merge, call: &mut Call) -> Val {
    let op = match c.op {
        MergeOp::Dot => return dot(c, call),
        _ if call.inputs.len() == 1 => return call.x(),
        MergeOp::Add | MergeOp::Average => "Add",
        MergeOp::Subtract => "Sub",
        MergeOp::Multiply => "Mul",
        MergeOp::Maximum => "Max",
        MergeOp::Minimum => "Min",
        MergeOp::Concatenate => "Concat",
    };
    let xs = aligned(call.b, &call.inputs);
    let names: Vec<&str> = xs.iter().map(|v| v.name.as_str()).collect();
    let b = &mut *call.b;
    let mut out = match op {
        // Variadic in ONNX.
        "Max" | "Min" => b.node(op, &names, vec![]),
        "Concat" => {
            let a = sample_axis(c.axis, call.output.rank()).unwrap_or(0);
            let axis = xs[0].axis(a) as i64;
            b.node("Concat", &names, vec![attr("axis", A::I(axis))])
        }
        // `Subtract` takes two; the others fold left, as the run time adds them.
        _ => {
            let mut acc = names[0].to_string();
            for n in &names[1..] {
                acc = b.node(op, &[&acc, n], vec![]);
            }
            acc
        }
    };
    if c.op == MergeOp::Average {
        let n = b.scalar(names.len() as f32);
        out = b.node("Div", &[&out, &n], vec![]);
    }
    xs[0].like(out, call.output)
}
