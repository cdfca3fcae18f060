//! Expansion: the model type, its constants, and its `Model` implementation. Every path is
//! absolute (`__m::…`) so nothing in the caller's scope is needed or touched.

use model_core::layer::Kind;
use model_core::Shape;
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{DimDef, LayerDef, ModelDef, ValueDef};
use crate::check::Plan;

/// The model type for a checked model: the whole expansion when `errors` is empty, else the
/// type (so that the caller's code still type-checks) and every error.
pub fn expand(def: &ModelDef, plan: &Plan, errors: Vec<syn::Error>) -> TokenStream {
    match plan.output {
        Some(output) if errors.is_empty() => expand_model(def, plan, output),
        _ => fallback(def, errors),
    }
}

/// Every error as a `compile_error!`.
pub fn compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    errors.into_iter().map(|e| e.to_compile_error()).collect()
}

fn dims(def: &ModelDef) -> Vec<TokenStream> {
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

/// The struct alone, so that the rest of the crate type-checks while the errors are fixed.
fn fallback(def: &ModelDef, errors: Vec<syn::Error>) -> TokenStream {
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

/// Emits a value as a `__m::Value` expression. Nested layers become hidden
/// associated constants, pushed to `nested`.
fn value(
    v: &ValueDef,
    plan: &Plan,
    owner: &str,
    index: usize,
    nested: &mut Vec<TokenStream>,
) -> TokenStream {
    let p = quote!(__m);
    match v {
        ValueDef::Int(i, span) => {
            let lit = Literal::i64_unsuffixed(*i);
            quote_spanned!(*span=> #p::Value::Int(#lit))
        }
        ValueDef::Float(f, span) => {
            let lit = Literal::f64_unsuffixed(*f);
            quote_spanned!(*span=> #p::Value::Float(#lit))
        }
        ValueDef::Bool(b, span) => quote_spanned!(*span=> #p::Value::Bool(#b)),
        ValueDef::Str(s, span) => quote_spanned!(*span=> #p::Value::Str(#s)),
        ValueDef::Ident(i) => {
            let word = i.to_string();
            if plan.const_params.contains(&word) {
                quote_spanned!(i.span()=> #p::Value::Int(#i as i64))
            } else if word == "None" {
                quote!(#p::Value::None)
            } else if Kind::from_name(&word).is_some() {
                let inner = LayerDef {
                    name: None,
                    kind: i.clone(),
                    args: Vec::new(),
                };
                nested_layer(&inner, plan, owner, index, nested)
            } else {
                quote_spanned!(i.span()=> #p::Value::Str(#word))
            }
        }
        ValueDef::Tuple(items, span) => {
            let items: Vec<TokenStream> = items
                .iter()
                .map(|i| value(i, plan, owner, index, nested))
                .collect();
            quote_spanned!(*span=> #p::Value::Tuple(&[#(#items),*]))
        }
        ValueDef::Layer(l) => nested_layer(l, plan, owner, index, nested),
    }
}

fn nested_layer(
    l: &LayerDef,
    plan: &Plan,
    owner: &str,
    index: usize,
    nested: &mut Vec<TokenStream>,
) -> TokenStream {
    let build = layer_expr(l, plan, &format!("{owner}/{}", l.kind), index, nested);
    let ident = format_ident!("__MODEL_NESTED_{}", nested.len());
    nested.push(quote! {
        #[doc(hidden)]
        const #ident: __m::Layer = #build;
    });
    quote!(__m::Value::Layer(&Self::#ident))
}

/// `expect_layer_built(Kind::X, &[args], "name", index)`.
fn layer_expr(
    l: &LayerDef,
    plan: &Plan,
    name: &str,
    index: usize,
    nested: &mut Vec<TokenStream>,
) -> TokenStream {
    let Some(kind) = Kind::from_name(&l.kind.to_string()) else {
        // Unreachable after a clean check; an error beats a panic all the same.
        return syn::Error::new(l.kind.span(), "unknown layer kind").to_compile_error();
    };
    let variant = Ident::new(&format!("{kind:?}"), l.kind.span());
    let args: Vec<TokenStream> = l
        .args
        .iter()
        .map(|a| {
            let v = value(&a.value, plan, name, index, nested);
            let span = a.value.span();
            match &a.name {
                Some(n) => {
                    let n = spanned_str(&n.to_string(), n.span());
                    quote_spanned!(span=> __m::Arg { name: ::core::option::Option::Some(#n), value: #v })
                }
                None => quote_spanned!(span=> __m::Arg { name: ::core::option::Option::None, value: #v }),
            }
        })
        .collect();
    let span = l.kind.span();
    let (name, index) = (spanned_str(name, span), spanned_usize(index, span));
    quote_spanned! {span=>
        __m::expect_layer_built(__m::Kind::#variant, &[#(#args),*], #name, #index)
    }
}

/// A string literal at `span` (`quote!` would give it the macro call's span, and rustc
/// reports an expression of mixed spans at the whole macro call).
fn spanned_str(s: &str, span: Span) -> Literal {
    let mut lit = Literal::string(s);
    lit.set_span(span);
    lit
}

/// An integer literal at `span`.
fn spanned_usize(n: usize, span: Span) -> Literal {
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
    let input_rank = dims.len();
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
        specs.push(layer_expr(l.def, plan, &l.name, i, &mut nested));
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
    let runtime = runtime_methods(def, output, &field_idents, &names);

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

    let name_str = name.to_string();
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

            /// The model's name.
            pub const NAME: &'static str = #name_str;
            /// Shape of one input sample (without the batch dimension).
            pub const INPUT_SHAPE: [usize; #input_rank] = [#(#dims),*];
            /// Shape of one output sample (without the batch dimension).
            pub const OUTPUT_SHAPE: [usize; #output_rank] = Self::__MODEL_OUTPUT.to_array::<#output_rank>();
            /// One entry per layer, in order.
            pub const LAYERS: &'static [#p::LayerInfo] = &Self::__MODEL_INFO;
            /// All parameters, as Keras's `count_params()`.
            pub const PARAMS: usize = Self::__MODEL_TOTALS.params;
            /// Trainable parameters.
            pub const TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.trainable;
            /// Non-trainable parameters (batch normalization's moving statistics).
            pub const NON_TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.non_trainable;
            /// Bytes of the parameters as `f32`.
            pub const PARAM_BYTES: usize = Self::__MODEL_TOTALS.params * 4;
            /// Multiply-accumulates for one sample.
            pub const MACS: usize = Self::__MODEL_TOTALS.macs;
            #(#per_layer)*

            /// The Keras summary table; `.with_macs()` adds a column.
            pub fn summary() -> #p::Summary {
                #p::Summary::new(Self::LAYERS)
            }

            #runtime
        }

        #[automatically_derived]
        impl #impl_generics ::model::Model for #name #ty_generics #where_clause {
            const NAME: &'static str = #name_str;
            const INPUT_SHAPE: &'static [usize] = &[#(#dims),*];
            const OUTPUT_SHAPE: &'static [usize] = Self::__MODEL_OUTPUT.dims();
            const LAYERS: &'static [#p::LayerInfo] = &Self::__MODEL_INFO;
            const PARAMS: usize = Self::__MODEL_TOTALS.params;
            const TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.trainable;
            const NON_TRAINABLE_PARAMS: usize = Self::__MODEL_TOTALS.non_trainable;
            const PARAM_BYTES: usize = Self::__MODEL_TOTALS.params * 4;
            const MACS: usize = Self::__MODEL_TOTALS.macs;
        }

        };

        #(#warnings)*
    }
}

/// `[[f32; 3]; 256]`-style nested array type for a shape whose dimensions are all given
/// (literals, or the const generic parameters named in `dims`).
fn array_type(dims: &[TokenStream]) -> TokenStream {
    dims.iter()
        .rev()
        .fold(quote!(f32), |inner, d| quote!([#inner; #d]))
}

/// Flattens a nested-array place expression of rank `rank` into an `f32` slice.
fn flatten(place: TokenStream, rank: usize, mutable: bool) -> TokenStream {
    let step = if mutable {
        quote!(.as_flattened_mut())
    } else {
        quote!(.as_flattened())
    };
    let steps = (1..rank).map(|_| step.clone());
    if rank == 1 {
        if mutable {
            quote!(&mut #place[..])
        } else {
            quote!(&#place[..])
        }
    } else {
        quote!(#place #(#steps)*)
    }
}

/// The runtime: construction, weights I/O and inference, all through `model-core`'s
/// executor on the model's `const` layer descriptions.
fn runtime_methods(
    def: &ModelDef,
    output: Shape,
    fields: &[Ident],
    names: &[String],
) -> TokenStream {
    let p = quote!(__m);
    let count = fields.len();
    let input_dims = dims(def);
    let input_rank = input_dims.len();
    let input_type = array_type(&input_dims);
    let x_flat = flatten(quote!(x), input_rank, false);
    // The typed single-sample entry point needs the output's dimensions as tokens: known
    // ones as literals; one that depends on const generics cannot be named in a type here.
    let predict_one = if output.is_known() && output.rank() > 0 {
        let out_dims: Vec<TokenStream> = output
            .dims()
            .iter()
            .map(|d| {
                let d = Literal::usize_unsuffixed(*d);
                quote!(#d)
            })
            .collect();
        let output_type = array_type(&out_dims);
        let zero = out_dims
            .iter()
            .rev()
            .fold(quote!(0.0f32), |inner, d| quote!([#inner; #d]));
        let y_flat = flatten(quote!(y), output.rank(), true);
        quote! {
            /// Runs one sample whose shape is checked by its type: a sample of another
            /// shape does not compile.
            pub fn predict_one(&self, x: &#input_type) -> ::core::result::Result<#output_type, ::model::RuntimeError> {
                let mut y: #output_type = #zero;
                self.predict_into(#x_flat, #y_flat, &mut ::model::Workspace::new())?;
                ::core::result::Result::Ok(y)
            }
        }
    } else {
        quote!()
    };
    quote! {
        #[doc(hidden)]
        const __MODEL_NAMES: [&'static str; #count] = [#(#names),*];

        /// A model with Keras's default initializers (`glorot_uniform` kernels, orthogonal
        /// recurrent kernels, zero biases, …), deterministic for `seed`.
        pub fn init(seed: u64) -> Self {
            match ::model::runtime::init_model(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, seed) {
                ::core::result::Result::Ok(weights) => Self::from_layer_weights(weights),
                // Every layer was evaluated at compile time, so initialization cannot fail.
                ::core::result::Result::Err(e) => ::core::panic!("`{}`: {}", Self::NAME, e),
            }
        }

        /// Loads weights saved by [`Self::save`] (safetensors, tensors named
        /// `"{layer}/{weight}"` in Keras's layouts). Every missing tensor, wrong dtype or
        /// wrong shape is reported by name.
        pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::model::LoadError> {
            ::model::runtime::load_model(path, &Self::__MODEL_NAMES, &Self::__MODEL_SPEC, Self::__MODEL_INPUT)
                .map(Self::from_layer_weights)
        }

        /// Saves the weights as safetensors, writing a temporary file then renaming it, so
        /// that a half-written file never replaces a good one.
        pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::std::io::Result<()> {
            ::model::runtime::save_model(path, &Self::__MODEL_NAMES, &Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights())
        }

        /// The weights of every layer, in order (empty for layers without weights).
        pub fn layer_weights(&self) -> [&::model::LayerWeights; #count] {
            [#(&self.#fields),*]
        }

        /// The model from per-layer weights in order; missing layers get no weights (and
        /// inference then reports them).
        pub fn from_layer_weights(weights: ::std::vec::Vec<::model::LayerWeights>) -> Self {
            let mut weights = weights.into_iter();
            Self { #(#fields: weights.next().unwrap_or_default()),* }
        }

        /// Runs a batch: `x` holds whole samples of `INPUT_SHAPE`, one after the other;
        /// returns as many samples of `OUTPUT_SHAPE`. A buffer that is not a whole number of
        /// samples is an error, never a panic.
        pub fn predict(&self, x: &[f32]) -> ::core::result::Result<::std::vec::Vec<f32>, ::model::RuntimeError> {
            let batch = #p::batch_of(x.len(), &Self::__MODEL_INPUT)?;
            ::model::runtime::predict(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), x, batch)
        }

        /// [`Self::predict`] into a caller's buffer, with a reusable workspace: after the
        /// first call for a batch size, nothing is allocated.
        pub fn predict_into(
            &self,
            x: &[f32],
            out: &mut [f32],
            workspace: &mut ::model::Workspace,
        ) -> ::core::result::Result<(), ::model::RuntimeError> {
            let batch = #p::batch_of(x.len(), &Self::__MODEL_INPUT)?;
            ::model::runtime::predict_into(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), x, batch, out, workspace)
        }

        /// Trains the model on `train` (Keras's `fit`): mini-batches, the optimizer and loss of
        /// `options`, a progress bar per epoch in a terminal, validation, checkpoints.
        /// Returns the per-epoch metrics. The weights are updated in place; on an error they
        /// stay as the last completed step left them.
        pub fn fit(
            &mut self,
            train: &::model::data::Dataset,
            options: ::model::train::FitOptions<'_>,
        ) -> ::core::result::Result<::model::train::History, ::model::train::TrainError> {
            let options = ::model::train::FitOptions {
                layer_names: options.layer_names.or(::core::option::Option::Some(&Self::__MODEL_NAMES)),
                ..options
            };
            let mut weights = ::std::vec![#(::core::mem::take(&mut self.#fields)),*];
            let result = ::model::train::fit(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &mut weights, train, options);
            *self = Self::from_layer_weights(weights);
            result
        }

        /// The loss and accuracy on `data` in inference mode (Keras's `evaluate`), 32 samples
        /// at a time.
        pub fn evaluate(
            &self,
            data: &::model::data::Dataset,
            loss: ::model::train::Loss,
        ) -> ::core::result::Result<::model::train::Evaluation, ::model::train::TrainError> {
            ::model::train::evaluate(&Self::__MODEL_SPEC, Self::__MODEL_INPUT, &self.layer_weights(), data, loss, 32)
        }

        #predict_one
    }
}
