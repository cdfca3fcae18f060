//! `TimeDistributed(layer)`: the wrapped layer applied to every step of the first axis.

use super::{need_min_rank, req, ArgSpec, Kind, Layer, LayerEval};
use crate::error::{mul, EvalError, Problem};
use crate::shape::Shape;
use crate::value::ArgType;

pub(super) const TIME_DISTRIBUTED: &[ArgSpec] = &[req("layer", ArgType::Layer)];

pub(super) const fn eval_time_distributed(
    inner: &Layer,
    input: &Shape,
) -> Result<LayerEval, EvalError> {
    if let Err(problem) = need_min_rank(input, 2) {
        return Err(EvalError {
            kind: Kind::TimeDistributed,
            problem,
        });
    }
    let step = match inner.eval(&input.tail()) {
        Ok(e) => e,
        Err(e) => return Err(e),
    };
    let output = match step.output.prepend(input.dim(0)) {
        Some(s) => s,
        None => {
            return Err(EvalError {
                kind: Kind::TimeDistributed,
                problem: Problem::TooLarge,
            })
        }
    };
    let macs = match mul(step.macs, input.dim(0)) {
        Ok(m) => m,
        Err(problem) => {
            return Err(EvalError {
                kind: Kind::TimeDistributed,
                problem,
            })
        }
    };
    Ok(LayerEval {
        output,
        trainable: step.trainable,
        non_trainable: step.non_trainable,
        macs,
    })
}
