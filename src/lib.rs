//! Keras-style neural-network models in Rust, checked at compile time.
//!
//! See the README for the grammar, the constants and the error messages.
#![warn(missing_docs)]

extern crate self as model;

pub use model_core::{Activation, Kind, LayerInfo, Model, Shape, Summary};
pub use model_macros::model;

/// Items the generated code names by absolute path; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use model_core::layer::{Arg, Kind, Layer};
    pub use model_core::model::{expect_layer, expect_layer_built, output_shape, Totals};
    pub use model_core::{LayerInfo, Shape, Summary, Value};
}
