//! Recurrent layers: `SimpleRNN`, `LSTM` (gates i, f, c, o), `GRU` (gates z, r, h; both
//! `reset_after` forms), and `Bidirectional`.
//!
//! The input projection of every step is one product up front; each step then multiplies
//! the state by the recurrent kernel. With `go_backwards` the steps run from the last, and
//! the returned sequence is in the order they ran, as in Keras.
//!
//! Training asks [`run`] for a [`Trace`] of every step: each step's gate values and states,
//! from which the backward pass goes back through time.
//!
//! Activations apply to each gate's `[batch, units]` block as Keras applies them to the
//! split `z`: element-wise, or over the units axis for `softmax` and `log_softmax`.

use std::ops::Range;

use super::{Bidirectional, Cell, MergeMode, Recurrent};
use crate::layer::activation::forward::apply;
use crate::layer::ops::Step;
use crate::layer::Activation;
use crate::runtime::kernels::{add_bias, matmul, Mat};
use crate::runtime::Tensor;
use crate::shape::Shape;

pub(crate) fn scratch_len(c: &Recurrent, input: &Shape, batch: usize) -> usize {
    let width = c.gates() * c.units;
    batch * input.dim(0) * width + batch * width + 2 * batch * c.units
}

pub(crate) fn forward(c: &Recurrent, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    run(
        c,
        c.go_backwards,
        s.input,
        s.batch,
        s.weights,
        x,
        y,
        scratch,
        None,
    );
}

/// Where a training forward pass records every step: [`trace_len`] values.
pub(crate) struct Trace<'a> {
    pub values: &'a mut [f32],
    /// Whether each step's record ends with its gates' pre-activations (kept only for
    /// activations whose derivative needs them).
    pub pre: bool,
}

/// The length of one step's record: `[batch, gates·units]` gate values, `[batch, units]`
/// states `h`, `[batch, units]` auxiliary values and, with `pre`, `[batch, gates·units]`
/// the gates' pre-activations.
///
/// The gate values are after their activations (LSTM `i, f, g, o`; GRU `z, r, h̃`; the
/// SimpleRNN's is `h`); the auxiliary values are the LSTM's cell state `c`, the
/// `reset_after` GRU's recurrent part of the candidate (`h·U_h + b_h`, before the reset
/// gate), the classic GRU's `r ⊙ h` of the step before.
pub(crate) fn step_len(c: &Recurrent, batch: usize, pre: bool) -> usize {
    let width = c.gates() * c.units;
    batch * (width + 2 * c.units + if pre { width } else { 0 })
}

/// The length of the trace of one direction over `batch` inputs of shape `input`: one
/// record of [`step_len`] per step, in the order run.
pub(crate) fn trace_len(c: &Recurrent, input: &Shape, batch: usize, pre: bool) -> usize {
    input.dim(0) * step_len(c, batch, pre)
}

/// `a` over the gate values `v[range]` (rows of `units`), their pre-activations first
/// copied to the same place in `pre` when the trace keeps them.
fn activate(
    a: Activation,
    v: &mut [f32],
    range: Range<usize>,
    pre: Option<&mut [f32]>,
    units: usize,
) {
    if let Some(p) = pre {
        p[range.clone()].copy_from_slice(&v[range.clone()]);
    }
    apply(a, &mut v[range], units);
}

