//! Implementation detail of `model`: the layer catalogue, the `const` shape and parameter
//! evaluator, the summary, and the runtime. Use the `model` crate instead.
#![warn(missing_docs)]
// Errors are plain `const` values (shapes included) so that `const fn`s can return them;
// boxing is not possible there, and they are built only on the failure path.
#![allow(clippy::result_large_err)]

pub mod error;
pub mod graph;
pub mod layer;
pub mod message;
pub mod model;
pub mod shape;
pub mod suggest;
pub mod summary;
pub mod value;

#[cfg(feature = "keras-json")]
pub mod keras;

#[cfg(feature = "runtime")]
pub mod runtime;

#[cfg(feature = "runtime")]
pub mod data;

#[cfg(feature = "onnx")]
pub mod onnx;

#[cfg(feature = "runtime")]
pub mod train;

pub use error::{Error, EvalError, Problem, RankReq};
pub use layer::{
    build, Activation, Arg, ArgError, ArgSpec, Config, Kind, KindInfo, Layer, LayerEval, KINDS,
};
pub use model::{eval_into, expect_model, LayerInfo, ModelError, Totals};
pub use shape::{Shape, MAX_RANK, UNKNOWN};
pub use summary::Summary;
pub use value::{ArgType, Numbers, Value};

/// What every model built by `model!` provides. All constants are usable in `const` contexts.
pub trait Model {
    /// The model's type name.
    const NAME: &'static str;
    /// Input shape, without the batch dimension (also an inherent `[usize; N]` constant).
    const INPUT_SHAPE: &'static [usize];
    /// Output shape, without the batch dimension (also an inherent `[usize; N]` constant).
    const OUTPUT_SHAPE: &'static [usize];
    /// One entry per layer, in order.
    const LAYERS: &'static [LayerInfo];
    /// All parameters.
    const PARAMS: usize;
    /// Trainable parameters.
    const TRAINABLE_PARAMS: usize;
    /// Non-trainable parameters.
    const NON_TRAINABLE_PARAMS: usize;
    /// Bytes of the parameters as `f32`.
    const PARAM_BYTES: usize;
    /// Multiply-accumulates for one sample.
    const MACS: usize;
    /// Every input's shape, in order (one for a sequential model).
    const INPUT_SHAPES: &'static [&'static [usize]];
    /// Every output's shape, in order.
    const OUTPUT_SHAPES: &'static [&'static [usize]];
    /// Every input's name, as Keras names them.
    const INPUT_NAMES: &'static [&'static str];
    /// Every output's name: the name of the layer that makes it.
    const OUTPUT_NAMES: &'static [&'static str];
    /// Bytes per sample of the forward pass's activation buffers, from the tensors'
    /// lifetimes (a layer's own scratch aside).
    const SCRATCH_BYTES: usize;

    /// The model as data (its layers, names and connections), for readers and writers of
    /// other formats.
    const NETWORK: graph::Network<'static>;

    /// The weights of every layer, in the order of [`graph::Graph::layers`] (empty for
    /// layers without weights; a shared layer has one set).
    #[cfg(feature = "runtime")]
    fn weights(&self) -> Vec<&runtime::LayerWeights>;

    /// The model from per-layer weights in order; missing layers get no weights (and
    /// inference then reports them).
    #[cfg(feature = "runtime")]
    fn from_weights(weights: Vec<runtime::LayerWeights>) -> Self
    where
        Self: Sized;

    /// The Keras summary table (`Display`); `.with_macs()` for the wider one.
    fn summary() -> Summary {
        Summary::new(Self::LAYERS).named(Self::NAME)
    }
}
