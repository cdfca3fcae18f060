//! What the evaluator says when a layer does not fit its input.

use core::fmt;

use crate::layer::Kind;
use crate::message::Message;
use crate::shape::{Shape, MAX_RANK, UNKNOWN};

/// The rank a layer requires of its input (without the batch dimension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankReq {
    /// Exactly this rank.
    Exactly(usize),
    /// At least this rank.
    AtLeast(usize),
}

/// How many inputs a layer takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputCount {
    /// Exactly this many.
    Exactly(usize),
    /// At least this many.
    AtLeast(usize),
}

/// Why a layer cannot be built on its input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Problem {
    /// The input has the wrong rank.
    Rank {
        /// What the layer needs.
        expected: RankReq,
        /// The input it got.
        found: Shape,
    },
    /// A kernel or pooling window larger than the input along an axis (with `valid` padding).
    Window {
        /// The axis of the input (0-based, without batch).
        axis: usize,
        /// The input's size along it.
        size: usize,
        /// The window's (dilated) size along it.
        window: usize,
        /// The input.
        found: Shape,
    },
    /// Cropping that removes the whole of an axis.
    Crop {
        /// The axis of the input (0-based, without batch).
        axis: usize,
        /// The input's size along it.
        size: usize,
        /// How much would be removed.
        crop: usize,
    },
    /// A reshape whose target does not hold the input's elements.
    Reshape {
        /// The input.
        found: Shape,
        /// The target as written (`-1` for the inferred dimension).
        target: [i64; MAX_RANK],
        /// The target's rank.
        len: usize,
    },
    /// Channels or filters not divisible by `groups`.
    Groups {
        /// Input channels.
        channels: usize,
        /// Filters.
        filters: usize,
        /// Groups.
        groups: usize,
    },
    /// An axis list (`Permute` dims, `PReLU` shared axes) that does not fit the input.
    Axes {
        /// The input.
        found: Shape,
        /// What the list must be.
        expected: &'static str,
    },
    /// The input has a dimension of size 0.
    Empty {
        /// The input.
        found: Shape,
    },
    /// A size beyond what the machine can count, or a rank beyond the maximum.
    TooLarge,
    /// An argument combination Keras refuses.
    Argument(&'static str),
    /// A layer called on the wrong number of tensors.
    Inputs {
        /// What it takes.
        expected: InputCount,
        /// How many it got.
        found: usize,
    },
    /// An element-wise merge of two inputs whose shapes do not broadcast.
    Merge {
        /// The index of one input among the layer's inputs.
        first: usize,
        /// The index of the other.
        second: usize,
        /// The first's shape.
        a: Shape,
        /// The second's.
        b: Shape,
    },
    /// A concatenation of inputs that differ in rank or off the concatenation axis.
    Concat {
        /// The index of one input among the layer's inputs.
        first: usize,
        /// The index of the other.
        second: usize,
        /// The first's shape.
        a: Shape,
        /// The second's.
        b: Shape,
        /// The concatenation axis (0-based, batch excluded).
        axis: usize,
    },
    /// A dot product whose axes differ in size.
    Dot {
        /// The first input's shape.
        a: Shape,
        /// The second's.
        b: Shape,
        /// The summed axis of each (0-based, batch excluded).
        axes: [usize; 2],
    },
}

/// A layer that cannot be built on its input: which kind of layer, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalError {
    /// The layer's kind.
    pub kind: Kind,
    /// What is wrong.
    pub problem: Problem,
}

/// The name of input `i` of a layer, for messages: the producer's name when known.
const fn input_name<'a>(names: &[&'a str], i: usize) -> Option<&'a str> {
    if i < names.len() && !names[i].is_empty() {
        Some(names[i])
    } else {
        None
    }
}

/// ` from `name`` or ` (input i)`.
const fn from(m: &mut Message, names: &[&str], i: usize) {
    match input_name(names, i) {
        Some(n) => {
            m.str(" from `").str(n).str("`");
        }
        None => {
            m.str(" (input ").num(i).str(")");
        }
    }
}

