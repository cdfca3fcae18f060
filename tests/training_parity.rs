//! Training parity with Keras: the same model, the same initial weights and the same batches
//! give the same weights and the same per-epoch metrics as Keras's `fit`.
//!
//! `tests/data/training_parity.safetensors` is written by `tools/keras_train_parity.py`
//! (Keras 3.15.1): for each case, Keras's initial weights, then `fit` on the first 300
//! digits of `data/mnist`, batch 64 (so each epoch ends with a batch of 44), 3 epochs,
//! without shuffling, and the weights, loss and accuracy Keras ends with. Here each case
//! starts from those initial weights, trains through the `model!` struct's `fit` the same
//! way, and compares: every weight within 2e-5 + 1e-3·|keras|, moving statistics of batch
//! normalization included, and each epoch's loss and accuracy within 1e-4 relative.
//!
//! Dropout is left out: its masks come from another generator than TensorFlow's.

use model::data::{Dataset, Mnist};
use model::runtime::read;
use model::train::{ExponentialDecay, History, TrainError};
use model::{model, Adam, AdamW, FitOptions, LayerWeights, Loss, RmsProp, Sgd, Tensor, Verbose};
use std::collections::HashMap;
use std::io::Write as _;

const SAMPLES: usize = 300;
const BATCH: usize = 64;
const EPOCHS: usize = 3;
const ABS_TOLERANCE: f32 = 2e-5;
const REL_TOLERANCE: f32 = 1e-3;
const METRIC_TOLERANCE: f32 = 1e-4;

model! {
    struct Linear { input: [28, 28], Flatten, Dense(10, activation = softmax) }
}
model! {
    struct Mlp { input: [28, 28], Flatten, Dense(16, activation = relu), Dense(10, activation = softmax) }
}
model! {
    struct Logits { input: [28, 28], Flatten, Dense(16, activation = relu), Dense(10) }
}
model! {
    struct Sigmoid { input: [28, 28], Flatten, Dense(10, activation = sigmoid) }
}
model! {
    struct Affine { input: [28, 28], Flatten, Dense(10) }
}
model! {
    struct BatchNormMlp {
        input: [28, 28],
        Flatten,
        Dense(16, use_bias = false),
        BatchNormalization,
        Activation(relu),
        Dense(10, activation = softmax),
    }
}
model! {
    struct Cnn {
        input: [28, 28, 1],
        Conv2D(4, 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(8, 3, padding = same, activation = relu),
        AveragePooling2D(2),
        Flatten,
        Dense(10, activation = softmax),
    }
}
model! {
    struct Lstm { input: [28, 28], LSTM(8), Dense(10, activation = softmax) }
}
model! {
    struct Gru {
        input: [28, 28],
        GRU(8, return_sequences = true),
        GlobalAveragePooling1D,
        Dense(10, activation = softmax),
    }
}

/// The recorded runs, by tensor name.
struct Fixture(HashMap<String, Tensor>);

impl Fixture {
    fn load() -> Fixture {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/training_parity.safetensors"
        );
        let tensors = read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Fixture(tensors.into_iter().collect())
    }

    /// `"{case}/{stage}/{layer}/{k}"` for every layer, as per-layer weights.
    fn weights(&self, case: &str, stage: &str, layers: usize) -> Vec<LayerWeights> {
        (0..layers)
            .map(|j| LayerWeights {
                tensors: (0..)
                    .map_while(|k| self.0.get(&format!("{case}/{stage}/{j}/{k}")).cloned())
                    .collect(),
            })
            .collect()
    }

    fn metric(&self, case: &str, name: &str) -> Option<&[f32]> {
        self.0.get(&format!("{case}/{name}")).map(|t| &t.data[..])
    }
}

fn mnist(sample_shape: &[usize]) -> Dataset {
    let data = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist")).expect("data/mnist");
    let train = data.train.take(SAMPLES);
    Dataset::new(train.x, train.y, sample_shape.to_vec()).expect("same number of values")
}

