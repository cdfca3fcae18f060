//! Expansion of a graph model: its layers, one `const` item per call (spanned at the call,
//! so that a generic instantiation that does not fit fails there), the graph and its
//! buffer plan as constants, the constants every model has, and the run-time methods for
//! its inputs and outputs. A model with mistakes gets the same items with placeholders.

use std::collections::HashSet;

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::constants::{model_constants, MODEL_CONSTANTS};
use super::{compile_errors, phantom, spanned_str, spanned_usize, Mode, Shapes};
use crate::ast::ModelDef;
use crate::check::{LayerIdents, Warning};
use crate::graph::interp::{Ctor, Dim, GraphPlan, Val};

/// The graph model's items, or with mistakes the placeholders and every error.
pub(crate) fn expand(def: &ModelDef, plan: &mut GraphPlan, errors: Vec<syn::Error>) -> TokenStream {
    name_layers(plan);
    let mode = if errors.is_empty() && plan.complete() {
        Mode::Checked
    } else {
        Mode::Placeholder
    };
    let shapes = shapes(plan, mode);
    let hidden = match mode {
        Mode::Checked => hidden_items(plan, &def.name.to_string()),
        Mode::Placeholder => TokenStream::new(),
    };
    let mut items = items(def, plan, &shapes, hidden, mode);
    if mode == Mode::Checked {
        items.extend(warnings(&plan.warnings, &def.allow));
    }
    items.extend(compile_errors(errors));
    items
}

/// The weights field and the per-layer constant of each layer whose name makes them: an
/// identifier that shadows no model constant and no earlier layer's.
fn name_layers(plan: &mut GraphPlan) {
    let mut taken: HashSet<String> = MODEL_CONSTANTS.iter().map(|c| c.name.to_string()).collect();
    for l in &mut plan.layers {
        let upper = l.name.to_uppercase();
        let field = syn::parse_str::<Ident>(&l.name)
            .ok()
            .or_else(|| syn::parse_str::<Ident>(&format!("r#{}", l.name)).ok());
        let constant = syn::parse_str::<Ident>(&upper).ok();
        l.idents = match (field, constant) {
            (Some(mut field), Some(mut constant))
                if !upper.starts_with("__MODEL_") && taken.insert(upper.clone()) =>
            {
                field.set_span(l.ctor.span);
                constant.set_span(l.ctor.span);
                Some(LayerIdents { field, constant })
            }
            _ => None,
        };
    }
}

