//! Building one layer from its arguments with `model-core`'s builder, reporting every
//! argument mistake at the argument.
//!
//! `build` stops at the first mistake. To report the later ones too, the argument at fault
//! is dropped and the layer built again, until it builds. Evaluation of the model then goes
//! on past the layer only when no dropped argument can have changed its output shape: a
//! misspelt keyword (`activaton = relu`) or a keyword given twice is read each way the user
//! may have meant it, and the shape must be the same every way; a bad value of an argument
//! (`Dense(-4)`) stops evaluation there, as the shape it was meant to give is not known.

use std::collections::HashSet;

use model_core::layer::{build, find_arg, keep_numbers, Arg, ArgError, Kind, KindInfo, Layer};
use model_core::Value;
use typed_arena::Arena;

use super::lookup_kind;
use crate::ast::{LayerDef, ValueDef};

/// Storage for the values of one expansion.
pub(super) struct Arenas<'a> {
    pub values: &'a Arena<Value<'a>>,
    pub strings: &'a Arena<String>,
}

/// What building one layer gave.
pub(super) enum Built {
    /// The layer as written.
    Clean(Layer),
    /// The layer without arguments that were reported as mistakes, and `readings`: the layer
    /// with each dropped argument read as the user may have meant it instead. Evaluation
    /// goes on only if every reading gives the layer's output shape.
    Repaired { layer: Layer, readings: Vec<Layer> },
    /// Not built, or built without an argument that may have changed its output shape; its
    /// mistakes are reported.
    Failed,
}

impl Built {
    /// The layer as written, if it built so.
    fn clean(self) -> Option<Layer> {
        match self {
            Built::Clean(layer) => Some(layer),
            Built::Repaired { .. } | Built::Failed => None,
        }
    }
}

/// Builds one layer (and its nested layers), reporting every argument mistake.
pub(super) fn build_layer<'a>(
    def: &LayerDef,
    kind: Kind,
    const_params: &HashSet<String>,
    arenas: &Arenas<'a>,
    errors: &mut Vec<syn::Error>,
) -> Built {
    let mut args = Vec::with_capacity(def.args.len());
    // Arguments whose value has a mistake of its own (reported), by index.
    let mut holes = Vec::new();
    for (i, a) in def.args.iter().enumerate() {
        let name = a
            .name
            .as_ref()
            .map(|n| arenas.strings.alloc(n.to_string()).as_str());
        match value(&a.value, const_params, arenas, errors) {
            Some(value) => args.push((i, Arg { name, value })),
            None => holes.push(i),
        }
    }
    // Tuples for arguments that keep numbers become `Value::Numbers`, as `spec` emits them.
    let mut all: Vec<Arg> = args.iter().map(|&(_, a)| a).collect();
    keep_numbers(kind, &mut all);
    for ((_, arg), kept) in args.iter_mut().zip(all) {
        *arg = kept;
    }
    if holes.is_empty() {
        let all: Vec<Arg> = args.iter().map(|&(_, a)| a).collect();
        if let Ok(layer) = build(kind, &all) {
            return Built::Clean(layer);
        }
    }
    repair(def, kind, args, &holes, errors)
}

/// How a dropped argument may have been meant.
enum Reading<'a> {
    /// A misspelt keyword: the argument under the keyword it is closest to.
    Renamed { arg: Arg<'a>, to: &'static str },
    /// A keyword given twice: the kept occurrence (by index) with the dropped one's value.
    Swapped { kept: usize, value: Value<'a> },
}

