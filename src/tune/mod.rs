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

mod directory;
mod error;
mod oracle;
mod pool;
mod result;
mod search;
mod space;
mod trial;
mod tuner;

pub use self::error::TuneError;
pub use self::result::{SearchResult, Summary};
pub use self::space::{Candidate, Job, Ops, Space, TrainedModel};
pub use self::trial::{HpValue, Trial};
pub use self::tuner::{Direction, Objective, Tuner};

/// Items `candidates!` names by absolute path; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::space::{count_within, within};
}