/// One recurrent layer over `x` (`[batch, steps, features]`), writing `[batch, steps,
/// units]` or `[batch, units]` into `y`; with `trace`, also every step's gates and states.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    c: &Recurrent,
    backwards: bool,
    input: Shape,
    batch: usize,
    w: &[Tensor],
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
    mut trace: Option<Trace>,
) {
    let (steps, features, u) = (input.dim(0), input.dim(1), c.units);
    let width = c.gates() * u;
    let (kernel, recurrent) = (&w[0].data, &w[1].data);
    let bias = if c.use_bias {
        Some(w[2].data.as_slice())
    } else {
        None
    };
    let (xw, rest) = scratch.split_at_mut(batch * steps * width);
    let (rec, rest) = rest.split_at_mut(batch * width);
    let (h, rest) = rest.split_at_mut(batch * u);
    let state = &mut rest[..batch * u];

    matmul(
        batch * steps,
        features,
        width,
        Mat::rows(x, features),
        Mat::rows(kernel, width),
        xw,
        width,
        false,
    );
    if let Some(b) = bias {
        // A GRU with `reset_after` has `[input_bias; recurrent_bias]`; the others one row.
        add_bias(xw, &b[..width]);
    }
    let recurrent_bias = match (c.cell, bias) {
        (Cell::GRU, Some(b)) if c.reset_after => Some(&b[width..]),
        _ => None,
    };
    let (act, gate) = (c.activation, c.recurrent_activation);
    let add = |v: &mut [f32], x: &[f32]| v.iter_mut().zip(x).for_each(|(v, &x)| *v += x);
    let per = trace.as_ref().map_or(0, |tr| step_len(c, batch, tr.pre));
    h.fill(0.0);
    state.fill(0.0);
    for step in 0..steps {
        let t = if backwards { steps - 1 - step } else { step };
        let classic_gru = c.cell == Cell::GRU && !c.reset_after;
        // `h · recurrent_kernel`; the classic GRU multiplies `r ⊙ h` for its last gate, below.
        let cols = if classic_gru { 2 * u } else { width };
        matmul(
            batch,
            u,
            cols,
            Mat::rows(h, u),
            Mat {
                data: recurrent,
                rs: width,
                cs: 1,
            },
            rec,
            width,
            false,
        );
        if let Some(b) = recurrent_bias {
            add_bias(rec, b);
        }
        // This step's pre-activations go straight to the trace, as they are formed.
        let mut pre = match trace.as_mut() {
            Some(tr) if tr.pre => {
                Some(&mut tr.values[step * per + batch * (width + 2 * u)..][..batch * width])
            }
            _ => None,
        };
        for b in 0..batch {
            let xt = &xw[(b * steps + t) * width..][..width];
            let r = &mut rec[b * width..][..width];
            let hb = &mut h[b * u..][..u];
            let cb = &mut state[b * u..][..u];
            let mut pre = pre.as_deref_mut().map(|p| &mut p[b * width..][..width]);
            match c.cell {
                Cell::LSTM => {
                    add(r, xt);
                    activate(gate, r, 0..2 * u, pre.as_deref_mut(), u);
                    activate(act, r, 2 * u..3 * u, pre.as_deref_mut(), u);
                    activate(gate, r, 3 * u..width, pre, u);
                    for j in 0..u {
                        let (i, f, g) = (r[j], r[u + j], r[2 * u + j]);
                        cb[j] = f * cb[j] + i * g;
                    }
                    hb.copy_from_slice(cb);
                    apply(act, hb, u);
                    hb.iter_mut().zip(&r[3 * u..]).for_each(|(h, &o)| *h *= o);
                }
                Cell::GRU if c.reset_after => {
                    add(&mut r[..2 * u], &xt[..2 * u]);
                    activate(gate, r, 0..2 * u, pre.as_deref_mut(), u);
                    // The candidate's pre-activation `x·W_h + r ⊙ (h·U_h + b_h)`, its
                    // recurrent part kept in the state buffer.
                    for j in 0..u {
                        cb[j] = r[2 * u + j];
                        r[2 * u + j] = xt[2 * u + j] + r[u + j] * r[2 * u + j];
                    }
                    activate(act, r, 2 * u..width, pre, u);
                    for j in 0..u {
                        let (z, hh) = (r[j], r[2 * u + j]);
                        hb[j] = z * hb[j] + (1.0 - z) * hh;
                    }
                }
                Cell::GRU => {
                    // Gates z and r now; `r ⊙ h` goes to the state buffer for the product.
                    add(&mut r[..2 * u], &xt[..2 * u]);
                    activate(gate, r, 0..2 * u, pre, u);
                    for j in 0..u {
                        cb[j] = r[u + j] * hb[j];
                    }
                }
                Cell::SimpleRNN => {
                    add(r, xt);
                    activate(act, r, 0..width, pre, u);
                    hb.copy_from_slice(r);
                }
            }
        }
        if classic_gru {
            let last = Mat {
                data: &recurrent[2 * u..],
                rs: width,
                cs: 1,
            };
            matmul(
                batch,
                u,
                u,
                Mat::rows(state, u),
                last,
                &mut rec[2 * u..],
                width,
                false,
            );
            for b in 0..batch {
                let xt = &xw[(b * steps + t) * width..][..width];
                let r = &mut rec[b * width..][..width];
                let hb = &mut h[b * u..][..u];
                add(&mut r[2 * u..], &xt[2 * u..]);
                let pre = pre.as_deref_mut().map(|p| &mut p[b * width..][..width]);
                activate(act, r, 2 * u..width, pre, u);
                for j in 0..u {
                    let (z, hh) = (r[j], r[2 * u + j]);
                    hb[j] = z * hb[j] + (1.0 - z) * hh;
                }
            }
        }
        if let Some(tr) = trace.as_mut() {
            // The gates as left in `rec` by the cells above, then `h` and `state`.
            let (g, rest) = tr.values[step * per..][..per].split_at_mut(batch * width);
            g.copy_from_slice(rec);
            rest[..batch * u].copy_from_slice(h);
            rest[batch * u..2 * batch * u].copy_from_slice(state);
        }
        if c.return_sequences {
            for b in 0..batch {
                y[(b * steps + step) * u..][..u].copy_from_slice(&h[b * u..][..u]);
            }
        }
    }
    if !c.return_sequences {
        y.copy_from_slice(h);
    }
}

