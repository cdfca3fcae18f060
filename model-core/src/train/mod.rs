//! The building blocks of training, as Keras has them: losses with their gradients,
//! metrics, optimizers and learning-rate schedules, the progress bar, the history of a
//! `fit`, and a seeded shuffle.

mod loss;
mod target;

pub use self::loss::Loss;
pub use self::target::{Target, TrainError};
