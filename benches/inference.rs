//! Inference throughput of the runtime on the models of `../shared/bench/keras_infer.py`
//! (the Keras side of the comparison): the seed CNN at batch 8, the MLP 784-128-10 at batch
//! 1 and 128, the MNIST CNN at batch 128; and the 4-conv CNN of `../shared/bench/ort_peer.py`
//! (the ONNX Runtime side) at batch 1 on one thread and on two, written with `model!`.
//!
//! `cargo bench --bench inference`

mod common;

use common::{conv, dense, flatten, layers, mlp, pool};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model_core::runtime::{init_model, predict_into, Workspace};
use model_core::{Layer, Shape};
use std::hint::black_box;

model::model! {
    /// `ort_peer.py`'s `cnn()`: four 3×3 'same' convolutions (3 → 16 → 32 → 64 → 128), each
    /// followed by ReLU and 2×2 max pooling, then Dense 32768 → 160 (ReLU) → 10 (linear).
    struct Cnn4 {
        input: [256, 256, 3],
        Conv2D(16, 3, padding = same, activation = relu),
        MaxPooling2D(2),
        Conv2D(32, 3, padding = same, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, 3, padding = same, activation = relu),
        MaxPooling2D(2),
        Conv2D(128, 3, padding = same, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dense(160, activation = relu),
        Dense(10),
    }
}

/// The 4-conv CNN at batch 1 in a rayon pool of `threads` threads (ONNX Runtime's
/// `intra_op_num_threads`).
fn cnn4(c: &mut Criterion, threads: usize) {
    let model = Cnn4::init(1);
    let x: Vec<f32> = (0..256 * 256 * 3)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let mut y = [0f32; 10];
    let mut ws = Workspace::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    let mut group = c.benchmark_group("inference");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("cnn4/batch1/threads{threads}"), |b| {
        pool.install(|| {
            b.iter(|| {
                model
                    .predict_into(black_box(&x), &mut y, &mut ws)
                    .expect("runs");
                black_box(&y);
            })
        })
    });
    group.finish();
}

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
    cnn4(c, 1);
    cnn4(c, 2);
}

criterion_group!(benches, bench);
criterion_main!(benches);
