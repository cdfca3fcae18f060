// The model has one mistake; the code that uses it (constants, per-layer constants,
// weights fields, the summary, the run-time methods, the `Model` trait) adds no error.
use model::{model, Model};

model! {
    /// A classifier whose hidden layer has a negative width.
    pub struct Broken {
        input: [28, 28],
        Flatten,
        hidden: Dense(-4, activation = relu),
        Dense(10, activation = softmax),
    }
}

fn params<M: Model>() -> usize {
    M::PARAMS + M::LAYERS.len()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("{}", Broken::summary().with_macs());
    let total: usize = Broken::PARAMS + Broken::TRAINABLE_PARAMS + Broken::MACS;
    let hidden: usize = Broken::HIDDEN.params;
    let input: [usize; 2] = Broken::INPUT_SHAPE;
    println!("{} {total} {hidden} {input:?} {}", Broken::NAME, params::<Broken>());

    let mut model = Broken::init(1);
    let _kernel = &model.hidden.tensors;
    let probs: Vec<f32> = model.predict(&[0.0; 784])?;
    let one: [f32; 10] = model.predict_one(&[[0.0; 28]; 28])?;
    println!("{} {}", probs.len(), one[0]);
    model.save("broken.safetensors")?;
    let model2 = Broken::load("broken.safetensors")?;
    let _weights = model2.layer_weights();
    let data = model::data::Dataset {
        x: Vec::new(),
        y: Vec::new(),
        sample_shape: vec![28, 28],
        len: 0,
    };
    let loss = model::Loss::MeanSquaredError;
    let _history = model.fit(&data, model::FitOptions::default())?;
    let _report = model.evaluate(&data, loss)?;
    Ok(())
}
