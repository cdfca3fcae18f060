//! `fit` and `evaluate`: Keras's training loop over a model given as its layers, input
//! shape and weights (what `model!` generates), on a [`Dataset`] of samples and class ids.
//!
//! Each epoch: the training samples in a seeded random order, mini-batches of
//! `batch_size` (the last one partial, as Keras), the forward pass in training mode, the
//! loss and its gradient, the backward pass, one optimizer step; the running loss and
//! accuracy in the progress bar; then the validation data in inference mode. When the
//! model ends in `softmax` (or `sigmoid`) under a crossentropy, the gradient at the
//! activation's input is taken directly (`p − y`), as Keras's TensorFlow backend does.
//!
//! The same seed gives the same weights and the same history.

use std::path::PathBuf;

use super::backward::{output_activation, Tape};
use super::loss::Loss;
use super::metrics::{Accuracy, AccuracyKind, Logs, Mean, ACCURACY, LOSS};
use super::optimizer::{Optimizer, RmsProp};
use super::progress::{Progress, Verbose};
use super::shuffle::Shuffle;
use super::target::{Target, TrainError};
use super::History;
use crate::data::Dataset;
use crate::layer::Layer;
use crate::runtime::{self, LayerWeights, Workspace};
use crate::shape::Shape;

/// How [`fit`] trains; `..Default::default()` gives Keras's defaults.
#[derive(Debug)]
pub struct FitOptions<'a> {
    /// Passes over the training data; default 1.
    pub epochs: usize,
    /// Samples per step; default 32, as Keras.
    pub batch_size: usize,
    /// Default RMSprop, as Keras's `compile()`.
    pub optimizer: Box<dyn Optimizer>,
    /// Default `sparse_categorical_crossentropy` (the dataset's targets are class ids).
    /// Losses that take dense targets get one-hot rows (or the id itself for one output).
    pub loss: Loss,
    /// Whether to report accuracy (Keras's `metrics=["accuracy"]`); default true.
    pub accuracy: bool,
    /// Data to evaluate at the end of each epoch (Keras's `validation_data`).
    pub validation: Option<&'a Dataset>,
    /// Without `validation`: this fraction of the training data, the last samples before
    /// any shuffling, is held out for validation instead (Keras's `validation_split`).
    /// Default 0.
    pub validation_split: f64,
    /// Whether each epoch visits the samples in a new random order; default true.
    pub shuffle: bool,
    /// Seeds the order of the samples and the noise of dropout layers; default 0.
    pub seed: u64,
    /// How much to print; default [`Verbose::Auto`].
    pub verbose: Verbose,
    /// Where to save the weights (safetensors, [`runtime::save_model`]) after each epoch.
    pub checkpoint: Option<PathBuf>,
    /// The layers' names in the checkpoint; default Keras's automatic names (`dense`,
    /// `dense_1`, …).
    pub layer_names: Option<&'a [&'a str]>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            optimizer: Box::new(RmsProp::default()),
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            accuracy: true,
            validation: None,
            validation_split: 0.0,
            shuffle: true,
            seed: 0,
            verbose: Verbose::Auto,
            checkpoint: None,
            layer_names: None,
        }
    }
}

/// What [`evaluate`] measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss over the samples.
    pub loss: f32,
    /// The fraction of samples classified correctly.
    pub accuracy: f32,
}

impl Evaluation {
    /// As Keras's logs: `accuracy` and `loss`.
    pub fn logs(&self) -> Logs {
        [(ACCURACY, self.accuracy), (LOSS, self.loss)]
            .into_iter()
            .collect()
    }
}

/// Checks a dataset against the model: the sample shape, and every label against the loss
/// and the output width.
fn check_dataset(
    what: &str,
    data: &Dataset,
    input: Shape,
    width: usize,
    loss: &Loss,
) -> Result<(), TrainError> {
    if data.sample_shape != input.dims() {
        return Err(TrainError::new(format!(
            "the {what} samples have shape {:?}, but the model's input is {input}",
            data.sample_shape
        )));
    }
    if data.x.len() != data.len * data.sample_len() || data.y.len() != data.len {
        return Err(TrainError::new(format!(
            "the {what} data holds {} values and {} labels for {} samples of {:?}",
            data.x.len(),
            data.y.len(),
            data.len,
            data.sample_shape
        )));
    }
    let limit = match loss {
        Loss::SparseCategoricalCrossentropy { .. } | Loss::CategoricalCrossentropy { .. } => width,
        Loss::BinaryCrossentropy { .. } if width == 1 => 2,
        _ if width > 1 => width,
        _ => usize::MAX,
    };
    if let Some((i, &label)) = data
        .y
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= limit)
    {
        return Err(TrainError::new(format!(
            "{what} label {label} (sample {i}) is out of range for the model's {width} output{} (0..{limit}) with {}",
            if width == 1 { "" } else { "s" },
            loss.name()
        )));
    }
    Ok(())
}

