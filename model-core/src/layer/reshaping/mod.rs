//! Spatial reshaping: `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D`, `UpSampling1D/2D/3D`.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{arg, need_rank, ArgSpec, LayerEval};
use crate::error::{add, mul, Problem};
use crate::shape::{Shape, UNKNOWN};
use crate::value::{str_eq, tri, ArgType, Checked};

/// Whether a [`Pads`] layer adds or removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PadOp {
    /// `ZeroPadding*`: zeros added around the input.
    Zero,
    /// `Cropping*`: cells removed from its edges.
    Crop,
}

/// Amounts added (`ZeroPadding`) or removed (`Cropping`) before and after each spatial axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pads {
    /// Added or removed.
    pub op: PadOp,
    /// The spatial axes: 1, 2 or 3.
    pub rank: usize,
    /// `(before, after)` per spatial axis.
    pub amounts: [[usize; 2]; 3],
}

impl Pads {
    /// Keras's defaults: `ZeroPadding` adds 1 on every side of the spatial axes, `Cropping`
    /// removes nothing.
    pub const fn new(op: PadOp, rank: usize) -> Pads {
        let amount = match op {
            PadOp::Zero => 1,
            PadOp::Crop => 0,
        };
        Pads {
            op,
            rank,
            amounts: [[amount; 2]; 3],
        }
    }
}

pub(super) const ZERO_PADDING1D: &[ArgSpec] = &[arg("padding", ArgType::Pairs(1))];
pub(super) const ZERO_PADDING2D: &[ArgSpec] = &[arg("padding", ArgType::Pairs(2))];
pub(super) const ZERO_PADDING3D: &[ArgSpec] = &[arg("padding", ArgType::Pairs(3))];
pub(super) const CROPPING1D: &[ArgSpec] = &[arg("cropping", ArgType::Pairs(1))];
pub(super) const CROPPING2D: &[ArgSpec] = &[arg("cropping", ArgType::Pairs(2))];
pub(super) const CROPPING3D: &[ArgSpec] = &[arg("cropping", ArgType::Pairs(3))];

pub(super) const fn set_pads(c: &mut Pads, v: Checked) {
    if let Checked::Pairs(p) = v {
        c.amounts = p;
    }
}

pub(super) const fn eval_pads(c: &Pads, input: &Shape) -> Result<LayerEval, Problem> {
    let r = c.rank;
    tri!(need_rank(input, r + 1));
    let mut output = *input;
    let mut i = 0;
    while i < r {
        let size = input.dim(i);
        let total = tri!(add(c.amounts[i][0], c.amounts[i][1]));
        let out = if let PadOp::Zero = c.op {
            tri!(add(size, total))
        } else if size == UNKNOWN || total == UNKNOWN {
            UNKNOWN
        } else if total >= size {
            return Err(Problem::Crop {
                axis: i,
                size,
                crop: total,
            });
        } else {
            size - total
        };
        output = output.with(i, out);
        i += 1;
    }
    Ok(LayerEval::weightless(output))
}

/// How `UpSampling2D` fills new pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Repeat the nearest pixel.
    Nearest,
    /// Bilinear interpolation.
    Bilinear,
}

/// `UpSamplingND(size, interpolation)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpSampling {
    /// The spatial axes: 1, 2 or 3.
    pub rank: usize,
    /// Repetitions per spatial axis.
    pub size: [usize; 3],
    /// How new entries are filled.
    pub interpolation: Interpolation,
}

impl UpSampling {
    /// Keras's defaults over `rank` spatial axes: 2 per axis, nearest.
    pub const fn new(rank: usize) -> UpSampling {
        UpSampling {
            rank,
            size: [2; 3],
            interpolation: Interpolation::Nearest,
        }
    }
}

pub(super) const UPSAMPLING1D: &[ArgSpec] = &[arg("size", ArgType::Dims(1))];
pub(super) const UPSAMPLING2D: &[ArgSpec] = &[
    arg("size", ArgType::Dims(2)),
    arg("interpolation", ArgType::Choice(&["nearest", "bilinear"])),
];
pub(super) const UPSAMPLING3D: &[ArgSpec] = &[arg("size", ArgType::Dims(3))];

pub(super) const fn set_upsampling(c: &mut UpSampling, name: &str, v: Checked) {
    match v {
        Checked::Dims(d) if str_eq(name, "size") => c.size = d,
        Checked::Choice(0) => c.interpolation = Interpolation::Nearest,
        Checked::Choice(_) => c.interpolation = Interpolation::Bilinear,
        _ => {}
    }
}

pub(super) const fn eval_upsampling(c: &UpSampling, input: &Shape) -> Result<LayerEval, Problem> {
    let r = c.rank;
    tri!(need_rank(input, r + 1));
    let mut output = *input;
    let mut i = 0;
    while i < r {
        output = output.with(i, tri!(mul(input.dim(i), c.size[i])));
        i += 1;
    }
    Ok(LayerEval::weightless(output))
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, Pads, UpSampling};
    use crate::error::Error;
    use crate::layer::ops::{forward_only, Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Pads {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::pads(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::pads_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for UpSampling {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::upsampling(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::upsampling_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
