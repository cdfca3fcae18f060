//! Merges' gradients. An element-wise merge's input gets the output gradient summed over
//! the positions it was stretched to: the sum's as it is, the difference's with the second
//! input's sign turned, the mean's over the count, the product's times the other inputs,
//! the maximum's and minimum's only where that input was the one kept (the first of a tie,
//! as TensorFlow's pairwise gradients give it). A concatenation's is cut back into the
//! inputs' parts; a dot product's is the product the other way, through the normalization
//! when there is one.

use super::forward::{each_broadcast, inverse_norms, split_at_axis, DotPlan, MergeStep};
use super::{Merge, MergeOp};
use crate::runtime::elements;

/// `dxs[k]` receives input `k`'s gradient when it is `Some` (a model input needs none).
pub(crate) fn backward(
    c: &Merge,
    s: &MergeStep,
    xs: &[&[f32]],
    y: &[f32],
    dy: &[f32],
    dxs: &mut [Option<&mut [f32]>],
) {
    match c.op {
        MergeOp::Concatenate => concatenate(c, s, dy, dxs),
        MergeOp::Dot => dot(c, s, xs, dy, dxs),
        MergeOp::Add
        | MergeOp::Subtract
        | MergeOp::Multiply
        | MergeOp::Average
        | MergeOp::Maximum
        | MergeOp::Minimum => elementwise(c.op, s, xs, y, dy, dxs),
    }
}

fn elementwise(
    op: MergeOp,
    s: &MergeStep,
    xs: &[&[f32]],
    y: &[f32],
    dy: &[f32],
    dxs: &mut [Option<&mut [f32]>],
) {
    let out_len = elements(&s.output);
    let n = xs.len();
    // The factor of each output's gradient for one input: the other inputs' product, or
    // whether this input was the maximum or minimum kept.
    let mut factor = vec![0f32; out_len];
    for (k, dx) in dxs.iter_mut().enumerate() {
        let Some(dx) = dx.as_deref_mut() else {
            continue;
        };
        let shape = &s.inputs[k];
        let in_len = elements(shape);
        dx.fill(0.0);
        for b in 0..s.batch {
            let (gs, ds) = (
                &dy[b * out_len..][..out_len],
                &mut dx[b * in_len..][..in_len],
            );
            match op {
                MergeOp::Add => each_broadcast(shape, &s.output, |o, i| ds[i] += gs[o]),
                MergeOp::Average => {
                    let inv = 1.0 / n as f32;
                    each_broadcast(shape, &s.output, |o, i| ds[i] += gs[o] * inv)
                }
                MergeOp::Subtract => {
                    let sign = if k == 0 { 1.0 } else { -1.0 };
                    each_broadcast(shape, &s.output, |o, i| ds[i] += sign * gs[o])
                }
                MergeOp::Multiply => {
                    factor.fill(1.0);
                    for (j, (other, x)) in s.inputs.iter().zip(xs).enumerate() {
                        if j != k {
                            let l = elements(other);
                            let xb = &x[b * l..][..l];
                            each_broadcast(other, &s.output, |o, i| factor[o] *= xb[i]);
                        }
                    }
                    each_broadcast(shape, &s.output, |o, i| ds[i] += gs[o] * factor[o]);
                }
                MergeOp::Maximum | MergeOp::Minimum => {
                    // The first input equal to the output is the one kept.
                    let yb = &y[b * out_len..][..out_len];
                    factor.fill(1.0);
                    for (other, x) in s.inputs.iter().zip(xs).take(k) {
                        let l = elements(other);
                        let xb = &x[b * l..][..l];
                        each_broadcast(other, &s.output, |o, i| {
                            if same(xb[i], yb[o]) {
                                factor[o] = 0.0;
                            }
                        });
                    }
                    let xb = &xs[k][b * in_len..][..in_len];
                    each_broadcast(shape, &s.output, |o, i| {
                        if same(xb[i], yb[o]) {
                            ds[i] += gs[o] * factor[o];
                        }
                    });
                }
                MergeOp::Concatenate | MergeOp::Dot => {}
            }
        }
    }
}

