//! Expansion time of `model!` on large models (a generated 1,000-layer model, a model with
//! a 100-layer convolutional stack), on the 400 valid models of the Keras reference corpus
//! written in the DSL, and on the ten keras.applications graph models of
//! `examples/applications/` (their functions and loops run by the interpreter).
//!
//! The macro's phases live in `model-dsl`, an ordinary library on `proc_macro2` (which
//! works outside the compiler), so this bench times `model_dsl::model` on token streams.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proc_macro2::TokenStream;
use serde_json::Value as Json;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

/// A Keras config value in the DSL (`[3, 3]` → `(3, 3)`, `"same"` → `same`).
fn dsl_value(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) if n.is_i64() => n.to_string(),
        Json::Number(n) => format!("{:?}", n.as_f64().unwrap_or(0.0)),
        Json::String(s) => s.clone(),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(dsl_value).collect();
            if items.len() == 1 {
                format!("({},)", items[0])
            } else {
                format!("({})", items.join(", "))
            }
        }
        Json::Object(_) => dsl_layer(v),
    }
}

/// A Keras layer config in the DSL, every argument by keyword.
fn dsl_layer(l: &Json) -> String {
    let class = l["class_name"].as_str().unwrap_or("?");
    let args: Vec<String> = l["config"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| {
            !(v.is_null() && k.as_str() != "max_value") && k.as_str() != "output_padding"
        })
        .map(|(k, v)| format!("{k} = {}", dsl_value(v)))
        .collect();
    if args.is_empty() {
        class.to_string()
    } else {
        format!("{class}({})", args.join(", "))
    }
}

/// Every valid model of the reference corpus, written in the DSL.
fn corpus_models() -> Vec<TokenStream> {
    let dir = std::env::var_os("KERAS_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/keras-reference/models")
        });
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("random_"))
    });
    paths.sort();
    paths
        .iter()
        .filter_map(|p| serde_json::from_str::<Json>(&std::fs::read_to_string(p).ok()?).ok())
        .map(|m| {
            let dims: Vec<String> = m["input_shape"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d.to_string())
                .collect();
            let layers: Vec<String> = m["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(dsl_layer)
                .collect();
            format!(
                "#[model(allow(softmax_axis_of_one, dropout_last))] struct M {{ input: [{}], {} }}",
                dims.join(", "),
                layers.join(", ")
            )
            .parse()
            .expect("valid tokens")
        })
        .collect()
}

/// 1,000 layers of the seed vocabulary: dense blocks with activations and dropout.
fn thousand_layers() -> TokenStream {
    let mut body = String::from("pub struct Deep { input: [64],");
    for i in 0..1000 {
        body.push_str(match i % 4 {
            0 => "Dense(64, activation = relu),",
            1 => "Dropout(0.1),",
            2 => "Activation(tanh),",
            _ => "Dense(64, use_bias = false),",
        });
    }
    body.push('}');
    body.parse().expect("valid tokens")
}

/// 100 same-padded 3×3 convolutions on a 32×32 image, then a classifier head.
fn conv_stack() -> TokenStream {
    let mut body = String::from("pub struct Stack { input: [32, 32, 3],");
    for _ in 0..100 {
        body.push_str("Conv2D(16, 3, padding = same, activation = relu),");
    }
    body.push_str("GlobalAveragePooling2D, Dense(10, activation = softmax) }");
    body.parse().expect("valid tokens")
}

/// The body of the `model!` invocation in `examples/applications/<name>.rs`.
fn application(name: &str) -> TokenStream {
    let path = format!(
        "{}/examples/applications/{name}.rs",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text.find("model! {").expect("a model! invocation") + "model! ".len();
    let mut depth = 0;
    let end = text[start..]
        .char_indices()
        .find_map(|(i, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => return None,
            }
            (depth == 0).then_some(start + i)
        })
        .expect("a closing brace");
    text[start + 1..end].parse().expect("valid tokens")
}

/// The ten keras.applications models, by file.
const APPLICATIONS: [&str; 10] = [
    "vgg16",
    "resnet50",
    "mobilenet",
    "mobilenet_v2",
    "densenet121",
    "efficientnet_b0",
    "inception_v3",
    "xception",
    "convnext_tiny",
    "mobilenet_v3_small",
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("model! expansion");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    for (name, tokens, layers) in [
        ("1000 layers", thousand_layers(), 1000),
        ("100-conv stack", conv_stack(), 102),
    ] {
        // The expansion must succeed: a bench of an error path would measure nothing useful.
        let out = model_dsl::model(tokens.clone()).to_string();
        assert!(
            !out.contains("compile_error"),
            "{name} does not expand cleanly"
        );
        group.throughput(Throughput::Elements(layers));
        group.bench_function(name, |b| {
            b.iter(|| model_dsl::model(black_box(tokens.clone())))
        });
    }
    let corpus = corpus_models();
    assert_eq!(
        corpus.len(),
        400,
        "the 400 valid models of the reference corpus"
    );
    for tokens in &corpus {
        let out = model_dsl::model(tokens.clone()).to_string();
        assert!(
            !out.contains("compile_error"),
            "a corpus model does not expand cleanly: {tokens}"
        );
    }
    group.throughput(Throughput::Elements(corpus.len() as u64));
    group.bench_function("400 corpus models", |b| {
        b.iter(|| {
            for tokens in &corpus {
                black_box(model_dsl::model(tokens.clone()));
            }
        })
    });
    let applications: Vec<(&str, TokenStream)> =
        APPLICATIONS.iter().map(|&n| (n, application(n))).collect();
    for (name, tokens) in &applications {
        let out = model_dsl::model(tokens.clone()).to_string();
        assert!(
            !out.contains("compile_error"),
            "{name} does not expand cleanly"
        );
    }
    for name in ["resnet50", "densenet121"] {
        group.throughput(Throughput::Elements(1));
        let tokens = application(name);
        group.bench_function(name, |b| {
            b.iter(|| model_dsl::model(black_box(tokens.clone())))
        });
    }
    group.throughput(Throughput::Elements(applications.len() as u64));
    group.bench_function("the ten keras.applications", |b| {
        b.iter(|| {
            for (_, tokens) in &applications {
                black_box(model_dsl::model(tokens.clone()));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
