//! The inverse of [`super::layer`]: a layer's Keras config, `{"class_name", "config"}`, with
//! every argument the layer's configuration holds, under Keras's keyword names. Reading it
//! back gives the same layer (`model-core/tests/keras_config.rs` checks this on every layer
//! of the reference corpora).
//!
//! One exhaustive `match` over [`Config`]: a new configuration type stops the build here.

use serde_json::{json, Map, Value as Json};

use crate::layer::{
    Activation, Cell, Config, ConvOp, Interpolation, Kind, Layer, MergeOp, NoiseOp, PadOp,
    Recurrent,
};
use crate::value::Numbers;

/// `{"class_name": …, "config": {…}}` for `layer`: its arguments only (no `name`, `dtype` or
/// initializers; [`super::model_config`] adds what a whole file needs).
pub fn layer_config(layer: &Layer) -> Json {
    json!({
        "class_name": layer.kind.class_name(),
        "config": Json::Object(arguments(layer)),
    })
}

fn dims(d: &[usize], rank: usize) -> Json {
    Json::from(d[..rank].to_vec())
}

fn activation(a: Activation) -> Json {
    Json::from(a.name())
}

fn numbers(n: &Numbers) -> Json {
    match n {
        Numbers::One(v) => Json::from(*v),
        Numbers::Each(v) => Json::from(v.to_vec()),
    }
}

fn object(pairs: Vec<(&str, Json)>) -> Map<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn recurrent(r: &Recurrent) -> Map<String, Json> {
    let mut pairs = vec![
        ("units", Json::from(r.units)),
        ("activation", activation(r.activation)),
    ];
    if !matches!(r.cell, Cell::SimpleRNN) {
        pairs.push(("recurrent_activation", activation(r.recurrent_activation)));
    }
    pairs.extend([
        ("use_bias", Json::from(r.use_bias)),
        ("return_sequences", Json::from(r.return_sequences)),
        ("go_backwards", Json::from(r.go_backwards)),
    ]);
    if matches!(r.cell, Cell::GRU) {
        pairs.push(("reset_after", Json::from(r.reset_after)));
    }
    object(pairs)
}

/// The class of a recurrent configuration.
pub(crate) fn cell_kind(cell: Cell) -> Kind {
    match cell {
        Cell::SimpleRNN => Kind::SimpleRNN,
        Cell::LSTM => Kind::LSTM,
        Cell::GRU => Kind::GRU,
    }
}

