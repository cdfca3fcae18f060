//! A whole model run for training: the training forward pass of every layer, keeping what
//! its backward pass needs, then the backward pass from the gradient at the output to every
//! weight's. Each layer's passes are its family's (`Ops::train_forward`, `Ops::backward`);
//! wherever training and inference compute the same thing, a family's training forward pass
//! is its inference kernel, and only what is kept differs: a dense layer or convolution
//! whose activation's derivative needs its input keeps the pre-activation, a recurrent layer
//! every step's gates and states, dropout its mask, batch normalization its statistics.

use crate::error::Error;
use crate::layer::ops::{Cache, Grad, Step, Train};
use crate::layer::Layer;
use crate::runtime::{self, LayerWeights, Rng};
use crate::shape::Shape;

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
    ) -> Result<Tape, Error> {
        let mut shapes = vec![input];
        runtime::check_model(layers, input, weights, |_, _, next| {
            // Every layer's output of one sample must be addressable.
            runtime::batch_len(next, 1)?;
            shapes.push(*next);
            Ok(())
        })?;
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

    /// The training forward pass on `batch` samples `x`; returns the outputs. Batch
    /// normalization's moving statistics are updated in `weights`.
    pub fn forward(
        &mut self,
        layers: &[Layer],
        weights: &mut [LayerWeights],
        x: &[f32],
        batch: usize,
    ) -> Result<&[f32], Error> {
        let n_in = runtime::batch_len(&self.shapes[0], batch)?;
        if x.len() != n_in || layers.len() + 1 != self.shapes.len() || weights.len() != layers.len()
        {
            return Err(Error::new(format!(
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
            let s = Step {
                input: self.shapes[i],
                output: self.shapes[i + 1],
                batch,
                weights: &weights[i].tensors,
            };
            let t = Train {
                cache: &mut self.caches[i],
                rng: &mut self.rngs[i],
                scratch: &mut self.scratch,
            };
            let ops = layer.config.ops();
            ops.train_forward(&s, src, dst, t).map_err(|e| e.at(i))?;
            ops.update_statistics(&mut weights[i].tensors, &self.caches[i]);
        }
        Ok(&self.acts[layers.len()])
    }

    /// The outputs after [`Tape::forward`] on input `x` (`x` itself for a model without
    /// layers).
    pub fn output<'a>(&'a self, x: &'a [f32]) -> &'a [f32] {
        match self.acts.len() {
            0 | 1 => x,
            n => &self.acts[n - 1],
        }
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
    ) -> Result<(), Error> {
        let n = layers.len();
        if d_out.len() != self.acts[n].len() && n > 0 {
            return Err(Error::new(format!(
                "the output gradient holds {} values for {} outputs",
                d_out.len(),
                self.acts[n].len()
            )));
        }
        // The two gradient buffers only grow (each layer's gradients overwrite the values
        // they are handed), so that after the first step nothing is zeroed for nothing.
        runtime::grown(&mut self.dy, d_out.len()).copy_from_slice(d_out);
        let mut dy_len = d_out.len();
        for i in (0..n).rev() {
            let s = Step {
                input: self.shapes[i],
                output: self.shapes[i + 1],
                batch: self.batch,
                weights: &weights[i].tensors,
            };
            // The model's input needs no gradient.
            let want_dx = i > 0;
            let dx_len = if want_dx { s.in_len() } else { 0 };
            let g = Grad {
                x: if i == 0 { x } else { &self.acts[i] },
                y: &self.acts[i + 1],
                dy: &self.dy[..dy_len],
                dx: want_dx.then(|| runtime::grown(&mut self.dx, dx_len)),
                grads: &mut self.grads[i],
                cache: &self.caches[i],
                linear_output: linear_output && i + 1 == n,
                scratch: &mut self.scratch,
            };
            layers[i]
                .config
                .ops()
                .backward(&s, g)
                .map_err(|e| e.at(i))?;
            std::mem::swap(&mut self.dx, &mut self.dy);
            dy_len = dx_len;
        }
        Ok(())
    }
}
