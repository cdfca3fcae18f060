//! The seed article's search with Keras Tuner, in Rust: the hidden layer's width `units` in
//! 32…512 step 32 (16 candidates, each a type the compiler checked and counted), the
//! learning rate in {1e-2, 1e-3, 1e-4}, Hyperband with `max_epochs = 10` and `factor = 3`,
//! objective `val_accuracy`. Training: the 8,000 digits of `data/mnist`; validation: its
//! 2,000 test digits. Trials are kept in `target/tune_units` (delete it to search again).
//!
//!     cargo run --release --example tune_units [-- PARALLEL_TRIALS]

use model::data::Mnist;
use model::tune::{Objective, Tuner};
use model::{candidates, model};

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
    let parallel = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("PARALLEL_TRIALS must be a number, got {n}"))?,
        None => 1,
    };
    let data = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))?;
    let space = candidates!(Mlp<UNITS in 32..=512 step 32>);
    let result = Tuner::hyperband(space)
        .objective(Objective::max("val_accuracy"))
        .learning_rates([1e-2, 1e-3, 1e-4])
        .max_epochs(10)
        .seed(1)
        .parallel(parallel)
        .verbose(true)
        .directory(concat!(env!("CARGO_MANIFEST_DIR"), "/target/tune_units"))
        .search(&data.train, &data.test)?;
    println!("{}", result.summary());
    if let Some(best) = result.best_trial() {
        println!(
            "best: {} with learning rate {}, val_accuracy {:.4}; {} trials in {:.1}s",
            best.model,
            best.learning_rate,
            best.score,
            result.trials().len(),
            result.seconds()
        );
    }
    Ok(())
}
