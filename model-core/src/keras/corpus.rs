//! The reference corpus's weights and readings, for the harnesses that run its models
//! (`numeric_parity`, `graph_parity`, `onnx_export`): one copy of how a file's weights
//! map onto a model's layers.

use std::collections::HashMap;
use std::path::Path;

use super::{model_file, GraphFile, ModelFile};
use crate::layer::{Config, Layer};
use crate::runtime::{read, weight_specs, LayerWeights, Tensor};

/// One model of the numeric corpus, read whole: `<name>.json` and `<name>.safetensors`.
pub struct NumericCase {
    /// The model's file.
    pub model: ModelFile,
    /// Its layers.
    pub layers: Vec<Layer>,
    /// Their weights, from the `.safetensors` file ([`numeric_weights`]).
    pub weights: Vec<LayerWeights>,
    /// Keras's input batch.
    pub input: Tensor,
    /// Keras's outputs for it.
    pub output: Tensor,
}

/// Reads the numeric-corpus model whose JSON file is `json`, with its weights, input and
/// output; `Err` says which part is missing or wrong.
pub fn numeric_case(json: &Path) -> Result<NumericCase, String> {
    let text = std::fs::read_to_string(json).map_err(|e| e.to_string())?;
    let model = model_file(&text)?;
    let layers: Vec<Layer> = model.layers.iter().cloned().collect::<Result<_, _>>()?;
    let mut file: HashMap<String, Tensor> = read(json.with_extension("safetensors"))
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    let weights = numeric_weights(&model, &layers, &mut file)?;
    let input = file.remove("input").ok_or("no `input` tensor")?;
    let output = file.remove("output").ok_or("no `output` tensor")?;
    Ok(NumericCase {
        model,
        layers,
        weights,
        input,
        output,
    })
}

/// The name our weight specs give the Keras weight `keras_name`: the part after the last
/// `/`, with `forward/` or `backward/` for a `Bidirectional`'s directions.
fn our_name(keras_name: &str) -> String {
    let base = keras_name.rsplit('/').next().unwrap_or(keras_name);
    if keras_name.starts_with("forward_") {
        format!("forward/{base}")
    } else if keras_name.starts_with("backward_") {
        format!("backward/{base}")
    } else {
        base.to_string()
    }
}

/// A numeric-corpus model's weights (`"<layer index>.<keras weight name>"` in `file`, which
/// they are taken out of), matched by order and name against each layer's weight specs.
pub fn numeric_weights(
    m: &ModelFile,
    layers: &[Layer],
    file: &mut HashMap<String, Tensor>,
) -> Result<Vec<LayerWeights>, String> {
    let lists = m.json["weights"].as_array().ok_or("no `weights` list")?;
    let mut shape = m.input_shape;
    let mut out = Vec::new();
    for (i, (layer, list)) in layers.iter().zip(lists).enumerate() {
        let specs = weight_specs(layer, &shape);
        let list = list.as_array().ok_or("a `weights` entry is not a list")?;
        if specs.len() != list.len() {
            return Err(format!(
                "layer {i}: Keras has {} weights, we expect {}",
                list.len(),
                specs.len()
            ));
        }
        let mut tensors = Vec::new();
        for (spec, w) in specs.iter().zip(list) {
            let name = w["name"].as_str().ok_or("a weight without a name")?;
            if our_name(name) != spec.name {
                return Err(format!(
                    "layer {i}: Keras weight `{name}` where we expect `{}`",
                    spec.name
                ));
            }
            let t = file
                .remove(&format!("{i}.{name}"))
                .ok_or_else(|| format!("`{i}.{name}` not in the file"))?;
            if t.shape != spec.shape {
                return Err(format!(
                    "layer {i}: `{name}` has shape {:?}, we expect {:?}",
                    t.shape, spec.shape
                ));
            }
            tensors.push(t);
        }
        out.push(LayerWeights { tensors });
        shape = layer
            .eval(&shape)
            .map_err(|e| format!("layer {i}: {e}"))?
            .output;
    }
    Ok(out)
}

/// A graph-corpus model's weights: each layer's from `file` (`<layer>/<index>`, Keras's
/// order), else `template`'s (the model's initial weights).
///
/// `Normalization`'s integer `count` is not in the file and does not affect inference.
/// The corpus's recorder gave each layer its weights by assigning to its variables.
/// Keras's `Normalization` (without `mean` and `variance`) keeps the constants it made
/// from its weights at build time, refreshed by `adapt` or by loading a file
/// (`finalize_state`) but not by an assignment: the recorded outputs are those of its
/// initial weights (mean 0, variance 1), which is what it gets here. A model whose weights
/// were loaded from a Keras file uses them, in Keras and here.
pub fn graph_weights(
    m: &GraphFile,
    layers: &[Layer],
    template: &[LayerWeights],
    file: &HashMap<String, Tensor>,
) -> Result<Vec<LayerWeights>, String> {
    let mut weights = Vec::new();
    for ((l, w), layer) in m.layer_names.iter().zip(template).zip(layers) {
        let stale = matches!(layer.config, Config::Standardization(s) if s.mean.is_none());
        let mut tensors = Vec::new();
        for (i, t) in w.tensors.iter().enumerate() {
            match file.get(&format!("{l}/{i}")).filter(|_| !stale) {
                Some(f) if f.shape == t.shape => tensors.push(f.clone()),
                Some(f) => {
                    return Err(format!(
                        "{}: `{l}` weight {i} is {:?} in the file, {:?} here",
                        m.name, f.shape, t.shape
                    ))
                }
                None => tensors.push(t.clone()),
            }
        }
        weights.push(LayerWeights { tensors });
    }
    Ok(weights)
}

/// The most readings of a file's references to shared layers [`readings`] gives.
pub const MAX_READINGS: usize = 4096;

/// Every reading of a graph file's references to shared layers (see [`GraphFile`]), as
/// its calls: `graph_file`'s own (the most recent call) first. Only that one when there
/// are more than [`MAX_READINGS`].
pub fn readings(m: &GraphFile) -> Vec<Vec<(usize, Vec<usize>)>> {
    let radices: Vec<usize> = m.ambiguous.iter().map(|a| a.2.len()).collect();
    let count: usize = radices.iter().product();
    let count = if count > MAX_READINGS { 1 } else { count };
    (0..count)
        .map(|code| {
            let mut nodes = m.nodes.clone();
            let mut c = code;
            for ((node, arg, tensors), &r) in m.ambiguous.iter().zip(&radices) {
                // `graph_file`'s own reading (the most recent call) is choice 0.
                nodes[*node].1[*arg] = tensors[(tensors.len() - 1 + c % r) % r];
                c /= r;
            }
            nodes
        })
        .collect()
}