impl<'a> Reading<'a> {
    /// The layer built from `live` read this way, if it builds.
    fn build(&self, kind: Kind, live: &[(usize, Arg<'a>)]) -> Option<Layer> {
        let mut args: Vec<Arg> = live.iter().map(|&(_, a)| a).collect();
        match *self {
            Reading::Renamed { arg, to } => args.push(Arg {
                name: Some(to),
                value: arg.value,
            }),
            Reading::Swapped { kept, value } => {
                let at = live.iter().position(|&(i, _)| i == kept)?;
                args[at].value = value;
            }
        }
        build(kind, &args).ok()
    }
}

/// Builds a layer whose arguments have mistakes, reporting each: the argument at fault is
/// dropped and the rest built again. `args` are the arguments with a value, by index in
/// `def.args`; `holes` the indices of those whose value has a mistake (already reported).
fn repair<'a>(
    def: &LayerDef,
    kind: Kind,
    mut live: Vec<(usize, Arg<'a>)>,
    holes: &[usize],
    errors: &mut Vec<syn::Error>,
) -> Built {
    let info = kind.info();
    let positional = |i: usize| def.args.get(i).is_some_and(|a| a.name.is_none());
    // Dropping a positional argument would move the ones after it to other arguments.
    let shifts = |i: usize| positional(i) && (i + 1..def.args.len()).any(positional);
    // Whether every dropped argument leaves the output shape to the readings.
    let mut safe = holes.is_empty();
    let mut readings: Vec<Reading> = Vec::new();
    // The arguments a dropped one may have been meant to give; `None`: any.
    let mut meant: Vec<Option<&str>> = Vec::new();
    for &hole in holes {
        if shifts(hole) {
            return Built::Failed;
        }
        meant.push(slot(info, &def.args[hole].name, hole));
    }
    // Every round drops an argument or returns, so this ends.
    loop {
        let args: Vec<Arg> = live.iter().map(|&(_, a)| a).collect();
        let error = match build(kind, &args) {
            Ok(layer) if safe => {
                let mut others = Vec::with_capacity(readings.len());
                for reading in &readings {
                    match reading.build(kind, &live) {
                        Some(other) => others.push(other),
                        None => return Built::Failed,
                    }
                }
                return Built::Repaired {
                    layer,
                    readings: others,
                };
            }
            Ok(_) => return Built::Failed,
            Err(error) => error,
        };
        let Some(at) = error.arg().filter(|&at| at < live.len()) else {
            // `Missing`, the one error at no argument, comes once every argument is read.
            // It is not a second mistake when a dropped argument may have been meant to
            // give the missing one.
            if let ArgError::Missing { name } = error {
                if !meant.iter().any(|m| m.is_none_or(|m| m == name)) {
                    errors.push(syn::Error::new(
                        def.kind.span(),
                        error.describe(kind, &args),
                    ));
                }
            }
            return Built::Failed;
        };
        let (index, arg) = live[at];
        let written = &def.args[index];
        let span = match (&written.name, error) {
            (Some(n), ArgError::Unknown { .. } | ArgError::Duplicate { .. }) => n.span(),
            _ => written.value.span(),
        };
        errors.push(syn::Error::new(span, error.describe(kind, &args)));
        match error {
            ArgError::Unknown { .. } => {
                let keywords = info.args.iter().map(|a| a.name);
                let closest = model_core::suggest::suggest(arg.name.unwrap_or(""), keywords);
                match closest {
                    Some(to) => readings.push(Reading::Renamed { arg, to }),
                    None => safe = false,
                }
                meant.push(closest);
                live.remove(at);
            }
            ArgError::Duplicate { name, .. } => {
                let kept = live[..at]
                    .iter()
                    .find(|&&(i, _)| slot(info, &def.args[i].name, i) == Some(name));
                match kept {
                    Some(&(kept, _)) => readings.push(Reading::Swapped {
                        kept,
                        value: arg.value,
                    }),
                    None => safe = false,
                }
                live.remove(at);
            }
            ArgError::TooManyPositional { .. } => {
                // What the extra values were meant for is not known; every one is dropped
                // (positional arguments come first, so they follow one another).
                safe = false;
                meant.push(None);
                while live.get(at).is_some_and(|&(i, _)| positional(i)) {
                    live.remove(at);
                }
            }
            ArgError::Missing { .. } => return Built::Failed,
            ArgError::Bad { .. } | ArgError::Unsupported { .. } => {
                safe = false;
                if shifts(index) {
                    return Built::Failed;
                }
                meant.push(slot(info, &written.name, index));
                live.remove(at);
            }
        }
    }
}

/// The argument that the argument at `index`, with keyword `name`, gives: its keyword's, or
/// for a positional argument (they come first) the one at its position.
fn slot(info: &KindInfo, name: &Option<syn::Ident>, index: usize) -> Option<&'static str> {
    match name {
        Some(n) => find_arg(info.args, &n.to_string()).map(|s| info.args[s].name),
        None => info.args.get(index).map(|s| s.name),
    }
}

fn value<'a>(
    v: &ValueDef,
    const_params: &HashSet<String>,
    arenas: &Arenas<'a>,
    errors: &mut Vec<syn::Error>,
) -> Option<Value<'a>> {
    Some(match v {
        ValueDef::Int(i, _) => Value::Int(*i),
        ValueDef::Float(f, _) => Value::Float(*f),
        ValueDef::Bool(b, _) => Value::Bool(*b),
        ValueDef::Str(s, _) => Value::Str(arenas.strings.alloc(s.clone())),
        ValueDef::Ident(i) => {
            let word = i.to_string();
            if const_params.contains(&word) {
                Value::Unknown
            } else if word == "None" {
                Value::None
            } else if let Some(kind) = Kind::from_name(&word) {
                let nested = LayerDef {
                    name: None,
                    kind: i.clone(),
                    args: Vec::new(),
                };
                let layer = build_layer(&nested, kind, const_params, arenas, errors).clean()?;
                Value::Layer(leak(layer))
            } else {
                Value::Str(arenas.strings.alloc(word))
            }
        }
        ValueDef::Tuple(items, _) => {
            // Every item, so that each item's mistakes are reported.
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for item in items {
                match value(item, const_params, arenas, errors) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            Value::Tuple(arenas.values.alloc_extend(out))
        }
        ValueDef::Layer(l) => {
            let kind = lookup_kind(&l.kind, errors)?;
            let layer = build_layer(l, kind, const_params, arenas, errors).clean()?;
            Value::Layer(leak(layer))
        }
    })
}

/// Nested layers are `'static` in `model-core` (they live in `const` items); at expansion a
/// wrapped layer is leaked, a few dozen bytes per wrapper per expansion.
fn leak(layer: Layer) -> &'static Layer {
    Box::leak(Box::new(layer))
}
