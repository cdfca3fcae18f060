//! Backpropagation: every layer's forward pass in training mode, keeping what its backward
//! pass needs, and the backward pass itself, giving the gradient with respect to the
//! layer's input and to each of its weights (in the order and layout of
//! [`LayerWeights`]).
//!
//! One module per layer family, as in the runtime. Wherever training and inference compute
//! the same thing, the training forward pass is the runtime's own kernel
//! ([`runtime::run`]); what differs is only what is kept: a dense layer or convolution
//! whose activation's derivative needs its input keeps the pre-activation, a recurrent layer
//! every step's gates and states (and the gates' pre-activations on the same condition),
//! dropout keeps its mask, batch normalization its batch statistics.
//!
//! [`Tape`] runs a whole model this way: the activations of every layer, then the
//! gradients from the loss's back to the input.

mod activation;
mod convolution;
mod core;
mod normalization;
mod pooling;
mod recurrent;
mod regularization;
mod reshaping;

#[cfg(test)]
mod tests;

use crate::layer::{Activation, Config, Layer};
use crate::runtime::{self, LayerWeights, Rng, Step, Tensor};
use crate::shape::Shape;

use super::target::TrainError;

/// What a layer's training forward pass keeps for its backward pass; each family uses the
/// buffers as it needs (a pre-activation, a dropout mask, normalized values, statistics).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// Per-element values: a pre-activation, a mask, normalized inputs.
    pub a: Vec<f32>,
    /// Further values: per-feature statistics, recurrent states.
    pub b: Vec<f32>,
}

/// Everything a layer's passes need besides its data.
#[derive(Clone, Copy)]
pub(crate) struct Pass<'a> {
    pub layer: &'a Layer,
    pub input: Shape,
    pub output: Shape,
    pub batch: usize,
    pub weights: &'a [Tensor],
}

impl<'a> Pass<'a> {
    /// `scratch`, grown to the runtime's [`runtime::scratch_len`] for this call and cut to it.
    pub fn scratch<'s>(&self, scratch: &'s mut Vec<f32>) -> &'s mut [f32] {
        let need = runtime::scratch_len(self.layer, &self.input, &self.output, self.batch);
        runtime::grown(scratch, need)
    }

    /// The runtime's view of the same call.
    pub fn step(&self) -> Step<'a> {
        Step {
            input: self.input,
            output: self.output,
            batch: self.batch,
            weights: self.weights,
        }
    }

    pub fn in_len(&self) -> usize {
        self.batch * runtime::elements(&self.input)
    }
}

/// A layer kind whose backward pass is not written yet.
fn unsupported(layer: &Layer) -> TrainError {
    TrainError::new(format!(
        "training through `{}` is not supported yet (no backward pass)",
        layer.kind.class_name()
    ))
}

/// Whether `layer` can be trained through (it has a backward pass).
pub(crate) fn supported(layer: &Layer) -> bool {
    match &layer.config {
        Config::Conv(_) => convolution::supported(layer.kind),
        Config::TimeDistributed(inner) => supported(inner),
        _ => true,
    }
}

/// The output activation of `layer`, the one a loss may fold into its gradient.
pub(crate) fn output_activation(layer: &Layer) -> Activation {
    match layer.config {
        Config::Softmax(_) => Activation::Softmax,
        _ => layer.activation(),
    }
}

/// The training forward pass of one layer on checked buffers: `x` holds `batch` inputs,
/// `y` receives the outputs, `cache` what the backward pass needs. `rng` draws the noise
/// of dropout and `GaussianNoise`.
pub(crate) fn forward(
    p: &Pass,
    x: &[f32],
    y: &mut [f32],
    cache: &mut Cache,
    rng: &mut Rng,
    scratch: &mut Vec<f32>,
) -> Result<(), TrainError> {
    let layer = p.layer;
    match &layer.config {
        Config::Dense(c) => core::dense_forward(c, p, x, y, cache),
        Config::Conv(c) => {
            if !convolution::supported(layer.kind) {
                return Err(unsupported(layer));
            }
            convolution::forward(layer.kind, c, p, x, y, cache, scratch)
        }
        Config::Noise(c) => regularization::forward(layer.kind, c, p, x, y, cache, rng),
        Config::Normalization(c) => normalization::forward(c, p, x, y, cache),
        Config::Recurrent(c) => recurrent::forward(c, p, x, y, cache, scratch),
        Config::Bidirectional(c) => recurrent::bidirectional_forward(c, p, x, y, cache, scratch),
        Config::TimeDistributed(inner) => {
            let inner_pass = time_distributed_pass(inner, p)?;
            return forward(&inner_pass, x, y, cache, rng, scratch);
        }
        _ => {
            // The same computation as in inference: the runtime's kernel.
            runtime::run(layer, &p.step(), x, y, p.scratch(scratch))?;
        }
    }
    Ok(())
}