impl EvalError {
    /// Writes the message: what the layer expected, what arrived, and a hint.
    pub const fn write(&self, m: &mut Message) {
        self.write_named(m, "", &[]);
    }

    /// [`EvalError::write`], with the layer's name (for a merge's message) and the names
    /// of the tensors it was called on (their producers), where they are known.
    pub const fn write_named(&self, m: &mut Message, layer: &str, inputs: &[&str]) {
        let class = self.kind.class_name();
        let who = if layer.is_empty() { class } else { layer };
        match self.problem {
            Problem::Rank { expected, found } => {
                m.str("`").str(class).str("` needs ");
                match expected {
                    RankReq::Exactly(r) => {
                        m.str("a ").num(r).str("-D input");
                    }
                    RankReq::AtLeast(r) => {
                        m.str("an input of rank ").num(r).str(" or more");
                    }
                }
                let layout = self.kind.layout();
                if !layout.is_empty() {
                    m.str(" ").str(layout);
                }
                m.str(", but its input has shape ").shape(&found);
                let want = match expected {
                    RankReq::Exactly(r) | RankReq::AtLeast(r) => r,
                };
                if want == 1 && found.rank() > 1 {
                    m.str("; insert `Flatten` before this layer, or use a global pooling layer");
                } else if found.rank() < want {
                    m.str("; insert `Reshape` before this layer to add the missing axes");
                } else {
                    m.str("; use the layer of matching rank, or `Reshape` / `Flatten` the input first");
                }
            }
            Problem::Window {
                axis,
                size,
                window,
                found,
            } => {
                m.str("`")
                    .str(class)
                    .str("`'s window of ")
                    .num(window)
                    .str(" does not fit axis ");
                m.num(axis)
                    .str(" of its input ")
                    .shape(&found)
                    .str(" (size ")
                    .num(size);
                m.str("); use `padding = same`, a smaller window, or a larger input");
            }
            Problem::Crop { axis, size, crop } => {
                m.str("`")
                    .str(class)
                    .str("` removes ")
                    .num(crop)
                    .str(" of the ")
                    .num(size);
                m.str(" entries of axis ")
                    .num(axis)
                    .str(", leaving none; crop less");
            }
            Problem::Reshape { found, target, len } => {
                m.str("`Reshape` cannot turn ").shape(&found);
                if let Some(n) = found.elements() {
                    m.str(" (").num(n).str(" elements)");
                }
                m.str(" into (");
                let mut i = 0;
                while i < len {
                    if i > 0 {
                        m.str(", ");
                    }
                    if target[i] < 0 {
                        m.str("-1");
                    } else {
                        m.num(target[i] as usize);
                    }
                    i += 1;
                }
                if len == 1 {
                    m.str(",");
                }
                m.str(
                    "); the element counts must agree (use at most one `-1` for the inferred size)",
                );
            }
            Problem::Groups {
                channels,
                filters,
                groups,
            } => {
                m.str("`").str(class).str("` with `groups = ").num(groups);
                m.str("` needs input channels (")
                    .num(channels)
                    .str(") and filters (")
                    .num(filters);
                m.str(") divisible by it; change `groups` or the channel counts");
            }
            Problem::Axes { found, expected } => {
                m.str("`")
                    .str(class)
                    .str("` on an input of shape ")
                    .shape(&found);
                m.str(": ").str(expected);
            }
            Problem::Empty { found } => {
                m.str("`")
                    .str(class)
                    .str("` gets an input with an empty axis ")
                    .shape(&found);
            }
            Problem::TooLarge => {
                m.str("`")
                    .str(class)
                    .str("` would produce a tensor too large to count, or of rank above ");
                m.num(MAX_RANK);
            }
            Problem::Argument(text) => {
                m.str("`").str(class).str("`: ").str(text);
            }
            Problem::Inputs { expected, found } => {
                m.str("`").str(class).str("` takes ");
                match expected {
                    InputCount::Exactly(1) => {
                        m.str("one input");
                    }
                    InputCount::Exactly(n) => {
                        m.str("exactly ").num(n).str(" inputs");
                    }
                    InputCount::AtLeast(n) => {
                        m.str("at least ").num(n).str(" input");
                        if n != 1 {
                            m.str("s");
                        }
                    }
                }
                m.str(", but it is called on ").num(found);
                m.str(if found == 1 { " tensor" } else { " tensors" });
                match expected {
                    InputCount::Exactly(1) => {
                        m.str(
                            "; call it on one tensor, or join them first (`Concatenate`, `Add`, …)",
                        );
                    }
                    InputCount::Exactly(_) | InputCount::AtLeast(_) => {
                        m.str("; call it on a list such as `[a, b]`");
                    }
                }
            }
            Problem::Merge {
                first,
                second,
                a,
                b,
            } => {
                m.str("`").str(who).str("` joins ").shape(&a);
                from(m, inputs, first);
                m.str(" and ").shape(&b);
                from(m, inputs, second);
                if a.rank() == b.rank() && a.rank() > 0 {
                    let mut same = true;
                    let mut d = 0;
                    while d + 1 < a.rank() {
                        same &= a.dim(d) == b.dim(d);
                        d += 1;
                    }
                    if same {
                        m.str("; project one with a ");
                        m.str(if a.rank() == 3 {
                            "1×1 `Conv2D`"
                        } else if a.rank() == 2 {
                            "kernel-1 `Conv1D`"
                        } else {
                            "`Dense`"
                        });
                        m.str(" so that the channels agree");
                        return;
                    }
                }
                m.str("; the shapes must be equal, or 1 where they differ (a size-1 axis is stretched)");
            }
            Problem::Concat {
                first,
                second,
                a,
                b,
                axis,
            } => {
                m.str("`").str(who).str("` concatenates ").shape(&a);
                from(m, inputs, first);
                m.str(" and ").shape(&b);
                from(m, inputs, second);
                if axis + 1 == a.rank() {
                    m.str(" on the last axis");
                } else {
                    // Keras counts the batch as axis 0.
                    m.str(" on axis ").num(axis + 1);
                }
                if a.rank() == b.rank() {
                    m.str(", but they differ on another axis; every axis but the concatenation axis must agree");
                } else {
                    m.str(", but their ranks differ; `Reshape` one first");
                }
            }
            Problem::Dot { a, b, axes } => {
                m.str("`").str(who).str("` sums axis ").num(axes[0]);
                m.str(" of ").shape(&a);
                from(m, inputs, 0);
                m.str(" (size ")
                    .num(a.dim(axes[0]))
                    .str(") against axis ")
                    .num(axes[1]);
                m.str(" of ").shape(&b);
                from(m, inputs, 1);
                m.str(" (size ").num(b.dim(axes[1]));
                m.str("); choose `axes` of equal size");
            }
        }
    }

