//! ONNX export against Keras, run in tract (a pure-Rust ONNX engine, so CI needs no Python).
//!
//! Every model of the numeric corpus (`KERAS_NUMERIC_DIR`, default
//! `../shared/keras-reference/numeric`) and every graph model with numerics
//! (`KERAS_GRAPH_DIR`, default `../shared/keras-reference/graphs`) is exported with
//! Keras's weights, run in tract on Keras's inputs, and compared with Keras's outputs:
//! |onnx − keras| ≤ 1e-4 + 1e-3·|keras| for every value. It prints
//! `onnx parity: N/M models match` and `onnx graph parity: N/M models match`, lists each
//! model that tract cannot run with its layer kinds and tract's reason, and fails on an
//! export error or a mismatch.
//!
//! With `ONNX_EXPORT_DIR` set, each export is also written there (`<model>.onnx`), for
//! `tools/onnx_check_ort.py`, which runs them in ONNX Runtime.

use model::Model as _;
use model_core::graph::{init_graph, predict_graph, Graph, Network, Node, Planned};
use model_core::keras::corpus::{graph_weights, numeric_case, readings, NumericCase};
use model_core::keras::graph_file;
use model_core::onnx::network_onnx;
use model_core::runtime::{read, LayerWeights, Tensor};
use model_core::{Layer, Shape};
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

fn corpus(var: &str, sub: &str) -> Vec<PathBuf> {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/keras-reference")
        .join(sub);
    let dir = model_core::keras::corpus_dir(var, default);
    model_core::keras::corpus_files(&dir, var).unwrap_or_else(|e| panic!("{e}"))
}

/// A name with the `'static` lifetime a [`Network`] holds (a test leaks a few bytes).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// How one model fared.
enum Outcome {
    Match,
    /// The export or the comparison failed: a defect.
    Wrong(String),
    /// tract could not load or run the file: listed, checked by `onnx_check_ort.py`.
    Tract(String),
}

/// Models whose export tract 0.23 runs to other values than Keras's while ONNX Runtime
/// gives Keras's (and the run time's) within the tolerance (`tools/onnx_check_ort.py`:
/// every export passes there). Listed with tract's failures, not counted as matches.
const TRACT_DIFFERS: &[(&str, &str)] = &[(
    "random_0034",
    "tract's `RNN` on this `RepeatVector` → `Permute` → `Bidirectional(SimpleRNN)` gives values up to 3 % off; ONNX Runtime matches Keras",
)];

/// tract, in a module of its own: its prelude names many things.
mod engine {
    use tract_onnx::tract_hir::internal::*;

