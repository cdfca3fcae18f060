//! Core layers: `Dense` (on the last axis of any rank), `Embedding`, `Permute`,
//! `RepeatVector` (`Flatten` and `Reshape` pass the gradient through unchanged).

use super::{Dense, Embedding, LayerScale, Permute, RepeatVector};
use crate::layer::activation::backward::{self as activation, needs_input};
use crate::layer::activation::forward::apply;
use crate::layer::convolution::forward::{takes_products, transposed_product};
use crate::layer::ops::{Grad, Step, Train};
use crate::layer::Activation;
use crate::runtime::elements;
use crate::runtime::kernels::{matmul, strided_offsets, strides_of, threads_for, Mat};
use crate::shape::MAX_RANK;

/// Rows of a dense layer: every position but the last axis, over the batch.
fn rows(p: &Step) -> usize {
    p.batch
        * p.input.dims()[..p.input.rank().saturating_sub(1)]
            .iter()
            .product::<usize>()
}

/// The runtime's dense layer; the pre-activation is kept when the activation's derivative
/// needs it.
pub(crate) fn dense_forward(c: &Dense, p: &Step, x: &[f32], y: &mut [f32], t: Train) {
    let cache = t.cache;
    let linear = Dense {
        activation: Activation::Linear,
        ..*c
    };
    super::forward::dense(&linear, p, x, y);
    if needs_input(c.activation) {
        cache.a.clear();
        cache.a.extend_from_slice(y);
    }
    apply(c.activation, y, c.units);
}

/// `dz = dy · act'`, `dkernel = xᵀ · dz`, `dbias = Σ dz`, `dx = dz · kernelᵀ`.
pub(crate) fn dense_backward(c: &Dense, p: &Step, g: Grad) {
    let Grad {
        x,
        y,
        dy,
        dx,
        grads,
        cache,
        linear_output,
        scratch,
    } = g;
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
    // dkernel = xᵀ · dz through the tile kernel where it takes plain products.
    let tiled = takes_products()
        && transposed_product(
            rows,
            fan_in,
            units,
            (x, fan_in),
            (dz, units),
            dk,
            units,
            false,
            threads_for(fan_in * rows * units),
        );
    if !tiled {
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
    }
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

/// `dx = dy · gamma`, `dgamma = Σ dy · x` over the positions.
pub(crate) fn layer_scale_backward(c: &LayerScale, p: &Step, g: Grad) {
    let Grad {
        x, dy, dx, grads, ..
    } = g;
    let d = c.projection_dim.max(1);
    let gamma = &p.weights[0].data;
    let dg = &mut grads[0];
    dg.resize(d, 0.0);
    dg.fill(0.0);
    for (xs, gs) in x.chunks_exact(d).zip(dy.chunks_exact(d)) {
        for ((a, &v), &g) in dg.iter_mut().zip(xs).zip(gs) {
            *a += v * g;
        }
    }
    if let Some(dx) = dx {
        for (ds, gs) in dx.chunks_exact_mut(d).zip(dy.chunks_exact(d)) {
            for ((o, &g), &w) in ds.iter_mut().zip(gs).zip(gamma) {
                *o = g * w;
            }
        }
    }
}

/// Each id's row of the table gets its output's gradient; the ids get none.
pub(crate) fn embedding_backward(c: &Embedding, p: &Step, g: Grad) {
    let Grad { x, dy, grads, .. } = g;
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
pub(crate) fn permute_backward(c: &Permute, p: &Step, g: Grad) {
    let (dy, Some(dx)) = (g.dy, g.dx) else {
        return;
    };
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
pub(crate) fn repeat_backward(c: &RepeatVector, p: &Step, g: Grad) {
    let (dy, Some(dx)) = (g.dy, g.dx) else {
        return;
    };
    let f = p.input.last().max(1);
    for (ds, gs) in dx.chunks_exact_mut(f).zip(dy.chunks_exact(f * c.n.max(1))) {
        ds.fill(0.0);
        for row in gs.chunks_exact(f) {
            ds.iter_mut().zip(row).for_each(|(d, &g)| *d += g);
        }
    }
}

/// `Flatten` and `Reshape`: the gradient passes through unchanged.
pub(crate) fn copy_backward(g: Grad) {
    if let Some(dx) = g.dx {
        dx.copy_from_slice(g.dy);
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, check_with, ints, layer};
    use crate::layer::{Kind, Layer};
    use crate::value::Value;

    #[test]
    fn dense_every_activation_any_rank() {
        for a in crate::layer::Activation::ALL {
            let l = layer(
                Kind::Dense,
                &[
                    ("units", Value::Int(4)),
                    ("activation", Value::Str(a.name())),
                ],
            );
            check(l, &[5], 3);
        }
        let l = layer(
            Kind::Dense,
            &[("units", Value::Int(3)), ("use_bias", Value::Bool(false))],
        );
        check(l, &[2, 3, 4], 2);
    }

    #[test]
    fn flatten_reshape_permute_repeat_vector() {
        check(Layer::FLATTEN, &[2, 3, 2], 2);
        check(
            layer(Kind::Reshape, &[("target_shape", ints(&[3, 4]))]),
            &[2, 6],
            2,
        );
        check(
            layer(Kind::Permute, &[("dims", ints(&[3, 1, 2]))]),
            &[2, 3, 4],
            2,
        );
        check(layer(Kind::RepeatVector, &[("n", Value::Int(3))]), &[4], 2);
    }

    #[test]
    fn embedding() {
        let l = layer(
            Kind::Embedding,
            &[("input_dim", Value::Int(7)), ("output_dim", Value::Int(3))],
        );
        check_with(l, &[5], 2, Some(7));
    }

    #[test]
    fn layer_scale() {
        let l = layer(
            Kind::LayerScale,
            &[
                ("init_values", Value::Float(0.5)),
                ("projection_dim", Value::Int(3)),
            ],
        );
        check(l, &[2, 3], 2);
    }
}
