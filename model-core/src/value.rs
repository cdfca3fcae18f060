//! Argument values as a user (or a Keras config) writes them, and their checked forms.

use crate::layer::Layer;
use crate::shape::{MAX_RANK, UNKNOWN};

/// An argument value as written: the macro builds these from tokens, the Keras JSON reader
/// from a layer config, and generated code in `const` items.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// An integer.
    Int(i64),
    /// An integer whose value is not known yet (a const generic parameter at expansion time).
    Unknown,
    /// A float.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// One of Keras's string choices (`same`, `relu`, …).
    Str(&'a str),
    /// A tuple or list.
    Tuple(&'a [Value<'a>]),
    /// Keras's `None` (the default).
    None,
    /// A nested layer (`Bidirectional(LSTM(…))`).
    Layer(&'static Layer),
    /// A tuple of numbers for an argument that keeps them ([`ArgType::Numbers`]: a
    /// `Normalization`'s mean, a `Rescaling`'s per-channel scale). The layer stores them,
    /// so they are `'static`: generated code writes them in a `const` item, the macro and
    /// the Keras reader leak them (a few values per such argument).
    Numbers(&'static [f64]),
}

/// A number, or one per channel (of the last axis).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Numbers {
    /// The same for every channel.
    One(f64),
    /// One per channel.
    Each(&'static [f64]),
}

impl Numbers {
    /// How many values it holds (1 for [`Numbers::One`]).
    pub const fn len(&self) -> usize {
        match self {
            Numbers::One(_) => 1,
            Numbers::Each(v) => v.len(),
        }
    }

    /// Whether it holds none (an empty list).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value for channel `c` (of `len()` channels, or any for [`Numbers::One`]).
    pub const fn at(&self, c: usize) -> f64 {
        match self {
            Numbers::One(v) => *v,
            Numbers::Each(v) => {
                if v.len() == 1 {
                    v[0]
                } else {
                    v[c]
                }
            }
        }
    }

    /// Whether it applies to `channels` channels: one value, or one per channel.
    pub const fn fits(&self, channels: usize) -> bool {
        self.len() == 1 || self.len() == channels || channels == crate::shape::UNKNOWN
    }
}

/// What an argument accepts, for checking and for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// A positive integer.
    Count,
    /// An integer ≥ 0.
    Natural,
    /// Any integer (an axis, `-1` in a reshape).
    Int,
    /// A float in `[0, 1]` (Keras's dropout rates and noise deviations).
    Rate,
    /// Any float.
    Float,
    /// A float ≥ 0.
    NonNegFloat,
    /// A float ≥ 0 or `None`.
    OptNonNegFloat,
    /// `true` or `false`.
    Bool,
    /// A positive integer, or a tuple of `n` of them, one per spatial dimension.
    Dims(usize),
    /// As `Dims`, or `None` (pooling strides: the pool size).
    OptDims(usize),
    /// Padding or cropping amounts: an integer, a tuple of `n` integers (symmetric), or a
    /// tuple of `n` pairs; for `n == 1`, an integer or one pair.
    Pairs(usize),
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// An activation function name.
    Activation,
    /// A tuple of integers (any length up to the maximum rank).
    IntList,
    /// A tuple of integers or `None`.
    OptIntList,
    /// A layer.
    Layer,
    /// A number, or a tuple of them (one per channel), kept by the layer.
    Numbers,
    /// As `Numbers`, or `None`.
    OptNumbers,
}

impl ArgType {
    /// How the type reads in an error message.
    pub const fn describe(&self) -> &'static str {
        match self {
            ArgType::Count => "a positive integer",
            ArgType::Natural => "a non-negative integer",
            ArgType::Int => "an integer",
            ArgType::Rate => "a number in [0, 1]",
            ArgType::Float => "a number",
            ArgType::NonNegFloat => "a non-negative number",
            ArgType::OptNonNegFloat => "a non-negative number or None",
            ArgType::Bool => "`true` or `false`",
            ArgType::Dims(1) => "a positive integer",
            ArgType::Dims(2) => "a positive integer or a tuple of 2 positive integers",
            ArgType::Dims(_) => "a positive integer or a tuple of 3 positive integers",
            ArgType::OptDims(1) => "a positive integer or None",
            ArgType::OptDims(2) => "a positive integer, a tuple of 2 positive integers, or None",
            ArgType::OptDims(_) => "a positive integer, a tuple of 3 positive integers, or None",
            ArgType::Pairs(1) => "an integer or a pair of integers `(before, after)`",
            ArgType::Pairs(2) => {
                "an integer, a tuple of 2 integers, or 2 pairs `((top, bottom), (left, right))`"
            }
            ArgType::Pairs(_) => "an integer, a tuple of 3 integers, or 3 pairs of integers",
            ArgType::Choice(_) => "one of the listed choices",
            ArgType::Activation => "an activation name such as `relu`",
            ArgType::IntList => "a tuple of integers",
            ArgType::OptIntList => "a tuple of integers or None",
            ArgType::Layer => "a layer such as `LSTM(32)`",
            ArgType::Numbers => "a number or a tuple of numbers",
            ArgType::OptNumbers => "a number, a tuple of numbers, or None",
        }
    }
}

