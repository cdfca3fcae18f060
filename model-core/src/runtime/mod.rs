//! Inference: every layer of the catalogue run forward on a batch, channels-last, as Keras
//! runs it in inference mode (`model(x, training=False)`), plus the weights' layout, their
//! default initialization and safetensors files.
//!
//! Data is `f32`, batch first, row-major: a batch of `n` inputs of shape `(h, w, c)` is a
//! slice of `n·h·w·c` values. Shapes always come from [`Layer::eval`]; this module holds no
//! second copy of a shape formula.
//!
//! `Embedding` reads integer token ids from the same `f32` buffer (ids are exact in `f32` up
//! to 2^24); an id that is not a whole number in `0..input_dim` is a [`RuntimeError`].
//!
//! A model is its layers (as the macro describes them), its input shape, and one
//! [`LayerWeights`] per layer (empty for layers without weights):
//!
//! ```
//! use model_core::runtime::{init_model, predict_into, Workspace};
//! use model_core::{build, Arg, Kind, Layer, Shape, Value};
//!
//! let dense = build(Kind::Dense, &[Arg { name: Some("units"), value: Value::Int(3) }]).unwrap();
//! let layers = [Layer::FLATTEN, dense];
//! let input = Shape::new(&[2, 2]);
//! let weights = init_model(&layers, input, 42)?; // Keras's initializers, seeded
//! let mut workspace = Workspace::new(); // keep it: later calls allocate nothing
//! let x = [0.5; 2 * 4]; // a batch of two (2, 2) inputs
//! let mut y = [0.0; 2 * 3];
//! predict_into(&layers, input, &weights, &x, 2, &mut y, &mut workspace)?;
//! assert!(predict_into(&layers, input, &weights, &x[..7], 2, &mut y, &mut workspace).is_err());
//! # Ok::<(), model_core::runtime::RuntimeError>(())
//! ```

pub(crate) mod activation;
pub(crate) mod convolution;
pub(crate) mod core;
mod executor;
mod init;
mod io;
pub(crate) mod kernels;
mod normalization;
pub(crate) mod pooling;
pub(crate) mod recurrent;
mod regularization;
pub(crate) mod reshaping;
mod spec;
mod wrappers;

use crate::layer::{Config, Layer};
use crate::shape::Shape;

pub use self::executor::{output_shape, predict, predict_into, Workspace};
pub(crate) use self::init::Rng;
pub use self::init::{init, init_model};
pub use self::io::{load, load_model, read, save, save_model, LoadError, LoadProblem};
pub use self::spec::{weight_specs, WeightSpec};

/// A dense `f32` array in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, last axis fastest.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }

    /// A tensor from its shape and data; `None` when the lengths disagree.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Option<Tensor> {
        (shape.iter().product::<usize>() == data.len()).then_some(Tensor { shape, data })
    }
}

/// The weights of one layer, in Keras's order and layout (see [`weight_specs`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerWeights {
    /// One tensor per weight.
    pub tensors: Vec<Tensor>,
}

impl LayerWeights {
    /// No weights (the layers without parameters).
    pub const NONE: LayerWeights = LayerWeights {
        tensors: Vec::new(),
    };
}

/// Why an inference could not run: wrong buffer lengths, weights that do not fit the
/// layer, input values a layer cannot take. The crate's one [`Error`](crate::error::Error).
pub type RuntimeError = crate::error::Error;

/// Everything a layer's forward pass needs besides its data.
#[derive(Clone, Copy)]
pub(crate) struct Step<'a> {
    /// The input shape, without batch.
    pub input: Shape,
    /// The output shape, without batch (from [`Layer::eval`]).
    pub output: Shape,
    /// Samples in the batch.
    pub batch: usize,
    /// The layer's weights, already checked against its specs.
    pub weights: &'a [Tensor],
}

/// The number of values of `shape` (known shapes only; the executor checks).
pub(crate) fn elements(shape: &Shape) -> usize {
    shape.dims().iter().product()
}

/// The number of values of `batch` samples of `shape`, or an error when it overflows.
pub(crate) fn batch_len(shape: &Shape, batch: usize) -> Result<usize, RuntimeError> {
    elements(shape).checked_mul(batch).ok_or_else(|| {
        RuntimeError::new(format!(
            "{batch} samples of {shape} are more values than memory can address"
        ))
    })
}

