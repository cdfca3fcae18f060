//! Whole Keras model configs, both ways: the `config.json` of a `.keras` file (or the
//! `model_config` attribute of a legacy `.h5`) read into a [`Network`], for Keras 3's
//! Sequential and Functional models and Keras 2's; and a [`Network`] written as the config
//! that Keras 3's `keras.saving.load_model` rebuilds.
//!
//! A read network is leaked to get the `'static` lifetime that `model!`'s networks have:
//! a file is read once, so this is its size once.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use super::layer;
use crate::graph::{eval_graph, layer_inputs, Graph, Group, Network, Node, Op};
use crate::layer::{Arithmetic, Config, Kind, Layer};
use crate::message::Message;
use crate::model::LayerInfo;
use crate::shape::Shape;

/// A Keras model read from its config.
#[derive(Clone, Debug)]
pub struct KerasModel {
    /// Its layers, names and calls; `network.name` is Keras's name of the model.
    pub network: Network<'static>,
    /// Per input, whether Keras feeds it integers (ids for an `Embedding`).
    pub integer_inputs: Vec<bool>,
    /// Every tensor's shape (inputs, then one per call), without batch.
    pub tensors: Vec<Shape>,
    /// One entry per layer: output shape, parameters, MACs.
    pub infos: &'static [LayerInfo],
    /// Per layer, what its config says that the layer here does not keep (training-only
    /// settings: dropout rates, regularizers, constraints, a frozen layer).
    pub not_kept: Vec<Vec<String>>,
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// The shape without batch of `batch_shape` (`[null, 28, 28, 1]`).
fn shape_of(batch_shape: &Json, what: &str) -> Result<Shape, String> {
    let dims = batch_shape
        .as_array()
        .ok_or_else(|| format!("{what} has no shape"))?;
    let dims: Vec<usize> = dims
        .iter()
        .skip(1)
        .map(|d| {
            d.as_u64().map(|d| d as usize).ok_or_else(|| {
                format!(
                    "{what} has shape {batch_shape}: every dimension but the batch must be known"
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Shape::try_new(&dims).ok_or_else(|| format!("{what} has too many dimensions"))
}

fn str_of<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Json::as_str)
}

/// A layer's name: Keras 3 and Keras 2's functional models write it beside the config too.
fn name_of(l: &Json) -> Option<&str> {
    str_of(l, "name").or_else(|| l.get("config").and_then(|c| str_of(c, "name")))
}

fn integer_dtype(config: &Json) -> bool {
    str_of(config, "dtype").is_some_and(|d| d.starts_with("int") || d.starts_with("uint"))
}

/// The input an `InputLayer` describes: name, shape, whether it holds integers.
fn input_layer(l: &Json) -> Result<(String, Shape, bool), String> {
    let name = name_of(l).unwrap_or("input_layer").to_string();
    let config = l.get("config").cloned().unwrap_or(Json::Null);
    let shape = config
        .get("batch_shape")
        .or_else(|| config.get("batch_input_shape"))
        .ok_or_else(|| format!("input `{name}` has no `batch_shape`"))?;
    Ok((
        name.clone(),
        shape_of(shape, &format!("input `{name}`"))?,
        integer_dtype(&config),
    ))
}

/// One layer of the config, or its problem named after it.
fn read_layer(l: &Json, index: usize) -> Result<(String, Layer, Vec<String>), String> {
    let name = name_of(l).map_or_else(|| format!("#{index}"), str::to_string);
    let class = str_of(l, "class_name").unwrap_or("?");
    if matches!(class, "Sequential" | "Functional" | "Model") {
        return Err(format!(
            "layer `{name}` ({class}): a model inside a model is not supported; write its layers in the outer model"
        ));
    }
    layer(l)
        .map(|layer| (name.clone(), layer, super::not_kept(l)))
        .map_err(|e| format!("layer `{name}` ({class}): {e}"))
}

/// Reads a model config (`{"class_name": "Sequential" | "Functional", "config": …}`). Every
/// layer that cannot be read is reported, by name, one per line.
pub fn model(json: &Json) -> Result<KerasModel, String> {
    let class = str_of(json, "class_name").ok_or("the model config has no `class_name`")?;
    let config = json
        .get("config")
        .ok_or("the model config has no `config`")?;
    match class {
        "Sequential" => sequential(json, config),
        "Functional" | "Model" => functional(config),
        other => Err(format!(
            "`{other}` models cannot be read: only Sequential and Functional models describe their layers in their config"
        )),
    }
}

fn sequential(json: &Json, config: &Json) -> Result<KerasModel, String> {
    // Keras 2.0–2.2 wrote the layer list as the config itself.
    let (name, list) = match config {
        Json::Array(list) => ("sequential", list),
        _ => (
            str_of(config, "name").unwrap_or("sequential"),
            config
                .get("layers")
                .and_then(Json::as_array)
                .ok_or("the Sequential config has no `layers`")?,
        ),
    };
    let mut input = None;
    let mut layers = Vec::new();
    let mut problems = Vec::new();
    for (i, l) in list.iter().enumerate() {
        if str_of(l, "class_name") == Some("InputLayer") {
            match input_layer(l) {
                Ok(x) => input = Some(x),
                Err(e) => problems.push(e),
            }
            continue;
        }
        // Keras 2 puts the input's shape on the first layer.
        if input.is_none() {
            let c = &l["config"];
            if let Some(shape) = c.get("batch_input_shape").or_else(|| c.get("batch_shape")) {
                match shape_of(shape, "the input") {
                    Ok(s) => input = Some(("input_layer".to_string(), s, integer_dtype(c))),
                    Err(e) => problems.push(e),
                }
            }
        }
        match read_layer(l, i) {
            Ok(x) => layers.push(x),
            Err(e) => problems.push(e),
        }
    }
    if input.is_none() {
        let built = config
            .get("build_input_shape")
            .or_else(|| json.get("build_config").and_then(|b| b.get("input_shape")))
            .filter(|s| !s.is_null());
        match built {
            Some(s) => input = Some(("input_layer".to_string(), shape_of(s, "the input")?, false)),
            None => problems.push(
                "the model has no input shape (no `InputLayer`, no `batch_input_shape`, not built)"
                    .to_string(),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let (input_name, shape, integer) = input.expect("set above or reported");
    // Embedding models take ids; Keras 2 files do not always say so on the input.
    let integer = integer
        || layers
            .first()
            .is_some_and(|(_, l, _)| l.kind == Kind::Embedding);
    let n = layers.len();
    let nodes: Vec<(usize, Vec<usize>)> = (0..n).map(|i| (i, vec![i])).collect();
    let output_name = layers
        .last()
        .map_or(input_name.clone(), |(name, _, _)| name.clone());
    assemble(
        name,
        true,
        vec![(input_name, shape, integer)],
        layers,
        nodes,
        vec![n],
        vec![output_name],
        Vec::new(),
    )
}

/// A reference to a tensor: the layer that makes it, which of its calls, which output.
type TensorRef = (String, usize, usize);

fn keras_history(t: &Json) -> Result<TensorRef, String> {
    let h = t
        .get("config")
        .and_then(|c| c.get("keras_history"))
        .and_then(Json::as_array)
        .ok_or_else(|| format!("a call's argument {t} is not a tensor"))?;
    reference(h)
}

/// `[name, node_index, tensor_index, …]`.
fn reference(h: &[Json]) -> Result<TensorRef, String> {
    match h {
        [Json::String(name), node, tensor, ..] => Ok((
            name.clone(),
            node.as_u64().unwrap_or(0) as usize,
            tensor.as_u64().unwrap_or(0) as usize,
        )),
        _ => Err(format!("{h:?} is not a tensor reference")),
    }
}

/// The tensors of one call (one entry of `inbound_nodes`), Keras 3's form
/// (`{"args": [tensor or [tensors]], "kwargs": {}}`) or Keras 2's (`[[name, node, tensor,
/// kwargs], …]`).
fn call_refs(node: &Json) -> Result<Vec<TensorRef>, String> {
    if let Some(args) = node.get("args").and_then(Json::as_array) {
        let [first] = args.as_slice() else {
            return Err(format!(
                "a call with {} positional arguments; only calls on one tensor or one list are supported",
                args.len()
            ));
        };
        if node
            .get("kwargs")
            .is_some_and(|k| k.to_string().contains("__keras_tensor__"))
        {
            return Err(
                "a call with a tensor as a keyword argument (a mask?) is not supported".into(),
            );
        }
        return match first {
            Json::Array(list) => list.iter().map(keras_history).collect(),
            t => Ok(vec![keras_history(t)?]),
        };
    }
    node.as_array()
        .ok_or_else(|| format!("{node} is not a call"))?
        .iter()
        .map(|r| {
            r.as_array()
                .ok_or("a call's tensor is not a list".to_string())
                .and_then(|r| reference(r))
        })
        .collect()
}

/// `input_layers` / `output_layers`: `[[name, node, tensor], …]`, or one `[name, node,
/// tensor]`.
fn endpoints(v: Option<&Json>, what: &str) -> Result<Vec<TensorRef>, String> {
    let list = v
        .and_then(Json::as_array)
        .ok_or_else(|| format!("the Functional config has no `{what}`"))?;
    if list.first().is_some_and(Json::is_string) {
        return Ok(vec![reference(list)?]);
    }
    list.iter()
        .map(|r| {
            r.as_array()
                .ok_or_else(|| format!("`{what}` holds {r}"))
                .and_then(|r| reference(r))
        })
        .collect()
}

fn functional(config: &Json) -> Result<KerasModel, String> {
    let name = str_of(config, "name").unwrap_or("functional");
    let list = config
        .get("layers")
        .and_then(Json::as_array)
        .ok_or("the Functional config has no `layers`")?;
    let mut problems = Vec::new();
    let mut declared = HashMap::new();
    let mut layers = Vec::new();
    let mut calls: Vec<Vec<Vec<TensorRef>>> = Vec::new();
    let mut alias: HashMap<String, String> = HashMap::new();
    let mut groups: Vec<(String, usize, usize)> = Vec::new();
    for (i, l) in list.iter().enumerate() {
        if str_of(l, "class_name") == Some("InputLayer") {
            match input_layer(l) {
                Ok((n, s, int)) => {
                    declared.insert(n, (s, int));
                }
                Err(e) => problems.push(e),
            }
            continue;
        }
        if str_of(l, "class_name") == Some("Sequential") && l.get("inbound_nodes").is_some() {
            // A nested `Sequential`: its layers join the model, called one after the other,
            // and its name stands for its last layer's output.
            let name = name_of(l).map_or_else(|| format!("#{i}"), str::to_string);
            let inner: Vec<&Json> = l
                .get("config")
                .and_then(|c| c.get("layers"))
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|x| str_of(x, "class_name") != Some("InputLayer"))
                        .collect()
                })
                .unwrap_or_default();
            let nodes = l
                .get("inbound_nodes")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            let outer = match nodes.iter().map(call_refs).collect::<Result<Vec<_>, _>>() {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("nested model `{name}`: {e}"));
                    continue;
                }
            };
            let first = layers.len();
            let mut previous: Option<String> = None;
            for (j, x) in inner.into_iter().enumerate() {
                match read_layer(x, j) {
                    Ok(read) => {
                        let c = match &previous {
                            None => outer.clone(),
                            Some(p) => (0..outer.len()).map(|k| vec![(p.clone(), k, 0)]).collect(),
                        };
                        previous = Some(read.0.clone());
                        layers.push(read);
                        calls.push(c);
                    }
                    Err(e) => problems.push(format!("nested model `{name}`: {e}")),
                }
            }
            match previous {
                Some(last) => {
                    alias.insert(name.clone(), last);
                    groups.push((name, first, layers.len() - first));
                }
                None => problems.push(format!("nested model `{name}` has no layers")),
            }
            continue;
        }
        if let Some(op) = read_operation(l) {
            let name = name_of(l).map_or_else(|| format!("#{i}"), str::to_string);
            match op {
                Ok((layer, c)) => {
                    layers.push((name, layer, Vec::new()));
                    calls.push(c);
                }
                Err(e) => problems.push(format!("operation `{name}`: {e}")),
            }
            continue;
        }
        let nodes = l
            .get("inbound_nodes")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        match (
            read_layer(l, i),
            nodes.iter().map(call_refs).collect::<Result<Vec<_>, _>>(),
        ) {
            (Ok(x), Ok(c)) => {
                layers.push(x);
                calls.push(c);
            }
            (Err(e), _) => problems.push(e),
            (Ok((n, _, _)), Err(e)) => problems.push(format!("layer `{n}`: {e}")),
        }
    }
    let input_refs = endpoints(config.get("input_layers"), "input_layers")?;
    let output_refs = endpoints(config.get("output_layers"), "output_layers")?;
    let output_names: Vec<String> = output_refs.iter().map(|(n, _, _)| n.clone()).collect();
    // A nested model's output is its last layer's.
    let resolve = |r: &TensorRef| match alias.get(&r.0) {
        Some(last) => (last.clone(), r.1, r.2),
        None => r.clone(),
    };
    for c in calls.iter_mut().flatten() {
        for r in c.iter_mut() {
            *r = resolve(r);
        }
    }
    let output_refs: Vec<TensorRef> = output_refs.iter().map(resolve).collect();
    let mut inputs = Vec::new();
    for (n, _, _) in &input_refs {
        match declared.get(n) {
            Some(&(s, int)) => inputs.push((n.clone(), s, int)),
            None => problems.push(format!("input `{n}` has no `InputLayer`")),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    // Tensor ids: inputs first, then each call as soon as its tensors exist.
    let mut tensor_of: HashMap<(String, usize), usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, (n, _, _))| ((n.clone(), 0), i))
        .collect();
    let mut pending: Vec<(usize, usize)> = (0..layers.len())
        .flat_map(|l| (0..calls[l].len()).map(move |c| (l, c)))
        .collect();
    let mut nodes = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|&(l, c)| {
            calls[l][c]
                .iter()
                .all(|(n, k, _)| tensor_of.contains_key(&(n.clone(), *k)))
        });
        let Some(at) = ready else {
            let (l, c) = pending[0];
            return Err(format!(
                "layer `{}` is called on {:?}, which no input or layer makes",
                layers[l].0, calls[l][c]
            ));
        };
        let (l, c) = pending.remove(at);
        if let Some((n, _, t)) = calls[l][c].iter().find(|(_, _, t)| *t != 0) {
            return Err(format!(
                "layer `{}` reads output {t} of `{n}`: layers of several outputs are not supported",
                layers[l].0
            ));
        }
        let ins = calls[l][c]
            .iter()
            .map(|(n, k, _)| tensor_of[&(n.clone(), *k)])
            .collect();
        tensor_of.insert((layers[l].0.clone(), c), inputs.len() + nodes.len());
        nodes.push((l, ins));
    }
    let mut outputs = Vec::new();
    for (n, k, _) in &output_refs {
        outputs.push(
            *tensor_of
                .get(&(n.clone(), *k))
                .ok_or_else(|| format!("output `{n}` is not a tensor of the model"))?,
        );
    }
    assemble(
        name,
        false,
        inputs,
        layers,
        nodes,
        outputs,
        output_names,
        groups,
    )
}