/// A checked argument value, normalized to its type.
#[derive(Clone, Copy, Debug)]
pub enum Checked {
    /// An integer (possibly [`UNKNOWN`] cast, for counts).
    Int(i64),
    /// A count or natural number.
    Usize(usize),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Per-dimension sizes, broadcast to 3 entries.
    Dims([usize; 3]),
    /// Per-dimension `(before, after)` amounts.
    Pairs([[usize; 2]; 3]),
    /// The index of a choice in its list.
    Choice(usize),
    /// An activation.
    Activation(crate::layer::Activation),
    /// A list of integers ([`UNKNOWN_ENTRY`] where not known yet).
    List([i64; MAX_RANK], usize),
    /// `None`.
    Null,
    /// A nested layer.
    Layer(&'static Layer),
    /// A number or numbers, kept.
    Numbers(Numbers),
}

/// Why a value does not fit its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueProblem {
    /// The wrong kind of value.
    WrongType,
    /// The right kind, out of range.
    OutOfRange,
    /// A tuple of the wrong length.
    WrongLength,
}

const fn int_of(v: &Value) -> Result<i64, ValueProblem> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Unknown => Ok(UNKNOWN as i64),
        _ => Err(ValueProblem::WrongType),
    }
}

/// An entry of an integer list ([`Checked::List`]) whose value is not known yet (a const
/// generic parameter). Kept apart from `-1`, which is what [`UNKNOWN`] becomes as an `i64`
/// and which `Reshape` reads as "infer this axis".
pub const UNKNOWN_ENTRY: i64 = i64::MIN;

const fn list_entry(v: &Value) -> Result<i64, ValueProblem> {
    match v {
        Value::Unknown => Ok(UNKNOWN_ENTRY),
        _ => int_of(v),
    }
}

const fn positive(v: &Value) -> Result<usize, ValueProblem> {
    match v {
        Value::Unknown => Ok(UNKNOWN),
        Value::Int(i) if *i >= 1 => Ok(*i as usize),
        Value::Int(_) => Err(ValueProblem::OutOfRange),
        _ => Err(ValueProblem::WrongType),
    }
}

const fn natural(v: &Value) -> Result<usize, ValueProblem> {
    match v {
        Value::Unknown => Ok(UNKNOWN),
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        Value::Int(_) => Err(ValueProblem::OutOfRange),
        _ => Err(ValueProblem::WrongType),
    }
}

const fn float_of(v: &Value) -> Result<f64, ValueProblem> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        _ => Err(ValueProblem::WrongType),
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}
pub(crate) use tri;

