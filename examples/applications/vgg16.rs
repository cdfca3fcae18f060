//! `keras.applications.VGG16(weights=None)`: 224×224×3 in, 1000 classes, Keras's layer
//! names (`block1_conv1`, `fc1`), so Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// VGG16 (Simonyan and Zisserman, 2014), as keras.applications builds it.
    pub struct Vgg16 {
        let input = Input([224, 224, 3]);
        let mut x = input;
        for (b, filters, convs) in [(1, 64, 2), (2, 128, 2), (3, 256, 3), (4, 512, 3), (5, 512, 3)] {
            for i in 1..convs + 1 {
                x = Conv2D(filters, (3, 3), activation = relu, padding = same, name = "block{b}_conv{i}")(x);
            }
            x = MaxPooling2D((2, 2), strides = (2, 2), name = "block{b}_pool")(x);
        }
        let x = Flatten(name = "flatten")(x);
        let x = Dense(4096, activation = relu, name = "fc1")(x);
        let x = Dense(4096, activation = relu, name = "fc2")(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.VGG16(weights=None) (tests/data/applications/vgg16.txt).
const_assert_eq!(Vgg16::PARAMS, 138_357_544);
const_assert_eq!(Vgg16::TRAINABLE_PARAMS, 138_357_544);
const_assert_eq!(Vgg16::NON_TRAINABLE_PARAMS, 0);
