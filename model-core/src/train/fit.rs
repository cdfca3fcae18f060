//! `fit` and `evaluate`: Keras's training loop over a model given as its layers, input
//! shape and weights (what `model!` generates), on a [`Dataset`] of samples and class ids,
//! or for a graph of several inputs or outputs a [`MultiDataset`].
//!
//! Each epoch: the training samples in a seeded random order, mini-batches of
//! `batch_size` (the last one partial, as Keras), the forward pass in training mode, the
//! loss and its gradient, the backward pass, one optimizer step; the running loss and
//! accuracy in the progress bar; then the validation data in inference mode. When the
//! model ends in `softmax` (or `sigmoid`) under a crossentropy, the gradient at the
//! activation's input is taken directly (`p − y`), as Keras's TensorFlow backend does.
//!
//! A model of several outputs takes one loss per output ([`FitOptions::losses`]); the loss
//! it minimises is their sum weighted by [`FitOptions::loss_weights`], as Keras's
//! `compile(loss=[…], loss_weights=[…])`, and the logs hold each output's loss (and
//! accuracy) under its name, `digit_loss`, beside the total `loss`.
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
use crate::data::{Dataset, MultiDataset, Samples};
use crate::graph::tape::GraphTape;
use crate::graph::{self, Graph};
use crate::layer::{Activation, Layer};
use crate::runtime::{self, LayerWeights, Workspace};
use crate::shape::Shape;

