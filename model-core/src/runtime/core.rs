//! Core layers: `Dense`, `Embedding`, `Permute`, `RepeatVector` (`Flatten` and `Reshape`
//! only copy: the data is row-major either way).

use super::activation::apply;
use super::kernels::{add_bias, matmul, Mat};
use super::{elements, RuntimeError, Step};
use crate::layer::{Dense, Embedding, Permute, RepeatVector};
use crate::shape::MAX_RANK;

/// Calls `f` with the offset `Σ index[i]·strides[i]` of every index of `dims`, in row-major
/// order.
pub(crate) fn strided_offsets(dims: &[usize], strides: &[usize], mut f: impl FnMut(usize)) {
    let rank = dims.len();
    if rank == 0 {
        return f(0);
    }
    if dims.contains(&0) {
        return;
    }
    let mut index = [0usize; MAX_RANK];
    let mut base = 0;
    let (last, last_stride) = (dims[rank - 1], strides[rank - 1]);
    loop {
        for j in 0..last {
            f(base + j * last_stride);
        }
        // Advance the odometer over every axis but the last.
        let mut axis = rank - 1;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            base += strides[axis];
            if index[axis] < dims[axis] {
                break;
            }
            base -= strides[axis] * dims[axis];
            index[axis] = 0;
        }
    }
}

/// `x · kernel + bias` on the last axis, then the activation.
pub(crate) fn dense(c: &Dense, s: &Step, x: &[f32], y: &mut [f32]) {
    let fan_in = s.input.last();
    let rows = s.batch * s.input.tail_product_except_last().unwrap_or(0);
    let kernel = &s.weights[0].data;
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

/// Row-major strides of `dims`.
pub(crate) fn strides_of(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut strides = [0usize; MAX_RANK];
    let mut step = 1;
    for i in (0..dims.len()).rev() {
        strides[i] = step;
        step *= dims[i];
    }
    strides
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_offsets_walk_a_transpose() {
        let mut seen = Vec::new();
        strided_offsets(&[3, 2], &[1, 3], |o| seen.push(o));
        assert_eq!(seen, [0, 3, 1, 4, 2, 5]);
        seen.clear();
        strided_offsets(&[2, 1, 2], &[2, 0, 1], |o| seen.push(o));
        assert_eq!(seen, [0, 1, 2, 3]);
    }
}
