//! What a model with mistakes expands to: the type, so that the rest of the crate
//! type-checks while the errors are fixed, and every error.

use proc_macro2::TokenStream;
use quote::quote;

use super::{compile_errors, dims};
use crate::ast::ModelDef;

/// The struct alone, so that the rest of the crate type-checks while the errors are fixed.
pub(crate) fn expand(def: &ModelDef, errors: Vec<syn::Error>) -> TokenStream {
    let ModelDef {
        attrs,
        vis,
        name,
        generics,
        ..
    } = def;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let dims = dims(def);
    let rank = dims.len();
    let errors = compile_errors(errors);
    quote! {
        #(#attrs)*
        #vis struct #name #generics #where_clause { _model_private: () }

        #[automatically_derived]
        #[allow(dead_code)]
        impl #impl_generics #name #ty_generics #where_clause {
            pub const INPUT_SHAPE: [usize; #rank] = [#(#dims),*];
            pub const OUTPUT_SHAPE: [usize; 0] = [];
            pub const LAYERS: &'static [::model::LayerInfo] = &[];
            pub const PARAMS: usize = 0;
            pub const TRAINABLE_PARAMS: usize = 0;
            pub const NON_TRAINABLE_PARAMS: usize = 0;
            pub const PARAM_BYTES: usize = 0;
            pub const MACS: usize = 0;
        }
        #errors
    }
}
