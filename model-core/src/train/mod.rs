//! The building blocks of training, as Keras has them: losses with their gradients,
//! metrics, optimizers and learning-rate schedules, the progress bar, the history of a
//! `fit`, and a seeded shuffle.

mod tape;
pub(crate) use self::tape::grad_sizes;
mod fit;
mod history;
mod loss;
mod metrics;
mod optimizer;
mod progress;
mod schedule;
mod shuffle;
mod target;

pub use self::fit::{
    evaluate, evaluate_graph, evaluate_graph_multi, fit, fit_graph, fit_graph_multi, Evaluation,
    FitOptions,
};
pub use self::history::History;
pub use self::loss::Loss;
pub use self::metrics::{val_name, Accuracy, AccuracyKind, Logs, Mean, ACCURACY, LOSS};
pub use self::optimizer::{
    optimizer_from_name, Adam, AdamW, Optimizer, OptimizerState, RmsProp, Sgd,
};
pub use self::progress::{epoch_header, epoch_line, progress_line, Progress, Verbose};
pub use self::schedule::{ExponentialDecay, LearningRate, PiecewiseConstant, Schedule};
pub use self::shuffle::{permutation, Shuffle};
pub use self::target::{Target, TrainError};
