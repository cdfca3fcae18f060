//! Pooling: `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D`, and their global forms.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::convolution::{padding_of, window_output, Padding, PADDING};
use super::{arg, need_rank, ArgSpec, LayerEval};
use crate::error::Problem;
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// What a pooling layer takes of each window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolOp {
    /// `MaxPooling*`, `GlobalMaxPooling*`.
    Max,
    /// `AveragePooling*`, `GlobalAveragePooling*`: the mean over the window's cells inside
    /// the input (padding is not counted, as TensorFlow).
    Average,
}

/// `MaxPoolingND` / `AveragePoolingND(pool_size, strides, padding)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pooling {
    /// The maximum or the mean of each window.
    pub op: PoolOp,
    /// The spatial axes: 1, 2 or 3.
    pub rank: usize,
    /// Window per spatial axis.
    pub pool_size: [usize; 3],
    /// Step per spatial axis; `None` means the pool size, as in Keras.
    pub strides: Option<[usize; 3]>,
    /// Border treatment.
    pub padding: Padding,
}

impl Pooling {
    /// Keras's defaults for a 2-D max pooling: a window of 2, strides of the window.
    pub const DEFAULT: Pooling = Pooling {
        op: PoolOp::Max,
        rank: 2,
        pool_size: [2; 3],
        strides: None,
        padding: Padding::Valid,
    };

    /// Keras's defaults for a pooling of `op` over `rank` spatial axes.
    pub const fn new(op: PoolOp, rank: usize) -> Pooling {
        Pooling {
            op,
            rank,
            ..Pooling::DEFAULT
        }
    }

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

pub(super) const fn eval_pooling(c: &Pooling, input: &Shape) -> Result<LayerEval, Problem> {
    let r = c.rank;
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
    /// The maximum or the mean over every position.
    pub op: PoolOp,
    /// The spatial axes: 1, 2 or 3.
    pub rank: usize,
    /// Keep the pooled axes with size 1.
    pub keepdims: bool,
}

impl GlobalPooling {
    /// Keras's defaults for a global pooling of `op` over `rank` spatial axes.
    pub const fn new(op: PoolOp, rank: usize) -> GlobalPooling {
        GlobalPooling {
            op,
            rank,
            keepdims: false,
        }
    }
}

pub(super) const GLOBAL: &[ArgSpec] = &[arg("keepdims", ArgType::Bool)];

pub(super) const fn set_global(c: &mut GlobalPooling, v: Checked) {
    if let Checked::Bool(b) = v {
        c.keepdims = b;
    }
}

pub(super) const fn eval_global(c: &GlobalPooling, input: &Shape) -> Result<LayerEval, Problem> {
    let r = c.rank;
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

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, GlobalPooling, Pooling};
    use crate::error::Error;
    use crate::layer::ops::{forward_only, Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Pooling {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::pooling(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for GlobalPooling {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            forward::global(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::global_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
