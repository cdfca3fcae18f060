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

mod executor;
mod init;
mod io;
pub(crate) mod kernels;
pub(crate) mod threads;
mod weights;

use crate::layer::Layer;
use crate::shape::Shape;

pub use self::executor::{output_shape, predict, predict_into, Workspace};
pub(crate) use self::init::Rng;
pub use self::init::{init, init_model};
#[cfg(any(feature = "keras-files", feature = "onnx"))]
pub(crate) use self::io::write_atomically;
pub use self::io::{
    load, load_layers, load_model, read, save, save_layers, save_model, LoadError, LoadProblem,
};
pub(crate) use self::weights::{check_model, check_weights, Init, Spec, Specs};
pub use self::weights::{weight_specs, WeightSpec};

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

/// A thread's scratch buffer, kept between calls so that later ones allocate nothing.
pub(crate) type ThreadScratch = std::thread::LocalKey<std::cell::RefCell<Vec<f32>>>;

/// Runs `f` on `need` values of this thread's buffer `key`, grown as [`grown`] does. A
/// call nested in another on the same thread (a rayon worker waiting inside one may take
/// up another) gets a fresh buffer of its own.
pub(crate) fn with_scratch<R>(
    key: &'static ThreadScratch,
    need: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    key.with(|b| match b.try_borrow_mut() {
        Ok(mut buffer) => f(aligned(&mut buffer, need)),
        Err(_) => f(aligned(&mut Vec::new(), need)),
    })
}

/// Values in a cache line of 64 bytes.
const LINE: usize = 16;

/// `buffer` from its first value on a 64-byte boundary. A vector of 16 values read or
/// stored there, or a multiple of 16 values on, then sits in one cache line instead of
/// straddling two, which an Intel core pays for twice (a Zen core splits 512-bit accesses
/// anyway); the allocator itself only promises 16 bytes. The same buffer always skips the
/// same values, so a writer and a later reader agree on where its contents start.
pub(crate) fn lined(buffer: &[f32]) -> &[f32] {
    &buffer[skip(buffer)..]
}

/// [`lined`], mutable.
pub(crate) fn lined_mut(buffer: &mut [f32]) -> &mut [f32] {
    let skip = skip(buffer);
    &mut buffer[skip..]
}

/// The values before `buffer`'s first 64-byte boundary (all of them, when it has fewer).
fn skip(buffer: &[f32]) -> usize {
    let skip = buffer.as_ptr().align_offset(64).min(LINE - 1);
    skip.min(buffer.len())
}

/// `buffer`, grown to hold `need` values from a 64-byte boundary ([`lined`]), cut to them.
pub(crate) fn aligned(buffer: &mut Vec<f32>, need: usize) -> &mut [f32] {
    // At most a line's skip more than asked.
    grown(buffer, need.saturating_add(LINE - 1));
    &mut lined_mut(buffer)[..need]
}

/// `scratch`, grown to at least `need` values, cut to `need`.
pub(crate) fn grown(scratch: &mut Vec<f32>, need: usize) -> &mut [f32] {
    if scratch.len() < need {
        scratch.resize(need, 0.0);
    }
    &mut scratch[..need]
}

#[cfg(test)]
mod tests;
