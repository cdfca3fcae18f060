//! The layer catalogue: every Keras layer class the project knows, its arguments, and the
//! rule that gives its output shape and parameter counts.
//!
//! Each family lives in its own module with its configuration, argument table and `eval`;
//! adding a family means adding a module and its rows in `catalogue!` below.

mod activation;
mod convolution;
mod core;
mod normalization;
mod pooling;
mod recurrent;
mod regularization;
mod reshaping;
mod wrappers;

pub use self::activation::{Activation, LeakyReLU, PReLU, ReLU, Softmax, ELU};
pub use self::convolution::{transpose_output, window_output, Conv, Padding};
pub use self::core::{Dense, Embedding, Permute, RepeatVector, Reshape};
pub use self::normalization::Normalization;
pub use self::pooling::{GlobalPooling, Pooling};
pub use self::recurrent::{Bidirectional, MergeMode, Recurrent};
pub use self::regularization::Noise;
pub use self::reshaping::{Interpolation, Pads, UpSampling};

use crate::error::{EvalError, Problem, RankReq};
use crate::shape::Shape;
use crate::value::{check, str_eq, tri, ArgType, Checked, Value, ValueProblem};

/// One argument of a layer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSpec {
    /// Keras's keyword.
    pub name: &'static str,
    /// What it accepts.
    pub ty: ArgType,
    /// Whether it must be given.
    pub required: bool,
}

/// Shorthand for argument tables.
const fn arg(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: false,
    }
}

/// Shorthand for required arguments.
const fn req(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: true,
    }
}

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
}

macro_rules! catalogue {
    ($($kind:ident => $class:literal, $auto:literal, [$($alias:literal),*], $args:expr, $pos:literal, $layout:literal;)*) => {
        /// A Keras layer class.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Kind { $($kind),* }

        /// The catalogue, indexed by `Kind as usize`.
        pub const KINDS: &[KindInfo] = &[$(KindInfo {
            kind: Kind::$kind, class_name: $class, auto_name: $auto, aliases: &[$($alias),*],
            args: $args, positional: $pos, layout: $layout,
        }),*];
    };
}

use self::activation as act;
use self::convolution as conv;
use self::core as cor;
use self::normalization as norm;
use self::pooling as pool;
use self::recurrent as rnn;
use self::regularization as reg;
use self::reshaping as rsh;

