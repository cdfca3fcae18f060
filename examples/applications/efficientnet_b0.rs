//! `keras.applications.EfficientNetB0(weights=None)`: 224×224×3 in, 1000 classes, Keras's
//! layer names (`block2b_se_excite`), so Keras's weights load by name.
//!
//! One difference, in training only: Keras's `blockNx_drop` layers are `Dropout(rate,
//! noise_shape=(None, 1, 1, 1))`, which drops whole samples; the DSL's `Dropout` has no
//! `noise_shape` and drops values. Both are the identity in inference.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// EfficientNet-B0 (Tan and Le, 2019), as keras.applications builds it.
    pub struct EfficientNetB0 {
        /// Keras's `block`: an inverted residual block with a squeeze-and-excite gate.
        fn block(inputs, drop_rate, name, filters_in, filters_out, kernel_size, strides, expand_ratio) {
            let filters = filters_in * expand_ratio;
            let x = if expand_ratio != 1 {
                let x = Conv2D(filters, 1, padding = same, use_bias = false, name = "{name}expand_conv")(inputs);
                let x = BatchNormalization(name = "{name}expand_bn")(x);
                Activation(swish, name = "{name}expand_activation")(x)
            } else {
                inputs
            };
            // Keras's `correct_pad` on the even sizes met here.
            let (lo, hi) = (kernel_size / 2 - 1, kernel_size / 2);
            let x = if strides == 2 {
                ZeroPadding2D(((lo, hi), (lo, hi)), name = "{name}dwconv_pad")(x)
            } else {
                x
            };
            let pad = if strides == 2 { "valid" } else { "same" };
            let x = DepthwiseConv2D(kernel_size, strides = strides, padding = pad, use_bias = false, name = "{name}dwconv")(x);
            let x = BatchNormalization(name = "{name}bn")(x);
            let x = Activation(swish, name = "{name}activation")(x);
            let se = GlobalAveragePooling2D(name = "{name}se_squeeze")(x);
            let se = Reshape((1, 1, filters), name = "{name}se_reshape")(se);
            let se = Conv2D(max(1, int(filters_in * 0.25)), 1, padding = same, activation = swish, name = "{name}se_reduce")(se);
            let se = Conv2D(filters, 1, padding = same, activation = sigmoid, name = "{name}se_expand")(se);
            let x = Multiply(name = "{name}se_excite")([x, se]);
            let x = Conv2D(filters_out, 1, padding = same, use_bias = false, name = "{name}project_conv")(x);
            let x = BatchNormalization(name = "{name}project_bn")(x);
            if strides == 1 && filters_in == filters_out {
                let x = if drop_rate > 0.0 { Dropout(drop_rate, name = "{name}drop")(x) } else { x };
                Add(name = "{name}add")([x, inputs])
            } else {
                x
            }
        }
        let input = Input([224, 224, 3]);
        let x = Rescaling(1.0 / 255.0)(input);
        let x = Normalization()(x);
        let x = ZeroPadding2D(((0, 1), (0, 1)), name = "stem_conv_pad")(x);
        let x = Conv2D(32, 3, strides = 2, padding = valid, use_bias = false, name = "stem_conv")(x);
        let x = BatchNormalization(name = "stem_bn")(x);
        let mut x = Activation(swish, name = "stem_activation")(x);
        // (kernel size, repeats, filters in, filters out, expansion, strides) per stage.
        let stages = [(3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
            (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1)];
        let letters = ["a", "b", "c", "d"];
        let mut b = 0;
        for i in 0..len(stages) {
            let (k, repeats, f_in, f_out, expand, s) = stages[i];
            for j in 0..repeats {
                let (f_in, s) = if j > 0 { (f_out, 1) } else { (f_in, s) };
                // Keras's drop-connect rate grows from 0 to 0.2 over the 16 blocks.
                x = block(x, 0.2 * b / 16.0, "block{i + 1}{letters[j]}_", f_in, f_out, k, s, expand);
                b = b + 1;
            }
        }
        let x = Conv2D(1280, 1, padding = same, use_bias = false, name = "top_conv")(x);
        let x = BatchNormalization(name = "top_bn")(x);
        let x = Activation(swish, name = "top_activation")(x);
        let x = GlobalAveragePooling2D(name = "avg_pool")(x);
        let x = Dropout(0.2, name = "top_dropout")(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.EfficientNetB0(weights=None) (tests/data/applications/efficientnet_b0.txt).
const_assert_eq!(EfficientNetB0::PARAMS, 5_330_571);
const_assert_eq!(EfficientNetB0::TRAINABLE_PARAMS, 5_288_548);
const_assert_eq!(EfficientNetB0::NON_TRAINABLE_PARAMS, 42_023);
