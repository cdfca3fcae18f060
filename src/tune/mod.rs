//! Hyperparameter search over compile-time-checked models, as Keras Tuner does it.
//!
//! The models searched are types: [`candidates!`](crate::candidates) lists the
//! instantiations of a const-generic model (`Mlp<UNITS in 32..=512 step 32>`), and the
//! compiler checks each one's shapes and computes its `PARAMS`, including any
//! `max_params` budget. Run-time settings (the learning rate) are searched alongside. The
//! tuners are Keras Tuner's grid, random and Hyperband; every trial is a JSON file in the
//! search's directory, so an interrupted search resumes and a finished one reloads.
//!
//! ```no_run
//! use model::tune::{Objective, Tuner};
//! use model::{candidates, data::Mnist, model};
//!
//! model! {
//!     pub struct Mlp<const UNITS: usize> {
//!         input: [28, 28], Flatten, Dense(UNITS, activation = relu),
//!         Dense(10, activation = softmax),
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = Mnist::load("data/mnist")?;
//! let result = Tuner::hyperband(candidates!(Mlp<UNITS in 32..=512 step 32>))
//!     .objective(Objective::max("val_accuracy"))
//!     .learning_rates([1e-2, 1e-3, 1e-4])
//!     .max_epochs(10)
//!     .seed(1)
//!     .directory("tuning/mlp")
//!     .search(&data.train, &data.test)?;
//! println!("{}", result.summary());
//! let best: Box<dyn model::tune::TrainedModel> = result.best_model()?;
//! # Ok(()) }
//! ```

mod oracle;
mod result;
mod space;
mod trial;

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::data::Dataset;
use crate::train::{Adam, Loss, Optimizer};

use self::oracle::{Hyperband, Oracle, Proposal, Sampler, Seen, Spec};
pub use self::result::{SearchResult, Summary};
pub use self::space::{Candidate, Job, Ops, Space, TrainedModel};
pub use self::trial::{HpValue, Trial};

/// Items `candidates!` names by absolute path; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::space::{count_within, within};
}

/// Why a search failed: a directory that cannot be used, a trial that failed (the
/// trial and its cause kept as the source). The crate's one [`Error`](crate::Error).
pub type TuneError = crate::Error;

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
    fn compare(self, a: f64, b: f64) -> Ordering {
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

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Grid,
    Random,
    Hyperband { factor: usize, iterations: usize },
}

/// A search: the space, the tuner, the run-time settings, and where trials are kept.
/// Build it with [`Tuner::grid`], [`Tuner::random`] or [`Tuner::hyperband`] and run it with
/// [`Tuner::search`].
#[derive(Clone, Debug)]
pub struct Tuner {
    space: Space,
    kind: Kind,
    objective: Objective,
    learning_rates: Vec<f64>,
    optimizer: fn(f64) -> Box<dyn Optimizer>,
    optimizer_name: String,
    loss: Loss,
    batch_size: usize,
    epochs: usize,
    max_trials: Option<usize>,
    seed: u64,
    directory: Option<PathBuf>,
    overwrite: bool,
    parallel: usize,
    verbose: bool,
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
    fn config(&self, config: usize) -> (usize, f64) {
        let n = self.learning_rates.len().max(1);
        (config / n, self.learning_rates[config % n])
    }

    /// What identifies this search in its directory: a resumed run must be the same search.
    fn record(&self) -> Value {
        let candidates: Vec<String> = self
            .space
            .candidates()
            .iter()
            .map(Candidate::type_name)
            .collect();
        let (tuner, factor, iterations) = match self.kind {
            Kind::Grid => ("grid", 0, 0),
            Kind::Random => ("random", 0, 0),
            Kind::Hyperband { factor, iterations } => ("hyperband", factor, iterations),
        };
        json!({
            "tuner": tuner,
            "factor": factor,
            "hyperband_iterations": iterations,
            "candidates": candidates,
            "learning_rates": self.learning_rates,
            "optimizer": self.optimizer_name,
            "loss": self.loss.name(),
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "seed": self.seed,
            "objective": self.objective.to_string(),
        })
    }