fn dims_of(dims: &[Dim]) -> Vec<TokenStream> {
    dims.iter()
        .map(|d| match d {
            Dim::Known(n) => {
                let n = Literal::usize_unsuffixed(*n);
                quote!(#n)
            }
            Dim::Param(t) => t.clone(),
        })
        .collect()
}

/// The first input's and the first output's dimensions, for the constants every model has.
fn shapes(plan: &GraphPlan, mode: Mode) -> Shapes {
    let input = plan
        .inputs
        .first()
        .map(|i| dims_of(&i.dims))
        .unwrap_or_default();
    let input_known = !plan.inputs.is_empty();
    let out = plan
        .outputs
        .first()
        .and_then(|&(t, _)| plan.tensors[t].shape);
    let output = out.map_or(Vec::new(), |s| {
        s.dims()
            .iter()
            .map(|&d| {
                let d = Literal::usize_unsuffixed(if d == model_core::UNKNOWN { 0 } else { d });
                quote!(#d)
            })
            .collect()
    });
    let output_known = mode == Mode::Checked && out.is_some_and(|s| s.is_known() && s.rank() > 0);
    Shapes {
        input,
        input_known,
        output,
        output_known,
        inputs: plan.inputs.len(),
        outputs: plan.outputs.len(),
    }
}

/// A value as a `__m::Value` expression; nested layers become hidden constants.
fn value(v: &Val, span: Span, nested: &mut Vec<TokenStream>) -> TokenStream {
    match v {
        Val::Int(i) => {
            let lit = Literal::i64_unsuffixed(*i);
            quote_spanned!(span=> __m::Value::Int(#lit))
        }
        Val::Sym(t) => quote_spanned!(span=> __m::Value::Int(#t)),
        Val::Float(f) => {
            let lit = Literal::f64_unsuffixed(*f);
            quote_spanned!(span=> __m::Value::Float(#lit))
        }
        Val::Bool(b) => quote_spanned!(span=> __m::Value::Bool(#b)),
        Val::Str(s) => quote_spanned!(span=> __m::Value::Str(#s)),
        Val::None => quote_spanned!(span=> __m::Value::None),
        Val::Numbers(n) => {
            let lits = n.iter().map(|f| Literal::f64_unsuffixed(*f));
            quote_spanned!(span=> __m::Value::Numbers(&[#(#lits),*]))
        }
        Val::Tuple(items) => {
            let items: Vec<TokenStream> = items.iter().map(|i| value(i, span, nested)).collect();
            quote_spanned!(span=> __m::Value::Tuple(&[#(#items),*]))
        }
        Val::Layer(ctor) => {
            let build = ctor_expr(ctor, ctor.kind.info().auto_name, 0, nested);
            let ident = format_ident!("__MODEL_NESTED_{}", nested.len());
            nested.push(quote! {
                #[doc(hidden)]
                const #ident: __m::Layer = #build;
            });
            quote!(__m::Value::Layer(&Self::#ident))
        }
    }
}

/// `expect_layer_built(Kind::X, &[args], "name", index)`, spanned at the layer.
fn ctor_expr(c: &Ctor, name: &str, index: usize, nested: &mut Vec<TokenStream>) -> TokenStream {
    let variant = Ident::new(&format!("{:?}", c.kind), c.span);
    let args: Vec<TokenStream> = c
        .args
        .iter()
        .map(|(n, v, span)| {
            let v = value(v, *span, nested);
            match n {
                Some(n) => {
                    let n = spanned_str(n, *span);
                    quote_spanned!(*span=> __m::Arg::keyword(#n, #v))
                }
                None => quote_spanned!(*span=> __m::Arg::positional(#v)),
            }
        })
        .collect();
    let (name, index) = (spanned_str(name, c.span), spanned_usize(index, c.span));
    quote_spanned! {c.span=>
        __m::expect_layer_built(__m::Kind::#variant, &[#(#args),*], #name, #index)
    }
}

/// The shape of tensor `t` as a constant expression.
fn tensor_shape(plan: &GraphPlan, t: usize, span: Span) -> TokenStream {
    let inputs = plan.inputs.len();
    if t < inputs {
        let ident = format_ident!("__MODEL_INPUT_{}", t, span = span);
        quote_spanned!(span=> Self::#ident)
    } else {
        let ident = format_ident!("__MODEL_CALL_{}", t - inputs, span = span);
        quote_spanned!(span=> Self::#ident.output)
    }
}

/// The checked model's hidden items.
fn hidden_items(plan: &GraphPlan, model_name: &str) -> TokenStream {
    let inputs = plan.inputs.len();
    let (l, n, t, o) = (
        plan.layers.len(),
        plan.nodes.len(),
        plan.tensors.len(),
        plan.outputs.len(),
    );
    let mut nested = Vec::new();
    let mut out = TokenStream::new();
    let mut layer_idents = Vec::new();
    for (i, layer) in plan.layers.iter().enumerate() {
        let build = ctor_expr(&layer.ctor, &layer.name, i, &mut nested);
        let ident = format_ident!("__MODEL_LAYER_{}", i);
        out.extend(quote! {
            #[doc(hidden)]
            const #ident: __m::Layer = #build;
        });
        layer_idents.push(ident);
    }
    out.extend(nested);
    let mut input_idents = Vec::new();
    for (i, input) in plan.inputs.iter().enumerate() {
        let ident = format_ident!("__MODEL_INPUT_{}", i);
        let dims = dims_of(&input.dims);
        out.extend(quote! {
            #[doc(hidden)]
            const #ident: __m::Shape = __m::Shape::new(&[#(#dims),*]);
        });
        input_idents.push(ident);
    }
    // One item per call, every token spanned at the call.
    let mut call_idents = Vec::new();
    let mut node_items = Vec::new();
    for (k, node) in plan.nodes.iter().enumerate() {
        let span = node.span;
        let ident = format_ident!("__MODEL_CALL_{}", k);
        let layer = spanned_usize(node.layer, span);
        let shapes: Vec<TokenStream> = node
            .inputs
            .iter()
            .map(|&t| tensor_shape(plan, t, span))
            .collect();
        let first = plan
            .nodes
            .iter()
            .position(|m| m.layer == node.layer)
            .filter(|&j| j < k)
            .map(|j| tensor_shape(plan, plan.nodes[j].inputs[0], span));
        let first = match first {
            Some(s) => quote_spanned!(span=> ::core::option::Option::Some(#s)),
            None => quote_spanned!(span=> ::core::option::Option::None),
        };
        let name = spanned_str(&plan.layers[node.layer].name, span);
        let producers: Vec<Literal> = node
            .inputs
            .iter()
            .map(|&t| spanned_str(&plan.tensors[t].producer, span))
            .collect();
        out.extend(quote_spanned! {span=>
            #[doc(hidden)]
            const #ident: __m::LayerEval = __m::expect_call(
                &Self::__MODEL_SPEC[#layer], &[#(#shapes),*], #first, #name, &[#(#producers),*]);
        });
        let ins = node.inputs.iter().map(|&t| Literal::usize_unsuffixed(t));
        let layer = Literal::usize_unsuffixed(node.layer);
        node_items.push(quote!(__m::Node { layer: #layer, inputs: &[#(#ins),*] }));
        call_idents.push(ident);
    }
    let tensors: Vec<TokenStream> = (0..t)
        .map(|i| tensor_shape(plan, i, Span::call_site()))
        .collect();
    let outputs: Vec<Literal> = plan
        .outputs
        .iter()
        .map(|&(t, _)| Literal::usize_unsuffixed(t))
        .collect();
    let output_shapes: Vec<TokenStream> = plan
        .outputs
        .iter()
        .map(|&(t, _)| quote!(Self::__MODEL_TENSORS[#t]))
        .collect();
    // Each layer's entry: its first call's output and parameters, the MACs of every call.
    let mut infos = Vec::new();
    let mut layer_inputs = Vec::new();
    for (i, layer) in plan.layers.iter().enumerate() {
        let calls: Vec<&Ident> = plan
            .nodes
            .iter()
            .zip(&call_idents)
            .filter(|(n, _)| n.layer == i)
            .map(|(_, id)| id)
            .collect();
        let name = &layer.name;
        let ident = format_ident!("__MODEL_INFO_{}", i);
        out.extend(quote! {
            #[doc(hidden)]
            const #ident: __m::LayerInfo = __m::layer_info(#name, &Self::__MODEL_SPEC[#i], &[#(Self::#calls),*]);
        });
        infos.push(ident);
        let first = plan
            .nodes
            .iter()
            .find(|n| n.layer == i)
            .and_then(|n| n.inputs.first().copied())
            .unwrap_or(0);
        layer_inputs.push(quote!(Self::__MODEL_TENSORS[#first]));
    }
    let input_names: Vec<&String> = plan.inputs.iter().map(|i| &i.name).collect();
    let output_names: Vec<&String> = plan
        .outputs
        .iter()
        .map(|&(t, _)| &plan.tensors[t].producer)
        .collect();
    let first_output = plan.outputs.first().map_or(0, |o| o.0);
    let names = plan.layers.iter().map(|l| &l.name);
    // A nested model's layers keep their weights under its name, as Keras does:
    // `stem/stem_conv/kernel`.
    let weight_names = plan.layers.iter().enumerate().map(|(i, l)| {
        match plan.groups.iter().find(|g| g.layers.contains(&i)) {
            Some(g) => format!("{}/{}", g.name, l.name),
            None => l.name.clone(),
        }
    });
    let g_count = plan.groups.len();
    let groups = plan.groups.iter().map(|g| {
        let (name, first, len) = (&g.name, g.layers.start, g.layers.len());
        quote!(__m::Group { name: #name, first: #first, len: #len })
    });
    out.extend(quote! {
        #[doc(hidden)]
        pub const __MODEL_SPEC: [__m::Layer; #l] = [#(Self::#layer_idents),*];
        #[doc(hidden)]
        const __MODEL_NODES: [__m::Node<'static>; #n] = [#(#node_items),*];
        #[doc(hidden)]
        pub const __MODEL_INPUTS: [__m::Shape; #inputs] = [#(Self::#input_idents),*];
        #[doc(hidden)]
        const __MODEL_OUTPUT_TENSORS: [usize; #o] = [#(#outputs),*];
        #[doc(hidden)]
        pub const __MODEL_GRAPH: __m::Graph<'static> = __m::Graph {
            inputs: &Self::__MODEL_INPUTS,
            layers: &Self::__MODEL_SPEC,
            nodes: &Self::__MODEL_NODES,
            outputs: &Self::__MODEL_OUTPUT_TENSORS,
        };
        #[doc(hidden)]
        pub const __MODEL_TENSORS: [__m::Shape; #t] = [#(#tensors),*];
        #[doc(hidden)]
        const __MODEL_PLAN: ([__m::Slot; #t], [usize; #t]) = __m::plan(&Self::__MODEL_GRAPH, &Self::__MODEL_TENSORS);
        #[doc(hidden)]
        const __MODEL_LAYER_INPUTS: [__m::Shape; #l] = [#(#layer_inputs),*];
        #[doc(hidden)]
        const __MODEL_NAMES: [&'static str; #l] = [#(#names),*];
        #[doc(hidden)]
        const __MODEL_WEIGHT_NAMES: [&'static str; #l] = [#(#weight_names),*];
        #[doc(hidden)]
        const __MODEL_GROUPS: [__m::Group; #g_count] = [#(#groups),*];
        #[doc(hidden)]
        const __MODEL_INFO: [__m::LayerInfo; #l] = [#(Self::#infos),*];
        #[doc(hidden)]
        const __MODEL_TOTALS: __m::Totals = __m::Totals::of(&Self::__MODEL_INFO);
        #[doc(hidden)]
        const __MODEL_INPUT: __m::Shape = Self::__MODEL_INPUT_0;
        #[doc(hidden)]
        const __MODEL_OUTPUT: __m::Shape = Self::__MODEL_TENSORS[#first_output];
        #[doc(hidden)]
        const __MODEL_OUTPUT_SHAPES: [__m::Shape; #o] = [#(#output_shapes),*];
        #[doc(hidden)]
        const __MODEL_INPUT_NAMES: [&'static str; #inputs] = [#(#input_names),*];
        #[doc(hidden)]
        const __MODEL_OUTPUT_NAMES: [&'static str; #o] = [#(#output_names),*];
        #[doc(hidden)]
        const __MODEL_SUMMARY: __m::Summary = __m::Summary::graph(&Self::__MODEL_INFO, Self::__MODEL_NETWORK, &Self::__MODEL_TENSORS);
        #[doc(hidden)]
        const __MODEL_NETWORK: __m::Network<'static> = __m::Network {
            name: #model_name,
            sequential: false,
            graph: Self::__MODEL_GRAPH,
            layer_names: &Self::__MODEL_NAMES,
            input_names: &Self::__MODEL_INPUT_NAMES,
            output_names: &Self::__MODEL_OUTPUT_NAMES,
            groups: &Self::__MODEL_GROUPS,
        };
        #[doc(hidden)]
        const __MODEL_SCRATCH: usize = __m::Plan { slots: &Self::__MODEL_PLAN.0, buffer_lens: &Self::__MODEL_PLAN.1 }.scratch_per_sample() * 4;
    });
    out
}

/// The lints that fired and are not silenced.
fn warnings(warnings: &[Warning], allow: &[Ident]) -> TokenStream {
    warnings
        .iter()
        .filter(|w| !allow.iter().any(|a| a == w.lint))
        .map(|w| {
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
        })
        .collect()
}

/// The struct, its impls and the `Model` impl.
fn items(
    def: &ModelDef,
    plan: &GraphPlan,
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
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let mut fields: Vec<TokenStream> = plan
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = field_of(plan, i);
            let doc = format!(
                "Weights of layer {i}, `{}` ({}), in Keras's order and layout.",
                l.name,
                l.ctor.kind.class_name()
            );
            match l.idents {
                Some(_) => quote! {
                    #[doc = #doc]
                    pub #field: ::model::LayerWeights
                },
                // A name that is not an identifier: the weights are still the model's, in
                // `layer_weights()`.
                None => quote! {
                    #[doc(hidden)]
                    pub #field: ::model::LayerWeights
                },
            }
        })
        .collect();
    if let Some(phantom) = phantom(def) {
        fields.push(quote!(#[doc(hidden)] __model_phantom: #phantom));
    }
    let (constants, trait_constants) = model_constants(&name.to_string(), shapes, mode);
    let allow = match mode {
        Mode::Checked => quote!(#[allow(dead_code)]),
        Mode::Placeholder => quote!(#[allow(dead_code, unused_variables)]),
    };
    let mut inherent = hidden;
    inherent.extend(constants);
    inherent.extend(layer_constants(plan, mode));
    let summary = match mode {
        Mode::Checked => quote!(Self::__MODEL_SUMMARY),
        Mode::Placeholder => quote!(__m::Summary::new(Self::LAYERS)),
    };
    inherent.extend(quote! {
        /// Keras's functional summary table, with the `Connected to` column;
        /// `.with_macs()` adds a column.
        pub fn summary() -> __m::Summary {
            #summary
        }
    });
    inherent.extend(methods(def, plan, shapes, mode));
    let inherent = Group::new(Delimiter::Brace, inherent);
    let mut trait_constants = trait_constants;
    trait_constants.extend(quote! {
        fn summary() -> __m::Summary {
            <Self>::summary()
        }
    });
    let trait_constants = Group::new(Delimiter::Brace, trait_constants);
    let count = plan.layers.len();
    let doc = format!(
        "\n\n*Generated by `model!`*: a graph of {} layer{}, {} input{} and {} output{}; see [`Model`](::model::Model) for its constants.",
        count,
        if count == 1 { "" } else { "s" },
        plan.inputs.len(),
        if plan.inputs.len() == 1 { "" } else { "s" },
        plan.outputs.len(),
        if plan.outputs.len() == 1 { "" } else { "s" },
    );
    let impls = quote! {
        use ::model::__private as __m;

        #[automatically_derived]
        #allow
        impl #impl_generics #name #ty_generics #where_clause #inherent

        #[automatically_derived]
        impl #impl_generics ::model::Model for #name #ty_generics #where_clause #trait_constants
    };
    let impls = Group::new(Delimiter::Brace, impls);
    quote! {
        #(#attrs)*
        #[doc = #doc]
        // One field per layer, named as Keras names it (`bn_Conv1` in MobileNetV2).
        #[allow(non_snake_case)]
        #vis struct #name #generics #where_clause { #(#fields),* }

        const _: () = #impls;
    }
}

/// The weights field of layer `i`: its name, or a hidden one when the name is not an
/// identifier.
fn field_of(plan: &GraphPlan, i: usize) -> Ident {
    match &plan.layers[i].idents {
        Some(idents) => idents.field.clone(),
        None => format_ident!("__model_layer_{}", i),
    }
}

fn layer_constants(plan: &GraphPlan, mode: Mode) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, l) in plan.layers.iter().enumerate() {
        let Some(idents) = &l.idents else { continue };
        let constant = &idents.constant;
        let doc = format!(
            "Layer {i}, `{}` ({}): its output shape (first call) and parameter counts.",
            l.name,
            l.ctor.kind.class_name()
        );
        let value = match mode {
            Mode::Checked => {
                let entry = format_ident!("__MODEL_INFO_{}", i);
                quote!(Self::#entry)
            }
            Mode::Placeholder => {
                let name = spanned_str(&l.name, constant.span());
                let kind = l.ctor.kind.class_name();
                quote!(__m::LayerInfo { name: #name, kind: #kind, ..__m::LayerInfo::EMPTY })
            }
        };
        out.extend(quote! {
            #[doc = #doc]
            pub const #constant: __m::LayerInfo = #value;
        });
    }
    out
}

/// The run-time methods. One input and one output: the sequential signatures. Several:
/// arrays of buffers, one per input and per output, in order.
fn methods(def: &ModelDef, plan: &GraphPlan, shapes: &Shapes, mode: Mode) -> TokenStream {
    let fields: Vec<Ident> = (0..plan.layers.len()).map(|i| field_of(plan, i)).collect();
    let count = fields.len();
    let phantom = phantom(def).map(|_| quote!(__model_phantom: ::core::marker::PhantomData,));
    let checked = mode == Mode::Checked;
    let body = |real: TokenStream, placeholder: TokenStream| {
        Group::new(Delimiter::Brace, if checked { real } else { placeholder })
    };
    let invalid = quote!(__m::invalid_model(Self::NAME));
    let (ni, no) = (plan.inputs.len(), plan.outputs.len());
    let single = ni == 1 && no == 1;
    let planned = quote! {
        __m::Plan { slots: &Self::__MODEL_PLAN.0, buffer_lens: &Self::__MODEL_PLAN.1 }
    };
    let init = body(
        quote! {
            match __m::init_graph(&Self::__MODEL_GRAPH, &Self::__MODEL_TENSORS, seed) {
                __m::Result::Ok(weights) => Self::from_layer_weights(weights),
                // Every call was evaluated at compile time, so initialization cannot fail.
                __m::Result::Err(e) => ::core::panic!("`{}`: {}", Self::NAME, e),
            }
        },
        quote!(Self::from_layer_weights(::std::vec::Vec::new())),
    );
    let load = body(
        quote! {
            ::model::runtime::load_layers(path, &Self::__MODEL_WEIGHT_NAMES, &Self::__MODEL_SPEC, &Self::__MODEL_LAYER_INPUTS)
                .map(Self::from_layer_weights)
        },
        quote!(__m::Result::Err(::model::LoadError::Model(#invalid))),
    );
    let save = body(
        quote! {
            ::model::runtime::save_layers(path, &Self::__MODEL_WEIGHT_NAMES, &Self::__MODEL_SPEC, &Self::__MODEL_LAYER_INPUTS, &self.layer_weights())
        },
        quote!(__m::Result::Err(::std::io::Error::other(#invalid.message))),
    );
    // The batch from the first input; every input is checked against it by the executor.
    let run = quote! {
        let batch = __m::batch_of(xs[0].len(), &Self::__MODEL_INPUTS[0])?;
        __m::predict_graph_into(&Self::__MODEL_GRAPH, &Self::__MODEL_TENSORS, &#planned, &self.layer_weights(), &xs, batch, outs, workspace.graph())
    };
    let io = if single {
        let predict = body(
            quote! {
                let batch = __m::batch_of(x.len(), &Self::__MODEL_INPUT)?;
                let mut out = ::std::vec![0.0f32; __m::batch_len(&Self::__MODEL_OUTPUT, batch)?];
                self.predict_into(x, &mut out, &mut ::model::Workspace::new())?;
                __m::Result::Ok(out)
            },
            quote!(__m::Result::Err(#invalid)),
        );
        let predict_into = body(
            quote! {
                let xs = [x];
                let outs: &mut [&mut [f32]] = &mut [out];
                #run
            },
            quote!(__m::Result::Err(#invalid)),
        );
        quote! {
            /// Runs a batch: `x` holds whole samples of `INPUT_SHAPE`, one after the other;
            /// returns as many samples of `OUTPUT_SHAPE`. A buffer that is not a whole number
            /// of samples is an error, never a panic.
            pub fn predict(&self, x: &[f32]) -> __m::Result<::std::vec::Vec<f32>, ::model::RuntimeError> #predict

            /// [`Self::predict`] into a caller's buffer, with a reusable workspace: after the
            /// first call for a batch size, nothing is allocated.
            pub fn predict_into(
                &self,
                x: &[f32],
                out: &mut [f32],
                workspace: &mut ::model::Workspace,
            ) -> __m::Result<(), ::model::RuntimeError> #predict_into
        }
    } else {
        let predict = body(
            quote! {
                let batch = __m::batch_of(xs[0].len(), &Self::__MODEL_INPUTS[0])?;
                let mut outs: [::std::vec::Vec<f32>; #no] = ::core::array::from_fn(|_| ::std::vec::Vec::new());
                for (o, shape) in outs.iter_mut().zip(&Self::__MODEL_OUTPUT_SHAPES) {
                    o.resize(__m::batch_len(shape, batch)?, 0.0);
                }
                {
                    let mut views: [&mut [f32]; #no] = {
                        let mut it = outs.iter_mut();
                        ::core::array::from_fn(|_| it.next().map_or(&mut [][..], |v| &mut v[..]))
                    };
                    self.predict_into(xs, &mut views, &mut ::model::Workspace::new())?;
                }
                __m::Result::Ok(outs)
            },
            quote!(__m::Result::Err(#invalid)),
        );
        let predict_into = body(
            quote! {
                let outs: &mut [&mut [f32]] = &mut outs[..];
                #run
            },
            quote!(__m::Result::Err(#invalid)),
        );
        quote! {
            /// Runs a batch: `xs[i]` holds whole samples of input `i` (`INPUT_SHAPES[i]`), the
            /// same number of each; returns one buffer per output (`OUTPUT_SHAPES`). A buffer
            /// that is not a whole number of samples is an error, never a panic.
            pub fn predict(&self, xs: [&[f32]; #ni]) -> __m::Result<[::std::vec::Vec<f32>; #no], ::model::RuntimeError> #predict

            /// [`Self::predict`] into the caller's buffers, one per output, with a reusable
            /// workspace: after the first call for a batch size, nothing is allocated.
            pub fn predict_into(
                &self,
                xs: [&[f32]; #ni],
                outs: &mut [&mut [f32]; #no],
                workspace: &mut ::model::Workspace,
            ) -> __m::Result<(), ::model::RuntimeError> #predict_into
        }
    };
    let predict_one = if single {
        predict_one(shapes, mode)
    } else {
        predict_one_multi(plan, mode)
    };
    let train_error = quote!(__m::Result::Err(#invalid));
    let (data_ty, fit_fn) = if single {
        (quote!(::model::data::Dataset), quote!(fit_graph))
    } else {
        (quote!(::model::data::MultiDataset), quote!(fit_graph_multi))
    };
    let fit = body(
        quote! {
            let options = ::model::train::FitOptions {
                layer_names: options.layer_names.or(::core::option::Option::Some(&Self::__MODEL_NAMES)),
                output_names: options.output_names.or(::core::option::Option::Some(&Self::__MODEL_OUTPUT_NAMES)),
                ..options
            };
            let mut weights = ::std::vec![#(::core::mem::take(&mut self.#fields)),*];
            let result = ::model::train::#fit_fn(&Self::__MODEL_GRAPH, &Self::__MODEL_TENSORS, &mut weights, train, options);
            *self = Self::from_layer_weights(weights);
            result
        },
        train_error.clone(),
    );
    let fit_doc = if single {
        quote! {
            /// Trains the model on `train` (Keras's `fit`): mini-batches, the optimizer and loss
            /// of `options`, a progress bar per epoch in a terminal, validation, checkpoints.
            /// Gradients are summed where a tensor feeds several layers and over a shared
            /// layer's calls. Returns the per-epoch metrics; the weights are updated in place.
        }
    } else {
        quote! {
            /// Trains the model on `train` (Keras's `fit`), which holds one array per input and
            /// one vector of labels per output, in the model's order. Each output takes its loss
            /// of `options.losses` (or `options.loss`), weighted by `options.loss_weights`; the
            /// logs hold the weighted total `loss` and each output's `<name>_loss` and
            /// `<name>_accuracy`. Gradients are summed where a tensor feeds several layers and
            /// over a shared layer's calls. The weights are updated in place.
        }
    };
    let evaluate = if single {
        let evaluate = body(
            quote! {
                ::model::train::evaluate_graph(&Self::__MODEL_GRAPH, &Self::__MODEL_TENSORS, &self.layer_weights(), data, loss, 32)
            },
            train_error,
        );
        quote! {
            /// The loss and accuracy on `data` in inference mode (Keras's `evaluate`), 32
            /// samples at a time.
            pub fn evaluate(
                &self,
                data: &::model::data::Dataset,
                loss: ::model::train::Loss,
            ) -> __m::Result<::model::train::Evaluation, ::model::train::TrainError> #evaluate
        }
    } else {
        let evaluate = body(
            quote! {
                ::model::train::evaluate_graph_multi(&Self::__MODEL_GRAPH, &Self::__MODEL_TENSORS, &self.layer_weights(), data, losses, loss_weights, &Self::__MODEL_OUTPUT_NAMES, 32)
            },
            train_error,
        );
        quote! {
            /// The losses and accuracies on `data` in inference mode (Keras's
            /// `evaluate(return_dict=True)`), 32 samples at a time: one loss per output
            /// (`losses`, or its one loss for every output), weighted by `loss_weights` (empty:
            /// 1 each) in the total `loss`, and each output's `<name>_loss` and
            /// `<name>_accuracy`.
            pub fn evaluate(
                &self,
                data: &::model::data::MultiDataset,
                losses: &[::model::train::Loss],
                loss_weights: &[f32],
            ) -> __m::Result<::model::train::Logs, ::model::train::TrainError> #evaluate
        }
    };
    let training = quote! {
        #fit_doc
        pub fn fit(
            &mut self,
            train: &#data_ty,
            options: ::model::train::FitOptions<'_>,
        ) -> __m::Result<::model::train::History, ::model::train::TrainError> #fit

        #evaluate
    };
    let layer_weights_ty = quote!([&::model::LayerWeights; #count]);
    let keras = super::runtime::keras_methods(mode);
    quote! {
        /// A model with Keras's default initializers (`glorot_uniform` kernels, orthogonal
        /// recurrent kernels, zero biases, …), deterministic for `seed`.
        pub fn init(seed: u64) -> Self #init

        /// Loads weights saved by [`Self::save`] (safetensors, tensors named
        /// `"{layer}/{weight}"` in Keras's layouts). Every missing tensor, wrong dtype or
        /// wrong shape is reported by name.
        pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> __m::Result<Self, ::model::LoadError> #load

        /// Saves the weights as safetensors, writing a temporary file then renaming it, so
        /// that a half-written file never replaces a good one.
        pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::std::io::Result<()> #save

        /// The weights of every layer, in order (empty for layers without weights); a shared
        /// layer has one set.
        pub fn layer_weights(&self) -> #layer_weights_ty {
            [#(&self.#fields),*]
        }

        /// The model from per-layer weights in order; missing layers get no weights (and
        /// inference then reports them).
        pub fn from_layer_weights(weights: ::std::vec::Vec<::model::LayerWeights>) -> Self {
            let mut weights = weights.into_iter();
            Self { #(#fields: weights.next().unwrap_or_default(),)* #phantom }
        }

        #io
        #predict_one
        #training
        #keras
    }
}

/// `predict_one` for several inputs or outputs: a tuple of typed samples in, a tuple of
/// typed samples out. Left out where an output's shape depends on a const generic or has no
/// axis (its type could not be written), and for a model with mistakes (whose users then
/// get the model's own errors, as for every method).
fn predict_one_multi(plan: &GraphPlan, mode: Mode) -> TokenStream {
    if mode != Mode::Checked {
        return quote!();
    }
    let mut outputs = Vec::new();
    for &(t, _) in &plan.outputs {
        match plan.tensors[t].shape {
            Some(s) if s.is_known() && s.rank() > 0 => outputs.push(
                s.dims()
                    .iter()
                    .map(|&d| {
                        let d = Literal::usize_unsuffixed(d);
                        quote!(#d)
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => return quote!(),
        }
    }
    let inputs: Vec<Vec<TokenStream>> = plan.inputs.iter().map(|i| dims_of(&i.dims)).collect();
    let in_types = inputs.iter().map(|d| super::runtime::array_type(d));
    let out_types: Vec<TokenStream> = outputs
        .iter()
        .map(|d| super::runtime::array_type(d))
        .collect();
    let xs: Vec<Ident> = (0..inputs.len()).map(|i| format_ident!("x{}", i)).collect();
    let ys: Vec<Ident> = (0..outputs.len())
        .map(|o| format_ident!("y{}", o))
        .collect();
    let x_flat = xs
        .iter()
        .zip(&inputs)
        .map(|(x, d)| super::runtime::flatten(quote!(#x), d.len(), false));
    let y_flat = ys
        .iter()
        .zip(&outputs)
        .map(|(y, d)| super::runtime::flatten(quote!(#y), d.len(), true));
    let zeros = outputs.iter().map(|d| {
        d.iter()
            .rev()
            .fold(quote!(0.0f32), |inner, d| quote!([#inner; #d]))
    });
    quote! {
        /// Runs one sample of each input, whose shapes are checked by their types, and
        /// returns one sample of each output.
        pub fn predict_one(&self, x: (#(&#in_types,)*)) -> __m::Result<(#(#out_types,)*), ::model::RuntimeError> {
            let (#(#xs,)*) = x;
            #(let mut #ys: #out_types = #zeros;)*
            self.predict_into([#(#x_flat),*], &mut [#(#y_flat),*], &mut ::model::Workspace::new())?;
            __m::Result::Ok((#(#ys,)*))
        }
    }
}

fn predict_one(shapes: &Shapes, mode: Mode) -> TokenStream {
    super::runtime::predict_one(shapes, mode)
}