/// The network from its parts, evaluated: every call must fit its tensors.
#[allow(clippy::too_many_arguments)]
fn assemble(
    name: &str,
    sequential: bool,
    inputs: Vec<(String, Shape, bool)>,
    layers: Vec<(String, Layer, Vec<String>)>,
    nodes: Vec<(usize, Vec<usize>)>,
    outputs: Vec<usize>,
    output_names: Vec<String>,
    groups: Vec<(String, usize, usize)>,
) -> Result<KerasModel, String> {
    let not_kept = layers.iter().map(|(_, _, n)| n.clone()).collect();
    let nodes: Vec<Node<'static>> = nodes
        .into_iter()
        .map(|(layer, ins)| Node {
            layer,
            inputs: leak(ins),
        })
        .collect();
    let layer_names: Vec<&'static str> = layers.iter().map(|(n, _, _)| leak_str(n)).collect();
    let network = Network {
        name: leak_str(name),
        sequential,
        graph: Graph {
            inputs: leak(inputs.iter().map(|(_, s, _)| *s).collect()),
            layers: leak(layers.into_iter().map(|(_, l, _)| l).collect()),
            nodes: leak(nodes),
            outputs: leak(outputs),
        },
        layer_names: leak(layer_names),
        input_names: leak(inputs.iter().map(|(n, _, _)| leak_str(n)).collect()),
        output_names: leak(output_names.iter().map(|n| leak_str(n)).collect()),
        groups: leak(
            groups
                .iter()
                .map(|(n, first, len)| Group {
                    name: leak_str(n),
                    first: *first,
                    len: *len,
                })
                .collect(),
        ),
    };
    let (tensors, infos) = evaluate(&network)?;
    Ok(KerasModel {
        network,
        integer_inputs: inputs.iter().map(|(_, _, int)| *int).collect(),
        tensors,
        infos: leak(infos),
        not_kept,
    })
}

