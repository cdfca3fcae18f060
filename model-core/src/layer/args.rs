//! Argument binding: a layer kind's arguments as written (by position or keyword) checked
//! against its table, stored into its configuration, and the messages for each mistake.

use super::{Activation, Kind, Layer};
use crate::value::{check, str_eq, tri, ArgType, Value, ValueProblem};

/// One argument of a layer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSpec {
    /// Keras's keyword.
    pub name: &'static str,
    /// What it accepts.
    pub ty: ArgType,
    /// Whether it must be given.
    pub required: bool,
}

/// Shorthand for argument tables.
pub(crate) const fn arg(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: false,
    }
}

/// Shorthand for required arguments.
pub(crate) const fn req(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: true,
    }
}

/// One argument as written: by position (`name: None`) or by keyword.
#[derive(Clone, Copy, Debug)]
pub struct Arg<'a> {
    /// The keyword, or `None` for a positional argument.
    pub name: Option<&'a str>,
    /// The value.
    pub value: Value<'a>,
}

impl<'a> Arg<'a> {
    /// A positional argument (the generated code writes arguments through these two, to
    /// keep the expansion small).
    pub const fn positional(value: Value<'a>) -> Arg<'a> {
        Arg { name: None, value }
    }

    /// A keyword argument.
    pub const fn keyword(name: &'a str, value: Value<'a>) -> Arg<'a> {
        Arg {
            name: Some(name),
            value,
        }
    }
}

/// Why a layer's arguments cannot be accepted. `arg` indexes the offending argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgError {
    /// No argument of that name.
    Unknown {
        /// Index of the argument.
        arg: usize,
    },
    /// More positional arguments than the kind takes.
    TooManyPositional {
        /// Index of the argument.
        arg: usize,
    },
    /// An argument given twice.
    Duplicate {
        /// Index of the second occurrence.
        arg: usize,
        /// The argument's name.
        name: &'static str,
    },
    /// A required argument missing.
    Missing {
        /// The argument's name.
        name: &'static str,
    },
    /// A value that does not fit.
    Bad {
        /// Index of the argument.
        arg: usize,
        /// The argument.
        spec: ArgSpec,
        /// What is wrong.
        problem: ValueProblem,
    },
    /// A combination of values the kind does not support.
    Unsupported {
        /// Index of the argument.
        arg: usize,
        /// Why.
        why: &'static str,
    },
}

/// Builds a layer of `kind` from its arguments, checking each as Keras would: names,
/// positions, duplicates, types and ranges, and required arguments.
pub const fn build(kind: Kind, args: &[Arg]) -> Result<Layer, ArgError> {
    let info = kind.info();
    let mut config = info.default;
    let mut seen = [false; 16];
    let mut positional = 0;
    let mut i = 0;
    while i < args.len() {
        let slot = match args[i].name {
            None => {
                if positional >= info.positional || positional >= info.args.len() {
                    return Err(ArgError::TooManyPositional { arg: i });
                }
                positional += 1;
                positional - 1
            }
            Some(name) => match find_arg(info.args, name) {
                Some(slot) => slot,
                None => return Err(ArgError::Unknown { arg: i }),
            },
        };
        let spec = info.args[slot];
        if seen[slot] {
            return Err(ArgError::Duplicate {
                arg: i,
                name: spec.name,
            });
        }
        seen[slot] = true;
        // Keras's `None` means "the default" for every argument that is not required.
        if let Value::None = args[i].value {
            if !spec.required && !accepts_none(spec.ty) {
                i += 1;
                continue;
            }
        }
        let checked = match check(spec.ty, &args[i].value) {
            Ok(c) => c,
            Err(problem) => {
                return Err(ArgError::Bad {
                    arg: i,
                    spec,
                    problem,
                })
            }
        };
        tri!(config.set(spec.name, checked, i));
        i += 1;
    }
    let mut slot = 0;
    while slot < info.args.len() {
        if info.args[slot].required && !seen[slot] {
            return Err(ArgError::Missing {
                name: info.args[slot].name,
            });
        }
        slot += 1;
    }
    Ok(Layer { kind, config })
}

const fn accepts_none(ty: ArgType) -> bool {
    matches!(
        ty,
        ArgType::OptNonNegFloat | ArgType::OptDims(_) | ArgType::OptIntList | ArgType::Activation
    )
}

