//! `keras.applications.MobileNetV3Small(weights=None)` at 224×224×3 (its default input has
//! no sizes; its counts do not depend on them), 1000 classes, Keras's layer names
//! (`expanded_conv_3_squeeze_excite_conv`), so Keras's weights load by name.
//!
//! Its hard sigmoid is written as Keras writes it, `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`:
//! Keras's operations `add` and `multiply`, rows of their own in the summary.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// MobileNetV3-Small (Howard et al., 2019), as keras.applications builds it.
    pub struct MobileNetV3Small {
        /// Keras's `_depth`: a multiple of 8, at least 8, within 10 % of `v`.
        fn depth(v) {
            let d = max(8, int(v + 4) / 8 * 8);
            if d < 0.9 * v { d + 8 } else { d }
        }
        fn activation(x, kind) {
            if kind == "relu" { ReLU()(x) } else { Activation(hard_swish)(x) }
        }
        fn hard_sigmoid(x) {
            ReLU(6.0)(x + 3.0) * (1.0 / 6.0)
        }
        /// Keras's `_se_block`.
        fn se_block(inputs, filters, prefix) {
            let x = GlobalAveragePooling2D(keepdims = true, name = "{prefix}squeeze_excite_avg_pool")(inputs);
            let x = Conv2D(depth(filters * 0.25), kernel_size = 1, padding = same, name = "{prefix}squeeze_excite_conv")(x);
            let x = ReLU(name = "{prefix}squeeze_excite_relu")(x);
            let x = Conv2D(filters, kernel_size = 1, padding = same, name = "{prefix}squeeze_excite_conv_1")(x);
            Multiply(name = "{prefix}squeeze_excite_mul")([inputs, hard_sigmoid(x)])
        }
        /// Keras's `_inverted_res_block`.
        fn block(x, expansion, filters, kernel_size, stride, se, act, block_id) {
            let shortcut = x;
            let infilters = x.shape[-1];
            let prefix = if block_id > 0 { "expanded_conv_{block_id}_" } else { "expanded_conv_" };
            let x = if block_id > 0 {
                let x = Conv2D(depth(infilters * expansion), kernel_size = 1, padding = same, use_bias = false, name = "{prefix}expand")(x);
                activation(BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "{prefix}expand_bn")(x), act)
            } else {
                x
            };
            // Keras's `correct_pad` on the even sizes met here.
            let (lo, hi) = (kernel_size / 2 - 1, kernel_size / 2);
            let x = if stride == 2 { ZeroPadding2D(((lo, hi), (lo, hi)), name = "{prefix}depthwise_pad")(x) } else { x };
            let pad = if stride == 1 { "same" } else { "valid" };
            let x = DepthwiseConv2D(kernel_size, strides = stride, padding = pad, use_bias = false, name = "{prefix}depthwise")(x);
            let x = activation(BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "{prefix}depthwise_bn")(x), act);
            let x = if se { se_block(x, depth(infilters * expansion), prefix) } else { x };
            let x = Conv2D(filters, kernel_size = 1, padding = same, use_bias = false, name = "{prefix}project")(x);
            let x = BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "{prefix}project_bn")(x);
            if stride == 1 && infilters == filters { Add(name = "{prefix}add")([shortcut, x]) } else { x }
        }
        let input = Input([224, 224, 3]);
        let x = Rescaling(scale = 1.0 / 127.5, offset = -1.0)(input);
        let x = Conv2D(16, kernel_size = 3, strides = (2, 2), padding = same, use_bias = false, name = "conv")(x);
        let mut x = activation(BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "conv_bn")(x), "hard_swish");
        // (expansion, filters, kernel, stride, squeeze-excite, activation) of blocks 0 to 10.
        let blocks = [(1, 16, 3, 2, true, "relu"), (72.0 / 16, 24, 3, 2, false, "relu"),
            (88.0 / 24, 24, 3, 1, false, "relu"), (4, 40, 5, 2, true, "hard_swish"),
            (6, 40, 5, 1, true, "hard_swish"), (6, 40, 5, 1, true, "hard_swish"),
            (3, 48, 5, 1, true, "hard_swish"), (3, 48, 5, 1, true, "hard_swish"),
            (6, 96, 5, 2, true, "hard_swish"), (6, 96, 5, 1, true, "hard_swish"),
            (6, 96, 5, 1, true, "hard_swish")];
        for i in 0..len(blocks) {
            let (expansion, filters, kernel, stride, se, act) = blocks[i];
            x = block(x, expansion, filters, kernel, stride, se, act, i);
        }
        let x = Conv2D(depth(x.shape[-1] * 6), kernel_size = 1, padding = same, use_bias = false, name = "conv_1")(x);
        let x = activation(BatchNormalization(epsilon = 1e-3, momentum = 0.999, name = "conv_1_bn")(x), "hard_swish");
        let x = GlobalAveragePooling2D(keepdims = true)(x);
        let x = activation(Conv2D(1024, kernel_size = 1, padding = same, use_bias = true, name = "conv_2")(x), "hard_swish");
        let x = Dropout(0.2)(x);
        let x = Conv2D(1000, kernel_size = 1, padding = same, name = "logits")(x);
        let x = Flatten()(x);
        Activation(softmax, name = "predictions")(x)
    }
}

// keras.applications.MobileNetV3Small(weights=None)
// (tests/data/applications/mobilenet_v3_small.txt).
const_assert_eq!(MobileNetV3Small::PARAMS, 2_554_968);
const_assert_eq!(MobileNetV3Small::TRAINABLE_PARAMS, 2_542_856);
const_assert_eq!(MobileNetV3Small::NON_TRAINABLE_PARAMS, 12_112);