/// Every tensor's shape of `network` (inputs, then one per call) and one entry per layer,
/// or why a call does not fit, naming its layer and the producers of its tensors.
pub fn evaluate(network: &Network) -> Result<(Vec<Shape>, Vec<LayerInfo>), String> {
    let g = &network.graph;
    let mut tensors = vec![Shape::SCALAR; g.tensors()];
    let mut infos = vec![LayerInfo::EMPTY; g.layers.len()];
    eval_graph(g, network.layer_names, &mut tensors, &mut infos).map_err(|e| {
        let producer = |t: usize| match t.checked_sub(g.inputs.len()) {
            None => network.input_names.get(t).copied().unwrap_or(""),
            Some(k) => network.layer_names[g.nodes[k].layer],
        };
        let (layer, inputs) = match g.nodes.get(e.node()) {
            Some(n) => (
                network.layer_names[n.layer],
                n.inputs.iter().map(|&t| producer(t)).collect(),
            ),
            None => ("", Vec::new()),
        };
        let mut m = Message::new();
        e.write(&mut m, layer, &inputs);
        m.as_str().to_string()
    })?;
    Ok((tensors, infos))
}

fn batch_shape(s: &Shape) -> Json {
    let mut dims = vec![Json::Null];
    dims.extend(s.dims().iter().map(|&d| Json::from(d)));
    Json::from(dims)
}

