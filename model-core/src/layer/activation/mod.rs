//! Activation functions, and the activation layers `Activation`, `ReLU`, `LeakyReLU`,
//! `PReLU`, `ELU`, `Softmax`.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;

use super::{arg, need_min_rank, req, ArgError, ArgSpec, LayerEval};
use crate::error::{mul, Problem};
use crate::shape::{Shape, MAX_RANK};
use crate::value::{str_eq, tri, ArgType, Checked};

macro_rules! activations {
    ($($variant:ident => $name:literal $(| $alias:literal)*),* $(,)?) => {
        /// An activation function, by Keras's name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Activation { $($variant),* }

        impl Activation {
            /// Every activation, for suggestions.
            pub const ALL: &'static [Activation] = &[$(Activation::$variant),*];

            /// Keras's name for it.
            pub const fn name(self) -> &'static str {
                match self { $(Activation::$variant => $name),* }
            }

            /// The activation Keras calls `name` (or one of its aliases).
            pub const fn from_name(name: &str) -> Option<Activation> {
                $(
                    if str_eq(name, $name) $(|| str_eq(name, $alias))* {
                        return Some(Activation::$variant);
                    }
                )*
                None
            }
        }
    };
}

activations! {
    Linear => "linear",
    Relu => "relu",
    Relu6 => "relu6",
    Sigmoid => "sigmoid",
    HardSigmoid => "hard_sigmoid",
    Tanh => "tanh",
    Softmax => "softmax",
    LogSoftmax => "log_softmax",
    Softplus => "softplus",
    Softsign => "softsign",
    Elu => "elu",
    Selu => "selu",
    Gelu => "gelu",
    Silu => "silu" | "swish",
    HardSilu => "hard_silu" | "hard_swish",
    Mish => "mish",
    LeakyRelu => "leaky_relu",
    Exponential => "exponential",
}

pub(super) const ACTIVATION: &[ArgSpec] = &[req("activation", ArgType::Activation)];

pub(super) const fn set_activation(a: &mut Activation, v: Checked) {
    if let Checked::Activation(x) = v {
        *a = x;
    }
}

/// `ReLU(max_value, negative_slope, threshold)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReLU {
    /// Upper bound, if any.
    pub max_value: Option<f64>,
    /// Slope below the threshold.
    pub negative_slope: f64,
    /// Where the function turns on.
    pub threshold: f64,
}

impl ReLU {
    /// Keras's defaults.
    pub const DEFAULT: ReLU = ReLU {
        max_value: None,
        negative_slope: 0.0,
        threshold: 0.0,
    };
}

pub(super) const RELU: &[ArgSpec] = &[
    arg("max_value", ArgType::OptNonNegFloat),
    arg("negative_slope", ArgType::NonNegFloat),
    arg("threshold", ArgType::NonNegFloat),
];

pub(super) const fn set_relu(c: &mut ReLU, name: &str, v: Checked) {
    if let Checked::Float(f) = v {
        if str_eq(name, "max_value") {
            c.max_value = Some(f);
        } else if str_eq(name, "negative_slope") {
            c.negative_slope = f;
        } else {
            c.threshold = f;
        }
    }
}

/// `LeakyReLU(negative_slope)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyReLU {
    /// Slope for negative inputs.
    pub negative_slope: f64,
}

impl LeakyReLU {
    /// Keras's default slope, 0.3.
    pub const DEFAULT: LeakyReLU = LeakyReLU {
        negative_slope: 0.3,
    };
}

pub(super) const LEAKY_RELU: &[ArgSpec] = &[arg("negative_slope", ArgType::NonNegFloat)];

pub(super) const fn set_leaky(c: &mut LeakyReLU, v: Checked) {
    if let Checked::Float(f) = v {
        c.negative_slope = f;
    }
}

/// `ELU(alpha)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ELU {
    /// Scale of the negative part.
    pub alpha: f64,
}

impl ELU {
    /// Keras's default, alpha 1.
    pub const DEFAULT: ELU = ELU { alpha: 1.0 };
}

pub(super) const ELU_ARGS: &[ArgSpec] = &[arg("alpha", ArgType::NonNegFloat)];

pub(super) const fn set_elu(c: &mut ELU, v: Checked) {
    if let Checked::Float(f) = v {
        c.alpha = f;
    }
}

/// `Softmax(axis)`; only the last axis (`-1`) is supported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax {
    /// The axis, negative from the end.
    pub axis: i64,
}

