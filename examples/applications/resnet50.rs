//! `keras.applications.ResNet50(weights=None)`: 224×224×3 in, 1000 classes, Keras's layer
//! names (`conv2_block1_1_conv`), so Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// ResNet50 (He et al., 2015), as keras.applications builds it.
    pub struct ResNet50 {
        /// Keras's `residual_block_v1`: a 1×1, 3×3, 1×1 bottleneck around a shortcut,
        /// projected (`_0_conv`) in a stage's first block.
        fn block(x, filters, stride = 1, conv_shortcut = true, name = "") {
            let shortcut = if conv_shortcut {
                let s = Conv2D(4 * filters, 1, strides = stride, name = name + "_0_conv")(x);
                BatchNormalization(epsilon = 1.001e-5, name = name + "_0_bn")(s)
            } else {
                x
            };
            let y = Conv2D(filters, 1, strides = stride, name = name + "_1_conv")(x);
            let y = BatchNormalization(epsilon = 1.001e-5, name = name + "_1_bn")(y);
            let y = Activation(relu, name = name + "_1_relu")(y);
            let y = Conv2D(filters, 3, padding = same, name = name + "_2_conv")(y);
            let y = BatchNormalization(epsilon = 1.001e-5, name = name + "_2_bn")(y);
            let y = Activation(relu, name = name + "_2_relu")(y);
            let y = Conv2D(4 * filters, 1, name = name + "_3_conv")(y);
            let y = BatchNormalization(epsilon = 1.001e-5, name = name + "_3_bn")(y);
            let y = Add(name = name + "_add")([shortcut, y]);
            Activation(relu, name = name + "_out")(y)
        }
        /// Keras's `stack_residual_blocks_v1`.
        fn stack(x, filters, blocks, stride = 2, name = "") {
            let mut x = block(x, filters, stride = stride, name = name + "_block1");
            for i in 2..blocks + 1 {
                x = block(x, filters, conv_shortcut = false, name = "{name}_block{i}");
            }
            x
        }
        let input = Input([224, 224, 3]);
        let x = ZeroPadding2D(((3, 3), (3, 3)), name = "conv1_pad")(input);
        let x = Conv2D(64, 7, strides = 2, name = "conv1_conv")(x);
        let x = BatchNormalization(epsilon = 1.001e-5, name = "conv1_bn")(x);
        let x = Activation(relu, name = "conv1_relu")(x);
        let x = ZeroPadding2D(((1, 1), (1, 1)), name = "pool1_pad")(x);
        let x = MaxPooling2D(3, strides = 2, name = "pool1_pool")(x);
        let x = stack(x, 64, 3, stride = 1, name = "conv2");
        let x = stack(x, 128, 4, name = "conv3");
        let x = stack(x, 256, 6, name = "conv4");
        let x = stack(x, 512, 3, name = "conv5");
        let x = GlobalAveragePooling2D(name = "avg_pool")(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.ResNet50(weights=None) (tests/data/applications/resnet50.txt).
const_assert_eq!(ResNet50::PARAMS, 25_636_712);
const_assert_eq!(ResNet50::TRAINABLE_PARAMS, 25_583_592);
const_assert_eq!(ResNet50::NON_TRAINABLE_PARAMS, 53_120);