/// A layer's full Keras 3 entry: module, class, config with its name and dtype.
fn entry(layer: &Layer, name: &str) -> Json {
    let mut config = super::write::arguments(layer);
    nest_modules(&mut config);
    let mut full = serde_json::Map::new();
    full.insert("name".into(), Json::from(name));
    full.insert("trainable".into(), Json::from(true));
    full.insert("dtype".into(), Json::from("float32"));
    full.extend(config);
    json!({
        "module": "keras.layers",
        "class_name": layer.kind.class_name(),
        "config": full,
        "registered_name": null,
    })
}

/// A nested `Sequential` as Keras 3 writes it in a Functional config: its own layers (an
/// `InputLayer` first, each built on its input), called as one layer of the outer model.
fn sequential_entry(
    network: &Network,
    group: &Group,
    layer_inputs: &[Shape],
    history: &dyn Fn(usize) -> Json,
) -> Json {
    let g = &network.graph;
    let input = batch_shape(&layer_inputs[group.first]);
    let mut layers = vec![json!({
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": input,
            "dtype": "float32",
            "sparse": false,
            "name": format!("{}_input", group.name),
        },
        "registered_name": null,
    })];
    let members = group.first..group.first + group.len;
    for ((layer, name), input) in g.layers[members.clone()]
        .iter()
        .zip(&network.layer_names[members.clone()])
        .zip(&layer_inputs[members])
    {
        let mut e = entry(layer, name);
        e["build_config"] = json!({"input_shape": batch_shape(input)});
        layers.push(e);
    }
    let inbound: Vec<Json> = g
        .nodes
        .iter()
        .filter(|n| n.layer == group.first)
        .map(|n| json!({"args": [history(n.inputs[0])], "kwargs": {}}))
        .collect();
    json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": group.name,
            "trainable": true,
            "dtype": "float32",
            "layers": layers,
            "build_input_shape": input,
        },
        "registered_name": null,
        "build_config": {"input_shape": input},
        "name": group.name,
        "inbound_nodes": inbound,
    })
}

