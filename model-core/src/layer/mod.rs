//! The layer catalogue: every Keras layer class the project knows, one folder per family.
//!
//! # A family's folder
//!
//! ```text
//! layer/<family>/
//!     mod.rs        the configuration, its argument table and checks, the `const fn` shape,
//!                   parameter and MAC rule; at the bottom, the family's `Ops` (run time)
//!     weights.rs    weight names, Keras's layout, initializers
//!     forward.rs    inference, and the training forward pass where it differs
//!     backward.rs   gradients, with their finite-difference checks beside them
//! ```
//!
//! Every kind is one row of `catalogue!` below: its class name, automatic name, aliases,
//! argument table, how many arguments may be positional, its input layout for messages, and
//! its default [`Config`]. The configuration says everything the layer computes (a
//! convolution's variant and rank, a pooling's maximum or average); the kind only names it.
//!
//! # Adding a kind
//!
//! - To an existing family (a new variant of what it computes): its row in `catalogue!`, and
//!   the variant in the family's configuration (`ConvOp`, `PoolOp`, …). Every `match` on that
//!   enum is exhaustive, so the compiler lists each place that must handle it.
//! - A new family: its folder (as above), `mod` and `pub use` lines here, its rows, and one
//!   [`Config`] variant. The compiler then stops at each dispatch point, all in this file:
//!   `Config::set` (arguments), [`Layer::eval`] (shapes, parameters, MACs),
//!   [`Layer::activation`] (lints and the loss's fused activation), and, with the `runtime`
//!   feature, `Config::ops` (the family's `Ops`: weights, scratch, forward, training
//!   forward, backward, statistics update); also [`Layer::reinterprets`] (whether the
//!   output is the input, reinterpreted) and [`Config::merge`] (whether it takes a list of
//!   tensors). `Ops` has no default methods, so leaving one out is a compile error too.
//!   None of these matches has a catch-all arm.
//! - Then a test: the corpus harnesses (`model-core/tests/keras_parity.rs`, `numeric_parity.rs`)
//!   pick up the new class from Keras's JSON once `keras/mod.rs` maps its arguments, and
//!   `gradcheck` gives the backward pass its finite-difference check.

pub(crate) mod activation;
mod args;
pub(crate) mod arithmetic;
pub(crate) mod convolution;
pub(crate) mod core;
pub(crate) mod merge;
pub(crate) mod normalization;
pub(crate) mod pooling;
pub(crate) mod preprocessing;
pub(crate) mod recurrent;
pub(crate) mod regularization;
pub(crate) mod reshaping;
pub(crate) mod wrappers;

#[cfg(feature = "runtime")]
pub(crate) mod fold;
#[cfg(all(test, feature = "runtime"))]
pub(crate) mod gradcheck;
#[cfg(feature = "runtime")]
pub(crate) mod ops;
#[cfg(feature = "runtime")]
pub(crate) mod window;

#[cfg(test)]
pub(crate) use self::args::test_layer;
pub(crate) use self::args::{arg, req};
pub use self::args::{
    build, describe_value, find_arg, keep_numbers, keeps_numbers, spec_of, Arg, ArgError, ArgSpec,
};

pub use self::activation::{Activation, LeakyReLU, PReLU, ReLU, Softmax, ELU};
pub use self::arithmetic::{ArithOp, Arithmetic};
pub use self::convolution::{transpose_output, window_output, Conv, ConvOp, Padding};
pub use self::core::{Dense, Embedding, Flatten, LayerScale, Permute, RepeatVector, Reshape};
pub use self::merge::{broadcast, sample_axis, Merge, MergeOp};
pub use self::normalization::Normalization;
pub use self::pooling::{GlobalPooling, PoolOp, Pooling};
pub use self::preprocessing::{Rescaling, Standardization};
pub use self::recurrent::{Bidirectional, Cell, MergeMode, Recurrent};
pub use self::regularization::{Noise, NoiseOp};
pub use self::reshaping::{Interpolation, PadOp, Pads, UpSampling};
pub use self::wrappers::TimeDistributed;

use crate::error::{EvalError, InputCount, Problem, RankReq};
use crate::shape::Shape;
use crate::value::{str_eq, Checked};

