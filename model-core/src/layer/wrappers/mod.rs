//! `TimeDistributed(layer)`: the wrapped layer applied to every step of the first axis.

#[cfg(feature = "runtime")]
mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{need_min_rank, req, ArgSpec, Kind, Layer, LayerEval};
use crate::error::{mul, EvalError, Problem};
use crate::shape::Shape;
use crate::value::{ArgType, Checked};

/// `TimeDistributed(layer)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeDistributed {
    /// The layer applied to every step.
    pub layer: &'static Layer,
}

impl TimeDistributed {
    /// Placeholder (the layer is required).
    pub const DEFAULT: TimeDistributed = TimeDistributed {
        layer: &Layer::FLATTEN,
    };
}

pub(super) const TIME_DISTRIBUTED: &[ArgSpec] = &[req("layer", ArgType::Layer)];

pub(super) const fn set_time_distributed(c: &mut TimeDistributed, v: Checked) {
    if let Checked::Layer(inner) = v {
        c.layer = inner;
    }
}

pub(super) const fn eval_time_distributed(
    c: &TimeDistributed,
    input: &Shape,
) -> Result<LayerEval, EvalError> {
    let inner = c.layer;
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

#[cfg(feature = "runtime")]
mod ops {
    use super::TimeDistributed;
    use crate::error::Error;
    use crate::layer::ops::{Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    /// Every operation is the wrapped layer's, on the steps as samples.
    impl Ops for TimeDistributed {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            self.layer.config.ops().weights(&input.tail(), specs);
        }
        fn scratch_len(&self, input: &Shape, output: &Shape, batch: usize) -> usize {
            let steps = input.dim(0);
            let ops = self.layer.config.ops();
            ops.scratch_len(&input.tail(), &output.tail(), batch * steps)
        }
        fn forward(
            &self,
            s: &Step,
            x: &[f32],
            y: &mut [f32],
            scratch: &mut [f32],
        ) -> Result<(), Error> {
            let inner = self.inner_step(s)?;
            self.layer.config.ops().forward(&inner, x, y, scratch)
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            let inner = self.inner_step(s)?;
            self.layer.config.ops().train_forward(&inner, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            let inner = self.inner_step(s)?;
            self.layer.config.ops().backward(&inner, g)
        }
        fn update_statistics(&self, weights: &mut [Tensor], cache: &Cache) {
            self.layer.config.ops().update_statistics(weights, cache);
        }
    }
}
