//! Merge layers, which take a list of tensors: `Add`, `Subtract`, `Multiply`, `Average`,
//! `Maximum`, `Minimum` (element by element, with Keras's broadcasting: axes compared from
//! the last, a size-1 axis or a missing leading one stretched to the other's size),
//! `Concatenate(axis)` and `Dot(axes, normalize)`.
//!
//! Called on one tensor, the element-wise merges and `Concatenate` return it;
//! `Subtract` and `Dot` need exactly two.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{arg, req, ArgError, ArgSpec, LayerEval};
use crate::error::{add, InputCount, Problem};
use crate::shape::{Shape, MAX_RANK, UNKNOWN};
use crate::value::{str_eq, ArgType, Checked};

/// What a merge layer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeOp {
    /// The sum.
    Add,
    /// The first minus the second.
    Subtract,
    /// The product.
    Multiply,
    /// The mean.
    Average,
    /// The element-wise maximum.
    Maximum,
    /// The element-wise minimum.
    Minimum,
    /// Joined along `axis`.
    Concatenate,
    /// The dot product along `axes`, per sample.
    Dot,
}

impl MergeOp {
    /// Whether it works element by element (and so broadcasts).
    pub const fn elementwise(self) -> bool {
        match self {
            MergeOp::Add
            | MergeOp::Subtract
            | MergeOp::Multiply
            | MergeOp::Average
            | MergeOp::Maximum
            | MergeOp::Minimum => true,
            MergeOp::Concatenate | MergeOp::Dot => false,
        }
    }
}

/// A merge layer's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Merge {
    /// What it computes.
    pub op: MergeOp,
    /// `Concatenate`'s axis, counted as Keras counts it (batch 0, `-1` the last).
    pub axis: i64,
    /// `Dot`'s axis in each input, counted as Keras counts them (batch 0; negative from
    /// the end).
    pub axes: [i64; 2],
    /// `Dot`: L2-normalize both inputs along their axes first (the cosine similarity).
    pub normalize: bool,
}

impl Merge {
    /// Keras's defaults for `op` (`Dot`'s axes must be set).
    pub const fn new(op: MergeOp) -> Merge {
        Merge {
            op,
            axis: -1,
            axes: [-1, -1],
            normalize: false,
        }
    }

    /// How many inputs it takes.
    pub const fn inputs(&self) -> InputCount {
        match self.op {
            MergeOp::Subtract | MergeOp::Dot => InputCount::Exactly(2),
            MergeOp::Add
            | MergeOp::Multiply
            | MergeOp::Average
            | MergeOp::Maximum
            | MergeOp::Minimum
            | MergeOp::Concatenate => InputCount::AtLeast(1),
        }
    }
}

pub(super) const CONCATENATE: &[ArgSpec] = &[arg("axis", ArgType::Int)];
pub(super) const DOT: &[ArgSpec] = &[
    req("axes", ArgType::IntList),
    arg("normalize", ArgType::Bool),
];

pub(super) const fn set_merge(
    c: &mut Merge,
    name: &str,
    v: Checked,
    arg: usize,
) -> Result<(), ArgError> {
    match v {
        Checked::Int(a) => c.axis = a,
        Checked::List(l, len) if str_eq(name, "axes") => {
            if len > 2 {
                return Err(ArgError::Unsupported {
                    arg,
                    why: "`axes` is one axis for both inputs, or a pair (one per input)",
                });
            }
            c.axes = [l[0], l[len - 1]];
        }
        Checked::Bool(b) => c.normalize = b,
        _ => {}
    }
    Ok(())
}

/// An axis counted as Keras counts it (batch 0, negative from the end of the full rank
/// `rank + 1`), as a 0-based sample axis; `None` for the batch axis or one out of range.
pub const fn sample_axis(axis: i64, rank: usize) -> Option<usize> {
    let full = rank as i64 + 1;
    let a = if axis < 0 { axis + full } else { axis };
    if a <= 0 || a >= full {
        None
    } else {
        Some(a as usize - 1)
    }
}

/// Keras's element-wise output shape: axes compared from the last; equal sizes, or a size
/// 1 that stretches; the longer shape's leading axes kept. `None` when they do not fit.
pub const fn broadcast(a: &Shape, b: &Shape) -> Option<Shape> {
    let (long, short) = if a.rank() >= b.rank() { (a, b) } else { (b, a) };
    let offset = long.rank() - short.rank();
    let mut out = *long;
    let mut i = 0;
    while i < short.rank() {
        let (x, y) = (long.dim(offset + i), short.dim(i));
        let d = if x == UNKNOWN || y == UNKNOWN {
            UNKNOWN
        } else if x == 1 {
            y
        } else if y == 1 || x == y {
            x
        } else {
            return None;
        };
        out = out.with(offset + i, d);
        i += 1;
    }
    Some(out)
}