/// Everything the catalogue knows about a layer kind.
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    /// The kind.
    pub kind: Kind,
    /// Keras's class name.
    pub class_name: &'static str,
    /// Keras's automatic layer name stem (`conv2d`, `max_pooling2d`, `re_lu`).
    pub auto_name: &'static str,
    /// Other class names Keras accepts for it.
    pub aliases: &'static [&'static str],
    /// Arguments in Keras's order.
    pub args: &'static [ArgSpec],
    /// How many leading arguments may be given by position.
    pub positional: usize,
    /// What the input is, for messages (`(height, width, channels)`), or empty.
    pub layout: &'static str,
    /// The configuration before any argument: Keras's defaults, placeholders for the
    /// required arguments ([`build`] checks that they are given).
    pub default: Config,
}

macro_rules! catalogue {
    ($($kind:ident => $class:literal, $auto:literal, [$($alias:literal),*], $args:expr, $pos:literal, $layout:literal, $default:expr;)*) => {
        /// A Keras layer class.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Kind { $($kind),* }

        /// The catalogue, indexed by `Kind as usize`.
        pub const KINDS: &[KindInfo] = &[$(KindInfo {
            kind: Kind::$kind, class_name: $class, auto_name: $auto, aliases: &[$($alias),*],
            args: $args, positional: $pos, layout: $layout, default: $default,
        }),*];
    };
}

use self::activation as act;
use self::arithmetic as ari;
use self::convolution as conv;
use self::core as cor;
use self::merge as mrg;
use self::normalization as norm;
use self::pooling as pool;
use self::preprocessing as pre;
use self::recurrent as rnn;
use self::regularization as reg;
use self::reshaping as rsh;

