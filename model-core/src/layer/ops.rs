//! What every layer family provides at run time: the [`Ops`] trait, and what its methods
//! are handed. [`Config::ops`](super::Config::ops) is the one dispatch from a layer's
//! configuration to its family's `Ops`.

use crate::error::Error;
use crate::layer::Activation;
use crate::runtime::{self, Rng, Specs, Tensor};
use crate::shape::Shape;

/// Everything a layer's passes need besides its data.
#[derive(Clone, Copy)]
pub(crate) struct Step<'a> {
    /// The input shape, without batch.
    pub input: Shape,
    /// The output shape, without batch (from `Layer::eval`).
    pub output: Shape,
    /// Samples in the batch.
    pub batch: usize,
    /// The layer's weights, already checked against its specs.
    pub weights: &'a [Tensor],
}

impl Step<'_> {
    /// The number of input values.
    pub fn in_len(&self) -> usize {
        self.batch * runtime::elements(&self.input)
    }
}

/// What a layer's training forward pass keeps for its backward pass; each family uses the
/// buffers as it needs (a pre-activation, a dropout mask, normalized values, statistics).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// Per-element values: a pre-activation, a mask, normalized inputs.
    pub a: Vec<f32>,
    /// Further values: per-feature statistics, recurrent states.
    pub b: Vec<f32>,
}

/// What a training forward pass writes besides its output.
pub(crate) struct Train<'a> {
    /// What the backward pass will need.
    pub cache: &'a mut Cache,
    /// The noise of dropout and `GaussianNoise`.
    pub rng: &'a mut Rng,
    /// Scratch space, grown as needed.
    pub scratch: &'a mut Vec<f32>,
}

/// What a backward pass reads and writes: from `dy`, the gradient of the loss with respect
/// to the outputs `y` (which came from the inputs `x`), the gradient with respect to `x`
/// into `dx` (when asked) and with respect to each trainable weight into `grads` (one
/// buffer per weight, resized as needed; a non-trainable weight's stays empty).
pub(crate) struct Grad<'a> {
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub dy: &'a [f32],
    pub dx: Option<&'a mut [f32]>,
    pub grads: &'a mut [Vec<f32>],
    /// What the training forward pass kept.
    pub cache: &'a Cache,
    /// The layer's output activation is left out: `dy` is already the gradient with
    /// respect to its input (the loss folded it in).
    pub linear_output: bool,
    /// Scratch space, grown as needed.
    pub scratch: &'a mut Vec<f32>,
}

impl Grad<'_> {
    /// The activation to differentiate through: `a`, or the identity when the loss has
    /// folded the output activation into `dy`.
    pub fn through(&self, a: Activation) -> Activation {
        if self.linear_output {
            Activation::Linear
        } else {
            a
        }
    }
}

/// A layer family's run-time operations, implemented by each configuration type. There
/// are no default methods: a family that leaves one out does not compile.
pub(crate) trait Ops {
    /// The layer's weights on `input`, in Keras's order and layout, pushed onto `specs`.
    fn weights(&self, input: &Shape, specs: &mut Specs);

    /// The scratch space (in `f32`s) [`Ops::forward`] needs for `batch` samples.
    fn scratch_len(&self, input: &Shape, output: &Shape, batch: usize) -> usize;

    /// Inference on checked buffers and weights, `scratch` holding
    /// [`Ops::scratch_len`] values.
    fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32])
        -> Result<(), Error>;

    /// The training forward pass: the same output as inference but for the noise of
    /// dropout (and batch statistics), keeping in `t.cache` what [`Ops::backward`] needs.
    fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error>;

    /// The gradients (see [`Grad`]), after [`Ops::train_forward`] on the same batch.
    fn backward(&self, s: &Step, g: Grad) -> Result<(), Error>;

    /// After a training forward pass: non-trainable weights that follow the batches
    /// (batch normalization's moving statistics).
    fn update_statistics(&self, weights: &mut [Tensor], cache: &Cache);
}

/// The training forward pass of a layer that computes what it computes in inference and
/// keeps nothing: its own forward, with its scratch.
pub(crate) fn forward_only<O: Ops + ?Sized>(
    ops: &O,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
    t: Train,
) -> Result<(), Error> {
    let need = ops.scratch_len(&s.input, &s.output, s.batch);
    ops.forward(s, x, y, runtime::aligned(t.scratch, need))
}
