//! `SimpleRNN`, `LSTM`, `GRU` and `Bidirectional` in ONNX's `RNN`, `LSTM` and `GRU`.
//!
//! - Keras's gates are reordered to ONNX's: an LSTM's `i, f, c, o` become `i, o, f, c`;
//!   a GRU's `z, r, h` are ONNX's order already. Kernels are transposed to `[gates · units,
//!   features]`; a bias is ONNX's `[Wb, Rb]`: a GRU with `reset_after` has both, every
//!   other cell only the input's (`Rb = 0`). `reset_after` is `linear_before_reset`.
//! - Each direction is one single-direction op on time-major steps; `go_backwards` (and
//!   `Bidirectional`'s backward layer) reads the steps reversed by a `Gather` (with ONNX's
//!   `direction = reverse` instead, tract 0.23 gave other results than Keras on eight
//!   corpus models), and, as Keras, returns the sequence in that order. `Bidirectional` puts its backward sequence back in time
//!   order before merging.
//! - ONNX's recurrent ops take only some activations (`Tanh`, `Sigmoid`, `Relu`,
//!   `Softsign` here); a cell with another (`gelu`, `softmax`, `silu`, …) is unrolled
//!   instead: its steps written out as Keras computes them, with the activations exact.

use super::{Bidirectional, Cell, MergeMode, Recurrent};
use crate::layer::Activation;
use crate::onnx::builder::{attr, Builder, Val, A};
use crate::onnx::{Call, Refusal};
use crate::runtime::Tensor;

fn onnx_activation(a: Activation) -> Result<&'static str, Refusal> {
    match a {
        Activation::Tanh => Ok("Tanh"),
        Activation::Sigmoid => Ok("Sigmoid"),
        Activation::Relu => Ok("Relu"),
        Activation::Softsign => Ok("Softsign"),
        other => Err(format!(
            "ONNX's recurrent ops have no `{}` activation (they take tanh, sigmoid, relu and softsign here)",
            other.name()
        )),
    }
}

/// Keras's gate `g` of ONNX's gate `i`.
fn keras_gate(cell: Cell, i: usize) -> usize {
    match cell {
        Cell::LSTM => [0, 3, 1, 2][i],
        Cell::GRU | Cell::SimpleRNN => i,
    }
}

/// Keras's `[rows, gates · units]` as ONNX's `[1, gates · units, rows]`, gates reordered.
fn gate_rows(c: &Recurrent, k: &Tensor) -> Vec<f32> {
    let (rows, u) = (k.shape[0], c.units);
    let width = c.gates() * u;
    let mut out = Vec::with_capacity(k.data.len());
    for g in 0..c.gates() {
        let kg = keras_gate(c.cell, g);
        for h in 0..u {
            let col = kg * u + h;
            out.extend((0..rows).map(|r| k.data[r * width + col]));
        }
    }
    out
}

/// ONNX's `B`, `[1, 2 · gates · units]`.
fn bias(c: &Recurrent, b: &Tensor) -> Vec<f32> {
    let (u, width) = (c.units, c.gates() * c.units);
    let reorder = |v: &[f32]| -> Vec<f32> {
        (0..c.gates())
            .flat_map(|g| {
                let kg = keras_gate(c.cell, g);
                v[kg * u..(kg + 1) * u].to_vec()
            })
            .collect()
    };
    let mut out = reorder(&b.data[..width]);
    if c.cell == Cell::GRU && c.reset_after {
        out.extend(reorder(&b.data[width..2 * width]));
    } else {
        out.extend(std::iter::repeat_n(0.0, width));
    }
    out
}

/// `[T, N, F]` with its steps in reverse order.
fn reversed(b: &mut Builder, x: &str, steps: usize) -> String {
    let idx: Vec<i64> = (0..steps as i64).rev().collect();
    let i = b.ints("reverse", &idx);
    b.node("Gather", &[x, &i], vec![attr("axis", A::I(0))])
}