catalogue! {
    Dense => "Dense", "dense", [], cor::DENSE, 3, "",
        Config::Dense(Dense::DEFAULT);
    Activation => "Activation", "activation", [], act::ACTIVATION, 1, "",
        Config::Activation(Activation::Linear);
    Embedding => "Embedding", "embedding", [], cor::EMBEDDING, 2, "",
        Config::Embedding(Embedding::DEFAULT);
    Flatten => "Flatten", "flatten", [], &[], 0, "",
        Config::Flatten(Flatten);
    Reshape => "Reshape", "reshape", [], cor::RESHAPE, 1, "",
        Config::Reshape(Reshape::DEFAULT);
    Permute => "Permute", "permute", [], cor::PERMUTE, 1, "",
        Config::Permute(Permute::DEFAULT);
    RepeatVector => "RepeatVector", "repeat_vector", [], cor::REPEAT_VECTOR, 1, "(features,)",
        Config::RepeatVector(RepeatVector { n: 1 });
    Dropout => "Dropout", "dropout", [], reg::DROPOUT, 1, "",
        Config::Noise(Noise::new(NoiseOp::Dropout, 0));
    SpatialDropout1D => "SpatialDropout1D", "spatial_dropout1d", [], reg::DROPOUT, 1, "(steps, channels)",
        Config::Noise(Noise::new(NoiseOp::Dropout, 1));
    SpatialDropout2D => "SpatialDropout2D", "spatial_dropout2d", [], reg::DROPOUT, 1, "(height, width, channels)",
        Config::Noise(Noise::new(NoiseOp::Dropout, 2));
    SpatialDropout3D => "SpatialDropout3D", "spatial_dropout3d", [], reg::DROPOUT, 1, "(depth, height, width, channels)",
        Config::Noise(Noise::new(NoiseOp::Dropout, 3));
    GaussianNoise => "GaussianNoise", "gaussian_noise", [], reg::GAUSSIAN_NOISE, 1, "",
        Config::Noise(Noise::new(NoiseOp::Gaussian, 0));
    ReLU => "ReLU", "re_lu", [], act::RELU, 3, "",
        Config::ReLU(ReLU::DEFAULT);
    LeakyReLU => "LeakyReLU", "leaky_re_lu", [], act::LEAKY_RELU, 1, "",
        Config::LeakyReLU(LeakyReLU::DEFAULT);
    PReLU => "PReLU", "p_re_lu", [], act::PRELU, 0, "",
        Config::PReLU(PReLU::DEFAULT);
    ELU => "ELU", "elu", [], act::ELU_ARGS, 1, "",
        Config::ELU(ELU::DEFAULT);
    Softmax => "Softmax", "softmax", [], act::SOFTMAX, 1, "",
        Config::Softmax(Softmax::DEFAULT);
    Conv1D => "Conv1D", "conv1d", ["Convolution1D"], conv::CONV1D, 4, "(steps, channels)",
        Config::Conv(Conv::new(ConvOp::Regular, 1));
    Conv2D => "Conv2D", "conv2d", ["Convolution2D"], conv::CONV2D, 4, "(height, width, channels)",
        Config::Conv(Conv::new(ConvOp::Regular, 2));
    Conv3D => "Conv3D", "conv3d", ["Convolution3D"], conv::CONV3D, 4, "(depth, height, width, channels)",
        Config::Conv(Conv::new(ConvOp::Regular, 3));
    Conv1DTranspose => "Conv1DTranspose", "conv1d_transpose", ["Convolution1DTranspose"], conv::CONV1D_T, 4, "(steps, channels)",
        Config::Conv(Conv::new(ConvOp::Transpose, 1));
    Conv2DTranspose => "Conv2DTranspose", "conv2d_transpose", ["Convolution2DTranspose"], conv::CONV2D_T, 4, "(height, width, channels)",
        Config::Conv(Conv::new(ConvOp::Transpose, 2));
    Conv3DTranspose => "Conv3DTranspose", "conv3d_transpose", ["Convolution3DTranspose"], conv::CONV3D_T, 4, "(depth, height, width, channels)",
        Config::Conv(Conv::new(ConvOp::Transpose, 3));
    SeparableConv1D => "SeparableConv1D", "separable_conv1d", ["SeparableConvolution1D"], conv::SEPARABLE1D, 4, "(steps, channels)",
        Config::Conv(Conv::new(ConvOp::Separable, 1));
    SeparableConv2D => "SeparableConv2D", "separable_conv2d", ["SeparableConvolution2D"], conv::SEPARABLE2D, 4, "(height, width, channels)",
        Config::Conv(Conv::new(ConvOp::Separable, 2));
    DepthwiseConv1D => "DepthwiseConv1D", "depthwise_conv1d", [], conv::DEPTHWISE1D, 3, "(steps, channels)",
        Config::Conv(Conv::new(ConvOp::Depthwise, 1));
    DepthwiseConv2D => "DepthwiseConv2D", "depthwise_conv2d", [], conv::DEPTHWISE2D, 3, "(height, width, channels)",
        Config::Conv(Conv::new(ConvOp::Depthwise, 2));
    MaxPooling1D => "MaxPooling1D", "max_pooling1d", ["MaxPool1D"], pool::POOL1D, 3, "(steps, channels)",
        Config::Pooling(Pooling::new(PoolOp::Max, 1));
    MaxPooling2D => "MaxPooling2D", "max_pooling2d", ["MaxPool2D"], pool::POOL2D, 3, "(height, width, channels)",
        Config::Pooling(Pooling::new(PoolOp::Max, 2));
    MaxPooling3D => "MaxPooling3D", "max_pooling3d", ["MaxPool3D"], pool::POOL3D, 3, "(depth, height, width, channels)",
        Config::Pooling(Pooling::new(PoolOp::Max, 3));
    AveragePooling1D => "AveragePooling1D", "average_pooling1d", ["AvgPool1D"], pool::POOL1D, 3, "(steps, channels)",
        Config::Pooling(Pooling::new(PoolOp::Average, 1));
    AveragePooling2D => "AveragePooling2D", "average_pooling2d", ["AvgPool2D"], pool::POOL2D, 3, "(height, width, channels)",
        Config::Pooling(Pooling::new(PoolOp::Average, 2));
    AveragePooling3D => "AveragePooling3D", "average_pooling3d", ["AvgPool3D"], pool::POOL3D, 3, "(depth, height, width, channels)",
        Config::Pooling(Pooling::new(PoolOp::Average, 3));
    GlobalMaxPooling1D => "GlobalMaxPooling1D", "global_max_pooling1d", ["GlobalMaxPool1D"], pool::GLOBAL, 0, "(steps, channels)",
        Config::GlobalPooling(GlobalPooling::new(PoolOp::Max, 1));
    GlobalMaxPooling2D => "GlobalMaxPooling2D", "global_max_pooling2d", ["GlobalMaxPool2D"], pool::GLOBAL, 0, "(height, width, channels)",
        Config::GlobalPooling(GlobalPooling::new(PoolOp::Max, 2));
    GlobalMaxPooling3D => "GlobalMaxPooling3D", "global_max_pooling3d", ["GlobalMaxPool3D"], pool::GLOBAL, 0, "(depth, height, width, channels)",
        Config::GlobalPooling(GlobalPooling::new(PoolOp::Max, 3));
    GlobalAveragePooling1D => "GlobalAveragePooling1D", "global_average_pooling1d", ["GlobalAvgPool1D"], pool::GLOBAL, 0, "(steps, channels)",
        Config::GlobalPooling(GlobalPooling::new(PoolOp::Average, 1));
    GlobalAveragePooling2D => "GlobalAveragePooling2D", "global_average_pooling2d", ["GlobalAvgPool2D"], pool::GLOBAL, 0, "(height, width, channels)",
        Config::GlobalPooling(GlobalPooling::new(PoolOp::Average, 2));
    GlobalAveragePooling3D => "GlobalAveragePooling3D", "global_average_pooling3d", ["GlobalAvgPool3D"], pool::GLOBAL, 0, "(depth, height, width, channels)",
        Config::GlobalPooling(GlobalPooling::new(PoolOp::Average, 3));
    ZeroPadding1D => "ZeroPadding1D", "zero_padding1d", [], rsh::ZERO_PADDING1D, 1, "(steps, channels)",
        Config::Pads(Pads::new(PadOp::Zero, 1));
    ZeroPadding2D => "ZeroPadding2D", "zero_padding2d", [], rsh::ZERO_PADDING2D, 1, "(height, width, channels)",
        Config::Pads(Pads::new(PadOp::Zero, 2));
    ZeroPadding3D => "ZeroPadding3D", "zero_padding3d", [], rsh::ZERO_PADDING3D, 1, "(depth, height, width, channels)",
        Config::Pads(Pads::new(PadOp::Zero, 3));
    Cropping1D => "Cropping1D", "cropping1d", [], rsh::CROPPING1D, 1, "(steps, channels)",
        Config::Pads(Pads::new(PadOp::Crop, 1));
    Cropping2D => "Cropping2D", "cropping2d", [], rsh::CROPPING2D, 1, "(height, width, channels)",
        Config::Pads(Pads::new(PadOp::Crop, 2));
    Cropping3D => "Cropping3D", "cropping3d", [], rsh::CROPPING3D, 1, "(depth, height, width, channels)",
        Config::Pads(Pads::new(PadOp::Crop, 3));
    UpSampling1D => "UpSampling1D", "up_sampling1d", [], rsh::UPSAMPLING1D, 1, "(steps, channels)",
        Config::UpSampling(UpSampling::new(1));
    UpSampling2D => "UpSampling2D", "up_sampling2d", [], rsh::UPSAMPLING2D, 1, "(height, width, channels)",
        Config::UpSampling(UpSampling::new(2));
    UpSampling3D => "UpSampling3D", "up_sampling3d", [], rsh::UPSAMPLING3D, 1, "(depth, height, width, channels)",
        Config::UpSampling(UpSampling::new(3));
    BatchNormalization => "BatchNormalization", "batch_normalization", [], norm::BATCH_NORM, 5, "",
        Config::Normalization(Normalization::BATCH);
    LayerNormalization => "LayerNormalization", "layer_normalization", [], norm::LAYER_NORM, 4, "",
        Config::Normalization(Normalization::LAYER);
    SimpleRNN => "SimpleRNN", "simple_rnn", [], rnn::SIMPLE_RNN, 1, "(timesteps, features)",
        Config::Recurrent(Recurrent::new(Cell::SimpleRNN));
    LSTM => "LSTM", "lstm", [], rnn::LSTM, 1, "(timesteps, features)",
        Config::Recurrent(Recurrent::new(Cell::LSTM));
    GRU => "GRU", "gru", [], rnn::GRU, 1, "(timesteps, features)",
        Config::Recurrent(Recurrent::new(Cell::GRU));
    Bidirectional => "Bidirectional", "bidirectional", [], rnn::BIDIRECTIONAL, 1, "(timesteps, features)",
        Config::Bidirectional(Bidirectional::DEFAULT);
    Rescaling => "Rescaling", "rescaling", [], pre::RESCALING, 2, "",
        Config::Rescaling(Rescaling::DEFAULT);
    Normalization => "Normalization", "normalization", [], pre::NORMALIZATION, 4, "",
        Config::Standardization(Standardization::DEFAULT);
    LayerScale => "LayerScale", "layer_scale", [], cor::LAYER_SCALE, 2, "",
        Config::LayerScale(LayerScale::DEFAULT);
    StochasticDepth => "StochasticDepth", "stochastic_depth", [], reg::STOCHASTIC_DEPTH, 1, "",
        Config::Noise(Noise::new(NoiseOp::StochasticDepth, 0));
    Add => "Add", "add", [], &[], 0, "",
        Config::Merge(Merge::new(MergeOp::Add));
    Subtract => "Subtract", "subtract", [], &[], 0, "",
        Config::Merge(Merge::new(MergeOp::Subtract));
    Multiply => "Multiply", "multiply", [], &[], 0, "",
        Config::Merge(Merge::new(MergeOp::Multiply));
    Average => "Average", "average", [], &[], 0, "",
        Config::Merge(Merge::new(MergeOp::Average));
    Maximum => "Maximum", "maximum", [], &[], 0, "",
        Config::Merge(Merge::new(MergeOp::Maximum));
    Minimum => "Minimum", "minimum", [], &[], 0, "",
        Config::Merge(Merge::new(MergeOp::Minimum));
    Concatenate => "Concatenate", "concatenate", [], mrg::CONCATENATE, 1, "",
        Config::Merge(Merge::new(MergeOp::Concatenate));
    Dot => "Dot", "dot", [], mrg::DOT, 2, "",
        Config::Merge(Merge::new(MergeOp::Dot));
    TimeDistributed => "TimeDistributed", "time_distributed", [], wrappers::TIME_DISTRIBUTED, 1, "(timesteps, ...)",
        Config::TimeDistributed(TimeDistributed::DEFAULT);
    // Keras's operations for arithmetic with a constant (`x + 3.0`): written as operators,
    // never by name (see `Kind::from_name`); their class names are those of
    // `keras.src.ops.numpy`, which the merge layers above share.
    ArithAdd => "Add", "add", [], ari::ARITHMETIC, 0, "",
        Config::Arithmetic(Arithmetic::new(ArithOp::Add));
    ArithSubtract => "Subtract", "subtract", [], ari::ARITHMETIC, 0, "",
        Config::Arithmetic(Arithmetic::new(ArithOp::Subtract));
    ArithMultiply => "Multiply", "multiply", [], ari::ARITHMETIC, 0, "",
        Config::Arithmetic(Arithmetic::new(ArithOp::Multiply));
    ArithTrueDivide => "TrueDivide", "true_divide", [], ari::ARITHMETIC, 0, "",
        Config::Arithmetic(Arithmetic::new(ArithOp::TrueDivide));
}

