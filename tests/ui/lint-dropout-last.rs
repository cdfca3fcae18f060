#![deny(deprecated)]
use model::model;

model! {
    struct Noisy {
        input: [20],
        Dense(4),
        Dropout(0.5),
    }
}

fn main() {}
