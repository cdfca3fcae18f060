//! Expansion: the model type, its constants, its run-time methods and its `Model`
//! implementation. Every path is absolute (`__m::…`) so nothing in the caller's scope is
//! needed or touched.
//!
//! - `spec`: each layer's description as a `const` item, checked again in `const`
//!   evaluation for generic models;
//! - `constants`: the public constants, from one table, and the per-layer ones;
//! - `runtime`: construction, weights I/O, inference and training;
//! - `fallback`: what a model with mistakes expands to: the same items with placeholder
//!   values, beside the errors.

mod constants;
mod fallback;
pub(crate) mod graph;
mod runtime;
mod spec;

pub(crate) use constants::MODEL_CONSTANTS;

use model_core::UNKNOWN;
use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{GenericParam, Ident};

use crate::ast::{DimDef, ModelDef};
use crate::check::Plan;

/// The model type for a checked model: the whole expansion when `errors` is empty, else the
/// same items with placeholder values (so that the caller's code still type-checks and only
/// the real mistakes are reported) and every error.
pub fn expand(def: &ModelDef, plan: &Plan, mut errors: Vec<syn::Error>) -> TokenStream {
    if errors.is_empty() {
        if plan.output.is_some() {
            return expand_model(def, plan);
        }
        // `check` reports why a layer cannot be evaluated; an error beats a silent model.
        errors.push(syn::Error::new(
            def.name.span(),
            "`model!` could not evaluate this model and did not say why; this is a bug in `model!`",
        ));
    }
    fallback::expand(def, plan, errors)
}

/// Every error as a `compile_error!`.
pub fn compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    errors.into_iter().map(|e| e.to_compile_error()).collect()
}

/// What the generated items do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Describe and run the checked model.
    Checked,
    /// Stand in for a model with mistakes: the same items and signatures, placeholder
    /// values, an `Err` for a result. The program never runs, as `compile_error!` is
    /// emitted beside them.
    Placeholder,
}

/// The model's input and output shapes as tokens, one expression per dimension.
pub(crate) struct Shapes {
    /// The input's dimensions: literals, const generic parameters as `usize`, and `0` for a
    /// word that is not a declared parameter.
    pub input: Vec<TokenStream>,
    /// Whether every input dimension is as written (none is a placeholder).
    pub input_known: bool,
    /// The output's dimensions as literals (`0` for one that depends on const generics),
    /// when every layer was evaluated; empty otherwise.
    pub output: Vec<TokenStream>,
    /// Whether the output was evaluated, has a dimension, and every dimension is a literal.
    pub output_known: bool,
    /// How many inputs and outputs (one each for a sequential model).
    pub inputs: usize,
    /// How many outputs.
    pub outputs: usize,
}

