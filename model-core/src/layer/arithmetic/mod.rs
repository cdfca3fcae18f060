//! Arithmetic with a constant on a tensor, as Keras's functional API records it: `x + 3.0`,
//! `3.0 - x`, `x * (1.0 / 6.0)`, `x / 6.0`, `1.0 / x` (MobileNetV3's hard sigmoid is
//! `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`).
//!
//! Keras 3 makes each of these an operation of `keras.src.ops.numpy` (`Add`, `Subtract`,
//! `Multiply`, `TrueDivide`), not a layer: no weights, 0 parameters, a row of its own in
//! `model.summary()` (`add (Add)`), named from the same counters as the layers
//! (`add`, then `add_1` for the next `Add` layer or operation). The constant is a Python
//! float, applied in `float32`: `x / 6.0` divides, it does not multiply by `1 / 6`.
//!
//! These kinds are written only as operators in a graph model's body; they have no class
//! name to write as a layer (`Kind::from_name` does not find them).

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{arg, need_min_rank, req, ArgSpec, LayerEval};
use crate::error::Problem;
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// What an arithmetic operation computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `x + c`.
    Add,
    /// `x - c`, or `c - x`.
    Subtract,
    /// `x · c`.
    Multiply,
    /// `x / c`, or `c / x`.
    TrueDivide,
}

impl ArithOp {
    /// The Rust (and Python) operator.
    pub const fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Subtract => "-",
            ArithOp::Multiply => "*",
            ArithOp::TrueDivide => "/",
        }
    }
}

/// A tensor and a constant under one operator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arithmetic {
    /// The operator.
    pub op: ArithOp,
    /// The constant, as written (Keras casts it to `float32`).
    pub constant: f64,
    /// The constant is the left operand (`3.0 - x`, `1.0 / x`).
    pub constant_first: bool,
}

impl Arithmetic {
    /// `x <op> 0` (the constant must be set).
    pub const fn new(op: ArithOp) -> Arithmetic {
        Arithmetic {
            op,
            constant: 0.0,
            constant_first: false,
        }
    }

    /// The constant as the operation applies it.
    pub const fn c(&self) -> f32 {
        self.constant as f32
    }
}

pub(super) const ARITHMETIC: &[ArgSpec] = &[
    req("constant", ArgType::Float),
    arg("constant_first", ArgType::Bool),
];

pub(super) const fn set_arithmetic(c: &mut Arithmetic, name: &str, v: Checked) {
    match v {
        Checked::Float(f) if str_eq(name, "constant") => c.constant = f,
        Checked::Bool(b) => c.constant_first = b,
        _ => {}
    }
}

pub(super) const fn eval_arithmetic(_: &Arithmetic, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    Ok(LayerEval::weightless(*input))
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, Arithmetic};
    use crate::error::Error;
    use crate::layer::ops::{Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Arithmetic {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::arithmetic(self, x, y);
            Ok(())
        }
        fn train_forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: Train) -> Result<(), Error> {
            forward::arithmetic(self, x, y);
            Ok(())
        }
        fn backward(&self, _: &Step, g: Grad) -> Result<(), Error> {
            backward::arithmetic(self, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
