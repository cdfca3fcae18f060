//! Recurrent layers through time (BPTT): `SimpleRNN`, `LSTM`, `GRU` (both `reset_after`
//! forms) and `Bidirectional`.
//!
//! The training forward pass is the runtime's, asked for its trace: every step's gate
//! values (after their activations) and states, and the gates' pre-activations too when
//! an activation's derivative needs its input (`gelu`, `silu`, `hard_silu`, `mish`). The
//! backward pass walks the steps in the reverse of the order they ran, carrying the
//! gradient of the state `h` (and of the LSTM's cell `c`), and collects the gradients of
//! the gates' pre-activations: the input's part, one row per step, gives the kernel's and
//! the input's gradients in two products at the end; the recurrent part gives the
//! recurrent kernel's gradient and the previous state's, step by step.
//!
//! Each gate's activation is gone back through by [`activation::backward`], one
//! `[units]` block at a time, as an `Activation` layer's would be: `softmax` and
//! `log_softmax` over the units take their Jacobian-vector products there.

use std::ops::Range;

use super::forward::{bidirectional_scratch_len, bidirectional_traced, run, scratch_len};
use super::forward::{step_len, trace_len, Trace};
use super::{Bidirectional, Cell, MergeMode, Recurrent};
use crate::layer::activation::backward::{self as activation, needs_input};
use crate::layer::activation::forward::apply;
use crate::layer::core::backward::column_sums;
use crate::layer::ops::{Grad, Step, Train};
use crate::runtime::kernels::{matmul, Mat};
use crate::runtime::{self, Tensor};
use crate::shape::Shape;

use crate::error::Error;

/// Whether the trace keeps the gates' pre-activations: only when an activation's
/// derivative needs them, so that `tanh` and `sigmoid` cells record nothing more.
fn keeps_pre(c: &Recurrent) -> bool {
    needs_input(c.activation) || needs_input(c.recurrent_activation)
}

/// The runtime's recurrent layer, its trace kept in `cache.b`.
pub(crate) fn forward(c: &Recurrent, p: &Step, x: &[f32], y: &mut [f32], t: Train) {
    let Train { cache, scratch, .. } = t;
    let pre = keeps_pre(c);
    cache.b.resize(trace_len(c, &p.input, p.batch, pre), 0.0);
    let scratch = runtime::grown(scratch, scratch_len(c, &p.input, p.batch));
    let trace = Trace {
        values: &mut cache.b,
        pre,
    };
    run(
        c,
        c.go_backwards,
        p.input,
        p.batch,
        p.weights,
        x,
        y,
        scratch,
        Some(trace),
    );
}

/// The runtime's `Bidirectional`, the traces of both directions kept in `cache.b`.
pub(crate) fn bidirectional_forward(
    c: &Bidirectional,
    p: &Step,
    x: &[f32],
    y: &mut [f32],
    t: Train,
) {
    let Train { cache, scratch, .. } = t;
    let pre = keeps_pre(&c.layer);
    cache
        .b
        .resize(2 * trace_len(&c.layer, &p.input, p.batch, pre), 0.0);
    let need = bidirectional_scratch_len(c, &p.input, &p.output, p.batch);
    let scratch = runtime::grown(scratch, need);
    let trace = Trace {
        values: &mut cache.b,
        pre,
    };
    bidirectional_traced(c, p, x, y, scratch, Some(trace));
}

pub(crate) fn backward(c: &Recurrent, p: &Step, g: Grad) -> Result<(), Error> {
    let Grad {
        x,
        dy,
        dx,
        grads,
        cache,
        scratch,
        ..
    } = g;
    let d = Direction {
        c,
        backwards: c.go_backwards,
        input: p.input,
        batch: p.batch,
        w: p.weights,
        trace: &cache.b,
    };
    let work = runtime::grown(scratch, Work::len(c, p.input.dim(0), p.batch));
    d.backward(x, dy, dx, false, grads, work)
}

