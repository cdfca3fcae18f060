//! The compile-time half of a search: the candidates `candidates!` lists, each a model type
//! with its hyperparameter values and parameter count, and what trains or loads it.

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::data::Dataset;
use crate::train::{Evaluation, FitOptions, History, Loss, Optimizer, TrainError, Verbose};
use crate::{LoadError, RuntimeError};

use super::TuneError;

/// One model type of a search space: written by [`candidates!`](crate::candidates), its
/// figures computed by the compiler.
#[derive(Clone, Copy)]
pub struct Candidate {
    /// The model's type name without its arguments (`"Mlp"`).
    pub model: &'static str,
    /// The const generic arguments, by the names written in `candidates!` (`[("UNITS", 256)]`).
    pub hyperparameters: &'static [(&'static str, i128)],
    /// The model's `PARAMS`, a constant of its type.
    pub params: usize,
    /// Builds (or loads) the model, trains it and saves its weights: see [`Job`].
    pub train: fn(&Job<'_>) -> Result<History, TuneError>,
    /// Loads weights saved by `train` as this candidate's type.
    pub load: fn(&Path) -> Result<Box<dyn TrainedModel>, LoadError>,
}

impl Candidate {
    /// The type as written with its arguments: `Mlp<256>`, `Deep<64, 2>`.
    pub fn type_name(&self) -> String {
        let args: Vec<String> = self
            .hyperparameters
            .iter()
            .map(|(_, v)| v.to_string())
            .collect();
        format!("{}<{}>", self.model, args.join(", "))
    }
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidate")
            .field("type", &self.type_name())
            .field("params", &self.params)
            .finish()
    }
}

/// The candidates of a search, as `candidates!` lists them (after any `max_params` budget).
#[derive(Clone, Copy, Debug)]
pub struct Space {
    candidates: &'static [Candidate],
}

impl Space {
    /// A space of these candidates; `candidates!` is the way to write one.
    pub const fn new(candidates: &'static [Candidate]) -> Space {
        Space { candidates }
    }

    /// The candidates, in the order written (ranges ascending, the first parameter outermost).
    pub const fn candidates(&self) -> &'static [Candidate] {
        self.candidates
    }

    /// How many candidates there are.
    pub const fn len(&self) -> usize {
        self.candidates.len()
    }

    /// Whether there is none (`candidates!` never makes an empty space).
    pub const fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }
}

/// What one trial asks of a candidate: start from fresh weights or from an earlier trial's,
/// train for `epochs - initial_epoch` epochs, save the weights to `weights`.
#[derive(Debug)]
pub struct Job<'a> {
    /// The training data.
    pub train: &'a Dataset,
    /// The data the objective is measured on after each epoch.
    pub validation: &'a Dataset,
    /// The optimizer, its learning rate already chosen.
    pub optimizer: fn(f64) -> Box<dyn Optimizer>,
    /// The learning rate of this trial.
    pub learning_rate: f64,
    /// The loss.
    pub loss: Loss,
    /// Samples per step.
    pub batch_size: usize,
    /// The epoch this trial's training ends at (Keras Tuner's `tuner/epochs`).
    pub epochs: usize,
    /// The epoch it starts from (`tuner/initial_epoch`): more than 0 when it continues an
    /// earlier trial's weights.
    pub initial_epoch: usize,
    /// The earlier trial's weights to start from, or fresh weights from `seed`.
    pub resume_from: Option<PathBuf>,
    /// Where to save the trained weights.
    pub weights: PathBuf,
    /// Seeds the weights, the order of the samples and dropout.
    pub seed: u64,
}

impl Job<'_> {
    /// Runs the job on model type `M`, through its inherent methods (`candidates!` writes
    /// the `ops` of each candidate).
    pub fn run<M>(&self, ops: &Ops<M>) -> Result<History, TuneError> {
        let mut model = match &self.resume_from {
            Some(path) => (ops.load)(path)?,
            None => (ops.init)(self.seed),
        };
        let history = (ops.fit)(
            &mut model,
            self.train,
            FitOptions {
                epochs: self.epochs.saturating_sub(self.initial_epoch),
                batch_size: self.batch_size,
                optimizer: (self.optimizer)(self.learning_rate),
                loss: self.loss,
                validation: Some(self.validation),
                seed: self.seed,
                verbose: Verbose::Silent,
                ..Default::default()
            },
        )?;
        (ops.save)(&model, &self.weights)
            .map_err(|e| TuneError::caused_by("could not save the trial's weights", e))?;
        Ok(history)
    }
}