/// The target of a batch with labels `labels`: class ids for the sparse crossentropy,
/// one-hot rows (or the ids as values, for one output) for the others.
fn target<'b>(loss: &Loss, labels: &'b [u32], width: usize, dense: &'b mut Vec<f32>) -> Target<'b> {
    if loss.takes_classes() {
        return Target::Classes(labels);
    }
    dense.clear();
    if width == 1 {
        dense.extend(labels.iter().map(|&l| l as f32));
    } else {
        dense.resize(labels.len() * width, 0.0);
        for (row, &l) in dense.chunks_exact_mut(width).zip(labels) {
            if let Some(v) = row.get_mut(l as usize) {
                *v = 1.0;
            }
        }
    }
    Target::Dense(dense)
}

/// Keras's automatic layer names: `dense`, `dense_1`, `conv2d`, …
fn auto_names(layers: &[Layer]) -> Vec<String> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    layers
        .iter()
        .map(|l| {
            let stem = l.kind.info().auto_name;
            match seen.iter_mut().find(|(s, _)| *s == stem) {
                Some((_, n)) => {
                    *n += 1;
                    format!("{stem}_{n}")
                }
                None => {
                    seen.push((stem, 0));
                    stem.to_string()
                }
            }
        })
        .collect()
}

/// Trains `weights` (one [`LayerWeights`] per layer, as the runtime takes them) on `train`
/// and returns the per-epoch metrics: `loss`, `accuracy`, and `val_loss`, `val_accuracy`
/// with validation data.
///
/// Every size is checked first: weights that do not fit their layer, samples of the wrong
/// shape, labels out of range, a batch size of 0, an empty training set, and a layer with
/// no backward pass yet are each a [`TrainError`], never a panic.
pub fn fit(
    layers: &[Layer],
    input: Shape,
    weights: &mut [LayerWeights],
    train: &Dataset,
    mut options: FitOptions,
) -> Result<History, TrainError> {
    let mut tape = Tape::new(layers, input, weights, options.seed)?;
    let out_shape = tape.output_shape();
    let width = out_shape.last();
    let loss = options.loss;
    if options.batch_size == 0 {
        return Err(TrainError::new("batch_size must be at least 1"));
    }
    check_dataset("training", train, input, width, &loss)?;
    let held_out;
    let (train_len, validation) = match options.validation {
        Some(v) => {
            check_dataset("validation", v, input, width, &loss)?;
            (train.len, Some(v))
        }
        None if options.validation_split != 0.0 => {
            let (t, v) = train
                .clone()
                .validation_split(options.validation_split)
                .map_err(|e| TrainError::new(e.to_string()))?;
            held_out = v;
            (t.len, Some(&held_out))
        }
        None => (train.len, None),
    };
    if train_len == 0 {
        return Err(TrainError::new("there are no training samples"));
    }
    let names: Vec<String> = match options.layer_names {
        Some(n) => n.iter().map(|s| s.to_string()).collect(),
        None => auto_names(layers),
    };
    let batch_size = options.batch_size;
    let steps = train_len.div_ceil(batch_size);
    let mut progress = Progress::new(steps, options.verbose);
    let mut order_stream = Shuffle::new(options.seed);
    let accuracy_kind = AccuracyKind::for_loss(&loss, width);
    let fused = layers
        .last()
        .is_some_and(|l| loss.fused_activation() == Some(output_activation(l)));
    let (mut xb, mut yb, mut dense, mut grad) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut workspace = Workspace::new();
    let mut history = History::new();
    for epoch in 0..options.epochs {
        progress.begin_epoch(epoch, options.epochs);
        let order: Vec<usize> = if options.shuffle {
            order_stream.permutation(train_len)
        } else {
            (0..train_len).collect()
        };
        let mut mean_loss = Mean::new();
        let mut accuracy = Accuracy::new(accuracy_kind);
        let mut logs = Logs::new();
        for (step, batch) in order.chunks(batch_size).enumerate() {
            train
                .gather(batch, &mut xb, &mut yb)
                .map_err(|e| TrainError::new(e.to_string()))?;
            let out = tape.forward(layers, weights, &xb, batch.len())?;
            let t = target(&loss, &yb, width, &mut dense);
            grad.resize(out.len(), 0.0);
            let value = if fused {
                loss.loss_and_logit_grad(out, t, width, &mut grad)?
            } else {
                loss.loss_and_grad(out, t, width, &mut grad)?
            };
            if !value.is_finite() {
                return Err(TrainError::new(format!(
                    "the loss became {value} at epoch {} step {}; lower the learning rate",
                    epoch + 1,
                    step + 1
                )));
            }
            if options.accuracy {
                accuracy.update(out, t, width)?;
            }
            mean_loss.update(f64::from(value), batch.len() as f64);
            tape.backward(layers, weights, &xb, &grad, fused)?;
            let grads = &tape.grads;
            let (mut params, mut gs): (Vec<&mut [f32]>, Vec<&[f32]>) = (Vec::new(), Vec::new());
            for (w, g) in weights.iter_mut().zip(grads) {
                for (t, g) in w.tensors.iter_mut().zip(g) {
                    if !g.is_empty() {
                        params.push(&mut t.data);
                        gs.push(g);
                    }
                }
            }
            options.optimizer.step(&mut params, &gs)?;
            logs = Logs::new();
            if options.accuracy {
                logs.insert(ACCURACY, accuracy.result());
            }
            logs.insert(LOSS, mean_loss.result());
            progress.update(step + 1, &logs);
        }
        if let Some(v) = validation {
            let e = evaluate_with(layers, input, weights, v, &loss, batch_size, &mut workspace)?;
            let mut val = Logs::new();
            if options.accuracy {
                val.insert(ACCURACY, e.accuracy);
            }
            val.insert(LOSS, e.loss);
            logs.extend_validation(&val);
        }
        progress.finish(&logs);
        history.push(epoch, &logs);
        if let Some(path) = &options.checkpoint {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            runtime::save_model(path, &names, layers, input, weights).map_err(|e| {
                TrainError::new(format!("saving the checkpoint {}: {e}", path.display()))
            })?;
        }
    }
    Ok(history)
}

