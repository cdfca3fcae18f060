//! Reading Keras's layer configs (`{"class_name", "config"}`) and the reference corpus's
//! model files into the project's own layer descriptions.
//!
//! Nested values (tuples, wrapped layers) are leaked to get the `'static` lifetime that
//! `const`-constructible layers carry; a model config is read once, so this is a few bytes
//! per model.

use serde_json::Value as Json;

#[cfg(feature = "runtime")]
pub mod corpus;
#[cfg(feature = "keras-files")]
pub mod files;
pub mod model;
pub mod source;
pub mod write;

#[cfg(feature = "keras-files")]
pub use self::files::{
    load_keras, load_network, read_keras, read_keras_model, save_keras, save_network, KerasFile,
};
pub use self::model::{model, model_config, KerasModel};
pub use self::source::{source, type_name};
pub use self::write::layer_config;

use crate::layer::{build, keep_numbers, Arg, Config, Kind, Layer};
use crate::shape::Shape;
use crate::value::{ArgType, Value};

/// Config keys that are not arguments and change nothing in inference or in the weights
/// this project holds: names, dtypes, initializers, regularizers, constraints, dropout rates
/// and seeds (training only), and the backends' implementation choices.
const IGNORED: &[&str] = &[
    "name",
    "trainable",
    "dtype",
    "batch_input_shape",
    "input_shape",
    "seed",
    "noise_shape",
    "implementation",
    "unroll",
    "use_cudnn",
    "synchronized",
    "renorm_clipping",
    "renorm_momentum",
    "unit_forget_bias",
    "input_length",
    "lora_alpha",
    "autocast",
    "zero_output_for_mask",
    // Keras writes `Bidirectional`'s backward layer as the forward one, run backwards.
    "backward_layer",
];

/// Config keys that must hold Keras's default, with what it is: other values ask for what
/// this project does not compute (masks, states kept across batches, quantized weights).
const DEFAULT_ONLY: &[(&str, &str)] = &[
    ("data_format", "\"channels_last\""),
    ("mask_zero", "false"),
    ("stateful", "false"),
    ("return_state", "false"),
    ("time_major", "false"),
    ("renorm", "false"),
    ("rms_scaling", "false"),
    ("sparse", "false"),
    ("lora_rank", "null"),
    ("quantization_config", "null"),
];

/// Whether config key `key` of a layer is skipped (it is not an argument), or why its
/// value cannot be read.
fn skipped(key: &str, v: &Json) -> Result<bool, String> {
    if IGNORED.contains(&key)
        || key.ends_with("_initializer")
        || key.ends_with("_regularizer")
        || key.ends_with("_constraint")
        || key.ends_with("dropout")
    {
        return Ok(true);
    }
    let Some((_, default)) = DEFAULT_ONLY.iter().find(|(k, _)| *k == key) else {
        return Ok(false);
    };
    if v.is_null() || serde_json::from_str::<Json>(default).is_ok_and(|d| &d == v) {
        Ok(true)
    } else {
        Err(format!(
            "`{key} = {v}` is not supported (only {default}, Keras's default)"
        ))
    }
}

fn value(v: &Json) -> Result<Value<'static>, String> {
    Ok(match v {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(Box::leak(s.clone().into_boxed_str())),
        Json::Array(items) => {
            let items = items.iter().map(value).collect::<Result<Vec<_>, _>>()?;
            Value::Tuple(Box::leak(items.into_boxed_slice()))
        }
        Json::Object(o) if o.contains_key("class_name") => {
            Value::Layer(Box::leak(Box::new(layer(v)?)))
        }
        Json::Object(_) => return Err(format!("unsupported value {v}")),
    })
}

/// One layer from `{"class_name": …, "config": {…}}`. The error is a message for a person.
pub fn layer(json: &Json) -> Result<Layer, String> {
    let class = json
        .get("class_name")
        .and_then(Json::as_str)
        .ok_or("a layer needs `class_name`")?;
    let kind = kind_of(json, class)?;
    let mut args = Vec::new();
    if let Some(config) = json.get("config").and_then(Json::as_object) {
        for (key, v) in config {
            if kind.info().args.iter().all(|a| a.name != key) && skipped(key, v)? {
                continue;
            }
            let name: &'static str = Box::leak(key.clone().into_boxed_str());
            let mut value = value(v)?;
            // Keras 3 writes `LayerNormalization`'s axis as a list, `[-1]`.
            if let (Some(spec), Value::Tuple([one])) = (find(kind, key), value) {
                if spec.ty == ArgType::Int {
                    value = *one;
                }
            }
            args.push(Arg {
                name: Some(name),
                value,
            });
        }
    }
    keep_numbers(kind, &mut args);
    let mut layer = build(kind, &args).map_err(|e| e.describe(kind, &args))?;
    // Keras 3 writes a pooling's default strides out (the pool size); they are the default.
    if let Config::Pooling(p) = &mut layer.config {
        if p.strides == Some(p.pool_size) {
            p.strides = None;
        }
    }
    Ok(layer)
}

