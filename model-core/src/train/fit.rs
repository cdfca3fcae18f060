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

use std::borrow::Borrow;
use std::path::PathBuf;

use super::loss::Loss;
use super::metrics::{Accuracy, AccuracyKind, Logs, Mean, ACCURACY, LOSS};
use super::optimizer::{Optimizer, RmsProp};
use super::progress::{Progress, Verbose};
use super::shuffle::Shuffle;
use super::tape::Tape;
use super::target::{Target, TrainError};
use super::History;
use crate::data::Dataset;
use crate::graph::tape::GraphTape;
use crate::graph::{self, Graph};
use crate::layer::{Activation, Layer};
use crate::runtime::{self, LayerWeights, Workspace};
use crate::shape::Shape;

/// What `fit` and `evaluate` run: a straight stack of layers on one input, or a graph with
/// one input and one output.
#[derive(Clone, Copy)]
enum Net<'a> {
    Stack {
        layers: &'a [Layer],
        input: Shape,
    },
    Graph {
        graph: &'a Graph<'a>,
        tensors: &'a [Shape],
    },
}

/// A [`Net`]'s training state.
enum NetTape {
    Stack(Tape),
    Graph(Box<GraphTape>),
}

impl<'a> Net<'a> {
    fn layers(&self) -> &'a [Layer] {
        match *self {
            Net::Stack { layers, .. } => layers,
            Net::Graph { graph, .. } => graph.layers,
        }
    }

    fn input(&self) -> Result<Shape, TrainError> {
        match *self {
            Net::Stack { input, .. } => Ok(input),
            Net::Graph { graph, .. } => match graph.inputs {
                [one] => Ok(*one),
                other => Err(TrainError::new(format!(
                    "`fit` and `evaluate` take a dataset of one input; this model has {}",
                    other.len()
                ))),
            },
        }
    }

    fn output(&self) -> Result<Shape, TrainError> {
        match *self {
            Net::Stack { layers, input } => runtime::output_shape(layers, input),
            Net::Graph { graph, tensors } => match graph.outputs {
                [one] => Ok(tensors[*one]),
                other => Err(TrainError::new(format!(
                    "`fit` and `evaluate` take a dataset of one target; this model has {} outputs",
                    other.len()
                ))),
            },
        }
    }

    /// The activation a loss may fold into its gradient: the output layer's, unless the
    /// output is also read inside the graph.
    fn output_activation(&self) -> Option<Activation> {
        match *self {
            Net::Stack { layers, .. } => layers.last().map(Layer::activation),
            Net::Graph { graph, .. } => {
                let t = *graph.outputs.first()?;
                let node = t.checked_sub(graph.inputs.len())?;
                let read = graph.nodes.iter().any(|n| n.inputs.contains(&t));
                (!read).then(|| graph.layers[graph.nodes[node].layer].activation())
            }
        }
    }

    fn tape(&self, weights: &[LayerWeights], seed: u64) -> Result<NetTape, TrainError> {
        Ok(match *self {
            Net::Stack { layers, input } => {
                NetTape::Stack(Tape::new(layers, input, weights, seed)?)
            }
            Net::Graph { graph, tensors } => {
                NetTape::Graph(Box::new(GraphTape::new(graph, tensors, weights, seed)?))
            }
        })
    }

    fn predict_into<W: Borrow<LayerWeights>>(
        &self,
        weights: &[W],
        x: &[f32],
        batch: usize,
        out: &mut [f32],
        workspace: &mut Workspace,
        planned: Option<&graph::Planned>,
    ) -> Result<(), TrainError> {
        match (*self, planned) {
            (Net::Stack { layers, input }, _) => {
                runtime::predict_into(layers, input, weights, x, batch, out, workspace)
            }
            (Net::Graph { graph, tensors }, Some(p)) => graph::predict_graph_into(
                graph,
                tensors,
                &p.plan(),
                weights,
                &[x],
                batch,
                &mut [out],
                workspace.graph(),
            ),
            (Net::Graph { .. }, None) => Err(TrainError::new("the graph is not planned")),
        }
    }

    fn planned(&self) -> Result<Option<graph::Planned>, TrainError> {
        match *self {
            Net::Stack { .. } => Ok(None),
            Net::Graph { graph, .. } => graph::Planned::new(graph).map(Some),
        }
    }

    fn save(
        &self,
        path: &std::path::Path,
        names: &[&str],
        weights: &[LayerWeights],
    ) -> std::io::Result<()> {
        match *self {
            Net::Stack { layers, input } => {
                runtime::save_model(path, names, layers, input, weights)
            }
            Net::Graph { graph, tensors } => {
                let inputs = graph::layer_inputs(graph, tensors);
                runtime::save_layers(path, names, graph.layers, &inputs, weights)
            }
        }
    }
}