impl Kind {
    /// The catalogue entry.
    pub const fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }

    /// Keras's class name.
    pub const fn class_name(self) -> &'static str {
        self.info().class_name
    }

    /// The input layout, for messages.
    pub const fn layout(self) -> &'static str {
        self.info().layout
    }

    /// The kind named `name` (a Keras class name or one of its aliases). Arithmetic with
    /// a constant is written as an operator, so it is not found by name.
    pub const fn from_name(name: &str) -> Option<Kind> {
        let mut i = 0;
        while i < KINDS.len() {
            let info = &KINDS[i];
            if matches!(info.default, Config::Arithmetic(_)) {
                i += 1;
                continue;
            }
            if str_eq(name, info.class_name) {
                return Some(info.kind);
            }
            let mut a = 0;
            while a < info.aliases.len() {
                if str_eq(name, info.aliases[a]) {
                    return Some(info.kind);
                }
                a += 1;
            }
            i += 1;
        }
        None
    }
}

/// A layer's configuration: one variant per configuration type, each type its family's.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Config {
    Dense(Dense),
    Activation(Activation),
    Embedding(Embedding),
    Flatten(Flatten),
    Reshape(Reshape),
    Permute(Permute),
    RepeatVector(RepeatVector),
    Noise(Noise),
    ReLU(ReLU),
    LeakyReLU(LeakyReLU),
    PReLU(PReLU),
    ELU(ELU),
    Softmax(Softmax),
    Conv(Conv),
    Pooling(Pooling),
    GlobalPooling(GlobalPooling),
    Pads(Pads),
    UpSampling(UpSampling),
    Normalization(Normalization),
    Recurrent(Recurrent),
    Bidirectional(Bidirectional),
    TimeDistributed(TimeDistributed),
    Merge(Merge),
    Rescaling(Rescaling),
    Standardization(Standardization),
    LayerScale(LayerScale),
    Arithmetic(Arithmetic),
}

