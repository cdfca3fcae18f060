//! Throughput of the shape and parameter evaluator on the Keras reference corpus (500 models):
//! (a) reading and converting every JSON model file, (b) evaluating every converted model
//! with `eval_into`, as the macro and generated `const` code do.
//!
//! The corpus is read from `KERAS_REFERENCE_DIR` (default `../shared/keras-reference/models`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model_core::keras::model_file;
use model_core::{eval_into, Layer, LayerInfo, Shape};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn corpus_dir() -> PathBuf {
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/keras-reference/models");
    model_core::keras::corpus_dir("KERAS_REFERENCE_DIR", default)
}

/// The text of every model file, sorted by name.
fn corpus() -> Vec<String> {
    let dir = corpus_dir();
    let paths = model_core::keras::corpus_files(&dir, "KERAS_REFERENCE_DIR")
        .unwrap_or_else(|e| panic!("{e}"));
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable model file"))
        .collect()
}

/// One model, converted: its input and the layers up to the first whose arguments Keras
/// refuses (the invalid models stop there, or at the layer that does not fit).
struct Converted {
    input: Shape,
    layers: Vec<Layer>,
    names: Vec<&'static str>,
}

fn convert(text: &str) -> Converted {
    let m = model_file(text).expect("a corpus model file");
    let layers: Vec<Layer> = m
        .layers
        .iter()
        .map_while(|l| l.as_ref().ok().copied())
        .collect();
    let names = vec![""; layers.len()];
    Converted {
        input: m.input_shape,
        layers,
        names,
    }
}

fn evaluator(c: &mut Criterion) {
    let texts = corpus();
    let models: Vec<Converted> = texts.iter().map(|t| convert(t)).collect();
    let count = models.len() as u64;

    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(count));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    group.bench_function("read_and_convert", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(convert(black_box(t)));
            }
        })
    });

    let mut out = vec![LayerInfo::EMPTY; models.iter().map(|m| m.layers.len()).max().unwrap_or(0)];
    group.bench_function("eval_into", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for m in &models {
                let out = &mut out[..m.layers.len()];
                if eval_into(black_box(m.input), &m.layers, &m.names, out).is_ok() {
                    ok += 1;
                }
            }
            black_box(ok)
        })
    });
    group.finish();
}

criterion_group!(benches, evaluator);
criterion_main!(benches);