impl NetTape {
    fn forward<'s>(
        &'s mut self,
        net: &Net,
        weights: &mut [LayerWeights],
        x: &'s [f32],
        batch: usize,
    ) -> Result<&'s [f32], TrainError> {
        match (self, net) {
            (NetTape::Stack(t), Net::Stack { layers, .. }) => t.forward(layers, weights, x, batch),
            (NetTape::Graph(t), Net::Graph { graph, .. }) => {
                t.forward(graph, weights, &[x], batch)?;
                Ok(t.output(graph, &[x], 0))
            }
            _ => Err(TrainError::new("a tape of another model")),
        }
    }

    fn backward(
        &mut self,
        net: &Net,
        weights: &[LayerWeights],
        x: &[f32],
        d_out: &[f32],
        fused: bool,
    ) -> Result<(), TrainError> {
        match (self, net) {
            (NetTape::Stack(t), Net::Stack { layers, .. }) => {
                t.backward(layers, weights, x, d_out, fused)
            }
            (NetTape::Graph(t), Net::Graph { graph, .. }) => {
                t.backward(graph, weights, &[x], &[d_out], &[fused])
            }
            _ => Err(TrainError::new("a tape of another model")),
        }
    }

    fn grads(&self) -> &[Vec<Vec<f32>>] {
        match self {
            NetTape::Stack(t) => &t.grads,
            NetTape::Graph(t) => &t.grads,
        }
    }
}

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
/// shape, labels out of range, a batch size of 0 and an empty training set are each a
/// [`TrainError`], never a panic. Every layer kind has a backward pass.
pub fn fit(
    layers: &[Layer],
    input: Shape,
    weights: &mut [LayerWeights],
    train: &Dataset,
    options: FitOptions,
) -> Result<History, TrainError> {
    fit_net(Net::Stack { layers, input }, weights, train, options)
}

/// [`fit`] for a graph model of one input and one output (`tensors`: every tensor's shape,
/// as `graph::eval_graph` gives them). Gradients are summed where a tensor feeds several
/// layers and over a shared layer's calls.
pub fn fit_graph(
    graph: &Graph,
    tensors: &[Shape],
    weights: &mut [LayerWeights],
    train: &Dataset,
    options: FitOptions,
) -> Result<History, TrainError> {
    fit_net(Net::Graph { graph, tensors }, weights, train, options)
}

fn fit_net(
    net: Net,
    weights: &mut [LayerWeights],
    train: &Dataset,
    mut options: FitOptions,
) -> Result<History, TrainError> {
    let layers = net.layers();
    let input = net.input()?;
    let mut tape = net.tape(weights, options.seed)?;
    let planned = net.planned()?;

    let out_shape = net.output()?;
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
                .map_err(|e| TrainError::caused_by("", e))?;
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
    let fused = net
        .output_activation()
        .is_some_and(|a| loss.fused_activation() == Some(a));
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
                .map_err(|e| TrainError::caused_by("", e))?;
            let out = tape.forward(&net, weights, &xb, batch.len())?;
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
            tape.backward(&net, weights, &xb, &grad, fused)?;
            let grads = tape.grads();
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
            let e = evaluate_with(
                net,
                weights,
                v,
                &loss,
                batch_size,
                &mut workspace,
                planned.as_ref(),
            )?;
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
            net.save(path, &names, weights)
                .map_err(|e| TrainError::caused_by("cannot save the checkpoint", e))?;
        }
    }
    Ok(history)
}

/// The loss and accuracy of the model on `data`, in inference mode (dropout off, batch
/// normalization's moving statistics), `batch_size` samples at a time (Keras's default
/// is 32).
pub fn evaluate<W: Borrow<LayerWeights>>(
    layers: &[Layer],
    input: Shape,
    weights: &[W],
    data: &Dataset,
    loss: Loss,
    batch_size: usize,
) -> Result<Evaluation, TrainError> {
    evaluate_with(
        Net::Stack { layers, input },
        weights,
        data,
        &loss,
        batch_size,
        &mut Workspace::new(),
        None,
    )
}

