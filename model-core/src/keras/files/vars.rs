//! Where a layer's weights sit in a Keras 3 weights file (`model.weights.h5`, or what
//! `save_weights("….weights.h5")` writes): under the layer's path, in groups named after
//! the Python attributes that hold the objects owning them (`saving_lib._walk_saveable`):
//! a recurrent layer's `cell`, `Bidirectional`'s `forward_layer` and `backward_layer`,
//! `TimeDistributed`'s `layer`. Each group's `vars/<i>` are its variables in creation
//! order, which is the order of the layer's weights here.
//!
//! One exhaustive `match` over [`Config`]: a new configuration type stops the build here.

use crate::layer::{Config, Layer};

/// The groups of `layer`'s `weights` weights, in order: a sub-path under the layer's own
/// path (`""` for the layer itself) and how many weights it holds.
pub(crate) fn var_groups(layer: &Layer, weights: usize) -> Vec<(String, usize)> {
    match &layer.config {
        Config::Recurrent(_) => vec![("cell".to_string(), weights)],
        Config::Bidirectional(_) => vec![
            ("forward_layer/cell".to_string(), weights / 2),
            ("backward_layer/cell".to_string(), weights - weights / 2),
        ],
        Config::TimeDistributed(c) => var_groups(c.layer, weights)
            .into_iter()
            .map(|(sub, n)| (join("layer", &sub), n))
            .collect(),
        Config::Dense(_)
        | Config::Activation(_)
        | Config::Embedding(_)
        | Config::Flatten(_)
        | Config::Reshape(_)
        | Config::Permute(_)
        | Config::RepeatVector(_)
        | Config::Noise(_)
        | Config::ReLU(_)
        | Config::LeakyReLU(_)
        | Config::PReLU(_)
        | Config::ELU(_)
        | Config::Softmax(_)
        | Config::Conv(_)
        | Config::Pooling(_)
        | Config::GlobalPooling(_)
        | Config::Pads(_)
        | Config::UpSampling(_)
        | Config::Normalization(_)
        | Config::Merge(_)
        | Config::Rescaling(_)
        | Config::Standardization(_)
        | Config::LayerScale(_)
        | Config::Arithmetic(_) => vec![(String::new(), weights)],
    }
}

/// `a/b`, without a slash at either end when one part is empty.
pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}
