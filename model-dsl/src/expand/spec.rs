//! Each layer's description as a `const` item: `model-core`'s builder called on the
//! arguments as written, so that generic models are checked again in `const` evaluation.

use model_core::layer::{spec_of, Arg, Kind};
use model_core::ArgType;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::{spanned_str, spanned_usize};
use crate::ast::{LayerDef, ValueDef};
use crate::check::Plan;

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

/// Whether each argument of `l` is one that keeps numbers (`ArgType::Numbers`).
fn keeps_numbers(kind: Kind, l: &LayerDef) -> Vec<bool> {
    if !model_core::layer::keeps_numbers(kind) {
        return vec![false; l.args.len()];
    }
    let names: Vec<Option<String>> = l
        .args
        .iter()
        .map(|a| a.name.as_ref().map(|n| n.to_string()))
        .collect();
    let probe: Vec<Arg> = names
        .iter()
        .map(|n| Arg {
            name: n.as_deref(),
            value: model_core::Value::None,
        })
        .collect();
    (0..probe.len())
        .map(|i| {
            spec_of(kind, &probe, i)
                .is_some_and(|s| matches!(s.ty, ArgType::Numbers | ArgType::OptNumbers))
        })
        .collect()
}

/// A tuple of numbers as `__m::Value::Numbers(&[..])`, as `keep_numbers` makes it when
/// checking; `None` for any other value.
fn numbers(v: &ValueDef) -> Option<TokenStream> {
    let ValueDef::Tuple(items, span) = v else {
        return None;
    };
    let lits = items
        .iter()
        .map(|i| match i {
            ValueDef::Int(n, _) => Some(Literal::f64_unsuffixed(*n as f64)),
            ValueDef::Float(f, _) => Some(Literal::f64_unsuffixed(*f)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(quote_spanned!(*span=> __m::Value::Numbers(&[#(#lits),*])))
}

/// `expect_layer_built(Kind::X, &[args], "name", index)`.
pub(crate) fn layer_expr(
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
    let keeps = keeps_numbers(kind, l);
    let args: Vec<TokenStream> = l
        .args
        .iter()
        .zip(keeps)
        .map(|(a, keeps)| {
            let v = match (keeps, numbers(&a.value)) {
                (true, Some(n)) => n,
                _ => value(&a.value, plan, name, index, nested),
            };
            let span = a.value.span();
            match &a.name {
                Some(n) => {
                    let n = spanned_str(&n.to_string(), n.span());
                    quote_spanned!(span=> __m::Arg::keyword(#n, #v))
                }
                None => quote_spanned!(span=> __m::Arg::positional(#v)),
            }
        })
        .collect();
    let span = l.kind.span();
    let (name, index) = (spanned_str(name, span), spanned_usize(index, span));
    quote_spanned! {span=>
        __m::expect_layer_built(__m::Kind::#variant, &[#(#args),*], #name, #index)
    }
}
