//! `TimeDistributed(layer)`: the wrapped layer on every step of the first axis, which is the
//! wrapped layer on a batch `steps` times larger (the data is already laid out that way).

use super::{eval_output, run, scratch_len as inner_scratch_len, RuntimeError, Step};
use crate::layer::Layer;
use crate::shape::Shape;

pub(crate) fn scratch_len(inner: &Layer, input: &Shape, output: &Shape, batch: usize) -> usize {
    inner_scratch_len(inner, &input.tail(), &output.tail(), batch * input.dim(0))
}

pub(crate) fn time_distributed(
    inner: &Layer,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), RuntimeError> {
    let input = s.input.tail();
    let step = Step {
        input,
        output: eval_output(inner, &input)?,
        batch: s.batch * s.input.dim(0),
        weights: s.weights,
    };
    run(inner, &step, x, y, scratch)
}