/// [`evaluate`] for a graph model of one input and one output.
pub fn evaluate_graph<W: Borrow<LayerWeights>>(
    graph: &Graph,
    tensors: &[Shape],
    weights: &[W],
    data: &Dataset,
    loss: Loss,
    batch_size: usize,
) -> Result<Evaluation, TrainError> {
    let net = Net::Graph { graph, tensors };
    let planned = net.planned()?;
    evaluate_with(
        net,
        weights,
        data,
        &loss,
        batch_size,
        &mut Workspace::new(),
        planned.as_ref(),
    )
}

fn evaluate_with<W: Borrow<LayerWeights>>(
    net: Net,
    weights: &[W],
    data: &Dataset,
    loss: &Loss,
    batch_size: usize,
    workspace: &mut Workspace,
    planned: Option<&graph::Planned>,
) -> Result<Evaluation, TrainError> {
    let input = net.input()?;
    let out_shape = net.output()?;
    let per_out = runtime::batch_len(&out_shape, 1)?;
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
        net.predict_into(weights, x, n, &mut out, workspace, planned)?;
        let t = target(loss, labels, width, &mut dense);
        mean_loss.update(f64::from(loss.loss(&out, t, width)?), n as f64);
        accuracy.update(&out, t, width)?;
    }
    Ok(Evaluation {
        loss: mean_loss.result(),
        accuracy: accuracy.result(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Mnist;
    use crate::layer::{test_layer as layer, Kind};
    use crate::runtime::init_model;
    use crate::train::{Adam, Sgd};
    use crate::value::Value;

    fn dense(units: i64, activation: &'static str) -> Layer {
        layer(
            Kind::Dense,
            &[
                ("units", Value::Int(units)),
                ("activation", Value::Str(activation)),
            ],
        )
    }

    /// Three noisy clusters in the plane, labelled by cluster.
    fn clusters(n: usize, seed: u64) -> Dataset {
        let mut rng = crate::runtime::Rng(seed);
        let mut u = || (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let centres = [[1.0, 0.0], [-0.5, 0.8], [-0.5, -0.8]];
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..n {
            let c = i % 3;
            x.push(centres[c][0] + 0.6 * u());
            x.push(centres[c][1] + 0.6 * u());
            y.push(c as u32);
        }
        Dataset::new(x, y, vec![2]).unwrap()
    }

    fn small_model() -> Vec<Layer> {
        vec![
            dense(16, "relu"),
            layer(Kind::Dropout, &[("rate", Value::Float(0.2))]),
            dense(3, "softmax"),
        ]
    }

    fn quiet<'a>(epochs: usize, seed: u64) -> FitOptions<'a> {
        FitOptions {
            epochs,
            batch_size: 16,
            optimizer: Box::new(Adam::new(0.01)),
            seed,
            verbose: Verbose::Silent,
            ..Default::default()
        }
    }

    #[test]
    fn learns_clusters_and_the_same_seed_gives_the_same_run() {
        let layers = small_model();
        let input = Shape::new(&[2]);
        let data = clusters(300, 1);
        let test = clusters(90, 2);
        let run = |seed: u64| {
            let mut w = init_model(&layers, input, 3).unwrap();
            let mut options = quiet(8, seed);
            options.validation = Some(&test);
            let h = fit(&layers, input, &mut w, &data, options).unwrap();
            (w, h)
        };
        let (w1, h1) = run(9);
        let (w2, h2) = run(9);
        assert_eq!(w1, w2);
        assert_eq!(h1, h2);
        let (w3, _) = run(10);
        assert_ne!(w1, w3, "another seed shuffles and drops out differently");
        let names: Vec<&str> = h1.names().collect();
        assert_eq!(names, ["accuracy", "loss", "val_accuracy", "val_loss"]);
        let losses = h1.get("loss").unwrap();
        assert_eq!(losses.len(), 8);
        assert!(losses[7] < losses[0] * 0.5, "{losses:?}");
        assert!(h1.last("val_accuracy").unwrap() > 0.9, "{h1:?}");
        let e = evaluate(
            &layers,
            input,
            &w1,
            &test,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            32,
        )
        .unwrap();
        assert_eq!(Some(e.accuracy), h1.last("val_accuracy"));
        assert_eq!(Some(e.loss), h1.last("val_loss"));
    }

    #[test]
    fn other_losses_train_too() {
        let input = Shape::new(&[2]);
        let data = clusters(300, 1);
        for (loss, last) in [
            (
                Loss::CategoricalCrossentropy { from_logits: false },
                "softmax",
            ),
            (
                Loss::SparseCategoricalCrossentropy { from_logits: true },
                "linear",
            ),
            (Loss::MeanSquaredError, "sigmoid"),
        ] {
            let layers = [dense(16, "tanh"), dense(3, last)];
            let mut w = init_model(&layers, input, 3).unwrap();
            let mut options = quiet(10, 1);
            options.loss = loss;
            options.validation_split = 0.2;
            let h = fit(&layers, input, &mut w, &data, options).unwrap();
            assert!(h.last("val_accuracy").unwrap() > 0.85, "{loss:?}: {h:?}");
        }
    }

    #[test]
    fn checkpoints_are_the_weights_after_each_epoch() {
        let layers = small_model();
        let input = Shape::new(&[2]);
        let data = clusters(60, 1);
        let path =
            std::env::temp_dir().join(format!("fit-checkpoint-{}.safetensors", std::process::id()));
        let mut w = init_model(&layers, input, 3).unwrap();
        let mut options = quiet(2, 1);
        options.checkpoint = Some(path.clone());
        options.optimizer = Box::new(Sgd::new(0.1));
        fit(&layers, input, &mut w, &data, options).unwrap();
        let names = ["dense", "dropout", "dense_1"];
        let saved = runtime::load_model(&path, &names, &layers, input).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(saved, w);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let layers = small_model();
        let input = Shape::new(&[2]);
        let data = clusters(30, 1);
        let mut w = init_model(&layers, input, 3).unwrap();
        let fit_with = |w: &mut [LayerWeights], d: &Dataset, f: fn(&mut FitOptions)| {
            let mut o = quiet(1, 0);
            f(&mut o);
            fit(&layers, input, w, d, o).unwrap_err().to_string()
        };
        let bad_labels = Dataset::new(data.x.clone(), vec![5; 30], vec![2]).unwrap();
        let m = fit_with(&mut w, &bad_labels, |_| {});
        assert!(
            m.contains("training label 5 (sample 0) is out of range"),
            "{m}"
        );
        let wrong_shape = Dataset::new(data.x.clone(), data.y.clone(), vec![1, 2]).unwrap();
        let m = fit_with(&mut w, &wrong_shape, |_| {});
        assert!(
            m.contains("have shape [1, 2], but the model's input is (2,)"),
            "{m}"
        );
        let m = fit_with(&mut w, &data, |o| o.batch_size = 0);
        assert!(m.contains("batch_size"), "{m}");
        let m = fit_with(&mut w, &data, |o| o.validation_split = 1.5);
        assert!(m.contains("validation_split"), "{m}");
        let m = fit_with(&mut w[..2], &data, |_| {});
        assert!(m.contains("3 layers but 2 sets of weights"), "{m}");
        let mut short = w.clone();
        short[0].tensors[0].data.pop();
        short[0].tensors[0].shape = vec![1, 16];
        let m = fit_with(&mut short, &data, |_| {});
        assert!(
            m.contains("layer 0: `Dense` weight `kernel` must have shape [2, 16], got [1, 16]"),
            "{m}"
        );
        let e = evaluate(
            &layers,
            input,
            &w,
            &bad_labels,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            8,
        );
        assert!(e.is_err());
    }

    /// The proof on real digits: the MLP 784-128-10 above 90 % test accuracy after two
    /// epochs of Adam, batch 128, on the project's 8,000 training digits.
    #[test]
    fn mnist_mlp_learns_in_two_epochs() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist");
        let data = Mnist::load(dir).expect("the MNIST files in data/mnist");
        let layers = [Layer::FLATTEN, dense(128, "relu"), dense(10, "softmax")];
        let input = Shape::new(&[28, 28]);
        let mut w = init_model(&layers, input, 1).unwrap();
        let options = FitOptions {
            epochs: 2,
            batch_size: 128,
            optimizer: Box::new(Adam::default()),
            verbose: Verbose::Silent,
            ..Default::default()
        };
        let h = fit(&layers, input, &mut w, &data.train, options).unwrap();
        let e = evaluate(
            &layers,
            input,
            &w,
            &data.test,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            128,
        )
        .unwrap();
        assert!(
            e.accuracy > 0.90,
            "test accuracy {} after {h:?}",
            e.accuracy
        );
    }
}
