//! Core layers: `Dense`, `Embedding`, `Flatten`, `Reshape`, `Permute`, `RepeatVector`.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;
#[cfg(feature = "runtime")]
mod weights;

use super::{arg, need_min_rank, need_rank, req, Activation, ArgError, ArgSpec, LayerEval};
use crate::error::{add, mul, Problem};
use crate::shape::{Shape, MAX_RANK, UNKNOWN};
use crate::value::{str_eq, tri, ArgType, Checked, ValueProblem, UNKNOWN_ENTRY};

/// `Dense(units, activation, use_bias)`: a matrix product on the last axis, any rank.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dense {
    /// Output features.
    pub units: usize,
    /// Applied after the product.
    pub activation: Activation,
    /// Whether a bias vector is added.
    pub use_bias: bool,
}

impl Dense {
    /// Keras's defaults (units must be set).
    pub const DEFAULT: Dense = Dense {
        units: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
}

pub(super) const DENSE: &[ArgSpec] = &[
    req("units", ArgType::Count),
    arg("activation", ArgType::Activation),
    arg("use_bias", ArgType::Bool),
];

pub(super) const fn set_dense(c: &mut Dense, name: &str, v: Checked) {
    match v {
        Checked::Usize(n) if str_eq(name, "units") => c.units = n,
        Checked::Activation(a) => c.activation = a,
        Checked::Bool(b) => c.use_bias = b,
        _ => {}
    }
}

pub(super) const fn eval_dense(c: &Dense, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    let fan_in = input.last();
    let kernel = tri!(mul(fan_in, c.units));
    let trainable = if c.use_bias {
        tri!(add(kernel, c.units))
    } else {
        kernel
    };
    let positions = match input.tail_product_except_last() {
        Some(p) => p,
        None => return Err(Problem::TooLarge),
    };
    Ok(LayerEval {
        output: input.with_last(c.units),
        trainable,
        non_trainable: 0,
        macs: tri!(mul(trainable, positions)),
    })
}

impl Shape {
    /// The product of every dimension but the last: how many positions a per-feature
    /// operation is applied at.
    pub const fn tail_product_except_last(&self) -> Option<usize> {
        if self.rank() == 0 {
            return Some(1);
        }
        Shape::new(self.dims().split_at(self.rank() - 1).0).elements()
    }
}

/// `Embedding(input_dim, output_dim)`: integer ids to vectors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Embedding {
    /// Vocabulary size.
    pub input_dim: usize,
    /// Vector size.
    pub output_dim: usize,
}

impl Embedding {
    /// Placeholder defaults (both arguments are required).
    pub const DEFAULT: Embedding = Embedding {
        input_dim: 1,
        output_dim: 1,
    };
}

pub(super) const EMBEDDING: &[ArgSpec] = &[
    req("input_dim", ArgType::Count),
    req("output_dim", ArgType::Count),
];

pub(super) const fn set_embedding(c: &mut Embedding, name: &str, v: Checked) {
    if let Checked::Usize(n) = v {
        if str_eq(name, "input_dim") {
            c.input_dim = n;
        } else {
            c.output_dim = n;
        }
    }
}

pub(super) const fn eval_embedding(c: &Embedding, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    let output = match input.push(c.output_dim) {
        Some(s) => s,
        None => return Err(Problem::TooLarge),
    };
    let params = tri!(mul(c.input_dim, c.output_dim));
    Ok(LayerEval {
        output,
        trainable: params,
        non_trainable: 0,
        macs: params,
    })
}

/// `LayerScale(init_values, projection_dim)` (keras.applications' ConvNeXt): the input
/// times a learned per-channel `gamma`, initialized to `init_values`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerScale {
    /// `gamma`'s initial value.
    pub init_values: f64,
    /// The channels (the input's last axis).
    pub projection_dim: usize,
}