/// A plain description of one layer: its kind and configuration. `const`-constructible,
/// so the same value serves the macro, generated `const` items and run-time code.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layer {
    /// The Keras class.
    pub kind: Kind,
    /// Its arguments, checked and normalized.
    pub config: Config,
}

/// The result of evaluating one layer on its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerEval {
    /// The output shape (without batch).
    pub output: Shape,
    /// Trainable parameters.
    pub trainable: usize,
    /// Non-trainable parameters (e.g. batch normalization's moving statistics).
    pub non_trainable: usize,
    /// Multiply-accumulates for one sample (torchinfo's "mult-adds": each weight times the
    /// number of positions it is applied at).
    pub macs: usize,
}

impl LayerEval {
    /// A layer without weights producing `output`.
    pub const fn weightless(output: Shape) -> LayerEval {
        LayerEval {
            output,
            trainable: 0,
            non_trainable: 0,
            macs: 0,
        }
    }

    /// All parameters.
    pub const fn params(&self) -> usize {
        self.trainable + self.non_trainable
    }
}

impl Config {
    /// Stores one checked argument, named `name` in the kind's table (the dispatch of
    /// argument binding).
    pub(crate) const fn set(&mut self, name: &str, v: Checked, arg: usize) -> Result<(), ArgError> {
        match self {
            Config::Dense(c) => cor::set_dense(c, name, v),
            Config::Activation(a) => act::set_activation(a, v),
            Config::Embedding(c) => cor::set_embedding(c, name, v),
            Config::Flatten(_) => {}
            Config::Reshape(c) => return cor::set_reshape(c, v, arg),
            Config::Permute(c) => return cor::set_permute(c, v, arg),
            Config::RepeatVector(c) => cor::set_repeat(c, v),
            Config::Noise(c) => reg::set_noise(c, name, v),
            Config::ReLU(c) => act::set_relu(c, name, v),
            Config::LeakyReLU(c) => act::set_leaky(c, v),
            Config::PReLU(c) => return act::set_prelu(c, v, arg),
            Config::ELU(c) => act::set_elu(c, v),
            Config::Softmax(c) => return act::set_softmax(c, v, arg),
            Config::Conv(c) => return conv::set_conv(c, name, v, arg),
            Config::Pooling(c) => pool::set_pooling(c, name, v),
            Config::GlobalPooling(c) => pool::set_global(c, v),
            Config::Pads(c) => rsh::set_pads(c, v),
            Config::UpSampling(c) => rsh::set_upsampling(c, name, v),
            Config::Normalization(c) => return norm::set_norm(c, name, v, arg),
            Config::Recurrent(c) => rnn::set_recurrent(c, name, v),
            Config::Bidirectional(c) => return rnn::set_bidirectional(c, v, arg),
            Config::TimeDistributed(c) => wrappers::set_time_distributed(c, v),
            Config::Merge(c) => return mrg::set_merge(c, name, v, arg),
            Config::Rescaling(c) => pre::set_rescaling(c, name, v),
            Config::Standardization(c) => return pre::set_standardization(c, name, v, arg),
            Config::LayerScale(c) => cor::set_layer_scale(c, v),
            Config::Arithmetic(c) => ari::set_arithmetic(c, name, v),
        }
        Ok(())
    }

