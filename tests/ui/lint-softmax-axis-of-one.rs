#![deny(deprecated)]
use model::model;

model! {
    struct Binary {
        input: [20],
        Dense(1, activation = softmax),
    }
}

fn main() {}
