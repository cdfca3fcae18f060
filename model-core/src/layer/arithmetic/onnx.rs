//! Arithmetic with a constant: one ONNX `Add`, `Sub`, `Mul` or `Div` against a scalar
//! initializer, which broadcasts in any layout, so the tensor keeps the layout it arrives in.

use super::{ArithOp, Arithmetic};
use crate::onnx::builder::Val;
use crate::onnx::Call;

pub(crate) fn arithmetic(c: &Arithmetic, call: &mut Call) -> Val {
    let x = call.x();
    let b = &mut *call.b;
    let k = b.scalar(c.c());
    let op = match c.op {
        ArithOp::Add => "Add",
        ArithOp::Subtract => "Sub",
        ArithOp::Multiply => "Mul",
        ArithOp::TrueDivide => "Div",
    };
    let out = if c.constant_first {
        b.node(op, &[&k, &x.name], vec![])
    } else {
        b.node(op, &[&x.name, &k], vec![])
    };
    x.like(out, call.output)
}
