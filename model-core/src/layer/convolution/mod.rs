//! Convolutions: `Conv1D/2D/3D`, their transposes, `SeparableConv1D/2D`, `DepthwiseConv1D/2D`.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
mod depthwise;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;
#[cfg(feature = "runtime")]
mod tiled;
#[cfg(feature = "runtime")]
mod weights;

use super::{arg, need_rank, req, Activation, ArgError, ArgSpec, LayerEval};
use crate::error::{add, div, mul, Problem};
use crate::shape::{Shape, UNKNOWN};
use crate::value::{str_eq, tri, ArgType, Checked};

/// How a convolution or pooling treats the borders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// No padding: the window stays inside the input.
    Valid,
    /// Zero padding so that the output is `ceil(input / stride)`.
    Same,
    /// `Conv1D` only: left padding so that no output sees the future.
    Causal,
}

impl Padding {
    /// Keras's word for it.
    pub const fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }
}

/// Padding choices of most convolutions and of pooling, in `Padding` order.
pub(super) const PADDING: ArgType = ArgType::Choice(&["valid", "same"]);
const PADDING_CAUSAL: ArgType = ArgType::Choice(&["valid", "same", "causal"]);

/// Every convolution's configuration; which fields matter depends on the kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv {
    /// What is computed: a regular, transposed, separable or depthwise convolution.
    pub op: ConvOp,
    /// The spatial axes: 1, 2 or 3.
    pub rank: usize,
    /// Output channels (depthwise: unused; the output has `channels · depth_multiplier`).
    pub filters: usize,
    /// Window size per spatial axis (unused axes are 1).
    pub kernel_size: [usize; 3],
    /// Step per spatial axis.
    pub strides: [usize; 3],
    /// Border treatment.
    pub padding: Padding,
    /// Dilation per spatial axis.
    pub dilation_rate: [usize; 3],
    /// Channel groups (regular convolutions).
    pub groups: usize,
    /// Depthwise channel multiplier (separable and depthwise).
    pub depth_multiplier: usize,
    /// Applied after the convolution.
    pub activation: Activation,
    /// Whether a bias is added.
    pub use_bias: bool,
}

impl Conv {
    /// Keras's defaults for a regular 2-D convolution (filters and kernel size must be set).
    pub const DEFAULT: Conv = Conv {
        op: ConvOp::Regular,
        rank: 2,
        filters: 1,
        kernel_size: [1; 3],
        strides: [1; 3],
        padding: Padding::Valid,
        dilation_rate: [1; 3],
        groups: 1,
        depth_multiplier: 1,
        activation: Activation::Linear,
        use_bias: true,
    };

    /// Keras's defaults for a convolution of `op` over `rank` spatial axes.
    pub const fn new(op: ConvOp, rank: usize) -> Conv {
        Conv {
            op,
            rank,
            ..Conv::DEFAULT
        }
    }