    /// The merge layers' configuration: the layers called on a list of tensors.
    pub const fn merge(&self) -> Option<&Merge> {
        match self {
            Config::Merge(c) => Some(c),
            Config::Dense(_)
            | Config::Activation(_)
            | Config::Embedding(_)
            | Config::Flatten(_)
            | Config::Reshape(_)
            | Config::Permute(_)
            | Config::RepeatVector(_)
            | Config::Noise(_)
            | Config::ReLU(_)
            | Config::LeakyReLU(_)
            | Config::PReLU(_)
            | Config::ELU(_)
            | Config::Softmax(_)
            | Config::Conv(_)
            | Config::Pooling(_)
            | Config::GlobalPooling(_)
            | Config::Pads(_)
            | Config::UpSampling(_)
            | Config::Normalization(_)
            | Config::Recurrent(_)
            | Config::Bidirectional(_)
            | Config::TimeDistributed(_)
            | Config::Rescaling(_)
            | Config::Standardization(_)
            | Config::LayerScale(_)
            | Config::Arithmetic(_) => None,
        }
    }
}

#[cfg(feature = "runtime")]
impl Config {
    /// The family's run-time operations (the one dispatch of weights, scratch, forward,
    /// training forward, backward and statistics update).
    pub(crate) fn ops(&self) -> &dyn ops::Ops {
        match self {
            Config::Dense(c) => c,
            Config::Activation(c) => c,
            Config::Embedding(c) => c,
            Config::Flatten(c) => c,
            Config::Reshape(c) => c,
            Config::Permute(c) => c,
            Config::RepeatVector(c) => c,
            Config::Noise(c) => c,
            Config::ReLU(c) => c,
            Config::LeakyReLU(c) => c,
            Config::PReLU(c) => c,
            Config::ELU(c) => c,
            Config::Softmax(c) => c,
            Config::Conv(c) => c,
            Config::Pooling(c) => c,
            Config::GlobalPooling(c) => c,
            Config::Pads(c) => c,
            Config::UpSampling(c) => c,
            Config::Normalization(c) => c,
            Config::Recurrent(c) => c,
            Config::Bidirectional(c) => c,
            Config::TimeDistributed(c) => c,
            Config::Merge(c) => c,
            Config::Rescaling(c) => c,
            Config::Standardization(c) => c,
            Config::LayerScale(c) => c,
            Config::Arithmetic(c) => c,
        }
    }
}

