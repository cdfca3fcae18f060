//! Trains the MNIST MLP of the Keras benchmark (`../shared/bench`): Flatten,
//! Dense(128, relu), Dense(10, softmax); Adam, batch 128, 10 epochs, sparse categorical
//! cross-entropy; on the 8,000 / 2,000 digits in `data/mnist`. Prints Keras's progress bar,
//! the test accuracy and the summary.
//!
//!     cargo run --release --example mnist

use model::data::Mnist;
use model::{model, Adam, FitOptions, Loss};

model! {
    /// A hidden layer of `UNITS` neurons between the pixels and the ten classes.
    pub struct Mlp<const UNITS: usize> {
        input: [28, 28],
        Flatten,
        Dense(UNITS, activation = relu),
        Dense(10, activation = softmax),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))?;
    let mut model = Mlp::<128>::init(1);
    let loss = Loss::SparseCategoricalCrossentropy { from_logits: false };
    let history = model.fit(
        &data.train,
        FitOptions {
            epochs: 10,
            batch_size: 128,
            optimizer: Box::new(Adam::default()),
            loss,
            validation: Some(&data.test),
            seed: 1,
            ..Default::default()
        },
    )?;
    let report = model.evaluate(&data.test, loss)?;
    println!();
    println!("{}", Mlp::<128>::summary());
    println!(
        "test accuracy: {:.4} - test loss: {:.4} (Keras on the same split: 0.9455)",
        report.accuracy, report.loss
    );
    if let Some(acc) = history.get("val_accuracy") {
        println!("validation accuracy by epoch: {acc:.4?}");
    }
    Ok(())
}
