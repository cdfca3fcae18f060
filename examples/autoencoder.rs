//! The seed article's 514 → 514 → 257 network: 264,710 + 132,355 = 397,065 parameters.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// Two dense layers with a linear activation between them.
    pub struct Spectral {
        input: [514],
        Dense(514),
        Activation(linear),
        Dense(257),
    }
}

const_assert_eq!(Spectral::DENSE.params, 264_710);
const_assert_eq!(Spectral::DENSE_1.params, 132_355);
const_assert_eq!(Spectral::PARAMS, 397_065);

fn main() {
    println!("{}", Spectral::summary());
}
