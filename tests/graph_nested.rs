//! A `Sequential` nested in a graph model, as ConvNeXt nests its stem: Keras's counts and
//! summary (`tests/data/nested/`, from `tools/keras_nested.py`), weights named under the
//! nested model, and training through it.

use model::data::Dataset;
use model::{model, FitOptions, Loss, Sgd, Verbose};
use static_assertions::const_assert_eq;

model! {
    /// The model of `tools/keras_nested.py`.
    pub struct Stemmed {
        let x = Input([32, 32, 3]);
        let stem = Sequential(
            [
                Conv2D(8, 4, strides = 4, name = "stem_conv"),
                LayerNormalization(epsilon = 1e-6, name = "stem_layernorm"),
            ],
            name = "stem",
        );
        let s = stem(x);
        let y = Conv2D(8, 3, padding = same)(s);
        let y = BatchNormalization()(y);
        let y = Add()([y, s]);
        let y = GlobalAveragePooling2D()(y);
        Dense(10)(y)
    }
}

// Keras: total 1,114, trainable 1,098, non-trainable 16 (the batch normalization's moving
// statistics); the stem's row holds 4·4·3·8 + 8 = 392 and 2·8 = 16 (`stemmed.counts.txt`).
const_assert_eq!(Stemmed::PARAMS, 1114);
const_assert_eq!(Stemmed::TRAINABLE_PARAMS, 1098);
const_assert_eq!(Stemmed::NON_TRAINABLE_PARAMS, 16);
const_assert_eq!(
    Stemmed::STEM_CONV.params + Stemmed::STEM_LAYERNORM.params,
    408
);

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/nested/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_summary_shows_the_nested_model_as_keras_does() {
    let got = Stemmed::summary().keras3().to_string().replacen(
        "Model: \"Stemmed\"",
        "Model: \"stemmed\"",
        1,
    );
    let expected = fixture("stemmed.keras3.txt");
    assert_eq!(
        got,
        expected.trim_end_matches('\n'),
        "\n{got}\n\nKeras:\n{expected}"
    );
    let counts = fixture("stemmed.counts.txt");
    assert!(counts.contains("stem 408\n"), "{counts}");
}

#[test]
fn weights_are_named_under_the_nested_model() {
    let m = Stemmed::init(2);
    let path = std::env::temp_dir().join(format!("stemmed-{}.safetensors", std::process::id()));
    m.save(&path).expect("save");
    let names: Vec<String> = model::runtime::read(&path)
        .expect("read")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.iter().any(|n| n == "stem/stem_conv/kernel"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "stem/stem_layernorm/gamma"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "conv2d/kernel"), "{names:?}");
    let back = Stemmed::load(&path).expect("load");
    let _ = std::fs::remove_file(&path);
    assert_eq!(back.layer_weights(), m.layer_weights());
}

#[test]
fn training_reaches_the_nested_layers() {
    let x: Vec<f32> = (0..16 * 32 * 32 * 3)
        .map(|i| ((i * 31 % 23) as f32 - 11.0) / 11.0)
        .collect();
    let y: Vec<u32> = (0..16).map(|i| (i % 10) as u32).collect();
    let data = Dataset::new(x, y, vec![32, 32, 3]).expect("16 samples");
    let mut m = Stemmed::init(4);
    let before = m.layer_weights()[0].clone();
    let history = m
        .fit(
            &data,
            FitOptions {
                epochs: 3,
                batch_size: 8,
                optimizer: Box::new(Sgd::new(0.05)),
                loss: Loss::SparseCategoricalCrossentropy { from_logits: true },
                accuracy: false,
                shuffle: false,
                verbose: Verbose::Silent,
                ..Default::default()
            },
        )
        .expect("fit");
    let losses = history.get("loss").expect("loss");
    assert!(losses[2] < losses[0], "{losses:?}");
    assert_ne!(
        m.layer_weights()[0],
        &before,
        "the stem's convolution was not trained"
    );
}

#[test]
fn keras_files_nest_the_model_as_keras_does_and_read_back() {
    let m = Stemmed::init(6);
    let dir = std::env::temp_dir();
    for file in ["stemmed.weights.h5", "stemmed.keras"] {
        let path = dir.join(format!("{}-{file}", std::process::id()));
        m.save_keras(&path).expect("save_keras");
        let back = Stemmed::load_keras(&path).expect("load_keras");
        let _ = std::fs::remove_file(&path);
        assert_eq!(back.layer_weights(), m.layer_weights(), "{file}");
    }
    // The config holds the stem as Keras writes it, and reads back as one nested model.
    let net = <Stemmed as model::Model>::NETWORK;
    let json = model_core::keras::model_config(&net).expect("config");
    let stem = &json["config"]["layers"][1];
    assert_eq!(stem["class_name"], "Sequential");
    assert_eq!(stem["config"]["layers"][1]["config"]["name"], "stem_conv");
    let conv = &json["config"]["layers"][2];
    assert_eq!(
        conv["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0],
        "stem"
    );
    let back = model_core::keras::model(&json).expect("read back");
    assert_eq!(back.network.groups, net.groups);
    assert_eq!(back.network.graph.layers, net.graph.layers);
    assert_eq!(back.network.layer_names, net.layer_names);
}

#[test]
fn a_nested_model_is_printed_back_as_a_nested_sequential() {
    let net = <Stemmed as model::Model>::NETWORK;
    let json = model_core::keras::model_config(&net).expect("config");
    let back = model_core::keras::model(&json).expect("read back");
    let source = model_core::keras::source(&back.network, "Stemmed", "", &back.not_kept);
    assert!(source.contains("let stem_model = Sequential(["), "{source}");
    assert!(
        source.contains("Conv2D(8, 4, strides = 4, name = \"stem_conv\"),"),
        "{source}"
    );
    assert!(source.contains("], name = \"stem\");"), "{source}");
    assert!(
        source.contains("let stem = stem_model(input_layer);"),
        "{source}"
    );
}
