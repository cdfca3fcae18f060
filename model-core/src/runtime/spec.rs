//! What weights each layer has: names, shapes in Keras's layout, and default initializers.

use super::{eval_output, RuntimeError, Tensor};
use crate::layer::{Bidirectional, Config, Conv, Kind, Layer, Normalization, Recurrent};
use crate::shape::Shape;

/// One weight of a layer, in Keras's order and layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    /// Keras's name for it: `kernel`, `bias`, `gamma`, `moving_mean`, `forward/kernel`, …
    pub name: &'static str,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Whether training updates it (batch normalization's moving statistics are not).
    pub trainable: bool,
}

/// Keras's default initializer of a weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Init {
    /// `glorot_uniform`: kernels.
    GlorotUniform,
    /// `orthogonal`: recurrent kernels.
    Orthogonal,
    /// `zeros`: biases, `beta`, `moving_mean`, `PReLU`'s alpha.
    Zeros,
    /// `ones`: `gamma`, `moving_variance`.
    Ones,
    /// `uniform(-limit, limit)`: embeddings (0.05).
    Uniform(f32),
    /// An LSTM bias: zeros, ones for the forget gate (`unit_forget_bias=True`).
    LstmBias(usize),
}

/// One weight, without allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub shape: Shape,
    pub trainable: bool,
    pub init: Init,
}

/// The most weights one layer has (a bidirectional recurrent layer).
const MAX_WEIGHTS: usize = 6;

/// A layer's weights, in order, without allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Specs {
    items: [Spec; MAX_WEIGHTS],
    len: usize,
}

impl Specs {
    const EMPTY: Specs = Specs {
        items: [Spec {
            name: "",
            shape: Shape::SCALAR,
            trainable: true,
            init: Init::Zeros,
        }; MAX_WEIGHTS],
        len: 0,
    };

    fn push(&mut self, name: &'static str, dims: &[usize], init: Init) {
        self.push_spec(Spec {
            name,
            shape: Shape::new(dims),
            trainable: true,
            init,
        });
    }

    fn push_spec(&mut self, spec: Spec) {
        // Never more than MAX_WEIGHTS: every family below pushes a fixed, smaller number.
        if self.len < MAX_WEIGHTS {
            self.items[self.len] = spec;
            self.len += 1;
        }
    }

    pub fn as_slice(&self) -> &[Spec] {
        &self.items[..self.len]
    }
}

