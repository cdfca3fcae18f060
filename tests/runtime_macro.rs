//! The runtime through `model!`: a model struct that holds its weights, runs inference,
//! and saves and loads them, numerically identical to Keras.

use model::{model, LoadError, Workspace};
use std::path::PathBuf;

model! {
    /// The MNIST MLP of the benchmarks.
    pub struct Mlp {
        input: [28, 28],
        Flatten,
        Dense(128, activation = relu),
        Dense(10, activation = softmax),
    }
}

model! {
    /// A different model, to load the wrong file into.
    pub struct Other {
        input: [28, 28],
        Flatten,
        Dense(64, activation = relu),
        Dense(10),
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("model-runtime-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn digits(batch: usize) -> Vec<f32> {
    (0..batch * 784)
        .map(|i| ((i * 37 % 255) as f32) / 255.0)
        .collect()
}

#[test]
fn init_is_deterministic_for_a_seed_and_follows_keras_defaults() {
    let a = Mlp::init(42);
    let b = Mlp::init(42);
    let c = Mlp::init(43);
    assert_eq!(a.dense.tensors, b.dense.tensors);
    assert_ne!(a.dense.tensors[0].data, c.dense.tensors[0].data);
    // glorot_uniform: |w| <= sqrt(6 / (fan_in + fan_out)); zero biases; Flatten has none.
    let limit = (6.0f32 / (784.0 + 128.0)).sqrt();
    assert_eq!(a.dense.tensors[0].shape, [784, 128]);
    assert!(a.dense.tensors[0].data.iter().all(|w| w.abs() <= limit));
    assert!(a.dense.tensors[0]
        .data
        .iter()
        .any(|w| w.abs() > limit / 2.0));
    assert!(a.dense.tensors[1].data.iter().all(|&b| b == 0.0));
    assert!(a.flatten.tensors.is_empty());
}

#[test]
fn predict_runs_a_batch_and_typed_samples() {
    let m = Mlp::init(1);
    let x = digits(3);
    let y = m.predict(&x).expect("a whole batch");
    assert_eq!(y.len(), 3 * 10);
    for sample in y.chunks(10) {
        let sum: f32 = sample.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "softmax sums to 1, got {sum}");
    }
    // One sample, typed: [[f32; 28]; 28] in, [f32; 10] out.
    let mut one = [[0.0f32; 28]; 28];
    one.as_flattened_mut().copy_from_slice(&x[..784]);
    let typed: [f32; 10] = m.predict_one(&one).expect("runs");
    // Batch 1 and batch 3 take different matrix kernels (different summation orders), so
    // they agree to rounding, not bit for bit.
    for (a, b) in typed.iter().zip(&y[..10]) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    // predict_into with a reused workspace gives the same numbers.
    let mut out = vec![0.0; 30];
    let mut ws = Workspace::new();
    m.predict_into(&x, &mut out, &mut ws).expect("runs");
    m.predict_into(&x, &mut out, &mut ws).expect("runs again");
    assert_eq!(out, y);
}

#[test]
fn wrong_buffer_lengths_are_errors_not_panics() {
    let m = Mlp::init(1);
    let err = m.predict(&[0.0; 100]).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a whole, non-zero number of samples"),
        "{err}"
    );
    assert!(m.predict(&[]).is_err());
    let mut small = vec![0.0; 5];
    assert!(m
        .predict_into(&digits(1), &mut small, &mut Workspace::new())
        .is_err());
}

#[test]
fn save_then_load_gives_the_same_model() {
    let path = temp("mlp.safetensors");
    let m = Mlp::init(7);
    m.save(&path).expect("saved");
    let back = Mlp::load(&path).expect("loaded");
    assert_eq!(back.layer_weights(), m.layer_weights());
    assert_eq!(
        back.predict(&digits(2)).unwrap(),
        m.predict(&digits(2)).unwrap()
    );
}

#[test]
fn loading_another_models_file_names_every_problem() {
    let path = temp("other.safetensors");
    Other::init(1).save(&path).expect("saved");
    let err = Mlp::load(&path).err().expect("a different model");
    let text = err.to_string();
    assert!(matches!(err, LoadError::Tensors { .. }), "{text}");
    assert!(text.contains("dense/kernel"), "{text}");
    assert!(text.contains("dense_1/kernel"), "{text}");
    let missing = Mlp::load(temp("does-not-exist.safetensors"))
        .err()
        .expect("no file");
    assert!(matches!(missing, LoadError::Io { .. }), "{missing}");
}

