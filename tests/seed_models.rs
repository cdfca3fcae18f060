//! The seed articles' models: every figure asserted at compile time, and the summary byte
//! for byte.

use model::{model, Model};
use static_assertions::const_assert_eq;

model! {
    /// The 9-class image classifier of the seed article.
    pub struct ImageClassifier {
        input: [256, 256, 3],
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(3),
        Dropout(0.25),
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Dropout(0.25),
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Dropout(0.25),
        Flatten,
        hidden: Dense(512, activation = relu),
        Dropout(0.5),
        Dense(128, activation = relu),
        Dropout(0.5),
        Dense(9, activation = softmax),
    }
}

const_assert_eq!(ImageClassifier::PARAMS, 6_029_097);
const_assert_eq!(<ImageClassifier as Model>::TRAINABLE_PARAMS, 6_029_097);
const_assert_eq!(ImageClassifier::NON_TRAINABLE_PARAMS, 0);
const_assert_eq!(ImageClassifier::PARAM_BYTES, 24_116_388);
const_assert_eq!(ImageClassifier::HIDDEN.params, 5_915_136);
const_assert_eq!(ImageClassifier::CONV2D_1.output_shape.dim(0), 254);
const_assert_eq!(ImageClassifier::MAX_POOLING2D.output_shape.dim(0), 84);
const_assert_eq!(ImageClassifier::MAX_POOLING2D_2.output_shape.dim(0), 19);
const_assert_eq!(ImageClassifier::FLATTEN.output_shape.dim(0), 11_552);
const_assert_eq!(ImageClassifier::LAYERS.len(), 18);
const_assert_eq!(ImageClassifier::OUTPUT_SHAPE[0], 9);
const_assert_eq!(ImageClassifier::INPUT_SHAPE[2], 3);

/// Usable anywhere a `const` goes, e.g. an array length.
const _WEIGHTS_OF_HIDDEN: [u8; ImageClassifier::HIDDEN.trainable / 1_000_000] = [0; 5];

#[test]
fn image_classifier_per_layer_figures_match_the_seed_table() {
    let params: Vec<usize> = ImageClassifier::LAYERS.iter().map(|l| l.params).collect();
    assert_eq!(
        params,
        [
            896, 9_248, 0, 0, 9_248, 9_248, 0, 0, 9_248, 9_248, 0, 0, 0, 5_915_136, 0, 65_664, 0,
            1_161
        ]
    );
    let shapes: Vec<Vec<usize>> = ImageClassifier::LAYERS
        .iter()
        .map(|l| l.output_shape.dims().to_vec())
        .collect();
    assert_eq!(
        shapes,
        [
            vec![256, 256, 32],
            vec![254, 254, 32],
            vec![84, 84, 32],
            vec![84, 84, 32],
            vec![84, 84, 32],
            vec![82, 82, 32],
            vec![41, 41, 32],
            vec![41, 41, 32],
            vec![41, 41, 32],
            vec![39, 39, 32],
            vec![19, 19, 32],
            vec![19, 19, 32],
            vec![11_552],
            vec![512],
            vec![512],
            vec![128],
            vec![128],
            vec![9],
        ]
    );
    let names: Vec<&str> = ImageClassifier::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(
        &names[..4],
        ["conv2d", "conv2d_1", "max_pooling2d", "dropout"]
    );
    assert_eq!(
        &names[13..],
        ["hidden", "dropout_3", "dense", "dropout_4", "dense_1"]
    );
    assert_eq!(ImageClassifier::LAYERS[2].kind, "MaxPooling2D");
}

