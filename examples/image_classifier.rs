//! The seed article's 9-class image classifier: 256×256 RGB in, class probabilities out.
//! Prints its Keras summary; every figure in it was computed by the compiler.

use model::{model, Model};
use static_assertions::const_assert_eq;

model! {
    /// The 9-class image classifier: 256×256 RGB in, class probabilities out.
    pub struct ImageClassifier {
        input: [256, 256, 3],
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(3),
        Dropout(0.25),
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Dropout(0.25),
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Dropout(0.25),
        Flatten,
        hidden: Dense(512, activation = relu),
        Dropout(0.5),
        Dense(128, activation = relu),
        Dropout(0.5),
        Dense(9, activation = softmax),
    }
}

const_assert_eq!(ImageClassifier::PARAMS, 6_029_097);
const_assert_eq!(<ImageClassifier as Model>::TRAINABLE_PARAMS, 6_029_097);
const_assert_eq!(ImageClassifier::HIDDEN.params, 5_915_136);

fn main() {
    println!("{}", ImageClassifier::summary());
}
