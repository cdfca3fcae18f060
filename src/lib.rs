//! Keras-style neural-network models in Rust, shape-checked and parameter-counted at
//! compile time.
//!
//! Write a Keras `Sequential` model almost verbatim with [`model!`]; the compiler checks
//! that every layer fits its input and computes every output shape and parameter count as a
//! constant, in exact agreement with Keras 3.
//!
//! ```
//! use model::{model, Model};
//! use static_assertions::const_assert_eq;
//!
//! model! {
//!     /// Digits in, ten class probabilities out.
//!     pub struct Mnist {
//!         input: [28, 28, 1],
//!         Conv2D(32, 3, activation = relu),
//!         MaxPooling2D(2),
//!         Conv2D(64, 3, activation = relu),
//!         MaxPooling2D(2),
//!         Flatten,
//!         Dropout(0.5),
//!         Dense(10, activation = softmax),
//!     }
//! }
//!
//! const_assert_eq!(Mnist::PARAMS, 34_826);
//! const_assert_eq!(Mnist::CONV2D_1.params, 18_496);
//! assert_eq!(Mnist::OUTPUT_SHAPE, [10]);
//! assert_eq!(Mnist::FLATTEN.output_shape.dims(), &[1600]);
//! assert_eq!(<Mnist as Model>::LAYERS[0].name, "conv2d");
//! println!("{}", Mnist::summary());
//! ```
//!
//! Const generic parameters make families of models, each member a type with its own
//! constants:
//!
//! ```
//! use model::model;
//!
//! model! {
//!     pub struct Mlp<const UNITS: usize> {
//!         input: [784],
//!         Dense(UNITS, activation = relu),
//!         Dense(10),
//!     }
//! }
//!
//! const SMALL: usize = Mlp::<32>::PARAMS;
//! const LARGE: usize = Mlp::<512>::PARAMS;
//! assert_eq!((SMALL, LARGE), (25_450, 407_050));
//! ```
//!
//! A model that does not fit is a compile error at the offending layer:
//!
//! ```compile_fail
//! use model::model;
//!
//! model! {
//!     struct Broken {
//!         input: [28, 28, 1],
//!         Flatten,
//!         Conv2D(8, 3), // error: `Conv2D` needs a 3-D input (height, width, channels), but its input has shape (784,)
//!     }
//! }
//! ```
//!
//! See the README for the grammar, the list of constants, the lints and the layer catalogue.
#![warn(missing_docs)]

extern crate self as model;

pub use model_core::data;
pub use model_core::graph::Network;
pub use model_core::runtime::{self, LayerWeights, LoadError, RuntimeError, Tensor, Workspace};
pub use model_core::train;
pub use model_core::train::{
    Adam, AdamW, Evaluation, FitOptions, History, Loss, RmsProp, Sgd, TrainError, Verbose,
};
pub use model_core::{Activation, Error, Kind, LayerInfo, Model, Shape, Summary};
/// Lists the instantiations of const-generic models as a [`tune::Space`], each checked and
/// counted by the compiler: see the [`tune`] module.
pub use model_macros::candidates;
/// Declares a Keras-style sequential model: see the [crate documentation](crate).
pub use model_macros::model;

pub mod tune;

/// Keras's files: configs both ways, `.keras` and `.h5` read and written, a network as
/// `model!` source (what `Name::load_keras`, `model.save_keras` and the `model` command use).
#[cfg(feature = "keras")]
pub use model_core::keras;

/// ONNX export: [`onnx::save_onnx`] (what `model.save_onnx` calls) and
/// [`onnx::network_onnx`], for any network and its weights.
#[cfg(feature = "onnx")]
pub use model_core::onnx;

/// Items the generated code names by absolute path; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use model_core::graph::{chain, iota};
    pub use model_core::graph::{
        expect_call, init_graph, layer_info, plan, predict_graph_into, Graph, Group, Network, Node,
        Plan, Slot,
    };
    pub use model_core::layer::{Arg, Kind, Layer, LayerEval};
    pub use model_core::model::{
        expect_layer, expect_layer_built, output_shape, stack_scratch, Totals,
    };
    pub use model_core::{LayerInfo, Shape, Summary, Value};

    /// `Result`, shorter in the generated code (which is long).
    pub type Result<T, E> = core::result::Result<T, E>;
    /// The types of the `Model` impl's constants, shorter in the generated code.
    pub type Shapes = &'static [&'static [usize]];
    /// Names.
    pub type Names = &'static [&'static str];
    /// One shape.
    pub type Dims = &'static [usize];
    /// Layers' entries.
    pub type Infos = &'static [LayerInfo];

    /// The number of values of `batch` samples of `shape`, or an error when it overflows.
    pub fn batch_len(shape: &Shape, batch: usize) -> Result<usize, crate::RuntimeError> {
        shape
            .elements()
            .and_then(|n| n.checked_mul(batch))
            .ok_or_else(|| {
                crate::Error::new(format!(
                    "{batch} samples of {shape} are more values than memory can address"
                ))
            })
    }

    /// The error of every run-time method of a model with mistakes (`model!` reports them
    /// as compile errors, so the program never runs; the methods exist so that the code
    /// calling them does not add errors of its own).
    pub fn invalid_model(name: &str) -> crate::RuntimeError {
        crate::Error::new(format!(
            "`{name}` has mistakes that `model!` reported at compile time"
        ))
    }

    /// `Name::load_keras`: [`model_core::keras::load_keras`], or an error saying that the
    /// `keras` feature is off.
    pub fn load_keras<M: crate::Model>(path: &std::path::Path) -> Result<M, crate::Error> {
        #[cfg(feature = "keras")]
        return model_core::keras::load_keras(path);
        #[cfg(not(feature = "keras"))]
        return Err(no_keras(path));
    }

    /// `model.save_keras`: [`model_core::keras::save_keras`], or an error saying that the
    /// `keras` feature is off.
    pub fn save_keras<M: crate::Model>(
        model: &M,
        path: &std::path::Path,
    ) -> Result<(), crate::Error> {
        #[cfg(feature = "keras")]
        return model_core::keras::save_keras(model, path);
        #[cfg(not(feature = "keras"))]
        return Err({
            let _ = model;
            no_keras(path)
        });
    }

    /// `model.save_onnx`: [`model_core::onnx::save_onnx`], or an error saying that the
    /// `onnx` feature is off.
    pub fn save_onnx<M: crate::Model>(
        model: &M,
        path: &std::path::Path,
    ) -> Result<(), crate::Error> {
        #[cfg(feature = "onnx")]
        return model_core::onnx::save_onnx(model, path);
        #[cfg(not(feature = "onnx"))]
        return Err({
            let _ = model;
            crate::Error::new(format!(
                "{}: `model` was built without its `onnx` feature, which writes ONNX files",
                path.display()
            ))
        });
    }

    #[cfg(not(feature = "keras"))]
    fn no_keras(path: &std::path::Path) -> crate::Error {
        crate::Error::new(format!(
            "{}: `model` was built without its `keras` feature, which reads and writes Keras files",
            path.display()
        ))
    }

    /// The batch size of a flat buffer of `len` values, or an error when it is not a whole
    /// number of samples of `input`.
    pub fn batch_of(len: usize, input: &Shape) -> Result<usize, crate::RuntimeError> {
        let sample = input.elements().unwrap_or(0);
        if sample == 0 || len == 0 || !len.is_multiple_of(sample) {
            return Err(crate::Error::new(format!(
                "the input buffer holds {len} values, which is not a whole, non-zero number of samples of shape {input} ({sample} values each)"
            )));
        }
        Ok(len / sample)
    }
}

/// The README's examples, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