#[test]
fn image_classifier_summary_is_keras_table() {
    let expected = "\
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
conv2d (Conv2D)              (None, 256, 256, 32)      896
_________________________________________________________________
conv2d_1 (Conv2D)            (None, 254, 254, 32)      9248
_________________________________________________________________
max_pooling2d (MaxPooling2D) (None, 84, 84, 32)        0
_________________________________________________________________
dropout (Dropout)            (None, 84, 84, 32)        0
_________________________________________________________________
conv2d_2 (Conv2D)            (None, 84, 84, 32)        9248
_________________________________________________________________
conv2d_3 (Conv2D)            (None, 82, 82, 32)        9248
_________________________________________________________________
max_pooling2d_1 (MaxPooling2 (None, 41, 41, 32)        0
_________________________________________________________________
dropout_1 (Dropout)          (None, 41, 41, 32)        0
_________________________________________________________________
conv2d_4 (Conv2D)            (None, 41, 41, 32)        9248
_________________________________________________________________
conv2d_5 (Conv2D)            (None, 39, 39, 32)        9248
_________________________________________________________________
max_pooling2d_2 (MaxPooling2 (None, 19, 19, 32)        0
_________________________________________________________________
dropout_2 (Dropout)          (None, 19, 19, 32)        0
_________________________________________________________________
flatten (Flatten)            (None, 11552)             0
_________________________________________________________________
hidden (Dense)               (None, 512)               5915136
_________________________________________________________________
dropout_3 (Dropout)          (None, 512)               0
_________________________________________________________________
dense (Dense)                (None, 128)               65664
_________________________________________________________________
dropout_4 (Dropout)          (None, 128)               0
_________________________________________________________________
dense_1 (Dense)              (None, 9)                 1161
=================================================================
Total params: 6,029,097 (23.00 MB)
Trainable params: 6,029,097 (23.00 MB)
Non-trainable params: 0 (0.00 B)
_________________________________________________________________";
    assert_eq!(ImageClassifier::summary().to_string(), expected);
}

#[test]
fn wide_summary_adds_a_macs_column() {
    let wide = ImageClassifier::summary().with_macs().to_string();
    let first = wide.lines().nth(3).unwrap();
    // 3·3·3·32 + 32 weights at each of 256·256 positions.
    assert_eq!(
        first,
        "conv2d (Conv2D)              (None, 256, 256, 32)      896         58,720,256"
    );
    assert!(wide.lines().nth(1).unwrap().ends_with("MACs"));
    assert!(wide.contains(&format!(
        "Total MACs per sample: {}",
        model_core::summary::thousands(ImageClassifier::MACS)
    )));
}

model! {
    /// The seed's MNIST linear model, input in Theano order.
    struct MnistLinear {
        input: [1, 28, 28],
        Flatten,
        Dense(10),
        Activation(softmax),
    }
}
const_assert_eq!(MnistLinear::PARAMS, 7_850);
const_assert_eq!(MnistLinear::FLATTEN.output_shape.dim(0), 784);
const_assert_eq!(MnistLinear::OUTPUT_SHAPE[0], 10);

model! {
    struct Autoencoder {
        input: [514],
        Dense(514),
        Activation(linear),
        Dense(257),
    }
}
const_assert_eq!(Autoencoder::DENSE.params, 264_710);
const_assert_eq!(Autoencoder::DENSE_1.params, 132_355);
const_assert_eq!(Autoencoder::PARAMS, 397_065);

model! {
    /// `Dense` applies to the last axis of any input, as in Keras.
    struct ConvThenDense {
        input: [224, 224, 3],
        Conv2D(32, (3, 3), activation = relu),
        Conv2D(64, (3, 3), activation = relu),
        Conv2D(128, (3, 3), activation = relu),
        Dense(10, activation = softmax),
    }
}
const_assert_eq!(ConvThenDense::CONV2D.params, 896);
const_assert_eq!(ConvThenDense::CONV2D_1.params, 18_496);
const_assert_eq!(ConvThenDense::CONV2D_2.params, 73_856);
const_assert_eq!(ConvThenDense::DENSE.params, 1_290);

#[test]
fn dense_on_rank_3_keeps_the_leading_axes() {
    assert_eq!(ConvThenDense::OUTPUT_SHAPE, [218, 218, 10]);
}

model! {
    /// The tuner's MLP: one hidden layer of `UNITS` neurons.
    pub struct Mlp<const UNITS: usize> {
        input: [28, 28],
        Flatten,
        Dense(UNITS, activation = relu),
        Dense(10),
    }
}

const fn mlp_params(units: usize) -> usize {
    784 * units + units + 10 * units + 10
}
const_assert_eq!(Mlp::<32>::PARAMS, mlp_params(32));
const_assert_eq!(Mlp::<64>::PARAMS, mlp_params(64));
const_assert_eq!(Mlp::<96>::PARAMS, mlp_params(96));
const_assert_eq!(Mlp::<128>::PARAMS, 101_770);
const_assert_eq!(Mlp::<160>::PARAMS, mlp_params(160));
const_assert_eq!(Mlp::<192>::PARAMS, mlp_params(192));
const_assert_eq!(Mlp::<224>::PARAMS, mlp_params(224));
const_assert_eq!(Mlp::<256>::PARAMS, mlp_params(256));
const_assert_eq!(Mlp::<288>::PARAMS, mlp_params(288));
const_assert_eq!(Mlp::<320>::PARAMS, mlp_params(320));
const_assert_eq!(Mlp::<352>::PARAMS, mlp_params(352));
const_assert_eq!(Mlp::<384>::PARAMS, mlp_params(384));
const_assert_eq!(Mlp::<416>::PARAMS, mlp_params(416));
const_assert_eq!(Mlp::<448>::PARAMS, mlp_params(448));
const_assert_eq!(Mlp::<480>::PARAMS, mlp_params(480));
const_assert_eq!(Mlp::<512>::PARAMS, mlp_params(512));
const_assert_eq!(<Mlp<512> as Model>::TRAINABLE_PARAMS, mlp_params(512));
const_assert_eq!(Mlp::<128>::DENSE.output_shape.dim(0), 128);
const_assert_eq!(Mlp::<128>::OUTPUT_SHAPE[0], 10);

model! {
    /// A generic input dimension.
    struct Sequence<const T: usize, const F: usize> {
        input: [T, F],
        LSTM(16, return_sequences = true),
        GlobalAveragePooling1D,
        Dense(F),
    }
}
const_assert_eq!(Sequence::<10, 8>::OUTPUT_SHAPE[0], 8);
const_assert_eq!(Sequence::<10, 8>::LSTM.output_shape.dim(0), 10);
const_assert_eq!(
    Sequence::<10, 8>::PARAMS,
    4 * 16 * (8 + 16 + 1) + 16 * 8 + 8
);

#[test]
fn trait_constants_agree_with_inherent_ones() {
    fn report<M: Model>() -> (usize, &'static [usize], &'static [usize], usize) {
        (M::PARAMS, M::INPUT_SHAPE, M::OUTPUT_SHAPE, M::LAYERS.len())
    }
    assert_eq!(
        report::<MnistLinear>(),
        (7_850, &[1, 28, 28][..], &[10][..], 3)
    );
    assert_eq!(report::<Mlp<64>>().0, mlp_params(64));
    assert_eq!(<Mlp<64> as Model>::NAME, "Mlp");
}
