//! `keras.applications.InceptionV3(weights=None)`: 299×299×3 in, 1000 classes, Keras's
//! layer names (the automatic `conv2d_12` and the blocks' `mixed5`), made in Keras's
//! order, so Keras's weights load by name.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// Inception v3 (Szegedy et al., 2015), as keras.applications builds it.
    pub struct InceptionV3 {
        /// Keras's `conv2d_bn`: a convolution without bias, batch normalization without
        /// scale, ReLU.
        fn conv_bn(x, filters, rows, cols, padding = "same", strides = 1) {
            let x = Conv2D(filters, (rows, cols), strides = strides, padding = padding, use_bias = false)(x);
            let x = BatchNormalization(scale = false)(x);
            Activation(relu)(x)
        }
        fn pool_branch(x, filters) {
            conv_bn(AveragePooling2D((3, 3), strides = (1, 1), padding = same)(x), filters, 1, 1)
        }
        /// mixed0 to mixed2: 1×1, 5×5, double 3×3 and pooling branches.
        fn block_a(x, pool_filters, name) {
            let b1 = conv_bn(x, 64, 1, 1);
            let b5 = conv_bn(conv_bn(x, 48, 1, 1), 64, 5, 5);
            let b3 = conv_bn(conv_bn(conv_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
            let bp = pool_branch(x, pool_filters);
            Concatenate(axis = 3, name = name)([b1, b5, b3, bp])
        }
        /// mixed4 to mixed7: factorized 7×7 branches of `c` channels.
        fn block_c(x, c, name) {
            let b1 = conv_bn(x, 192, 1, 1);
            let b7 = conv_bn(conv_bn(conv_bn(x, c, 1, 1), c, 1, 7), 192, 7, 1);
            let mut bd = conv_bn(x, c, 1, 1);
            for (f, r, k) in [(c, 7, 1), (c, 1, 7), (c, 7, 1), (192, 1, 7)] {
                bd = conv_bn(bd, f, r, k);
            }
            let bp = pool_branch(x, 192);
            Concatenate(axis = 3, name = name)([b1, b7, bd, bp])
        }
        /// mixed9 and mixed10: split 3×3 branches.
        fn block_e(x, i) {
            let b1 = conv_bn(x, 320, 1, 1);
            let b3 = conv_bn(x, 384, 1, 1);
            let b3 = Concatenate(axis = 3, name = "mixed9_{i}")([conv_bn(b3, 384, 1, 3), conv_bn(b3, 384, 3, 1)]);
            let bd = conv_bn(conv_bn(x, 448, 1, 1), 384, 3, 3);
            let bd = Concatenate(axis = 3)([conv_bn(bd, 384, 1, 3), conv_bn(bd, 384, 3, 1)]);
            let bp = pool_branch(x, 192);
            Concatenate(axis = 3, name = "mixed{9 + i}")([b1, b3, bd, bp])
        }
        let input = Input([299, 299, 3]);
        let x = conv_bn(input, 32, 3, 3, strides = (2, 2), padding = "valid");
        let x = conv_bn(x, 32, 3, 3, padding = "valid");
        let x = conv_bn(x, 64, 3, 3);
        let x = MaxPooling2D((3, 3), strides = (2, 2))(x);
        let x = conv_bn(x, 80, 1, 1, padding = "valid");
        let x = conv_bn(x, 192, 3, 3, padding = "valid");
        let x = MaxPooling2D((3, 3), strides = (2, 2))(x);
        let x = block_a(x, 32, "mixed0");
        let x = block_a(x, 64, "mixed1");
        let x = block_a(x, 64, "mixed2");
        // mixed3: strided 3×3 branches and a max-pooling.
        let b3 = conv_bn(x, 384, 3, 3, strides = (2, 2), padding = "valid");
        let bd = conv_bn(conv_bn(conv_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides = (2, 2), padding = "valid");
        let bp = MaxPooling2D((3, 3), strides = (2, 2))(x);
        let mut x = Concatenate(axis = 3, name = "mixed3")([b3, bd, bp]);
        for (c, i) in [(128, 4), (160, 5), (160, 6), (192, 7)] {
            x = block_c(x, c, "mixed{i}");
        }
        // mixed8: strided 3×3 and 7×7×3 branches and a max-pooling.
        let b3 = conv_bn(conv_bn(x, 192, 1, 1), 320, 3, 3, strides = (2, 2), padding = "valid");
        let b7 = conv_bn(conv_bn(conv_bn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1);
        let b7 = conv_bn(b7, 192, 3, 3, strides = (2, 2), padding = "valid");
        let bp = MaxPooling2D((3, 3), strides = (2, 2))(x);
        let x = Concatenate(axis = 3, name = "mixed8")([b3, b7, bp]);
        let x = block_e(block_e(x, 0), 1);
        let x = GlobalAveragePooling2D(name = "avg_pool")(x);
        Dense(1000, activation = softmax, name = "predictions")(x)
    }
}

// keras.applications.InceptionV3(weights=None) (tests/data/applications/inception_v3.txt).
const_assert_eq!(InceptionV3::PARAMS, 23_851_784);
const_assert_eq!(InceptionV3::TRAINABLE_PARAMS, 23_817_352);
const_assert_eq!(InceptionV3::NON_TRAINABLE_PARAMS, 34_432);
