//! Implementation detail of `model`: the `model!` and `candidates!` macros as an ordinary
//! library. Use the `model` crate.
//!
//! `model-macros` is a thin proc-macro shim that hands its tokens here (as pest's derive
//! hands them to `pest_generator`, and sqlx's to `sqlx-macros-core`), so that the phases can
//! be called, tested and benchmarked on [`proc_macro2::TokenStream`]s outside the compiler.
//!
//! `model!` is three phases, each in its own module:
//!
//! - [`parse`] reads the DSL into a small IR ([`ast`]) that keeps every token's span;
//! - [`check()`] builds and evaluates each layer with `model-core`'s evaluator (the same one
//!   that generated `const` items and the run-time code use) and reports each mistake at
//!   the token that caused it. It goes on after a mistake: a layer's argument at fault is
//!   dropped and the layer built again, and the next layers are evaluated when no dropped
//!   argument can have changed the layer's output shape;
//! - [`expand`] emits the model type, its constants, its run-time methods and its
//!   `model::Model` implementation, or, when there were mistakes, the same items with
//!   placeholder values beside the `compile_error!`s, so that one mistake gives one error.
//!
//! Those are the phases of the sequential form (`input: [...]`, a list of layers). A body
//! of statements (the graph form, [`ast::ModelDef::graph`]) is interpreted and checked call
//! by call in [`graph`], then expanded; [`model()`] routes each form.
//!
//! [`candidates()`] is `candidates!`, one parse and one expansion.
//!
//! Errors are collected, never panicked: every failure is a [`syn::Error`]
//! (`tests/fuzz.rs` runs thousands of generated and mutated inputs to hold that).
//!
//! ```
//! let tokens: proc_macro2::TokenStream = "struct Mlp { input: [784], Dense(10) }".parse().unwrap();
//! let mut errors = Vec::new();
//! let def = model_dsl::parse(tokens, &mut errors).expect("a model header");
//! let plan = model_dsl::check(&def, &mut errors);
//! assert!(errors.is_empty());
//! assert_eq!(plan.layers[0].name, "dense");
//! let expanded = model_dsl::expand(&def, &plan, errors).to_string();
//! assert!(expanded.contains("struct Mlp"));
//! ```
#![warn(missing_docs)]

pub mod ast;
mod candidates;
pub mod check;
mod expand;
pub mod graph;

use proc_macro2::TokenStream;

pub use ast::parse;
pub use check::check;
pub use expand::expand;

/// `model!`: parse, check, expand. On errors, the model type with placeholder values and
/// every error as a `compile_error!`.
pub fn model(input: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let Some(def) = parse(input, &mut errors) else {
        return expand::compile_errors(errors);
    };
    if let Some(body) = &def.graph {
        let const_params = check::header(&def, &mut errors);
        let mut plan = graph::check(body, &const_params, &mut errors, def.name.span());
        return expand::graph::expand(&def, &mut plan, errors);
    }
    let plan = check(&def, &mut errors);
    expand(&def, &plan, errors)
}

/// `candidates!`: the instantiations of const-generic models as a `model::tune::Space`, each
/// candidate's `PARAMS` and any `max_params` budget resolved in `const` evaluation. On
/// errors, an empty space beside the `compile_error!`s.
pub fn candidates(input: TokenStream) -> TokenStream {
    candidates::candidates(input)
}