/// Equal, a NaN equal to a NaN (the value a maximum kept).
fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn concatenate(c: &Merge, s: &MergeStep, dy: &[f32], dxs: &mut [Option<&mut [f32]>]) {
    let axis = super::sample_axis(c.axis, s.output.rank()).unwrap_or(0);
    let (outer, total, inner) = split_at_axis(&s.output, axis);
    let mut at = 0;
    for (shape, dx) in s.inputs.iter().zip(dxs.iter_mut()) {
        let (_, size, _) = split_at_axis(shape, axis);
        let run = size * inner;
        if let Some(dx) = dx.as_deref_mut() {
            for row in 0..s.batch * outer {
                dx[row * run..][..run].copy_from_slice(&dy[(row * total + at) * inner..][..run]);
            }
        }
        at += size;
    }
}

/// Through `v = u · min(1/‖u‖, 1/ε)` for one row `u` (offsets `rest + j·stride`): the
/// gradient `dv` (indexed by `j`) becomes `(dv − v (v·dv)) / ‖u‖`, or `dv / ε` where the
/// bound holds.
fn through_norm(u: &[f32], at: usize, stride: usize, inv: f32, dv: &mut [f32]) {
    let k = dv.len();
    if inv >= 1e7 {
        dv.iter_mut().for_each(|d| *d *= inv);
        return;
    }
    let dot: f32 = (0..k).map(|j| u[at + j * stride] * inv * dv[j]).sum();
    for (j, d) in dv.iter_mut().enumerate() {
        *d = (*d - u[at + j * stride] * inv * dot) * inv;
    }
}

fn dot(c: &Merge, s: &MergeStep, xs: &[&[f32]], dy: &[f32], dxs: &mut [Option<&mut [f32]>]) {
    let (sa, sb) = (&s.inputs[0], &s.inputs[1]);
    let p = DotPlan::new(c, sa, sb);
    let (la, lb) = (elements(sa), elements(sb));
    let per = p.rows * p.cols;
    let mut row = vec![0f32; p.k];
    for n in 0..s.batch {
        let (a, b) = (&xs[0][n * la..][..la], &xs[1][n * lb..][..lb]);
        let g = &dy[n * per..][..per];
        let (na, nb) = if c.normalize {
            (
                inverse_norms(a, &p.a_rest, p.a_k, p.k),
                inverse_norms(b, &p.b_rest, p.b_k, p.k),
            )
        } else {
            (vec![1.0; p.rows], vec![1.0; p.cols])
        };
        // dA[r, j] = Σ_q g[r, q] · B̂[j, q], then through A's normalization.
        if let Some(da) = dxs[0].as_deref_mut() {
            let da = &mut da[n * la..][..la];
            for (r, &ar) in p.a_rest.iter().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (0..p.cols)
                        .map(|q| g[r * p.cols + q] * b[p.b_rest[q] + j * p.b_k] * nb[q])
                        .sum();
                }
                if c.normalize {
                    through_norm(a, ar, p.a_k, na[r], &mut row);
                }
                for (j, &v) in row.iter().enumerate() {
                    da[ar + j * p.a_k] = v;
                }
            }
        }
        // dB[j, q] = Σ_r Â[r, j] · g[r, q], then through B's normalization.
        if let Some(db) = dxs[1].as_deref_mut() {
            let db = &mut db[n * lb..][..lb];
            for (q, &bq) in p.b_rest.iter().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (0..p.rows)
                        .map(|r| a[p.a_rest[r] + j * p.a_k] * na[r] * g[r * p.cols + q])
                        .sum();
                }
                if c.normalize {
                    through_norm(b, bq, p.b_k, nb[q], &mut row);
                }
                for (j, &v) in row.iter().enumerate() {
                    db[bq + j * p.b_k] = v;
                }
            }
        }
    }
}