/// The index of argument `name` in `args`.
pub const fn find_arg(args: &[ArgSpec], name: &str) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        if str_eq(args[i].name, name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The unit tests' way of writing a layer: [`build`] from keyword arguments, panicking with
/// the evaluator's message when they are not valid.
#[cfg(test)]
pub(crate) fn test_layer(kind: Kind, args: &[(&'static str, Value<'static>)]) -> Layer {
    let args: Vec<Arg> = args
        .iter()
        .map(|&(name, value)| Arg {
            name: Some(name),
            value,
        })
        .collect();
    build(kind, &args).unwrap_or_else(|e| panic!("{kind:?}: {}", e.describe(kind, &args)))
}

impl ArgError {
    /// The index of the argument at fault, if one is.
    pub const fn arg(&self) -> Option<usize> {
        match *self {
            ArgError::Unknown { arg }
            | ArgError::TooManyPositional { arg }
            | ArgError::Duplicate { arg, .. }
            | ArgError::Bad { arg, .. }
            | ArgError::Unsupported { arg, .. } => Some(arg),
            ArgError::Missing { .. } => None,
        }
    }

    /// The message for a user: what was expected, what arrived, and a hint.
    pub fn describe(&self, kind: Kind, args: &[Arg]) -> String {
        let info = kind.info();
        let class = info.class_name;
        let keywords = || info.args.iter().map(|a| a.name);
        let list = |names: Vec<&str>| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match *self {
            ArgError::Unknown { arg } => {
                let name = args[arg].name.unwrap_or("");
                let mut m = format!("`{class}` has no argument `{name}`");
                match crate::suggest::suggest(name, keywords()) {
                    Some(s) => m.push_str(&format!("; did you mean `{s}`?")),
                    None if info.args.is_empty() => m.push_str("; it takes no arguments"),
                    None => m.push_str(&format!(
                        "; its arguments are {}",
                        list(keywords().collect())
                    )),
                }
                m
            }
            ArgError::TooManyPositional { .. } => {
                let positional: Vec<&str> = keywords().take(info.positional).collect();
                if positional.is_empty() {
                    format!("`{class}` takes no positional arguments; write `keyword = value`")
                } else {
                    format!(
                        "`{class}` takes at most {} positional argument{} ({}); write the rest as `keyword = value`",
                        positional.len(),
                        if positional.len() == 1 { "" } else { "s" },
                        list(positional)
                    )
                }
            }
            ArgError::Duplicate { name, .. } => {
                format!("`{name}` is given more than once; keep one")
            }
            ArgError::Missing { name } => {
                let pos = info
                    .args
                    .iter()
                    .position(|a| a.name == name)
                    .unwrap_or(usize::MAX);
                if pos < info.positional {
                    format!(
                        "`{class}` needs `{name}` (positional argument {} or `{name} = …`)",
                        pos + 1
                    )
                } else {
                    format!("`{class}` needs `{name} = …`")
                }
            }
            ArgError::Bad { arg, spec, problem } => {
                let got = describe_value(&args[arg].value);
                let expected = match spec.ty {
                    ArgType::Choice(choices) => {
                        format!("one of {}", list(choices.to_vec()))
                    }
                    ArgType::Activation => {
                        "an activation (`relu`, `sigmoid`, `softmax`, `tanh`, `linear`, …)"
                            .to_string()
                    }
                    ty => ty.describe().to_string(),
                };
                let mut m = match problem {
                    ValueProblem::WrongLength => {
                        format!(
                            "`{}` expects {expected}, but got a tuple of the wrong length: {got}",
                            spec.name
                        )
                    }
                    _ => format!("`{}` expects {expected}, but got {got}", spec.name),
                };
                if let (Value::Str(s), ArgType::Choice(choices)) = (args[arg].value, spec.ty) {
                    if let Some(near) = crate::suggest::suggest(s, choices.iter().copied()) {
                        m.push_str(&format!("; did you mean `{near}`?"));
                    }
                }
                if let (Value::Str(s), ArgType::Activation) = (args[arg].value, spec.ty) {
                    if let Some(near) =
                        crate::suggest::suggest(s, Activation::ALL.iter().map(|a| a.name()))
                    {
                        m.push_str(&format!("; did you mean `{near}`?"));
                    }
                }
                m
            }
            ArgError::Unsupported { arg, why } => {
                let name = args[arg]
                    .name
                    .map(|n| format!("`{n}`: "))
                    .unwrap_or_default();
                format!("{name}{why}")
            }
        }
    }
}

/// A value as a user wrote it, for messages.
pub fn describe_value(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("`{i}`"),
        Value::Unknown => "a const generic parameter".to_string(),
        Value::Float(f) => format!("`{f:?}`"),
        Value::Bool(b) => format!("`{b}`"),
        Value::Str(s) => format!("`{s}`"),
        Value::Tuple(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| describe_value(i).trim_matches('`').to_string())
                .collect();
            format!("`({})`", inner.join(", "))
        }
        Value::None => "`None`".to_string(),
        Value::Layer(l) => format!("a `{}` layer", l.kind.class_name()),
        Value::Numbers(items) => {
            let inner: Vec<String> = items.iter().map(|v| format!("{v:?}")).collect();
            format!("`({})`", inner.join(", "))
        }
    }
}

/// The argument of `kind` that `args[i]` gives (by position or keyword), if it names one:
/// for producers of values that depend on the argument's type ([`crate::Value::Numbers`]).
pub fn spec_of(kind: Kind, args: &[Arg], i: usize) -> Option<ArgSpec> {
    let info = kind.info();
    match args.get(i)?.name {
        Some(name) => find_arg(info.args, name).map(|at| info.args[at]),
        None => {
            let position = args[..i].iter().filter(|a| a.name.is_none()).count();
            (position < info.positional)
                .then(|| info.args.get(position).copied())
                .flatten()
        }
    }
}

/// Turns the tuples of the arguments that keep numbers (`Normalization`'s mean, a
/// per-channel `Rescaling`) into [`Value::Numbers`], leaked to be `'static` (a few values
/// per such argument). Every producer of arguments calls it before [`build`]: the Keras
/// reader, the macro's checker and its graph interpreter.
pub fn keep_numbers(kind: Kind, args: &mut [Arg<'_>]) {
    if !keeps_numbers(kind) {
        return;
    }
    for i in 0..args.len() {
        let takes_numbers = spec_of(kind, args, i)
            .is_some_and(|s| matches!(s.ty, ArgType::Numbers | ArgType::OptNumbers));
        if let (true, Value::Tuple(items)) = (takes_numbers, args[i].value) {
            if let Some(numbers) = crate::value::numbers_of(items) {
                args[i].value = Value::Numbers(Box::leak(numbers.into_boxed_slice()));
            }
        }
    }
}

/// Whether any argument of `kind` keeps numbers ([`ArgType::Numbers`]).
pub fn keeps_numbers(kind: Kind) -> bool {
    kind.info()
        .args
        .iter()
        .any(|a| matches!(a.ty, ArgType::Numbers | ArgType::OptNumbers))
}
