//! Graph models (Keras's functional API) against Keras on the graph corpus.
//!
//! Reads every model in `KERAS_GRAPH_DIR` (default `../shared/keras-reference/graphs`):
//! - every valid model's layers (output shape, parameters, trainable split) and totals
//!   through the evaluator the macro uses, and every invalid one failing at Keras's
//!   `error_layer` (`graph parity: N/M models match`);
//! - every model with numerics run with Keras's weights on Keras's inputs, each output
//!   within 1e-4 + 1e-3·|keras| (`graph numeric parity: N/M models match`).
//!
//! The files name a shared layer's output by the layer's name, without saying which of its
//! calls made it. `keras::graph_file` reads the most recent call made so far and lists
//! every such reference; when that reading does not give Keras's outputs, the numeric
//! check tries every other reading (each a complete, valid model: a wrong implementation
//! still fails them all) and reports the models that needed one. In the corpus recorded
//! for this project, the references to a shared layer read its first call up to some
//! branch, and its second after.

use model_core::graph::{eval_graph, init_graph, predict_graph, Graph, GraphError, Node, Planned};
use model_core::keras::corpus::{graph_weights, readings};
use model_core::keras::{graph_file, GraphFile};
use model_core::runtime::{read, Tensor};
use model_core::{Layer, LayerInfo, Shape};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Writes a line to the process's stderr directly: libtest captures `println!` of passing
/// tests, and the parity lines must show in CI's log whether the test passes or fails.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

fn corpus_dir() -> PathBuf {
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/keras-reference/graphs");
    model_core::keras::corpus_dir("KERAS_GRAPH_DIR", default)
}

/// `[null, 28, 28, 1]` → the shape without batch.
fn keras_shape(v: &Json) -> Option<Vec<usize>> {
    v.as_array()?
        .iter()
        .skip(1)
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect()
}

/// A graph file's layers (each built), nodes and outputs, as the evaluator takes them.
#[derive(Clone)]
struct Built {
    layers: Vec<Layer>,
    inputs: Vec<Shape>,
    nodes: Vec<(usize, Vec<usize>)>,
    outputs: Vec<usize>,
}

impl Built {
    fn graph<'a>(&'a self, nodes: &'a [Node<'a>]) -> Graph<'a> {
        Graph {
            inputs: &self.inputs,
            layers: &self.layers,
            nodes,
            outputs: &self.outputs,
        }
    }

    fn nodes(&self) -> Vec<Node<'_>> {
        self.nodes
            .iter()
            .map(|(layer, inputs)| Node {
                layer: *layer,
                inputs,
            })
            .collect()
    }
}

/// The layers built, or the first layer whose arguments Keras refuses (by name) and why.
fn build(m: &GraphFile) -> Result<Built, (String, String)> {
    let mut layers = Vec::new();
    for (name, l) in m.layer_names.iter().zip(&m.layers) {
        match l {
            Ok(l) => layers.push(*l),
            Err(msg) => return Err((name.clone(), msg.clone())),
        }
    }
    Ok(Built {
        layers,
        inputs: m.inputs.iter().map(|(_, s)| *s).collect(),
        nodes: m.nodes.clone(),
        outputs: m.outputs.clone(),
    })
}

/// Evaluates a graph file: every tensor's shape and per-layer entries, or the failing
/// layer's name and the message.
fn evaluate(m: &GraphFile, b: &Built) -> Result<(Vec<Shape>, Vec<LayerInfo>), (String, String)> {
    let nodes = b.nodes();
    let g = b.graph(&nodes);
    let mut tensors = vec![Shape::SCALAR; g.tensors()];
    let mut infos = vec![LayerInfo::EMPTY; g.layers.len()];
    eval_graph(&g, &[], &mut tensors, &mut infos).map_err(|e| {
        let layer = match e {
            GraphError::Call { layer, .. } | GraphError::Shared { layer, .. } => layer,
            GraphError::Undefined { node, .. } | GraphError::TooManyInputs { node } => {
                b.nodes.get(node).map_or(0, |n| n.0)
            }
        };
        let name = m.layer_names[layer].clone();
        let mut msg = model_core::message::Message::new();
        e.write(&mut msg, &name, &[]);
        (name, msg.as_str().to_string())
    })?;
    Ok((tensors, infos))
}

/// Compares one model's structure; returns the mismatch lines.
fn check_structure(m: &GraphFile) -> Vec<String> {
    let j = &m.json;
    let name = &m.name;
    let result = build(m).and_then(|b| evaluate(m, &b));
    if let Some(error_layer) = j.get("error_layer").and_then(Json::as_str) {
        return match result {
            Ok(_) => vec![format!(
                "{name}: Keras refuses `{error_layer}`, we accept the model"
            )],
            Err((at, _)) if at == error_layer => vec![],
            Err((at, msg)) => vec![format!(
                "{name}: Keras fails at `{error_layer}`, we fail at `{at}`: {msg}"
            )],
        };
    }
    let (tensors, infos) = match result {
        Ok(r) => r,
        Err((at, msg)) => return vec![format!("{name}: we refuse `{at}`: {msg}")],
    };
    let _ = tensors;
    let mut wrong = Vec::new();
    let list = j["layers"].as_array().cloned().unwrap_or_default();
    for (i, (l, info)) in list.iter().zip(&infos).enumerate() {
        let want_shape = keras_shape(&l["output_shape"]);
        let got = info.output_shape.dims().to_vec();
        if want_shape.as_deref() != Some(&got[..]) {
            wrong.push(format!(
                "{name}: layer {i} `{}` output {:?}, Keras {:?}",
                m.layer_names[i], got, want_shape
            ));
        }
        for (field, ours) in [
            ("params", info.params),
            ("trainable", info.trainable),
            ("non_trainable", info.non_trainable),
        ] {
            if l[field].as_u64() != Some(ours as u64) {
                wrong.push(format!(
                    "{name}: layer {i} `{}` {field} {ours}, Keras {}",
                    m.layer_names[i], l[field]
                ));
            }
        }
    }
    let sum = |f: fn(&LayerInfo) -> usize| infos.iter().map(f).sum::<usize>() as u64;
    for (field, ours) in [
        ("total_params", sum(|l| l.params)),
        ("trainable_params", sum(|l| l.trainable)),
        ("non_trainable_params", sum(|l| l.non_trainable)),
    ] {
        if j[field].as_u64() != Some(ours) {
            wrong.push(format!("{name}: {field} {ours}, Keras {}", j[field]));
        }
    }
    wrong
}

