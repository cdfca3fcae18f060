//! Core layers: `Dense`, `Embedding`, `Permute`, `RepeatVector` (`Flatten` and `Reshape`
//! only copy: the data is row-major either way).

use super::{Dense, Embedding, LayerScale, Permute, RepeatVector};
use crate::layer::activation::forward::apply;
use crate::layer::convolution::forward::pointwise;
use crate::layer::ops::Step;
use crate::runtime::kernels::{add_bias, matmul, strided_offsets, strides_of, Mat};
use crate::runtime::{elements, RuntimeError};
use crate::shape::MAX_RANK;

/// `x · kernel + bias` on the last axis, then the activation.
pub(crate) fn dense(c: &Dense, s: &Step, x: &[f32], y: &mut [f32]) {
    let fan_in = s.input.last();
    let rows = s.batch * s.input.tail_product_except_last().unwrap_or(0);
    let kernel = &s.weights[0].data;
    let bias = c.use_bias.then(|| s.weights[1].data.as_slice());
    if pointwise(rows, fan_in, c.units, x, kernel, bias, c.activation, y) {
        return;
    }
    matmul(
        rows,
        fan_in,
        c.units,
        Mat::rows(x, fan_in),
        Mat::rows(kernel, c.units),
        y,
        c.units,
        false,
    );
    if c.use_bias {
        add_bias(y, &s.weights[1].data);
    }
    apply(c.activation, y, c.units);
}

/// `x · gamma` on the last axis.
pub(crate) fn layer_scale(c: &LayerScale, s: &Step, x: &[f32], y: &mut [f32]) {
    let gamma = &s.weights[0].data;
    let d = c.projection_dim.max(1);
    for (xs, ys) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        for ((o, &v), &g) in ys.iter_mut().zip(xs).zip(gamma) {
            *o = v * g;
        }
    }
}

/// Looks up each id's row. Ids are whole numbers in `0..input_dim`, stored as `f32`.
pub(crate) fn embedding(
    c: &Embedding,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), RuntimeError> {
    let table = &s.weights[0].data;
    let d = c.output_dim;
    for (&id, row) in x.iter().zip(y.chunks_exact_mut(d.max(1))) {
        if !(id >= 0.0 && id.fract() == 0.0 && (id as usize) < c.input_dim) {
            return Err(RuntimeError::new(format!(
                "`Embedding` got the id {id}, but ids must be whole numbers in 0..{} (its `input_dim`)",
                c.input_dim
            )));
        }
        let i = id as usize;
        row.copy_from_slice(&table[i * d..(i + 1) * d]);
    }
    Ok(())
}

/// Output axis `i` is input axis `dims[i] - 1`.
pub(crate) fn permute(c: &Permute, s: &Step, x: &[f32], y: &mut [f32]) {
    let in_strides = strides_of(s.input.dims());
    let mut strides = [0usize; MAX_RANK];
    for i in 0..c.len {
        strides[i] = in_strides[c.dims[i] - 1];
    }
    let n = elements(&s.input).max(1);
    for (xs, ys) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let mut i = 0;
        strided_offsets(s.output.dims(), &strides[..c.len], |off| {
            ys[i] = xs[off];
            i += 1;
        });
    }
}

/// `(features,)` to `(n, features)`.
pub(crate) fn repeat_vector(c: &RepeatVector, s: &Step, x: &[f32], y: &mut [f32]) {
    let f = s.input.last().max(1);
    for (xs, ys) in x.chunks_exact(f).zip(y.chunks_exact_mut(f * c.n.max(1))) {
        for row in ys.chunks_exact_mut(f) {
            row.copy_from_slice(xs);
        }
    }
}
