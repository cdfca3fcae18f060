//! Arithmetic with a constant, element by element, in `float32` as Keras computes it.

use super::{ArithOp, Arithmetic};

pub(crate) fn arithmetic(a: &Arithmetic, x: &[f32], y: &mut [f32]) {
    let c = a.c();
    let f: fn(f32, f32) -> f32 = match (a.op, a.constant_first) {
        (ArithOp::Add, _) => |v, c| v + c,
        (ArithOp::Multiply, _) => |v, c| v * c,
        (ArithOp::Subtract, false) => |v, c| v - c,
        (ArithOp::Subtract, true) => |v, c| c - v,
        (ArithOp::TrueDivide, false) => |v, c| v / c,
        (ArithOp::TrueDivide, true) => |v, c| c / v,
    };
    for (o, &v) in y.iter_mut().zip(x) {
        *o = f(v, c);
    }
}