/// The weights of `layer` on `input`, in Keras's order. Their element counts add up to the
/// trainable and non-trainable counts of [`Layer::eval`]. Empty when the layer does not fit
/// `input` (the evaluator reports why).
pub fn weight_specs(layer: &Layer, input: &Shape) -> Vec<WeightSpec> {
    match specs(layer, input) {
        Ok(s) => s
            .as_slice()
            .iter()
            .map(|s| WeightSpec {
                name: s.name,
                shape: s.shape.dims().to_vec(),
                trainable: s.trainable,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The weights of `layer` on `input`, or why the layer does not fit.
pub(crate) fn specs(layer: &Layer, input: &Shape) -> Result<Specs, RuntimeError> {
    eval_output(layer, input)?;
    let mut s = Specs::EMPTY;
    match &layer.config {
        Config::Dense(c) => {
            s.push("kernel", &[input.last(), c.units], Init::GlorotUniform);
            if c.use_bias {
                s.push("bias", &[c.units], Init::Zeros);
            }
        }
        Config::Embedding(c) => s.push(
            "embeddings",
            &[c.input_dim, c.output_dim],
            Init::Uniform(0.05),
        ),
        Config::PReLU(c) => s.push_spec(Spec {
            name: "alpha",
            shape: c.alpha_shape(input),
            trainable: true,
            init: Init::Zeros,
        }),
        Config::Conv(c) => conv_specs(layer.kind, c, input, &mut s),
        Config::Normalization(c) => norm_specs(c, input.last(), &mut s),
        Config::Recurrent(c) => recurrent_specs(c, input.last(), &NAMES[0], &mut s),
        Config::Bidirectional(Bidirectional { layer, .. }) => {
            recurrent_specs(layer, input.last(), &NAMES[1], &mut s);
            recurrent_specs(layer, input.last(), &NAMES[2], &mut s);
        }
        Config::TimeDistributed(inner) => return specs(inner, &input.tail()),
        _ => {}
    }
    Ok(s)
}

/// A convolution's kernel: `[k…, in, filters]` and friends (see the module docs).
fn conv_specs(kind: Kind, c: &Conv, input: &Shape, s: &mut Specs) {
    let r = kind.spatial_rank();
    let channels = input.last();
    let mut dims = [1usize; 5];
    dims[..r].copy_from_slice(&c.kernel_size[..r]);
    let bias_len = match kind {
        Kind::Conv1DTranspose | Kind::Conv2DTranspose | Kind::Conv3DTranspose => {
            dims[r] = c.filters;
            dims[r + 1] = channels;
            s.push("kernel", &dims[..r + 2], Init::GlorotUniform);
            c.filters
        }
        Kind::SeparableConv1D | Kind::SeparableConv2D => {
            dims[r] = channels;
            dims[r + 1] = c.depth_multiplier;
            s.push("depthwise_kernel", &dims[..r + 2], Init::GlorotUniform);
            let mut point = [1usize; 5];
            point[r] = channels * c.depth_multiplier;
            point[r + 1] = c.filters;
            s.push("pointwise_kernel", &point[..r + 2], Init::GlorotUniform);
            c.filters
        }
        Kind::DepthwiseConv1D | Kind::DepthwiseConv2D => {
            dims[r] = channels;
            dims[r + 1] = c.depth_multiplier;
            s.push("kernel", &dims[..r + 2], Init::GlorotUniform);
            channels * c.depth_multiplier
        }
        _ => {
            dims[r] = channels / c.groups.max(1);
            dims[r + 1] = c.filters;
            s.push("kernel", &dims[..r + 2], Init::GlorotUniform);
            c.filters
        }
    };
    if c.use_bias {
        s.push("bias", &[bias_len], Init::Zeros);
    }
}

fn norm_specs(c: &Normalization, features: usize, s: &mut Specs) {
    if c.scale {
        s.push("gamma", &[features], Init::Ones);
    }
    if c.center {
        s.push("beta", &[features], Init::Zeros);
    }
    if c.batch {
        let moving = |name, init| Spec {
            name,
            shape: Shape::new(&[features]),
            trainable: false,
            init,
        };
        s.push_spec(moving("moving_mean", Init::Zeros));
        s.push_spec(moving("moving_variance", Init::Ones));
    }
}

/// Weight names of a recurrent layer alone, and of each direction of a `Bidirectional`.
const NAMES: [[&str; 3]; 3] = [
    ["kernel", "recurrent_kernel", "bias"],
    ["forward/kernel", "forward/recurrent_kernel", "forward/bias"],
    [
        "backward/kernel",
        "backward/recurrent_kernel",
        "backward/bias",
    ],
];

fn recurrent_specs(c: &Recurrent, features: usize, names: &[&'static str; 3], s: &mut Specs) {
    let width = c.gates() * c.units;
    s.push(names[0], &[features, width], Init::GlorotUniform);
    s.push(names[1], &[c.units, width], Init::Orthogonal);
    if c.use_bias {
        match c.cell {
            Kind::GRU if c.reset_after => s.push(names[2], &[2, width], Init::Zeros),
            Kind::LSTM => s.push(names[2], &[width], Init::LstmBias(c.units)),
            _ => s.push(names[2], &[width], Init::Zeros),
        }
    }
}

/// Checks that `weights` are exactly the weights of `layer` on `input`: count and shapes.
pub(crate) fn check_weights(
    layer: &Layer,
    input: &Shape,
    weights: &[Tensor],
) -> Result<(), RuntimeError> {
    let specs = specs(layer, input)?;
    let specs = specs.as_slice();
    let class = layer.kind.class_name();
    if weights.len() != specs.len() {
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        return Err(RuntimeError::new(format!(
            "`{class}` on input {input} has {} weight{} ({}), got {}",
            specs.len(),
            if specs.len() == 1 { "" } else { "s" },
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
            weights.len()
        )));
    }
    for (spec, w) in specs.iter().zip(weights) {
        if w.shape != spec.shape.dims() {
            return Err(RuntimeError::new(format!(
                "`{class}` weight `{}` must have shape {:?}, got {:?}",
                spec.name,
                spec.shape.dims(),
                w.shape
            )));
        }
        if w.data.len() != spec.shape.dims().iter().product::<usize>() {
            return Err(RuntimeError::new(format!(
                "`{class}` weight `{}` of shape {:?} holds {} values",
                spec.name,
                w.shape,
                w.data.len()
            )));
        }
    }
    Ok(())
}