fn files() -> Vec<PathBuf> {
    model_core::keras::corpus_files(&corpus_dir(), "KERAS_GRAPH_DIR")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn load(path: &Path) -> GraphFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    graph_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn graph_parity() {
    let files = files();
    let mut matched = 0;
    for path in &files {
        let problems = check_structure(&load(path));
        if problems.is_empty() {
            matched += 1;
        }
        for p in problems.iter().take(5) {
            report!("{p}");
        }
    }
    report!("graph parity: {matched}/{} models match", files.len());
    assert_eq!(
        matched,
        files.len(),
        "graph parity: {matched}/{} models match",
        files.len()
    );
}

/// Runs one model with Keras's weights on Keras's inputs; returns the mismatch lines, or
/// `None` when the model has no numerics.
fn check_numerics(path: &Path, m: &GraphFile) -> Option<Vec<String>> {
    let st = path.with_extension("safetensors");
    if !st.exists() || m.json.get("error_layer").is_some() {
        return None;
    }
    let name = &m.name;
    let file: HashMap<String, Tensor> = match read(&st) {
        Ok(t) => t.into_iter().collect(),
        Err(e) => return Some(vec![format!("{name}: {e}")]),
    };
    let b = match build(m) {
        Ok(b) => b,
        Err((at, msg)) => return Some(vec![format!("{name}: we refuse `{at}`: {msg}")]),
    };
    let nodes = b.nodes();
    let g = b.graph(&nodes);
    let planned = match Planned::new(&g) {
        Ok(p) => p,
        Err(e) => return Some(vec![format!("{name}: {e}")]),
    };
    let template = match init_graph(&g, &planned.tensors, 0) {
        Ok(w) => w,
        Err(e) => return Some(vec![format!("{name}: {e}")]),
    };
    // Each layer's weights in Keras's order (`<layer>/<index>`), as
    // `keras::corpus::graph_weights` reads them.
    let weights = match graph_weights(m, &b.layers, &template, &file) {
        Ok(w) => w,
        Err(e) => return Some(vec![e]),
    };
    let mut xs = Vec::new();
    for (n, _) in &m.inputs {
        match file.get(&format!("input/{n}")) {
            Some(t) => xs.push(t.data.clone()),
            None => return Some(vec![format!("{name}: no `input/{n}`")]),
        }
    }
    let batch = file
        .get(&format!("input/{}", m.inputs[0].0))
        .map_or(0, |t| t.shape[0]);
    let views: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let outs = match predict_graph(&g, &weights, &views, batch) {
        Ok(o) => o,
        Err(e) => return Some(vec![format!("{name}: {e}")]),
    };
    let wrong = compare(m, &file, &outs);
    if wrong.is_empty() || m.ambiguous.is_empty() {
        return Some(wrong);
    }
    // Every other reading of the references to shared layers.
    for nodes in readings(m).into_iter().skip(1) {
        let other = Built { nodes, ..b.clone() };
        let list = other.nodes();
        if let Ok(outs) = predict_graph(&other.graph(&list), &weights, &views, batch) {
            if compare(m, &file, &outs).is_empty() {
                report!("{name}: matches with another reading of its shared layers' outputs");
                return Some(Vec::new());
            }
        }
    }
    Some(wrong)
}

/// The outputs against Keras's; the mismatch lines.
fn compare(m: &GraphFile, file: &HashMap<String, Tensor>, outs: &[Vec<f32>]) -> Vec<String> {
    let name = &m.name;
    let mut wrong = Vec::new();
    for (o, out_name) in m.json["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = format!("output/{}", out_name.as_str().unwrap_or("?"));
        let Some(want) = file.get(&key) else {
            wrong.push(format!("{name}: no `{key}`"));
            continue;
        };
        let got = &outs[o];
        if got.len() != want.data.len() {
            wrong.push(format!(
                "{name}: {key} has {} values, Keras {}",
                got.len(),
                want.data.len()
            ));
            continue;
        }
        let bad = got.iter().zip(&want.data).enumerate().find(|(_, (a, b))| {
            (*a - *b).abs() > 1e-4 + 1e-3 * b.abs() || a.is_nan() != b.is_nan()
        });
        if let Some((i, (a, b))) = bad {
            wrong.push(format!("{name}: {key}[{i}] = {a}, Keras {b}"));
        }
    }
    wrong
}

#[test]
fn graph_numeric_parity() {
    let files = files();
    let (mut matched, mut total) = (0, 0);
    for path in &files {
        let m = load(path);
        let Some(problems) = check_numerics(path, &m) else {
            continue;
        };
        total += 1;
        if problems.is_empty() {
            matched += 1;
        }
        for p in problems.iter().take(3) {
            report!("{p}");
        }
    }
    report!("graph numeric parity: {matched}/{total} models match");
    assert!(total > 0, "no graph model has numerics");
    assert_eq!(
        matched, total,
        "graph numeric parity: {matched}/{total} models match"
    );
}