/// One direction over time-major `x` (`[T, N, F]`), from the last step when `reverse`: the
/// output of every step in the order they were computed (`[T, N, H]`) and the last one
/// (`[N, H]`).
fn direction(
    c: &Recurrent,
    call: &mut Call,
    x: &str,
    weights: &[Tensor],
    tag: &str,
    reverse: bool,
) -> Result<(String, String), Refusal> {
    let steps = call.inputs[0].shape.dim(0);
    let (u, width) = (c.units, c.gates() * c.units);
    let features = weights[0].shape[0];
    let native = onnx_activation(c.activation).is_ok()
        && (c.cell == Cell::SimpleRNN || onnx_activation(c.recurrent_activation).is_ok());
    if !native {
        return Ok(unrolled(c, call, x, weights, tag, reverse));
    }
    let (op, activations) = match c.cell {
        Cell::SimpleRNN => ("RNN", vec![onnx_activation(c.activation)?]),
        Cell::LSTM => (
            "LSTM",
            vec![
                onnx_activation(c.recurrent_activation)?,
                onnx_activation(c.activation)?,
                onnx_activation(c.activation)?,
            ],
        ),
        Cell::GRU => (
            "GRU",
            vec![
                onnx_activation(c.recurrent_activation)?,
                onnx_activation(c.activation)?,
            ],
        ),
    };
    let w = call.weight(
        &format!("{tag}W"),
        &[1, width, features],
        &gate_rows(c, &weights[0]),
    );
    let r = call.weight(
        &format!("{tag}R"),
        &[1, width, u],
        &gate_rows(c, &weights[1]),
    );
    let mut ins = vec![String::new(), w, r];
    if c.use_bias {
        ins.push(call.weight(&format!("{tag}B"), &[1, 2 * width], &bias(c, &weights[2])));
    }
    let b = &mut *call.b;
    ins[0] = if reverse {
        reversed(b, x, steps)
    } else {
        x.to_string()
    };
    let mut attrs = vec![
        attr("hidden_size", A::I(u as i64)),
        attr("activations", A::Strs(&activations)),
    ];
    if c.cell == Cell::GRU {
        attrs.push(attr("linear_before_reset", A::I(c.reset_after as i64)));
    }
    let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
    // Y is [T, 1, N, H], Y_h [1, N, H]: the direction axis dropped, of the one asked for.
    let (seq, last) = if c.return_sequences {
        let outs = b.node_n(op, &ins, 1, attrs);
        let shape = b.ints("shape", &[steps as i64, -1, u as i64]);
        (
            b.node("Reshape", &[&outs[0], &shape], vec![]),
            String::new(),
        )
    } else {
        let outs = b.node_n(op, &ins, 2, attrs);
        let shape = b.ints("shape", &[-1, u as i64]);
        (
            String::new(),
            b.node("Reshape", &[&outs[1], &shape], vec![]),
        )
    };
    Ok((seq, last))
}

/// `[N, T, F]` as time-major `[T, N, F]`.
fn time_major(call: &mut Call) -> String {
    let x = call.b.channels_last(&call.x());
    call.b.transpose(&x.name, &[1, 0, 2])
}

pub(crate) fn recurrent(c: &Recurrent, call: &mut Call) -> Result<Val, Refusal> {
    let xt = time_major(call);
    let weights = call.weights;
    let (seq, last) = direction(c, call, &xt, weights, "", c.go_backwards)?;
    let out = if c.return_sequences {
        // Keras returns the steps in the order it computed them, as `direction` does.
        call.b.transpose(&seq, &[1, 0, 2])
    } else {
        last
    };
    Ok(Val::last(out, call.output))
}

pub(crate) fn bidirectional(c: &Bidirectional, call: &mut Call) -> Result<Val, Refusal> {
    let l = &c.layer;
    let xt = time_major(call);
    let weights = call.weights;
    let n = weights.len() / 2;
    let (fs, fl) = direction(l, call, &xt, &weights[..n], "forward/", l.go_backwards)?;
    let (bs, bl) = direction(l, call, &xt, &weights[n..], "backward/", !l.go_backwards)?;
    let steps = call.inputs[0].shape.dim(0);
    let b = &mut *call.b;
    // The forward direction's steps in the order it computed them, the backward one's
    // turned back to time order, as Keras does.
    let (f, bw) = if l.return_sequences {
        (fs, reversed(b, &bs, steps))
    } else {
        (fl, bl)
    };
    let mut out = match c.merge_mode {
        MergeMode::Concat => b.node("Concat", &[&f, &bw], vec![attr("axis", A::I(-1))]),
        MergeMode::Sum => b.node("Add", &[&f, &bw], vec![]),
        MergeMode::Mul => b.node("Mul", &[&f, &bw], vec![]),
        MergeMode::Ave => {
            let sum = b.node("Add", &[&f, &bw], vec![]);
            let half = b.scalar(0.5);
            b.node("Mul", &[&sum, &half], vec![])
        }
    };
    if l.return_sequences {
        out = b.transpose(&out, &[1, 0, 2]);
    }
    Ok(Val::last(out, call.output))
}

/// Keras's gate `g` of a `[rows, gates · units]` kernel: `[rows, units]`.
fn gate(k: &Tensor, g: usize, units: usize) -> Vec<f32> {
    let (rows, width) = (k.shape[0], k.shape[1]);
    (0..rows)
        .flat_map(|r| k.data[r * width + g * units..r * width + (g + 1) * units].to_vec())
        .collect()
}

