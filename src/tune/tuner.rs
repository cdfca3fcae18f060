//! The search's settings: [`Tuner`] and its options, the [`Objective`] and its
//! [`Direction`], and the checks they must pass before a search starts.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::data::Dataset;
use crate::train::{Adam, Loss, Optimizer};

use super::{Space, TuneError};

/// Whether a larger or a smaller value is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better (accuracy).
    Max,
    /// Smaller is better (loss).
    Min,
}

impl Direction {
    /// `Less` when `a` is worse than `b`; NaN is worse than anything.
    pub(super) fn compare(self, a: f64, b: f64) -> Ordering {
        match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => match self {
                Direction::Max => a.total_cmp(&b),
                Direction::Min => b.total_cmp(&a),
            },
        }
    }
}

/// The metric a search optimizes, as Keras Tuner's `Objective`: a name from the training
/// history (`val_accuracy`, `val_loss`, `accuracy`, `loss`) and a direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objective {
    /// The metric's name in the history.
    pub name: String,
    /// Whether to maximize or minimize it.
    pub direction: Direction,
}

impl Objective {
    /// Maximize `name` (`Objective::max("val_accuracy")`).
    pub fn max(name: &str) -> Objective {
        Objective {
            name: name.to_owned(),
            direction: Direction::Max,
        }
    }

    /// Minimize `name` (`Objective::min("val_loss")`).
    pub fn min(name: &str) -> Objective {
        Objective {
            name: name.to_owned(),
            direction: Direction::Min,
        }
    }
}

impl fmt::Display for Objective {
    /// Keras Tuner's form: `Objective(name="val_accuracy", direction="max")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = match self.direction {
            Direction::Max => "max",
            Direction::Min => "min",
        };
        write!(
            f,
            "Objective(name=\"{}\", direction=\"{direction}\")",
            self.name
        )
    }
}

/// Which of Keras Tuner's tuners proposes the trials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Kind {
    Grid,
    Random,
    Hyperband { factor: usize, iterations: usize },
}

/// A search: the space, the tuner, the run-time settings, and where trials are kept.
/// Build it with [`Tuner::grid`], [`Tuner::random`] or [`Tuner::hyperband`] and run it with
/// [`Tuner::search`].
#[derive(Clone, Debug)]
pub struct Tuner {
    pub(super) space: Space,
    pub(super) kind: Kind,
    pub(super) objective: Objective,
    pub(super) learning_rates: Vec<f64>,
    pub(super) optimizer: fn(f64) -> Box<dyn Optimizer>,
    pub(super) optimizer_name: String,
    pub(super) loss: Loss,
    pub(super) batch_size: usize,
    pub(super) epochs: usize,
    pub(super) max_trials: Option<usize>,
    pub(super) seed: u64,
    pub(super) directory: Option<PathBuf>,
    pub(super) overwrite: bool,
    pub(super) parallel: usize,
    pub(super) verbose: bool,
}

fn adam(learning_rate: f64) -> Box<dyn Optimizer> {
    Box::new(Adam::new(learning_rate as f32))
}

impl Tuner {
    fn new(space: Space, kind: Kind) -> Tuner {
        Tuner {
            space,
            kind,
            objective: Objective::max("val_accuracy"),
            learning_rates: vec![1e-3],
            optimizer: adam,
            optimizer_name: "adam".to_owned(),
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            batch_size: 32,
            epochs: 10,
            max_trials: None,
            seed: 0,
            directory: None,
            overwrite: false,
            parallel: std::thread::available_parallelism().map_or(1, usize::from),
            verbose: false,
        }
    }

    /// Every configuration (candidate × learning rate) in order, each trained for
    /// [`Tuner::epochs`] (Keras Tuner's `GridSearch`).
    pub fn grid(space: Space) -> Tuner {
        Tuner::new(space, Kind::Grid)
    }

    /// [`Tuner::max_trials`] configurations drawn at random without repetition (default
    /// 10), each trained for [`Tuner::epochs`] (Keras Tuner's `RandomSearch`).
    pub fn random(space: Space) -> Tuner {
        Tuner::new(space, Kind::Random)
    }

    /// Keras Tuner's `Hyperband` with `factor = 3` and one iteration: brackets of random
    /// configurations trained for few epochs, the best third of each round continued to
    /// `factor` times the epochs, up to [`Tuner::max_epochs`] (default 10, as here set by
    /// `epochs`).
    pub fn hyperband(space: Space) -> Tuner {
        Tuner::new(
            space,
            Kind::Hyperband {
                factor: 3,
                iterations: 1,
            },
        )
    }

    /// What to optimize; default `Objective::max("val_accuracy")`.
    pub fn objective(mut self, objective: Objective) -> Tuner {
        self.objective = objective;
        self
    }

    /// The learning rates to choose from (Keras Tuner's `hp.Choice`); default `[1e-3]`.
    pub fn learning_rates(mut self, rates: impl IntoIterator<Item = f64>) -> Tuner {
        self.learning_rates = rates.into_iter().collect();
        self
    }

