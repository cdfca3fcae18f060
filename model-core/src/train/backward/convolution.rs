//! Convolutions (stub).
use super::{Cache, Pass};
use crate::layer::{Conv, Kind};

pub(crate) fn supported(_kind: Kind) -> bool {
    false
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn forward(
    _kind: Kind,
    _c: &Conv,
    _p: &Pass,
    _x: &[f32],
    _y: &mut [f32],
    _cache: &mut Cache,
    _scratch: &mut Vec<f32>,
) {
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    _kind: Kind,
    _c: &Conv,
    _p: &Pass,
    _x: &[f32],
    _y: &[f32],
    _dy: &[f32],
    _dx: Option<&mut [f32]>,
    _grads: &mut [Vec<f32>],
    _cache: &Cache,
    _linear: bool,
    _scratch: &mut Vec<f32>,
) {
}
