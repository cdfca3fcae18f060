//! Shapes without the batch dimension, usable in `const` contexts.

use core::fmt;

/// The largest rank a shape can have (without the batch dimension).
pub const MAX_RANK: usize = 8;

/// A dimension whose value is not known yet: a const generic parameter seen by the macro
/// before instantiation. Arithmetic on it stays unknown and checks involving it are deferred
/// to `const` evaluation, where every value is known.
pub const UNKNOWN: usize = usize::MAX;

/// A tensor shape, without the batch dimension.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: usize,
}

impl Shape {
    /// The shape of rank 0.
    pub const SCALAR: Shape = Shape {
        dims: [0; MAX_RANK],
        rank: 0,
    };

    /// A shape from its dimensions. Ranks above [`MAX_RANK`] are cut to it; the evaluator
    /// never builds one, and [`Shape::try_new`] reports it.
    pub const fn new(dims: &[usize]) -> Shape {
        let mut s = Shape::SCALAR;
        let mut i = 0;
        while i < dims.len() && i < MAX_RANK {
            s.dims[i] = dims[i];
            i += 1;
        }
        s.rank = i;
        s
    }

    /// A shape from its dimensions, or `None` when the rank exceeds [`MAX_RANK`].
    pub const fn try_new(dims: &[usize]) -> Option<Shape> {
        if dims.len() > MAX_RANK {
            None
        } else {
            Some(Shape::new(dims))
        }
    }

    /// The number of dimensions.
    pub const fn rank(&self) -> usize {
        self.rank
    }

    /// The dimensions as a slice.
    pub const fn dims(&self) -> &[usize] {
        self.dims.split_at(self.rank).0
    }

    /// Dimension `i` (0-based). Out-of-range indices read 0.
    pub const fn dim(&self, i: usize) -> usize {
        if i < self.rank {
            self.dims[i]
        } else {
            0
        }
    }

    /// The last dimension (the channels / features axis), 0 for a scalar.
    pub const fn last(&self) -> usize {
        if self.rank == 0 {
            0
        } else {
            self.dims[self.rank - 1]
        }
    }

    /// This shape with dimension `i` replaced.
    pub const fn with(mut self, i: usize, d: usize) -> Shape {
        if i < self.rank {
            self.dims[i] = d;
        }
        self
    }

    /// This shape with its last dimension replaced.
    pub const fn with_last(self, d: usize) -> Shape {
        let r = self.rank;
        if r == 0 {
            self
        } else {
            self.with(r - 1, d)
        }
    }

    /// This shape with a dimension appended, `None` past [`MAX_RANK`].
    pub const fn push(mut self, d: usize) -> Option<Shape> {
        if self.rank == MAX_RANK {
            return None;
        }
        self.dims[self.rank] = d;
        self.rank += 1;
        Some(self)
    }

    /// `d` followed by this shape, `None` past [`MAX_RANK`].
    pub const fn prepend(self, d: usize) -> Option<Shape> {
        if self.rank == MAX_RANK {
            return None;
        }
        let mut s = Shape::SCALAR;
        s.dims[0] = d;
        let mut i = 0;
        while i < self.rank {
            s.dims[i + 1] = self.dims[i];
            i += 1;
        }
        s.rank = self.rank + 1;
        Some(s)
    }

    /// The shape without its first dimension.
    pub const fn tail(&self) -> Shape {
        let mut s = Shape::SCALAR;
        let mut i = 1;
        while i < self.rank {
            s.dims[i - 1] = self.dims[i];
            i += 1;
        }
        s.rank = if self.rank == 0 { 0 } else { self.rank - 1 };
        s
    }

    /// The product of the dimensions: [`UNKNOWN`] if any is unknown, `None` on overflow.
    pub const fn elements(&self) -> Option<usize> {
        let mut n: usize = 1;
        let mut unknown = false;
        let mut i = 0;
        while i < self.rank {
            let d = self.dims[i];
            if d == UNKNOWN {
                unknown = true;
            } else {
                match n.checked_mul(d) {
                    Some(v) => n = v,
                    None => return None,
                }
            }
            i += 1;
        }
        if unknown && n != 0 {
            Some(UNKNOWN)
        } else {
            Some(n)
        }
    }

    /// Whether every dimension is known.
    pub const fn is_known(&self) -> bool {
        let mut i = 0;
        while i < self.rank {
            if self.dims[i] == UNKNOWN {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The dimensions as an array of rank `R` (the macro knows `R`); extra entries read 0.
    pub const fn to_array<const R: usize>(&self) -> [usize; R] {
        let mut a = [0; R];
        let mut i = 0;
        while i < R && i < self.rank {
            a[i] = self.dims[i];
            i += 1;
        }
        a
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.dims()).finish()
    }
}

/// Keras's tuple notation, `(28, 28, 1)`, and `(10,)` for rank 1.
impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = crate::message::Message::new();
        m.shape(self);
        f.write_str(m.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_back() {
        let s = Shape::new(&[28, 28, 1]);
        assert_eq!(s.rank(), 3);
        assert_eq!(s.dims(), &[28, 28, 1]);
        assert_eq!(s.elements(), Some(784));
        assert_eq!(s.tail().dims(), &[28, 1]);
        assert_eq!(s.prepend(4).unwrap().dims(), &[4, 28, 28, 1]);
        assert_eq!(s.to_string(), "(28, 28, 1)");
        assert_eq!(Shape::new(&[10]).to_string(), "(10,)");
    }

    #[test]
    fn unknown_dims_propagate_through_elements() {
        assert_eq!(Shape::new(&[UNKNOWN, 3]).elements(), Some(UNKNOWN));
        assert_eq!(Shape::new(&[UNKNOWN, 0]).elements(), Some(0));
        assert_eq!(Shape::new(&[usize::MAX / 2, 3]).elements(), None);
    }
}
