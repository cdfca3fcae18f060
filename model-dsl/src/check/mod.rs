//! Validation: every layer built and evaluated with `model-core`, at expansion time, so
//! each mistake is reported at the token that caused it. Const generic parameters are
//! unknown here; checks that depend on them are left to `const` evaluation at instantiation.
//!
//! Checking goes on after a mistake: `build` reports every argument mistake of a layer, and
//! the layers after it are evaluated when its output shape is still known.

mod build;

use std::collections::{HashMap, HashSet};

use model_core::layer::{Kind, Layer, KINDS};
use model_core::{Shape, UNKNOWN};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{GenericParam, Ident};
use typed_arena::Arena;

use self::build::{build_layer, Arenas, Built};
use crate::ast::{DimDef, LayerDef, ModelDef};
use crate::expand::MODEL_CONSTANTS;

/// The lints, by the name a user silences them with.
pub const LINTS: &[&str] = &[
    "softmax_axis_of_one",
    "dropout_last",
    "unused_tensor",
    "unused_input",
];

/// A compile-time warning at a span.
pub struct Warning {
    /// The lint's name, one of [`LINTS`].
    pub lint: &'static str,
    /// The layer it is about.
    pub span: Span,
    /// What is wrong and how to silence it.
    pub message: String,
}

/// What expansion needs about one layer.
pub struct PlannedLayer<'d> {
    /// The layer as written.
    pub def: &'d LayerDef,
    /// Its kind, unless the kind is unknown.
    pub kind: Option<Kind>,
    /// Its name: given, or Keras's automatic one; empty when neither is known.
    pub name: String,
    /// The weights field and the per-layer constant named after the layer; `None` when the
    /// name is not known, would shadow a model constant, or is an earlier layer's.
    pub idents: Option<LayerIdents>,
}

/// The items named after a layer.
pub struct LayerIdents {
    /// The weights field: the name as written (`hidden`, `r#type`) or Keras's automatic one.
    pub field: Ident,
    /// The per-layer constant: the name upper-cased (`HIDDEN`, `CONV2D_1`).
    pub constant: Ident,
}

/// The checked model.
pub struct Plan<'d> {
    /// Every layer that parsed, in order.
    pub layers: Vec<PlannedLayer<'d>>,
    /// Names of the const generic parameters.
    pub const_params: HashSet<String>,
    /// The output shape (dimensions that depend on const generics unknown), when every
    /// layer could be evaluated.
    pub output: Option<Shape>,
    /// The lints that fired and are not silenced.
    pub warnings: Vec<Warning>,
}

