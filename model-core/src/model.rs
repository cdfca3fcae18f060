//! Evaluating a whole model: each layer on the previous layer's output, with its name.

use core::fmt;

use crate::error::EvalError;
use crate::layer::{Layer, LayerEval};
use crate::message::Message;
use crate::shape::Shape;

/// What the model knows about one of its layers, all of it `const`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// The layer's name (given, or Keras's automatic `dense_1`).
    pub name: &'static str,
    /// Keras's class name.
    pub kind: &'static str,
    /// The output shape, without the batch dimension.
    pub output_shape: Shape,
    /// All parameters.
    pub params: usize,
    /// Trainable parameters.
    pub trainable: usize,
    /// Non-trainable parameters.
    pub non_trainable: usize,
    /// Multiply-accumulates for one sample.
    pub macs: usize,
}

impl LayerInfo {
    /// A placeholder entry, for filling arrays in `const` code.
    pub const EMPTY: LayerInfo = LayerInfo {
        name: "",
        kind: "",
        output_shape: Shape::SCALAR,
        params: 0,
        trainable: 0,
        non_trainable: 0,
        macs: 0,
    };

    pub(crate) const fn from_eval(name: &'static str, layer: &Layer, e: &LayerEval) -> LayerInfo {
        LayerInfo {
            name,
            kind: layer.kind.class_name(),
            output_shape: e.output,
            params: e.params(),
            trainable: e.trainable,
            non_trainable: e.non_trainable,
            macs: e.macs,
        }
    }
}

/// A layer of a model that does not fit its input: where it is and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelError {
    /// 0-based index of the layer.
    pub index: usize,
    /// Its name.
    pub name: &'static str,
    /// The input it got.
    pub input: Shape,
    /// What is wrong.
    pub error: EvalError,
}

impl ModelError {
    /// The message, prefixed with the layer's index, name and kind.
    pub const fn message(&self) -> Message {
        let mut m = Message::new();
        m.str("layer ")
            .num(self.index)
            .str(" `")
            .str(self.name)
            .str("` (");
        m.str(self.error.kind.class_name()).str("): ");
        self.error.write(&mut m);
        m
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message().as_str())
    }
}

impl std::error::Error for ModelError {}

/// Evaluates `layers` in order on `input`, writing one entry per layer into `out`
/// (which must be as long as `layers`). Stops at the first layer that does not fit.
pub const fn eval_into(
    input: Shape,
    layers: &[Layer],
    names: &[&'static str],
    out: &mut [LayerInfo],
) -> Result<Shape, ModelError> {
    let mut shape = input;
    let mut i = 0;
    while i < layers.len() && i < out.len() {
        let name = if i < names.len() { names[i] } else { "" };
        match layers[i].eval(&shape) {
            Ok(e) => {
                out[i] = LayerInfo::from_eval(name, &layers[i], &e);
                shape = e.output;
            }
            Err(error) => {
                return Err(ModelError {
                    index: i,
                    name,
                    input: shape,
                    error,
                })
            }
        }
        i += 1;
    }
    Ok(shape)
}

/// Evaluates a model in `const` context, panicking (a compile error there) with the
/// offending layer's message. Generated code for generic models calls this.
pub const fn expect_model<const N: usize>(
    input: Shape,
    layers: &[Layer; N],
    names: &[&'static str; N],
) -> [LayerInfo; N] {
    let mut out = [LayerInfo::EMPTY; N];
    if let Err(e) = eval_into(input, layers, names, &mut out) {
        let m = e.message();
        panic!("{}", m.as_str());
    }
    out
}

/// Model totals from its layer entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// All parameters.
    pub params: usize,
    /// Trainable parameters.
    pub trainable: usize,
    /// Non-trainable parameters.
    pub non_trainable: usize,
    /// Multiply-accumulates for one sample.
    pub macs: usize,
}

impl Totals {
    /// Sums the entries.
    pub const fn of(layers: &[LayerInfo]) -> Totals {
        let mut t = Totals {
            params: 0,
            trainable: 0,
            non_trainable: 0,
            macs: 0,
        };
        let mut i = 0;
        while i < layers.len() {
            t.params += layers[i].params;
            t.trainable += layers[i].trainable;
            t.non_trainable += layers[i].non_trainable;
            t.macs += layers[i].macs;
            i += 1;
        }
        t
    }
}

/// The output shape of the last entry (`input` for a model without layers).
pub const fn output_shape(input: Shape, layers: &[LayerInfo]) -> Shape {
    if layers.is_empty() {
        input
    } else {
        layers[layers.len() - 1].output_shape
    }
}

/// The sequential executor's activation memory per sample, in values: two buffers (each
/// layer reads one and writes the other), each as large as the largest output but the
/// last (which goes to the caller's buffer).
pub const fn stack_scratch(layers: &[LayerInfo]) -> usize {
    let mut largest = 0;
    let mut i = 0;
    while i + 1 < layers.len() {
        if let Some(n) = layers[i].output_shape.elements() {
            if n > largest {
                largest = n;
            }
        }
        i += 1;
    }
    2 * largest
}

/// Keras's automatic name stem for a class (`Conv2D` → `conv2d`), by its `to_snake_case`.
pub fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    // Pass 1: `(.)([A-Z][a-z]+)` → `\1_\2`.
    let mut pass1 = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
        {
            pass1.push('_');
        }
        pass1.push(c);
    }
    // Pass 2: `([a-z])([A-Z])` → `\1_\2`.
    let p: Vec<char> = pass1.chars().collect();
    let mut out = String::new();
    for (i, &c) in p.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && p[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(c);
    }
    out.to_lowercase()
}

/// Builds layer `index` (named `name`) in `const` context, panicking — a compile error
/// there — with the layer named when an argument does not fit. The macro has already
/// checked every argument it could see; this catches const generic values at instantiation.
pub const fn expect_layer_built(
    kind: crate::layer::Kind,
    args: &[crate::layer::Arg],
    name: &str,
    index: usize,
) -> Layer {
    match crate::layer::build(kind, args) {
        Ok(l) => l,
        Err(e) => {
            let mut m = Message::new();
            m.str("layer ")
                .num(index)
                .str(" `")
                .str(name)
                .str("` (")
                .str(kind.class_name())
                .str("): ");
            match e {
                crate::layer::ArgError::Bad { spec, .. } => {
                    m.str("`")
                        .str(spec.name)
                        .str("` expects ")
                        .str(spec.ty.describe());
                }
                crate::layer::ArgError::Unsupported { why, .. } => {
                    m.str(why);
                }
                _ => {
                    m.str("invalid arguments");
                }
            }
            panic!("{}", m.as_str())
        }
    }
}

/// Evaluates layer `index` on `input` in `const` context, panicking — a compile error at
/// the instantiation of a generic model — with the layer's message when it does not fit.
pub const fn expect_layer(
    input: Shape,
    layer: &Layer,
    name: &'static str,
    index: usize,
) -> LayerInfo {
    match layer.eval(&input) {
        Ok(e) => LayerInfo::from_eval(name, layer, &e),
        Err(error) => {
            let m = ModelError {
                index,
                name,
                input,
                error,
            }
            .message();
            panic!("{}", m.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::KINDS;

    #[test]
    fn catalogue_auto_names_follow_keras_snake_case() {
        for info in KINDS {
            assert_eq!(
                snake_case(info.class_name),
                info.auto_name,
                "{}",
                info.class_name
            );
        }
    }
}