/// Splits the merged output's gradient between the directions (each in the order its
/// steps ran), then goes back through each; the input's gradient is the sum of theirs.
pub(crate) fn bidirectional_backward(c: &Bidirectional, p: &Step, g: Grad) -> Result<(), Error> {
    let Grad {
        x,
        dy,
        mut dx,
        grads,
        cache,
        scratch,
        ..
    } = g;
    let l = &c.layer;
    let (steps, u, batch) = (p.input.dim(0), l.units, p.batch);
    let pre = keeps_pre(l);
    let len = trace_len(l, &p.input, batch, pre);
    if cache.b.len() != 2 * len || grads.len() != p.weights.len() {
        return Err(Error::new(
            "the Bidirectional backward pass needs its forward pass's trace".to_string(),
        ));
    }
    let (trace_f, trace_b) = cache.b.split_at(len);
    let seq = if l.return_sequences { steps } else { 1 };
    let per = step_len(l, batch, pre);
    // The state `h` of sample `b` after the step run `s`-th.
    let state = |trace: &[f32], s: usize, b: usize, j: usize| -> f32 {
        let at = s * per + batch * l.gates() * u + b * u + j;
        trace.get(at).copied().unwrap_or(0.0)
    };
    let n_dy = batch * seq * u;
    let buf = runtime::grown(scratch, 2 * n_dy + Work::len(l, steps, batch));
    let (dyf, rest) = buf.split_at_mut(n_dy);
    let (dyb, work) = rest.split_at_mut(n_dy);
    for b in 0..batch {
        for t in 0..seq {
            let m = b * seq + t;
            // The backward direction's output at `t` is the one it produced `seq - 1 - t`-th.
            let mb = b * seq + seq - 1 - t;
            let (sf, sb) = if l.return_sequences {
                (t, steps - 1 - t)
            } else {
                (steps.saturating_sub(1), steps.saturating_sub(1))
            };
            for j in 0..u {
                let (gf, gb) = match c.merge_mode {
                    MergeMode::Concat => (dy[m * 2 * u + j], dy[m * 2 * u + u + j]),
                    MergeMode::Sum => (dy[m * u + j], dy[m * u + j]),
                    MergeMode::Mul => {
                        let (hf, hb) = (state(trace_f, sf, b, j), state(trace_b, sb, b, j));
                        (dy[m * u + j] * hb, dy[m * u + j] * hf)
                    }
                    MergeMode::Ave => (0.5 * dy[m * u + j], 0.5 * dy[m * u + j]),
                };
                dyf[m * u + j] = gf;
                dyb[mb * u + j] = gb;
            }
        }
    }
    let n = p.weights.len() / 2;
    let (grads_f, grads_b) = grads.split_at_mut(n);
    let fwd = Direction {
        c: l,
        backwards: l.go_backwards,
        input: p.input,
        batch,
        w: &p.weights[..n],
        trace: trace_f,
    };
    fwd.backward(x, dyf, dx.as_deref_mut(), false, grads_f, work)?;
    let bwd = Direction {
        backwards: !l.go_backwards,
        w: &p.weights[n..],
        trace: trace_b,
        ..fwd
    };
    bwd.backward(x, dyb, dx, true, grads_b, work)
}

/// The backward pass's buffers for one direction, carved from the tape's scratch so that
/// no batch allocates.
struct Work<'s> {
    /// Gradients of the gates' pre-activations, the input's part: row `b·steps + t` for
    /// the input's step `t`.
    dxw: &'s mut [f32],
    /// Of the current step: gradients of the gates' values, and of their pre-activations
    /// (the recurrent part).
    dgates: &'s mut [f32],
    drec: &'s mut [f32],
    /// Gradients of the state `h` after the current step and before it (zeroed), of the
    /// LSTM's cell `c` (zeroed).
    dh: &'s mut [f32],
    dh_prev: &'s mut [f32],
    dc: &'s mut [f32],
    /// Per-unit temporaries: the LSTM's `a(c)`, the gradient of `a(c)` and of `c` through
    /// it; the `reset_after` GRU's candidate gradient, the input's part (in `t1`).
    t1: &'s mut [f32],
    t2: &'s mut [f32],
    t3: &'s mut [f32],
    /// The `reset_after` GRU's recurrent bias's gradient (zeroed).
    drb: &'s mut [f32],
    /// The state before the first step.
    zeros: &'s mut [f32],
}

