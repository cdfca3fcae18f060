//! Seconds per training epoch of the three MNIST models of `../shared/bench/keras_mnist.py`
//! (the Keras side of the comparison): one epoch of `fit` over the 8,000 training digits of
//! `data/mnist`, batch 128, shuffled, sparse categorical cross-entropy; SGD (lr 0.01) for the
//! linear model, Adam for the MLP and the CNN. Each sample starts from the same initial
//! weights and a fresh optimizer.
//!
//! `cargo bench --bench training`
//!
//! `cargo test` runs this once as a test (`test = true`), in the debug profile: there each
//! model trains one epoch on the first 256 digits only, which proves the bench still runs
//! without spending minutes on it.

mod common;

use common::{conv, dense, dropout, flatten, layers, pool};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use model_core::data::{Dataset, Mnist};
use model_core::runtime::init_model;
use model_core::train::{fit, Adam, FitOptions, Loss, Optimizer, Sgd, Verbose};
use model_core::{Layer, Shape};
use std::time::Duration;

fn linear() -> (Vec<Layer>, Shape, Box<dyn Optimizer>) {
    (
        layers(&[flatten(), dense(10, "softmax")]),
        Shape::new(&[28, 28]),
        Box::new(Sgd::new(0.01)),
    )
}

fn mlp() -> (Vec<Layer>, Shape, Box<dyn Optimizer>) {
    let (layers, input) = common::mlp();
    (layers, input, Box::new(Adam::default()))
}

fn cnn() -> (Vec<Layer>, Shape, Box<dyn Optimizer>) {
    let l = [
        conv(32, "valid"),
        pool(2),
        conv(64, "valid"),
        pool(2),
        flatten(),
        dropout(0.5),
        dense(10, "softmax"),
    ];
    (
        layers(&l),
        Shape::new(&[28, 28, 1]),
        Box::new(Adam::default()),
    )
}

type Case = (
    &'static str,
    fn() -> (Vec<Layer>, Shape, Box<dyn Optimizer>),
);

fn bench(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let train = Mnist::load(dir).expect("data/mnist").train;
    // `cargo bench` passes `--bench`; without it this is `cargo test`'s single run.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let train = if benchmarking { train } else { train.take(256) };
    let cases: [Case; 3] = [("linear_sgd", linear), ("mlp_adam", mlp), ("cnn_adam", cnn)];
    let mut group = c.benchmark_group("training");
    group.sample_size(10);
    group.throughput(Throughput::Elements(train.len as u64));
    for (name, model) in cases {
        let (layers, input, _) = model();
        let data = Dataset::new(train.x.clone(), train.y.clone(), input.dims().to_vec())
            .expect("same number of values");
        let weights = init_model(&layers, input, 1).expect("weights");
        if name == "cnn_adam" {
            group.measurement_time(Duration::from_secs(30));
        }
        group.bench_function(format!("{name}/epoch"), |b| {
            b.iter_batched(
                // A fresh optimizer (no moments yet) and the initial weights.
                || (weights.clone(), model().2),
                |(mut weights, optimizer)| {
                    let options = FitOptions {
                        epochs: 1,
                        batch_size: 128,
                        optimizer,
                        loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
                        verbose: Verbose::Silent,
                        seed: 1,
                        ..Default::default()
                    };
                    fit(&layers, input, &mut weights, &data, options).expect("trains");
                    weights
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
