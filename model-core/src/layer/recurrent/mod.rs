//! Recurrent layers: `SimpleRNN`, `LSTM`, `GRU`, and the `Bidirectional` wrapper.

#[cfg(feature = "runtime")]
pub(crate) mod backward;
#[cfg(feature = "runtime")]
pub(crate) mod forward;
#[cfg(feature = "onnx")]
pub(crate) mod onnx;
#[cfg(feature = "runtime")]
mod weights;

use super::{arg, need_rank, req, Activation, ArgError, ArgSpec, Config, Layer, LayerEval};
use crate::error::{add, mul, Problem};
use crate::shape::Shape;
use crate::value::{str_eq, tri, ArgType, Checked};

/// A recurrent layer's cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum Cell {
    /// `SimpleRNN`: `h = activation(x·W + h·U + b)`.
    SimpleRNN,
    /// `LSTM`: gates `i, f, c, o`.
    LSTM,
    /// `GRU`: gates `z, r, h`.
    GRU,
}

/// A recurrent layer's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recurrent {
    /// `SimpleRNN`, `LSTM` or `GRU`.
    pub cell: Cell,
    /// State size.
    pub units: usize,
    /// Output activation (`tanh`).
    pub activation: Activation,
    /// Gate activation (`sigmoid`; LSTM and GRU).
    pub recurrent_activation: Activation,
    /// Whether the cell has biases.
    pub use_bias: bool,
    /// Output every step `(timesteps, units)` rather than the last `(units,)`.
    pub return_sequences: bool,
    /// Process the sequence backwards.
    pub go_backwards: bool,
    /// GRU only: apply the reset gate after the matrix product (two bias vectors; Keras's default).
    pub reset_after: bool,
}

impl Recurrent {
    /// Keras's defaults for `cell` (the units must be set).
    pub const fn new(cell: Cell) -> Recurrent {
        Recurrent {
            cell,
            units: 1,
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            use_bias: true,
            return_sequences: false,
            go_backwards: false,
            reset_after: true,
        }
    }

    /// The number of gates stacked in the kernels (1, 4, 3).
    pub const fn gates(&self) -> usize {
        match self.cell {
            Cell::SimpleRNN => 1,
            Cell::LSTM => 4,
            Cell::GRU => 3,
        }
    }

    /// Trainable parameters on `features` input features.
    pub const fn params(&self, features: usize) -> Result<usize, Problem> {
        let width = tri!(mul(self.gates(), self.units));
        let kernels = tri!(mul(tri!(add(features, self.units)), width));
        let bias_rows = if !self.use_bias {
            0
        } else if matches!(self.cell, Cell::GRU) && self.reset_after {
            2
        } else {
            1
        };
        add(kernels, tri!(mul(bias_rows, width)))
    }
}

macro_rules! rnn_args {
    ($($extra:expr),*) => {
        &[
            req("units", ArgType::Count),
            arg("activation", ArgType::Activation),
            $($extra,)*
            arg("use_bias", ArgType::Bool),
            arg("return_sequences", ArgType::Bool),
            arg("go_backwards", ArgType::Bool),
        ]
    };
}
pub(super) const SIMPLE_RNN: &[ArgSpec] = rnn_args!();
pub(super) const LSTM: &[ArgSpec] = rnn_args!(arg("recurrent_activation", ArgType::Activation));
pub(super) const GRU: &[ArgSpec] = rnn_args!(
    arg("recurrent_activation", ArgType::Activation),
    arg("reset_after", ArgType::Bool)
);

pub(super) const fn set_recurrent(c: &mut Recurrent, name: &str, v: Checked) {
    match v {
        Checked::Usize(n) => c.units = n,
        Checked::Activation(a) => {
            if str_eq(name, "activation") {
                c.activation = a;
            } else {
                c.recurrent_activation = a;
            }
        }
        Checked::Bool(b) => {
            if str_eq(name, "use_bias") {
                c.use_bias = b;
            } else if str_eq(name, "return_sequences") {
                c.return_sequences = b;
            } else if str_eq(name, "go_backwards") {
                c.go_backwards = b;
            } else {
                c.reset_after = b;
            }
        }
        _ => {}
    }
}

pub(super) const fn eval_recurrent(c: &Recurrent, input: &Shape) -> Result<LayerEval, Problem> {
    tri!(need_rank(input, 2));
    let params = tri!(c.params(input.dim(1)));
    let output = if c.return_sequences {
        Shape::new(&[input.dim(0), c.units])
    } else {
        Shape::new(&[c.units])
    };
    Ok(LayerEval {
        output,
        trainable: params,
        non_trainable: 0,
        macs: tri!(mul(params, input.dim(0))),
    })
}