/// Checks `v` against `ty`, normalizing it.
pub const fn check(ty: ArgType, v: &Value) -> Result<Checked, ValueProblem> {
    match ty {
        ArgType::Count => Ok(Checked::Usize(tri!(positive(v)))),
        ArgType::Natural => Ok(Checked::Usize(tri!(natural(v)))),
        ArgType::Int => Ok(Checked::Int(tri!(int_of(v)))),
        ArgType::Rate => {
            let f = tri!(float_of(v));
            if f >= 0.0 && f <= 1.0 {
                Ok(Checked::Float(f))
            } else {
                Err(ValueProblem::OutOfRange)
            }
        }
        ArgType::Float => Ok(Checked::Float(tri!(float_of(v)))),
        ArgType::NonNegFloat => {
            let f = tri!(float_of(v));
            if f >= 0.0 {
                Ok(Checked::Float(f))
            } else {
                Err(ValueProblem::OutOfRange)
            }
        }
        ArgType::OptNonNegFloat => match v {
            Value::None => Ok(Checked::Null),
            _ => check(ArgType::NonNegFloat, v),
        },
        ArgType::Bool => match v {
            Value::Bool(b) => Ok(Checked::Bool(*b)),
            _ => Err(ValueProblem::WrongType),
        },
        ArgType::Dims(n) => match v {
            Value::Tuple(items) => {
                if items.len() != n {
                    return Err(ValueProblem::WrongLength);
                }
                let mut d = [1; 3];
                let mut i = 0;
                while i < n {
                    d[i] = tri!(positive(&items[i]));
                    i += 1;
                }
                Ok(Checked::Dims(d))
            }
            _ => {
                let x = tri!(positive(v));
                let mut d = [1; 3];
                let mut i = 0;
                while i < n {
                    d[i] = x;
                    i += 1;
                }
                Ok(Checked::Dims(d))
            }
        },
        ArgType::OptDims(n) => match v {
            Value::None => Ok(Checked::Null),
            _ => check(ArgType::Dims(n), v),
        },
        ArgType::Pairs(n) => check_pairs(n, v),
        ArgType::Choice(choices) => match v {
            Value::Str(s) => {
                let mut i = 0;
                while i < choices.len() {
                    if str_eq(s, choices[i]) {
                        return Ok(Checked::Choice(i));
                    }
                    i += 1;
                }
                Err(ValueProblem::OutOfRange)
            }
            _ => Err(ValueProblem::WrongType),
        },
        ArgType::Activation => match v {
            Value::Str(s) => match crate::layer::Activation::from_name(s) {
                Some(a) => Ok(Checked::Activation(a)),
                None => Err(ValueProblem::OutOfRange),
            },
            Value::None => Ok(Checked::Activation(crate::layer::Activation::Linear)),
            _ => Err(ValueProblem::WrongType),
        },
        ArgType::IntList => match v {
            Value::Tuple(items) => {
                if items.len() > MAX_RANK || items.is_empty() {
                    return Err(ValueProblem::WrongLength);
                }
                let mut l = [0i64; MAX_RANK];
                let mut i = 0;
                while i < items.len() {
                    l[i] = tri!(list_entry(&items[i]));
                    i += 1;
                }
                Ok(Checked::List(l, items.len()))
            }
            Value::Int(_) | Value::Unknown => {
                let mut l = [0i64; MAX_RANK];
                l[0] = tri!(list_entry(v));
                Ok(Checked::List(l, 1))
            }
            _ => Err(ValueProblem::WrongType),
        },
        ArgType::OptIntList => match v {
            Value::None => Ok(Checked::Null),
            _ => check(ArgType::IntList, v),
        },
        ArgType::Layer => match v {
            Value::Layer(l) => Ok(Checked::Layer(l)),
            _ => Err(ValueProblem::WrongType),
        },
        ArgType::Numbers => match v {
            Value::Numbers([]) => Err(ValueProblem::WrongLength),
            Value::Numbers(items) => Ok(Checked::Numbers(Numbers::Each(items))),
            // A tuple that was not turned into `Numbers` (see `Value::Numbers`).
            Value::Tuple(_) => Err(ValueProblem::WrongType),
            _ => Ok(Checked::Numbers(Numbers::One(tri!(float_of(v))))),
        },
        ArgType::OptNumbers => match v {
            Value::None => Ok(Checked::Null),
            _ => check(ArgType::Numbers, v),
        },
    }
}

/// A tuple's values as numbers, for an [`ArgType::Numbers`] argument: `None` when an item
/// is not a number. The producers of [`Value::Numbers`] turn tuples into it with this.
pub fn numbers_of(items: &[Value]) -> Option<Vec<f64>> {
    items
        .iter()
        .map(|v| match v {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        })
        .collect()
}

const fn check_pairs(n: usize, v: &Value) -> Result<Checked, ValueProblem> {
    let mut p = [[0usize; 2]; 3];
    match v {
        Value::Tuple(items) => {
            // 1-D: a single `(before, after)` pair, as Keras (a nested `((a, b),)` is refused there too).
            if n == 1 {
                if items.len() != 2 {
                    return Err(ValueProblem::WrongLength);
                }
                p[0] = [tri!(natural(&items[0])), tri!(natural(&items[1]))];
                return Ok(Checked::Pairs(p));
            }
            if items.len() != n {
                return Err(ValueProblem::WrongLength);
            }
            let mut i = 0;
            while i < n {
                match &items[i] {
                    Value::Tuple(pair) => {
                        if pair.len() != 2 {
                            return Err(ValueProblem::WrongLength);
                        }
                        p[i] = [tri!(natural(&pair[0])), tri!(natural(&pair[1]))];
                    }
                    other => {
                        let x = tri!(natural(other));
                        p[i] = [x, x];
                    }
                }
                i += 1;
            }
            Ok(Checked::Pairs(p))
        }
        _ => {
            let x = tri!(natural(v));
            let mut i = 0;
            while i < n {
                p[i] = [x, x];
                i += 1;
            }
            Ok(Checked::Pairs(p))
        }
    }
}

/// `a == b` for strings, in `const` contexts.
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
