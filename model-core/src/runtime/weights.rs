//! What weights each layer has (names, shapes in Keras's layout, default initializers), as
//! its family's `Ops::weights` gives them, and the one check of given weights against them.

use super::{eval_output, LayerWeights, RuntimeError, Tensor};
use crate::layer::Layer;
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
    /// `Constant(v)`: `LayerScale`'s gamma.
    Constant(f32),
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

    /// A trainable weight.
    pub fn push(&mut self, name: &'static str, dims: &[usize], init: Init) {
        self.push_spec(Spec {
            name,
            shape: Shape::new(dims),
            trainable: true,
            init,
        });
    }

    /// Any weight.
    pub fn push_spec(&mut self, spec: Spec) {
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
    layer.config.ops().weights(input, &mut s);
    Ok(s)
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

/// Checks a whole model's weights before it runs: a known input shape, one set of weights
/// per layer, and each layer's weights against its specs. `visit` sees each layer's index,
/// input and output shapes in order; the model's output shape is returned. Nothing is
/// allocated, so the executor can check on every call.
pub(crate) fn check_model<W: std::borrow::Borrow<LayerWeights>>(
    layers: &[Layer],
    input: Shape,
    weights: &[W],
    mut visit: impl FnMut(usize, &Shape, &Shape) -> Result<(), RuntimeError>,
) -> Result<Shape, RuntimeError> {
    if !input.is_known() {
        return Err(RuntimeError::new(format!(
            "the input shape {input} has an unknown dimension"
        )));
    }
    if weights.len() != layers.len() {
        return Err(RuntimeError::new(format!(
            "the model has {} layers but {} sets of weights were given (one per layer, empty for layers without weights)",
            layers.len(),
            weights.len()
        )));
    }
    let mut shape = input;
    for (i, (layer, w)) in layers.iter().zip(weights).enumerate() {
        check_weights(layer, &shape, &w.borrow().tensors).map_err(|e| e.at(i))?;
        let next = eval_output(layer, &shape).map_err(|e| e.at(i))?;
        visit(i, &shape, &next).map_err(|e| e.at(i))?;
        shape = next;
    }
    Ok(shape)
}