/// The output shape of `layer` on `input`, as a runtime error when it does not fit.
pub(crate) fn eval_output(layer: &Layer, input: &Shape) -> Result<Shape, RuntimeError> {
    let e = layer
        .eval(input)
        .map_err(|e| RuntimeError::caused_by("", e))?;
    if !e.output.is_known() {
        return Err(RuntimeError::new(format!(
            "`{}` has an unknown dimension in its output {}; inference needs every dimension",
            layer.kind.class_name(),
            e.output
        )));
    }
    Ok(e.output)
}

/// The scratch space (in `f32`s) the forward pass of `layer` needs for `batch` samples.
pub(crate) fn scratch_len(layer: &Layer, input: &Shape, output: &Shape, batch: usize) -> usize {
    match &layer.config {
        Config::Conv(c) => convolution::scratch_len(layer.kind, c, input, output, batch),
        Config::Recurrent(c) => recurrent::scratch_len(c, input, batch),
        Config::Bidirectional(c) => recurrent::bidirectional_scratch_len(c, input, output, batch),
        Config::TimeDistributed(inner) => wrappers::scratch_len(inner, input, output, batch),
        _ => 0,
    }
}

/// Runs one layer: checks the buffers and weights, then dispatches to its family.
/// `scratch` grows when it is too small (the executor sizes it beforehand).
pub(crate) fn forward(
    layer: &Layer,
    input: &Shape,
    weights: &[Tensor],
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    scratch: &mut Vec<f32>,
) -> Result<(), RuntimeError> {
    let output = eval_output(layer, input)?;
    let (n_in, n_out) = (batch_len(input, batch)?, batch_len(&output, batch)?);
    if x.len() != n_in {
        return Err(RuntimeError::new(format!(
            "`{}` expects {batch} × {input} = {n_in} input values, got {}",
            layer.kind.class_name(),
            x.len()
        )));
    }
    if y.len() != n_out {
        return Err(RuntimeError::new(format!(
            "`{}` writes {batch} × {output} = {n_out} output values, but the output buffer holds {}",
            layer.kind.class_name(),
            y.len()
        )));
    }
    spec::check_weights(layer, input, weights)?;
    let scratch = grown(scratch, scratch_len(layer, input, &output, batch));
    let s = Step {
        input: *input,
        output,
        batch,
        weights,
    };
    run(layer, &s, x, y, scratch)
}

/// `scratch`, grown to at least `need` values, cut to `need`.
pub(crate) fn grown(scratch: &mut Vec<f32>, need: usize) -> &mut [f32] {
    if scratch.len() < need {
        scratch.resize(need, 0.0);
    }
    &mut scratch[..need]
}

/// Runs one layer on checked buffers and weights, `scratch` holding [`scratch_len`] values.
pub(crate) fn run(
    layer: &Layer,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), RuntimeError> {
    match &layer.config {
        Config::Dense(c) => core::dense(c, s, x, y),
        Config::Embedding(c) => return core::embedding(c, s, x, y),
        Config::Flatten | Config::Reshape(_) => y.copy_from_slice(x),
        Config::Permute(c) => core::permute(c, s, x, y),
        Config::RepeatVector(c) => core::repeat_vector(c, s, x, y),
        Config::Noise(_) => regularization::identity(x, y),
        Config::Activation(a) => activation::activation_layer(*a, s, x, y),
        Config::ReLU(c) => activation::relu_layer(c, x, y),
        Config::LeakyReLU(c) => activation::leaky_relu_layer(c, x, y),
        Config::PReLU(c) => activation::prelu_layer(c, s, x, y),
        Config::ELU(c) => activation::elu_layer(c, x, y),
        Config::Softmax(_) => activation::softmax_layer(s, x, y),
        Config::Conv(c) => convolution::forward(layer.kind, c, s, x, y, scratch),
        Config::Pooling(c) => pooling::pooling(layer.kind, c, s, x, y),
        Config::GlobalPooling(_) => pooling::global(layer.kind, s, x, y),
        Config::Pads(c) => reshaping::pads(layer.kind, c, s, x, y),
        Config::UpSampling(c) => reshaping::upsampling(layer.kind, c, s, x, y),
        Config::Normalization(c) => normalization::forward(c, s, x, y),
        Config::Recurrent(c) => recurrent::forward(c, s, x, y, scratch),
        Config::Bidirectional(c) => recurrent::bidirectional(c, s, x, y, scratch),
        Config::TimeDistributed(inner) => {
            return wrappers::time_distributed(inner, s, x, y, scratch)
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
