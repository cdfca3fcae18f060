//! `keras.applications.ConvNeXtTiny(weights=None)`: 224×224×3 in, 1000 classes, Keras's
//! layer names (`convnext_tiny_stage_0_block_0_depthwise_conv`), so Keras's weights load
//! by name. Its stem and downsampling blocks are `Sequential`s nested in the model, as
//! Keras builds them: one summary row each.
//!
//! Keras writes each block's residual as `inputs + layer(x)`, its operation `Add` of two
//! tensors; here it is the `Add` layer, of the same class, name and (no) parameters.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// ConvNeXt-Tiny (Liu et al., 2022), as keras.applications builds it.
    pub struct ConvNeXtTiny {
        /// Keras's `ConvNeXtBlock` with its defaults: no stochastic depth (an identity in
        /// its place), layer scale from 1e-6.
        fn convnext_block(inputs, dim, name) {
            let x = Conv2D(filters = dim, kernel_size = 7, padding = same, groups = dim, name = "{name}_depthwise_conv")(inputs);
            let x = LayerNormalization(epsilon = 1e-6, name = "{name}_layernorm")(x);
            let x = Dense(4 * dim, name = "{name}_pointwise_conv_1")(x);
            let x = Activation(gelu, name = "{name}_gelu")(x);
            let x = Dense(dim, name = "{name}_pointwise_conv_2")(x);
            let x = LayerScale(1e-6, dim, name = "{name}_layer_scale")(x);
            let x = Activation(linear, name = "{name}_identity")(x);
            Add()([inputs, x])
        }
        let input = Input([224, 224, 3]);
        let name = "convnext_tiny";
        let x = Normalization(
            mean = [0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance = [0.229 * 255 * (0.229 * 255), 0.224 * 255 * (0.224 * 255), 0.225 * 255 * (0.225 * 255)],
            name = "{name}_prestem_normalization",
        )(input);
        let (depths, dims) = ([3, 3, 9, 3], [96, 192, 384, 768]);
        let stem = Sequential([
            Conv2D(dims[0], kernel_size = 4, strides = 4, name = "{name}_stem_conv"),
            LayerNormalization(epsilon = 1e-6, name = "{name}_stem_layernorm"),
        ], name = "{name}_stem");
        let mut downsample = [stem];
        for i in 0..3 {
            downsample = downsample + [Sequential([
                LayerNormalization(epsilon = 1e-6, name = "{name}_downsampling_layernorm_{i}"),
                Conv2D(dims[i + 1], kernel_size = 2, strides = 2, name = "{name}_downsampling_conv_{i}"),
            ], name = "{name}_downsampling_block_{i}")];
        }
        let mut x = x;
        for i in 0..4 {
            x = downsample[i](x);
            for j in 0..depths[i] {
                x = convnext_block(x, dims[i], "{name}_stage_{i}_block_{j}");
            }
        }
        let x = GlobalAveragePooling2D(name = "{name}_head_gap")(x);
        let x = LayerNormalization(epsilon = 1e-6, name = "{name}_head_layernorm")(x);
        Dense(1000, activation = softmax, name = "{name}_head_dense")(x)
    }
}

// keras.applications.ConvNeXtTiny(weights=None) (tests/data/applications/convnext_tiny.txt).
const_assert_eq!(ConvNeXtTiny::PARAMS, 28_589_128);
const_assert_eq!(ConvNeXtTiny::TRAINABLE_PARAMS, 28_589_128);
const_assert_eq!(ConvNeXtTiny::NON_TRAINABLE_PARAMS, 0);
