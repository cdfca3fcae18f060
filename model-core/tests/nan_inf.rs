//! NaN in, NaN out: every activation and pooling layer on NaN and infinities, against what
//! Keras 3.15.1 (TensorFlow's own kernels) gives, recorded by `tools/keras_nan_inf.py` in
//! `model-core/tests/data/nan_inf.json`.

use model_core::keras::layer;
use model_core::runtime::{init_model, predict};
use model_core::Shape;
use serde_json::Value as Json;

fn floats(v: &Json) -> Vec<f32> {
    v.as_array()
        .expect("a list of values")
        .iter()
        .map(|s| {
            let s = s.as_str().expect("values are strings");
            s.parse::<f32>()
                .unwrap_or_else(|_| panic!("not a float: {s}"))
        })
        .collect()
}

/// The same value: both NaN, the same infinity, or finite and within 1e-5 + 1e-4·|keras|.
fn same(ours: f32, keras: f32) -> bool {
    if keras.is_nan() || ours.is_nan() {
        return keras.is_nan() && ours.is_nan();
    }
    if keras.is_infinite() || ours.is_infinite() {
        return keras == ours;
    }
    (ours - keras).abs() <= 1e-5 + 1e-4 * keras.abs()
}

#[test]
fn nan_and_infinity_give_what_keras_gives() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/nan_inf.json");
    let text = std::fs::read_to_string(path).expect("tests/data/nan_inf.json");
    let file: Json = serde_json::from_str(&text).expect("JSON");
    let cases = file["cases"].as_array().expect("cases");
    let mut failures = Vec::new();
    for case in cases {
        let what = format!("{} {}", case["class_name"], case["config"]);
        let l = layer(case).unwrap_or_else(|e| panic!("{what}: {e}"));
        let dims: Vec<usize> = case["input_shape"]
            .as_array()
            .expect("input_shape")
            .iter()
            .map(|d| d.as_u64().expect("a dimension") as usize)
            .collect();
        let input = Shape::new(&dims);
        let weights = init_model(&[l], input, 0).expect("weights");
        let (x, want) = (floats(&case["input"]), floats(&case["output"]));
        let got = predict(&[l], input, &weights, &x, 1).expect("runs");
        assert_eq!(got.len(), want.len(), "{what}");
        let wrong: Vec<String> = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (&a, &b))| !same(a, b))
            .map(|(i, (a, b))| format!("[{i}] {a} (keras {b})"))
            .collect();
        if !wrong.is_empty() {
            failures.push(format!("{what}: {}", wrong.join(", ")));
        }
    }
    // Written to stderr directly (not through the test harness's capture), so CI's log
    // shows it.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "nan/inf parity: {}/{} cases match Keras",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
