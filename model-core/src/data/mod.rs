//! Data for training: an in-memory [`Dataset`] of samples and class labels (a
//! [`MultiDataset`] for models of several inputs or outputs), and a reader for the MNIST
//! files ([`Mnist`]).
//!
//! Samples are `f32`, row-major, one after another, in the layout the runtime takes: a
//! dataset of `len` samples of shape `sample_shape` is `len · sample_shape.product()` values.

mod dataset;
mod error;
mod mnist;
mod multi;

pub use self::dataset::Dataset;
pub use self::error::{DataError, Part};
pub use self::mnist::{read_idx_images, read_idx_labels, Mnist, MNIST_FILES};
pub use self::multi::{Input, MultiDataset, Samples};
