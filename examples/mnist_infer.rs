//! Inference on real MNIST digits with weights trained by Keras.
//!
//! `data/mnist-mlp-keras.safetensors` holds the weights of Keras's
//! `Flatten → Dense(128, relu) → Dense(10, softmax)` trained on `data/mnist`
//! (`tools/keras_train_mlp.py`: Adam, 10 epochs, batch 128; Keras reached a test accuracy of
//! 0.9440). The same model, written with `model!`, loads them and classifies the 2,000
//! test digits.
//!
//!     cargo run --release --example mnist_infer

use model::data::Mnist;
use model::{model, Workspace};
use std::time::Instant;

model! {
    /// The MNIST MLP, with Keras's layer names, so Keras's weights load as they are.
    pub struct Mlp {
        input: [28, 28],
        Flatten,
        Dense(128, activation = relu),
        Dense(10, activation = softmax),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = env!("CARGO_MANIFEST_DIR");
    let data = Mnist::load(format!("{root}/data/mnist"))?;
    let model = Mlp::load(format!("{root}/data/mnist-mlp-keras.safetensors"))?;
    println!("{}", Mlp::summary());

    let test = &data.test;
    let mut probs = vec![0.0; test.len * 10];
    let mut workspace = Workspace::new();
    let start = Instant::now();
    model.predict_into(&test.x, &mut probs, &mut workspace)?;
    let elapsed = start.elapsed();

    let correct = probs
        .chunks(10)
        .zip(&test.y)
        .filter(|(p, &label)| argmax(p) == label as usize)
        .count();
    println!(
        "test accuracy: {:.4} ({correct}/{} digits) in {:.1} ms",
        correct as f64 / test.len as f64,
        test.len,
        elapsed.as_secs_f64() * 1e3
    );

    // One digit, typed: a [[f32; 28]; 28] sample in, [f32; 10] probabilities out.
    let mut digit = [[0.0f32; 28]; 28];
    digit.as_flattened_mut().copy_from_slice(&test.x[..784]);
    let p = model.predict_one(&digit)?;
    println!(
        "first test digit: label {}, predicted {} (p = {:.3})",
        test.y[0],
        argmax(&p),
        p[argmax(&p)]
    );
    Ok(())
}

fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > p[best] { i } else { best })
}
