//! Expansion: the model type, its constants, its run-time methods and its `Model`
//! implementation. Every path is absolute (`__m::…`) so nothing in the caller's scope is
//! needed or touched.
//!
//! - `spec`: each layer's description as a `const` item, checked again in `const`
//!   evaluation for generic models;
//! - `constants`: the public constants and the `Model` implementation;
//! - `runtime`: construction, weights I/O, inference and training;
//! - `fallback`: what a model with mistakes expands to.

mod constants;
mod fallback;
mod runtime;
mod spec;

use model_core::Shape;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{DimDef, ModelDef};
use crate::check::Plan;

/// The model type for a checked model: the whole expansion when `errors` is empty, else the
/// type (so that the caller's code still type-checks) and every error.
pub fn expand(def: &ModelDef, plan: &Plan, errors: Vec<syn::Error>) -> TokenStream {
    match plan.output {
        Some(output) if errors.is_empty() => expand_model(def, plan, output),
        _ => fallback::expand(def, errors),
    }
}

/// Every error as a `compile_error!`.
pub fn compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    errors.into_iter().map(|e| e.to_compile_error()).collect()
}

/// The input's dimensions as written: literals, and const generic parameters as `usize`.
pub(crate) fn dims(def: &ModelDef) -> Vec<TokenStream> {
    def.input
        .iter()
        .flat_map(|i| &i.dims)
        .map(|d| match d {
            DimDef::Lit(n) => {
                let n = Literal::usize_unsuffixed(*n);
                quote!(#n)
            }
            DimDef::Param(p) => quote!((#p as usize)),
        })
        .collect()
}

/// A string literal at `span` (`quote!` would give it the macro call's span, and rustc
/// reports an expression of mixed spans at the whole macro call).
pub(crate) fn spanned_str(s: &str, span: Span) -> Literal {
    let mut lit = Literal::string(s);
    lit.set_span(span);
    lit
}

/// An integer literal at `span`.
pub(crate) fn spanned_usize(n: usize, span: Span) -> Literal {
    let mut lit = Literal::usize_unsuffixed(n);
    lit.set_span(span);
    lit
}

fn expand_model(def: &ModelDef, plan: &Plan, output: Shape) -> TokenStream {
    let output_rank = output.rank();
    let ModelDef {
        attrs,
        vis,
        name,
        generics,
        ..
    } = def;
    let p = quote!(__m);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let dims = dims(def);
    let count = plan.layers.len();

    let mut nested = Vec::new();
    let mut specs = Vec::new();
    let mut infos = Vec::new();
    let mut info_idents = Vec::new();
    let mut per_layer = Vec::new();
    let mut fields = Vec::new();
    let mut field_idents = Vec::new();
    let mut names = Vec::new();
    for (i, l) in plan.layers.iter().enumerate() {
        specs.push(spec::layer_expr(l.def, plan, &l.name, i, &mut nested));
        let ident = format_ident!("__MODEL_LAYER_{}", i);
        // Every token spanned at the layer (literals included): a generic instantiation
        // that does not fit fails in this const, and rustc points at the layer.
        let span = l.def.kind.span();
        let (layer_name, index) = (spanned_str(&l.name, span), spanned_usize(i, span));
        let input = if i == 0 {
            quote_spanned!(span=> Self::__MODEL_INPUT)
        } else {
            let prev = format_ident!("__MODEL_LAYER_{}", i - 1, span = span);
            quote_spanned!(span=> Self::#prev.output_shape)
        };
        infos.push(quote_spanned! {span=>
            #[doc(hidden)]
            const #ident: __m::LayerInfo =
                __m::expect_layer(#input, &Self::__MODEL_SPEC[#index], #layer_name, #index);
        });
        let constant = Ident::new(
            &l.name.to_uppercase(),
            l.def.name.as_ref().map_or(l.def.kind.span(), Ident::span),
        );
        let doc = format!(
            "Layer {i}, `{}` ({}): its output shape and parameter counts.",
            l.name, l.def.kind
        );
        per_layer.push(quote! {
            #[doc = #doc]
            pub const #constant: #p::LayerInfo = Self::#ident;
        });
        info_idents.push(ident);
        let field = Ident::new(
            &l.name,
            l.def.name.as_ref().map_or(l.def.kind.span(), Ident::span),
        );
        let doc = format!(
            "Weights of layer {i}, `{}` ({}), in Keras's order and layout.",
            l.name, l.def.kind
        );
        fields.push(quote! {
            #[doc = #doc]
            pub #field: ::model::LayerWeights
        });
        field_idents.push(field);
        names.push(l.name.clone());
    }
    let runtime = runtime::methods(def, output, &field_idents, &names);
    let constants = constants::inherent(def, output_rank);
    let model_impl = constants::model_impl(def);

    let warnings = plan.warnings.iter().map(|w| {
        let lint = Ident::new(w.lint, w.span);
        let note = &w.message;
        quote_spanned! {w.span=>
            const _: () = {
                #[deprecated(note = #note)]
                #[allow(non_camel_case_types)]
                struct #lint;
                let _ = #lint;
            };
        }
    });

    let doc_shapes = format!(
        "\n\n*Generated by `model!`*: {} layer{}; see [`Model`](::model::Model) for its constants.",
        count,
        if count == 1 { "" } else { "s" }
    );
    quote! {
        #(#attrs)*
        #[doc = #doc_shapes]
        #vis struct #name #generics #where_clause { #(#fields),* }

        // The impls live in an anonymous const so that the short alias for the generated
        // code's paths stays out of the caller's scope (impls apply wherever they are).
        const _: () = {
        use ::model::__private as __m;

        #[automatically_derived]
        #[allow(dead_code)]
        impl #impl_generics #name #ty_generics #where_clause {
            #[doc(hidden)]
            const __MODEL_INPUT: #p::Shape = #p::Shape::new(&[#(#dims),*]);
            #(#nested)*
            #[doc(hidden)]
            pub const __MODEL_SPEC: [#p::Layer; #count] = [#(#specs),*];
            #(#infos)*
            #[doc(hidden)]
            const __MODEL_INFO: [#p::LayerInfo; #count] = [#(Self::#info_idents),*];
            #[doc(hidden)]
            const __MODEL_TOTALS: #p::Totals = #p::Totals::of(&Self::__MODEL_INFO);
            #[doc(hidden)]
            const __MODEL_OUTPUT: #p::Shape = #p::output_shape(Self::__MODEL_INPUT, &Self::__MODEL_INFO);

            #constants
            #(#per_layer)*

            /// The Keras summary table; `.with_macs()` adds a column.
            pub fn summary() -> #p::Summary {
                #p::Summary::new(Self::LAYERS)
            }

            #runtime
        }

        #model_impl

        };

        #(#warnings)*
    }
}
