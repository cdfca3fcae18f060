//! Implementation detail of `model`: the `model!` and `candidates!` procedural macros. Use
//! the `model` crate.
//!
//! Each macro hands its tokens to `model-dsl`, an ordinary library that parses, checks (with
//! `model-core`'s evaluator) and expands them, and that tests and benches call directly.

use proc_macro::TokenStream;

/// Declares a Keras-style sequential model; see the `model` crate's documentation.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    model_dsl::model(input.into()).into()
}

/// Lists the instantiations of const-generic models as a tuner's search space, each
/// candidate's `PARAMS` and any `max_params` budget resolved at compile time; see the `model`
/// crate's `tune` module.
#[proc_macro]
pub fn candidates(input: TokenStream) -> TokenStream {
    model_dsl::candidates(input.into()).into()
}