    /// Runs `bytes` in tract on `inputs` (each `[batch, dims…]`), returning every output.
    pub fn run(bytes: &[u8], inputs: &[(Vec<usize>, Vec<f32>)]) -> Result<Vec<Vec<f32>>, String> {
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(|e| format!("load: {e:#}"))?;
        for (i, (shape, _)) in inputs.iter().enumerate() {
            model = model
                .with_input_fact(i, f32::fact(shape).into())
                .map_err(|e| format!("input fact: {e:#}"))?;
        }
        let plan = model
            .into_optimized()
            .map_err(|e| format!("optimize: {e:#}"))?
            .into_runnable()
            .map_err(|e| format!("plan: {e:#}"))?;
        let values = inputs
            .iter()
            .map(|(shape, data)| Tensor::from_shape(shape, data).map(|t| t.into_tvalue()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("input: {e:#}"))?;
        let outs = plan.run(values).map_err(|e| format!("run: {e:#}"))?;
        outs.iter()
            .map(|t| {
                t.to_plain_array_view::<f32>()
                    .map(|v| v.iter().copied().collect())
                    .map_err(|e| format!("output: {e:#}"))
            })
            .collect()
    }
}
use engine::run as tract_run;

/// The worst value past its tolerance, if any: `"k/n values off; worst …"`.
fn compare(ours: &[f32], keras: &[f32]) -> Option<String> {
    if ours.len() != keras.len() {
        return Some(format!("{} values, Keras has {}", ours.len(), keras.len()));
    }
    let off = |a: f32, b: f32| (a - b).abs() > 1e-4 + 1e-3 * b.abs() || a.is_nan() != b.is_nan();
    let bad = ours
        .iter()
        .zip(keras)
        .filter(|(a, b)| off(**a, **b))
        .count();
    let (i, _) = ours
        .iter()
        .zip(keras)
        .enumerate()
        .find(|(_, (a, b))| off(**a, **b))?;
    Some(format!(
        "{bad}/{} values off; first at {i}: onnx {} vs keras {}",
        ours.len(),
        ours[i],
        keras[i]
    ))
}

/// The export of `network`; with `ONNX_EXPORT_DIR` set, also written there as
/// `<name>.onnx`, beside `<name>.io.safetensors`: its inputs (`input/<i>`), Keras's outputs
/// (`keras/<i>`) and the run time's (`ours/<i>`), for `tools/onnx_check_ort.py`.
fn export(
    network: &Network,
    weights: &[LayerWeights],
    name: &str,
    io: impl FnOnce() -> Vec<(String, Tensor)>,
) -> Result<Vec<u8>, String> {
    let refs: Vec<&LayerWeights> = weights.iter().collect();
    let bytes = network_onnx(network, &refs).map_err(|e| format!("export: {e}"))?;
    if let Some(dir) = std::env::var_os("ONNX_EXPORT_DIR") {
        let path = Path::new(&dir).join(format!("{name}.onnx"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let io = io();
        let list: Vec<(&str, &Tensor)> = io.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let path = Path::new(&dir).join(format!("{name}.io.safetensors"));
        model_core::runtime::save(&path, &list).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(bytes)
}

/// A batch of `data` as a tensor of `shape` (batch first).
fn tensor(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
    Tensor { shape, data }
}

/// A sequential model of the numeric corpus.
fn check_numeric(path: &Path) -> Outcome {
    let run = || -> Result<Outcome, String> {
        let NumericCase {
            model: m,
            layers,
            weights,
            input,
            output: expected,
        } = numeric_case(path)?;
        let layers: &'static [Layer] = Box::leak(layers.into_boxed_slice());
        let ids: &'static [usize] = Box::leak((0..=layers.len()).collect::<Vec<_>>().into());
        let nodes: Vec<Node<'static>> = (0..layers.len())
            .map(|i| Node {
                layer: i,
                inputs: &ids[i..i + 1],
            })
            .collect();
        let names: Vec<&'static str> = layers
            .iter()
            .enumerate()
            .map(|(i, l)| leak(format!("{}_{i}", l.kind.info().auto_name)))
            .collect();
        let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
        let inputs: &'static [Shape] = Box::leak(vec![m.input_shape].into_boxed_slice());
        let output_name: &'static [&'static str] = Box::leak(vec![names[layers.len() - 1]].into());
        let network = Network {
            name: leak(m.name.clone()),
            sequential: true,
            graph: Graph {
                inputs,
                layers,
                nodes: Box::leak(nodes.into_boxed_slice()),
                outputs: &ids[layers.len()..],
            },
            layer_names: names,
            input_names: &["input"],
            output_names: output_name,
            groups: &[],
        };
        let bytes = export(&network, &weights, &m.name, || {
            let ours = model_core::runtime::predict(
                layers,
                m.input_shape,
                &weights,
                &input.data,
                input.shape[0],
            )
            .unwrap_or_default();
            vec![
                ("input/0".to_string(), input.clone()),
                ("keras/0".to_string(), expected.clone()),
                ("ours/0".to_string(), tensor(expected.shape.clone(), ours)),
            ]
        })?;
        Ok(
            match tract_run(&bytes, &[(input.shape.clone(), input.data)]) {
                Err(why) => Outcome::Tract(why),
                Ok(outs) => match compare(&outs[0], &expected.data) {
                    None => Outcome::Match,
                    Some(why) => Outcome::Wrong(why),
                },
            },
        )
    };
    run().unwrap_or_else(Outcome::Wrong)
}

/// A graph model with numerics; `None` when it has none.
fn check_graph(path: &Path) -> Option<Outcome> {
    let st = path.with_extension("safetensors");
    if !st.exists() {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let m = graph_file(&text).ok()?;
    if m.json.get("error_layer").is_some() {
        return None;
    }
    let run = || -> Result<Outcome, String> {
        let file: HashMap<String, Tensor> =
            read(&st).map_err(|e| e.to_string())?.into_iter().collect();
        let layers: Vec<Layer> = m.layers.iter().cloned().collect::<Result<_, _>>()?;
        let layers: &'static [Layer] = Box::leak(layers.into_boxed_slice());
        let shapes: &'static [Shape] = Box::leak(m.inputs.iter().map(|(_, s)| *s).collect());
        let outputs: &'static [usize] = Box::leak(m.outputs.clone().into_boxed_slice());
        let mut xs = Vec::new();
        for (n, _) in &m.inputs {
            let t = file
                .get(&format!("input/{n}"))
                .ok_or_else(|| format!("no `input/{n}`"))?;
            xs.push((t.shape.clone(), t.data.clone()));
        }
        let out_names: Vec<String> = m.json["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str().map(str::to_string))
            .collect();
        let expected: Vec<&Tensor> = out_names
            .iter()
            .map(|o| {
                file.get(&format!("output/{o}"))
                    .ok_or(format!("no `output/{o}`"))
            })
            .collect::<Result<_, _>>()?;
        // The reading of the references to shared layers under which the run time gives
        // Keras's outputs (`graph_parity` checks that one does).
        let batch = xs[0].0[0];
        let views: Vec<&[f32]> = xs.iter().map(|(_, d)| d.as_slice()).collect();
        let mut chosen = None;
        for nodes in readings(&m) {
            let list: Vec<Node> = nodes
                .iter()
                .map(|(layer, inputs)| Node {
                    layer: *layer,
                    inputs,
                })
                .collect();
            let g = Graph {
                inputs: shapes,
                layers,
                nodes: &list,
                outputs,
            };
            let planned = Planned::new(&g).map_err(|e| e.to_string())?;
            let template = init_graph(&g, &planned.tensors, 0).map_err(|e| e.to_string())?;
            let weights = graph_weights(&m, layers, &template, &file)?;
            let ours = predict_graph(&g, &weights, &views, batch).map_err(|e| e.to_string())?;
            if ours
                .iter()
                .zip(&expected)
                .all(|(o, e)| compare(o, &e.data).is_none())
            {
                chosen = Some((nodes, weights, ours));
                break;
            }
        }
        let (nodes, weights, ours) =
            chosen.ok_or("no reading of its shared layers matches Keras in the run time")?;
        let nodes: &'static [(usize, Vec<usize>)] = Box::leak(nodes.into_boxed_slice());
        let list: Vec<Node<'static>> = nodes
            .iter()
            .map(|(layer, inputs)| Node {
                layer: *layer,
                inputs,
            })
            .collect();
        let layer_names: Vec<&'static str> =
            m.layer_names.iter().map(|n| leak(n.clone())).collect();
        let input_names: Vec<&'static str> =
            m.inputs.iter().map(|(n, _)| leak(n.clone())).collect();
        let output_names: Vec<&'static str> = out_names.iter().map(|n| leak(n.clone())).collect();
        let network = Network {
            name: leak(m.name.clone()),
            sequential: false,
            graph: Graph {
                inputs: shapes,
                layers,
                nodes: Box::leak(list.into_boxed_slice()),
                outputs,
            },
            layer_names: Box::leak(layer_names.into_boxed_slice()),
            input_names: Box::leak(input_names.into_boxed_slice()),
            output_names: Box::leak(output_names.into_boxed_slice()),
            groups: &[],
        };
        let bytes = export(&network, &weights, &m.name, || {
            let mut io = Vec::new();
            for (i, (shape, data)) in xs.iter().enumerate() {
                io.push((format!("input/{i}"), tensor(shape.clone(), data.clone())));
            }
            for (i, (e, o)) in expected.iter().zip(&ours).enumerate() {
                io.push((format!("keras/{i}"), (*e).clone()));
                io.push((format!("ours/{i}"), tensor(e.shape.clone(), o.clone())));
            }
            io
        })?;
        Ok(match tract_run(&bytes, &xs) {
            Err(why) => Outcome::Tract(why),
            Ok(outs) => {
                let wrong: Vec<String> = outs
                    .iter()
                    .zip(&expected)
                    .zip(&out_names)
                    .filter_map(|((o, e), n)| compare(o, &e.data).map(|w| format!("{n}: {w}")))
                    .collect();
                if wrong.is_empty() {
                    Outcome::Match
                } else {
                    Outcome::Wrong(wrong.join("; "))
                }
            }
        })
    };
    Some(run().unwrap_or_else(Outcome::Wrong))
}

/// The layer kinds of a corpus file, for the lists.
fn kinds(path: &Path) -> String {
    let json: serde_json::Value = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut classes: Vec<&str> = json["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["class_name"].as_str())
        .collect();
    classes.sort_unstable();
    classes.dedup();
    classes.join(", ")
}

/// Tallies `outcomes`, lists the models tract cannot run and the wrong ones, prints
/// `"{label}: N/M models match"`, and fails on a wrong one.
fn tally(label: &str, outcomes: &[(PathBuf, Outcome)]) {
    let (mut matched, mut wrong, mut tract) = (0, Vec::new(), Vec::new());
    for (path, o) in outcomes {
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        match o {
            Outcome::Match => matched += 1,
            Outcome::Wrong(why) => match TRACT_DIFFERS.iter().find(|(n, _)| *n == name) {
                Some((_, known)) => {
                    tract.push(format!("{name}: {known} ({why})  [{}]", kinds(path)))
                }
                None => wrong.push(format!("{name}: {why}  [{}]", kinds(path))),
            },
            Outcome::Tract(why) => tract.push(format!("{name}: {why}  [{}]", kinds(path))),
        }
    }
    for t in &tract {
        report!("{label}: tract cannot run {t}");
    }
    for w in &wrong {
        report!("{label}: MISMATCH {w}");
    }
    let ran = outcomes.len() - tract.len();
    report!("{label}: {matched}/{ran} models match");
    if !tract.is_empty() {
        report!(
            "{label}: {} of {} exports not run by tract (listed above; tools/onnx_check_ort.py runs them)",
            tract.len(),
            outcomes.len()
        );
    }
    assert!(
        wrong.is_empty(),
        "{label}: {} models do not match",
        wrong.len()
    );
}

#[test]
fn onnx_parity() {
    let outcomes: Vec<(PathBuf, Outcome)> = corpus("KERAS_NUMERIC_DIR", "numeric")
        .into_iter()
        .map(|p| {
            let o = check_numeric(&p);
            (p, o)
        })
        .collect();
    tally("onnx parity", &outcomes);
}

/// The recurrent cells with activations ONNX's `RNN`, `LSTM` and `GRU` do not have
/// (softmax, log_softmax, gelu, silu, mish, hard_silu), which the export unrolls:
/// `model-core/tests/data/numeric` (`KERAS_NUMERIC_EXTRA_DIR`), recorded from Keras.
#[test]
fn onnx_unrolled_recurrent_parity() {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model-core/tests/data/numeric");
    let dir = model_core::keras::corpus_dir("KERAS_NUMERIC_EXTRA_DIR", default);
    let outcomes: Vec<(PathBuf, Outcome)> =
        model_core::keras::corpus_files(&dir, "KERAS_NUMERIC_EXTRA_DIR")
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|p| {
                let o = check_numeric(&p);
                (p, o)
            })
            .collect();
    assert!(outcomes.len() >= 25, "only {} models", outcomes.len());
    tally("onnx parity (unrolled recurrent cells)", &outcomes);
}

#[test]
fn onnx_graph_parity() {
    let outcomes: Vec<(PathBuf, Outcome)> = corpus("KERAS_GRAPH_DIR", "graphs")
        .into_iter()
        .filter_map(|p| check_graph(&p).map(|o| (p, o)))
        .collect();
    assert!(!outcomes.is_empty(), "no graph model has numerics");
    tally("onnx graph parity", &outcomes);
}

/// A folder of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("model-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

model::model! {
    /// Convolutions, pooling, a flatten into a dense layer: the channels-first path.
    struct SmallCnn {
        input: [8, 8, 2],
        Conv2D(4, 3, padding = same, activation = relu),
        BatchNormalization(),
        MaxPooling2D(2),
        Conv2D(3, 3, activation = gelu),
        Flatten,
        Dense(5, activation = softmax),
    }
}

#[test]
fn save_onnx_on_a_model_type_runs_as_predict() {
    let m = SmallCnn::init(3);
    let batch = 2;
    let x: Vec<f32> = (0..batch * 8 * 8 * 2)
        .map(|i| (i as f32 * 0.37).sin())
        .collect();
    let y = m.predict(&x).unwrap();
    let out = scratch("small_cnn.onnx");
    m.save_onnx(&out).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let got = tract_run(&bytes, &[(vec![batch, 8, 8, 2], x)]).unwrap();
    assert_eq!(compare(&got[0], &y), None);
    // One transpose into channels first, none back: the dense kernel's rows are permuted.
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(text.matches("Transpose").count(), 1, "{text}");
    std::fs::remove_file(&out).unwrap();
}

model::model! {
    /// An LSTM whose activation ONNX's recurrent ops do not have: unrolled.
    struct GeluLstm {
        input: [5, 3],
        LSTM(4, activation = gelu, return_sequences = true),
        GRU(3, recurrent_activation = silu),
        Dense(2),
    }
}

#[test]
fn an_unrolled_recurrent_model_runs_as_predict() {
    let m = GeluLstm::init(1);
    let x: Vec<f32> = (0..2 * 5 * 3).map(|i| (i as f32 * 0.3).cos()).collect();
    let y = m.predict(&x).unwrap();
    let out = scratch("gelu_lstm.onnx");
    m.save_onnx(&out).unwrap();
    let got = tract_run(&std::fs::read(&out).unwrap(), &[(vec![2, 5, 3], x)]).unwrap();
    assert_eq!(compare(&got[0], &y), None);
    std::fs::remove_file(&out).unwrap();
}

model::model! {
    /// A graph with what keras.applications adds to the catalogue: a nested `Sequential`
    /// (ConvNeXt's stem), a residual `Add` and MobileNetV3's hard sigmoid as arithmetic
    /// with constants, the constant on either side.
    struct NestedHardSigmoid {
        let x = Input([8, 8, 3]);
        let stem = Sequential(
            [
                Conv2D(4, 2, strides = 2, name = "stem_conv"),
                LayerNormalization(epsilon = 1e-6, name = "stem_layernorm"),
            ],
            name = "stem",
        );
        let s = stem(x);
        let y = Conv2D(4, 3, padding = same)(s);
        let gate = ReLU(6.0)(y + 3.0) * (1.0 / 6.0);
        let y = Add()([Multiply()([y, gate]), s]);
        let y = 1.0 - y / 2.0;
        let y = GlobalAveragePooling2D()(y);
        Dense(3)(y)
    }
}

#[test]
fn a_graph_with_a_nested_model_and_arithmetic_runs_as_predict() {
    let m = NestedHardSigmoid::init(5);
    let batch = 3;
    let x: Vec<f32> = (0..batch * 8 * 8 * 3)
        .map(|i| (i as f32 * 0.21).sin() * 4.0)
        .collect();
    let y = m.predict(&x).unwrap();
    let out = scratch("nested_hard_sigmoid.onnx");
    m.save_onnx(&out).unwrap();
    let got = tract_run(&std::fs::read(&out).unwrap(), &[(vec![batch, 8, 8, 3], x)]).unwrap();
    assert_eq!(compare(&got[0], &y), None);
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn weights_that_do_not_fit_name_the_layer_and_write_nothing() {
    // Refused before anything is written: a good file is left as it was, and no file
    // appears where there was none.
    let good = scratch("kept.onnx");
    let cnn = SmallCnn::init(1);
    cnn.save_onnx(&good).unwrap();
    let before = std::fs::read(&good).unwrap();
    let mut wrong: Vec<LayerWeights> = cnn.weights().into_iter().cloned().collect();
    wrong[0].tensors.pop();
    let refs: Vec<&LayerWeights> = wrong.iter().collect();
    let network = &<SmallCnn as model::Model>::NETWORK;
    let e = model_core::onnx::save_network_onnx(network, &refs, &good)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("kept.onnx")
            && e.contains("layer `conv2d` (Conv2D): its weights have shapes [[3, 3, 2, 4]], the layer takes [[3, 3, 2, 4], [4]]"),
        "{e}"
    );
    assert_eq!(std::fs::read(&good).unwrap(), before);
    let fresh = scratch("never.onnx");
    wrong[0] = cnn.weights()[0].clone();
    wrong[5].tensors[0].data.pop();
    let refs: Vec<&LayerWeights> = wrong.iter().collect();
    let e = model_core::onnx::save_network_onnx(network, &refs, &fresh)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("never.onnx") && e.contains("layer `dense` (Dense)"),
        "{e}"
    );
    assert!(!fresh.exists());
    std::fs::remove_file(&good).unwrap();
}
