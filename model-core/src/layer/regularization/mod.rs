//! Regularization layers, shape-preserving: `Dropout`, `SpatialDropout1D/2D/3D`, `GaussianNoise`.
//! They are the identity in inference.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{arg, need_rank, req, ArgSpec, LayerEval};
use crate::error::Problem;
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// What a regularization layer does in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseOp {
    /// Values dropped with probability `rate`, the others scaled by `1 / (1 − rate)`. Keras
    /// accepts a rate of 1 (TensorFlow then refuses to train); here it drops every value.
    Dropout,
    /// `N(0, stddev²)` noise added (`rate` holds the standard deviation).
    Gaussian,
    /// `StochasticDepth` (keras.applications' ConvNeXt): each sample's whole tensor dropped
    /// with probability `rate`, kept ones scaled by `1 / (1 − rate)`.
    StochasticDepth,
}

/// The noise a regularization layer adds in training (identity in inference).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// Dropout or added noise.
    pub op: NoiseOp,
    /// For `SpatialDropout1D/2D/3D`, the spatial axes (one decision per sample and channel,
    /// shared over them); 0 for `Dropout` and `GaussianNoise`.
    pub rank: usize,
    /// Dropout rate, or the Gaussian noise's standard deviation.
    pub rate: f64,
    /// Seed of the noise, if given.
    pub seed: Option<usize>,
}

impl Noise {
    /// Keras's defaults (the rate or standard deviation must be set).
    pub const fn new(op: NoiseOp, rank: usize) -> Noise {
        Noise {
            op,
            rank,
            rate: 0.0,
            seed: None,
        }
    }
}

pub(super) const DROPOUT: &[ArgSpec] = &[req("rate", ArgType::Rate), arg("seed", ArgType::Natural)];
pub(super) const STOCHASTIC_DEPTH: &[ArgSpec] = &[req("drop_path_rate", ArgType::Rate)];
pub(super) const GAUSSIAN_NOISE: &[ArgSpec] =
    &[req("stddev", ArgType::Rate), arg("seed", ArgType::Natural)];

pub(super) const fn set_noise(c: &mut Noise, name: &str, v: Checked) {
    match v {
        Checked::Float(f) => c.rate = f,
        Checked::Usize(s) if str_eq(name, "seed") => c.seed = Some(s),
        _ => {}
    }
}

pub(super) const fn eval_noise(c: &Noise, input: &Shape) -> Result<LayerEval, Problem> {
    let r = c.rank;
    if r > 0 {
        tri!(need_rank(input, r + 1));
    }
    Ok(LayerEval::weightless(*input))
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, Noise};
    use crate::error::Error;
    use crate::layer::ops::{Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Noise {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            y.copy_from_slice(x);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            backward::forward(self, s, x, y, t);
            Ok(())
        }
        fn backward(&self, _: &Step, g: Grad) -> Result<(), Error> {
            backward::backward(self, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