/// How `Bidirectional` combines the two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    /// Element-wise sum.
    Sum,
    /// Element-wise product.
    Mul,
    /// Concatenation on the feature axis (Keras's default).
    Concat,
    /// Element-wise mean.
    Ave,
}

impl MergeMode {
    /// Keras's word for it.
    pub const fn name(self) -> &'static str {
        match self {
            MergeMode::Sum => "sum",
            MergeMode::Mul => "mul",
            MergeMode::Concat => "concat",
            MergeMode::Ave => "ave",
        }
    }
}

/// `Bidirectional(layer, merge_mode)` around a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bidirectional {
    /// The forward layer; the backward one is its mirror.
    pub layer: Recurrent,
    /// How the directions are combined.
    pub merge_mode: MergeMode,
}

impl Bidirectional {
    /// Placeholder (the layer is required).
    pub const DEFAULT: Bidirectional = Bidirectional {
        layer: Recurrent::new(Cell::LSTM),
        merge_mode: MergeMode::Concat,
    };
}

pub(super) const BIDIRECTIONAL: &[ArgSpec] = &[
    req("layer", ArgType::Layer),
    arg(
        "merge_mode",
        ArgType::Choice(&["sum", "mul", "concat", "ave"]),
    ),
];

pub(super) const fn set_bidirectional(
    c: &mut Bidirectional,
    v: Checked,
    arg: usize,
) -> Result<(), ArgError> {
    match v {
        Checked::Layer(Layer {
            config: Config::Recurrent(r),
            ..
        }) => c.layer = *r,
        Checked::Layer(_) => {
            return Err(ArgError::Unsupported {
                arg,
                why: "`Bidirectional` wraps a recurrent layer (`SimpleRNN`, `LSTM`, `GRU`)",
            });
        }
        Checked::Choice(i) => {
            c.merge_mode = match i {
                0 => MergeMode::Sum,
                1 => MergeMode::Mul,
                2 => MergeMode::Concat,
                _ => MergeMode::Ave,
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) const fn eval_bidirectional(
    c: &Bidirectional,
    input: &Shape,
) -> Result<LayerEval, Problem> {
    let one = tri!(eval_recurrent(&c.layer, input));
    let width = if matches!(c.merge_mode, MergeMode::Concat) {
        tri!(mul(c.layer.units, 2))
    } else {
        c.layer.units
    };
    Ok(LayerEval {
        output: one.output.with_last(width),
        trainable: tri!(mul(one.trainable, 2)),
        non_trainable: 0,
        macs: tri!(mul(one.macs, 2)),
    })
}

#[cfg(feature = "runtime")]
mod ops {
    use super::{backward, forward, weights, Bidirectional, Recurrent};
    use crate::error::Error;
    use crate::layer::ops::{Cache, Grad, Ops, Step, Train};
    use crate::runtime::{Specs, Tensor};
    use crate::shape::Shape;

    impl Ops for Recurrent {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            weights::specs(self, input.last(), &weights::NAMES[0], specs);
        }
        fn scratch_len(&self, input: &Shape, _: &Shape, batch: usize) -> usize {
            forward::scratch_len(self, input, batch)
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
            backward::backward(self, s, g)
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }

    impl Ops for Bidirectional {
        fn weights(&self, input: &Shape, specs: &mut Specs) {
            weights::specs(&self.layer, input.last(), &weights::NAMES[1], specs);
            weights::specs(&self.layer, input.last(), &weights::NAMES[2], specs);
        }
        fn scratch_len(&self, input: &Shape, output: &Shape, batch: usize) -> usize {
            forward::bidirectional_scratch_len(self, input, output, batch)
        }
        fn forward(
            &self,
            s: &Step,
            x: &[f32],
            y: &mut [f32],
            scratch: &mut [f32],
        ) -> Result<(), Error> {
            forward::bidirectional(self, s, x, y, scratch);
            Ok(())
        }
        fn train_forward(&self, s: &Step, x: &[f32], y: &mut [f32], t: Train) -> Result<(), Error> {
            backward::bidirectional_forward(self, s, x, y, t);
            Ok(())
        }
        fn backward(&self, s: &Step, g: Grad) -> Result<(), Error> {
            backward::bidirectional_backward(self, s, g)
        }
        fn update_statistics(&self, _: &mut [Tensor], _: &Cache) {}
    }
}
