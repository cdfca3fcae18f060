//! Implementation detail of `model`: the `model!` procedural macro. Use the `model` crate.
//!
//! The macro is three phases, each in its own module: `ast` parses the DSL into a small
//! IR that keeps every token's span, `check` validates it with `model-core`'s evaluator
//! (the same one generated code and the tests use), and `expand` emits the model type.
//! Errors are collected, never panicked, and the type is still emitted on error.

mod ast;
mod candidates;
mod check;
mod expand;

use proc_macro::TokenStream;

/// Declares a Keras-style sequential model; see the `model` crate's documentation.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    expand::model(input.into()).into()
}

/// Lists the instantiations of const-generic models as a tuner's search space, each
/// candidate's `PARAMS` and any `max_params` budget resolved at compile time; see the `model`
/// crate's `tune` module.
#[proc_macro]
pub fn candidates(input: TokenStream) -> TokenStream {
    candidates::candidates(input.into()).into()
}
