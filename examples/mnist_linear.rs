//! The seed article's MNIST linear classifier (Theano channel order): 7,850 parameters.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// Flatten the 1×28×28 image, one dense layer, softmax.
    pub struct MnistLinear {
        input: [1, 28, 28],
        Flatten,
        Dense(10),
        Activation(softmax),
    }
}

const_assert_eq!(MnistLinear::PARAMS, 7_850);

fn main() {
    println!("{}", MnistLinear::summary());
}
