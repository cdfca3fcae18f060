//! Running a whole model: each layer on the previous layer's output, through two reusable
//! buffers.

use std::borrow::Borrow;

use super::{aligned, batch_len, check_model, eval_output, LayerWeights, RuntimeError};
use crate::layer::convolution::forward::{forward_pooled, fuses};
use crate::layer::ops::Step;
use crate::layer::{Config, Layer};
use crate::shape::Shape;

/// Buffers reused across calls of [`predict_into`]: two for the layers' outputs (each
/// layer reads one and writes the other) and one of scratch (im2col columns, recurrent
/// state), and a graph model's planned buffers. They grow to what the largest call needed
/// and never shrink, so after the first call with a given model and batch size nothing is
/// allocated.
#[derive(Debug, Default)]
pub struct Workspace {
    ping: Vec<f32>,
    pong: Vec<f32>,
    scratch: Vec<f32>,
    graph: crate::graph::GraphWorkspace,
}

impl Workspace {
    /// An empty workspace; it grows on first use.
    pub fn new() -> Workspace {
        Workspace::default()
    }

    /// The buffers of a graph model's forward pass (its plan's).
    pub fn graph(&mut self) -> &mut crate::graph::GraphWorkspace {
        &mut self.graph
    }
}

#[cfg(test)]
impl Workspace {
    pub(crate) fn ping_capacity(&self) -> usize {
        self.ping.capacity()
    }

    pub(crate) fn scratch_capacity(&self) -> usize {
        self.scratch.capacity()
    }
}

/// Where the current layer's input is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Buffer {
    Input,
    Ping,
    Pong,
}

/// The output shape of `layers` applied to `input` (without batch), as the evaluator gives
/// it, or the first layer that does not fit.
pub fn output_shape(layers: &[Layer], input: Shape) -> Result<Shape, RuntimeError> {
    let mut shape = input;
    for (i, layer) in layers.iter().enumerate() {
        shape = eval_output(layer, &shape).map_err(|e| e.at(i))?;
    }
    Ok(shape)
}

/// The number of input values, when `x` holds exactly `batch` samples of `input`.
fn check_input(input: Shape, x: &[f32], batch: usize) -> Result<usize, RuntimeError> {
    let n_in = batch_len(&input, batch)?;
    if x.len() != n_in {
        return Err(RuntimeError::new(format!(
            "the input must hold {batch} × {input} = {n_in} values, got {}",
            x.len()
        )));
    }
    Ok(n_in)
}

/// Runs `layers` on a batch: `x` holds `batch` inputs of shape `input`, `weights[i]` the
/// weights of layer `i` (see [`super::weight_specs`]); returns `batch` outputs.
///
/// Allocates its buffers on every call; keep a [`Workspace`] and use [`predict_into`] to run
/// a model repeatedly.
pub fn predict<W: Borrow<LayerWeights>>(
    layers: &[Layer],
    input: Shape,
    weights: &[W],
    x: &[f32],
    batch: usize,
) -> Result<Vec<f32>, RuntimeError> {
    check_input(input, x, batch)?;
    let out_shape = output_shape(layers, input)?;
    let mut out = vec![0.0; batch_len(&out_shape, batch)?];
    predict_into(
        layers,
        input,
        weights,
        x,
        batch,
        &mut out,
        &mut Workspace::new(),
    )?;
    Ok(out)
}

