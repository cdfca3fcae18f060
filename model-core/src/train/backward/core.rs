//! Core layers: `Dense` (on the last axis of any rank), `Embedding`, `Permute`,
//! `RepeatVector` (`Flatten` and `Reshape` pass the gradient through unchanged).

use super::activation::{self, needs_input};
use super::{Cache, Pass};
use crate::layer::{Activation, Dense, Embedding, Permute, RepeatVector};
use crate::runtime::activation::apply;
use crate::runtime::core::{strided_offsets, strides_of};
use crate::runtime::elements;
use crate::runtime::kernels::{matmul, Mat};
use crate::shape::MAX_RANK;

/// Rows of a dense layer: every position but the last axis, over the batch.
fn rows(p: &Pass) -> usize {
    p.batch
        * p.input.dims()[..p.input.rank().saturating_sub(1)]
            .iter()
            .product::<usize>()
}

/// The runtime's dense layer; the pre-activation is kept when the activation's derivative
/// needs it.
pub(crate) fn dense_forward(c: &Dense, p: &Pass, x: &[f32], y: &mut [f32], cache: &mut Cache) {
    let linear = Dense {
        activation: Activation::Linear,
        ..*c
    };
    crate::runtime::core::dense(&linear, &p.step(), x, y);
    if needs_input(c.activation) {
        cache.a.clear();
        cache.a.extend_from_slice(y);
    }
    apply(c.activation, y, c.units);
}

/// `dz = dy · act'`, `dkernel = xᵀ · dz`, `dbias = Σ dz`, `dx = dz · kernelᵀ`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dense_backward(
    c: &Dense,
    p: &Pass,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    grads: &mut [Vec<f32>],
    cache: &Cache,
    linear_output: bool,
    scratch: &mut Vec<f32>,
) {
    let (fan_in, units, rows) = (p.input.last(), c.units, rows(p));
    let dz: &[f32] = if linear_output || c.activation == Activation::Linear {
        dy
    } else {
        scratch.resize(dy.len(), 0.0);
        activation::backward(c.activation, &cache.a, y, dy, scratch, units);
        scratch
    };
    let kernel = &p.weights[0].data;
    let dk = &mut grads[0];
    dk.resize(fan_in * units, 0.0);
    matmul(
        fan_in,
        rows,
        units,
        Mat {
            data: x,
            rs: 1,
            cs: fan_in,
        },
        Mat::rows(dz, units),
        dk,
        units,
        false,
    );
    if c.use_bias {
        column_sums(dz, units, &mut grads[1]);
    }
    if let Some(dx) = dx {
        matmul(
            rows,
            units,
            fan_in,
            Mat::rows(dz, units),
            Mat {
                data: kernel,
                rs: 1,
                cs: units,
            },
            dx,
            fan_in,
            false,
        );
    }
}

/// The sum of the rows of `d` (rows of `width`), into `out`.
pub(crate) fn column_sums(d: &[f32], width: usize, out: &mut Vec<f32>) {
    out.resize(width, 0.0);
    out.fill(0.0);
    for row in d.chunks_exact(width.max(1)) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// Each id's row of the table gets its output's gradient; the ids get none.
pub(crate) fn embedding_backward(
    c: &Embedding,
    p: &Pass,
    x: &[f32],
    dy: &[f32],
    grads: &mut [Vec<f32>],
) {
    let d = c.output_dim;
    let dt = &mut grads[0];
    dt.resize(p.weights[0].data.len(), 0.0);
    dt.fill(0.0);
    for (&id, g) in x.iter().zip(dy.chunks_exact(d.max(1))) {
        // The forward pass checked every id.
        let i = id as usize;
        if let Some(row) = dt.get_mut(i * d..(i + 1) * d) {
            row.iter_mut().zip(g).for_each(|(t, &v)| *t += v);
        }
    }
}

/// The forward permutation's offsets, read the other way: `dx[off] = dy[i]`.
pub(crate) fn permute_backward(c: &Permute, p: &Pass, dy: &[f32], dx: Option<&mut [f32]>) {
    let Some(dx) = dx else { return };
    let in_strides = strides_of(p.input.dims());
    let mut strides = [0usize; MAX_RANK];
    for i in 0..c.len {
        strides[i] = in_strides[c.dims[i] - 1];
    }
    let n = elements(&p.input).max(1);
    for (gs, ds) in dy.chunks_exact(n).zip(dx.chunks_exact_mut(n)) {
        let mut i = 0;
        strided_offsets(p.output.dims(), &strides[..c.len], |off| {
            ds[off] = gs[i];
            i += 1;
        });
    }
}

/// The sum over the repeats.
pub(crate) fn repeat_backward(c: &RepeatVector, p: &Pass, dy: &[f32], dx: Option<&mut [f32]>) {
    let Some(dx) = dx else { return };
    let f = p.input.last().max(1);
    for (ds, gs) in dx.chunks_exact_mut(f).zip(dy.chunks_exact(f * c.n.max(1))) {
        ds.fill(0.0);
        for row in gs.chunks_exact(f) {
            ds.iter_mut().zip(row).for_each(|(d, &g)| *d += g);
        }
    }
}