#[test]
fn a_failed_save_never_replaces_a_good_file() {
    let path = temp("kept.safetensors");
    let m = Mlp::init(3);
    m.save(&path).expect("saved");
    let before = std::fs::read(&path).unwrap();
    // Weights that do not fit the model are refused before anything is written.
    let mut broken = Mlp::init(3);
    broken.dense.tensors[0].data.pop();
    broken.dense.tensors[0].shape = vec![783, 128];
    assert!(broken.save(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

model! {
    /// `random_0138` of the Keras reference corpus, written in the DSL.
    pub struct Keras0138 {
        input: [16, 32, 4],
        Conv2D(1, (5, 5), strides = (3, 3), padding = same, activation = relu),
        PReLU,
        Dense(256, activation = relu6),
    }
}

/// Keras-layout weights from elsewhere (the corpus names tensors `"<index>.<weight>"`):
/// renamed to `"<layer>/<weight>"`, loaded, and run — Keras's own output comes back.
#[test]
fn keras_weights_load_and_predict_as_keras_does() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/keras-reference/numeric");
    let dir = std::env::var_os("KERAS_NUMERIC_DIR")
        .map(PathBuf::from)
        .unwrap_or(dir);
    let tensors = model::runtime::read(dir.join("random_0138.safetensors")).expect("corpus file");
    let get = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .expect(name)
    };
    let renamed = [
        ("conv2d/kernel", get("0.kernel")),
        ("conv2d/bias", get("0.bias")),
        ("p_re_lu/alpha", get("1.alpha")),
        ("dense/kernel", get("2.kernel")),
        ("dense/bias", get("2.bias")),
    ];
    let path = temp("keras0138.safetensors");
    model::runtime::save(&path, &renamed).expect("written");
    let m = Keras0138::load(&path).expect("Keras-layout weights load");
    let y = m.predict(&get("input").data).expect("runs");
    let keras = &get("output").data;
    assert_eq!(y.len(), keras.len());
    for (ours, k) in y.iter().zip(keras) {
        assert!(
            (ours - k).abs() <= 1e-4 + 1e-3 * k.abs(),
            "{ours} vs Keras {k}"
        );
    }
}

/// Keras's trained MNIST weights (`tools/keras_train_mlp.py`) give Keras's test accuracy,
/// 0.9440, on the same 2,000 digits.
#[test]
fn keras_trained_mnist_weights_reach_keras_accuracy() {
    let root = env!("CARGO_MANIFEST_DIR");
    let data = model::data::Mnist::load(format!("{root}/data/mnist")).expect("data/mnist");
    let m = Mlp::load(format!("{root}/data/mnist-mlp-keras.safetensors")).expect("Keras's weights");
    let probs = m.predict(&data.test.x).expect("runs");
    let correct = probs
        .chunks(10)
        .zip(&data.test.y)
        .filter(|(p, &label)| {
            p.iter()
                .enumerate()
                .all(|(i, &v)| v <= p[label as usize] || i == label as usize)
        })
        .count();
    assert_eq!(
        correct, 1888,
        "Keras classified 1,888 of 2,000 digits correctly"
    );
}

#[test]
fn a_save_into_a_missing_directory_names_the_file() {
    let path = temp("no-such-directory").join("w.safetensors");
    let err = Mlp::init(3).save(&path).expect_err("no directory");
    let text = err.to_string();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    let missing = Mlp::load(&path).err().expect("no file").to_string();
    assert!(missing.contains(&path.display().to_string()), "{missing}");
}

model! {
    /// Per-channel preprocessing: the tuples are kept as numbers in the model.
    pub struct Preprocess {
        input: [2],
        Rescaling(scale = (0.5, 2.0), offset = 1.0),
        Normalization(mean = (1.0, -1), variance = (4.0, 1.0)),
    }
}

#[test]
fn per_channel_preprocessing_keeps_its_numbers() {
    let model = Preprocess::init(0);
    let out = model.predict(&[2.0, 3.0]).expect("predict");
    // Rescaling: (2*0.5+1, 3*2+1) = (2, 7); Normalization: ((2-1)/2, (7+1)/1) = (0.5, 8).
    assert!((out[0] - 0.5).abs() < 1e-6, "{out:?}");
    assert!((out[1] - 8.0).abs() < 1e-5, "{out:?}");
}

static_assertions::const_assert_eq!(Preprocess::PARAMS, 0);
