//! `Dense`, `Embedding`, `Flatten`, `Reshape`, `Permute`, `RepeatVector` and `LayerScale`
//! in ONNX.

use super::{Dense, Embedding, Permute, RepeatVector};
use crate::layer::activation::onnx::apply;
use crate::onnx::builder::{attr, i64s, Layout, Val, A};
use crate::onnx::{Call, Refusal};

/// `x · kernel + bias` on the last axis (`Gemm` on a matrix, `MatMul` and `Add` on more
/// axes), then the activation. After a `Flatten` of a channels-first value the kernel's
/// rows are put in that order, so no transpose is needed.
pub(crate) fn dense(c: &Dense, call: &mut Call) -> Result<Val, Refusal> {
    let x = call.x();
    let kernel = &call.weights[0];
    let fan_in = kernel.shape[0];
    let (x, rows) = match &x.layout {
        Layout::FlatFirst(keras) => {
            // Row `ch · positions + p` of the channels-first order is Keras's row
            // `p · channels + ch`.
            let channels = keras.last();
            let positions = fan_in / channels.max(1);
            let mut rows = Vec::with_capacity(kernel.data.len());
            for ch in 0..channels {
                for p in 0..positions {
                    let k = p * channels + ch;
                    rows.extend_from_slice(&kernel.data[k * c.units..(k + 1) * c.units]);
                }
            }
            (x, rows)
        }
        Layout::First | Layout::Last => (call.b.channels_last(&x), kernel.data.clone()),
    };
    // A shared layer may be called on both orders: each has its own initializer.
    let what = match x.layout {
        Layout::FlatFirst(_) => "kernel_channels_first",
        Layout::First | Layout::Last => "kernel",
    };
    let w = call.weight(what, &kernel.shape.clone(), &rows);
    let bias = if c.use_bias {
        let t = &call.weights[1];
        let (dims, data) = (t.shape.clone(), t.data.clone());
        Some(call.weight("bias", &dims, &data))
    } else {
        None
    };
    let b = &mut *call.b;
    let out = if x.shape.rank() == 1 {
        let mut ins = vec![x.name.as_str(), w.as_str()];
        if let Some(bias) = &bias {
            ins.push(bias);
        }
        b.node("Gemm", &ins, vec![])
    } else {
        let m = b.node("MatMul", &[&x.name, &w], vec![]);
        match &bias {
            Some(bias) => b.node("Add", &[&m, bias], vec![]),
            None => m,
        }
    };
    let y = Val::last(out, call.output);
    Ok(apply(b, &y, c.activation))
}

/// Each id's row of the table: the ids (`float`, as `predict` takes them) cast to `int64`.
pub(crate) fn embedding(c: &Embedding, call: &mut Call) -> Val {
    let x = call.b.channels_last(&call.x());
    let t = &call.weights[0];
    let table = call.weight("embeddings", &[c.input_dim, c.output_dim], &t.data.clone());
    let ids = call
        .b
        .node("Cast", &[&x.name], vec![attr("to", A::I(7 /* INT64 */))]);
    let out = call
        .b
        .node("Gather", &[&table, &ids], vec![attr("axis", A::I(0))]);
    Val::last(out, call.output)
}

/// `[N, …]` to `[N, features]`; a channels-first value stays in its order, marked so that
/// what reads it knows.
pub(crate) fn flatten(call: &mut Call) -> Val {
    let x = call.x();
    if x.shape.rank() <= 1 {
        return x;
    }
    let out = call
        .b
        .node("Flatten", &[&x.name], vec![attr("axis", A::I(1))]);
    match x.layout {
        Layout::First => Val {
            name: out,
            layout: Layout::FlatFirst(x.shape),
            shape: call.output,
        },
        Layout::Last | Layout::FlatFirst(_) => Val::last(out, call.output),
    }
}

pub(crate) fn reshape(call: &mut Call) -> Val {
    let x = call.b.channels_last(&call.x());
    let out = call.b.reshape(&x.name, call.output.dims());
    Val::last(out, call.output)
}

/// Output axis `i` is input axis `dims[i]` (1-based, batch excluded).
pub(crate) fn permute(c: &Permute, call: &mut Call) -> Val {
    let x = call.b.channels_last(&call.x());
    let mut perm = vec![0];
    perm.extend(c.dims[..c.len].iter().copied());
    let out = call.b.transpose(&x.name, &perm);
    Val::last(out, call.output)
}

/// `[N, F]` to `[N, n, F]`.
pub(crate) fn repeat_vector(c: &RepeatVector, call: &mut Call) -> Val {
    let x = call.b.channels_last(&call.x());
    let b = &mut *call.b;
    let axes = b.ints("axes", &[1]);
    let u = b.node("Unsqueeze", &[&x.name, &axes], vec![]);
    let shape = b.ints("shape", &i64s(&[1, c.n, 1]));
    let out = b.node("Expand", &[&u, &shape], vec![]);
    Val::last(out, call.output)
}

/// `x · gamma`, per channel, in any layout but a flattened one.
pub(crate) fn layer_scale(call: &mut Call) -> Val {
    let mut x = call.x();
    if matches!(x.layout, Layout::FlatFirst(_)) {
        x = call.b.channels_last(&x);
    }
    let gamma = call.weights[0].data.clone();
    let g = if x.layout == Layout::First {
        let dims = {
            let mut d = vec![gamma.len()];
            d.extend(std::iter::repeat_n(1, x.shape.rank() - 1));
            d
        };
        call.weight("gamma", &dims, &gamma)
    } else {
        call.weight("gamma", &[gamma.len()], &gamma)
    };
    let out = call.b.node("Mul", &[&x.name, &g], vec![]);
    x.like(out, x.shape)
}