/// The const generic parameters' names, after checking the header: only const parameters,
/// and known lint names in `#[model(allow(…))]`.
pub fn header(def: &ModelDef, errors: &mut Vec<syn::Error>) -> HashSet<String> {
    let const_params: HashSet<String> = def
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Const(c) => Some(c.ident.to_string()),
            _ => None,
        })
        .collect();
    for param in &def.generics.params {
        if !matches!(param, GenericParam::Const(_)) {
            errors.push(syn::Error::new_spanned(
                param,
                "a model takes only const generic parameters, e.g. `struct Mlp<const UNITS: usize>`",
            ));
        }
    }
    for lint in &def.allow {
        if !LINTS.contains(&lint.to_string().as_str()) {
            let hint = match model_core::suggest::suggest(&lint.to_string(), LINTS.iter().copied())
            {
                Some(s) => format!("; did you mean `{s}`?"),
                None => format!(
                    "; the lints are {}",
                    LINTS
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            errors.push(syn::Error::new(
                lint.span(),
                format!("unknown lint `{lint}`{hint}"),
            ));
        }
    }
    const_params
}

/// Checks the model, pushing every error found.
pub fn check<'d>(def: &'d ModelDef, errors: &mut Vec<syn::Error>) -> Plan<'d> {
    let const_params = header(def, errors);

    // The input shape, with const generic parameters unknown.
    let mut input = None;
    if let Some(i) = &def.input {
        let mut dims = Vec::new();
        let mut ok = true;
        for d in &i.dims {
            match d {
                DimDef::Lit(n) => dims.push(*n),
                DimDef::Param(p) if const_params.contains(&p.to_string()) => dims.push(UNKNOWN),
                DimDef::Param(p) => {
                    ok = false;
                    errors.push(syn::Error::new(
                        p.span(),
                        format!("`{p}` is not a const generic parameter of `{}`; declare it as `struct {}<const {p}: usize>`", def.name, def.name),
                    ));
                }
            }
        }
        if ok {
            input = Some(Shape::new(&dims));
        }
    }

    // Names: Keras's automatic ones, counted per kind, and the given ones.
    let mut layers = Vec::new();
    let mut counters: HashMap<Kind, usize> = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    for l in &def.layers {
        let kind = lookup_kind(&l.kind, errors);
        let name = match (&l.name, kind) {
            // `r#type: Dense(8)` is the layer `type`, its field `r#type`.
            (Some(n), _) => n.unraw().to_string(),
            (None, Some(k)) => {
                let c = counters.entry(k).or_insert(0);
                let name = if *c == 0 {
                    k.info().auto_name.to_string()
                } else {
                    format!("{}_{}", k.info().auto_name, c)
                };
                *c += 1;
                name
            }
            (None, None) => String::new(),
        };
        let idents = if name.is_empty() {
            None
        } else {
            layer_idents(l, &name, &mut taken, errors)
        };
        layers.push(PlannedLayer {
            def: l,
            kind,
            name,
            idents,
        });
    }

    // Build and evaluate in order.
    let (values, strings) = (Arena::new(), Arena::new());
    let arenas = Arenas {
        values: &values,
        strings: &strings,
    };
    let mut shape = input;
    let mut warnings = Vec::new();
    let mut previous = String::from("the input");
    for (index, planned) in layers.iter().enumerate() {
        let Some(kind) = planned.kind else {
            shape = None;
            continue;
        };
        let (layer, readings) = match build_layer(planned.def, kind, &const_params, &arenas, errors)
        {
            Built::Clean(layer) => (layer, Vec::new()),
            Built::Repaired { layer, readings } => (layer, readings),
            Built::Failed => {
                shape = None;
                continue;
            }
        };
        let Some(input_shape) = shape else {
            continue;
        };
        // A layer built without a misspelt or repeated argument goes on only when each way
        // of reading that argument gives the same output; when each fails, so did the user's.
        let others: Vec<Option<Shape>> = readings
            .iter()
            .map(|r| r.eval(&input_shape).ok().map(|e| e.output))
            .collect();
        match layer.eval(&input_shape) {
            Ok(e) if others.iter().all(|o| *o == Some(e.output)) => {
                lint(
                    &layer,
                    &e.output,
                    index + 1 == layers.len(),
                    planned,
                    &mut warnings,
                );
                shape = Some(e.output);
                previous = format!("`{}`", planned.name);
            }
            Err(e) if others.iter().all(Option::is_none) => {
                errors.push(syn::Error::new(
                    planned.def.kind.span(),
                    format!(
                        "{e}\n(layer {index} `{}`, whose input comes from {previous})",
                        planned.name
                    ),
                ));
                shape = None;
            }
            Ok(_) | Err(_) => shape = None,
        }
    }
    warnings.retain(|w| !def.allow.iter().any(|a| a == w.lint));
    Plan {
        layers,
        const_params,
        output: shape,
        warnings,
    }
}