/// The output shape of a merge of `inputs`; its first mistake, naming the inputs by index.
pub(super) const fn eval_merge(c: &Merge, inputs: &[Shape]) -> Result<LayerEval, Problem> {
    let n = inputs.len();
    let ok = match c.inputs() {
        InputCount::Exactly(k) => n == k,
        InputCount::AtLeast(k) => n >= k,
    };
    if !ok {
        return Err(Problem::Inputs {
            expected: c.inputs(),
            found: n,
        });
    }
    let output = match c.op {
        MergeOp::Concatenate => match concatenate(c.axis, inputs) {
            Ok(s) => s,
            Err(p) => return Err(p),
        },
        MergeOp::Dot => match dot(c.axes, &inputs[0], &inputs[1]) {
            Ok(s) => s,
            Err(p) => return Err(p),
        },
        MergeOp::Add
        | MergeOp::Subtract
        | MergeOp::Multiply
        | MergeOp::Average
        | MergeOp::Maximum
        | MergeOp::Minimum => match elementwise(inputs) {
            Ok(s) => s,
            Err(p) => return Err(p),
        },
    };
    Ok(LayerEval::weightless(output))
}

const fn elementwise(inputs: &[Shape]) -> Result<Shape, Problem> {
    let mut out = inputs[0];
    let mut i = 1;
    while i < inputs.len() {
        match broadcast(&out, &inputs[i]) {
            Some(s) => out = s,
            None => {
                // Name the earlier input that the new one cannot be stretched to.
                let mut j = 0;
                while j + 1 < i && broadcast(&inputs[j], &inputs[i]).is_some() {
                    j += 1;
                }
                return Err(Problem::Merge {
                    first: j,
                    second: i,
                    a: inputs[j],
                    b: inputs[i],
                });
            }
        }
        i += 1;
    }
    Ok(out)
}

const fn concatenate(axis: i64, inputs: &[Shape]) -> Result<Shape, Problem> {
    let first = inputs[0];
    let Some(at) = sample_axis(axis, first.rank()) else {
        return Err(Problem::Argument(
            "`axis` must name an axis of the inputs other than the batch axis (0)",
        ));
    };
    let mut out = first;
    let mut i = 1;
    while i < inputs.len() {
        let s = inputs[i];
        let mut fits = s.rank() == first.rank();
        let mut d = 0;
        while fits && d < first.rank() {
            let (x, y) = (first.dim(d), s.dim(d));
            if d != at && x != y && x != UNKNOWN && y != UNKNOWN {
                fits = false;
            }
            d += 1;
        }
        if !fits {
            return Err(Problem::Concat {
                first: 0,
                second: i,
                a: first,
                b: s,
                axis: at,
            });
        }
        let size = if out.dim(at) == UNKNOWN || s.dim(at) == UNKNOWN {
            UNKNOWN
        } else {
            match add(out.dim(at), s.dim(at)) {
                Ok(v) => v,
                Err(p) => return Err(p),
            }
        };
        out = out.with(at, size);
        i += 1;
    }
    Ok(out)
}

/// `Dot`: each input without its summed axis, the second's after the first's; `(1,)` when
/// nothing is left.
const fn dot(axes: [i64; 2], a: &Shape, b: &Shape) -> Result<Shape, Problem> {
    let (Some(x), Some(y)) = (
        sample_axis(axes[0], a.rank()),
        sample_axis(axes[1], b.rank()),
    ) else {
        return Err(Problem::Argument(
            "`axes` must name an axis of each input other than the batch axis (0)",
        ));
    };
    if a.dim(x) != b.dim(y) && a.dim(x) != UNKNOWN && b.dim(y) != UNKNOWN {
        return Err(Problem::Dot {
            a: *a,
            b: *b,
            axes: [x, y],
        });
    }
    let mut dims = [0usize; MAX_RANK];
    let mut len = 0;
    let mut i = 0;
    while i < a.rank() + b.rank() {
        let (shape, skip, d) = if i < a.rank() {
            (a, x, i)
        } else {
            (b, y, i - a.rank())
        };
        if d != skip {
            if len == MAX_RANK {
                return Err(Problem::TooLarge);
            }
            dims[len] = shape.dim(d);
            len += 1;
        }
        i += 1;
    }
    if len == 0 {
        dims[0] = 1;
        len = 1;
    }
    Ok(Shape::new(dims.split_at(len).0))
}

#[cfg(feature = "runtime")]
mod ops {
    use super::Merge;
    use crate::error::Error;
    use crate::layer::ops::{forward_only, Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    /// A merge called on one tensor returns it (the only single-input call `eval` allows:
    /// `Subtract` and `Dot` refuse one input). Called on a list, it runs through
    /// `forward::forward` and `backward::backward` instead.
    impl Ops for Merge {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            y.copy_from_slice(x);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, _: &Step, g: Grad) -> Result<(), Error> {
            if let Some(dx) = g.dx {
                dx.copy_from_slice(g.dy);
            }
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
