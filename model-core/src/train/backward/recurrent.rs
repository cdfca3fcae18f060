//! Recurrent layers through time (BPTT): `SimpleRNN`, `LSTM`, `GRU` (both `reset_after`
//! forms) and `Bidirectional`.
//!
//! The training forward pass is the runtime's, asked for its trace: every step's gate
//! values (after their activations) and states. The backward pass walks the steps in the
//! reverse of the order they ran, carrying the gradient of the state `h` (and of the
//! LSTM's cell `c`), and collects the gradients of the gates' pre-activations: the input's
//! part, one row per step, gives the kernel's and the input's gradients in two products at
//! the end; the recurrent part gives the recurrent kernel's gradient and the previous
//! state's, step by step.
//!
//! The activations' derivatives are read from their outputs, so activations whose
//! derivative needs the input (`gelu`, `silu`, …) or is not element-wise (softmax) are not
//! supported in a recurrent cell.

use super::activation::from_output;
use super::core::column_sums;
use super::{Cache, Pass};
use crate::layer::{Bidirectional, Kind, MergeMode, Recurrent};
use crate::runtime::activation::scalar_fn;
use crate::runtime::kernels::{matmul, Mat};
use crate::runtime::recurrent::{bidirectional_traced, run, trace_len};
use crate::runtime::{self, Tensor};
use crate::shape::Shape;

use crate::train::target::TrainError;

/// Whether the cell's activations have derivatives readable from their outputs.
pub(crate) fn supported(c: &Recurrent) -> bool {
    from_output(c.activation).is_some() && from_output(c.recurrent_activation).is_some()
}

/// Why a cell is not [`supported`].
pub(crate) fn refused(kind: Kind, c: &Recurrent) -> TrainError {
    TrainError::new(format!(
        "training through `{}` with activation `{}` and recurrent_activation `{}` is not supported: the backward pass reads each derivative from the activation's output, which `gelu`, `silu`, `hard_silu`, `mish`, `softmax` and `log_softmax` do not allow (use `tanh`, `sigmoid`, `relu`, …)",
        kind.class_name(),
        c.activation.name(),
        c.recurrent_activation.name()
    ))
}

fn scratch_for<'s>(p: &Pass, scratch: &'s mut Vec<f32>) -> &'s mut [f32] {
    let need = runtime::scratch_len(p.layer, &p.input, &p.output, p.batch);
    if scratch.len() < need {
        scratch.resize(need, 0.0);
    }
    &mut scratch[..need]
}

/// The runtime's recurrent layer, its trace kept in `cache.b`.
pub(crate) fn forward(
    c: &Recurrent,
    p: &Pass,
    x: &[f32],
    y: &mut [f32],
    cache: &mut Cache,
    scratch: &mut Vec<f32>,
) {
    cache.b.resize(trace_len(c, &p.input, p.batch), 0.0);
    let scratch = scratch_for(p, scratch);
    run(
        c,
        c.go_backwards,
        p.input,
        p.batch,
        p.weights,
        x,
        y,
        scratch,
        Some(&mut cache.b),
    );
}

/// The runtime's `Bidirectional`, the traces of both directions kept in `cache.b`.
pub(crate) fn bidirectional_forward(
    c: &Bidirectional,
    p: &Pass,
    x: &[f32],
    y: &mut [f32],
    cache: &mut Cache,
    scratch: &mut Vec<f32>,
) {
    cache
        .b
        .resize(2 * trace_len(&c.layer, &p.input, p.batch), 0.0);
    let s = p.step();
    let scratch = scratch_for(p, scratch);
    bidirectional_traced(c, &s, x, y, scratch, Some(&mut cache.b));
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    c: &Recurrent,
    p: &Pass,
    x: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    grads: &mut [Vec<f32>],
    cache: &Cache,
) -> Result<(), TrainError> {
    let d = Direction {
        c,
        backwards: c.go_backwards,
        input: p.input,
        batch: p.batch,
        w: p.weights,
        trace: &cache.b,
    };
    d.backward(x, dy, dx, false, grads)
}