/// The loss and accuracy of the model on `data`, in inference mode (dropout off, batch
/// normalization's moving statistics), `batch_size` samples at a time (Keras's default
/// is 32).
pub fn evaluate(
    layers: &[Layer],
    input: Shape,
    weights: &[LayerWeights],
    data: &Dataset,
    loss: Loss,
    batch_size: usize,
) -> Result<Evaluation, TrainError> {
    evaluate_with(
        layers,
        input,
        weights,
        data,
        &loss,
        batch_size,
        &mut Workspace::new(),
    )
}

fn evaluate_with(
    layers: &[Layer],
    input: Shape,
    weights: &[LayerWeights],
    data: &Dataset,
    loss: &Loss,
    batch_size: usize,
    workspace: &mut Workspace,
) -> Result<Evaluation, TrainError> {
    let err = |e: runtime::RuntimeError| TrainError::new(e.to_string());
    let out_shape = runtime::output_shape(layers, input).map_err(err)?;
    let per_out = runtime::batch_len(&out_shape, 1).map_err(err)?;
    let width = out_shape.last();
    if batch_size == 0 {
        return Err(TrainError::new("batch_size must be at least 1"));
    }
    check_dataset("evaluation", data, input, width, loss)?;
    if data.is_empty() {
        return Err(TrainError::new("there are no samples to evaluate"));
    }
    let per_in = data.sample_len();
    let mut accuracy = Accuracy::new(AccuracyKind::for_loss(loss, width));
    let mut mean_loss = Mean::new();
    let (mut out, mut dense) = (Vec::new(), Vec::new());
    for start in (0..data.len).step_by(batch_size) {
        let n = batch_size.min(data.len - start);
        let x = &data.x[start * per_in..(start + n) * per_in];
        let labels = &data.y[start..start + n];
        out.resize(n * per_out, 0.0);
        runtime::predict_into(layers, input, weights, x, n, &mut out, workspace).map_err(err)?;
        let t = target(loss, labels, width, &mut dense);
        mean_loss.update(f64::from(loss.loss(&out, t, width)?), n as f64);
        accuracy.update(&out, t, width)?;
    }
    Ok(Evaluation {
        loss: mean_loss.result(),
        accuracy: accuracy.result(),
    })
}
