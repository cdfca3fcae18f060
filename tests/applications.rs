//! The ten keras.applications models of `examples/applications/`, layer by layer against
//! Keras 3.15.1's own (`tests/data/applications/<name>.txt`, written by
//! `tools/keras_applications_counts.py`): every row of the summary, in Keras's order, with
//! its name, class, output shape and parameters, the totals, and Keras 3's summary byte
//! for byte (`<name>.keras3.txt`). The files' own
//! `const_assert_eq!`s check the totals when the example builds.

use model::Model;
use model_core::graph::Op;

#[path = "../examples/applications/convnext_tiny.rs"]
mod convnext_tiny;
#[path = "../examples/applications/densenet121.rs"]
mod densenet121;
#[path = "../examples/applications/efficientnet_b0.rs"]
mod efficientnet_b0;
#[path = "../examples/applications/inception_v3.rs"]
mod inception_v3;
#[path = "../examples/applications/mobilenet.rs"]
mod mobilenet;
#[path = "../examples/applications/mobilenet_v2.rs"]
mod mobilenet_v2;
#[path = "../examples/applications/mobilenet_v3_small.rs"]
mod mobilenet_v3_small;
#[path = "../examples/applications/resnet50.rs"]
mod resnet50;
#[path = "../examples/applications/vgg16.rs"]
mod vgg16;
#[path = "../examples/applications/xception.rs"]
mod xception;

/// The summary's rows: `name class (dims) params`, a nested model as one row.
fn rows<M: Model>() -> Vec<String> {
    let net = M::NETWORK;
    let g = &net.graph;
    let mut out = Vec::new();
    for op in g.keras_order() {
        match op {
            Op::Input(i) => out.push(format!(
                "{} InputLayer ({}) 0",
                net.input_names[i],
                dims(&g.inputs[i])
            )),
            Op::Layer(l) => match net.group_of(l) {
                Some(group) if group.first != l => {}
                Some(group) => {
                    let members = &M::LAYERS[group.first..group.first + group.len];
                    let last = members[members.len() - 1];
                    let params: usize = members.iter().map(|m| m.params).sum();
                    let shape = dims(&last.output_shape);
                    out.push(format!("{} Sequential ({shape}) {params}", group.name));
                }
                None => {
                    let info = M::LAYERS[l];
                    let shape = dims(&info.output_shape);
                    out.push(format!(
                        "{} {} ({shape}) {}",
                        info.name, info.kind, info.params
                    ));
                }
            },
        }
    }
    out
}

fn dims(s: &model::Shape) -> String {
    s.dims()
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Every difference from Keras's record, one line each.
fn differences<M: Model>(name: &str) -> Vec<String> {
    let path = format!(
        "{}/tests/data/applications/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let totals = format!(
        "total {} trainable {} non_trainable {}",
        M::PARAMS,
        M::TRAINABLE_PARAMS,
        M::NON_TRAINABLE_PARAMS
    );
    let mut problems = Vec::new();
    let keras_totals = lines.next().unwrap_or_default();
    if keras_totals != totals {
        problems.push(format!("{name}: {totals}, Keras {keras_totals}"));
    }
    let keras: Vec<&str> = lines.collect();
    let ours = rows::<M>();
    for (i, (a, k)) in ours.iter().zip(&keras).enumerate() {
        if a != k {
            problems.push(format!("{name} row {i}: {a}, Keras {k}"));
        }
    }
    if ours.len() != keras.len() {
        problems.push(format!(
            "{name}: {} rows, Keras {}",
            ours.len(),
            keras.len()
        ));
    }
    problems
}

/// Every difference from Keras's record, one line each: the rows and totals, and the
/// Keras 3 summary, byte for byte, under Keras's name for the model.
fn check<M: Model>(name: &str, keras_name: &'static str) -> Vec<String> {
    let mut problems = differences::<M>(name);
    let path = format!(
        "{}/tests/data/applications/{name}.keras3.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let keras = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let ours = M::summary().named(keras_name).keras3().to_string();
    let keras = keras.trim_end_matches('\n');
    if ours != keras {
        let at = ours
            .lines()
            .zip(keras.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(ours.lines().count().min(keras.lines().count()));
        let line = |t: &str| t.lines().nth(at).unwrap_or("(none)").to_string();
        problems.push(format!(
            "{name}: summary line {at}: {}\n  Keras: {}",
            line(&ours),
            line(keras)
        ));
    }
    problems
}

#[rustfmt::skip]
#[test]
fn every_layer_and_the_summary_match_keras() {
    let mut problems = Vec::new();
    problems.extend(check::<vgg16::Vgg16>("vgg16", "vgg16"));
    problems.extend(check::<resnet50::ResNet50>("resnet50", "resnet50"));
    problems.extend(check::<mobilenet::MobileNet>("mobilenet", "mobilenet_1.00_224"));
    problems.extend(check::<mobilenet_v2::MobileNetV2>("mobilenet_v2", "mobilenetv2_1.00_224"));
    problems.extend(check::<densenet121::DenseNet121>("densenet121", "densenet121"));
    problems.extend(check::<efficientnet_b0::EfficientNetB0>("efficientnet_b0", "efficientnetb0"));
    problems.extend(check::<inception_v3::InceptionV3>("inception_v3", "inception_v3"));
    problems.extend(check::<xception::Xception>("xception", "xception"));
    problems.extend(check::<convnext_tiny::ConvNeXtTiny>("convnext_tiny", "convnext_tiny"));
    problems.extend(check::<mobilenet_v3_small::MobileNetV3Small>("mobilenet_v3_small", "MobileNetV3Small"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