/// The backward pass of one layer: from `dy` (the gradient of the loss with respect to its
/// outputs `y`, which came from inputs `x`), writes the gradient with respect to `x` into
/// `dx` (when asked) and with respect to each trainable weight into `grads` (one buffer
/// per weight, resized as needed; a non-trainable weight's stays empty).
///
/// With `linear_output`, the layer's output activation is left out: `dy` is already the
/// gradient with respect to its input (the loss folded it in).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    p: &Pass,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    grads: &mut [Vec<f32>],
    cache: &Cache,
    linear_output: bool,
    scratch: &mut Vec<f32>,
) -> Result<(), TrainError> {
    let layer = p.layer;
    match &layer.config {
        Config::Dense(c) => {
            core::dense_backward(c, p, x, y, dy, dx, grads, cache, linear_output, scratch)
        }
        Config::Embedding(c) => core::embedding_backward(c, p, x, dy, grads),
        Config::Flatten | Config::Reshape(_) => {
            if let Some(dx) = dx {
                dx.copy_from_slice(dy);
            }
        }
        Config::Permute(c) => core::permute_backward(c, p, dy, dx),
        Config::RepeatVector(c) => core::repeat_backward(c, p, dy, dx),
        Config::Noise(_) => regularization::backward(layer.kind, dy, dx, cache),
        Config::Activation(a) => {
            let a = if linear_output {
                Activation::Linear
            } else {
                *a
            };
            if let Some(dx) = dx {
                activation::backward(a, x, y, dy, dx, p.input.last());
            }
        }
        Config::Softmax(_) => {
            let a = if linear_output {
                Activation::Linear
            } else {
                Activation::Softmax
            };
            if let Some(dx) = dx {
                activation::backward(a, x, y, dy, dx, p.input.last());
            }
        }
        Config::ReLU(c) => activation::relu_backward(c, x, dy, dx),
        Config::LeakyReLU(c) => activation::leaky_backward(c.negative_slope, x, dy, dx),
        Config::ELU(c) => activation::elu_backward(c.alpha as f32, x, y, dy, dx),
        Config::PReLU(c) => activation::prelu_backward(c, p, x, dy, dx, grads),
        Config::Conv(c) => convolution::backward(
            layer.kind,
            c,
            p,
            x,
            y,
            dy,
            dx,
            grads,
            cache,
            linear_output,
            scratch,
        ),
        Config::Pooling(c) => pooling::backward(layer.kind, c, p, x, y, dy, dx),
        Config::GlobalPooling(_) => pooling::global_backward(layer.kind, p, x, y, dy, dx),
        Config::Pads(c) => reshaping::pads_backward(layer.kind, c, p, dy, dx),
        Config::UpSampling(c) => reshaping::upsampling_backward(layer.kind, c, p, dy, dx),
        Config::Normalization(c) => normalization::backward(c, p, dy, dx, grads, cache),
        Config::Recurrent(c) => return recurrent::backward(c, p, x, dy, dx, grads, cache, scratch),
        Config::Bidirectional(c) => {
            return recurrent::bidirectional_backward(c, p, x, dy, dx, grads, cache, scratch)
        }
        Config::TimeDistributed(inner) => {
            let inner_pass = time_distributed_pass(inner, p)?;
            return backward(
                &inner_pass,
                x,
                y,
                dy,
                dx,
                grads,
                cache,
                linear_output,
                scratch,
            );
        }
    }
    Ok(())
}