/// The field and constant named after a layer, unless its name is taken by an earlier
/// layer (compared upper-cased, as the constants are), shadows one of the items the macro
/// defines, or has no upper-case identifier.
fn layer_idents(
    l: &LayerDef,
    name: &str,
    taken: &mut HashSet<String>,
    errors: &mut Vec<syn::Error>,
) -> Option<LayerIdents> {
    let span = l.name.as_ref().map_or(l.kind.span(), Ident::span);
    let upper = name.to_uppercase();
    if MODEL_CONSTANTS.iter().any(|c| c.name == upper) {
        errors.push(syn::Error::new(
            span,
            format!("the layer name `{name}` would shadow the model constant `{upper}`; choose another name"),
        ));
        return None;
    }
    if upper.starts_with("__MODEL_") {
        errors.push(syn::Error::new(
            span,
            format!("the layer name `{name}` would clash with the macro's hidden items (`__MODEL_…`); choose another name"),
        ));
        return None;
    }
    if !taken.insert(upper.clone()) {
        errors.push(syn::Error::new(
            span,
            format!("duplicate layer name `{name}`: every layer needs its own name (the per-layer constant is `{upper}`); rename one"),
        ));
        return None;
    }
    let field = match &l.name {
        Some(n) => Some(n.clone()),
        None => ident(name, span),
    };
    match (field, ident(&upper, span)) {
        (Some(field), Some(constant)) => Some(LayerIdents { field, constant }),
        _ => {
            errors.push(syn::Error::new(
                span,
                format!("the layer name `{name}` has no upper-case form `{upper}` that Rust accepts as a constant's name; choose another name"),
            ));
            None
        }
    }
}

/// `s` as an identifier at `span`, or `None` when Rust does not accept it as one
/// (`Ident::new` would panic).
fn ident(s: &str, span: Span) -> Option<Ident> {
    let plain = !s.is_empty()
        && s != "_"
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    // `Ident::new` accepts any plain ASCII word (keywords too, which these names never
    // are); `syn` checks the rest (non-ASCII names) without panicking.
    let mut ident = if plain {
        Ident::new(s, span)
    } else {
        syn::parse_str::<Ident>(s).ok()?
    };
    ident.set_span(span);
    Some(ident)
}

/// The kind named `ident`, or an error with the nearest kind's name.
fn lookup_kind(ident: &Ident, errors: &mut Vec<syn::Error>) -> Option<Kind> {
    let name = ident.to_string();
    if let Some(k) = Kind::from_name(&name) {
        return Some(k);
    }
    let names = KINDS
        .iter()
        .flat_map(|k| std::iter::once(k.class_name).chain(k.aliases.iter().copied()));
    let hint = match model_core::suggest::suggest(&name, names) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => "; see the layer catalogue in the `model` crate's documentation".to_string(),
    };
    errors.push(syn::Error::new(
        ident.span(),
        format!("unknown layer kind `{name}`{hint}"),
    ));
    None
}

fn lint(
    layer: &Layer,
    output: &Shape,
    last: bool,
    planned: &PlannedLayer,
    warnings: &mut Vec<Warning>,
) {
    let softmax = matches!(layer.activation(), model_core::Activation::Softmax)
        || layer.kind == Kind::Softmax;
    if softmax && output.last() == 1 {
        warnings.push(Warning {
            lint: "softmax_axis_of_one",
            span: planned.def.kind.span(),
            message: format!(
                "softmax over an axis of size 1 always returns 1 (layer `{}`); did you mean `sigmoid`? \
                 Silence with `#[model(allow(softmax_axis_of_one))]`",
                planned.name
            ),
        });
    }
    let dropout = matches!(
        layer.kind,
        Kind::Dropout | Kind::SpatialDropout1D | Kind::SpatialDropout2D | Kind::SpatialDropout3D
    );
    if dropout && last {
        warnings.push(Warning {
            lint: "dropout_last",
            span: planned.def.kind.span(),
            message: format!(
                "`{}` is the last layer: dropout on the model's output only adds noise to its predictions in training; \
                 move it before the last layer, or silence with `#[model(allow(dropout_last))]`",
                planned.name
            ),
        });
    }
}