/// A model type's inherent methods as function pointers, so that a search runs any
/// candidate without generics at run time. `candidates!` writes one per candidate.
pub struct Ops<M> {
    /// `M::init`.
    pub init: fn(u64) -> M,
    /// `M::load`.
    pub load: fn(&Path) -> Result<M, LoadError>,
    /// `M::save`.
    pub save: fn(&M, &Path) -> std::io::Result<()>,
    /// `M::fit`.
    pub fit: fn(&mut M, &Dataset, FitOptions<'_>) -> Result<History, TrainError>,
    /// `M::evaluate`.
    pub evaluate: fn(&M, &Dataset, Loss) -> Result<Evaluation, TrainError>,
    /// `M::predict`.
    pub predict: fn(&M, &[f32]) -> Result<Vec<f32>, RuntimeError>,
}

impl<M: 'static> Ops<M> {
    /// Loads `path` as an `M`, boxed as a [`TrainedModel`].
    pub fn load_boxed(&'static self, path: &Path) -> Result<Box<dyn TrainedModel>, LoadError> {
        let model = (self.load)(path)?;
        Ok(Box::new(Trained { model, ops: self }))
    }
}

/// A trained model of any candidate type: what [`SearchResult::best_model`] returns.
/// [`TrainedModel::into_any`] and `downcast` give back the concrete type.
///
/// [`SearchResult::best_model`]: super::SearchResult::best_model
pub trait TrainedModel: Any {
    /// The loss and accuracy on `data` (the model's `evaluate`).
    fn evaluate(&self, data: &Dataset, loss: Loss) -> Result<Evaluation, TrainError>;
    /// Runs a batch of whole samples (the model's `predict`).
    fn predict(&self, x: &[f32]) -> Result<Vec<f32>, RuntimeError>;
    /// Saves the weights as safetensors (the model's `save`).
    fn save(&self, path: &Path) -> std::io::Result<()>;
    /// The model itself, for `downcast`.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

struct Trained<M: 'static> {
    model: M,
    ops: &'static Ops<M>,
}

impl<M: 'static> TrainedModel for Trained<M> {
    fn evaluate(&self, data: &Dataset, loss: Loss) -> Result<Evaluation, TrainError> {
        (self.ops.evaluate)(&self.model, data, loss)
    }

    fn predict(&self, x: &[f32]) -> Result<Vec<f32>, RuntimeError> {
        (self.ops.predict)(&self.model, x)
    }

    fn save(&self, path: &Path) -> std::io::Result<()> {
        (self.ops.save)(&self.model, path)
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        Box::new(self.model)
    }
}

/// The candidates of `all` within `max_params`, in `const` evaluation (the `N` is
/// [`count_within`]'s).
pub const fn within<const N: usize>(all: &[Candidate], max_params: usize) -> [Candidate; N] {
    let mut out: [Option<Candidate>; N] = [None; N];
    let (mut i, mut n) = (0, 0);
    while i < all.len() {
        if all[i].params <= max_params && n < N {
            out[n] = Some(all[i]);
            n += 1;
        }
        i += 1;
    }
    let mut kept = [PLACEHOLDER; N];
    let mut j = 0;
    while j < N {
        if let Some(c) = out[j] {
            kept[j] = c;
        }
        j += 1;
    }
    kept
}

/// How many candidates of `all` have at most `max_params` parameters.
pub const fn count_within(all: &[Candidate], max_params: usize) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < all.len() {
        if all[i].params <= max_params {
            n += 1;
        }
        i += 1;
    }
    n
}

const PLACEHOLDER: Candidate = Candidate {
    model: "",
    hyperparameters: &[],
    params: 0,
    train: |_| Err(TuneError::new("not a candidate")),
    load: |path| {
        Err(LoadError::Io {
            path: path.to_path_buf(),
            error: std::io::Error::other("not a candidate"),
        })
    },
};
