//! `keras.applications.Xception(weights=None)`: 299×299×3 in, 1000 classes, Keras's layer
//! names (`block2_sepconv1`), so Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// Xception (Chollet, 2017), as keras.applications builds it.
    pub struct Xception {
        /// Two separable convolutions and a strided max-pooling, beside a strided 1×1
        /// projection of the input (Keras names the projection automatically).
        fn down(x, filters1, filters2, b, relu_first = true) {
            let residual = Conv2D(filters2, (1, 1), strides = (2, 2), padding = same, use_bias = false)(x);
            let residual = BatchNormalization()(residual);
            let x = if relu_first { Activation(relu, name = "block{b}_sepconv1_act")(x) } else { x };
            let x = SeparableConv2D(filters1, (3, 3), padding = same, use_bias = false, name = "block{b}_sepconv1")(x);
            let x = BatchNormalization(name = "block{b}_sepconv1_bn")(x);
            let x = Activation(relu, name = "block{b}_sepconv2_act")(x);
            let x = SeparableConv2D(filters2, (3, 3), padding = same, use_bias = false, name = "block{b}_sepconv2")(x);
            let x = BatchNormalization(name = "block{b}_sepconv2_bn")(x);
            let x = MaxPooling2D((3, 3), strides = (2, 2), padding = same, name = "block{b}_pool")(x);
            Add()([x, residual])
        }
        /// Keras's middle flow: three separable convolutions around an identity.
        fn middle(x, b) {
            let mut y = x;
            for j in 1..4 {
                y = Activation(relu, name = "block{b}_sepconv{j}_act")(y);
                y = SeparableConv2D(728, (3, 3), padding = same, use_bias = false, name = "block{b}_sepconv{j}")(y);
                y = BatchNormalization(name = "block{b}_sepconv{j}_bn")(y);
            }
            Add()([y, x])
        }
        let input = Input([299, 299, 3]);
        let x = Conv2D(32, (3, 3), strides = (2, 2), use_bias = false, name = "block1_conv1")(input);
        let x = BatchNormalization(name = "block1_conv1_bn")(x);
        let x = Activation(relu, name = "block1_conv1_act")(x);
        let x = Conv2D(64, (3, 3), use_bias = false, name = "block1_conv2")(x);
        let x = BatchNormalization(name = "block1_conv2_bn")(x);
        let x = Activation(relu, name = "block1_conv2_act")(x);
        let x = down(x, 128, 128, 2, relu_first = false);
        let x = down(x, 256, 256, 3);
        let mut x = down(x, 728, 728, 4);
        for i in 0..8 {
            x = middle(x, i + 5);
        }
        let x = down(x, 728, 1024, 13);
        let x = SeparableConv2D(1536, (3, 3), padding = same, use_bias = false, name = "block14_sepconv1")(x);
        let x = BatchNormalization(name = "block14_sepconv1_bn")(x);
        let x = Activation(relu, name = "block14_sepconv1_act")(x);
        let x = SeparableConv2D(2048, (3, 3), padding = same, use_bias = false, name = "block14_sepconv2")(x);
        let x = BatchNormalization(name = "block14_sepconv2_bn")(x);
        let x = Activation(relu, name = "block14_sepconv2_act")(x);
        let x = GlobalAveragePooling2D(name = "avg_pool")(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.Xception(weights=None) (tests/data/applications/xception.txt).
const_assert_eq!(Xception::PARAMS, 22_910_480);
const_assert_eq!(Xception::TRAINABLE_PARAMS, 22_855_952);
const_assert_eq!(Xception::NON_TRAINABLE_PARAMS, 54_528);