/// Splits the merged output's gradient between the directions (each in the order its
/// steps ran), then goes back through each; the input's gradient is the sum of theirs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bidirectional_backward(
    c: &Bidirectional,
    p: &Pass,
    x: &[f32],
    dy: &[f32],
    mut dx: Option<&mut [f32]>,
    grads: &mut [Vec<f32>],
    cache: &Cache,
) -> Result<(), TrainError> {
    let l = &c.layer;
    let (steps, u, batch) = (p.input.dim(0), l.units, p.batch);
    let len = trace_len(l, &p.input, batch);
    if cache.b.len() != 2 * len || grads.len() != p.weights.len() {
        return Err(TrainError::new(
            "the Bidirectional backward pass needs its forward pass's trace".to_string(),
        ));
    }
    let (trace_f, trace_b) = cache.b.split_at(len);
    let seq = if l.return_sequences { steps } else { 1 };
    let per = batch * (l.gates() + 2) * u;
    // The state `h` of sample `b` after the step run `s`-th.
    let state = |trace: &[f32], s: usize, b: usize, j: usize| -> f32 {
        let at = s * per + batch * l.gates() * u + b * u + j;
        trace.get(at).copied().unwrap_or(0.0)
    };
    let mut dyf = vec![0f32; batch * seq * u];
    let mut dyb = vec![0f32; batch * seq * u];
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
                    _ => (0.5 * dy[m * u + j], 0.5 * dy[m * u + j]),
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
    fwd.backward(x, &dyf, dx.as_deref_mut(), false, grads_f)?;
    let bwd = Direction {
        backwards: !l.go_backwards,
        w: &p.weights[n..],
        trace: trace_b,
        ..fwd
    };
    bwd.backward(x, &dyb, dx, true, grads_b)
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
    /// it with `add_dx`).
    fn backward(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        add_dx: bool,
        grads: &mut [Vec<f32>],
    ) -> Result<(), TrainError> {
        let c = self.c;
        let (steps, features, u, batch) =
            (self.input.dim(0), self.input.dim(1), c.units, self.batch);
        let width = c.gates() * u;
        let (bw, bu) = (batch * width, batch * u);
        let per = bw + 2 * bu;
        let (Some(dact), Some(dgate)) = (
            from_output(c.activation),
            from_output(c.recurrent_activation),
        ) else {
            return Err(refused(c.cell, c));
        };
        if self.trace.len() != steps * per
            || self.w.len() < 2
            || grads.len() != self.w.len()
            || dy.len() != batch * u * if c.return_sequences { steps } else { 1 }
        {
            return Err(TrainError::new(
                "the recurrent backward pass got buffers of the wrong sizes".to_string(),
            ));
        }
        let act = scalar_fn(c.activation);
        let (kernel, recurrent) = (&self.w[0].data, &self.w[1].data);
        let reset_after = c.cell == Kind::GRU && c.reset_after;
        let classic = c.cell == Kind::GRU && !c.reset_after;

        // Gradients of the gates' pre-activations: the input's part, row `b·steps + t`
        // for the input's step `t`; the recurrent part of the current step.
        let mut dxw = vec![0f32; batch * steps * width];
        let mut drec = vec![0f32; bw];
        let mut dh = vec![0f32; bu];
        let mut dh_prev = vec![0f32; bu];
        let mut dc = vec![0f32; bu];
        let mut tmp = vec![0f32; bu];
        let mut drb = vec![0f32; if reset_after { width } else { 0 }];
        let zeros = vec![0f32; per];
        let du = &mut grads[1];
        du.clear();
        du.resize(u * width, 0.0);

        for s in (0..steps).rev() {
            let t = if self.backwards { steps - 1 - s } else { s };
            let cur = &self.trace[s * per..][..per];
            let prev = if s > 0 {
                &self.trace[(s - 1) * per..][..per]
            } else {
                &zeros[..]
            };
            let (gates, h, aux) = (&cur[..bw], &cur[bw..bw + bu], &cur[bw + bu..]);
            let (h_prev, c_prev) = (&prev[bw..bw + bu], &prev[bw + bu..]);
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
            // Element-wise: the gates' gradients, and the part of `dh_prev` that does
            // not go through the recurrent kernel.
            for b in 0..batch {
                let g = &gates[b * width..][..width];
                let dr = &mut drec[b * width..][..width];
                let (dhb, hp) = (&dh[b * u..][..u], &h_prev[b * u..][..u]);
                let dhp = &mut dh_prev[b * u..][..u];
                let tb = &mut tmp[b * u..][..u];
                match c.cell {
                    Kind::LSTM => {
                        let (cb, cp) = (&aux[b * u..][..u], &c_prev[b * u..][..u]);
                        let dcb = &mut dc[b * u..][..u];
                        for j in 0..u {
                            let (i, f, gg, o) = (g[j], g[u + j], g[2 * u + j], g[3 * u + j]);
                            let tc = act(cb[j]);
                            let dcj = dcb[j] + dhb[j] * o * dact(tc);
                            dr[j] = dcj * gg * dgate(i);
                            dr[u + j] = dcj * cp[j] * dgate(f);
                            dr[2 * u + j] = dcj * i * dact(gg);
                            dr[3 * u + j] = dhb[j] * tc * dgate(o);
                            dcb[j] = dcj * f;
                        }
                    }
                    Kind::GRU => {
                        for j in 0..u {
                            let (z, rr, hh) = (g[j], g[u + j], g[2 * u + j]);
                            let dhh = dhb[j] * (1.0 - z) * dact(hh);
                            dr[j] = dhb[j] * (hp[j] - hh) * dgate(z);
                            dhp[j] = dhb[j] * z;
                            tb[j] = dhh;
                            if reset_after {
                                let rec_h = aux[b * u + j];
                                dr[u + j] = dhh * rec_h * dgate(rr);
                                dr[2 * u + j] = dhh * rr;
                            } else {
                                // The reset gate's, once `d(r ⊙ h)` is known (below).
                                dr[2 * u + j] = dhh;
                            }
                        }
                    }
                    _ => {
                        let hb = &h[b * u..][..u];
                        for j in 0..u {
                            dr[j] = dhb[j] * dact(hb[j]);
                        }
                    }
                }
            }
            if classic {
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
                    &mut dc,
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
                        drec[b * width + u + j] = dc[k] * h_prev[k] * dgate(rr);
                        dh_prev[k] += dc[k] * rr;
                    }
                }
            }
            for b in 0..batch {
                let row = &mut dxw[(b * steps + t) * width..][..width];
                row.copy_from_slice(&drec[b * width..][..width]);
                if reset_after {
                    // The input's part of the candidate is not scaled by the reset gate.
                    row[2 * u..].copy_from_slice(&tmp[b * u..][..u]);
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
                    Mat::rows(&drec, width),
                    du,
                    width,
                    true,
                );
                matmul(
                    batch,
                    cols,
                    u,
                    Mat::rows(&drec, width),
                    Mat {
                        data: recurrent,
                        rs: 1,
                        cs: width,
                    },
                    &mut dh_prev,
                    u,
                    c.cell == Kind::GRU,
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
            Mat::rows(&dxw, width),
            dk,
            width,
            false,
        );
        if let Some(dx) = dx {
            matmul(
                rows,
                width,
                features,
                Mat::rows(&dxw, width),
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
            column_sums(&dxw, width, db);
            db.extend_from_slice(&drb);
        }
        Ok(())
    }
}
