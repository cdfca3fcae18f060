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
}

/// A layer that cannot be built on its input: which kind of layer, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalError {
    /// The layer's kind.
    pub kind: Kind,
    /// What is wrong.
    pub problem: Problem,
}

impl EvalError {
    /// Writes the message: what the layer expected, what arrived, and a hint.
    pub const fn write(&self, m: &mut Message) {
        let class = self.kind.class_name();
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
