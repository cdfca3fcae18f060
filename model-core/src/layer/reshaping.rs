//! Spatial reshaping: `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D`, `UpSampling1D/2D/3D`.

use super::{arg, need_rank, ArgSpec, Kind, LayerEval};
use crate::error::{add, mul, Problem};
use crate::shape::{Shape, UNKNOWN};
use crate::value::{str_eq, tri, ArgType, Checked};

/// Amounts added (`ZeroPadding`) or removed (`Cropping`) before and after each spatial axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pads {
    /// `(before, after)` per spatial axis.
    pub amounts: [[usize; 2]; 3],
}

impl Pads {
    /// Nothing added or removed (Keras's `Cropping` default).
    pub const NONE: Pads = Pads {
        amounts: [[0; 2]; 3],
    };

    /// Keras's `ZeroPadding` default: 1 on every side of the spatial axes.
    pub const ONE: Pads = Pads {
        amounts: [[1; 2]; 3],
    };
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

const fn is_cropping(kind: Kind) -> bool {
    matches!(kind, Kind::Cropping1D | Kind::Cropping2D | Kind::Cropping3D)
}

pub(super) const fn eval_pads(kind: Kind, c: &Pads, input: &Shape) -> Result<LayerEval, Problem> {
    let r = kind.spatial_rank();
    tri!(need_rank(input, r + 1));
    let mut output = *input;
    let mut i = 0;
    while i < r {
        let size = input.dim(i);
        let total = tri!(add(c.amounts[i][0], c.amounts[i][1]));
        let out = if !is_cropping(kind) {
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
    /// Repetitions per spatial axis.
    pub size: [usize; 3],
    /// How new entries are filled.
    pub interpolation: Interpolation,
}

impl UpSampling {
    /// Keras's defaults: 2 per axis, nearest.
    pub const DEFAULT: UpSampling = UpSampling {
        size: [2; 3],
        interpolation: Interpolation::Nearest,
    };
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

pub(super) const fn eval_upsampling(
    kind: Kind,
    c: &UpSampling,
    input: &Shape,
) -> Result<LayerEval, Problem> {
    let r = kind.spatial_rank();
    tri!(need_rank(input, r + 1));
    let mut output = *input;
    let mut i = 0;
    while i < r {
        output = output.with(i, tri!(mul(input.dim(i), c.size[i])));
        i += 1;
    }
    Ok(LayerEval::weightless(output))
}