impl Layer {
    /// `Flatten`, also the placeholder inside an unconfigured `TimeDistributed`.
    pub const FLATTEN: Layer = Layer {
        kind: Kind::Flatten,
        config: Config::Flatten(Flatten),
    };

    /// The output shape and parameter counts of this layer on `input` (the dispatch of the
    /// shape, parameter and MAC rules).
    pub const fn eval(&self, input: &Shape) -> Result<LayerEval, EvalError> {
        let result = match &self.config {
            Config::Dense(c) => cor::eval_dense(c, input),
            Config::Activation(_) | Config::ReLU(_) | Config::LeakyReLU(_) | Config::ELU(_) => {
                Ok(LayerEval::weightless(*input))
            }
            Config::Softmax(c) => act::eval_softmax(c, input),
            Config::PReLU(c) => act::eval_prelu(c, input),
            Config::Embedding(c) => cor::eval_embedding(c, input),
            Config::Flatten(_) => cor::eval_flatten(input),
            Config::Reshape(c) => cor::eval_reshape(c, input),
            Config::Permute(c) => cor::eval_permute(c, input),
            Config::RepeatVector(c) => cor::eval_repeat(c, input),
            Config::Noise(c) => reg::eval_noise(c, input),
            Config::Conv(c) => conv::eval_conv(c, input),
            Config::Pooling(c) => pool::eval_pooling(c, input),
            Config::GlobalPooling(c) => pool::eval_global(c, input),
            Config::Pads(c) => rsh::eval_pads(c, input),
            Config::UpSampling(c) => rsh::eval_upsampling(c, input),
            Config::Normalization(c) => norm::eval_norm(c, input),
            Config::Recurrent(c) => rnn::eval_recurrent(c, input),
            Config::Bidirectional(c) => rnn::eval_bidirectional(c, input),
            Config::TimeDistributed(c) => return wrappers::eval_time_distributed(c, input),
            Config::Merge(c) => mrg::eval_merge(c, ::core::slice::from_ref(input)),
            Config::Rescaling(c) => pre::eval_rescaling(c, input),
            Config::Standardization(c) => pre::eval_standardization(c, input),
            Config::LayerScale(c) => cor::eval_layer_scale(c, input),
            Config::Arithmetic(c) => ari::eval_arithmetic(c, input),
        };
        match result {
            Ok(e) => Ok(e),
            Err(problem) => Err(EvalError {
                kind: self.kind,
                problem,
            }),
        }
    }

