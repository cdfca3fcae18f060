//! Graph models written with `model!`: the constants the compiler computes, against
//! figures worked out by hand from Keras's rules, and the models run.

use model::{model, Model};
use static_assertions::const_assert_eq;

model! {
    /// A residual block: a shortcut around two convolutions, projected when it must be.
    pub struct Residual {
        fn block(x, filters, stride = 1) {
            let y = Conv2D(filters, 3, strides = stride, padding = same, activation = relu)(x);
            let y = Conv2D(filters, 3, padding = same)(y);
            let shortcut = if stride == 1 { x } else { Conv2D(filters, 1, strides = stride)(x) };
            ReLU()(Add()([y, shortcut]))
        }
        let x = Input([16, 16, 3]);
        let y = block(x, 3);
        let y = block(y, 8, stride = 2);
        let y = GlobalAveragePooling2D()(y);
        Dense(10, activation = softmax)(y)
    }
}

// conv2d 3·3·3·3 + 3 = 84, conv2d_1 84; block 2: conv2d_2 3·3·3·8 + 8 = 224,
// conv2d_3 3·3·8·8 + 8 = 584, conv2d_4 (the 1×1 projection) 3·8 + 8 = 32; dense 8·10 + 10 = 90.
const_assert_eq!(Residual::PARAMS, 84 + 84 + 224 + 584 + 32 + 90);
const_assert_eq!(Residual::CONV2D_4.params, 32);
const_assert_eq!(Residual::ADD_1.output_shape.dim(0), 8);
const_assert_eq!(Residual::OUTPUT_SHAPE[0], 10);

model! {
    /// Two inputs through one shared layer (a siamese pair), two outputs.
    pub struct Siamese {
        let a = Input([12], name = "left");
        let b = Input([12], name = "right");
        let shared = Dense(8, activation = relu, name = "encoder");
        let (ea, eb) = (shared(a), shared(b));
        let joined = Concatenate()([ea, eb]);
        let distance = Subtract()([ea, eb]);
        let score = Dense(1, activation = sigmoid, name = "score")(joined);
        let cosine = Dot(axes = 1, normalize = true)([ea, eb]);
        (score, Multiply()([distance, cosine]))
    }
}

// The shared encoder counts once: 12·8 + 8 = 104; score 16 + 1 = 17.
const_assert_eq!(Siamese::PARAMS, 104 + 17);
const_assert_eq!(Siamese::ENCODER.params, 104);
const_assert_eq!(Siamese::INPUT_SHAPES.len(), 2);
const_assert_eq!(Siamese::OUTPUT_SHAPES[1][0], 8);

model! {
    /// A squeeze-and-excite gate: `(1, 1, C) × (H, W, C)`, built in a loop.
    pub struct Gated {
        let x = Input([8, 8, 4]);
        let mut y = x;
        for i in 0..2 {
            let g = GlobalAveragePooling2D(keepdims = true, name = "squeeze{i}")(y);
            let g = Dense(4, activation = sigmoid, name = "excite{i}")(g);
            y = Multiply()([y, g]);
        }
        y
    }
}

const_assert_eq!(Gated::EXCITE1.params, 4 * 4 + 4);
const_assert_eq!(Gated::PARAMS, 2 * 20);

#[test]
fn a_residual_model_runs_and_its_layers_are_keras_named() {
    let m = Residual::init(1);
    let x: Vec<f32> = (0..2 * 16 * 16 * 3).map(|i| (i % 7) as f32 / 7.0).collect();
    let y = m.predict(&x).unwrap();
    assert_eq!(y.len(), 20);
    for row in y.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
    }
    let names: Vec<&str> = <Residual as Model>::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        [
            "conv2d",
            "conv2d_1",
            "add",
            "re_lu",
            "conv2d_2",
            "conv2d_3",
            "conv2d_4",
            "add_1",
            "re_lu_1",
            "global_average_pooling2d",
            "dense"
        ]
    );
    assert!(
        m.predict(&x[1..]).is_err(),
        "a buffer that is not whole samples"
    );
}