catalogue! {
    Dense => "Dense", "dense", [], cor::DENSE, 3, "";
    Activation => "Activation", "activation", [], act::ACTIVATION, 1, "";
    Embedding => "Embedding", "embedding", [], cor::EMBEDDING, 2, "";
    Flatten => "Flatten", "flatten", [], &[], 0, "";
    Reshape => "Reshape", "reshape", [], cor::RESHAPE, 1, "";
    Permute => "Permute", "permute", [], cor::PERMUTE, 1, "";
    RepeatVector => "RepeatVector", "repeat_vector", [], cor::REPEAT_VECTOR, 1, "(features,)";
    Dropout => "Dropout", "dropout", [], reg::DROPOUT, 1, "";
    SpatialDropout1D => "SpatialDropout1D", "spatial_dropout1d", [], reg::DROPOUT, 1, "(steps, channels)";
    SpatialDropout2D => "SpatialDropout2D", "spatial_dropout2d", [], reg::DROPOUT, 1, "(height, width, channels)";
    SpatialDropout3D => "SpatialDropout3D", "spatial_dropout3d", [], reg::DROPOUT, 1, "(depth, height, width, channels)";
    GaussianNoise => "GaussianNoise", "gaussian_noise", [], reg::GAUSSIAN_NOISE, 1, "";
    ReLU => "ReLU", "re_lu", [], act::RELU, 3, "";
    LeakyReLU => "LeakyReLU", "leaky_re_lu", [], act::LEAKY_RELU, 1, "";
    PReLU => "PReLU", "p_re_lu", [], act::PRELU, 0, "";
    ELU => "ELU", "elu", [], act::ELU_ARGS, 1, "";
    Softmax => "Softmax", "softmax", [], act::SOFTMAX, 1, "";
    Conv1D => "Conv1D", "conv1d", ["Convolution1D"], conv::CONV1D, 4, "(steps, channels)";
    Conv2D => "Conv2D", "conv2d", ["Convolution2D"], conv::CONV2D, 4, "(height, width, channels)";
    Conv3D => "Conv3D", "conv3d", ["Convolution3D"], conv::CONV3D, 4, "(depth, height, width, channels)";
    Conv1DTranspose => "Conv1DTranspose", "conv1d_transpose", ["Convolution1DTranspose"], conv::CONV1D_T, 4, "(steps, channels)";
    Conv2DTranspose => "Conv2DTranspose", "conv2d_transpose", ["Convolution2DTranspose"], conv::CONV2D_T, 4, "(height, width, channels)";
    Conv3DTranspose => "Conv3DTranspose", "conv3d_transpose", ["Convolution3DTranspose"], conv::CONV3D_T, 4, "(depth, height, width, channels)";
    SeparableConv1D => "SeparableConv1D", "separable_conv1d", ["SeparableConvolution1D"], conv::SEPARABLE1D, 4, "(steps, channels)";
    SeparableConv2D => "SeparableConv2D", "separable_conv2d", ["SeparableConvolution2D"], conv::SEPARABLE2D, 4, "(height, width, channels)";
    DepthwiseConv1D => "DepthwiseConv1D", "depthwise_conv1d", [], conv::DEPTHWISE1D, 3, "(steps, channels)";
    DepthwiseConv2D => "DepthwiseConv2D", "depthwise_conv2d", [], conv::DEPTHWISE2D, 3, "(height, width, channels)";
    MaxPooling1D => "MaxPooling1D", "max_pooling1d", ["MaxPool1D"], pool::POOL1D, 3, "(steps, channels)";
    MaxPooling2D => "MaxPooling2D", "max_pooling2d", ["MaxPool2D"], pool::POOL2D, 3, "(height, width, channels)";
    MaxPooling3D => "MaxPooling3D", "max_pooling3d", ["MaxPool3D"], pool::POOL3D, 3, "(depth, height, width, channels)";
    AveragePooling1D => "AveragePooling1D", "average_pooling1d", ["AvgPool1D"], pool::POOL1D, 3, "(steps, channels)";
    AveragePooling2D => "AveragePooling2D", "average_pooling2d", ["AvgPool2D"], pool::POOL2D, 3, "(height, width, channels)";
    AveragePooling3D => "AveragePooling3D", "average_pooling3d", ["AvgPool3D"], pool::POOL3D, 3, "(depth, height, width, channels)";
    GlobalMaxPooling1D => "GlobalMaxPooling1D", "global_max_pooling1d", ["GlobalMaxPool1D"], pool::GLOBAL, 0, "(steps, channels)";
    GlobalMaxPooling2D => "GlobalMaxPooling2D", "global_max_pooling2d", ["GlobalMaxPool2D"], pool::GLOBAL, 0, "(height, width, channels)";
    GlobalMaxPooling3D => "GlobalMaxPooling3D", "global_max_pooling3d", ["GlobalMaxPool3D"], pool::GLOBAL, 0, "(depth, height, width, channels)";
    GlobalAveragePooling1D => "GlobalAveragePooling1D", "global_average_pooling1d", ["GlobalAvgPool1D"], pool::GLOBAL, 0, "(steps, channels)";
    GlobalAveragePooling2D => "GlobalAveragePooling2D", "global_average_pooling2d", ["GlobalAvgPool2D"], pool::GLOBAL, 0, "(height, width, channels)";
    GlobalAveragePooling3D => "GlobalAveragePooling3D", "global_average_pooling3d", ["GlobalAvgPool3D"], pool::GLOBAL, 0, "(depth, height, width, channels)";
    ZeroPadding1D => "ZeroPadding1D", "zero_padding1d", [], rsh::ZERO_PADDING1D, 1, "(steps, channels)";
    ZeroPadding2D => "ZeroPadding2D", "zero_padding2d", [], rsh::ZERO_PADDING2D, 1, "(height, width, channels)";
    ZeroPadding3D => "ZeroPadding3D", "zero_padding3d", [], rsh::ZERO_PADDING3D, 1, "(depth, height, width, channels)";
    Cropping1D => "Cropping1D", "cropping1d", [], rsh::CROPPING1D, 1, "(steps, channels)";
    Cropping2D => "Cropping2D", "cropping2d", [], rsh::CROPPING2D, 1, "(height, width, channels)";
    Cropping3D => "Cropping3D", "cropping3d", [], rsh::CROPPING3D, 1, "(depth, height, width, channels)";
    UpSampling1D => "UpSampling1D", "up_sampling1d", [], rsh::UPSAMPLING1D, 1, "(steps, channels)";
    UpSampling2D => "UpSampling2D", "up_sampling2d", [], rsh::UPSAMPLING2D, 1, "(height, width, channels)";
    UpSampling3D => "UpSampling3D", "up_sampling3d", [], rsh::UPSAMPLING3D, 1, "(depth, height, width, channels)";
    BatchNormalization => "BatchNormalization", "batch_normalization", [], norm::BATCH_NORM, 5, "";
    LayerNormalization => "LayerNormalization", "layer_normalization", [], norm::LAYER_NORM, 4, "";
    SimpleRNN => "SimpleRNN", "simple_rnn", [], rnn::SIMPLE_RNN, 1, "(timesteps, features)";
    LSTM => "LSTM", "lstm", [], rnn::LSTM, 1, "(timesteps, features)";
    GRU => "GRU", "gru", [], rnn::GRU, 1, "(timesteps, features)";
    Bidirectional => "Bidirectional", "bidirectional", [], rnn::BIDIRECTIONAL, 1, "(timesteps, features)";
    TimeDistributed => "TimeDistributed", "time_distributed", [], wrappers::TIME_DISTRIBUTED, 1, "(timesteps, ...)";
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

    /// The kind named `name` (a Keras class name or one of its aliases).
    pub const fn from_name(name: &str) -> Option<Kind> {
        let mut i = 0;
        while i < KINDS.len() {
            let info = &KINDS[i];
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

    /// The spatial rank of a 1D/2D/3D layer (0 for others).
    pub const fn spatial_rank(self) -> usize {
        let name = self.class_name().as_bytes();
        let mut i = 0;
        while i + 1 < name.len() {
            if name[i + 1] == b'D' && name[i] >= b'1' && name[i] <= b'3' {
                return (name[i] - b'0') as usize;
            }
            i += 1;
        }
        0
    }
}

/// A layer's configuration, by family.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum Config {
    Dense(Dense),
    Activation(Activation),
    Embedding(Embedding),
    Flatten,
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
    TimeDistributed(&'static Layer),
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

/// One argument as written: by position (`name: None`) or by keyword.
#[derive(Clone, Copy, Debug)]
pub struct Arg<'a> {
    /// The keyword, or `None` for a positional argument.
    pub name: Option<&'a str>,
    /// The value.
    pub value: Value<'a>,
}

/// Why a layer's arguments cannot be accepted. `arg` indexes the offending argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgError {
    /// No argument of that name.
    Unknown {
        /// Index of the argument.
        arg: usize,
    },
    /// More positional arguments than the kind takes.
    TooManyPositional {
        /// Index of the argument.
        arg: usize,
    },
    /// An argument given twice.
    Duplicate {
        /// Index of the second occurrence.
        arg: usize,
        /// The argument's name.
        name: &'static str,
    },
    /// A required argument missing.
    Missing {
        /// The argument's name.
        name: &'static str,
    },
    /// A value that does not fit.
    Bad {
        /// Index of the argument.
        arg: usize,
        /// The argument.
        spec: ArgSpec,
        /// What is wrong.
        problem: ValueProblem,
    },
    /// A combination of values the kind does not support.
    Unsupported {
        /// Index of the argument.
        arg: usize,
        /// Why.
        why: &'static str,
    },
}

/// A default configuration per kind; required arguments are filled in by [`build`].
const fn default_config(kind: Kind) -> Config {
    match kind {
        Kind::Dense => Config::Dense(Dense::DEFAULT),
        Kind::Activation => Config::Activation(Activation::Linear),
        Kind::Embedding => Config::Embedding(Embedding::DEFAULT),
        Kind::Flatten => Config::Flatten,
        Kind::Reshape => Config::Reshape(Reshape::DEFAULT),
        Kind::Permute => Config::Permute(Permute::DEFAULT),
        Kind::RepeatVector => Config::RepeatVector(RepeatVector { n: 1 }),
        Kind::Dropout
        | Kind::SpatialDropout1D
        | Kind::SpatialDropout2D
        | Kind::SpatialDropout3D => Config::Noise(Noise::DEFAULT),
        Kind::GaussianNoise => Config::Noise(Noise::DEFAULT),
        Kind::ReLU => Config::ReLU(ReLU::DEFAULT),
        Kind::LeakyReLU => Config::LeakyReLU(LeakyReLU::DEFAULT),
        Kind::PReLU => Config::PReLU(PReLU::DEFAULT),
        Kind::ELU => Config::ELU(ELU::DEFAULT),
        Kind::Softmax => Config::Softmax(Softmax::DEFAULT),
        Kind::Conv1D
        | Kind::Conv2D
        | Kind::Conv3D
        | Kind::Conv1DTranspose
        | Kind::Conv2DTranspose
        | Kind::Conv3DTranspose
        | Kind::SeparableConv1D
        | Kind::SeparableConv2D
        | Kind::DepthwiseConv1D
        | Kind::DepthwiseConv2D => Config::Conv(Conv::DEFAULT),
        Kind::MaxPooling1D
        | Kind::MaxPooling2D
        | Kind::MaxPooling3D
        | Kind::AveragePooling1D
        | Kind::AveragePooling2D
        | Kind::AveragePooling3D => Config::Pooling(Pooling::DEFAULT),
        Kind::GlobalMaxPooling1D
        | Kind::GlobalMaxPooling2D
        | Kind::GlobalMaxPooling3D
        | Kind::GlobalAveragePooling1D
        | Kind::GlobalAveragePooling2D
        | Kind::GlobalAveragePooling3D => Config::GlobalPooling(GlobalPooling { keepdims: false }),
        Kind::ZeroPadding1D | Kind::ZeroPadding2D | Kind::ZeroPadding3D => Config::Pads(Pads::ONE),
        Kind::Cropping1D | Kind::Cropping2D | Kind::Cropping3D => Config::Pads(Pads::NONE),
        Kind::UpSampling1D | Kind::UpSampling2D | Kind::UpSampling3D => {
            Config::UpSampling(UpSampling::DEFAULT)
        }
        Kind::BatchNormalization => Config::Normalization(Normalization::BATCH),
        Kind::LayerNormalization => Config::Normalization(Normalization::LAYER),
        Kind::SimpleRNN | Kind::LSTM | Kind::GRU => Config::Recurrent(Recurrent::default_for(kind)),
        Kind::Bidirectional => Config::Bidirectional(Bidirectional::DEFAULT),
        Kind::TimeDistributed => Config::TimeDistributed(&Layer::FLATTEN),
    }
}

/// Stores one checked argument into the configuration (the name is in the kind's table).
const fn set(config: &mut Config, name: &str, v: Checked, arg: usize) -> Result<(), ArgError> {
    match config {
        Config::Dense(c) => cor::set_dense(c, name, v),
        Config::Activation(a) => act::set_activation(a, v),
        Config::Embedding(c) => cor::set_embedding(c, name, v),
        Config::Flatten => {}
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
        Config::TimeDistributed(l) => {
            if let Checked::Layer(inner) = v {
                *l = inner;
            }
        }
    }
    Ok(())
}

/// The unit tests' way of writing a layer: [`build`] from keyword arguments, panicking with
/// the evaluator's message when they are not valid.
#[cfg(test)]
pub(crate) fn test_layer(kind: Kind, args: &[(&'static str, Value<'static>)]) -> Layer {
    let args: Vec<Arg> = args
        .iter()
        .map(|&(name, value)| Arg {
            name: Some(name),
            value,
        })
        .collect();
    build(kind, &args).unwrap_or_else(|e| panic!("{kind:?}: {}", e.describe(kind, &args)))
}

/// Builds a layer of `kind` from its arguments, checking each as Keras would: names,
/// positions, duplicates, types and ranges, and required arguments.
pub const fn build(kind: Kind, args: &[Arg]) -> Result<Layer, ArgError> {
    let info = kind.info();
    let mut config = default_config(kind);
    let mut seen = [false; 16];
    let mut positional = 0;
    let mut i = 0;
    while i < args.len() {
        let slot = match args[i].name {
            None => {
                if positional >= info.positional || positional >= info.args.len() {
                    return Err(ArgError::TooManyPositional { arg: i });
                }
                positional += 1;
                positional - 1
            }
            Some(name) => match find_arg(info.args, name) {
                Some(slot) => slot,
                None => return Err(ArgError::Unknown { arg: i }),
            },
        };
        let spec = info.args[slot];
        if seen[slot] {
            return Err(ArgError::Duplicate {
                arg: i,
                name: spec.name,
            });
        }
        seen[slot] = true;
        // Keras's `None` means "the default" for every argument that is not required.
        if let Value::None = args[i].value {
            if !spec.required && !accepts_none(spec.ty) {
                i += 1;
                continue;
            }
        }
        let checked = match check(spec.ty, &args[i].value) {
            Ok(c) => c,
            Err(problem) => {
                return Err(ArgError::Bad {
                    arg: i,
                    spec,
                    problem,
                })
            }
        };
        tri!(set(&mut config, spec.name, checked, i));
        i += 1;
    }
    let mut slot = 0;
    while slot < info.args.len() {
        if info.args[slot].required && !seen[slot] {
            return Err(ArgError::Missing {
                name: info.args[slot].name,
            });
        }
        slot += 1;
    }
    Ok(Layer { kind, config })
}

const fn accepts_none(ty: ArgType) -> bool {
    matches!(
        ty,
        ArgType::OptNonNegFloat | ArgType::OptDims(_) | ArgType::OptIntList | ArgType::Activation
    )
}

/// The index of argument `name` in `args`.
pub const fn find_arg(args: &[ArgSpec], name: &str) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        if str_eq(args[i].name, name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

impl Layer {
    /// `Flatten`, also the placeholder inside an unconfigured `TimeDistributed`.
    pub const FLATTEN: Layer = Layer {
        kind: Kind::Flatten,
        config: Config::Flatten,
    };

    /// The output shape and parameter counts of this layer on `input`.
    pub const fn eval(&self, input: &Shape) -> Result<LayerEval, EvalError> {
        let k = self.kind;
        let result = match &self.config {
            Config::Dense(c) => cor::eval_dense(c, input),
            Config::Activation(_) | Config::ReLU(_) | Config::LeakyReLU(_) | Config::ELU(_) => {
                Ok(LayerEval::weightless(*input))
            }
            Config::Softmax(c) => act::eval_softmax(c, input),
            Config::PReLU(c) => act::eval_prelu(c, input),
            Config::Embedding(c) => cor::eval_embedding(c, input),
            Config::Flatten => cor::eval_flatten(input),
            Config::Reshape(c) => cor::eval_reshape(c, input),
            Config::Permute(c) => cor::eval_permute(c, input),
            Config::RepeatVector(c) => cor::eval_repeat(c, input),
            Config::Noise(_) => reg::eval_noise(k, input),
            Config::Conv(c) => conv::eval_conv(k, c, input),
            Config::Pooling(c) => pool::eval_pooling(k, c, input),
            Config::GlobalPooling(c) => pool::eval_global(k, c, input),
            Config::Pads(c) => rsh::eval_pads(k, c, input),
            Config::UpSampling(c) => rsh::eval_upsampling(k, c, input),
            Config::Normalization(c) => norm::eval_norm(c, input),
            Config::Recurrent(c) => rnn::eval_recurrent(c, input),
            Config::Bidirectional(c) => rnn::eval_bidirectional(c, input),
            Config::TimeDistributed(inner) => return wrappers::eval_time_distributed(inner, input),
        };
        match result {
            Ok(e) => Ok(e),
            Err(problem) => Err(EvalError { kind: k, problem }),
        }
    }

    /// The activation applied at the end of this layer (for lints and the runtime).
    pub const fn activation(&self) -> Activation {
        match &self.config {
            Config::Dense(c) => c.activation,
            Config::Activation(a) => *a,
            Config::Conv(c) => c.activation,
            _ => Activation::Linear,
        }
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

impl ArgError {
    /// The index of the argument at fault, if one is.
    pub const fn arg(&self) -> Option<usize> {
        match *self {
            ArgError::Unknown { arg }
            | ArgError::TooManyPositional { arg }
            | ArgError::Duplicate { arg, .. }
            | ArgError::Bad { arg, .. }
            | ArgError::Unsupported { arg, .. } => Some(arg),
            ArgError::Missing { .. } => None,
        }
    }

    /// The message for a user: what was expected, what arrived, and a hint.
    pub fn describe(&self, kind: Kind, args: &[Arg]) -> String {
        let info = kind.info();
        let class = info.class_name;
        let keywords = || info.args.iter().map(|a| a.name);
        let list = |names: Vec<&str>| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match *self {
            ArgError::Unknown { arg } => {
                let name = args[arg].name.unwrap_or("");
                let mut m = format!("`{class}` has no argument `{name}`");
                match crate::suggest::suggest(name, keywords()) {
                    Some(s) => m.push_str(&format!("; did you mean `{s}`?")),
                    None if info.args.is_empty() => m.push_str("; it takes no arguments"),
                    None => m.push_str(&format!(
                        "; its arguments are {}",
                        list(keywords().collect())
                    )),
                }
                m
            }
            ArgError::TooManyPositional { .. } => {
                let positional: Vec<&str> = keywords().take(info.positional).collect();
                if positional.is_empty() {
                    format!("`{class}` takes no positional arguments; write `keyword = value`")
                } else {
                    format!(
                        "`{class}` takes at most {} positional argument{} ({}); write the rest as `keyword = value`",
                        positional.len(),
                        if positional.len() == 1 { "" } else { "s" },
                        list(positional)
                    )
                }
            }
            ArgError::Duplicate { name, .. } => {
                format!("`{name}` is given more than once; keep one")
            }
            ArgError::Missing { name } => {
                let pos = info
                    .args
                    .iter()
                    .position(|a| a.name == name)
                    .unwrap_or(usize::MAX);
                if pos < info.positional {
                    format!(
                        "`{class}` needs `{name}` (positional argument {} or `{name} = …`)",
                        pos + 1
                    )
                } else {
                    format!("`{class}` needs `{name} = …`")
                }
            }
            ArgError::Bad { arg, spec, problem } => {
                let got = describe_value(&args[arg].value);
                let expected = match spec.ty {
                    ArgType::Choice(choices) => {
                        format!("one of {}", list(choices.to_vec()))
                    }
                    ArgType::Activation => {
                        "an activation (`relu`, `sigmoid`, `softmax`, `tanh`, `linear`, …)"
                            .to_string()
                    }
                    ty => ty.describe().to_string(),
                };
                let mut m = match problem {
                    ValueProblem::WrongLength => {
                        format!(
                            "`{}` expects {expected}, but got a tuple of the wrong length: {got}",
                            spec.name
                        )
                    }
                    _ => format!("`{}` expects {expected}, but got {got}", spec.name),
                };
                if let (Value::Str(s), ArgType::Choice(choices)) = (args[arg].value, spec.ty) {
                    if let Some(near) = crate::suggest::suggest(s, choices.iter().copied()) {
                        m.push_str(&format!("; did you mean `{near}`?"));
                    }
                }
                if let (Value::Str(s), ArgType::Activation) = (args[arg].value, spec.ty) {
                    if let Some(near) =
                        crate::suggest::suggest(s, Activation::ALL.iter().map(|a| a.name()))
                    {
                        m.push_str(&format!("; did you mean `{near}`?"));
                    }
                }
                m
            }
            ArgError::Unsupported { arg, why } => {
                let name = args[arg]
                    .name
                    .map(|n| format!("`{n}`: "))
                    .unwrap_or_default();
                format!("{name}{why}")
            }
        }
    }
}

/// A value as a user wrote it, for messages.
pub fn describe_value(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("`{i}`"),
        Value::Unknown => "a const generic parameter".to_string(),
        Value::Float(f) => format!("`{f:?}`"),
        Value::Bool(b) => format!("`{b}`"),
        Value::Str(s) => format!("`{s}`"),
        Value::Tuple(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| describe_value(i).trim_matches('`').to_string())
                .collect();
            format!("`({})`", inner.join(", "))
        }
        Value::None => "`None`".to_string(),
        Value::Layer(l) => format!("a `{}` layer", l.kind.class_name()),
    }
}