fn options(optimizer: impl model::train::Optimizer + 'static, loss: Loss) -> FitOptions<'static> {
    FitOptions {
        epochs: EPOCHS,
        batch_size: BATCH,
        optimizer: Box::new(optimizer),
        loss,
        shuffle: false,
        verbose: Verbose::Silent,
        ..Default::default()
    }
}

/// Every difference from Keras, one line each.
fn compare(fixture: &Fixture, case: &str, history: &History, ours: &[LayerWeights]) -> Vec<String> {
    let mut problems = Vec::new();
    let keras = fixture.weights(case, "final", ours.len());
    for (j, (o, k)) in ours.iter().zip(&keras).enumerate() {
        if o.tensors.len() != k.tensors.len() {
            problems.push(format!(
                "{case}: layer {j} has {} weights, Keras {}",
                o.tensors.len(),
                k.tensors.len()
            ));
            continue;
        }
        for (i, (o, k)) in o.tensors.iter().zip(&k.tensors).enumerate() {
            let worst = o
                .data
                .iter()
                .zip(&k.data)
                .map(|(o, k)| (o - k).abs() - REL_TOLERANCE * k.abs())
                .fold(0.0f32, f32::max);
            if o.shape != k.shape || worst > ABS_TOLERANCE || o.data.iter().any(|v| v.is_nan()) {
                problems.push(format!(
                    "{case}: layer {j} weight {i}: off by {worst:e} beyond the relative tolerance"
                ));
            }
        }
    }
    for name in ["loss", "accuracy"] {
        let keras = fixture.metric(case, name);
        let ours = history.get(name);
        let close = match (ours, keras) {
            (Some(o), Some(k)) => {
                o.len() == k.len()
                    && o.iter()
                        .zip(k)
                        .all(|(o, k)| (o - k).abs() <= METRIC_TOLERANCE * k.abs().max(1.0))
            }
            (None, None) => true,
            _ => false,
        };
        if !close {
            problems.push(format!("{case}: {name} {ours:?}, Keras {keras:?}"));
        }
    }
    problems
}

type Trained = Result<(History, Vec<LayerWeights>), TrainError>;

/// Trains `case` from Keras's initial weights through the case's `model!` struct, as the
/// recording did: `(case, what fit returned and the weights it left)`.
macro_rules! train {
    ($fixture:expr, $case:literal, $model:ident, $data:expr, $optimizer:expr, $loss:expr) => {{
        let init = $fixture.weights($case, "init", $model::LAYERS.len());
        let mut m = $model::from_layer_weights(init);
        let history = m.fit($data, options($optimizer, $loss));
        let trained: Trained =
            history.map(|h| (h, m.layer_weights().into_iter().cloned().collect()));
        ($case, trained)
    }};
}

#[test]
fn fit_matches_keras_step_for_step() {
    let fixture = Fixture::load();
    let images = mnist(&[28, 28]);
    let channels = mnist(&[28, 28, 1]);
    let sparse = Loss::SparseCategoricalCrossentropy { from_logits: false };
    let decay = ExponentialDecay::new(0.01, 4.0, 0.5, false).expect("valid schedule");
    let nesterov = Sgd {
        momentum: 0.9,
        nesterov: true,
        ..Sgd::new(0.05)
    };
    let centered = RmsProp {
        momentum: 0.5,
        centered: true,
        ..RmsProp::default()
    };
    let amsgrad = Adam {
        amsgrad: true,
        ..Adam::new(decay)
    };

    let runs: Vec<(&str, Trained)> = vec![
        train!(
            fixture,
            "linear_sgd",
            Linear,
            &images,
            Sgd::new(0.01),
            sparse
        ),
        train!(fixture, "mlp_sgd_nesterov", Mlp, &images, nesterov, sparse),
        train!(fixture, "mlp_adam", Mlp, &images, Adam::default(), sparse),
        train!(fixture, "mlp_adamw", Mlp, &images, AdamW::default(), sparse),
        train!(
            fixture,
            "mlp_rmsprop",
            Mlp,
            &images,
            RmsProp::default(),
            sparse
        ),
        train!(
            fixture,
            "mlp_rmsprop_centered_momentum",
            Mlp,
            &images,
            centered,
            sparse
        ),
        train!(
            fixture,
            "mlp_adam_amsgrad_decay",
            Mlp,
            &images,
            amsgrad,
            sparse
        ),
        train!(
            fixture,
            "logits_categorical",
            Logits,
            &images,
            Adam::default(),
            Loss::CategoricalCrossentropy { from_logits: true }
        ),
        train!(
            fixture,
            "sigmoid_binary",
            Sigmoid,
            &images,
            Sgd::new(0.1),
            Loss::BinaryCrossentropy { from_logits: false }
        ),
        train!(
            fixture,
            "sigmoid_mse",
            Sigmoid,
            &images,
            Sgd::new(0.5),
            Loss::MeanSquaredError
        ),
        train!(
            fixture,
            "linear_mae",
            Affine,
            &images,
            Sgd::new(0.01),
            Loss::MeanAbsoluteError
        ),
        train!(
            fixture,
            "batchnorm_adam",
            BatchNormMlp,
            &images,
            Adam::default(),
            sparse
        ),
        train!(fixture, "cnn_adam", Cnn, &channels, Adam::default(), sparse),
        train!(fixture, "lstm_adam", Lstm, &images, Adam::default(), sparse),
        train!(fixture, "gru_adam", Gru, &images, Adam::default(), sparse),
    ];

    let mut problems = Vec::new();
    for (case, trained) in &runs {
        match trained {
            Ok((history, weights)) => problems.extend(compare(&fixture, case, history, weights)),
            Err(e) => problems.push(format!("{case}: fit failed: {e}")),
        }
    }
    let differing: std::collections::BTreeSet<&str> = problems
        .iter()
        .filter_map(|p| p.split(':').next())
        .collect();
    // Straight to stderr, so that the line shows in CI's log when the test passes too.
    let _ = writeln!(
        std::io::stderr(),
        "training parity: {}/{} cases match Keras",
        runs.len() - differing.len(),
        runs.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {} cases differ from Keras:\n{}",
        problems.len(),
        runs.len(),
        problems.join("\n")
    );
}