#[test]
fn several_inputs_and_outputs_run_and_shared_weights_are_one_set() {
    let m = Siamese::init(3);
    let (a, b) = (vec![0.5f32; 3 * 12], vec![-0.25f32; 3 * 12]);
    let [score, gated] = m.predict([&a, &b]).unwrap();
    assert_eq!((score.len(), gated.len()), (3, 24));
    assert_eq!(<Siamese as Model>::INPUT_NAMES, ["left", "right"]);
    assert_eq!(<Siamese as Model>::OUTPUT_NAMES, ["score", "multiply"]);
    // Equal inputs: equal encodings, so the difference (and the product) is zero.
    let [_, same] = m.predict([&a, &a]).unwrap();
    assert!(same.iter().all(|&v| v == 0.0), "{same:?}");
    assert!(
        m.predict([&a, &b[..12]]).is_err(),
        "inputs of different batches"
    );
}

#[test]
fn weights_save_and_load_by_layer_name() {
    let path = std::env::temp_dir().join(format!("graph-{}.safetensors", std::process::id()));
    let m = Siamese::init(5);
    m.save(&path).unwrap();
    let back = Siamese::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(back.layer_weights(), m.layer_weights());
    assert_eq!(back.encoder.tensors[0].shape, [12, 8]);
}

#[test]
fn the_network_describes_layers_names_and_calls() {
    let net = Siamese::NETWORK;
    assert!(!net.sequential);
    assert_eq!(net.name, "Siamese");
    assert_eq!(net.input_names, ["left", "right"]);
    assert_eq!(net.layer_names[0], "encoder");
    // The shared encoder: one layer, called on both inputs.
    let calls: Vec<&[usize]> = net
        .graph
        .nodes
        .iter()
        .filter(|n| n.layer == 0)
        .map(|n| n.inputs)
        .collect();
    assert_eq!(calls, [&[0][..], &[1][..]]);
    assert_eq!(net.graph.outputs.len(), 2);
    assert_eq!(net.output_names.len(), 2);

    let model = Siamese::init(1);
    let weights = Model::weights(&model);
    assert_eq!(weights.len(), net.graph.layers.len());
    let copy = <Siamese as Model>::from_weights(weights.into_iter().cloned().collect());
    let (a, b) = ([0.5f32; 12], [0.25f32; 12]);
    assert_eq!(
        model.predict([&a, &b]).expect("predict"),
        copy.predict([&a, &b]).expect("predict")
    );
}

model! {
    /// A stack, to see its network as a chain.
    pub struct Stack {
        input: [4],
        hidden: Dense(3),
        Dense(2),
    }
}

#[test]
fn a_sequential_network_is_the_chain_of_its_layers() {
    let net = Stack::NETWORK;
    assert!(net.sequential);
    assert_eq!(net.layer_names, ["hidden", "dense"]);
    assert_eq!(net.input_names, ["input_layer"]);
    assert_eq!(net.output_names, ["dense"]);
    let chain: Vec<(usize, &[usize])> = net
        .graph
        .nodes
        .iter()
        .map(|n| (n.layer, n.inputs))
        .collect();
    assert_eq!(chain, [(0, &[0][..]), (1, &[1][..])]);
    assert_eq!(net.graph.outputs, [2]);
    assert_eq!(net.graph.inputs[0].dims(), &[4]);
}

#[test]
fn predict_one_takes_and_returns_typed_samples_of_every_input_and_output() {
    let model = Siamese::init(4);
    let (a, b) = ([0.1f32; 12], [-0.3f32; 12]);
    let (score, product): ([f32; 1], [f32; 8]) = model.predict_one((&a, &b)).expect("predict");
    let [s, p] = model.predict([&a, &b]).expect("predict");
    assert_eq!(score.as_slice(), s.as_slice());
    assert_eq!(product.as_slice(), p.as_slice());
}
