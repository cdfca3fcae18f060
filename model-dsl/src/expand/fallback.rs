//! What a model with mistakes expands to: every item a checked model has, with placeholder
//! values (thiserror's `fallback.rs`), beside the errors. The caller's code that uses the
//! model then type-checks, so one mistake gives one error, not a cascade, and
//! rust-analyzer keeps completing.

use proc_macro2::TokenStream;

use super::{compile_errors, model_items, Mode, Shapes};
use crate::ast::ModelDef;
use crate::check::Plan;

/// The model's items with placeholder values, and every error.
pub(crate) fn expand(def: &ModelDef, plan: &Plan, errors: Vec<syn::Error>) -> TokenStream {
    let shapes = Shapes::new(def, plan);
    let mut items = model_items(def, plan, &shapes, TokenStream::new(), Mode::Placeholder);
    items.extend(compile_errors(errors));
    items
}