impl LayerScale {
    /// Placeholder (both arguments are required).
    pub const DEFAULT: LayerScale = LayerScale {
        init_values: 0.0,
        projection_dim: 1,
    };
}

pub(super) const LAYER_SCALE: &[ArgSpec] = &[
    req("init_values", ArgType::NonNegFloat),
    req("projection_dim", ArgType::Count),
];

pub(super) const fn set_layer_scale(c: &mut LayerScale, v: Checked) {
    match v {
        Checked::Float(f) => c.init_values = f,
        Checked::Usize(n) => c.projection_dim = n,
        _ => {}
    }
}

pub(super) const fn eval_layer_scale(c: &LayerScale, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    if input.last() != c.projection_dim && input.last() != UNKNOWN && c.projection_dim != UNKNOWN {
        return Err(Problem::Axes {
            found: *input,
            expected: "`projection_dim` must be the size of the last axis",
        });
    }
    let positions = match input.tail_product_except_last() {
        Some(p) => p,
        None => return Err(Problem::TooLarge),
    };
    Ok(LayerEval {
        output: *input,
        trainable: c.projection_dim,
        non_trainable: 0,
        macs: tri!(mul(c.projection_dim, positions)),
    })
}

/// `Flatten`: every axis but the batch into one. It takes no arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten;

pub(super) const fn eval_flatten(input: &Shape) -> Result<LayerEval, Problem> {
    match input.elements() {
        Some(n) => Ok(LayerEval::weightless(Shape::new(&[n]))),
        None => Err(Problem::TooLarge),
    }
}

/// `Reshape(target_shape)`, with at most one `-1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reshape {
    /// The target, `-1` for the inferred dimension, [`UNKNOWN_ENTRY`] for one not known yet.
    pub target: [i64; MAX_RANK],
    /// The target's rank.
    pub len: usize,
}

impl Reshape {
    /// Placeholder (the target is required).
    pub const DEFAULT: Reshape = Reshape {
        target: [0; MAX_RANK],
        len: 0,
    };
}

pub(super) const RESHAPE: &[ArgSpec] = &[req("target_shape", ArgType::IntList)];

pub(super) const fn set_reshape(c: &mut Reshape, v: Checked, arg: usize) -> Result<(), ArgError> {
    if let Checked::List(l, len) = v {
        let mut inferred = 0;
        let mut i = 0;
        while i < len {
            if l[i] == -1 {
                inferred += 1;
            } else if l[i] < 1 && l[i] != UNKNOWN_ENTRY {
                return Err(bad_list(arg, RESHAPE[0]));
            }
            i += 1;
        }
        if inferred > 1 {
            return Err(ArgError::Unsupported {
                arg,
                why: "at most one dimension of `target_shape` may be -1",
            });
        }
        c.target = l;
        c.len = len;
    }
    Ok(())
}

const fn bad_list(arg: usize, spec: ArgSpec) -> ArgError {
    ArgError::Bad {
        arg,
        spec,
        problem: ValueProblem::OutOfRange,
    }
}

pub(super) const fn eval_reshape(c: &Reshape, input: &Shape) -> Result<LayerEval, Problem> {
    let error = Problem::Reshape {
        found: *input,
        target: c.target,
        len: c.len,
    };
    let total = match input.elements() {
        Some(n) => n,
        None => return Err(Problem::TooLarge),
    };
    let mut known: usize = 1;
    let mut unknown_target = false;
    let mut hole = MAX_RANK;
    let mut i = 0;
    while i < c.len {
        if c.target[i] == UNKNOWN_ENTRY {
            unknown_target = true;
        } else if c.target[i] < 0 {
            hole = i;
        } else {
            known = tri!(mul(known, c.target[i] as usize));
        }
        i += 1;
    }
    let mut dims = [0usize; MAX_RANK];
    i = 0;
    while i < c.len {
        dims[i] = if c.target[i] == UNKNOWN_ENTRY {
            UNKNOWN
        } else {
            c.target[i] as usize
        };
        i += 1;
    }
    if total == UNKNOWN || unknown_target {
        if hole < MAX_RANK {
            dims[hole] = UNKNOWN;
        }
    } else if hole < MAX_RANK {
        if known == 0 || total % known != 0 || total / known == 0 {
            return Err(error);
        }
        dims[hole] = total / known;
    } else if known != total {
        return Err(error);
    }
    Ok(LayerEval::weightless(Shape::new(dims.split_at(c.len).0)))
}

