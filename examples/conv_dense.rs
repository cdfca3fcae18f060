//! Three convolutions followed by `Dense` without `Flatten`: as in Keras, `Dense` acts on
//! the last axis, so the output is a 218×218 map of 10 class scores.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// The seed article's fully convolutional classifier.
    pub struct ConvDense {
        input: [224, 224, 3],
        Conv2D(32, (3, 3), activation = relu),
        Conv2D(64, (3, 3), activation = relu),
        Conv2D(128, (3, 3), activation = relu),
        Dense(10, activation = softmax),
    }
}

const_assert_eq!(ConvDense::CONV2D.params, 896);
const_assert_eq!(ConvDense::CONV2D_1.params, 18_496);
const_assert_eq!(ConvDense::CONV2D_2.params, 73_856);
const_assert_eq!(ConvDense::DENSE.params, 1_290);
const_assert_eq!(ConvDense::OUTPUT_SHAPE[0], 218);
const_assert_eq!(ConvDense::OUTPUT_SHAPE[2], 10);

fn main() {
    println!("{}", ConvDense::summary().with_macs());
}
