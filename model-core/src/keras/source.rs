//! A [`Network`] as `model!` source: the stack form for a Sequential model whose layer
//! names are identifiers, the graph form (Keras's functional code as statements) otherwise.
//!
//! The vocabulary is the catalogue's: each layer's kind by its class name, its arguments by
//! the names of its kind's table ([`KindInfo::args`](crate::KindInfo)), written from its
//! configuration by [`super::write::arguments`]. An argument is printed when leaving it out
//! would build another layer, so every argument that differs from Keras's default is kept
//! and no default is; a per-dimension tuple of equal values is printed as one number
//! where that builds the same layer. The leading required arguments go by position, in
//! Keras's order (`Dense(10, activation = softmax)`). Nothing here names a kind, so a kind
//! added to the catalogue prints without new code.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::{layer_config, value};
use crate::graph::Network;
use crate::layer::{build, keep_numbers, Arg, Config, Kind, Layer};
use crate::value::Value;

/// `name` in CamelCase, as a Rust type name (`image_classifier` → `ImageClassifier`).
pub fn type_name(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Model");
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "None",
];

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "_"
}

/// A string as the DSL writes it: a word when it is one (`same`, `relu`), else quoted.
fn word_or_string(s: &str) -> String {
    if is_ident(s) && !KEYWORDS.contains(&s) {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

fn float(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// One value in the DSL's syntax.
fn print_value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Unknown => "_".to_string(),
        Value::Float(f) => float(*f),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => word_or_string(s),
        Value::None => "None".to_string(),
        Value::Tuple(items) => tuple(items.iter().map(print_value)),
        Value::Numbers(n) => tuple(n.iter().map(|f| float(*f))),
        Value::Layer(l) => layer_call(l),
    }
}

fn tuple(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// Whether `args` build a layer that computes what `layer` computes: the same Keras config
/// (a configuration may differ in what its kind does not read, such as the third axis of a
/// 2-D window).
fn builds(layer: &Layer, args: &[Arg<'static>]) -> bool {
    let mut args = args.to_vec();
    keep_numbers(layer.kind, &mut args);
    build(layer.kind, &args).is_ok_and(|built| layer_config(&built) == layer_config(layer))
}

/// The arguments that make `layer`, fewest first: every argument of its configuration,
/// less each one whose absence builds the same layer, and each tuple of equal integers
/// as one integer where that builds the same layer.
pub fn minimal_args(layer: &Layer) -> Vec<Arg<'static>> {
    let written = super::write::arguments(layer);
    let info = layer.kind.info();
    // In the kind's order, Keras's.
    let mut args: Vec<Arg<'static>> = info
        .args
        .iter()
        .filter_map(|spec| {
            let v = written.get(spec.name)?;
            Some(Arg {
                name: Some(spec.name),
                value: value(v).ok()?,
            })
        })
        .collect();
    if !builds(layer, &args) {
        // Never expected (the writer is the reader's inverse, tested on the corpora); print
        // everything rather than something wrong.
        return args;
    }
    let mut i = 0;
    while i < args.len() {
        let mut without = args.clone();
        without.remove(i);
        if builds(layer, &without) {
            args = without;
            continue;
        }
        // A tuple of equal integers as one integer, where that builds the same layer.
        if let Value::Tuple([first @ Value::Int(_), rest @ ..]) = args[i].value {
            if rest
                .iter()
                .all(|v| matches!((v, first), (Value::Int(a), Value::Int(b)) if a == b))
            {
                let mut one = args.clone();
                one[i].value = *first;
                if builds(layer, &one) {
                    args = one;
                }
            }
        }
        i += 1;
    }
    args
}

/// `Kind(positional, …, keyword = value, …)`, or `Kind` alone without arguments.
fn layer_call(layer: &Layer) -> String {
    let args = call_args(layer);
    if args.is_empty() {
        layer.kind.class_name().to_string()
    } else {
        format!("{}({})", layer.kind.class_name(), args.join(", "))
    }
}

/// The printed arguments: the leading required ones by position, the rest by keyword.
fn call_args(layer: &Layer) -> Vec<String> {
    let info = layer.kind.info();
    let mut out = Vec::new();
    for (i, arg) in minimal_args(layer).iter().enumerate() {
        let name = arg.name.unwrap_or("");
        let positional = i < info.positional
            && info
                .args
                .get(i)
                .is_some_and(|s| s.name == name && s.required);
        let v = print_value(&arg.value);
        out.push(if positional {
            v
        } else {
            format!("{name} = {v}")
        });
    }
    out
}

/// Keras's automatic names as the macro gives them, counted per kind in the order the
/// layers are written.
#[derive(Default)]
struct AutoNames(HashMap<&'static str, usize>);

impl AutoNames {
    /// Whether a layer of `kind` written without a name gets `given`; the count moves on
    /// only then, as a named layer takes no automatic name.
    fn takes(&mut self, kind: Kind, given: &str) -> bool {
        let stem = kind.info().auto_name;
        let c = self.0.entry(stem).or_insert(0);
        let auto = if *c == 0 {
            stem.to_string()
        } else {
            format!("{stem}_{c}")
        };
        let takes = auto == given;
        if takes {
            *c += 1;
        }
        takes
    }
}

fn dims(d: &[usize]) -> String {
    d.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `model!` source for `network`, its struct named `name`; `doc` becomes its doc comment,
/// and `not_kept[l]` (empty, or one list per layer) a comment above layer `l`: what the
/// file said that the layer does not keep.
pub fn source(network: &Network, name: &str, doc: &str, not_kept: &[Vec<String>]) -> String {
    let comment = |l: usize| -> String {
        match not_kept.get(l) {
            Some(notes) if !notes.is_empty() => format!(
                "        // not kept from Keras (training only): {}\n",
                notes.join(", ")
            ),
            _ => String::new(),
        }
    };
    let g = &network.graph;
    let stack_names = network
        .layer_names
        .iter()
        .all(|n| is_ident(n) && !KEYWORDS.contains(n));
    let mut out = String::new();
    let _ = writeln!(out, "model! {{");
    for line in doc.lines() {
        let _ = writeln!(out, "    /// {line}");
    }
    let _ = writeln!(out, "    pub struct {name} {{");
    if network.sequential && stack_names && g.inputs.len() == 1 {
        let _ = writeln!(out, "        input: [{}],", dims(g.inputs[0].dims()));
        let mut auto = AutoNames::default();
        for (l, layer) in g.layers.iter().enumerate() {
            let given = network.layer_names[l];
            let label = if auto.takes(layer.kind, given) {
                String::new()
            } else {
                format!("{given}: ")
            };
            out.push_str(&comment(l));
            let _ = writeln!(out, "        {label}{},", layer_call(layer));
        }
    } else {
        graph_body(network, &mut out, &comment);
    }
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out, "}}");
    out
}

/// A variable name for `name`, unused so far.
fn variable(name: &str, taken: &mut HashSet<String>) -> String {
    let mut base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !is_ident(&base) || KEYWORDS.contains(&base.as_str()) {
        base.insert(0, 'x');
        base.insert(1, '_');
    }
    let mut v = base.clone();
    let mut i = 1;
    while !taken.insert(v.clone()) {
        v = format!("{base}_{i}");
        i += 1;
    }
    v
}

fn graph_body(network: &Network, out: &mut String, comment: &dyn Fn(usize) -> String) {
    let g = &network.graph;
    let mut taken = HashSet::new();
    let mut tensor_var: Vec<String> = Vec::with_capacity(g.tensors());
    for (i, shape) in g.inputs.iter().enumerate() {
        let given = network.input_names[i];
        let auto = if i == 0 {
            "input_layer".to_string()
        } else {
            format!("input_layer_{i}")
        };
        let var = variable(given, &mut taken);
        let named = if given == auto {
            String::new()
        } else {
            format!(", name = {given:?}")
        };
        let _ = writeln!(
            out,
            "        let {var} = Input([{}]{named});",
            dims(shape.dims())
        );
        tensor_var.push(var);
    }
    let calls = |l: usize| g.nodes.iter().filter(|n| n.layer == l).count();
    let mut auto = AutoNames::default();
    let mut layer_var: HashMap<usize, String> = HashMap::new();
    // Each nested model's variable, and the tensor its current call makes.
    let mut group_var: HashMap<&str, String> = HashMap::new();
    let mut group_out = String::new();
    for node in g.nodes {
        let l = node.layer;
        let layer = &g.layers[l];
        let given = network.layer_names[l];
        if let Some(group) = network.group_of(l) {
            // A nested `Sequential`: written whole at its first call, then called.
            if l == group.first {
                if !group_var.contains_key(group.name) {
                    let v = variable(&format!("{}_model", group.name), &mut taken);
                    let _ = writeln!(out, "        let {v} = Sequential([");
                    for inner in group.first..group.first + group.len {
                        let (il, iname) = (&g.layers[inner], network.layer_names[inner]);
                        let mut args = call_args(il);
                        if !auto.takes(il.kind, iname) {
                            args.push(format!("name = {iname:?}"));
                        }
                        let _ = writeln!(
                            out,
                            "            {}({}),",
                            il.kind.class_name(),
                            args.join(", ")
                        );
                    }
                    let _ = writeln!(out, "        ], name = {:?});", group.name);
                    group_var.insert(group.name, v);
                }
                group_out = variable(group.name, &mut taken);
                let _ = writeln!(
                    out,
                    "        let {group_out} = {}({});",
                    group_var[group.name], tensor_var[node.inputs[0]]
                );
            }
            tensor_var.push(group_out.clone());
            continue;
        }
        if let Config::Arithmetic(a) = &layer.config {
            // An operation is written as its operator; its name is always the automatic one
            // (the language has no way to name it), so a file's own name is not kept.
            auto.takes(layer.kind, given);
            let (x, c, op) = (
                &tensor_var[node.inputs[0]],
                float(a.constant),
                a.op.symbol(),
            );
            let expr = if a.constant_first {
                format!("{c} {op} {x}")
            } else {
                format!("{x} {op} {c}")
            };
            let var = variable(given, &mut taken);
            let _ = writeln!(out, "        let {var} = {expr};");
            tensor_var.push(var);
            continue;
        }
        let mut args = || {
            let mut args = call_args(layer);
            if !auto.takes(layer.kind, given) {
                args.push(format!("name = {given:?}"));
            }
            format!("{}({})", layer.kind.class_name(), args.join(", "))
        };
        let inputs: Vec<&str> = node
            .inputs
            .iter()
            .map(|&t| tensor_var[t].as_str())
            .collect();
        let on = if layer.config.merge().is_some() {
            format!("([{}])", inputs.join(", "))
        } else {
            format!("({})", inputs.join(", "))
        };
        if !layer_var.contains_key(&l) {
            out.push_str(&comment(l));
        }
        let var = if calls(l) > 1 {
            // A shared layer: one `let` for the layer, then each call.
            let shared = match layer_var.get(&l) {
                Some(v) => v.clone(),
                None => {
                    let v = variable(&format!("{given}_layer"), &mut taken);
                    let _ = writeln!(out, "        let {v} = {};", args());
                    layer_var.insert(l, v.clone());
                    v
                }
            };
            let var = variable(given, &mut taken);
            let _ = writeln!(out, "        let {var} = {shared}{on};");
            var
        } else {
            let var = variable(given, &mut taken);
            let _ = writeln!(out, "        let {var} = {}{on};", args());
            var
        };
        tensor_var.push(var);
    }
    let outputs: Vec<&str> = g.outputs.iter().map(|&t| tensor_var[t].as_str()).collect();
    let _ = if outputs.len() == 1 {
        writeln!(out, "        {}", outputs[0])
    } else {
        writeln!(out, "        ({})", outputs.join(", "))
    };
}
