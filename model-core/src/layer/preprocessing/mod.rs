//! Keras's preprocessing layers that models hold: `Rescaling(scale, offset)` (`x · scale +
//! offset`) and `Normalization(axis, mean, variance, invert)` (`(x − mean) / √variance`).
//! Both work on the last axis, one value or one per channel.
//!
//! `Normalization` given its `mean` and `variance` keeps them as constants: no weights,
//! 0 parameters. Without them it holds `mean`, `variance` and an integer `count` as
//! non-trainable weights (set by Keras's `adapt`): 2C + 1 parameters.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{arg, need_min_rank, req, ArgError, ArgSpec, LayerEval};
use crate::error::{add, mul, Problem};
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked, Numbers};

/// `Rescaling(scale, offset)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rescaling {
    /// The factor, one or one per channel.
    pub scale: Numbers,
    /// Added after scaling, one or one per channel.
    pub offset: Numbers,
}

impl Rescaling {
    /// Keras's defaults (the scale must be set).
    pub const DEFAULT: Rescaling = Rescaling {
        scale: Numbers::One(1.0),
        offset: Numbers::One(0.0),
    };
}

pub(super) const RESCALING: &[ArgSpec] = &[
    req("scale", ArgType::Numbers),
    arg("offset", ArgType::Numbers),
];

pub(super) const fn set_rescaling(c: &mut Rescaling, name: &str, v: Checked) {
    if let Checked::Numbers(n) = v {
        if str_eq(name, "scale") {
            c.scale = n;
        } else {
            c.offset = n;
        }
    }
}

/// Values that must be one, or one per channel of `input`.
const fn per_channel(n: &Numbers, input: &Shape, what: &'static str) -> Result<(), Problem> {
    if n.fits(input.last()) {
        Ok(())
    } else {
        Err(Problem::Axes {
            found: *input,
            expected: what,
        })
    }
}

pub(super) const fn eval_rescaling(c: &Rescaling, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    tri!(per_channel(
        &c.scale,
        input,
        "`scale` needs one value, or one per channel of the last axis"
    ));
    tri!(per_channel(
        &c.offset,
        input,
        "`offset` needs one value, or one per channel of the last axis"
    ));
    Ok(LayerEval::weightless(*input))
}

/// Keras's `Normalization` layer (named so apart from batch and layer normalization).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardization {
    /// Given constants, or `None` for the weights `adapt` sets.
    pub mean: Option<Numbers>,
    /// Given with `mean`.
    pub variance: Option<Numbers>,
    /// `mean + x · √variance` instead: undo a normalization.
    pub invert: bool,
}

impl Standardization {
    /// Keras's defaults: no constants, on the last axis.
    pub const DEFAULT: Standardization = Standardization {
        mean: None,
        variance: None,
        invert: false,
    };
}

pub(super) const NORMALIZATION: &[ArgSpec] = &[
    arg("axis", ArgType::Int),
    arg("mean", ArgType::OptNumbers),
    arg("variance", ArgType::OptNumbers),
    arg("invert", ArgType::Bool),
];

pub(super) const fn set_standardization(
    c: &mut Standardization,
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
        Checked::Numbers(n) => {
            if str_eq(name, "mean") {
                c.mean = Some(n);
            } else {
                c.variance = Some(n);
            }
        }
        Checked::Bool(b) => c.invert = b,
        _ => {}
    }
    Ok(())
}

pub(super) const fn eval_standardization(
    c: &Standardization,
    input: &Shape,
) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    match (&c.mean, &c.variance) {
        (Some(m), Some(v)) => {
            if m.len() != v.len() {
                return Err(Problem::Argument(
                    "`mean` and `variance` must have the same length",
                ));
            }
            tri!(per_channel(
                m,
                input,
                "`mean` and `variance` need one value, or one per channel of the last axis"
            ));
            Ok(LayerEval::weightless(*input))
        }
        (None, None) => Ok(LayerEval {
            output: *input,
            trainable: 0,
            non_trainable: tri!(add(tri!(mul(input.last(), 2)), 1)),
            macs: 0,
        }),
        _ => Err(Problem::Argument(
            "give both `mean` and `variance`, or neither (then `adapt` sets them in Keras)",
        )),
    }
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, Rescaling, Standardization};
    use crate::error::Error;
    use crate::layer::ops::{forward_only, Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Init, Spec, Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Rescaling {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::rescaling(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::rescaling(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for Standardization {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            if self.mean.is_some() {
                return;
            }
            let state = |name, dims: &[usize], init| Spec {
                name,
                shape: Shape::new(dims),
                trainable: false,
                init,
            };
            let c = input.last();
            specs.push_spec(state("mean", &[c], Init::Zeros));
            specs.push_spec(state("variance", &[c], Init::Ones));
            specs.push_spec(state("count", &[], Init::Zeros));
        }
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::standardization(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::standardization(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