/// What `fit` and `evaluate` run: a straight stack of layers on one input, or a graph.
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

    fn inputs(&self) -> Vec<Shape> {
        match *self {
            Net::Stack { input, .. } => vec![input],
            Net::Graph { graph, .. } => graph.inputs.to_vec(),
        }
    }

    fn outputs(&self) -> Result<Vec<Shape>, TrainError> {
        match *self {
            Net::Stack { layers, input } => Ok(vec![runtime::output_shape(layers, input)?]),
            Net::Graph { graph, tensors } => {
                Ok(graph.outputs.iter().map(|&t| tensors[t]).collect())
            }
        }
    }

    /// The activation a loss may fold into output `o`'s gradient: its layer's, unless the
    /// output is also read inside the graph or is another output too.
    fn output_activation(&self, o: usize) -> Option<Activation> {
        match *self {
            Net::Stack { layers, .. } => layers.last().map(Layer::activation),
            Net::Graph { graph, .. } => {
                let t = *graph.outputs.get(o)?;
                let node = t.checked_sub(graph.inputs.len())?;
                let read = graph.nodes.iter().any(|n| n.inputs.contains(&t))
                    || graph.outputs.iter().filter(|&&u| u == t).count() > 1;
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

    #[allow(clippy::too_many_arguments)]
    fn predict_into<W: Borrow<LayerWeights>>(
        &self,
        weights: &[W],
        xs: &[&[f32]],
        batch: usize,
        outs: &mut [Vec<f32>],
        workspace: &mut Workspace,
        planned: Option<&graph::Planned>,
    ) -> Result<(), TrainError> {
        match (*self, planned, xs, outs) {
            (Net::Stack { layers, input }, _, [x], [out]) => {
                runtime::predict_into(layers, input, weights, x, batch, out, workspace)
            }
            (Net::Graph { graph, tensors }, Some(p), xs, outs) => {
                let mut outs: Vec<&mut [f32]> = outs.iter_mut().map(|o| &mut o[..]).collect();
                graph::predict_graph_into(
                    graph,
                    tensors,
                    &p.plan(),
                    weights,
                    xs,
                    batch,
                    &mut outs,
                    workspace.graph(),
                )
            }
            (Net::Graph { .. }, None, ..) => Err(TrainError::new("the graph is not planned")),
            (Net::Stack { .. }, ..) => Err(TrainError::new("a stack has one input and one output")),
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
    fn forward(
        &mut self,
        net: &Net,
        weights: &mut [LayerWeights],
        xs: &[&[f32]],
        batch: usize,
    ) -> Result<(), TrainError> {
        match (self, net, xs) {
            (NetTape::Stack(t), Net::Stack { layers, .. }, [x]) => {
                t.forward(layers, weights, x, batch).map(|_| ())
            }
            (NetTape::Graph(t), Net::Graph { graph, .. }, xs) => {
                t.forward(graph, weights, xs, batch)
            }
            _ => Err(TrainError::new("a tape of another model")),
        }
    }

    /// Output `o` after [`NetTape::forward`] on `xs`.
    fn output<'s>(&'s self, net: &Net, xs: &[&'s [f32]], o: usize) -> &'s [f32] {
        match (self, net) {
            (NetTape::Stack(t), _) => t.output(xs[0]),
            (NetTape::Graph(t), Net::Graph { graph, .. }) => t.output(graph, xs, o),
            (NetTape::Graph(_), Net::Stack { .. }) => &[],
        }
    }

    fn backward(
        &mut self,
        net: &Net,
        weights: &[LayerWeights],
        xs: &[&[f32]],
        d_outs: &[&[f32]],
        fused: &[bool],
    ) -> Result<(), TrainError> {
        match (self, net, xs, d_outs, fused) {
            (NetTape::Stack(t), Net::Stack { layers, .. }, [x], [d], [f]) => {
                t.backward(layers, weights, x, d, *f)
            }
            (NetTape::Graph(t), Net::Graph { graph, .. }, ..) => {
                t.backward(graph, weights, xs, d_outs, fused)
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
    /// A model of several outputs takes it for each output unless [`FitOptions::losses`]
    /// gives one per output.
    pub loss: Loss,
    /// One loss per output, in the model's output order (Keras's `loss=[…]`); empty (the
    /// default): [`FitOptions::loss`] for every output.
    pub losses: Vec<Loss>,
    /// Each output's weight in the loss that is minimised (Keras's `loss_weights`); empty
    /// (the default): 1 for every output.
    pub loss_weights: Vec<f32>,
    /// Whether to report accuracy (Keras's `metrics=["accuracy"]`, per output for several);
    /// default true.
    pub accuracy: bool,
    /// Data to evaluate at the end of each epoch (Keras's `validation_data`).
    pub validation: Option<&'a Dataset>,
    /// The same for a model of several inputs or outputs (used when `validation` is not
    /// given).
    pub validation_data: Option<&'a MultiDataset>,
    /// Without validation data: this fraction of the training data, the last samples before
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
    /// The outputs' names, for the logs of a model of several outputs (`digit_loss`);
    /// `model!`'s `fit` gives the model's. Default `output`, `output_1`, …
    pub output_names: Option<&'a [&'a str]>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            optimizer: Box::new(RmsProp::default()),
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            losses: Vec::new(),
            loss_weights: Vec::new(),
            accuracy: true,
            validation: None,
            validation_data: None,
            validation_split: 0.0,
            shuffle: true,
            seed: 0,
            verbose: Verbose::Auto,
            checkpoint: None,
            layer_names: None,
            output_names: None,
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

/// Each output's loss, weight, width and name, as [`FitOptions`] give them.
struct Heads {
    losses: Vec<Loss>,
    weights: Vec<f32>,
    widths: Vec<usize>,
    names: Vec<String>,
}

impl Heads {
    fn new(
        outputs: &[Shape],
        loss: Loss,
        losses: &[Loss],
        loss_weights: &[f32],
        names: Option<&[&str]>,
    ) -> Result<Heads, TrainError> {
        let n = outputs.len();
        let losses = match losses.len() {
            0 => vec![loss; n],
            l if l == n => losses.to_vec(),
            l => {
                return Err(TrainError::new(format!(
                    "{l} losses were given for the model's {n} output{}",
                    if n == 1 { "" } else { "s" }
                )))
            }
        };
        let weights = match loss_weights.len() {
            0 => vec![1.0; n],
            l if l == n => loss_weights.to_vec(),
            l => {
                return Err(TrainError::new(format!(
                    "{l} loss weights were given for the model's {n} output{}",
                    if n == 1 { "" } else { "s" }
                )))
            }
        };
        if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
            return Err(TrainError::new(format!(
                "a loss weight of {w} is not finite"
            )));
        }
        let names = match names {
            Some(names) if names.len() == n => names.iter().map(|s| s.to_string()).collect(),
            _ => (0..n)
                .map(|o| match o {
                    0 => "output".to_string(),
                    o => format!("output_{o}"),
                })
                .collect(),
        };
        Ok(Heads {
            losses,
            weights,
            widths: outputs.iter().map(Shape::last).collect(),
            names,
        })
    }

    fn len(&self) -> usize {
        self.losses.len()
    }

    /// The log entries of one pass: the total loss, and with several outputs each one's
    /// loss (and accuracy) under its name; with one, its accuracy as `accuracy`.
    fn logs(&self, total: f32, each: &[(f32, f32)], accuracy: bool) -> Logs {
        let mut logs = Logs::new();
        logs.insert(LOSS, total);
        if self.len() == 1 {
            if accuracy {
                logs.insert(ACCURACY, each[0].1);
            }
            return logs;
        }
        for (name, &(loss, acc)) in self.names.iter().zip(each) {
            logs.insert(format!("{name}_loss"), loss);
            if accuracy {
                logs.insert(format!("{name}_accuracy"), acc);
            }
        }
        logs
    }
}

/// Checks a dataset against the model: each input's sample shape, and every label against
/// its output's loss and width.
fn check_samples(
    what: &str,
    data: &Samples,
    inputs: &[Shape],
    heads: &Heads,
) -> Result<(), TrainError> {
    if data.inputs.len() != inputs.len() {
        return Err(TrainError::new(format!(
            "the {what} data has {} input{}, but the model has {}",
            data.inputs.len(),
            if data.inputs.len() == 1 { "" } else { "s" },
            inputs.len()
        )));
    }
    if data.labels.len() != heads.len() {
        return Err(TrainError::new(format!(
            "the {what} data has labels for {} output{}, but the model has {}",
            data.labels.len(),
            if data.labels.len() == 1 { "" } else { "s" },
            heads.len()
        )));
    }
    for (i, (given, input)) in data.inputs.iter().zip(inputs).enumerate() {
        if given.shape != input.dims() {
            let which = if inputs.len() == 1 {
                String::new()
            } else {
                format!(" of input {i}")
            };
            return Err(TrainError::new(format!(
                "the {what} samples{which} have shape {:?}, but the model's input is {input}",
                given.shape
            )));
        }
    }
    data.check()
        .map_err(|e| TrainError::caused_by(format!("the {what} data"), e))?;
    for o in 0..heads.len() {
        let (loss, width) = (&heads.losses[o], heads.widths[o]);
        let limit = match loss {
            Loss::SparseCategoricalCrossentropy { .. } | Loss::CategoricalCrossentropy { .. } => {
                width
            }
            Loss::BinaryCrossentropy { .. } if width == 1 => 2,
            _ if width > 1 => width,
            _ => usize::MAX,
        };
        let labels = data.y(o, 0, data.len);
        if let Some((i, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= limit)
        {
            let which = if heads.len() == 1 {
                "the model's".to_string()
            } else {
                format!("output `{}`'s", heads.names[o])
            };
            return Err(TrainError::new(format!(
                "{what} label {label} (sample {i}) is out of range for {which} {width} output{} (0..{limit}) with {}",
                if width == 1 { "" } else { "s" },
                loss.name()
            )));
        }
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
    fit_net(
        Net::Stack { layers, input },
        weights,
        Samples::of(train),
        options,
    )
}

/// [`fit`] for a graph model (`tensors`: every tensor's shape, as `graph::eval_graph`
/// gives them) of one input and one output. Gradients are summed where a tensor feeds
/// several layers and over a shared layer's calls.
pub fn fit_graph(
    graph: &Graph,
    tensors: &[Shape],
    weights: &mut [LayerWeights],
    train: &Dataset,
    options: FitOptions,
) -> Result<History, TrainError> {
    fit_net(
        Net::Graph { graph, tensors },
        weights,
        Samples::of(train),
        options,
    )
}

/// [`fit_graph`] for a graph model of any number of inputs and outputs: `train` holds one
/// array per input and one vector of labels per output. Each output takes its loss of
/// [`FitOptions::losses`], weighted by [`FitOptions::loss_weights`].
pub fn fit_graph_multi(
    graph: &Graph,
    tensors: &[Shape],
    weights: &mut [LayerWeights],
    train: &MultiDataset,
    options: FitOptions,
) -> Result<History, TrainError> {
    fit_net(
        Net::Graph { graph, tensors },
        weights,
        Samples::of_multi(train),
        options,
    )
}

fn fit_net(
    net: Net,
    weights: &mut [LayerWeights],
    train: Samples,
    mut options: FitOptions,
) -> Result<History, TrainError> {
    let layers = net.layers();
    let inputs = net.inputs();
    let mut tape = net.tape(weights, options.seed)?;
    let planned = net.planned()?;
    let heads = Heads::new(
        &net.outputs()?,
        options.loss,
        &options.losses,
        &options.loss_weights,
        options.output_names,
    )?;
    if options.batch_size == 0 {
        return Err(TrainError::new("batch_size must be at least 1"));
    }
    check_samples("training", &train, &inputs, &heads)?;
    let given = match (options.validation, options.validation_data) {
        (Some(v), _) => Some(Samples::of(v)),
        (None, Some(v)) => Some(Samples::of_multi(v)),
        (None, None) => None,
    };
    let (train, validation) = match given {
        Some(v) => {
            check_samples("validation", &v, &inputs, &heads)?;
            (train, Some(v))
        }
        None if options.validation_split != 0.0 => {
            let (t, v) = train
                .validation_split(options.validation_split)
                .map_err(|e| TrainError::caused_by("", e))?;
            (t, Some(v))
        }
        None => (train, None),
    };
    if train.is_empty() {
        return Err(TrainError::new("there are no training samples"));
    }
    let names: Vec<String> = match options.layer_names {
        Some(n) => n.iter().map(|s| s.to_string()).collect(),
        None => auto_names(layers),
    };
    let batch_size = options.batch_size;
    let steps = train.len.div_ceil(batch_size);
    let mut progress = Progress::new(steps, options.verbose);
    let mut order_stream = Shuffle::new(options.seed);
    let n_out = heads.len();
    let fused: Vec<bool> = (0..n_out)
        .map(|o| {
            net.output_activation(o)
                .is_some_and(|a| heads.losses[o].fused_activation() == Some(a))
        })
        .collect();
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    let mut dense = vec![Vec::new(); n_out];
    let mut grads = vec![Vec::new(); n_out];
    let mut workspace = Workspace::new();
    let mut history = History::new();
    for epoch in 0..options.epochs {
        progress.begin_epoch(epoch, options.epochs);
        let order: Vec<usize> = if options.shuffle {
            order_stream.permutation(train.len)
        } else {
            (0..train.len).collect()
        };
        let mut mean_loss = Mean::new();
        let mut head_loss = vec![Mean::new(); n_out];
        let mut accuracy: Vec<Accuracy> = (0..n_out)
            .map(|o| Accuracy::new(AccuracyKind::for_loss(&heads.losses[o], heads.widths[o])))
            .collect();
        let mut logs = Logs::new();
        for (step, batch) in order.chunks(batch_size).enumerate() {
            train
                .gather(batch, &mut xb, &mut yb)
                .map_err(|e| TrainError::caused_by("", e))?;
            let xs: Vec<&[f32]> = xb.iter().map(Vec::as_slice).collect();
            tape.forward(&net, weights, &xs, batch.len())?;
            let mut total = 0.0f32;
            for o in 0..n_out {
                let out = tape.output(&net, &xs, o);
                let (loss, width) = (&heads.losses[o], heads.widths[o]);
                let t = target(loss, &yb[o], width, &mut dense[o]);
                let grad = &mut grads[o];
                grad.resize(out.len(), 0.0);
                let value = if fused[o] {
                    loss.loss_and_logit_grad(out, t, width, grad)?
                } else {
                    loss.loss_and_grad(out, t, width, grad)?
                };
                let w = heads.weights[o];
                if w != 1.0 {
                    grad.iter_mut().for_each(|g| *g *= w);
                }
                total += w * value;
                // Keras's per-output loss trackers weigh each batch by its static batch
                // size, which TensorFlow's traced step does not know (`None`): each batch
                // counts once, the last partial one as much as a full one. The total
                // `loss` is weighed by the batch's samples.
                head_loss[o].update(f64::from(value), 1.0);
                if options.accuracy {
                    accuracy[o].update(out, t, width)?;
                }
            }
            if !total.is_finite() {
                return Err(TrainError::new(format!(
                    "the loss became {total} at epoch {} step {}; lower the learning rate",
                    epoch + 1,
                    step + 1
                )));
            }
            mean_loss.update(f64::from(total), batch.len() as f64);
            let d_outs: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
            tape.backward(&net, weights, &xs, &d_outs, &fused)?;
            let tape_grads = tape.grads();
            let (mut params, mut gs): (Vec<&mut [f32]>, Vec<&[f32]>) = (Vec::new(), Vec::new());
            for (w, g) in weights.iter_mut().zip(tape_grads) {
                for (t, g) in w.tensors.iter_mut().zip(g) {
                    if !g.is_empty() {
                        params.push(&mut t.data);
                        gs.push(g);
                    }
                }
            }
            options.optimizer.step(&mut params, &gs)?;
            let each: Vec<(f32, f32)> = head_loss
                .iter()
                .zip(&accuracy)
                .map(|(l, a)| (l.result(), a.result()))
                .collect();
            logs = heads.logs(mean_loss.result(), &each, options.accuracy);
            progress.update(step + 1, &logs);
        }
        if let Some(v) = &validation {
            let (total, each) = evaluate_with(
                net,
                weights,
                v,
                &heads,
                batch_size,
                &mut workspace,
                planned.as_ref(),
            )?;
            logs.extend_validation(&heads.logs(total, &each, options.accuracy));
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
    evaluate_one(
        Net::Stack { layers, input },
        weights,
        data,
        loss,
        batch_size,
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
    evaluate_one(
        Net::Graph { graph, tensors },
        weights,
        data,
        loss,
        batch_size,
    )
}

/// [`evaluate_graph`] for a graph model of any number of inputs and outputs, with one loss
/// per output (`losses`, or `loss` for each when empty) weighted by `loss_weights`: the
/// logs Keras's `evaluate(return_dict=True)` gives, `loss` the weighted total, and each
/// output's `<name>_loss` and `<name>_accuracy`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_graph_multi<W: Borrow<LayerWeights>>(
    graph: &Graph,
    tensors: &[Shape],
    weights: &[W],
    data: &MultiDataset,
    losses: &[Loss],
    loss_weights: &[f32],
    output_names: &[&str],
    batch_size: usize,
) -> Result<Logs, TrainError> {
    let net = Net::Graph { graph, tensors };
    let default = Loss::SparseCategoricalCrossentropy { from_logits: false };
    let loss = losses.first().copied().unwrap_or(default);
    let losses = if losses.len() == 1 { &[][..] } else { losses };
    let heads = Heads::new(
        &net.outputs()?,
        loss,
        losses,
        loss_weights,
        Some(output_names),
    )?;
    let data = Samples::of_multi(data);
    check_samples("evaluation", &data, &net.inputs(), &heads)?;
    let planned = net.planned()?;
    let (total, each) = evaluate_with(
        net,
        weights,
        &data,
        &heads,
        batch_size,
        &mut Workspace::new(),
        planned.as_ref(),
    )?;
    Ok(heads.logs(total, &each, true))
}

fn evaluate_one<W: Borrow<LayerWeights>>(
    net: Net,
    weights: &[W],
    data: &Dataset,
    loss: Loss,
    batch_size: usize,
) -> Result<Evaluation, TrainError> {
    let heads = Heads::new(&net.outputs()?, loss, &[], &[], None)?;
    let data = Samples::of(data);
    check_samples("evaluation", &data, &net.inputs(), &heads)?;
    let planned = net.planned()?;
    let (total, each) = evaluate_with(
        net,
        weights,
        &data,
        &heads,
        batch_size,
        &mut Workspace::new(),
        planned.as_ref(),
    )?;
    Ok(Evaluation {
        loss: total,
        accuracy: each[0].1,
    })
}

/// The weighted total loss and each output's `(loss, accuracy)` on `data`, checked.
fn evaluate_with<W: Borrow<LayerWeights>>(
    net: Net,
    weights: &[W],
    data: &Samples,
    heads: &Heads,
    batch_size: usize,
    workspace: &mut Workspace,
    planned: Option<&graph::Planned>,
) -> Result<(f32, Vec<(f32, f32)>), TrainError> {
    let outputs = net.outputs()?;
    let per_out = outputs
        .iter()
        .map(|s| runtime::batch_len(s, 1))
        .collect::<Result<Vec<usize>, _>>()?;
    if batch_size == 0 {
        return Err(TrainError::new("batch_size must be at least 1"));
    }
    if data.is_empty() {
        return Err(TrainError::new("there are no samples to evaluate"));
    }
    let n_out = heads.len();
    let mut accuracy: Vec<Accuracy> = (0..n_out)
        .map(|o| Accuracy::new(AccuracyKind::for_loss(&heads.losses[o], heads.widths[o])))
        .collect();
    let mut head_loss = vec![Mean::new(); n_out];
    let mut mean_loss = Mean::new();
    let mut outs = vec![Vec::new(); n_out];
    let mut dense = vec![Vec::new(); n_out];
    for start in (0..data.len).step_by(batch_size) {
        let n = batch_size.min(data.len - start);
        let xs: Vec<&[f32]> = (0..data.inputs.len())
            .map(|i| data.x(i, start, n))
            .collect();
        for (out, &per) in outs.iter_mut().zip(&per_out) {
            out.resize(n * per, 0.0);
        }
        net.predict_into(weights, &xs, n, &mut outs, workspace, planned)?;
        let mut total = 0.0f32;
        for o in 0..n_out {
            let (loss, width) = (&heads.losses[o], heads.widths[o]);
            let t = target(loss, data.y(o, start, n), width, &mut dense[o]);
            let value = loss.loss(&outs[o], t, width)?;
            total += heads.weights[o] * value;
            // Each batch once, as in `fit` (Keras's per-output trackers).
            head_loss[o].update(f64::from(value), 1.0);
            accuracy[o].update(&outs[o], t, width)?;
        }
        mean_loss.update(f64::from(total), n as f64);
    }
    let each = head_loss
        .iter()
        .zip(&accuracy)
        .map(|(l, a)| (l.result(), a.result()))
        .collect();
    Ok((mean_loss.result(), each))
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
