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
//!   `Softsign` here); a cell with another is refused, naming it.

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