    /// The activation applied at the end of this layer, over its last axis: for lints, and
    /// for a loss that folds the output's softmax or sigmoid into its gradient.
    pub const fn activation(&self) -> Activation {
        match &self.config {
            Config::Dense(c) => c.activation,
            Config::Activation(a) => *a,
            Config::Conv(c) => c.activation,
            Config::Softmax(_) => Activation::Softmax,
            // A recurrent cell's activations are inside its steps; `TimeDistributed`
            // reshapes its layer's output, which hides that layer's activation from the
            // loss (as Keras's TensorFlow backend loses the logits there).
            Config::Recurrent(_) | Config::Bidirectional(_) | Config::TimeDistributed(_) => {
                Activation::Linear
            }
            Config::Embedding(_)
            | Config::Flatten(_)
            | Config::Reshape(_)
            | Config::Permute(_)
            | Config::RepeatVector(_)
            | Config::Noise(_)
            | Config::ReLU(_)
            | Config::LeakyReLU(_)
            | Config::PReLU(_)
            | Config::ELU(_)
            | Config::Pooling(_)
            | Config::GlobalPooling(_)
            | Config::Pads(_)
            | Config::UpSampling(_)
            | Config::Normalization(_)
            | Config::Merge(_)
            | Config::Rescaling(_)
            | Config::Standardization(_)
            | Config::LayerScale(_)
            | Config::Arithmetic(_) => Activation::Linear,
        }
    }

    /// Whether the output is the input, reinterpreted: the same values in the same order
    /// (`Flatten`, `Reshape`, a linear `Activation`, and the layers that are the identity in
    /// inference). The executors then let the next layer read the input where it is.
    pub const fn reinterprets(&self) -> bool {
        match &self.config {
            Config::Flatten(_) | Config::Reshape(_) | Config::Noise(_) => true,
            Config::Activation(a) => matches!(a, Activation::Linear),
            Config::Dense(_)
            | Config::Embedding(_)
            | Config::Permute(_)
            | Config::RepeatVector(_)
            | Config::ReLU(_)
            | Config::LeakyReLU(_)
            | Config::PReLU(_)
            | Config::ELU(_)
            | Config::Softmax(_)
            | Config::Conv(_)
            | Config::Pooling(_)
            | Config::GlobalPooling(_)
            | Config::Pads(_)
            | Config::UpSampling(_)
            | Config::Normalization(_)
            | Config::Recurrent(_)
            | Config::Bidirectional(_)
            | Config::TimeDistributed(_)
            | Config::Merge(_)
            | Config::Rescaling(_)
            | Config::Standardization(_)
            | Config::LayerScale(_)
            | Config::Arithmetic(_) => false,
        }
    }

    /// The output shape and parameter counts of one call of this layer on `inputs`: a merge
    /// layer on its list, any other layer on exactly one tensor.
    pub const fn eval_call(&self, inputs: &[Shape]) -> Result<LayerEval, EvalError> {
        if let Some(c) = self.config.merge() {
            return match mrg::eval_merge(c, inputs) {
                Ok(e) => Ok(e),
                Err(problem) => Err(EvalError {
                    kind: self.kind,
                    problem,
                }),
            };
        }
        if inputs.len() != 1 {
            return Err(EvalError {
                kind: self.kind,
                problem: Problem::Inputs {
                    expected: InputCount::Exactly(1),
                    found: inputs.len(),
                },
            });
        }
        self.eval(&inputs[0])
    }
}

/// Requires `input` to have rank exactly `r`.
pub(crate) const fn need_rank(input: &Shape, r: usize) -> Result<(), Problem> {
    if input.rank() == r {
        Ok(())
    } else {
        Err(Problem::Rank {
            expected: RankReq::Exactly(r),
            found: *input,
        })
    }
}

/// Requires `input` to have rank at least `r`.
pub(crate) const fn need_min_rank(input: &Shape, r: usize) -> Result<(), Problem> {
    if input.rank() >= r {
        Ok(())
    } else {
        Err(Problem::Rank {
            expected: RankReq::AtLeast(r),
            found: *input,
        })
    }
}
