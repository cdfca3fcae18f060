//! Recurrent layers: `SimpleRNN`, `LSTM` (gates i, f, c, o), `GRU` (gates z, r, h; both
//! `reset_after` forms), and `Bidirectional`.
//!
//! The input projection of every step is one product up front; each step then multiplies
//! the state by the recurrent kernel. With `go_backwards` the steps run from the last, and
//! the returned sequence is in the order they ran, as in Keras.
//!
//! Training asks [`run`] for a trace of every step (see [`trace_len`]): each step's gate
//! values and states, from which the backward pass goes back through time.

use super::activation::scalar_fn;
use super::kernels::{add_bias, matmul, Mat};
use super::{Step, Tensor};
use crate::layer::{Bidirectional, Kind, MergeMode, Recurrent};
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

/// The length of the trace of one direction over `batch` inputs of shape `input`: for
/// each step in the order run, `[batch, gates·units]` gate values, `[batch, units]` states
/// `h`, `[batch, units]` auxiliary values.
///
/// The gate values are after their activations (LSTM `i, f, g, o`; GRU `z, r, h̃`); the
/// auxiliary values are the LSTM's cell state `c`, the `reset_after` GRU's recurrent part
/// of the candidate (`h·U_h + b_h`, before the reset gate), the classic GRU's `r ⊙ h` of
/// the step before.
pub(crate) fn trace_len(c: &Recurrent, input: &Shape, batch: usize) -> usize {
    input.dim(0) * batch * (c.gates() + 2) * c.units
}

/// One recurrent layer over `x` (`[batch, steps, features]`), writing `[batch, steps,
/// units]` or `[batch, units]` into `y`; with `trace` (of [`trace_len`]), also every
/// step's gates and states.
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
    mut trace: Option<&mut [f32]>,
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
        (Kind::GRU, Some(b)) if c.reset_after => Some(&b[width..]),
        _ => None,
    };
    let act = scalar_fn(c.activation);
    let gate = scalar_fn(c.recurrent_activation);
    h.fill(0.0);
    state.fill(0.0);
    for step in 0..steps {
        let t = if backwards { steps - 1 - step } else { step };
        let classic_gru = c.cell == Kind::GRU && !c.reset_after;
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
        for b in 0..batch {
            let xt = &xw[(b * steps + t) * width..][..width];
            let r = &mut rec[b * width..][..width];
            let hb = &mut h[b * u..][..u];
            let cb = &mut state[b * u..][..u];
            match c.cell {
                Kind::LSTM => {
                    for j in 0..u {
                        let i = gate(xt[j] + r[j]);
                        let f = gate(xt[u + j] + r[u + j]);
                        let g = act(xt[2 * u + j] + r[2 * u + j]);
                        let o = gate(xt[3 * u + j] + r[3 * u + j]);
                        cb[j] = f * cb[j] + i * g;
                        hb[j] = o * act(cb[j]);
                        (r[j], r[u + j], r[2 * u + j], r[3 * u + j]) = (i, f, g, o);
                    }
                }
                Kind::GRU if c.reset_after => {
                    for j in 0..u {
                        let z = gate(xt[j] + r[j]);
                        let rr = gate(xt[u + j] + r[u + j]);
                        let hh = act(xt[2 * u + j] + rr * r[2 * u + j]);
                        hb[j] = z * hb[j] + (1.0 - z) * hh;
                        cb[j] = r[2 * u + j];
                        (r[j], r[u + j], r[2 * u + j]) = (z, rr, hh);
                    }
                }
                Kind::GRU => {
                    // Gates z and r now; `r ⊙ h` goes to the state buffer for the product.
                    for j in 0..u {
                        r[j] = gate(xt[j] + r[j]);
                        r[u + j] = gate(xt[u + j] + r[u + j]);
                        cb[j] = r[u + j] * hb[j];
                    }
                }
                _ => {
                    for j in 0..u {
                        hb[j] = act(xt[j] + r[j]);
                    }
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
                for j in 0..u {
                    let z = r[j];
                    let hh = act(xt[2 * u + j] + r[2 * u + j]);
                    hb[j] = z * hb[j] + (1.0 - z) * hh;
                    r[2 * u + j] = hh;
                }
            }
        }
        if let Some(tr) = trace.as_deref_mut() {
            // The gates as left in `rec` by the cells above, then `h` and `state`.
            let per = batch * width + 2 * batch * u;
            let (g, rest) = tr[step * per..][..per].split_at_mut(batch * width);
            g.copy_from_slice(rec);
            rest[..batch * u].copy_from_slice(h);
            rest[batch * u..].copy_from_slice(state);
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
    trace: Option<&mut [f32]>,
) {
    let (trace_fwd, trace_bwd) = match trace {
        Some(t) => {
            let (f, b) = t.split_at_mut(t.len() / 2);
            (Some(f), Some(b))
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