/// `Permute(dims)`: axes counted from 1, batch excluded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Permute {
    /// The permutation, 1-based.
    pub dims: [usize; MAX_RANK],
    /// Its length.
    pub len: usize,
}

impl Permute {
    /// Placeholder (dims are required).
    pub const DEFAULT: Permute = Permute {
        dims: [0; MAX_RANK],
        len: 0,
    };
}

pub(super) const PERMUTE: &[ArgSpec] = &[req("dims", ArgType::IntList)];

pub(super) const fn set_permute(c: &mut Permute, v: Checked, arg: usize) -> Result<(), ArgError> {
    if let Checked::List(l, len) = v {
        let mut used = [false; MAX_RANK + 1];
        let mut i = 0;
        while i < len {
            if l[i] < 1 || l[i] as usize > len || used[l[i] as usize] {
                return Err(ArgError::Unsupported {
                    arg,
                    why: "`dims` must be a permutation of 1..=n (axes counted from 1, batch excluded)",
                });
            }
            used[l[i] as usize] = true;
            c.dims[i] = l[i] as usize;
            i += 1;
        }
        c.len = len;
    }
    Ok(())
}

pub(super) const fn eval_permute(c: &Permute, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_rank(input, c.len));
    let mut dims = [0usize; MAX_RANK];
    let mut i = 0;
    while i < c.len {
        dims[i] = input.dim(c.dims[i] - 1);
        i += 1;
    }
    Ok(LayerEval::weightless(Shape::new(dims.split_at(c.len).0)))
}

/// `RepeatVector(n)`: `(features,)` to `(n, features)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepeatVector {
    /// Repetitions.
    pub n: usize,
}

pub(super) const REPEAT_VECTOR: &[ArgSpec] = &[req("n", ArgType::Count)];

pub(super) const fn set_repeat(c: &mut RepeatVector, v: Checked) {
    if let Checked::Usize(n) = v {
        c.n = n;
    }
}

pub(super) const fn eval_repeat(c: &RepeatVector, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_rank(input, 1));
    Ok(LayerEval::weightless(Shape::new(&[c.n, input.dim(0)])))
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, weights};
    use super::{Dense, Embedding, Flatten, LayerScale, Permute, RepeatVector, Reshape};
    use crate::error::Error;
    use crate::layer::ops::{forward_only, Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Init, Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Dense {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            weights::dense(self, input, specs);
        }
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::dense(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            backward::dense_forward(self, s, x, y, t);
            Ok(())
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::dense_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for Embedding {
        fn weights(&self, _: &Shape, specs: &mut Specs) {
            weights::embedding(self, specs);
        }
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::embedding(self, s, x, y)
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::embedding_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    /// `Flatten` and `Reshape`: the data is row-major either way, so they only copy.
    macro_rules! reinterpret {
        ($($ty:ty),*) => {$(
            impl Ops for $ty {
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
                    backward::copy_backward(g);
                    Ok(())
                }
                fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
            }
        )*};
    }
    reinterpret!(Flatten, Reshape);

    impl Ops for LayerScale {
        fn weights(&self, _: &Shape, specs: &mut Specs) {
            let init = Init::Constant(self.init_values as f32);
            specs.push("gamma", &[self.projection_dim], init);
        }
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::layer_scale(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::layer_scale_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for Permute {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::permute(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::permute_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for RepeatVector {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::repeat_vector(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::repeat_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