/// What a layer's config sets that this project's layer does not keep, because it matters
/// only in training: non-zero dropout rates, regularizers, constraints, `trainable = false`
/// (`["recurrent_dropout = 0.2", "kernel_regularizer = L2"]`).
pub fn not_kept(json: &Json) -> Vec<String> {
    let Some(config) = json.get("config").and_then(Json::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, v) in config {
        let set = if key.ends_with("dropout") {
            v.as_f64().is_some_and(|r| r > 0.0)
        } else if key.ends_with("_regularizer") || key.ends_with("_constraint") {
            !v.is_null()
        } else {
            key == "trainable" && v == &Json::Bool(false)
        };
        if set {
            let shown = match v.get("class_name").and_then(Json::as_str) {
                Some(class) => class.to_string(),
                None => v.to_string(),
            };
            out.push(format!("{key} = {shown}"));
        }
    }
    if let Some(inner) = config.get("layer").filter(|l| l.is_object()) {
        out.extend(not_kept(inner));
    }
    out
}

fn find(kind: Kind, key: &str) -> Option<&'static crate::layer::ArgSpec> {
    kind.info().args.iter().find(|a| a.name == key)
}

/// The kind of class `class`, or why it cannot be read: a `Lambda` (Python code), a custom
/// layer (a class registered outside Keras), or a class this project does not know.
fn kind_of(json: &Json, class: &str) -> Result<Kind, String> {
    if class == "Lambda" {
        return Err(
            "`Lambda` layers hold Python code, which cannot be read; write the computation as layers"
                .to_string(),
        );
    }
    // Keras 3 writes each layer's module: `keras.layers` for its own, the user's (or
    // `null`) for a class registered elsewhere. Older files and the corpus have none.
    let custom = match json.get("module") {
        None => false,
        Some(Json::String(m)) => !(m == "keras" || m.starts_with("keras.")),
        Some(_) => true,
    };
    if custom {
        let registered = json.get("registered_name").and_then(Json::as_str);
        return Err(format!(
            "`{}` is a custom layer, which cannot be read: only Keras's own layers can",
            registered.unwrap_or(class),
        ));
    }
    Kind::from_name(class).ok_or_else(|| {
        format!(
            "unknown layer class `{class}`; the supported classes are {}",
            crate::layer::KINDS
                .iter()
                .map(|k| k.class_name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// A model file of the reference corpus.
#[derive(Debug)]
pub struct ModelFile {
    /// The model's name.
    pub name: String,
    /// Input shape without batch.
    pub input_shape: Shape,
    /// Whether inputs are integer ids (`Embedding` first).
    pub integer_input: bool,
    /// Each layer as described, or why it cannot be built.
    pub layers: Vec<Result<Layer, String>>,
    /// Class names as written.
    pub class_names: Vec<String>,
    /// The raw JSON, for the harnesses' expectations.
    pub json: Json,
}

/// Reads a corpus model file.
pub fn model_file(text: &str) -> Result<ModelFile, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let name = json
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string();
    let dims: Vec<usize> = json
        .get("input_shape")
        .and_then(Json::as_array)
        .ok_or("missing `input_shape`")?
        .iter()
        .map(|d| {
            d.as_u64()
                .map(|d| d as usize)
                .ok_or("`input_shape` holds a non-integer")
        })
        .collect::<Result<_, _>>()?;
    let input_shape = Shape::try_new(&dims).ok_or("`input_shape` has too many dimensions")?;
    let list = json
        .get("layers")
        .and_then(Json::as_array)
        .ok_or("missing `layers`")?;
    let layers = list.iter().map(layer).collect();
    let class_names = list
        .iter()
        .map(|l| {
            l.get("class_name")
                .and_then(Json::as_str)
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    let integer_input = json.get("input_dtype").and_then(Json::as_str) == Some("int32");
    Ok(ModelFile {
        name,
        input_shape,
        integer_input,
        layers,
        class_names,
        json,
    })
}

/// A reference-corpus directory: the environment variable `var` when set, else `default`.
pub fn corpus_dir(var: &str, default: impl Into<std::path::PathBuf>) -> std::path::PathBuf {
    std::env::var_os(var)
        .map(Into::into)
        .unwrap_or_else(|| default.into())
}

/// The `.json` files of a corpus directory, sorted by name. The error names the directory
/// and the variable `var` that points elsewhere, when it cannot be read or holds none.
pub fn corpus_files(dir: &std::path::Path, var: &str) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "cannot read the corpus at {}: {e} (set {var})",
            dir.display()
        )
    })?;
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "no JSON model files in {} (set {var})",
            dir.display()
        ));
    }
    Ok(files)
}

