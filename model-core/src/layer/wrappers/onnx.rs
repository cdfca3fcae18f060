//! `TimeDistributed(layer)` in ONNX: the steps folded into the batch (`[N·T, …]`), the
//! wrapped layer lowered as it is alone, and the steps unfolded again.

use super::TimeDistributed;
use crate::onnx::builder::Val;
use crate::onnx::{lower_layer, Call, Refusal};

pub(crate) fn time_distributed(c: &TimeDistributed, call: &mut Call) -> Result<Val, Refusal> {
    let x = call.b.channels_last(&call.x());
    let steps = x.shape.dim(0);
    let inner_in = x.shape.tail();
    let inner_out = call.output.tail();
    let folded = call.b.reshape_any(&x.name, inner_in.dims());
    let mut inner = Call {
        b: &mut *call.b,
        inputs: vec![Val::last(folded, inner_in)],
        output: inner_out,
        weights: call.weights,
        layer: call.layer,
    };
    let y = lower_layer(c.layer, &mut inner)?;
    let y = call.b.channels_last(&y);
    let mut dims = vec![steps];
    dims.extend_from_slice(inner_out.dims());
    let out = call.b.reshape_any(&y.name, &dims);
    Ok(Val::last(out, call.output))
}