impl<'s> Work<'s> {
    fn len(c: &Recurrent, steps: usize, batch: usize) -> usize {
        let width = c.gates() * c.units;
        batch * steps * width + 2 * batch * width + 7 * batch * c.units + width
    }

    fn new(buf: &'s mut [f32], c: &Recurrent, steps: usize, batch: usize) -> Work<'s> {
        let (width, bu) = (c.gates() * c.units, batch * c.units);
        let mut rest = buf;
        let mut take = |n: usize| {
            let (a, b) = std::mem::take(&mut rest).split_at_mut(n);
            rest = b;
            a
        };
        let w = Work {
            dxw: take(batch * steps * width),
            dgates: take(batch * width),
            drec: take(batch * width),
            dh: take(bu),
            dh_prev: take(bu),
            dc: take(bu),
            t1: take(bu),
            t2: take(bu),
            t3: take(bu),
            drb: take(width),
            zeros: take(bu),
        };
        w.dh.fill(0.0);
        w.dc.fill(0.0);
        w.drb.fill(0.0);
        w.zeros.fill(0.0);
        w
    }
}

/// One direction of a recurrent layer, after its forward pass left `trace`.
#[derive(Clone, Copy)]
struct Direction<'a> {
    c: &'a Recurrent,
    backwards: bool,
    input: Shape,
    batch: usize,
    w: &'a [Tensor],
    trace: &'a [f32],
}