/// A graph model file of the reference corpus (`graphs/`): inputs, layers with the calls
/// of each (`inbound`: one list of tensor names per call), outputs.
#[derive(Debug)]
pub struct GraphFile {
    /// The model's name.
    pub name: String,
    /// The inputs' names and shapes (without batch).
    pub inputs: Vec<(String, Shape)>,
    /// The layers' names, in the file's order.
    pub layer_names: Vec<String>,
    /// Each layer as described, or why it cannot be built.
    pub layers: Vec<Result<Layer, String>>,
    /// The calls: the layer's index and the tensors it is called on, in an order where
    /// every tensor is made before it is used. Tensor `i < inputs.len()` is input `i`,
    /// tensor `inputs.len() + k` call `k`'s output.
    pub nodes: Vec<(usize, Vec<usize>)>,
    /// The output tensors.
    pub outputs: Vec<usize>,
    /// The references that name a shared layer: `(node, argument, tensors)`, the tensors
    /// being that layer's calls made before the node (the file does not say which one).
    pub ambiguous: Vec<(usize, usize, Vec<usize>)>,
    /// The raw JSON, for the harnesses' expectations.
    pub json: Json,
}

/// Reads a graph model file. A name refers to an input, or to the output of the layer of
/// that name: of its most recent call when it is called several times (the file does not
/// say which call; see `tests/graph_parity.rs`).
pub fn graph_file(text: &str) -> Result<GraphFile, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let name = json
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string();
    let mut inputs = Vec::new();
    for i in json
        .get("inputs")
        .and_then(Json::as_array)
        .ok_or("missing `inputs`")?
    {
        let n = i
            .get("name")
            .and_then(Json::as_str)
            .ok_or("an input without `name`")?;
        let dims: Vec<usize> = i
            .get("shape")
            .and_then(Json::as_array)
            .ok_or("an input without `shape`")?
            .iter()
            .map(|d| {
                d.as_u64()
                    .map(|d| d as usize)
                    .ok_or("a non-integer dimension")
            })
            .collect::<Result<_, _>>()?;
        let shape = Shape::try_new(&dims).ok_or("an input of too many dimensions")?;
        inputs.push((n.to_string(), shape));
    }
    let list = json
        .get("layers")
        .and_then(Json::as_array)
        .ok_or("missing `layers`")?;
    let layer_names: Vec<String> = list
        .iter()
        .map(|l| {
            l.get("name")
                .and_then(Json::as_str)
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    let layers: Vec<Result<Layer, String>> = list.iter().map(layer).collect();
    let calls: Vec<Vec<Vec<String>>> = list
        .iter()
        .map(|l| {
            l.get("inbound")
                .and_then(Json::as_array)
                .map(|calls| {
                    calls
                        .iter()
                        .map(|c| {
                            c.as_array()
                                .map(|names| {
                                    names
                                        .iter()
                                        .filter_map(|n| n.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    // The tensor each name stands for so far, and every call's tensor for shared layers.
    let mut made: std::collections::HashMap<String, Vec<usize>> = Default::default();
    let mut ambiguous = Vec::new();
    let mut tensor_of: std::collections::HashMap<String, usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.clone(), i))
        .collect();
    // Calls in the file's order, each as soon as its tensors exist.
    let mut pending: Vec<(usize, usize)> = (0..list.len())
        .flat_map(|l| (0..calls[l].len()).map(move |c| (l, c)))
        .collect();
    let mut nodes = Vec::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|&(l, c)| calls[l][c].iter().all(|n| tensor_of.contains_key(n)));
        let Some(at) = ready else {
            let (l, c) = pending[0];
            return Err(format!(
                "layer `{}` is called on {:?}, which no input or layer makes",
                layer_names[l], calls[l][c]
            ));
        };
        let (l, c) = pending.remove(at);
        let ins: Vec<usize> = calls[l][c].iter().map(|n| tensor_of[n]).collect();
        for (arg, n) in calls[l][c].iter().enumerate() {
            if let Some(ts) = made.get(n).filter(|ts| ts.len() > 1) {
                ambiguous.push((nodes.len(), arg, ts.clone()));
            }
        }
        let t = inputs.len() + nodes.len();
        tensor_of.insert(layer_names[l].clone(), t);
        made.entry(layer_names[l].clone()).or_default().push(t);
        nodes.push((l, ins));
    }
    let outputs = json
        .get("outputs")
        .and_then(Json::as_array)
        .ok_or("missing `outputs`")?
        .iter()
        .map(|o| {
            let n = o.as_str().ok_or("an output that is not a name")?;
            tensor_of
                .get(n)
                .copied()
                .ok_or_else(|| format!("output `{n}` is not a tensor of the model"))
        })
        .collect::<Result<_, String>>()?;
    Ok(GraphFile {
        name,
        inputs,
        layer_names,
        layers,
        nodes,
        outputs,
        ambiguous,
        json,
    })
}
