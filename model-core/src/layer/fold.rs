//! What inference folds into a convolution: the BatchNormalization after it and the
//! activation after that (`Conv2D → BatchNormalization → ReLU`, the unit ResNet and
//! MobileNet are built of). The convolution normalizes and activates each tile before
//! storing it, so the intermediate tensors are never written: one pass over the output
//! instead of three, with the same values bit for bit. Both executors, Sequential and
//! graph, find their chains with these; training keeps the layers apart (it needs the
//! intermediate tensors).

use super::convolution::forward::{forward_normalized, Affine};
use super::normalization::forward::{factors, folds};
use super::ops::Step;
use super::{Activation, Config, Conv, ReLU};
use crate::error::Error;
use crate::runtime::{aligned, Tensor};

/// Whether a layer of this configuration and these weights is a BatchNormalization a
/// convolution of `filters` filters can fold: its moving statistics, gamma and beta where
/// it has them, each one value per filter.
pub(crate) fn normalization(config: &Config, weights: &[Tensor], filters: usize) -> bool {
    matches!(config, Config::Normalization(n) if folds(n, weights, filters))
}

/// The activation a layer applies, when a convolution can apply it in the layer's place
/// with the same values: an `Activation` layer, or a plain `ReLU` (ReLU6 included).
pub(crate) fn activation(config: &Config) -> Option<Activation> {
    match config {
        Config::Activation(a) => Some(*a),
        Config::ReLU(ReLU {
            max_value,
            negative_slope,
            threshold,
        }) if *negative_slope == 0.0 && *threshold == 0.0 => match max_value {
            None => Some(Activation::Relu),
            Some(m) if *m == 6.0 => Some(Activation::Relu6),
            Some(_) => None,
        },
        _ => None,
    }
}

/// Runs convolution `c` (its step `s`) with the BatchNormalization `norm` (its weights
/// `norm_weights`) and then `activation` folded in, from `x` into `y`; `scratch` grows to
/// what the convolution needs plus the normalization's factors. An error where the layers
/// do not fold, which the callers' checks ([`normalization`] and the convolution's
/// `folds`) rule out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    c: &Conv,
    s: &Step,
    norm: &Config,
    norm_weights: &[Tensor],
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut Vec<f32>,
) -> Result<(), Error> {
    let Config::Normalization(n) = norm else {
        return Err(Error::new(
            "a folded layer that is not a BatchNormalization",
        ));
    };
    let filters = s.output.last();
    let need = super::convolution::forward::scratch_len(c, &s.input, &s.output, s.batch);
    // The convolution's scratch, then the normalization's factors.
    let (conv_scratch, factors_buf) = aligned(scratch, need + 2 * filters).split_at_mut(need);
    let (scale, shift) = factors_buf.split_at_mut(filters);
    let ran = factors(n, norm_weights, scale, shift) && {
        let affine = Affine { scale, shift };
        forward_normalized(c, s, affine, activation, x, y, conv_scratch)
    };
    if ran {
        Ok(())
    } else {
        Err(Error::new(
            "the convolution and the normalization after it did not fold",
        ))
    }
}