pub(crate) fn bidirectional_scratch_len(
    c: &Bidirectional,
    input: &Shape,
    output: &Shape,
    batch: usize,
) -> usize {
    let per_direction = output.dims().iter().product::<usize>()
        / if c.merge_mode == MergeMode::Concat {
            2
        } else {
            1
        };
    2 * batch * per_direction + scratch_len(&c.layer, input, batch)
}

/// Both directions, the backward sequence turned back to the input's order, merged.
pub(crate) fn bidirectional(
    c: &Bidirectional,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    bidirectional_traced(c, s, x, y, scratch, None);
}

/// [`bidirectional`], with the trace of the forward direction then the backward one
/// (each of [`trace_len`]).
pub(crate) fn bidirectional_traced(
    c: &Bidirectional,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
    trace: Option<Trace>,
) {
    let (trace_fwd, trace_bwd) = match trace {
        Some(Trace { values, pre }) => {
            let (f, b) = values.split_at_mut(values.len() / 2);
            (
                Some(Trace { values: f, pre }),
                Some(Trace { values: b, pre }),
            )
        }
        None => (None, None),
    };
    let l = &c.layer;
    let rows = s.batch
        * if l.return_sequences {
            s.input.dim(0)
        } else {
            1
        };
    let u = l.units;
    let (fwd, rest) = scratch.split_at_mut(rows * u);
    let (bwd, rest) = rest.split_at_mut(rows * u);
    let n = s.weights.len() / 2;
    run(
        l,
        l.go_backwards,
        s.input,
        s.batch,
        &s.weights[..n],
        x,
        fwd,
        rest,
        trace_fwd,
    );
    run(
        l,
        !l.go_backwards,
        s.input,
        s.batch,
        &s.weights[n..],
        x,
        bwd,
        rest,
        trace_bwd,
    );
    if l.return_sequences {
        let steps = s.input.dim(0);
        for seq in bwd.chunks_exact_mut((steps * u).max(1)) {
            for t in 0..steps / 2 {
                let (head, tail) = seq.split_at_mut((steps - 1 - t) * u);
                head[t * u..(t + 1) * u].swap_with_slice(&mut tail[..u]);
            }
        }
    }
    match c.merge_mode {
        MergeMode::Concat => {
            for ((out, f), b) in y
                .chunks_exact_mut(2 * u)
                .zip(fwd.chunks_exact(u))
                .zip(bwd.chunks_exact(u))
            {
                out[..u].copy_from_slice(f);
                out[u..].copy_from_slice(b);
            }
        }
        mode => {
            for ((o, &f), &b) in y.iter_mut().zip(fwd.iter()).zip(bwd.iter()) {
                *o = match mode {
                    MergeMode::Sum => f + b,
                    MergeMode::Mul => f * b,
                    _ => (f + b) * 0.5,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{test_layer, Kind};
    use crate::runtime::{init_model, predict};
    use crate::value::Value;

    /// Keras's cells written out term by term (keras/src/layers/rnn/), for one sample of
    /// `steps` steps: the last state `h`.
    fn reference(c: &Recurrent, w: &[Tensor], x: &[f32], steps: usize) -> Vec<f32> {
        let (u, width) = (c.units, c.gates() * c.units);
        let (kernel, rk, bias) = (&w[0].data, &w[1].data, &w[2].data);
        let a = |f: Activation, mut v: Vec<f32>| {
            apply(f, &mut v, u);
            v
        };
        let times = |v: &[f32], m: &[f32], col: usize| -> f32 {
            v.iter()
                .enumerate()
                .map(|(i, &e)| e * m[i * width + col])
                .sum()
        };
        let (mut h, mut cell) = (vec![0f32; u], vec![0f32; u]);
        for xt in x.chunks_exact(x.len() / steps) {
            let xz: Vec<f32> = (0..width).map(|j| times(xt, kernel, j) + bias[j]).collect();
            let recurrent_bias = |j: usize| if c.reset_after { bias[width + j] } else { 0.0 };
            let hz: Vec<f32> = (0..width).map(|j| times(&h, rk, j)).collect();
            let z = |k: usize| {
                (k * u..(k + 1) * u)
                    .map(|j| xz[j] + hz[j])
                    .collect::<Vec<f32>>()
            };
            match c.cell {
                Cell::LSTM => {
                    let i = a(c.recurrent_activation, z(0));
                    let f = a(c.recurrent_activation, z(1));
                    let g = a(c.activation, z(2));
                    let o = a(c.recurrent_activation, z(3));
                    cell = (0..u).map(|j| f[j] * cell[j] + i[j] * g[j]).collect();
                    let tc = a(c.activation, cell.clone());
                    h = (0..u).map(|j| o[j] * tc[j]).collect();
                }
                Cell::GRU => {
                    let gate = |k: usize| {
                        let v = (k * u..(k + 1) * u).map(|j| xz[j] + hz[j] + recurrent_bias(j));
                        a(c.recurrent_activation, v.collect())
                    };
                    let (z, r) = (gate(0), gate(1));
                    let recurrent_h: Vec<f32> = if c.reset_after {
                        (0..u)
                            .map(|j| r[j] * (hz[2 * u + j] + recurrent_bias(2 * u + j)))
                            .collect()
                    } else {
                        let rh: Vec<f32> = (0..u).map(|j| r[j] * h[j]).collect();
                        (0..u).map(|j| times(&rh, rk, 2 * u + j)).collect()
                    };
                    let hh = a(
                        c.activation,
                        (0..u).map(|j| xz[2 * u + j] + recurrent_h[j]).collect(),
                    );
                    h = (0..u).map(|j| z[j] * h[j] + (1.0 - z[j]) * hh[j]).collect();
                }
                Cell::SimpleRNN => h = a(c.activation, z(0)),
            }
        }
        h
    }

    #[test]
    fn softmax_applies_over_the_units_of_each_gate() {
        let (steps, features) = (3, 2);
        let input = Shape::new(&[steps, features]);
        let x: Vec<f32> = (0..steps * features)
            .map(|i| (i as f32 * 0.7).sin())
            .collect();
        for (kind, reset_after) in [
            (Kind::SimpleRNN, true),
            (Kind::LSTM, true),
            (Kind::GRU, true),
            (Kind::GRU, false),
        ] {
            for (act, gate) in [
                ("softmax", "softmax"),
                ("log_softmax", "sigmoid"),
                ("tanh", "log_softmax"),
            ] {
                let mut args = vec![("units", Value::Int(4)), ("activation", Value::Str(act))];
                if kind != Kind::SimpleRNN {
                    args.push(("recurrent_activation", Value::Str(gate)));
                }
                if kind == Kind::GRU {
                    args.push(("reset_after", Value::Bool(reset_after)));
                }
                let l = test_layer(kind, &args);
                let crate::layer::Config::Recurrent(c) = l.config else {
                    unreachable!()
                };
                let mut w = init_model(&[l], input, 5).unwrap().remove(0);
                // Biases away from zero, so that every term shows.
                let bias = &mut w.tensors[2].data;
                bias.iter_mut()
                    .enumerate()
                    .for_each(|(i, b)| *b += (i as f32).cos() * 0.5);
                let ours = predict(&[l], input, &[w.clone()], &x, 1).unwrap();
                let keras = reference(&c, &w.tensors, &x, steps);
                for (o, k) in ours.iter().zip(&keras) {
                    assert!(
                        (o - k).abs() < 1e-5,
                        "{kind:?} {act}/{gate} reset_after={reset_after}: {ours:?} vs {keras:?}"
                    );
                }
            }
        }
    }
}