    fn check(&self, train: &Dataset, validation: &Dataset) -> Result<(), TuneError> {
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

    /// Runs the search on `train`, measuring the objective on `validation` after each
    /// epoch. Trials already in the directory are read back, not trained again.
    pub fn search(&self, train: &Dataset, validation: &Dataset) -> Result<SearchResult, TuneError> {
        self.check(train, validation)?;
        let started = Instant::now();
        let directory = self.prepare_directory()?;
        let configs = self.space.len() * self.learning_rates.len();
        let mut oracle = match self.kind {
            Kind::Grid => Oracle::Grid {
                next: 0,
                configs,
                epochs: self.epochs,
            },
            Kind::Random => Oracle::Random {
                sampler: Sampler::new(configs, self.seed),
                left: self.max_trials.unwrap_or(10),
                epochs: self.epochs,
            },
            Kind::Hyperband { factor, iterations } => Oracle::Hyperband(Hyperband::new(
                self.epochs,
                factor,
                iterations,
                Sampler::new(configs, self.seed),
            )),
        };
        let mut specs: Vec<Spec> = Vec::new();
        let mut seen: Vec<Seen> = Vec::new();
        let mut trials: Vec<Trial> = Vec::new();
        let (mut trained, mut reloaded) = (0, 0);
        let limit = self.max_trials.unwrap_or(usize::MAX);
        'search: loop {
            // A wave: every trial the oracle can propose before it must wait for results.
            // It does not depend on `parallel`, so trial ids are the same however many
            // trials run at once, and a resumed search proposes the same trials.
            let mut wave = Vec::new();
            let mut stopped = false;
            while !stopped {
                if specs.len() >= limit {
                    stopped = true;
                    break;
                }
                match oracle.propose(&seen, self.objective.direction) {
                    Proposal::Run(spec) => {
                        seen.push(Seen {
                            config: spec.config,
                            score: None,
                        });
                        specs.push(spec);
                        wave.push(specs.len() - 1);
                    }
                    Proposal::Idle => break,
                    Proposal::Stopped => stopped = true,
                }
            }
            if wave.is_empty() {
                break 'search;
            }
            let mut to_train = Vec::new();
            for &i in &wave {
                match self.stored(&directory, i, &specs[i])? {
                    Some(trial) => {
                        seen[i].score = Some(trial.score);
                        trials.push(trial);
                        reloaded += 1;
                    }
                    None => to_train.push(i),
                }
            }
            let done = self.train_all(&directory, &to_train, &specs, &trials, train, validation)?;
            for trial in done {
                let i: usize = trial.id.parse().unwrap_or(usize::MAX);
                if let Some(s) = seen.get_mut(i) {
                    s.score = Some(trial.score);
                }
                trials.push(trial);
                trained += 1;
            }
            trials.sort_by(|a, b| a.id.cmp(&b.id));
            if stopped {
                break 'search;
            }
        }
        Ok(SearchResult {
            trials,
            objective: self.objective.clone(),
            directory,
            space: self.space,
            trained,
            reloaded,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn prepare_directory(&self) -> Result<PathBuf, TuneError> {
        let directory = match &self.directory {
            Some(d) => d.clone(),
            None => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                std::env::temp_dir().join(format!("model-tune-{}-{nanos}", std::process::id()))
            }
        };
        let io = |e: std::io::Error| TuneError::io("use the directory", &directory, e);
        let record_path = directory.join("oracle.json");
        let record = json!({ "search": self.record() });
        if self.overwrite && directory.exists() {
            // Only what a search writes: the record and the trial folders.
            for entry in std::fs::read_dir(&directory).map_err(io)? {
                let path = entry.map_err(io)?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with("trial_") && path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(io)?;
                }
            }
            let _ = std::fs::remove_file(&record_path);
        }
        std::fs::create_dir_all(&directory).map_err(io)?;
        match trial::read_json(&record_path)? {
            Some(old) if old == record => {}
            Some(old) => {
                let differs: Vec<String> = match (old.get("search"), record.get("search")) {
                    (Some(Value::Object(a)), Some(Value::Object(b))) => b
                        .iter()
                        .filter(|(k, v)| a.get(*k) != Some(v))
                        .map(|(k, v)| {
                            format!("{k}: {} there, {v} now", a.get(k).unwrap_or(&Value::Null))
                        })
                        .collect(),
                    _ => vec!["its record is not a search's".to_owned()],
                };
                return Err(TuneError::new(format!(
                    "{} holds another search ({}); use another directory, or `overwrite(true)` to delete its trials",
                    directory.display(),
                    differs.join("; ")
                )));
            }
            None => trial::write_json(&record_path, &record)?,
        }
        Ok(directory)
    }

    fn id(i: usize) -> String {
        format!("{i:04}")
    }

    /// The trial `i` from the directory, when an earlier run finished it.
    fn stored(&self, directory: &Path, i: usize, spec: &Spec) -> Result<Option<Trial>, TuneError> {
        let id = Self::id(i);
        let dir = Trial::dir(directory, &id);
        let path = dir.join("trial.json");
        let Some(value) = trial::read_json(&path)? else {
            return Ok(None);
        };
        if !dir.join("weights.safetensors").exists() {
            return Ok(None);
        }
        let trial = Trial::from_json(&value, &path)?;
        let (candidate, lr) = self.config(spec.config);
        let previous = spec.previous.map(Self::id);
        if trial.id != id || !trial.matches(spec, candidate, lr, previous.as_deref()) {
            return Err(TuneError::new(format!(
                "{} records another trial than this search proposes ({}); the search is not reproducible from this directory: use `overwrite(true)`",
                path.display(),
                trial.model
            )));
        }
        Ok(Some(trial))
    }

    /// Trains the trials `todo`, `parallel` at a time, each saved as soon as it finishes.
    fn train_all(
        &self,
        directory: &Path,
        todo: &[usize],
        specs: &[Spec],
        trials: &[Trial],
        train: &Dataset,
        validation: &Dataset,
    ) -> Result<Vec<Trial>, TuneError> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Result<Trial, TuneError>>> = Mutex::new(Vec::new());
        let work = || loop {
            let k = next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(&i) = todo.get(k) else { break };
            let result = self.train_one(directory, i, &specs[i], trials, train, validation);
            let failed = result.is_err();
            if let Ok(mut results) = results.lock() {
                results.push(result);
            }
            if failed {
                // Stop handing out trials; those running finish and are kept.
                next.store(todo.len(), AtomicOrdering::Relaxed);
            }
        };
        let threads = self.parallel.min(todo.len());
        if threads <= 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(work);
                }
            });
        }
        let results = results
            .into_inner()
            .map_err(|_| TuneError::new("a trial's thread panicked"))?;
        let mut done = Vec::new();
        for r in results {
            done.push(r?);
        }
        Ok(done)
    }

    fn train_one(
        &self,
        directory: &Path,
        i: usize,
        spec: &Spec,
        trials: &[Trial],
        train: &Dataset,
        validation: &Dataset,
    ) -> Result<Trial, TuneError> {
        let id = Self::id(i);
        let (c, lr) = self.config(spec.config);
        let candidate = self.space.candidates()[c];
        let dir = Trial::dir(directory, &id);
        std::fs::create_dir_all(&dir).map_err(|e| TuneError::io("create", &dir, e))?;
        let previous = spec.previous.map(Self::id);
        let resume_from = match &previous {
            Some(p) => {
                if !trials.iter().any(|t| &t.id == p) {
                    return Err(TuneError::new(format!(
                        "trial {id} continues trial {p}, which is not finished"
                    )));
                }
                Some(Trial::dir(directory, p).join("weights.safetensors"))
            }
            None => None,
        };
        let job = Job {
            train,
            validation,
            optimizer: self.optimizer,
            learning_rate: lr,
            loss: self.loss,
            batch_size: self.batch_size,
            epochs: spec.epochs,
            initial_epoch: spec.initial_epoch,
            resume_from,
            weights: dir.join("weights.safetensors"),
            seed: self.seed.wrapping_add(i as u64),
        };
        let started = Instant::now();
        let history = (candidate.train)(&job)
            .map_err(|e| e.context(format!("trial {id} ({})", candidate.type_name())))?;
        // Milliseconds: short decimals read back from JSON exactly.
        let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let values = history.get(&self.objective.name).ok_or_else(|| {
            let names: Vec<&str> = history.names().collect();
            TuneError::new(format!(
                "the objective `{}` is not in the training history, which has {}",
                self.objective.name,
                names.join(", ")
            ))
        })?;
        let mut best_step = 0;
        for (k, v) in values.iter().enumerate() {
            if self
                .objective
                .direction
                .compare(f64::from(*v), f64::from(values[best_step]))
                == Ordering::Greater
            {
                best_step = k;
            }
        }
        let score = values.get(best_step).map_or(f64::NAN, |v| f64::from(*v));
        let mut hyperparameters: Vec<(String, HpValue)> = candidate
            .hyperparameters
            .iter()
            .map(|(n, v)| ((*n).to_owned(), HpValue::Int(*v)))
            .collect();
        hyperparameters.push(("learning_rate".to_owned(), HpValue::Float(lr)));
        if let Some((bracket, round)) = spec.bracket {
            let int = |v: usize| HpValue::Int(v as i128);
            hyperparameters.push(("tuner/epochs".to_owned(), int(spec.epochs)));
            hyperparameters.push(("tuner/initial_epoch".to_owned(), int(spec.initial_epoch)));
            hyperparameters.push((
                "tuner/bracket".to_owned(),
                HpValue::Int(i128::from(bracket)),
            ));
            hyperparameters.push(("tuner/round".to_owned(), int(round)));
            if let Some(p) = &previous {
                hyperparameters.push(("tuner/trial_id".to_owned(), HpValue::Text(p.clone())));
            }
        }
        let trial = Trial {
            id,
            model: candidate.type_name(),
            candidate: c,
            params: candidate.params,
            hyperparameters,
            learning_rate: lr,
            epochs: spec.epochs,
            initial_epoch: spec.initial_epoch,
            previous,
            metrics: history
                .names()
                .filter_map(|n| Some((n.to_owned(), history.get(n)?.to_vec())))
                .collect(),
            score,
            best_step,
            seconds,
            finished_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        };
        trial::write_json(&dir.join("trial.json"), &trial.to_json())?;
        if self.verbose {
            println!(
                "Trial {} ({}, learning_rate {lr}, epochs {}..{}): {} = {} in {seconds:.1}s",
                trial.id, trial.model, spec.initial_epoch, spec.epochs, self.objective.name, score
            );
        }
        Ok(trial)
    }
}
