//! Inference throughput of the runtime on the models of `../shared/bench/keras_infer.py`
//! (the Keras side of the comparison): the seed CNN at batch 8, the MLP 784-128-10 at batch
//! 1 and 128, the MNIST CNN at batch 128.
//!
//! `cargo bench --bench inference`

mod common;

use common::{conv, dense, flatten, layers, mlp, pool};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model_core::runtime::{init_model, predict_into, Workspace};
use model_core::{Layer, Shape};
use std::hint::black_box;

fn mnist_cnn() -> (Vec<Layer>, Shape) {
    let l = [
        conv(32, "valid"),
        pool(2),
        conv(64, "valid"),
        pool(2),
        flatten(),
        dense(10, "softmax"),
    ];
    (layers(&l), Shape::new(&[28, 28, 1]))
}

fn seed_cnn() -> (Vec<Layer>, Shape) {
    let l = [
        conv(32, "same"),
        conv(32, "valid"),
        pool(3),
        conv(32, "same"),
        conv(32, "valid"),
        pool(2),
        conv(32, "same"),
        conv(32, "valid"),
        pool(2),
        flatten(),
        dense(512, "relu"),
        dense(128, "relu"),
        dense(9, "softmax"),
    ];
    (layers(&l), Shape::new(&[256, 256, 3]))
}

/// A bench case: its name, how to build the model, and the batch size.
type Case = (&'static str, fn() -> (Vec<Layer>, Shape), usize);

fn bench(c: &mut Criterion) {
    let cases: [Case; 4] = [
        ("mlp", mlp, 1),
        ("mlp", mlp, 128),
        ("mnist_cnn", mnist_cnn, 128),
        ("seed_cnn", seed_cnn, 8),
    ];
    let mut group = c.benchmark_group("inference");
    group.sample_size(20);
    for (name, model, batch) in cases {
        let (layers, input) = model();
        let weights = init_model(&layers, input, 1).expect("weights");
        let n_in: usize = input.dims().iter().product::<usize>() * batch;
        let output = model_core::runtime::output_shape(&layers, input).expect("shape");
        let x: Vec<f32> = (0..n_in)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let mut y = vec![0.0; output.dims().iter().product::<usize>() * batch];
        let mut ws = Workspace::new();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("{name}/batch{batch}"), |b| {
            b.iter(|| {
                predict_into(
                    &layers,
                    input,
                    &weights,
                    black_box(&x),
                    batch,
                    &mut y,
                    &mut ws,
                )
                .expect("runs");
                black_box(&y);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
