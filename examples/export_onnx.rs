//! Exports the benchmark models to ONNX: the MLP 784-128-10, the MNIST CNN and the seed
//! CNN (`benches/inference.rs` runs the same models here), with seeded random weights.
//! Each file takes Keras's channels-last tensors with any batch size; ONNX Runtime,
//! TensorRT, OpenVINO or tract can serve it. `tools/onnx_bench_ort.py` times them in ONNX
//! Runtime.
//!
//!     cargo run --release --example export_onnx -- [DIR]   # default: target/onnx

use model::model;

model! {
    /// The MLP 784-128-10.
    pub struct Mlp {
        input: [28, 28],
        Flatten,
        Dense(128, activation = relu),
        Dense(10, activation = softmax),
    }
}

model! {
    /// The MNIST CNN.
    pub struct MnistCnn {
        input: [28, 28, 1],
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(64, 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dense(10, activation = softmax),
    }
}

model! {
    /// The seed CNN: 256×256 RGB in, 9 class probabilities out.
    pub struct SeedCnn {
        input: [256, 256, 3],
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(3),
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Conv2D(32, 3, padding = same, activation = relu),
        Conv2D(32, 3, activation = relu),
        MaxPooling2D(2),
        Flatten,
        Dense(512, activation = relu),
        Dense(128, activation = relu),
        Dense(9, activation = softmax),
    }
}

fn main() -> Result<(), model::Error> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("{}/target/onnx", env!("CARGO_MANIFEST_DIR")));
    std::fs::create_dir_all(&dir).map_err(|e| model::Error::io("create", dir.as_ref(), e))?;
    let at = |name: &str| std::path::Path::new(&dir).join(name);
    Mlp::init(0).save_onnx(at("mlp.onnx"))?;
    MnistCnn::init(0).save_onnx(at("mnist_cnn.onnx"))?;
    SeedCnn::init(0).save_onnx(at("seed_cnn.onnx"))?;
    println!("wrote mlp.onnx, mnist_cnn.onnx and seed_cnn.onnx in {dir}");
    Ok(())
}