impl Shapes {
    fn new(def: &ModelDef, plan: &Plan) -> Shapes {
        let mut input_known = def.input.is_some();
        let input = def
            .input
            .iter()
            .flat_map(|i| &i.dims)
            .map(|d| match d {
                DimDef::Lit(n) => {
                    let n = Literal::usize_unsuffixed(*n);
                    quote!(#n)
                }
                DimDef::Param(p) if plan.const_params.contains(&p.to_string()) => {
                    quote!((#p as usize))
                }
                DimDef::Param(_) => {
                    input_known = false;
                    quote!(0)
                }
            })
            .collect();
        let output = plan.output.as_ref().map_or(&[][..], |o| o.dims());
        Shapes {
            input,
            input_known,
            output: output
                .iter()
                .map(|&d| {
                    let d = Literal::usize_unsuffixed(if d == UNKNOWN { 0 } else { d });
                    quote!(#d)
                })
                .collect(),
            output_known: plan.output.is_some_and(|o| o.is_known() && o.rank() > 0),
            inputs: 1,
            outputs: 1,
        }
    }
}

/// The type of the field that uses a model's type and lifetime parameters, if it has any:
/// they are a mistake that `check` reports, and an unused parameter would be a second error.
pub(crate) fn phantom(def: &ModelDef) -> Option<TokenStream> {
    let used: Vec<TokenStream> = def
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => {
                let t = &t.ident;
                Some(quote!(::core::marker::PhantomData<#t>))
            }
            GenericParam::Lifetime(l) => {
                let l = &l.lifetime;
                Some(quote!(&#l ()))
            }
            GenericParam::Const(_) => None,
        })
        .collect();
    (!used.is_empty()).then(|| quote!(::core::marker::PhantomData<(#(#used,)*)>))
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

/// The checked model: its hidden items (each layer's description and entry, the totals,
/// the output shape), then the items every model has, then its lints.
fn expand_model(def: &ModelDef, plan: &Plan) -> TokenStream {
    let p = quote!(__m);
    let shapes = Shapes::new(def, plan);
    let dims = &shapes.input;
    let count = plan.layers.len();

    let mut nested = Vec::new();
    let mut specs = Vec::new();
    let mut infos = Vec::new();
    let mut info_idents = Vec::new();
    let last_name = plan.layers.last().map_or(String::new(), |l| l.name.clone());
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
        info_idents.push(ident);
    }
    let names = plan.layers.iter().map(|l| &l.name);
    let ids = Literal::usize_unsuffixed(count + 1);
    let name = def.name.to_string();
    let hidden = quote! {
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
        #[doc(hidden)]
        const __MODEL_INPUTS: [#p::Shape; 1] = [Self::__MODEL_INPUT];
        #[doc(hidden)]
        const __MODEL_OUTPUT_SHAPES: [#p::Shape; 1] = [Self::__MODEL_OUTPUT];
        #[doc(hidden)]
        const __MODEL_INPUT_NAMES: [&'static str; 1] = ["input_layer"];
        #[doc(hidden)]
        const __MODEL_OUTPUT_NAMES: [&'static str; 1] = [#last_name];
        #[doc(hidden)]
        const __MODEL_SCRATCH: usize = #p::stack_scratch(&Self::__MODEL_INFO) * 4;
        #[doc(hidden)]
        const __MODEL_NAMES: [&'static str; #count] = [#(#names),*];
        #[doc(hidden)]
        const __MODEL_IDS: [usize; #ids] = #p::iota();
        #[doc(hidden)]
        const __MODEL_NODES: [#p::Node<'static>; #count] = #p::chain(&Self::__MODEL_IDS);
        #[doc(hidden)]
        const __MODEL_NETWORK: #p::Network<'static> = #p::Network::stack(#name, &Self::__MODEL_INPUTS,
            &Self::__MODEL_SPEC, &Self::__MODEL_NODES, &Self::__MODEL_IDS, &Self::__MODEL_NAMES,
            &Self::__MODEL_INPUT_NAMES, &Self::__MODEL_OUTPUT_NAMES);
    };
    let mut items = model_items(def, plan, &shapes, hidden, Mode::Checked);

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
    items.extend(warnings);
    items
}

/// What a checked model and a model with mistakes both have: the struct with one weights
/// field per layer whose name is usable, the constants, `summary()`, the run-time methods
/// and `impl ::model::Model`. `hidden` are the checked model's hidden items.
fn model_items(
    def: &ModelDef,
    plan: &Plan,
    shapes: &Shapes,
    hidden: TokenStream,
    mode: Mode,
) -> TokenStream {
    let ModelDef {
        attrs,
        vis,
        name,
        generics,
        ..
    } = def;
    let p = quote!(__m);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let count = plan.layers.len();

    let mut fields: Vec<TokenStream> = plan
        .layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let field = &l.idents.as_ref()?.field;
            let doc = format!(
                "Weights of layer {i}, `{}` ({}), in Keras's order and layout.",
                l.name, l.def.kind
            );
            Some(quote! {
                #[doc = #doc]
                pub #field: ::model::LayerWeights
            })
        })
        .collect();
    if let Some(phantom) = phantom(def) {
        fields.push(quote!(#[doc(hidden)] __model_phantom: #phantom));
    }
    let (constants, trait_constants) = constants::model_constants(&name.to_string(), shapes, mode);
    let allow = match mode {
        Mode::Checked => quote!(#[allow(dead_code)]),
        Mode::Placeholder => quote!(#[allow(dead_code, unused_variables)]),
    };
    // The large parts are moved into place (`extend`, and groups built around them), not
    // interpolated, which would copy them token by token: it matters for 1,000 layers.
    let mut inherent = hidden;
    inherent.extend(constants);
    inherent.extend(constants::layer_constants(plan, mode));
    inherent.extend(quote! {
        /// The Keras summary table; `.with_macs()` adds a column.
        pub fn summary() -> #p::Summary {
            #p::Summary::new(Self::LAYERS).named(Self::NAME)
        }
    });
    inherent.extend(runtime::methods(def, plan, shapes, mode));
    let inherent = Group::new(Delimiter::Brace, inherent);
    let trait_constants = Group::new(Delimiter::Brace, trait_constants);
    let impls = quote! {
        use ::model::__private as __m;

        #[automatically_derived]
        #allow
        impl #impl_generics #name #ty_generics #where_clause #inherent

        #[automatically_derived]
        impl #impl_generics ::model::Model for #name #ty_generics #where_clause #trait_constants
    };
    let impls = Group::new(Delimiter::Brace, impls);

    let doc_shapes = format!(
        "\n\n*Generated by `model!`*: {} layer{}; see [`Model`](::model::Model) for its constants.",
        count,
        if count == 1 { "" } else { "s" }
    );
    quote! {
        #(#attrs)*
        #[doc = #doc_shapes]
        // One field per layer, named as Keras names it (`bn_Conv1` in MobileNetV2).
        #[allow(non_snake_case)]
        #vis struct #name #generics #where_clause { #(#fields),* }

        // The impls live in an anonymous const so that the short alias for the generated
        // code's paths stays out of the caller's scope (impls apply wherever they are).
        const _: () = #impls;
    }
}
