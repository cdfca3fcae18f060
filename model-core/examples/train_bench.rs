//! Seconds per epoch and test accuracy of the three MNIST models of
//! `../shared/bench/README.md`, trained with `model_core::train::fit` on `data/mnist`
//! (8,000 training digits, 2,000 test digits), batch 128:
//!
//! ```text
//! cargo run --release -p model-core --features runtime --example train_bench [linear|mlp|cnn]...
//! ```

use std::time::Instant;

use model_core::data::{Dataset, Mnist};
use model_core::runtime::init_model;
use model_core::train::{evaluate, fit, Adam, FitOptions, Loss, Optimizer, Sgd, Verbose};
use model_core::{build, Arg, Kind, Layer, Shape, Value};

fn layer(kind: Kind, args: &[(&'static str, Value<'static>)]) -> Layer {
    let args: Vec<Arg> = args
        .iter()
        .map(|(n, v)| Arg {
            name: Some(n),
            value: *v,
        })
        .collect();
    build(kind, &args).expect("a valid layer")
}

fn dense(units: i64, activation: &'static str) -> Layer {
    layer(
        Kind::Dense,
        &[
            ("units", Value::Int(units)),
            ("activation", Value::Str(activation)),
        ],
    )
}

fn conv(filters: i64) -> Layer {
    layer(
        Kind::Conv2D,
        &[
            ("filters", Value::Int(filters)),
            ("kernel_size", Value::Int(3)),
            ("activation", Value::Str("relu")),
        ],
    )
}

fn with_shape(d: &Dataset, shape: &[usize]) -> Dataset {
    Dataset::new(d.x.clone(), d.y.clone(), shape.to_vec()).expect("same values")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist");
    let data = Mnist::load(dir)?;
    let mut which: Vec<String> = std::env::args().skip(1).collect();
    if which.is_empty() {
        which = vec!["linear".into(), "mlp".into(), "cnn".into()];
    }
    let pool = layer(Kind::MaxPooling2D, &[("pool_size", Value::Int(2))]);
    for name in which {
        let (layers, input, epochs, optimizer): (Vec<Layer>, &[usize], usize, Box<dyn Optimizer>) =
            match name.as_str() {
                "linear" => (
                    vec![Layer::FLATTEN, dense(10, "softmax")],
                    &[28, 28],
                    12,
                    Box::new(Sgd::new(0.01)),
                ),
                "mlp" => (
                    vec![Layer::FLATTEN, dense(128, "relu"), dense(10, "softmax")],
                    &[28, 28],
                    10,
                    Box::new(Adam::default()),
                ),
                "cnn" => (
                    vec![
                        conv(32),
                        pool,
                        conv(64),
                        pool,
                        Layer::FLATTEN,
                        layer(Kind::Dropout, &[("rate", Value::Float(0.5))]),
                        dense(10, "softmax"),
                    ],
                    &[28, 28, 1],
                    10,
                    Box::new(Adam::default()),
                ),
                other => return Err(format!("unknown model `{other}` (linear, mlp, cnn)").into()),
            };
        // `TRAIN_BENCH_EPOCHS=2` for a shorter run (profiling).
        let epochs = std::env::var("TRAIN_BENCH_EPOCHS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(epochs);
        let (train, test) = (
            with_shape(&data.train, input),
            with_shape(&data.test, input),
        );
        let shape = Shape::new(input);
        // `TRAIN_BENCH_SEED=7` for other initial weights and another order of the samples.
        let seed = std::env::var("TRAIN_BENCH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let mut weights = init_model(&layers, shape, seed)?;
        println!("{name}: {epochs} epochs, batch 128, {}", optimizer.name());
        let start = Instant::now();
        let options = FitOptions {
            epochs,
            batch_size: 128,
            optimizer,
            verbose: Verbose::Epoch,
            seed,
            ..Default::default()
        };
        fit(&layers, shape, &mut weights, &train, options)?;
        let per_epoch = start.elapsed().as_secs_f64() / epochs as f64;
        let loss = Loss::SparseCategoricalCrossentropy { from_logits: false };
        let e = evaluate(&layers, shape, &weights, &test, loss, 128)?;
        println!(
            "{name}: {per_epoch:.3} s/epoch, test accuracy {:.4}, test loss {:.4}",
            e.accuracy, e.loss
        );
    }
    Ok(())
}