/// Arithmetic with a constant as Keras 3 records it: an operation of `keras.src.ops.numpy`
/// whose config is its name, the constant beside the tensor in each call's `args`.
fn operation_entry(
    a: &Arithmetic,
    layer: &Layer,
    name: &str,
    g: &Graph,
    l: usize,
    history: &dyn Fn(usize) -> Json,
) -> Json {
    let class = layer.kind.class_name();
    let inbound: Vec<Json> = g
        .nodes
        .iter()
        .filter(|n| n.layer == l)
        .map(|n| {
            let (t, c) = (history(n.inputs[0]), Json::from(a.constant));
            let args = if a.constant_first { [c, t] } else { [t, c] };
            json!({"args": args, "kwargs": {}})
        })
        .collect();
    json!({
        "module": "keras.src.ops.numpy",
        "class_name": class,
        "config": {"name": name},
        "registered_name": class,
        "name": name,
        "inbound_nodes": inbound,
    })
}

/// An operation entry of a Functional config (`keras.src.ops.numpy`'s `Add` of a tensor and
/// a number, as [`operation_entry`] writes it): the layer and its calls, or `None` when the
/// entry is a layer.
#[allow(clippy::type_complexity)]
fn read_operation(l: &Json) -> Option<Result<(Layer, Vec<Vec<TensorRef>>), String>> {
    if str_of(l, "module") != Some("keras.src.ops.numpy") {
        return None;
    }
    let class = str_of(l, "class_name").unwrap_or("?");
    let kind = match class {
        "Add" => Kind::ArithAdd,
        "Subtract" => Kind::ArithSubtract,
        "Multiply" => Kind::ArithMultiply,
        "TrueDivide" | "Divide" => Kind::ArithTrueDivide,
        other => {
            return Some(Err(format!(
                "the operation `{other}` of keras.ops is not supported; only a tensor and a number under `+`, `-`, `*`, `/` are"
            )))
        }
    };
    let nodes = l.get("inbound_nodes").and_then(Json::as_array)?;
    let mut constant = None;
    let mut calls = Vec::new();
    for node in nodes {
        let args = node.get("args").and_then(Json::as_array);
        let (t, c, first) = match args.map(Vec::as_slice) {
            Some([t, Json::Number(c)]) => (t, c, false),
            Some([Json::Number(c), t]) => (t, c, true),
            _ => {
                return Some(Err(format!(
                    "`{class}` of keras.ops is supported on a tensor and a number, but this call is on {node}"
                )))
            }
        };
        let c = c.as_f64().unwrap_or(0.0);
        if constant.is_some_and(|k| k != (c, first)) {
            return Some(Err(format!(
                "`{class}` is called with two different constants"
            )));
        }
        constant = Some((c, first));
        match keras_history(t) {
            Ok(r) => calls.push(vec![r]),
            Err(e) => return Some(Err(e)),
        }
    }
    let (c, first) = constant.unwrap_or((0.0, false));
    let mut layer = Layer {
        kind,
        config: kind.info().default,
    };
    if let Config::Arithmetic(a) = &mut layer.config {
        a.constant = c;
        a.constant_first = first;
    }
    Some(Ok((layer, calls)))
}