    /// The dilated window along spatial axis `i`.
    pub const fn effective_kernel(&self, i: usize) -> usize {
        (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
    }
}

macro_rules! conv_args {
    ($n:literal, $padding:expr) => {
        &[
            req("filters", ArgType::Count),
            req("kernel_size", ArgType::Dims($n)),
            arg("strides", ArgType::Dims($n)),
            arg("padding", $padding),
            arg("dilation_rate", ArgType::Dims($n)),
            arg("groups", ArgType::Count),
            arg("activation", ArgType::Activation),
            arg("use_bias", ArgType::Bool),
        ]
    };
}
macro_rules! transpose_args {
    ($n:literal) => {
        &[
            req("filters", ArgType::Count),
            req("kernel_size", ArgType::Dims($n)),
            arg("strides", ArgType::Dims($n)),
            arg("padding", PADDING),
            arg("output_padding", ArgType::OptDims($n)),
            arg("dilation_rate", ArgType::Dims($n)),
            arg("activation", ArgType::Activation),
            arg("use_bias", ArgType::Bool),
        ]
    };
}
macro_rules! separable_args {
    ($n:literal) => {
        &[
            req("filters", ArgType::Count),
            req("kernel_size", ArgType::Dims($n)),
            arg("strides", ArgType::Dims($n)),
            arg("padding", PADDING),
            arg("dilation_rate", ArgType::Dims($n)),
            arg("depth_multiplier", ArgType::Count),
            arg("activation", ArgType::Activation),
            arg("use_bias", ArgType::Bool),
        ]
    };
}
macro_rules! depthwise_args {
    ($n:literal) => {
        &[
            req("kernel_size", ArgType::Dims($n)),
            arg("strides", ArgType::Dims($n)),
            arg("padding", PADDING),
            arg("depth_multiplier", ArgType::Count),
            arg("dilation_rate", ArgType::Dims($n)),
            arg("activation", ArgType::Activation),
            arg("use_bias", ArgType::Bool),
        ]
    };
}

pub(super) const CONV1D: &[ArgSpec] = conv_args!(1, PADDING_CAUSAL);
pub(super) const CONV2D: &[ArgSpec] = conv_args!(2, PADDING);
pub(super) const CONV3D: &[ArgSpec] = conv_args!(3, PADDING);
pub(super) const CONV1D_T: &[ArgSpec] = transpose_args!(1);
pub(super) const CONV2D_T: &[ArgSpec] = transpose_args!(2);
pub(super) const CONV3D_T: &[ArgSpec] = transpose_args!(3);
pub(super) const SEPARABLE1D: &[ArgSpec] = separable_args!(1);
pub(super) const SEPARABLE2D: &[ArgSpec] = separable_args!(2);
pub(super) const DEPTHWISE1D: &[ArgSpec] = depthwise_args!(1);
pub(super) const DEPTHWISE2D: &[ArgSpec] = depthwise_args!(2);

pub(super) const fn padding_of(i: usize) -> Padding {
    match i {
        0 => Padding::Valid,
        1 => Padding::Same,
        _ => Padding::Causal,
    }
}

pub(super) const fn set_conv(
    c: &mut Conv,
    name: &str,
    v: Checked,
    arg: usize,
) -> Result<(), ArgError> {
    match v {
        Checked::Usize(n) => {
            if str_eq(name, "filters") {
                c.filters = n;
            } else if str_eq(name, "groups") {
                c.groups = n;
            } else {
                c.depth_multiplier = n;
            }
        }
        Checked::Dims(d) => {
            if str_eq(name, "kernel_size") {
                c.kernel_size = d;
            } else if str_eq(name, "strides") {
                c.strides = d;
            } else if str_eq(name, "dilation_rate") {
                c.dilation_rate = d;
            } else {
                return Err(ArgError::Unsupported {
                    arg,
                    why: "`output_padding` other than None is not supported yet; leave it out",
                });
            }
        }
        Checked::Choice(i) => c.padding = padding_of(i),
        Checked::Activation(a) => c.activation = a,
        Checked::Bool(b) => c.use_bias = b,
        _ => {}
    }
    Ok(())
}

/// What a convolution kind does with its window.
/// What a convolution computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvOp {
    /// `Conv1D/2D/3D` (with `groups`).
    Regular,
    /// `Conv1D/2D/3DTranspose`: the input-gradient of a regular convolution.
    Transpose,
    /// `SeparableConv1D/2D`: depthwise, then a 1×1 regular convolution.
    Separable,
    /// `DepthwiseConv1D/2D`: each channel on its own, `depth_multiplier` times.
    Depthwise,
}

/// The output length of a (non-transposed) window along one axis, Keras's
/// `conv_output_length`; `None` when the window does not fit.
pub const fn window_output(
    size: usize,
    window: usize,
    stride: usize,
    padding: Padding,
) -> Option<usize> {
    if size == UNKNOWN || window == UNKNOWN || stride == UNKNOWN {
        return Some(UNKNOWN);
    }
    match padding {
        Padding::Valid => {
            if size < window {
                None
            } else {
                Some((size - window) / stride + 1)
            }
        }
        Padding::Same | Padding::Causal => Some(size.div_ceil(stride)),
    }
}

/// The output length of a transposed convolution along one axis (Keras's
/// `deconv_output_length` without `output_padding`).
pub const fn transpose_output(
    size: usize,
    window: usize,
    stride: usize,
    padding: Padding,
) -> Result<usize, Problem> {
    let grown = tri!(mul(size, stride));
    match padding {
        Padding::Valid => {
            if window == UNKNOWN || stride == UNKNOWN {
                Ok(UNKNOWN)
            } else if window > stride {
                add(grown, window - stride)
            } else {
                Ok(grown)
            }
        }
        _ => Ok(grown),
    }
}