/// [`predict`] writing into `out` (`batch` outputs), with buffers from `workspace`.
///
/// Every length is checked: a wrong input or output length, or weights that do not fit
/// their layer, is a [`RuntimeError`] naming the layer, never a panic.
pub fn predict_into<W: Borrow<LayerWeights>>(
    layers: &[Layer],
    input: Shape,
    weights: &[W],
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    workspace: &mut Workspace,
) -> Result<(), RuntimeError> {
    // The input first: a batch that does not match it is refused before anything is sized.
    let n_in = check_input(input, x, batch)?;
    // Then the weights, and the sizes of the intermediate buffers and the scratch space.
    let (mut buffer, mut scratch) = (0, 0);
    let last = layers.len().saturating_sub(1);
    let shape = check_model(layers, input, weights, |i, shape, next| {
        if i < last {
            buffer = buffer.max(batch_len(next, batch)?);
        }
        let ops = layers[i].config.ops();
        scratch = scratch.max(ops.scratch_len(shape, next, batch));
        Ok(())
    })?;
    let n_out = batch_len(&shape, batch)?;
    if out.len() != n_out {
        return Err(RuntimeError::new(format!(
            "the output buffer must hold {batch} × {shape} = {n_out} values, got {}",
            out.len()
        )));
    }
    if layers.is_empty() {
        out.copy_from_slice(x);
        return Ok(());
    }
    let Workspace {
        ping,
        pong,
        scratch: scratch_buf,
        ..
    } = workspace;
    // Each starts on a cache line (see `aligned`), as the tile kernels' stores prefer. The
    // scratch grows here to the largest layer's need, so the layers' calls never move it.
    let ping = aligned(ping, buffer);
    let pong = aligned(pong, buffer);
    aligned(scratch_buf, scratch);
    let mut shape = input;
    let mut len = n_in;
    let mut current = Buffer::Input;
    // A layer the one before it has already computed (a pooling fused into its convolution).
    let mut done = None;
    for (i, layer) in layers.iter().enumerate() {
        let next = eval_output(layer, &shape).map_err(|e| e.at(i))?;
        if done == Some(i) {
            shape = next;
            continue;
        }
        let ops = layer.config.ops();
        if i != last && layer.reinterprets() {
            // Same values in the same order: the next layer reads them where they are.
            shape = next;
            continue;
        }
        // A convolution followed by a pooling that tiles its output: both at once, the
        // pooling's output written where it would have gone.
        let pooled = match (&layer.config, layers.get(i + 1).map(|l| &l.config)) {
            (Config::Conv(c), Some(Config::Pooling(p))) => {
                let pooled = eval_output(&layers[i + 1], &next).map_err(|e| e.at(i + 1))?;
                fuses(c, p, &shape, &next, &pooled, batch).then_some(pooled)
            }
            _ => None,
        };
        let writes = if pooled.is_some() { i + 1 } else { i };
        let next_len = batch_len(&next, batch).map_err(|e| e.at(i))?;
        let out_len = match pooled {
            Some(p) => batch_len(&p, batch).map_err(|e| e.at(i + 1))?,
            None => next_len,
        };
        let (src, dst): (&[f32], &mut [f32]) = match (current, writes == last) {
            (Buffer::Input, true) => (x, &mut *out),
            (Buffer::Input, false) => (x, &mut ping[..out_len]),
            (Buffer::Ping, true) => (&ping[..len], &mut *out),
            (Buffer::Ping, false) => (&ping[..len], &mut pong[..out_len]),
            (Buffer::Pong, true) => (&pong[..len], &mut *out),
            (Buffer::Pong, false) => (&pong[..len], &mut ping[..out_len]),
        };
        let s = Step {
            input: shape,
            output: next,
            batch,
            weights: &weights[i].borrow().tensors,
        };
        let need = ops.scratch_len(&shape, &next, batch);
        let scratch = aligned(scratch_buf, need);
        match (&layer.config, layers.get(i + 1).map(|l| &l.config), pooled) {
            (Config::Conv(c), Some(Config::Pooling(p)), Some(pooled)) => {
                if !forward_pooled(c, p, &s, &pooled, src, dst, scratch) {
                    // `fuses` said it would: a bug here, reported rather than ignored.
                    return Err(
                        RuntimeError::new("the fused convolution and pooling did not run").at(i),
                    );
                }
                done = Some(i + 1);
            }
            _ => ops.forward(&s, src, dst, scratch).map_err(|e| e.at(i))?,
        }
        len = out_len;
        current = if current == Buffer::Ping {
            Buffer::Pong
        } else {
            Buffer::Ping
        };
        shape = next;
    }
    Ok(())
}
