//! Numerical parity of inference with Keras on the reference corpus.
//!
//! Reads every model in `KERAS_NUMERIC_DIR` (default `../shared/keras-reference/numeric`):
//! builds its layers from the JSON, loads Keras's weights from `<name>.safetensors`
//! (`"<layer index>.<keras weight name>"`), runs the recorded input and compares with
//! Keras's output: |ours − keras| ≤ 1e-4 + 1e-3·|keras| for every value.

use model_core::keras::corpus::{numeric_case, NumericCase};
use model_core::keras::model_file;
use model_core::runtime::predict;
use model_core::{Layer, Shape};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

const ABS_TOLERANCE: f32 = 1e-4;
const REL_TOLERANCE: f32 = 1e-3;

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
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/keras-reference/numeric");
    model_core::keras::corpus_dir("KERAS_NUMERIC_DIR", default)
}

/// Runs one model; `Err` says why it does not match.
fn check(json_path: &Path) -> Result<(), String> {
    let NumericCase {
        model: m,
        layers,
        weights,
        input,
        output: expected,
    } = numeric_case(json_path)?;
    let batch = input.shape[0];
    if Shape::new(&input.shape[1..]) != m.input_shape {
        return Err(format!(
            "input tensor {:?} does not match input_shape {:?}",
            input.shape, m.input_shape
        ));
    }
    let ours =
        predict(&layers, m.input_shape, &weights, &input.data, batch).map_err(|e| e.to_string())?;
    if ours.len() != expected.data.len() {
        return Err(format!(
            "{} output values, Keras has {} ({:?})",
            ours.len(),
            expected.data.len(),
            expected.shape
        ));
    }
    // The worst value: the one furthest past its tolerance.
    let mut worst: Option<(f32, usize)> = None;
    for (i, (&a, &b)) in ours.iter().zip(&expected.data).enumerate() {
        let excess = (a - b).abs() - (ABS_TOLERANCE + REL_TOLERANCE * b.abs());
        if (excess > 0.0 || excess.is_nan()) && worst.is_none_or(|(w, _)| excess > w || w.is_nan())
        {
            worst = Some((excess, i));
        }
    }
    match worst {
        None => Ok(()),
        Some((_, i)) => {
            let bad = ours
                .iter()
                .zip(&expected.data)
                .filter(|(a, b)| {
                    let gap = (*a - *b).abs();
                    // A NaN gap is a mismatch too.
                    gap > ABS_TOLERANCE + REL_TOLERANCE * b.abs() || gap.is_nan()
                })
                .count();
            Err(format!(
                "{bad}/{} values off; worst at {i}: ours {} vs keras {} (|diff| {})",
                ours.len(),
                ours[i],
                expected.data[i],
                (ours[i] - expected.data[i]).abs()
            ))
        }
    }
}

/// Checks every model of `files`, reports each mismatch and `"{label}: N/M models match"`,
/// and fails unless all match.
fn check_all(files: &[PathBuf], label: &str) {
    let mut matched = 0;
    for path in files {
        match check(path) {
            Ok(()) => matched += 1,
            Err(e) => {
                let json: Json = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                let classes: Vec<&str> = json["layers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| l["class_name"].as_str())
                    .collect();
                report!(
                    "{}: {e}  [{}]",
                    path.file_stem().unwrap_or_default().to_string_lossy(),
                    classes.join(", ")
                );
            }
        }
    }
    report!("{label}: {matched}/{} models match", files.len());
    assert_eq!(
        matched,
        files.len(),
        "{label}: {matched}/{} models match",
        files.len()
    );
}

#[test]
fn numeric_parity() {
    let dir = corpus_dir();
    let files = model_core::keras::corpus_files(&dir, "KERAS_NUMERIC_DIR")
        .unwrap_or_else(|e| panic!("{e}"));
    check_all(&files, "numeric parity");
}

/// Configurations the shared corpus does not reach, recorded from Keras the same way by
/// `tools/keras_numeric_extra.py` into `model-core/tests/data/numeric` (`KERAS_NUMERIC_EXTRA_DIR`
/// elsewhere): recurrent cells with softmax, log_softmax, gelu, silu, mish and hard_silu as
/// activation or recurrent activation.
#[test]
fn numeric_parity_extra() {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/numeric");
    let dir = model_core::keras::corpus_dir("KERAS_NUMERIC_EXTRA_DIR", default);
    let files = model_core::keras::corpus_files(&dir, "KERAS_NUMERIC_EXTRA_DIR")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        files.len() >= 25,
        "only {} models in {}",
        files.len(),
        dir.display()
    );
    check_all(&files, "numeric parity (extra cases)");
}

/// Every valid model of the shape corpus (`../shared/keras-reference/models`, more layer
/// configurations than the numeric one) runs on a batch of two with Keras's default
/// initializers: no panic, no error, the evaluator's output length.
#[test]
fn every_corpus_model_runs() {
    let dir = match std::env::var_os("KERAS_REFERENCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/keras-reference/models")
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read the corpus at {}: {e} (set KERAS_REFERENCE_DIR)",
                dir.display()
            )
        })
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut ran = 0;
    for path in &files {
        let m = model_file(&std::fs::read_to_string(path).expect("readable model file"))
            .expect("a model file");
        if m.json.get("error_layer").is_some() {
            continue;
        }
        let name = &m.name;
        let layers: Vec<Layer> = m
            .layers
            .iter()
            .cloned()
            .collect::<Result<_, _>>()
            .expect("valid layers");
        let weights = model_core::runtime::init_model(&layers, m.input_shape, 7)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let n: usize = m.input_shape.dims().iter().product();
        // Token ids 0, 1, 0, … for Embedding models; a smooth signal otherwise.
        let x: Vec<f32> = (0..2 * n)
            .map(|i| {
                if m.integer_input {
                    (i % 2) as f32
                } else {
                    (i as f32 * 0.37).sin()
                }
            })
            .collect();
        let y = predict(&layers, m.input_shape, &weights, &x, 2)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = model_core::runtime::output_shape(&layers, m.input_shape).expect("evaluates");
        assert_eq!(y.len(), 2 * out.dims().iter().product::<usize>(), "{name}");
        ran += 1;
    }
    assert!(ran >= 400, "only {ran} valid models ran");
}
