//! Merges in inference (and training: they keep nothing). Element-wise merges read each
//! input through strides over the output's axes, 0 where the input is stretched, so a
//! squeeze-and-excite gate `(1, 1, C) × (H, W, C)` needs no copy of the gate.

use super::{Merge, MergeOp};
use crate::error::Error;
use crate::runtime::elements;
use crate::runtime::kernels::strided_offsets;
use crate::shape::{Shape, MAX_RANK};

/// A merge's call: its inputs' shapes, its output's, and the batch (shapes without batch,
/// from `Layer::eval_call`).
#[derive(Clone, Copy)]
pub(crate) struct MergeStep<'a> {
    pub inputs: &'a [Shape],
    pub output: Shape,
    pub batch: usize,
}

/// Keras's L2 normalization's bound on the inverse norm (`1 / backend.epsilon()`).
const INV_EPSILON: f32 = 1e7;

/// The strides of `input` over the axes of `output` (right-aligned, as Keras broadcasts):
/// 0 along a stretched or missing axis.
pub(super) fn broadcast_strides(input: &Shape, output: &Shape) -> [usize; MAX_RANK] {
    let mut strides = [0usize; MAX_RANK];
    let offset = output.rank() - input.rank();
    let mut step = 1;
    for i in (0..input.rank()).rev() {
        strides[offset + i] = if input.dim(i) == 1 && output.dim(offset + i) != 1 {
            0
        } else {
            step
        };
        step *= input.dim(i);
    }
    strides
}

/// Calls `f(o, i)` for every output position `o` (in order) of one sample and the position
/// `i` of `input` it reads.
pub(super) fn each_broadcast(input: &Shape, output: &Shape, mut f: impl FnMut(usize, usize)) {
    if input == output {
        (0..elements(output)).for_each(|o| f(o, o));
        return;
    }
    let strides = broadcast_strides(input, output);
    let mut o = 0;
    strided_offsets(output.dims(), &strides[..output.rank()], |i| {
        f(o, i);
        o += 1;
    });
}

pub(crate) fn forward(c: &Merge, s: &MergeStep, xs: &[&[f32]], y: &mut [f32]) -> Result<(), Error> {
    match c.op {
        MergeOp::Concatenate => concatenate(c, s, xs, y),
        MergeOp::Dot => dot(c, s, xs, y),
        MergeOp::Add
        | MergeOp::Subtract
        | MergeOp::Multiply
        | MergeOp::Average
        | MergeOp::Maximum
        | MergeOp::Minimum => elementwise(c.op, s, xs, y),
    }
    Ok(())
}

/// The first input broadcast into `y`, then each further one combined in place, pairwise
/// as Keras applies the operation.
fn elementwise(op: MergeOp, s: &MergeStep, xs: &[&[f32]], y: &mut [f32]) {
    let out_len = elements(&s.output);
    for (k, (shape, x)) in s.inputs.iter().zip(xs).enumerate() {
        let in_len = elements(shape);
        for b in 0..s.batch {
            let (xb, yb) = (&x[b * in_len..][..in_len], &mut y[b * out_len..][..out_len]);
            if k == 0 {
                each_broadcast(shape, &s.output, |o, i| yb[o] = xb[i]);
                continue;
            }
            match op {
                MergeOp::Add | MergeOp::Average => {
                    each_broadcast(shape, &s.output, |o, i| yb[o] += xb[i])
                }
                MergeOp::Subtract => each_broadcast(shape, &s.output, |o, i| yb[o] -= xb[i]),
                MergeOp::Multiply => each_broadcast(shape, &s.output, |o, i| yb[o] *= xb[i]),
                // TensorFlow's maximum and minimum keep a NaN from either side.
                MergeOp::Maximum => each_broadcast(shape, &s.output, |o, i| {
                    let v = xb[i];
                    if v > yb[o] || v.is_nan() {
                        yb[o] = v;
                    }
                }),
                MergeOp::Minimum => each_broadcast(shape, &s.output, |o, i| {
                    let v = xb[i];
                    if v < yb[o] || v.is_nan() {
                        yb[o] = v;
                    }
                }),
                MergeOp::Concatenate | MergeOp::Dot => {}
            }
        }
    }
    if op == MergeOp::Average {
        let inv = 1.0 / xs.len() as f32;
        y.iter_mut().for_each(|v| *v *= inv);
    }
}