/// The arguments of `layer`, by Keras's names.
pub fn arguments(layer: &Layer) -> Map<String, Json> {
    match &layer.config {
        Config::Dense(c) => object(vec![
            ("units", Json::from(c.units)),
            ("activation", activation(c.activation)),
            ("use_bias", Json::from(c.use_bias)),
        ]),
        Config::Activation(a) => object(vec![("activation", activation(*a))]),
        Config::Embedding(c) => object(vec![
            ("input_dim", Json::from(c.input_dim)),
            ("output_dim", Json::from(c.output_dim)),
        ]),
        Config::Flatten(_) => Map::new(),
        Config::Reshape(c) => object(vec![(
            "target_shape",
            Json::from(c.target[..c.len].to_vec()),
        )]),
        Config::Permute(c) => object(vec![("dims", Json::from(c.dims[..c.len].to_vec()))]),
        Config::RepeatVector(c) => object(vec![("n", Json::from(c.n))]),
        Config::Noise(c) => {
            let rate = match c.op {
                NoiseOp::Dropout => "rate",
                NoiseOp::Gaussian => "stddev",
                NoiseOp::StochasticDepth => "drop_path_rate",
            };
            let mut pairs = vec![(rate, Json::from(c.rate))];
            if let Some(seed) = c.seed {
                pairs.push(("seed", Json::from(seed)));
            }
            object(pairs)
        }
        Config::ReLU(c) => object(vec![
            ("max_value", c.max_value.map_or(Json::Null, Json::from)),
            ("negative_slope", Json::from(c.negative_slope)),
            ("threshold", Json::from(c.threshold)),
        ]),
        Config::LeakyReLU(c) => object(vec![("negative_slope", Json::from(c.negative_slope))]),
        Config::PReLU(c) => {
            let axes: Vec<usize> = (1..16).filter(|a| c.shared_axes & (1 << a) != 0).collect();
            let axes = if axes.is_empty() {
                Json::Null
            } else {
                Json::from(axes)
            };
            object(vec![("shared_axes", axes)])
        }
        Config::ELU(c) => object(vec![("alpha", Json::from(c.alpha))]),
        Config::Softmax(c) => object(vec![("axis", Json::from(c.axis))]),
        Config::Conv(c) => {
            let r = c.rank;
            let mut pairs = Vec::new();
            if !matches!(c.op, ConvOp::Depthwise) {
                pairs.push(("filters", Json::from(c.filters)));
            }
            pairs.extend([
                ("kernel_size", dims(&c.kernel_size, r)),
                ("strides", dims(&c.strides, r)),
                ("padding", Json::from(c.padding.name())),
                ("dilation_rate", dims(&c.dilation_rate, r)),
            ]);
            match c.op {
                ConvOp::Regular => pairs.push(("groups", Json::from(c.groups))),
                ConvOp::Transpose => pairs.push(("output_padding", Json::Null)),
                ConvOp::Separable | ConvOp::Depthwise => {
                    pairs.push(("depth_multiplier", Json::from(c.depth_multiplier)))
                }
            }
            pairs.extend([
                ("activation", activation(c.activation)),
                ("use_bias", Json::from(c.use_bias)),
            ]);
            object(pairs)
        }
        Config::Pooling(c) => object(vec![
            ("pool_size", dims(&c.pool_size, c.rank)),
            (
                "strides",
                c.strides.map_or(Json::Null, |s| dims(&s, c.rank)),
            ),
            ("padding", Json::from(c.padding.name())),
        ]),
        Config::GlobalPooling(c) => object(vec![("keepdims", Json::from(c.keepdims))]),
        Config::Pads(c) => {
            let key = match c.op {
                PadOp::Zero => "padding",
                PadOp::Crop => "cropping",
            };
            let pairs: Vec<Json> = c.amounts[..c.rank]
                .iter()
                .map(|p| Json::from(p.to_vec()))
                .collect();
            // Keras's 1-D layers take one pair, the others one pair per axis.
            let value = if c.rank == 1 {
                pairs[0].clone()
            } else {
                Json::from(pairs)
            };
            object(vec![(key, value)])
        }
        Config::UpSampling(c) => {
            let mut pairs = vec![("size", dims(&c.size, c.rank))];
            if c.rank == 2 {
                let how = match c.interpolation {
                    Interpolation::Nearest => "nearest",
                    Interpolation::Bilinear => "bilinear",
                };
                pairs.push(("interpolation", Json::from(how)));
            }
            object(pairs)
        }
        Config::Normalization(c) => {
            let mut pairs = vec![("axis", Json::from(-1))];
            if c.batch {
                pairs.push(("momentum", Json::from(c.momentum)));
            }
            pairs.extend([
                ("epsilon", Json::from(c.epsilon)),
                ("center", Json::from(c.center)),
                ("scale", Json::from(c.scale)),
            ]);
            object(pairs)
        }
        Config::Recurrent(r) => recurrent(r),
        Config::Bidirectional(c) => object(vec![
            (
                "layer",
                json!({
                    "class_name": cell_kind(c.layer.cell).class_name(),
                    "config": Json::Object(recurrent(&c.layer)),
                }),
            ),
            ("merge_mode", Json::from(c.merge_mode.name())),
        ]),
        Config::TimeDistributed(c) => object(vec![("layer", layer_config(c.layer))]),
        Config::Merge(c) => match c.op {
            MergeOp::Concatenate => object(vec![("axis", Json::from(c.axis))]),
            MergeOp::Dot => object(vec![
                ("axes", Json::from(c.axes.to_vec())),
                ("normalize", Json::from(c.normalize)),
            ]),
            MergeOp::Add
            | MergeOp::Subtract
            | MergeOp::Multiply
            | MergeOp::Average
            | MergeOp::Maximum
            | MergeOp::Minimum => Map::new(),
        },
        Config::Rescaling(c) => object(vec![
            ("scale", numbers(&c.scale)),
            ("offset", numbers(&c.offset)),
        ]),
        Config::Standardization(c) => object(vec![
            ("axis", Json::from(-1)),
            ("mean", c.mean.as_ref().map_or(Json::Null, numbers)),
            ("variance", c.variance.as_ref().map_or(Json::Null, numbers)),
            ("invert", Json::from(c.invert)),
        ]),
        Config::LayerScale(c) => object(vec![
            ("init_values", Json::from(c.init_values)),
            ("projection_dim", Json::from(c.projection_dim)),
        ]),
        // Keras keeps the constant in the call, not the config (`"args": [tensor, 3.0]`):
        // `super::model_config` writes it there.
        Config::Arithmetic(_) => Map::new(),
    }
}
