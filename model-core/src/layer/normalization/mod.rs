//! `BatchNormalization` and `LayerNormalization`, on the last axis.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;
#[cfg(feature = "runtime")]
mod weights;

use super::{arg, need_min_rank, ArgError, ArgSpec, LayerEval};
use crate::error::{mul, Problem};
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// A normalization layer's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalization {
    /// Batch (moving statistics) or layer normalization.
    pub batch: bool,
    /// Learn an offset `beta`.
    pub center: bool,
    /// Learn a scale `gamma`.
    pub scale: bool,
    /// Added to the variance.
    pub epsilon: f64,
    /// Moving-average momentum (batch normalization).
    pub momentum: f64,
}

impl Normalization {
    /// Keras's `BatchNormalization` defaults.
    pub const BATCH: Normalization = Normalization {
        batch: true,
        center: true,
        scale: true,
        epsilon: 1e-3,
        momentum: 0.99,
    };
    /// Keras's `LayerNormalization` defaults.
    pub const LAYER: Normalization = Normalization {
        batch: false,
        center: true,
        scale: true,
        epsilon: 1e-3,
        momentum: 0.0,
    };
}

pub(super) const BATCH_NORM: &[ArgSpec] = &[
    arg("axis", ArgType::Int),
    arg("momentum", ArgType::NonNegFloat),
    arg("epsilon", ArgType::NonNegFloat),
    arg("center", ArgType::Bool),
    arg("scale", ArgType::Bool),
];
pub(super) const LAYER_NORM: &[ArgSpec] = &[
    arg("axis", ArgType::Int),
    arg("epsilon", ArgType::NonNegFloat),
    arg("center", ArgType::Bool),
    arg("scale", ArgType::Bool),
];

pub(super) const fn set_norm(
    c: &mut Normalization,
    name: &str,
    v: Checked,
    arg: usize,
) -> Result<(), ArgError> {
    match v {
        Checked::Int(a) if a != -1 => {
            return Err(ArgError::Unsupported {
                arg,
                why: "only the last axis (`axis = -1`) is supported",
            });
        }
        Checked::Float(f) => {
            if str_eq(name, "epsilon") {
                c.epsilon = f;
            } else {
                c.momentum = f;
            }
        }
        Checked::Bool(b) => {
            if str_eq(name, "center") {
                c.center = b;
            } else {
                c.scale = b;
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) const fn eval_norm(c: &Normalization, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    let features = input.last();
    let learned = tri!(mul(features, c.center as usize + c.scale as usize));
    let moving = if c.batch { tri!(mul(features, 2)) } else { 0 };
    Ok(LayerEval {
        output: *input,
        trainable: learned,
        non_trainable: moving,
        macs: learned,
    })
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, weights, Normalization};
    use crate::error::Error;
    use crate::layer::ops::{Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Normalization {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            weights::specs(self, input.last(), specs);
        }
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::forward(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            backward::forward(self, s, x, y, t.cache);
            Ok(())
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, weights: &mut [Tensor], cache: &Cache) {
            if self.batch {
                backward::update_moving(self, weights, cache);
            }
        }
    }
}
