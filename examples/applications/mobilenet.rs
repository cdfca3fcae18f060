//! `keras.applications.MobileNet(weights=None)`: 224×224×3 in, 1000 classes, `alpha = 1`,
//! Keras's layer names (`conv_dw_1`, `conv_pw_1_bn`), so Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// MobileNet (Howard et al., 2017), as keras.applications builds it.
    pub struct MobileNet {
        /// Keras's `_depthwise_conv_block`: a 3×3 depthwise and a 1×1 pointwise
        /// convolution, each batch-normalized under `ReLU(6)`; padded first when strided.
        fn dw_block(x, filters, block_id, stride = 1) {
            let x = if stride == 1 { x } else {
                ZeroPadding2D(((0, 1), (0, 1)), name = "conv_pad_{block_id}")(x)
            };
            let pad = if stride == 1 { "same" } else { "valid" };
            let x = DepthwiseConv2D((3, 3), padding = pad, strides = stride, use_bias = false, name = "conv_dw_{block_id}")(x);
            let x = BatchNormalization(name = "conv_dw_{block_id}_bn")(x);
            let x = ReLU(6.0, name = "conv_dw_{block_id}_relu")(x);
            let x = Conv2D(filters, (1, 1), padding = same, use_bias = false, name = "conv_pw_{block_id}")(x);
            let x = BatchNormalization(name = "conv_pw_{block_id}_bn")(x);
            ReLU(6.0, name = "conv_pw_{block_id}_relu")(x)
        }
        let input = Input([224, 224, 3]);
        let x = Conv2D(32, (3, 3), padding = same, use_bias = false, strides = (2, 2), name = "conv1")(input);
        let x = BatchNormalization(name = "conv1_bn")(x);
        let mut x = ReLU(6.0, name = "conv1_relu")(x);
        let blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
            (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)];
        for i in 0..len(blocks) {
            x = dw_block(x, blocks[i].0, i + 1, stride = blocks[i].1);
        }
        let x = GlobalAveragePooling2D(keepdims = true)(x);
        let x = Dropout(1e-3, name = "dropout")(x);
        let x = Conv2D(1000, (1, 1), padding = same, name = "conv_preds")(x);
        let x = Reshape([1000], name = "reshape_2")(x);
        Activation(softmax, name = "predictions")(x)
    }
}

// keras.applications.MobileNet(weights=None) (tests/data/applications/mobilenet.txt).
const_assert_eq!(MobileNet::PARAMS, 4_253_864);
const_assert_eq!(MobileNet::TRAINABLE_PARAMS, 4_231_976);
const_assert_eq!(MobileNet::NON_TRAINABLE_PARAMS, 21_888);