pub(super) const fn eval_conv(c: &Conv, input: &Shape) -> Result<LayerEval, Problem> {
    let r = c.rank;
    tri!(need_rank(input, r + 1));
    let v = c.op;
    let channels = input.last();
    let mut i = 0;
    let mut strided = false;
    let mut dilated = false;
    while i < r {
        // An unknown value may turn out to be 1; const evaluation decides then.
        strided |= c.strides[i] > 1 && c.strides[i] != UNKNOWN;
        dilated |= c.dilation_rate[i] > 1 && c.dilation_rate[i] != UNKNOWN;
        i += 1;
    }
    // Keras refuses the combination in its base convolution and base transposed convolution.
    if strided && dilated {
        return Err(Problem::Argument(
            "`strides > 1` cannot be combined with `dilation_rate > 1`",
        ));
    }
    if matches!(v, ConvOp::Regular) && c.groups > 1 && c.groups != UNKNOWN {
        let ch_bad = channels != UNKNOWN && !channels.is_multiple_of(c.groups);
        let f_bad = c.filters != UNKNOWN && !c.filters.is_multiple_of(c.groups);
        if ch_bad || f_bad {
            return Err(Problem::Groups {
                channels,
                filters: c.filters,
                groups: c.groups,
            });
        }
    }
    // Spatial output sizes.
    let mut output = *input;
    let mut kernel_positions: usize = 1;
    i = 0;
    while i < r {
        let window = if c.kernel_size[i] == UNKNOWN || c.dilation_rate[i] == UNKNOWN {
            UNKNOWN
        } else {
            c.effective_kernel(i)
        };
        let size = input.dim(i);
        let out = if matches!(v, ConvOp::Transpose) {
            tri!(transpose_output(size, window, c.strides[i], c.padding))
        } else {
            match window_output(size, window, c.strides[i], c.padding) {
                Some(o) => o,
                None => {
                    return Err(Problem::Window {
                        axis: i,
                        size,
                        window,
                        found: *input,
                    })
                }
            }
        };
        output = output.with(i, out);
        kernel_positions = tri!(mul(kernel_positions, c.kernel_size[i]));
        i += 1;
    }
    let bias = c.use_bias as usize;
    let (out_channels, weights) = match v {
        ConvOp::Regular => {
            let per_group = div(channels, c.groups);
            let k = tri!(mul(tri!(mul(kernel_positions, per_group)), c.filters));
            (c.filters, tri!(add(k, tri!(mul(bias, c.filters)))))
        }
        ConvOp::Transpose => {
            let k = tri!(mul(tri!(mul(kernel_positions, channels)), c.filters));
            (c.filters, tri!(add(k, tri!(mul(bias, c.filters)))))
        }
        ConvOp::Separable => {
            let inner = tri!(mul(channels, c.depth_multiplier));
            let depthwise = tri!(mul(kernel_positions, inner));
            let pointwise = tri!(mul(inner, c.filters));
            (
                c.filters,
                tri!(add(
                    tri!(add(depthwise, pointwise)),
                    tri!(mul(bias, c.filters))
                )),
            )
        }
        ConvOp::Depthwise => {
            let inner = tri!(mul(channels, c.depth_multiplier));
            let depthwise = tri!(mul(kernel_positions, inner));
            (inner, tri!(add(depthwise, tri!(mul(bias, inner)))))
        }
    };
    output = output.with_last(out_channels);
    let positions = match output.tail_product_except_last() {
        Some(p) => p,
        None => return Err(Problem::TooLarge),
    };
    Ok(LayerEval {
        output,
        trainable: weights,
        non_trainable: 0,
        macs: tri!(mul(weights, positions)),
    })
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, weights, Conv};
    use crate::error::Error;
    use crate::layer::ops::{Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Conv {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            weights::specs(self, input, specs);
        }
        fn scratch_len(&self, input: &Shape, output: &Shape, batch: usize) -> usize {
            forward::scratch_len(self, input, output, batch)
        }
        fn forward(
            &self,
            s: &Step,
            x: &[f32],
            y: &mut [f32],
            scratch: &mut [f32],
        ) -> Result<(), Error> {
            forward::forward(self, s, x, y, scratch);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            backward::forward(self, s, x, y, t);
            Ok(())
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
