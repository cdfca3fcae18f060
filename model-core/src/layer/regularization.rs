//! Regularization layers, shape-preserving: `Dropout`, `SpatialDropout1D/2D/3D`, `GaussianNoise`.

use super::{arg, need_rank, req, ArgSpec, Kind, LayerEval};
use crate::error::Problem;
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// The noise a regularization layer adds in training (identity in inference).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// Dropout rate, or the Gaussian noise's standard deviation.
    pub rate: f64,
    /// Seed of the noise, if given.
    pub seed: Option<usize>,
}

impl Noise {
    /// Placeholder (the rate is required).
    pub const DEFAULT: Noise = Noise {
        rate: 0.0,
        seed: None,
    };
}

pub(super) const DROPOUT: &[ArgSpec] = &[req("rate", ArgType::Rate), arg("seed", ArgType::Natural)];
pub(super) const GAUSSIAN_NOISE: &[ArgSpec] =
    &[req("stddev", ArgType::Rate), arg("seed", ArgType::Natural)];

pub(super) const fn set_noise(c: &mut Noise, name: &str, v: Checked) {
    match v {
        Checked::Float(f) => c.rate = f,
        Checked::Usize(s) if str_eq(name, "seed") => c.seed = Some(s),
        _ => {}
    }
}

pub(super) const fn eval_noise(kind: Kind, input: &Shape) -> Result<LayerEval, Problem> {
    let r = kind.spatial_rank();
    if r > 0 {
        tri!(need_rank(input, r + 1));
    }
    Ok(LayerEval::weightless(*input))
}