impl Softmax {
    /// Keras's default, the last axis.
    pub const DEFAULT: Softmax = Softmax { axis: -1 };
}

pub(super) const SOFTMAX: &[ArgSpec] = &[arg("axis", ArgType::Int)];

pub(super) const fn set_softmax(c: &mut Softmax, v: Checked, arg: usize) -> Result<(), ArgError> {
    if let Checked::Int(a) = v {
        if a != -1 {
            return Err(ArgError::Unsupported {
                arg,
                why: "only the last axis (`axis = -1`) is supported",
            });
        }
        c.axis = a;
    }
    Ok(())
}

pub(super) const fn eval_softmax(_c: &Softmax, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    Ok(LayerEval::weightless(*input))
}

/// `PReLU(shared_axes)`: a learned slope per element, shared along the listed axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PReLU {
    /// Bit `i` set when axis `i` (1-based, batch excluded) shares one slope.
    pub shared_axes: u16,
}

impl PReLU {
    /// Keras's default: no shared axes.
    pub const DEFAULT: PReLU = PReLU { shared_axes: 0 };

    /// The shape of the `alpha` weight for an input of shape `input`.
    pub const fn alpha_shape(&self, input: &Shape) -> Shape {
        let mut s = *input;
        let mut i = 0;
        while i < input.rank() {
            if self.shared_axes & (1 << (i + 1)) != 0 {
                s = s.with(i, 1);
            }
            i += 1;
        }
        s
    }
}

pub(super) const PRELU: &[ArgSpec] = &[arg("shared_axes", ArgType::OptIntList)];

pub(super) const fn set_prelu(c: &mut PReLU, v: Checked, arg: usize) -> Result<(), ArgError> {
    if let Checked::List(l, len) = v {
        let mut i = 0;
        while i < len {
            if l[i] < 1 || l[i] as usize > MAX_RANK {
                return Err(ArgError::Unsupported {
                    arg,
                    why: "`shared_axes` are counted from 1 (batch excluded)",
                });
            }
            c.shared_axes |= 1 << l[i];
            i += 1;
        }
    }
    Ok(())
}

pub(super) const fn eval_prelu(c: &PReLU, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_min_rank(input, 1));
    if c.shared_axes >> (input.rank() + 1) != 0 {
        return Err(Problem::Axes {
            found: *input,
            expected: "a shared axis is beyond the input's rank",
        });
    }
    let params = match c.alpha_shape(input).elements() {
        Some(n) => n,
        None => return Err(Problem::TooLarge),
    };
    Ok(LayerEval {
        output: *input,
        trainable: params,
        non_trainable: 0,
        macs: tri!(mul(params, 1)),
    })
}

#[cfg(feature = "runtime")]
mod ops {
    use super::backward::{
        activation_backward, elu_backward, leaky_backward, prelu_backward, relu_backward,
    };
    use super::forward::{activation_layer, elu_layer, leaky_relu_layer, prelu_layer, relu_layer};
    use super::{Activation, LeakyReLU, PReLU, ReLU, Softmax, ELU};
    use crate::error::Error;
    use crate::layer::ops::{forward_only, Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Init, Spec, Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Activation {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            activation_layer(*self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            activation_backward(g.through(*self), s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for Softmax {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            activation_layer(Activation::Softmax, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            activation_backward(g.through(Activation::Softmax), s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for ReLU {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            relu_layer(self, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, _: &Step, g: Grad) -> Result<(), Error> {
            relu_backward(self, g.x, g.dy, g.dx);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for LeakyReLU {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            leaky_relu_layer(self, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, _: &Step, g: Grad) -> Result<(), Error> {
            leaky_backward(self.negative_slope, g.x, g.dy, g.dx);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for ELU {
        fn weights(&self, _: &Shape, _: &mut Specs) {}
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, _: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            elu_layer(self, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, _: &Step, g: Grad) -> Result<(), Error> {
            elu_backward(self.alpha as f32, g.x, g.y, g.dy, g.dx);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for PReLU {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            specs.push_spec(Spec {
                name: "alpha",
                shape: self.alpha_shape(input),
                trainable: true,
                init: Init::Zeros,
            });
        }
        fn scratch_len(&self, _: &Shape, _: &Shape, _: usize) -> usize {
            0
        }
        fn forward(&self, s: &Step, x: &[f32], y: &mut [f32], _: &mut [f32]) -> Result<(), Error> {
            prelu_layer(self, s, x, y);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            forward_only(self, s, x, y, t)
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            prelu_backward(self, s, g);
            Ok(())
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
