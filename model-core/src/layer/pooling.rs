//! Pooling: `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D`, and their global forms.

use super::convolution::{padding_of, window_output, Padding, PADDING};
use super::{arg, need_rank, ArgSpec, Kind, LayerEval};
use crate::error::Problem;
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// `MaxPoolingND` / `AveragePoolingND(pool_size, strides, padding)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pooling {
    /// Window per spatial axis.
    pub pool_size: [usize; 3],
    /// Step per spatial axis; `None` means the pool size, as in Keras.
    pub strides: Option<[usize; 3]>,
    /// Border treatment.
    pub padding: Padding,
}

impl Pooling {
    /// Keras's defaults: a window of 2, strides of the window.
    pub const DEFAULT: Pooling = Pooling {
        pool_size: [2; 3],
        strides: None,
        padding: Padding::Valid,
    };

    /// The strides in effect.
    pub const fn effective_strides(&self) -> [usize; 3] {
        match self.strides {
            Some(s) => s,
            None => self.pool_size,
        }
    }
}

macro_rules! pool_args {
    ($n:literal) => {
        &[
            arg("pool_size", ArgType::Dims($n)),
            arg("strides", ArgType::OptDims($n)),
            arg("padding", PADDING),
        ]
    };
}
pub(super) const POOL1D: &[ArgSpec] = pool_args!(1);
pub(super) const POOL2D: &[ArgSpec] = pool_args!(2);
pub(super) const POOL3D: &[ArgSpec] = pool_args!(3);

pub(super) const fn set_pooling(c: &mut Pooling, name: &str, v: Checked) {
    match v {
        Checked::Dims(d) => {
            if str_eq(name, "pool_size") {
                c.pool_size = d;
            } else {
                c.strides = Some(d);
            }
        }
        Checked::Choice(i) => c.padding = padding_of(i),
        _ => {}
    }
}

pub(super) const fn eval_pooling(
    kind: Kind,
    c: &Pooling,
    input: &Shape,
) -> Result<LayerEval, Problem> {
    let r = kind.spatial_rank();
    tri!(need_rank(input, r + 1));
    let strides = c.effective_strides();
    let mut output = *input;
    let mut i = 0;
    while i < r {
        let size = input.dim(i);
        match window_output(size, c.pool_size[i], strides[i], c.padding) {
            Some(o) => output = output.with(i, o),
            None => {
                return Err(Problem::Window {
                    axis: i,
                    size,
                    window: c.pool_size[i],
                    found: *input,
                })
            }
        }
        i += 1;
    }
    Ok(LayerEval::weightless(output))
}

/// `GlobalMaxPoolingND` / `GlobalAveragePoolingND(keepdims)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlobalPooling {
    /// Keep the pooled axes with size 1.
    pub keepdims: bool,
}

pub(super) const GLOBAL: &[ArgSpec] = &[arg("keepdims", ArgType::Bool)];

pub(super) const fn set_global(c: &mut GlobalPooling, v: Checked) {
    if let Checked::Bool(b) = v {
        c.keepdims = b;
    }
}

pub(super) const fn eval_global(
    kind: Kind,
    c: &GlobalPooling,
    input: &Shape,
) -> Result<LayerEval, Problem> {
    let r = kind.spatial_rank();
    tri!(need_rank(input, r + 1));
    let output = if c.keepdims {
        let mut s = *input;
        let mut i = 0;
        while i < r {
            s = s.with(i, 1);
            i += 1;
        }
        s
    } else {
        Shape::new(&[input.last()])
    };
    Ok(LayerEval::weightless(output))
}