/// [`direction`] written out step by step, Keras's cells term by term
/// (`keras/src/layers/rnn/`), for activations ONNX's recurrent ops do not have.
fn unrolled(
    c: &Recurrent,
    call: &mut Call,
    x: &str,
    weights: &[Tensor],
    tag: &str,
    reverse: bool,
) -> (String, String) {
    let steps = call.inputs[0].shape.dim(0);
    let (u, features) = (c.units, weights[0].shape[0]);
    let gates = c.gates();
    // Per gate: the input's projection of every step at once ([T, N, units], bias added),
    // and the recurrent kernel.
    let mut projected = Vec::new();
    let mut recurrent = Vec::new();
    let mut recurrent_bias = Vec::new();
    for g in 0..gates {
        let k = call.weight(
            &format!("{tag}kernel_{g}"),
            &[features, u],
            &gate(&weights[0], g, u),
        );
        let r = call.weight(
            &format!("{tag}recurrent_kernel_{g}"),
            &[u, u],
            &gate(&weights[1], g, u),
        );
        let mut p = call.b.node("MatMul", &[x, &k], vec![]);
        if c.use_bias {
            let b = &weights[2].data;
            let bias = call.weight(&format!("{tag}bias_{g}"), &[u], &b[g * u..(g + 1) * u]);
            p = call.b.node("Add", &[&p, &bias], vec![]);
            if c.cell == Cell::GRU && c.reset_after {
                let w = gates * u;
                let rb = &b[w + g * u..w + (g + 1) * u];
                recurrent_bias.push(Some(call.weight(
                    &format!("{tag}recurrent_bias_{g}"),
                    &[u],
                    rb,
                )));
            }
        }
        projected.push(p);
        recurrent.push(r);
    }
    let b = &mut *call.b;
    let act = |b: &mut Builder, v: &str, a: Activation| -> String {
        let val = Val::last(v.to_string(), crate::shape::Shape::new(&[u]));
        crate::layer::activation::onnx::apply(b, &val, a).name
    };
    // The state starts at zero: [N, units], from the input's batch.
    let zeros = b.floats("zeros", &[features, u], &vec![0.0; features * u]);
    let first = b.ints("step", &[0]);
    let x0 = b.node("Gather", &[x, &first], vec![attr("axis", A::I(0))]);
    let x0 = b.reshape_any(&x0, &[features]);
    let mut h = b.node("MatMul", &[&x0, &zeros], vec![]);
    let mut cell_state = h.clone();
    let mut outputs = Vec::new();
    for step in 0..steps {
        let t = if reverse { steps - 1 - step } else { step };
        let idx = b.ints("step", &[t as i64]);
        let at = |b: &mut Builder, p: &str| {
            let g = b.node("Gather", &[p, &idx], vec![attr("axis", A::I(0))]);
            b.reshape_any(&g, &[u])
        };
        let xs: Vec<String> = projected.iter().map(|p| at(b, p)).collect();
        let hr = |b: &mut Builder, h: &str, g: usize| b.node("MatMul", &[h, &recurrent[g]], vec![]);
        h = match c.cell {
            Cell::SimpleRNN => {
                let r = hr(b, &h, 0);
                let s = b.node("Add", &[&xs[0], &r], vec![]);
                act(b, &s, c.activation)
            }
            Cell::LSTM => {
                let mut pre = Vec::new();
                for (g, xg) in xs.iter().enumerate() {
                    let r = hr(b, &h, g);
                    pre.push(b.node("Add", &[xg, &r], vec![]));
                }
                let i = act(b, &pre[0], c.recurrent_activation);
                let f = act(b, &pre[1], c.recurrent_activation);
                let cc = act(b, &pre[2], c.activation);
                let o = act(b, &pre[3], c.recurrent_activation);
                let kept = b.node("Mul", &[&f, &cell_state], vec![]);
                let new = b.node("Mul", &[&i, &cc], vec![]);
                cell_state = b.node("Add", &[&kept, &new], vec![]);
                let a = act(b, &cell_state, c.activation);
                b.node("Mul", &[&o, &a], vec![])
            }
            Cell::GRU => {
                let rec = |b: &mut Builder, h: &str, g: usize| {
                    let r = hr(b, h, g);
                    match recurrent_bias.get(g) {
                        Some(Some(rb)) => b.node("Add", &[&r, rb], vec![]),
                        _ => r,
                    }
                };
                let rz = rec(b, &h, 0);
                let z_pre = b.node("Add", &[&xs[0], &rz], vec![]);
                let z = act(b, &z_pre, c.recurrent_activation);
                let rr = rec(b, &h, 1);
                let r_pre = b.node("Add", &[&xs[1], &rr], vec![]);
                let r = act(b, &r_pre, c.recurrent_activation);
                let inner = if c.reset_after {
                    let rh = rec(b, &h, 2);
                    b.node("Mul", &[&r, &rh], vec![])
                } else {
                    let gated = b.node("Mul", &[&r, &h], vec![]);
                    hr(b, &gated, 2)
                };
                let hh_pre = b.node("Add", &[&xs[2], &inner], vec![]);
                let hh = act(b, &hh_pre, c.activation);
                // z · h + (1 − z) · hh
                let one = b.scalar(1.0);
                let not_z = b.node("Sub", &[&one, &z], vec![]);
                let kept = b.node("Mul", &[&z, &h], vec![]);
                let new = b.node("Mul", &[&not_z, &hh], vec![]);
                b.node("Add", &[&kept, &new], vec![])
            }
        };
        outputs.push(h.clone());
    }
    if !c.return_sequences {
        return (String::new(), h);
    }
    let axes = b.ints("axes", &[0]);
    let each: Vec<String> = outputs
        .iter()
        .map(|o| b.node("Unsqueeze", &[o, &axes], vec![]))
        .collect();
    let refs: Vec<&str> = each.iter().map(String::as_str).collect();
    (
        b.node("Concat", &refs, vec![attr("axis", A::I(0))]),
        String::new(),
    )
}