/// The wrapped layer of a `TimeDistributed`, on a batch `steps` times larger.
fn time_distributed_pass<'a>(inner: &'a Layer, p: &Pass<'a>) -> Result<Pass<'a>, TrainError> {
    let input = p.input.tail();
    Ok(Pass {
        layer: inner,
        input,
        output: runtime::eval_output(inner, &input)?,
        batch: p.batch * p.input.dim(0),
        weights: p.weights,
    })
}

/// After a training forward pass: moves batch normalization's moving statistics towards
/// the batch's (`moving = moving·momentum + batch·(1 − momentum)`, as Keras).
pub(crate) fn update_statistics(layer: &Layer, weights: &mut [Tensor], cache: &Cache) {
    match &layer.config {
        Config::Normalization(c) if c.batch => normalization::update_moving(c, weights, cache),
        Config::TimeDistributed(inner) => update_statistics(inner, weights, cache),
        _ => {}
    }
}

/// The sizes of `layer`'s weight gradients on `input`: one per weight, 0 for a
/// non-trainable one.
pub(crate) fn grad_sizes(layer: &Layer, input: &Shape) -> Vec<usize> {
    runtime::weight_specs(layer, input)
        .iter()
        .map(|s| {
            if s.trainable {
                s.shape.iter().product()
            } else {
                0
            }
        })
        .collect()
}

/// Checks that `weights` are those of `layers` on `input`: count, and each tensor's shape.
pub(crate) fn check_model(
    layers: &[Layer],
    input: Shape,
    weights: &[LayerWeights],
) -> Result<Vec<Shape>, TrainError> {
    if !input.is_known() {
        return Err(TrainError::new(format!(
            "the input shape {input} has an unknown dimension"
        )));
    }
    if weights.len() != layers.len() {
        return Err(TrainError::new(format!(
            "the model has {} layers but {} sets of weights were given (one per layer, empty for layers without weights)",
            layers.len(),
            weights.len()
        )));
    }
    let mut shapes = vec![input];
    for (i, (layer, w)) in layers.iter().zip(weights).enumerate() {
        let shape = *shapes.last().unwrap_or(&input);
        let specs = runtime::weight_specs(layer, &shape);
        let next = runtime::eval_output(layer, &shape).map_err(|e| e.at(i))?;
        let same = specs.len() == w.tensors.len()
            && specs.iter().zip(&w.tensors).all(|(s, t)| {
                s.shape == t.shape && t.data.len() == t.shape.iter().product::<usize>()
            });
        if !same {
            let want: Vec<String> = specs
                .iter()
                .map(|s| format!("{} {:?}", s.name, s.shape))
                .collect();
            let got: Vec<Vec<usize>> = w.tensors.iter().map(|t| t.shape.clone()).collect();
            return Err(TrainError::new(format!(
                "layer {i} (`{}`) on input {shape} needs weights [{}], got shapes {got:?}",
                layer.kind.class_name(),
                want.join(", ")
            )));
        }
        if !supported(layer) {
            return Err(TrainError::new(format!(
                "layer {i}: {}",
                unsupported(layer)
            )));
        }
        shapes.push(next);
    }
    Ok(shapes)
}

/// A whole model run for training: the training forward pass keeping every layer's
/// output, then the backward pass from the gradient at the output to every weight's.
/// Its buffers are reused from batch to batch.
pub(crate) struct Tape {
    /// `shapes[i]` is layer `i`'s input shape, `shapes[n]` the output's.
    shapes: Vec<Shape>,
    /// `acts[i + 1]` is layer `i`'s output for the current batch (`acts[0]` is unused:
    /// the input is borrowed).
    acts: Vec<Vec<f32>>,
    caches: Vec<Cache>,
    /// One noise stream per layer.
    rngs: Vec<Rng>,
    /// `grads[i][j]`: the gradient of layer `i`'s weight `j` (empty if not trainable).
    pub grads: Vec<Vec<Vec<f32>>>,
    dy: Vec<f32>,
    dx: Vec<f32>,
    scratch: Vec<f32>,
    batch: usize,
}

