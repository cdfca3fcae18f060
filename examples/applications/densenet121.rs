//! `keras.applications.DenseNet121(weights=None)`: 224×224×3 in, 1000 classes, Keras's
//! layer names (`conv2_block1_0_bn`), so Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// DenseNet121 (Huang et al., 2016), as keras.applications builds it.
    pub struct DenseNet121 {
        /// Keras's `conv_block`: a bottleneck whose 32 new channels join its input.
        fn conv_block(x, growth_rate, name) {
            let y = BatchNormalization(epsilon = 1.001e-5, name = "{name}_0_bn")(x);
            let y = Activation(relu, name = "{name}_0_relu")(y);
            let y = Conv2D(4 * growth_rate, 1, use_bias = false, name = "{name}_1_conv")(y);
            let y = BatchNormalization(epsilon = 1.001e-5, name = "{name}_1_bn")(y);
            let y = Activation(relu, name = "{name}_1_relu")(y);
            let y = Conv2D(growth_rate, 3, padding = same, use_bias = false, name = "{name}_2_conv")(y);
            Concatenate(axis = 3, name = "{name}_concat")([x, y])
        }
        /// Keras's `dense_block`.
        fn dense_block(x, blocks, name) {
            let mut x = x;
            for i in 0..blocks {
                x = conv_block(x, 32, "{name}_block{i + 1}");
            }
            x
        }
        /// Keras's `transition_block`: half the channels, half the size.
        fn transition_block(x, reduction, name) {
            let x = BatchNormalization(epsilon = 1.001e-5, name = "{name}_bn")(x);
            let x = Activation(relu, name = "{name}_relu")(x);
            let x = Conv2D(int(x.shape[-1] * reduction), 1, use_bias = false, name = "{name}_conv")(x);
            AveragePooling2D(2, strides = 2, name = "{name}_pool")(x)
        }
        let input = Input([224, 224, 3]);
        let x = ZeroPadding2D(((3, 3), (3, 3)))(input);
        let x = Conv2D(64, 7, strides = 2, use_bias = false, name = "conv1_conv")(x);
        let x = BatchNormalization(epsilon = 1.001e-5, name = "conv1_bn")(x);
        let x = Activation(relu, name = "conv1_relu")(x);
        let x = ZeroPadding2D(((1, 1), (1, 1)))(x);
        let mut x = MaxPooling2D(3, strides = 2, name = "pool1")(x);
        for (stage, blocks) in [(2, 6), (3, 12), (4, 24)] {
            x = dense_block(x, blocks, "conv{stage}");
            x = transition_block(x, 0.5, "pool{stage}");
        }
        let x = dense_block(x, 16, "conv5");
        let x = BatchNormalization(epsilon = 1.001e-5, name = "bn")(x);
        let x = Activation(relu, name = "relu")(x);
        let x = GlobalAveragePooling2D(name = "avg_pool")(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.DenseNet121(weights=None) (tests/data/applications/densenet121.txt).
const_assert_eq!(DenseNet121::PARAMS, 8_062_504);
const_assert_eq!(DenseNet121::TRAINABLE_PARAMS, 7_978_856);
const_assert_eq!(DenseNet121::NON_TRAINABLE_PARAMS, 83_648);
