//! Expansion time of `model!` on large models: a generated 1,000-layer model and a model
//! with a 100-layer convolutional stack.
//!
//! A proc-macro crate cannot export functions, but the macro's phases run on
//! `proc_macro2`, which works outside the compiler; so this bench compiles the macro's own
//! modules (by `#[path]`, the same source files) and times `expand::model` on token streams.

#[path = "../model-macros/src/ast.rs"]
#[allow(dead_code)]
mod ast;
#[path = "../model-macros/src/check.rs"]
#[allow(dead_code)]
mod check;
#[path = "../model-macros/src/expand.rs"]
#[allow(dead_code)]
mod expand;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proc_macro2::TokenStream;
use std::hint::black_box;
use std::time::Duration;

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
        let out = expand::model(tokens.clone()).to_string();
        assert!(
            !out.contains("compile_error"),
            "{name} does not expand cleanly"
        );
        group.throughput(Throughput::Elements(layers));
        group.bench_function(name, |b| {
            b.iter(|| expand::model(black_box(tokens.clone())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
