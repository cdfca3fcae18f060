//! Arithmetic with constants on tensors (`ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`, MobileNetV3's
//! hard sigmoid): Keras's operation names and classes, its outputs
//! (`tests/data/arithmetic/ops.txt`, from `tools/keras_arithmetic.py`), and training
//! through the operations.

use model::data::Dataset;
use model::{model, FitOptions, Loss, Model, Sgd, Verbose};
use static_assertions::const_assert_eq;

model! {
    /// The model of `tools/keras_arithmetic.py`.
    pub struct Ops {
        let x = Input([6]);
        let h = ReLU(6.0)(x + 3.0) * (1.0 / 6.0);
        let y = 2.0 - h;
        let y = y / 4.0;
        let y = 1.0 / (y + 1.0);
        Add()([y, h])
    }
}

// Operations have no weights; each is a layer of the model, with its per-layer constant.
const_assert_eq!(Ops::PARAMS, 0);
const_assert_eq!(Ops::TRUE_DIVIDE_1.params, 0);
const_assert_eq!(Ops::ADD_2.output_shape.dim(0), 6);

fn recorded() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/arithmetic/ops.txt"
    ))
    .expect("tests/data/arithmetic/ops.txt")
}

fn floats(line: &str) -> Vec<f32> {
    line.split_whitespace()
        .skip(1)
        .map(|v| v.parse::<f64>().expect("a number") as f32)
        .collect()
}

#[test]
fn operations_are_named_and_classed_as_keras_records_them() {
    let text = recorded();
    let keras: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with("input") && !l.starts_with("output"))
        .map(|l| l.split_once(' ').expect("name class"))
        .collect();
    let net = <Ops as Model>::NETWORK;
    let ours: Vec<(&str, &str)> = net
        .layer_names
        .iter()
        .zip(net.graph.layers)
        .map(|(n, l)| (*n, l.kind.class_name()))
        .collect();
    assert_eq!(ours, keras);
    let summary = Ops::summary().keras3().to_string();
    assert!(summary.contains("│ true_divide_1"), "{summary}");
    assert!(summary.contains("(TrueDivide)"), "{summary}");
    assert!(summary.contains("add (Add)"), "{summary}");
}

#[test]
fn outputs_match_keras() {
    let text = recorded();
    let inputs: Vec<f32> = text
        .lines()
        .filter(|l| l.starts_with("input"))
        .flat_map(floats)
        .collect();
    let keras: Vec<f32> = text
        .lines()
        .filter(|l| l.starts_with("output"))
        .flat_map(floats)
        .collect();
    let ours = Ops::init(0).predict(&inputs).expect("predict");
    assert_eq!(ours.len(), keras.len());
    for (i, (a, k)) in ours.iter().zip(&keras).enumerate() {
        assert!(
            (a - k).abs() <= 1e-6 * k.abs().max(1.0),
            "{i}: {a} vs Keras {k}"
        );
    }
}

model! {
    /// `(y · 2 − 1) / 4` after a dense layer: operations on the path of the gradient.
    pub struct WithOps {
        let x = Input([4]);
        let y = Dense(3, name = "logits")(x);
        (y * 2.0 - 1.0) / 4.0
    }
}

model! {
    /// The same function as one layer: `y · 0.5 − 0.25`.
    pub struct WithRescaling {
        let x = Input([4]);
        let y = Dense(3, name = "logits")(x);
        Rescaling(0.5, offset = -0.25)(y)
    }
}

#[test]
fn training_through_operations_is_training_through_the_same_function() {
    // `(2y − 1) / 4` and `0.5y − 0.25` round the same in float32 (scaling by a power of 2
    // is exact), so both models must take the same steps, weight for weight.
    let x: Vec<f32> = (0..32 * 4)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
        .collect();
    let y: Vec<u32> = (0..32).map(|i| (i * 7 % 3) as u32).collect();
    let data = Dataset::new(x, y, vec![4]).expect("32 samples");
    let options = || FitOptions {
        epochs: 3,
        batch_size: 8,
        optimizer: Box::new(Sgd::new(0.5)),
        loss: Loss::SparseCategoricalCrossentropy { from_logits: true },
        accuracy: false,
        shuffle: false,
        verbose: Verbose::Silent,
        ..Default::default()
    };
    let mut a = WithOps::init(3);
    // The dense layer's weights; `Rescaling` has none (nor have the operations).
    let dense = Model::weights(&a)[0].clone();
    let mut b = WithRescaling::from_weights(vec![dense, Model::weights(&a)[1].clone()]);
    let ha = a.fit(&data, options()).expect("fit");
    let hb = b.fit(&data, options()).expect("fit");
    assert_eq!(Model::weights(&a)[0], Model::weights(&b)[0]);
    assert_eq!(ha.get("loss"), hb.get("loss"));
    let losses = ha.get("loss").expect("loss");
    assert!(losses[2] < losses[0], "{losses:?}");
    assert_ne!(Model::weights(&a)[0], Model::weights(&WithOps::init(3))[0]);
}

#[test]
fn keras_configs_hold_operations_as_keras_writes_them_and_read_back() {
    let net = <Ops as Model>::NETWORK;
    let json = model_core::keras::model_config(&net).expect("config");
    let layers = json["config"]["layers"].as_array().expect("layers");
    let add = layers.iter().find(|l| l["name"] == "add").expect("add");
    assert_eq!(add["module"], "keras.src.ops.numpy");
    assert_eq!(add["class_name"], "Add");
    assert_eq!(add["config"], serde_json::json!({"name": "add"}));
    let args = &add["inbound_nodes"][0]["args"];
    assert_eq!(args[0]["config"]["keras_history"][0], "input_layer");
    assert_eq!(args[1], 3.0);
    // `2.0 - h` keeps the constant first.
    let sub = layers
        .iter()
        .find(|l| l["name"] == "subtract")
        .expect("subtract");
    assert_eq!(sub["inbound_nodes"][0]["args"][0], 2.0);
    let back = model_core::keras::model(&json).expect("read back");
    assert_eq!(back.network.graph.layers, net.graph.layers);
    assert_eq!(back.network.layer_names, net.layer_names);
    let source = model_core::keras::source(&back.network, "Ops", "", &back.not_kept);
    assert!(
        source.contains("let subtract = 2.0 - multiply;"),
        "{source}"
    );
    assert!(
        source.contains("let true_divide = subtract / 4.0;"),
        "{source}"
    );
}
