//! Pooling in ONNX: `MaxPool` and `AveragePool` channels first, with TensorFlow's `same`
//! pads written out (an average over the cells inside the input only, as TensorFlow
//! counts them: `count_include_pad = 0`); global pooling as a reduction over the spatial
//! axes, in any layout.

use super::{GlobalPooling, PoolOp, Pooling};
use crate::layer::window::pad_around;
use crate::onnx::builder::{attr, i64s, Layout, Val, A};
use crate::onnx::Call;

pub(crate) fn pooling(c: &Pooling, call: &mut Call) -> Val {
    let x = call.b.channels_first(&call.x());
    let (input, output) = (x.shape, call.output);
    let r = c.rank;
    let strides = c.effective_strides();
    let (mut begin, mut end) = (Vec::new(), Vec::new());
    for (i, (&s, &k)) in strides[..r].iter().zip(&c.pool_size[..r]).enumerate() {
        let (size, out) = (input.dim(i), output.dim(i));
        let (before, after) = pad_around(c.padding, size, out, s, k);
        begin.push(before as i64);
        end.push(after as i64);
    }
    begin.extend(end);
    let op = match c.op {
        PoolOp::Max => "MaxPool",
        PoolOp::Average => "AveragePool",
    };
    let out = call.b.node(
        op,
        &[&x.name],
        vec![
            attr("kernel_shape", A::Ints(&i64s(&c.pool_size[..r]))),
            attr("strides", A::Ints(&i64s(&strides[..r]))),
            attr("pads", A::Ints(&begin)),
        ],
    );
    x.like(out, output)
}

pub(crate) fn global(c: &GlobalPooling, call: &mut Call) -> Val {
    let mut x = call.x();
    if matches!(x.layout, Layout::FlatFirst(_)) {
        x = call.b.channels_last(&x);
    }
    let spatial = x.shape.rank() - 1;
    let axes: Vec<i64> = (0..spatial).map(|a| x.axis(a) as i64).collect();
    let op = match c.op {
        PoolOp::Max => "ReduceMax",
        PoolOp::Average => "ReduceMean",
    };
    let out = call.b.node(
        op,
        &[&x.name],
        vec![
            attr("axes", A::Ints(&axes)),
            attr("keepdims", A::I(c.keepdims as i64)),
        ],
    );
    if c.keepdims {
        x.like(out, call.output)
    } else {
        Val::last(out, call.output)
    }
}
