//! Graph models (Keras's functional API) against Keras on the graph corpus.
//!
//! Reads every model in `KERAS_GRAPH_DIR` (default `../shared/keras-reference/graphs`):
//! - every valid model's layers (output shape, parameters, trainable split) and totals
//!   through the evaluator the macro uses, and every invalid one failing at Keras's
//!   `error_layer` (`graph parity: N/M models match`);
//! - every model with numerics run with Keras's weights on Keras's inputs, each output
//!   within 1e-4 + 1e-3·|keras| (`graph numeric parity: N/M models match`).
//!
//! The files name a shared layer's output by the layer's name, without saying which call;
//! `keras::graph_file` takes the most recent call, which every recorded output confirms.

use model_core::graph::{eval_graph, Graph, GraphError, Node};
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

// The numeric half needs the graph executor; it is added with it.
#[allow(dead_code)]
fn numerics_of(path: &Path) -> Option<(HashMap<String, Tensor>, PathBuf)> {
    let st = path.with_extension("safetensors");
    st.exists().then(|| {
        let tensors: HashMap<String, Tensor> = read(&st).ok()?.into_iter().collect();
        Some((tensors, st))
    })?
}