/// Wrapped layers (`Bidirectional`'s, `TimeDistributed`'s) as Keras 3 writes them.
fn nest_modules(config: &mut serde_json::Map<String, Json>) {
    if let Some(Json::Object(inner)) = config.get_mut("layer") {
        inner.insert("module".into(), Json::from("keras.layers"));
        inner.insert("registered_name".into(), Json::Null);
        if let Some(Json::Object(c)) = inner.get_mut("config") {
            c.insert("dtype".into(), Json::from("float32"));
            nest_modules(c);
        }
    }
}

/// Whether tensor `t` feeds an `Embedding` (then Keras's input holds integer ids).
fn feeds_embedding(g: &Graph, t: usize) -> bool {
    g.nodes
        .iter()
        .any(|n| n.inputs.contains(&t) && g.layers[n.layer].kind == Kind::Embedding)
}

fn input_entry(g: &Graph, names: &[&str], i: usize) -> Json {
    let dtype = if feeds_embedding(g, i) {
        "int32"
    } else {
        "float32"
    };
    json!({
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": batch_shape(&g.inputs[i]),
            "dtype": dtype,
            "sparse": false,
            "name": names[i],
        },
        "registered_name": null,
        "name": names[i],
        "inbound_nodes": [],
    })
}

/// The config Keras 3 rebuilds `network` from (`config.json` of a `.keras` file): a
/// `Sequential` for a stack, a `Functional` for a graph, its layers in Keras's order, every
/// layer built (`build_config`) on the input of its first call.
pub fn model_config(network: &Network) -> Result<Json, String> {
    let g = &network.graph;
    let (tensors, _) = evaluate(network)?;
    let layer_inputs = layer_inputs(g, &tensors);
    let built = |l: usize| json!({"input_shape": batch_shape(&layer_inputs[l])});
    if network.sequential {
        let mut list = vec![input_entry(g, network.input_names, 0)];
        for (l, layer) in g.layers.iter().enumerate() {
            let mut e = entry(layer, network.layer_names[l]);
            e["build_config"] = built(l);
            list.push(e);
        }
        let input = batch_shape(&g.inputs[0]);
        return Ok(json!({
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": network.name,
                "trainable": true,
                "dtype": "float32",
                "layers": list,
                "build_input_shape": input,
            },
            "registered_name": null,
            "build_config": {"input_shape": input},
            "compile_config": null,
        }));
    }
    // Which call of its layer each node is: Keras's `node_index`.
    let mut call_index = vec![0; g.nodes.len()];
    let mut seen = vec![0; g.layers.len()];
    for (k, n) in g.nodes.iter().enumerate() {
        call_index[k] = seen[n.layer];
        seen[n.layer] += 1;
    }
    let ni = g.inputs.len();
    // A tensor a nested model makes is that model's output.
    let producer = |k: usize| match network.group_of(g.nodes[k].layer) {
        Some(group) => group.name,
        None => network.layer_names[g.nodes[k].layer],
    };
    let history = |t: usize| -> Json {
        let (name, node) = match t.checked_sub(ni) {
            None => (network.input_names[t], 0),
            Some(k) => (producer(k), call_index[k]),
        };
        json!({
            "class_name": "__keras_tensor__",
            "config": {"shape": batch_shape(&tensors[t]), "dtype": "float32", "keras_history": [name, node, 0]},
        })
    };
    let mut list = Vec::new();
    for op in g.keras_order() {
        match op {
            Op::Input(i) => list.push(input_entry(g, network.input_names, i)),
            Op::Layer(l) => {
                if let Some(group) = network.group_of(l) {
                    if group.first == l {
                        list.push(sequential_entry(network, group, &layer_inputs, &history));
                    }
                    continue;
                }
                let layer = &g.layers[l];
                if let Config::Arithmetic(a) = &layer.config {
                    list.push(operation_entry(
                        a,
                        layer,
                        network.layer_names[l],
                        g,
                        l,
                        &history,
                    ));
                    continue;
                }
                let inbound: Vec<Json> = g
                    .nodes
                    .iter()
                    .filter(|n| n.layer == l)
                    .map(|n| {
                        let arg = if layer.config.merge().is_some() {
                            Json::from(n.inputs.iter().map(|&t| history(t)).collect::<Vec<_>>())
                        } else {
                            history(n.inputs[0])
                        };
                        json!({"args": [arg], "kwargs": {}})
                    })
                    .collect();
                let mut e = entry(layer, network.layer_names[l]);
                e["name"] = Json::from(network.layer_names[l]);
                if layer.config.merge().is_none() {
                    e["build_config"] = built(l);
                }
                e["inbound_nodes"] = Json::from(inbound);
                list.push(e);
            }
        }
    }
    let endpoint = |t: usize| -> Json {
        match t.checked_sub(ni) {
            None => json!([network.input_names[t], 0, 0]),
            Some(k) => json!([producer(k), call_index[k], 0]),
        }
    };
    // One input or output is written alone, as Keras writes it (a list would tell Keras to
    // expect its inputs in a list).
    let endpoints = |ts: Vec<usize>| -> Json {
        match ts.as_slice() {
            [t] => endpoint(*t),
            _ => Json::from(ts.into_iter().map(endpoint).collect::<Vec<_>>()),
        }
    };
    Ok(json!({
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": network.name,
            "trainable": true,
            "layers": list,
            "input_layers": endpoints((0..ni).collect()),
            "output_layers": endpoints(g.outputs.to_vec()),
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": null},
        "compile_config": null,
    }))
}