impl Tape {
    /// A tape for `layers` on `input` with these weights (checked); `seed` seeds the noise.
    pub fn new(
        layers: &[Layer],
        input: Shape,
        weights: &[LayerWeights],
        seed: u64,
    ) -> Result<Tape, TrainError> {
        let shapes = check_model(layers, input, weights)?;
        let n = layers.len();
        let grads = layers
            .iter()
            .zip(&shapes)
            .map(|(l, s)| grad_sizes(l, s).into_iter().map(|k| vec![0.0; k]).collect())
            .collect();
        let rngs = (0..n)
            .map(|i| {
                let mut r =
                    Rng(seed ^ 0x5EED_0000_0000_0000 ^ (i as u64).wrapping_mul(0x9E37_79B9));
                r.next_u64();
                r
            })
            .collect();
        Ok(Tape {
            shapes,
            acts: (0..=n).map(|_| Vec::new()).collect(),
            caches: (0..n).map(|_| Cache::default()).collect(),
            rngs,
            grads,
            dy: Vec::new(),
            dx: Vec::new(),
            scratch: Vec::new(),
            batch: 0,
        })
    }

    /// The output shape, without batch.
    pub fn output_shape(&self) -> Shape {
        self.shapes[self.shapes.len() - 1]
    }

    /// The training forward pass on `batch` samples `x`; returns the outputs. Batch
    /// normalization's moving statistics are updated in `weights`.
    pub fn forward(
        &mut self,
        layers: &[Layer],
        weights: &mut [LayerWeights],
        x: &[f32],
        batch: usize,
    ) -> Result<&[f32], TrainError> {
        let n_in = runtime::batch_len(&self.shapes[0], batch)?;
        if x.len() != n_in || layers.len() + 1 != self.shapes.len() || weights.len() != layers.len()
        {
            return Err(TrainError::new(format!(
                "the input must hold {batch} × {} = {n_in} values, got {}",
                self.shapes[0],
                x.len()
            )));
        }
        self.batch = batch;
        for (i, layer) in layers.iter().enumerate() {
            let len = runtime::batch_len(&self.shapes[i + 1], batch)?;
            let (before, after) = self.acts.split_at_mut(i + 1);
            let src: &[f32] = if i == 0 { x } else { &before[i] };
            let dst = &mut after[0];
            dst.resize(len, 0.0);
            let p = Pass {
                layer,
                input: self.shapes[i],
                output: self.shapes[i + 1],
                batch,
                weights: &weights[i].tensors,
            };
            forward(
                &p,
                src,
                dst,
                &mut self.caches[i],
                &mut self.rngs[i],
                &mut self.scratch,
            )
            .map_err(|e| e.at(i))?;
            update_statistics(layer, &mut weights[i].tensors, &self.caches[i]);
        }
        Ok(&self.acts[layers.len()])
    }

    /// The backward pass after [`Tape::forward`] on input `x`: `d_out` is the gradient
    /// with respect to the outputs (or, with `linear_output`, with respect to the last
    /// layer's input to its output activation). Fills [`Tape::grads`].
    pub fn backward(
        &mut self,
        layers: &[Layer],
        weights: &[LayerWeights],
        x: &[f32],
        d_out: &[f32],
        linear_output: bool,
    ) -> Result<(), TrainError> {
        let n = layers.len();
        if d_out.len() != self.acts[n].len() && n > 0 {
            return Err(TrainError::new(format!(
                "the output gradient holds {} values for {} outputs",
                d_out.len(),
                self.acts[n].len()
            )));
        }
        self.dy.clear();
        self.dy.extend_from_slice(d_out);
        for i in (0..n).rev() {
            let p = Pass {
                layer: &layers[i],
                input: self.shapes[i],
                output: self.shapes[i + 1],
                batch: self.batch,
                weights: &weights[i].tensors,
            };
            // The model's input needs no gradient.
            let want_dx = i > 0;
            if want_dx {
                self.dx.resize(p.in_len(), 0.0);
            }
            let xs: &[f32] = if i == 0 { x } else { &self.acts[i] };
            backward(
                &p,
                xs,
                &self.acts[i + 1],
                &self.dy,
                want_dx.then_some(&mut self.dx[..]),
                &mut self.grads[i],
                &self.caches[i],
                linear_output && i + 1 == n,
                &mut self.scratch,
            )
            .map_err(|e| e.at(i))?;
            std::mem::swap(&mut self.dx, &mut self.dy);
        }
        Ok(())
    }
}
