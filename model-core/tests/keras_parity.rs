//! Shape and parameter parity with Keras on the reference corpus.
//!
//! Reads every model in `KERAS_REFERENCE_DIR` (default `../shared/keras-reference/models`),
//! runs the evaluator the macro uses, and compares every layer with what Keras recorded.
//! Invalid models must fail at Keras's `error_layer`, with the layer's index and kind in
//! the message.

use model_core::keras::{model_file, ModelFile};
use model_core::{eval_into, LayerInfo};
use serde_json::Value as Json;
use std::path::PathBuf;

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
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/keras-reference/models");
    model_core::keras::corpus_dir("KERAS_REFERENCE_DIR", default)
}

/// `[null, 28, 28, 1]` → the shape without batch.
fn keras_shape(v: &Json) -> Option<Vec<usize>> {
    let dims = v.as_array()?;
    dims.iter()
        .skip(1)
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect()
}

/// Evaluates a model file: per-layer entries, or the failing layer and the message.
fn evaluate(m: &ModelFile) -> Result<Vec<LayerInfo>, (usize, String)> {
    let mut layers = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        match l {
            Ok(l) => layers.push(*l),
            Err(msg) => {
                // An argument Keras refuses: the model fails here unless an earlier layer does.
                let mut out = vec![LayerInfo::EMPTY; layers.len()];
                if let Err(e) = eval_into(m.input_shape, &layers, &[], &mut out) {
                    return Err((e.index, format!("{} ({})", e, m.class_names[e.index])));
                }
                return Err((i, format!("layer {i} ({}): {msg}", m.class_names[i])));
            }
        }
    }
    let names: Vec<&'static str> = vec![""; layers.len()];
    let mut out = vec![LayerInfo::EMPTY; layers.len()];
    eval_into(m.input_shape, &layers, &names, &mut out).map_err(|e| (e.index, e.to_string()))?;
    Ok(out)
}

/// Compares one model; returns the mismatch lines.
fn check(m: &ModelFile) -> Vec<String> {
    let j = &m.json;
    let mut problems = Vec::new();
    let result = evaluate(m);
    if let Some(error_layer) = j.get("error_layer").and_then(Json::as_u64) {
        let error_layer = error_layer as usize;
        match result {
            Ok(_) => problems.push(format!(
                "{}: Keras refuses layer {error_layer}, we accept the model",
                m.name
            )),
            Err((index, msg)) => {
                let class = &m.class_names[error_layer];
                if index != error_layer {
                    problems.push(format!(
                        "{}: Keras fails at layer {error_layer}, we fail at {index}: {msg}",
                        m.name
                    ));
                } else if !msg.contains(&format!("layer {index}")) || !msg.contains(class.as_str())
                {
                    problems.push(format!(
                        "{}: message lacks the layer index and kind: {msg}",
                        m.name
                    ));
                }
            }
        }
        return problems;
    }
    let ours = match result {
        Ok(o) => o,
        Err((i, msg)) => {
            problems.push(format!(
                "{}: layer {i}: Keras builds it, we refuse: {msg}",
                m.name
            ));
            return problems;
        }
    };
    let expected = j["expected_layers"].as_array().cloned().unwrap_or_default();
    for (i, (e, o)) in expected.iter().zip(&ours).enumerate() {
        let shape = keras_shape(&e["output_shape"]);
        let fields = [
            (
                "output shape",
                format!("{:?}", shape.unwrap_or_default()),
                format!("{:?}", o.output_shape.dims()),
            ),
            ("params", e["params"].to_string(), o.params.to_string()),
            (
                "trainable",
                e["trainable"].to_string(),
                o.trainable.to_string(),
            ),
            (
                "non-trainable",
                e["non_trainable"].to_string(),
                o.non_trainable.to_string(),
            ),
        ];
        for (what, keras, we) in fields {
            if keras != we {
                problems.push(format!(
                    "{}: layer {i} ({}): {what}: Keras says {keras}, we say {we}",
                    m.name, m.class_names[i]
                ));
            }
        }
    }
    if expected.len() != ours.len() {
        problems.push(format!(
            "{}: {} layers expected, {} evaluated",
            m.name,
            expected.len(),
            ours.len()
        ));
    }
    let totals = model_core::Totals::of(&ours);
    for (what, key, we) in [
        ("total params", "total_params", totals.params),
        ("trainable params", "trainable_params", totals.trainable),
        (
            "non-trainable params",
            "non_trainable_params",
            totals.non_trainable,
        ),
    ] {
        if j[key].as_u64() != Some(we as u64) {
            problems.push(format!(
                "{}: {what}: Keras says {}, we say {we}",
                m.name, j[key]
            ));
        }
    }
    let out = model_core::model::output_shape(m.input_shape, &ours);
    if keras_shape(&j["output_shape"]).as_deref() != Some(out.dims()) {
        problems.push(format!(
            "{}: model output: Keras says {}, we say {:?}",
            m.name,
            j["output_shape"],
            out.dims()
        ));
    }
    problems
}

#[test]
fn keras_parity() {
    let dir = corpus_dir();
    let files = model_core::keras::corpus_files(&dir, "KERAS_REFERENCE_DIR")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut matched = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable model file");
        let problems = match model_file(&text) {
            Ok(m) => check(&m),
            Err(e) => vec![format!("{}: {e}", path.display())],
        };
        if problems.is_empty() {
            matched += 1;
        }
        for p in problems {
            report!("{p}");
        }
    }
    report!("keras parity: {matched}/{} models match", files.len());
    assert_eq!(
        matched,
        files.len(),
        "keras parity: {matched}/{} models match",
        files.len()
    );
}
