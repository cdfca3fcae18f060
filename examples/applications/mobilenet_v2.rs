//! `keras.applications.MobileNetV2(weights=None)`: 224×224×3 in, 1000 classes,
//! `alpha = 1`, Keras's layer names (`block_1_expand`, `expanded_conv_project_BN`), so
//! Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// MobileNetV2 (Sandler et al., 2018), as keras.applications builds it.
    pub struct MobileNetV2 {
        /// Keras's `_inverted_res_block`: expand (not in block 0), depthwise, project; a
        /// residual addition where the shape allows it.
        fn inverted_res_block(inputs, expansion, stride, filters, block_id) {
            let in_channels = inputs.shape[-1];
            let prefix = if block_id > 0 { "block_{block_id}_" } else { "expanded_conv_" };
            let x = if block_id > 0 {
                let x = Conv2D(expansion * in_channels, kernel_size = 1, padding = same, use_bias = false, name = "{prefix}expand")(inputs);
                let x = BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "{prefix}expand_BN")(x);
                ReLU(6.0, name = "{prefix}expand_relu")(x)
            } else {
                inputs
            };
            // Keras's `correct_pad` on the even sizes met here: one row and column after.
            let x = if stride == 2 { ZeroPadding2D(((0, 1), (0, 1)), name = "{prefix}pad")(x) } else { x };
            let pad = if stride == 1 { "same" } else { "valid" };
            let x = DepthwiseConv2D(kernel_size = 3, strides = stride, use_bias = false, padding = pad, name = "{prefix}depthwise")(x);
            let x = BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "{prefix}depthwise_BN")(x);
            let x = ReLU(6.0, name = "{prefix}depthwise_relu")(x);
            let x = Conv2D(filters, kernel_size = 1, padding = same, use_bias = false, name = "{prefix}project")(x);
            let x = BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "{prefix}project_BN")(x);
            if in_channels == filters && stride == 1 { Add(name = "{prefix}add")([inputs, x]) } else { x }
        }
        let input = Input([224, 224, 3]);
        let x = Conv2D(32, kernel_size = 3, strides = (2, 2), padding = same, use_bias = false, name = "Conv1")(input);
        let x = BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "bn_Conv1")(x);
        let mut x = ReLU(6.0, name = "Conv1_relu")(x);
        // (filters, stride, expansion) of blocks 0 to 16.
        let blocks = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
            (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
            (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)];
        for i in 0..len(blocks) {
            let (filters, stride, expansion) = blocks[i];
            x = inverted_res_block(x, expansion, stride, filters, i);
        }
        let x = Conv2D(1280, kernel_size = 1, use_bias = false, name = "Conv_1")(x);
        let x = BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "Conv_1_bn")(x);
        let x = ReLU(6.0, name = "out_relu")(x);
        let x = GlobalAveragePooling2D()(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.MobileNetV2(weights=None) (tests/data/applications/mobilenet_v2.txt).
const_assert_eq!(MobileNetV2::PARAMS, 3_538_984);
const_assert_eq!(MobileNetV2::TRAINABLE_PARAMS, 3_504_872);
const_assert_eq!(MobileNetV2::NON_TRAINABLE_PARAMS, 34_112);
