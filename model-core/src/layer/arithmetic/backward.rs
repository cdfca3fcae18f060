//! The gradients of arithmetic with a constant: `dy`, `−dy`, `dy · c`, `dy / c`, and for
//! `c / x`, `−dy · c / x²`.

use super::{ArithOp, Arithmetic};
use crate::layer::ops::Grad;

pub(crate) fn arithmetic(a: &Arithmetic, g: Grad) {
    let Some(dx) = g.dx else { return };
    let c = a.c();
    match (a.op, a.constant_first) {
        (ArithOp::Add, _) | (ArithOp::Subtract, false) => dx.copy_from_slice(g.dy),
        (ArithOp::Subtract, true) => {
            for (d, &v) in dx.iter_mut().zip(g.dy) {
                *d = -v;
            }
        }
        (ArithOp::Multiply, _) => {
            for (d, &v) in dx.iter_mut().zip(g.dy) {
                *d = v * c;
            }
        }
        (ArithOp::TrueDivide, false) => {
            for (d, &v) in dx.iter_mut().zip(g.dy) {
                *d = v / c;
            }
        }
        (ArithOp::TrueDivide, true) => {
            for ((d, &v), &x) in dx.iter_mut().zip(g.dy).zip(g.x) {
                *d = -v * c / (x * x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, layer};
    use crate::layer::Kind;
    use crate::value::Value;

    #[test]
    fn every_operator_both_ways() {
        for kind in [
            Kind::ArithAdd,
            Kind::ArithSubtract,
            Kind::ArithMultiply,
            Kind::ArithTrueDivide,
        ] {
            for first in [false, true] {
                // `c / x` is steep where the check's random inputs come near 0; it is
                // checked on chosen inputs below.
                if kind == Kind::ArithTrueDivide && first {
                    continue;
                }
                check(
                    layer(
                        kind,
                        &[
                            ("constant", Value::Float(-2.5)),
                            ("constant_first", Value::Bool(first)),
                        ],
                    ),
                    &[2, 3],
                    2,
                );
            }
        }
    }

    #[test]
    fn reciprocal_against_finite_differences() {
        use super::super::{forward, ArithOp, Arithmetic};
        let a = Arithmetic {
            op: ArithOp::TrueDivide,
            constant: 3.0,
            constant_first: true,
        };
        let x = [0.5f32, -0.8, 2.0];
        let dy = [1.0f32, -2.0, 0.5];
        let mut dx = [0.0f32; 3];
        let cache = crate::layer::ops::Cache::default();
        let g = crate::layer::ops::Grad {
            x: &x,
            y: &[],
            dy: &dy,
            dx: Some(&mut dx),
            grads: &mut [],
            cache: &cache,
            linear_output: false,
            scratch: &mut Vec::new(),
        };
        super::arithmetic(&a, g);
        for i in 0..3 {
            let h = 1e-3f32;
            let (mut hi, mut lo) = ([0.0f32; 1], [0.0f32; 1]);
            forward::arithmetic(&a, &[x[i] + h], &mut hi);
            forward::arithmetic(&a, &[x[i] - h], &mut lo);
            let numeric = f64::from(dy[i]) * f64::from(hi[0] - lo[0]) / (2.0 * f64::from(h));
            let tol = 1e-2 * numeric.abs().max(1.0);
            assert!(
                (f64::from(dx[i]) - numeric).abs() < tol,
                "{i}: {} vs {numeric}",
                dx[i]
            );
        }
    }

    #[test]
    fn values_as_keras_computes_them() {
        use super::super::forward::arithmetic;
        use super::super::{ArithOp, Arithmetic};
        let x = [0.5f32, -3.0, 6.0];
        let mut y = [0.0f32; 3];
        let hard = |op, constant, constant_first| Arithmetic {
            op,
            constant,
            constant_first,
        };
        arithmetic(&hard(ArithOp::Add, 3.0, false), &x, &mut y);
        assert_eq!(y, [3.5, 0.0, 9.0]);
        arithmetic(&hard(ArithOp::Subtract, 1.0, true), &x, &mut y);
        assert_eq!(y, [0.5, 4.0, -5.0]);
        // `x / 6.0` divides in float32 (6 / 6 is exactly 1), where `x * (1 / 6)` rounds.
        arithmetic(&hard(ArithOp::TrueDivide, 6.0, false), &x, &mut y);
        assert_eq!(y[2], 1.0);
        arithmetic(&hard(ArithOp::Multiply, 1.0 / 6.0, false), &x, &mut y);
        assert_eq!(y[2], 6.0f32 * (1.0f64 / 6.0) as f32);
        arithmetic(&hard(ArithOp::TrueDivide, 1.0, true), &x, &mut y);
        assert_eq!(y, [2.0, -1.0 / 3.0, 1.0 / 6.0]);
    }
}