    /// The optimizer made for each trial from its learning rate; default Adam. `name` goes
    /// in the directory's record, so a search with another optimizer does not reuse its
    /// trials.
    pub fn optimizer(mut self, name: &str, make: fn(f64) -> Box<dyn Optimizer>) -> Tuner {
        self.optimizer = make;
        self.optimizer_name = name.to_owned();
        self
    }

    /// The loss; default sparse categorical cross-entropy on probabilities.
    pub fn loss(mut self, loss: Loss) -> Tuner {
        self.loss = loss;
        self
    }

    /// Samples per step; default 32, as Keras.
    pub fn batch_size(mut self, batch_size: usize) -> Tuner {
        self.batch_size = batch_size;
        self
    }

    /// Epochs of each trial of a grid or random search; default 10.
    pub fn epochs(mut self, epochs: usize) -> Tuner {
        self.epochs = epochs;
        self
    }

    /// Hyperband's `max_epochs`: the most epochs a model trains for; default 10.
    pub fn max_epochs(self, max_epochs: usize) -> Tuner {
        self.epochs(max_epochs)
    }

    /// Hyperband's `factor` (default 3): each round keeps `1/factor` of the trials.
    pub fn factor(mut self, factor: usize) -> Tuner {
        if let Kind::Hyperband { iterations, .. } = self.kind {
            self.kind = Kind::Hyperband { factor, iterations };
        }
        self
    }

    /// Hyperband's `hyperband_iterations` (default 1): how many times the brackets are run.
    pub fn hyperband_iterations(mut self, iterations: usize) -> Tuner {
        if let Kind::Hyperband { factor, .. } = self.kind {
            self.kind = Kind::Hyperband { factor, iterations };
        }
        self
    }

    /// The most trials to run (random search: default 10; others: no limit). A search
    /// stopped by it resumes from the directory when run again with a higher limit.
    pub fn max_trials(mut self, max_trials: usize) -> Tuner {
        self.max_trials = Some(max_trials);
        self
    }

    /// Seeds the choice of configurations and every trial's weights and sample order;
    /// default 0.
    pub fn seed(mut self, seed: u64) -> Tuner {
        self.seed = seed;
        self
    }

    /// Where the trials and their weights are kept; default a new folder in the system's
    /// temporary directory. A directory holding an earlier run of the same search resumes
    /// it; one holding another search is an error unless [`Tuner::overwrite`].
    pub fn directory(mut self, directory: impl AsRef<Path>) -> Tuner {
        self.directory = Some(directory.as_ref().to_path_buf());
        self
    }

    /// Deletes the trials of any earlier search in the directory first.
    pub fn overwrite(mut self, overwrite: bool) -> Tuner {
        self.overwrite = overwrite;
        self
    }

    /// Trials trained at once, each on its own thread; default one per core. `fit`'s
    /// matrix products use every core too, but on small models they leave most of it idle:
    /// the 30-trial MNIST search of `examples/tune_units.rs` took 79 s one trial at a time
    /// and 44 s two at a time on 2 cores.
    pub fn parallel(mut self, trials: usize) -> Tuner {
        self.parallel = trials.max(1);
        self
    }

    /// Prints a line per trial as it finishes; default off.
    pub fn verbose(mut self, verbose: bool) -> Tuner {
        self.verbose = verbose;
        self
    }

    /// The configuration `config`: its candidate and learning rate.
    pub(super) fn config(&self, config: usize) -> (usize, f64) {
        let n = self.learning_rates.len().max(1);
        (config / n, self.learning_rates[config % n])
    }

    /// Refuses settings or data no search can run on, before anything is written.
    pub(super) fn check(&self, train: &Dataset, validation: &Dataset) -> Result<(), TuneError> {
        if self.space.is_empty() {
            return Err(TuneError::new("the search space has no candidates"));
        }
        if self.learning_rates.is_empty() {
            return Err(TuneError::new(
                "no learning rate to choose from: give `learning_rates` at least one",
            ));
        }
        if let Some(lr) = self
            .learning_rates
            .iter()
            .find(|lr| lr.is_nan() || **lr <= 0.0 || lr.is_infinite())
        {
            return Err(TuneError::new(format!(
                "learning rate {lr} is not a positive number"
            )));
        }
        if self.epochs == 0 {
            return Err(TuneError::new("epochs (max_epochs) must be at least 1"));
        }
        if let Kind::Hyperband { factor, iterations } = self.kind {
            if factor < 2 {
                return Err(TuneError::new(format!(
                    "Hyperband's factor must be at least 2, got {factor}"
                )));
            }
            if iterations == 0 {
                return Err(TuneError::new("hyperband_iterations must be at least 1"));
            }
        }
        if train.is_empty() || validation.is_empty() {
            return Err(TuneError::new(
                "the training and validation data must each hold at least one sample",
            ));
        }
        Ok(())
    }
}