    /// The message as a const-built buffer.
    pub const fn message(&self) -> Message {
        let mut m = Message::new();
        self.write(&mut m);
        m
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().as_str())
    }
}

impl std::error::Error for EvalError {}

/// `a · b` for dimensions: 0 wins, then unknown, then overflow is an error.
pub(crate) const fn mul(a: usize, b: usize) -> Result<usize, Problem> {
    if a == 0 || b == 0 {
        Ok(0)
    } else if a == UNKNOWN || b == UNKNOWN {
        Ok(UNKNOWN)
    } else {
        match a.checked_mul(b) {
            Some(v) if v != UNKNOWN => Ok(v),
            _ => Err(Problem::TooLarge),
        }
    }
}

/// `a + b` for dimensions.
pub(crate) const fn add(a: usize, b: usize) -> Result<usize, Problem> {
    if a == UNKNOWN || b == UNKNOWN {
        Ok(UNKNOWN)
    } else {
        match a.checked_add(b) {
            Some(v) if v != UNKNOWN => Ok(v),
            _ => Err(Problem::TooLarge),
        }
    }
}

/// `a / b` (b known and positive) for dimensions.
pub(crate) const fn div(a: usize, b: usize) -> usize {
    if a == UNKNOWN || b == UNKNOWN {
        UNKNOWN
    } else {
        a / b
    }
}