/// `(outer, axis, inner)`: the sizes before the concatenation axis, along it, and after it.
pub(super) fn split_at_axis(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let dims = shape.dims();
    (
        dims[..axis].iter().product(),
        dims[axis],
        dims[axis + 1..].iter().product(),
    )
}

fn concatenate(c: &Merge, s: &MergeStep, xs: &[&[f32]], y: &mut [f32]) {
    let axis = super::sample_axis(c.axis, s.output.rank()).unwrap_or(0);
    let (outer, total, inner) = split_at_axis(&s.output, axis);
    let mut at = 0;
    for (shape, x) in s.inputs.iter().zip(xs) {
        let (_, size, _) = split_at_axis(shape, axis);
        let run = size * inner;
        for row in 0..s.batch * outer {
            y[(row * total + at) * inner..][..run].copy_from_slice(&x[row * run..][..run]);
        }
        at += size;
    }
}

/// How a `Dot` reads its inputs: each as a matrix, `[rest, k]` for the first and
/// `[k, rest]` for the second, through strides.
pub(super) struct DotPlan {
    pub k: usize,
    pub rows: usize,
    pub cols: usize,
    /// Offsets into a sample of the first input: `a[r][j]` at `a_rest[r] + j·a_k`.
    pub a_rest: Vec<usize>,
    pub a_k: usize,
    pub b_rest: Vec<usize>,
    pub b_k: usize,
}

impl DotPlan {
    pub fn new(c: &Merge, a: &Shape, b: &Shape) -> DotPlan {
        let x = super::sample_axis(c.axes[0], a.rank()).unwrap_or(0);
        let y = super::sample_axis(c.axes[1], b.rank()).unwrap_or(0);
        let rest = |s: &Shape, skip: usize| -> (Vec<usize>, usize) {
            let strides = crate::runtime::kernels::strides_of(s.dims());
            let mut dims = Vec::new();
            let mut st = Vec::new();
            for (d, &stride) in strides.iter().enumerate().take(s.rank()) {
                if d != skip {
                    dims.push(s.dim(d));
                    st.push(stride);
                }
            }
            let mut offsets = Vec::new();
            strided_offsets(&dims, &st, |o| offsets.push(o));
            (offsets, strides[skip])
        };
        let (a_rest, a_k) = rest(a, x);
        let (b_rest, b_k) = rest(b, y);
        DotPlan {
            k: a.dim(x),
            rows: a_rest.len(),
            cols: b_rest.len(),
            a_rest,
            a_k,
            b_rest,
            b_k,
        }
    }
}

/// Each input's inverse L2 norms along its summed axis, one per position of its other
/// axes: `min(1 / ‖x‖, 1 / ε)`, as Keras normalizes.
pub(super) fn inverse_norms(x: &[f32], rest: &[usize], stride: usize, k: usize) -> Vec<f32> {
    rest.iter()
        .map(|&r| {
            let sq: f32 = (0..k).map(|j| x[r + j * stride].powi(2)).sum();
            (1.0 / sq.sqrt()).min(INV_EPSILON)
        })
        .collect()
}

fn dot(c: &Merge, s: &MergeStep, xs: &[&[f32]], y: &mut [f32]) {
    let (sa, sb) = (&s.inputs[0], &s.inputs[1]);
    let p = DotPlan::new(c, sa, sb);
    let (la, lb) = (elements(sa), elements(sb));
    let per = p.rows * p.cols;
    for n in 0..s.batch {
        let (a, b) = (&xs[0][n * la..][..la], &xs[1][n * lb..][..lb]);
        let (na, nb) = if c.normalize {
            (
                inverse_norms(a, &p.a_rest, p.a_k, p.k),
                inverse_norms(b, &p.b_rest, p.b_k, p.k),
            )
        } else {
            (vec![1.0; p.rows], vec![1.0; p.cols])
        };
        let out = &mut y[n * per..][..per];
        for (r, &ar) in p.a_rest.iter().enumerate() {
            for (q, &bq) in p.b_rest.iter().enumerate() {
                let dot: f32 = (0..p.k)
                    .map(|j| a[ar + j * p.a_k] * b[bq + j * p.b_k])
                    .sum();
                out[r * p.cols + q] = dot * na[r] * nb[q];
            }
        }
    }
}