impl Direction<'_> {
    /// From `dy` (in the layout of the direction's own output, steps in the order run):
    /// the weights' gradients into `grads` (overwritten), the input's into `dx` (added to
    /// it with `add_dx`). `work` holds [`Work::len`] values.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        add_dx: bool,
        grads: &mut [Vec<f32>],
        work: &mut [f32],
    ) -> Result<(), Error> {
        let c = self.c;
        let (steps, features, u, batch) =
            (self.input.dim(0), self.input.dim(1), c.units, self.batch);
        let width = c.gates() * u;
        let (bw, bu) = (batch * width, batch * u);
        let per = step_len(c, batch, keeps_pre(c));
        if self.trace.len() != steps * per
            || self.w.len() < 2
            || grads.len() != self.w.len()
            || dy.len() != batch * u * if c.return_sequences { steps } else { 1 }
            || work.len() < Work::len(c, steps, batch)
        {
            return Err(Error::new(
                "the recurrent backward pass got buffers of the wrong sizes".to_string(),
            ));
        }
        let (act, gate) = (c.activation, c.recurrent_activation);
        let (kernel, recurrent) = (&self.w[0].data, &self.w[1].data);
        let reset_after = c.cell == Cell::GRU && c.reset_after;
        let classic = c.cell == Cell::GRU && !c.reset_after;
        let Work {
            dxw,
            dgates,
            drec,
            mut dh,
            mut dh_prev,
            dc,
            t1,
            t2,
            t3,
            drb,
            zeros,
        } = Work::new(work, c, steps, batch);
        let du = &mut grads[1];
        du.clear();
        du.resize(u * width, 0.0);

        for s in (0..steps).rev() {
            let t = if self.backwards { steps - 1 - s } else { s };
            let cur = &self.trace[s * per..][..per];
            let (gates, h, aux) = (&cur[..bw], &cur[bw..bw + bu], &cur[bw + bu..bw + 2 * bu]);
            // Empty unless the trace keeps them.
            let pre = &cur[bw + 2 * bu..];
            let (h_prev, c_prev): (&[f32], &[f32]) = if s > 0 {
                let prev = &self.trace[(s - 1) * per..][..per];
                (&prev[bw..bw + bu], &prev[bw + bu..bw + 2 * bu])
            } else {
                (zeros, zeros)
            };
            // From the gradients of the gates' values in `cols` to their pre-activations'.
            let through = |a, cols: Range<usize>, dgates: &[f32], drec: &mut [f32]| {
                for row in (0..bw).step_by(width.max(1)) {
                    let at = row + cols.start..row + cols.end;
                    let z = pre.get(at.clone()).unwrap_or(&[]);
                    let y = &gates[at.clone()];
                    activation::backward(a, z, y, &dgates[at.clone()], &mut drec[at], u);
                }
            };
            if c.return_sequences {
                let row = |b: usize| &dy[(b * steps + s) * u..][..u];
                for b in 0..batch {
                    dh[b * u..][..u]
                        .iter_mut()
                        .zip(row(b))
                        .for_each(|(a, &g)| *a += g);
                }
            } else if s + 1 == steps {
                dh.iter_mut().zip(dy).for_each(|(a, &g)| *a += g);
            }
            // The gates' gradients, and the part of `dh_prev` that does not go through the
            // recurrent kernel.
            match c.cell {
                Cell::LSTM => {
                    // Through `h = o ⊙ a(c)`: `t1 = a(c)`, `t3` the gradient it adds to `c`.
                    t1.copy_from_slice(aux);
                    apply(act, t1, u);
                    for b in 0..batch {
                        let o = &gates[b * width + 3 * u..][..u];
                        for j in 0..u {
                            t2[b * u + j] = dh[b * u + j] * o[j];
                        }
                    }
                    activation::backward(act, aux, t1, t2, t3, u);
                    for b in 0..batch {
                        let g = &gates[b * width..][..width];
                        let dg = &mut dgates[b * width..][..width];
                        for j in 0..u {
                            let k = b * u + j;
                            let (i, f, gg) = (g[j], g[u + j], g[2 * u + j]);
                            let dck = dc[k] + t3[k];
                            dg[j] = dck * gg;
                            dg[u + j] = dck * c_prev[k];
                            dg[2 * u + j] = dck * i;
                            dg[3 * u + j] = dh[k] * t1[k];
                            dc[k] = dck * f;
                        }
                    }
                    through(gate, 0..2 * u, dgates, drec);
                    through(act, 2 * u..3 * u, dgates, drec);
                    through(gate, 3 * u..width, dgates, drec);
                }
                Cell::GRU => {
                    for b in 0..batch {
                        let g = &gates[b * width..][..width];
                        let dg = &mut dgates[b * width..][..width];
                        for j in 0..u {
                            let k = b * u + j;
                            let (z, hh) = (g[j], g[2 * u + j]);
                            dg[j] = dh[k] * (h_prev[k] - hh);
                            dg[2 * u + j] = dh[k] * (1.0 - z);
                            dh_prev[k] = dh[k] * z;
                        }
                    }
                    through(act, 2 * u..width, dgates, drec);
                    if reset_after {
                        // The input's part of the candidate (into `t1`) is not scaled by
                        // the reset gate; the recurrent part is.
                        for b in 0..batch {
                            let g = &gates[b * width..][..width];
                            let (dg, dr) = (&mut dgates[b * width..], &mut drec[b * width..]);
                            for j in 0..u {
                                let (k, dhh) = (b * u + j, dr[2 * u + j]);
                                dg[u + j] = dhh * aux[k];
                                t1[k] = dhh;
                                dr[2 * u + j] = dhh * g[u + j];
                            }
                        }
                    } else {
                        // d(r ⊙ h_prev) = dh̃_pre · U_hᵀ, into `dc` (free in a GRU).
                        matmul(
                            batch,
                            u,
                            u,
                            Mat {
                                data: &drec[2 * u..],
                                rs: width,
                                cs: 1,
                            },
                            Mat {
                                data: &recurrent[2 * u..],
                                rs: 1,
                                cs: width,
                            },
                            dc,
                            u,
                            false,
                        );
                        if s > 0 {
                            // dU_h += (r ⊙ h_prev)ᵀ · dh̃_pre
                            matmul(
                                u,
                                batch,
                                u,
                                Mat {
                                    data: aux,
                                    rs: 1,
                                    cs: u,
                                },
                                Mat {
                                    data: &drec[2 * u..],
                                    rs: width,
                                    cs: 1,
                                },
                                &mut du[2 * u..],
                                width,
                                true,
                            );
                        }
                        for b in 0..batch {
                            for j in 0..u {
                                let k = b * u + j;
                                let rr = gates[b * width + u + j];
                                dgates[b * width + u + j] = dc[k] * h_prev[k];
                                dh_prev[k] += dc[k] * rr;
                            }
                        }
                    }
                    through(gate, 0..2 * u, dgates, drec);
                }
                Cell::SimpleRNN => activation::backward(act, pre, h, dh, drec, u),
            }
            for b in 0..batch {
                let row = &mut dxw[(b * steps + t) * width..][..width];
                row.copy_from_slice(&drec[b * width..][..width]);
                if reset_after {
                    row[2 * u..].copy_from_slice(&t1[b * u..][..u]);
                }
            }
            if reset_after {
                for row in drec.chunks_exact(width.max(1)) {
                    drb.iter_mut().zip(row).for_each(|(a, &g)| *a += g);
                }
            }
            if s > 0 {
                // Through the recurrent kernel (the classic GRU's candidate went above).
                let cols = if classic { 2 * u } else { width };
                matmul(
                    u,
                    batch,
                    cols,
                    Mat {
                        data: h_prev,
                        rs: 1,
                        cs: u,
                    },
                    Mat::rows(drec, width),
                    du,
                    width,
                    true,
                );
                matmul(
                    batch,
                    cols,
                    u,
                    Mat::rows(drec, width),
                    Mat {
                        data: recurrent,
                        rs: 1,
                        cs: width,
                    },
                    dh_prev,
                    u,
                    c.cell == Cell::GRU,
                );
            }
            std::mem::swap(&mut dh, &mut dh_prev);
        }

        let rows = batch * steps;
        let dk = &mut grads[0];
        dk.resize(features * width, 0.0);
        matmul(
            features,
            rows,
            width,
            Mat {
                data: x,
                rs: 1,
                cs: features,
            },
            Mat::rows(dxw, width),
            dk,
            width,
            false,
        );
        if let Some(dx) = dx {
            matmul(
                rows,
                width,
                features,
                Mat::rows(dxw, width),
                Mat {
                    data: kernel,
                    rs: 1,
                    cs: width,
                },
                dx,
                features,
                add_dx,
            );
        }
        if c.use_bias && grads.len() > 2 {
            let db = &mut grads[2];
            column_sums(dxw, width, db);
            if reset_after {
                db.extend_from_slice(drb);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, layer};
    use crate::layer::{Kind, Layer};
    use crate::value::Value;

    /// A recurrent layer of `cell` with 3 units and these options.
    fn rnn(cell: Kind, extra: &[(&'static str, Value<'static>)]) -> Layer {
        let mut args = vec![("units", Value::Int(3))];
        args.extend_from_slice(extra);
        layer(cell, &args)
    }

    /// Every cell, both GRU forms, with and without `return_sequences` and `go_backwards`.
    fn recurrent_variants() -> Vec<Layer> {
        let mut all = Vec::new();
        for (cell, reset_after) in [
            (Kind::SimpleRNN, true),
            (Kind::LSTM, true),
            (Kind::GRU, true),
            (Kind::GRU, false),
        ] {
            for seq in [false, true] {
                for back in [false, true] {
                    let mut extra = vec![
                        ("return_sequences", Value::Bool(seq)),
                        ("go_backwards", Value::Bool(back)),
                    ];
                    if cell == Kind::GRU {
                        extra.push(("reset_after", Value::Bool(reset_after)));
                    }
                    all.push(rnn(cell, &extra));
                }
            }
        }
        all
    }

    #[test]
    fn recurrent_through_time() {
        for l in recurrent_variants() {
            check(l, &[4, 2], 2);
        }
        // Without biases, and other activations.
        for cell in [Kind::SimpleRNN, Kind::LSTM, Kind::GRU] {
            check(rnn(cell, &[("use_bias", Value::Bool(false))]), &[3, 2], 2);
        }
        check(
            rnn(
                Kind::LSTM,
                &[
                    ("activation", Value::Str("softsign")),
                    ("recurrent_activation", Value::Str("hard_sigmoid")),
                    ("return_sequences", Value::Bool(true)),
                ],
            ),
            &[5, 3],
            2,
        );
        check(
            rnn(Kind::SimpleRNN, &[("activation", Value::Str("relu"))]),
            &[5, 2],
            3,
        );
    }

    /// The activations whose derivative needs their input (the trace then keeps the gates'
    /// pre-activations) and softmax and log-softmax over the units, in every cell, as
    /// `activation` and as `recurrent_activation`.
    #[test]
    fn recurrent_activations_of_the_input_or_the_whole_row() {
        for a in [
            "gelu",
            "silu",
            "hard_silu",
            "mish",
            "softmax",
            "log_softmax",
        ] {
            for (cell, reset_after) in [
                (Kind::SimpleRNN, true),
                (Kind::LSTM, true),
                (Kind::GRU, true),
                (Kind::GRU, false),
            ] {
                let mut extra = vec![
                    ("activation", Value::Str(a)),
                    ("return_sequences", Value::Bool(true)),
                ];
                if cell == Kind::GRU {
                    extra.push(("reset_after", Value::Bool(reset_after)));
                }
                check(rnn(cell, &extra), &[4, 2], 2);
                if cell != Kind::SimpleRNN {
                    // Three steps: a gate outside [0, 1] (log-softmax) makes a GRU's state grow
                    // from step to step, and the rounding of the finite differences with it.
                    extra[0] = ("recurrent_activation", Value::Str(a));
                    check(rnn(cell, &extra), &[3, 2], 2);
                }
            }
        }
        for (cell, act, gate) in [
            (Kind::LSTM, "softmax", "silu"),
            (Kind::GRU, "gelu", "log_softmax"),
        ] {
            let inner = rnn(
                cell,
                &[
                    ("activation", Value::Str(act)),
                    ("recurrent_activation", Value::Str(gate)),
                    ("return_sequences", Value::Bool(true)),
                    ("go_backwards", Value::Bool(cell == Kind::GRU)),
                ],
            );
            let inner: &'static Layer = Box::leak(Box::new(inner));
            check(
                layer(
                    Kind::Bidirectional,
                    &[
                        ("layer", Value::Layer(inner)),
                        ("merge_mode", Value::Str("mul")),
                    ],
                ),
                &[3, 2],
                2,
            );
        }
    }

    #[test]
    fn bidirectional() {
        for (i, inner) in recurrent_variants().into_iter().enumerate() {
            let inner: &'static Layer = Box::leak(Box::new(inner));
            // Every merge mode with every combination of `return_sequences` and `go_backwards`.
            let mode = ["concat", "sum", "mul", "ave"][(i + i / 4) % 4];
            check(
                layer(
                    Kind::Bidirectional,
                    &[
                        ("layer", Value::Layer(inner)),
                        ("merge_mode", Value::Str(mode)),
                    ],
                ),
                &[4, 2],
                2,
            );
        }
    }
}
