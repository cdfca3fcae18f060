//! ONNX export (feature `onnx`): a model as an ONNX file that ONNX Runtime, TensorRT,
//! OpenVINO and tract run.
//!
//! - [`save_onnx`] writes any `model!` type, [`save_network_onnx`] a [`Network`] and its
//!   weights, [`network_onnx`] the bytes; through a temporary file and a rename.
//! - The file is at opset [`OPSET`] (`LayerNormalization` is native there), IR version 8,
//!   with the weights as initializers, a dynamic batch dimension named `batch`, and the
//!   model's input and output names.
//! - The interface is Keras's, channels last: a user feeds the exported model the tensors
//!   the model takes here. Inside, convolutions and pooling run channels first, and a
//!   value stays so across consecutive layers that can take it (see `builder.rs`); a
//!   `Flatten` of a channels-first value followed by `Dense` permutes the `Dense` kernel's
//!   rows instead of transposing.
//! - Each layer family lowers its own layers, in its folder (`layer/<family>/onnx.rs`);
//!   `lower_layer` is the one dispatch, an exhaustive `match` over [`Config`].
//! - `Embedding` ids come in as `float`, as `predict` takes them, and are cast to `int64`.
//!
//! The message types in `proto.rs` were generated once from `onnx.proto3` (beside it) by
//! `tools/onnx-codegen`; `prost` is the only dependency, and nothing runs `protoc`.

pub(crate) mod builder;
#[allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]
pub mod proto;

use std::path::Path;

use prost::Message;

use self::builder::{Builder, Val};
use self::proto::{
    tensor_proto::DataType, tensor_shape_proto, type_proto, GraphProto, ModelProto,
    OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::error::Error;
use crate::graph::{eval_graph, Network};
use crate::layer::{Config, Layer};
use crate::model::LayerInfo;
use crate::runtime::{weight_specs, LayerWeights, Tensor};
use crate::shape::Shape;
use crate::Model;

/// The opset the files are written at.
pub const OPSET: i64 = 17;

/// The IR version of [`OPSET`].
const IR_VERSION: i64 = 8;

/// One call of a layer, as its family lowers it: the builder, the values it is called
/// on, its Keras output shape (without batch), and its layer's weights in Keras's layout.
pub(crate) struct Call<'a> {
    pub b: &'a mut Builder,
    pub inputs: Vec<Val>,
    pub output: Shape,
    pub weights: &'a [Tensor],
    /// The layer's name: the stem of its weights' names.
    pub layer: &'a str,
}

impl Call<'_> {
    /// The one input of a layer that is not a merge.
    pub fn x(&self) -> Val {
        self.inputs[0].clone()
    }

    /// Weight `i`, named `<layer>/<what>` in the file.
    pub fn weight(&mut self, what: &str, dims: &[usize], data: &[f32]) -> String {
        self.b.weight(format!("{}/{what}", self.layer), dims, data)
    }
}

/// Why a layer cannot be exported, in a sentence.
pub(crate) type Refusal = String;

/// The dispatch: each family lowers its configuration.
pub(crate) fn lower_layer(layer: &Layer, call: &mut Call) -> Result<Val, Refusal> {
    use crate::layer::{
        activation, arithmetic, convolution, core, merge, normalization, pooling, preprocessing,
        recurrent, regularization, reshaping, wrappers,
    };
    match &layer.config {
        Config::Dense(c) => core::onnx::dense(c, call),
        Config::Activation(c) => Ok(activation::onnx::activation_layer(*c, call)),
        Config::Embedding(c) => Ok(core::onnx::embedding(c, call)),
        Config::Flatten(_) => Ok(core::onnx::flatten(call)),
        Config::Reshape(_) => Ok(core::onnx::reshape(call)),
        Config::Permute(c) => Ok(core::onnx::permute(c, call)),
        Config::RepeatVector(c) => Ok(core::onnx::repeat_vector(c, call)),
        Config::Noise(_) => Ok(regularization::onnx::identity(call)),
        Config::ReLU(c) => Ok(activation::onnx::relu(c, call)),
        Config::LeakyReLU(c) => Ok(activation::onnx::leaky_relu(c, call)),
        Config::PReLU(_) => Ok(activation::onnx::prelu(call)),
        Config::ELU(c) => Ok(activation::onnx::elu(c, call)),
        Config::Softmax(_) => Ok(activation::onnx::activation_layer(
            crate::layer::Activation::Softmax,
            call,
        )),
        Config::Conv(c) => Ok(convolution::onnx::conv(c, call)),
        Config::Pooling(c) => Ok(pooling::onnx::pooling(c, call)),
        Config::GlobalPooling(c) => Ok(pooling::onnx::global(c, call)),
        Config::Pads(c) => Ok(reshaping::onnx::pads(c, call)),
        Config::UpSampling(c) => Ok(reshaping::onnx::upsampling(c, call)),
        Config::Normalization(c) => Ok(normalization::onnx::normalization(c, call)),
        Config::Recurrent(c) => recurrent::onnx::recurrent(c, call),
        Config::Bidirectional(c) => recurrent::onnx::bidirectional(c, call),
        Config::TimeDistributed(c) => wrappers::onnx::time_distributed(c, call),
        Config::Merge(c) => Ok(merge::onnx::merge(c, call)),
        Config::Rescaling(c) => Ok(preprocessing::onnx::rescaling(c, call)),
        Config::Standardization(c) => Ok(preprocessing::onnx::standardization(c, call)),
        Config::LayerScale(_) => Ok(core::onnx::layer_scale(call)),
        Config::Arithmetic(c) => Ok(arithmetic::onnx::arithmetic(c, call)),
    }
}

/// Writes `model` as an ONNX file (see the [module](self)); nothing is written when a layer
/// cannot be exported, and the error names it.
pub fn save_onnx<M: Model>(model: &M, path: impl AsRef<Path>) -> Result<(), Error> {
    save_network_onnx(&M::NETWORK, &model.weights(), path)
}

/// [`save_onnx`] for a network and its weights.
pub fn save_network_onnx(
    network: &Network,
    weights: &[&LayerWeights],
    path: impl AsRef<Path>,
) -> Result<(), Error> {
    let path = path.as_ref();
    let bytes = network_onnx(network, weights)
        .map_err(|e| Error::new(format!("{}: {}", path.display(), e.message)))?;
    crate::runtime::write_atomically(path, &bytes).map_err(|e| Error::caused_by("", e))
}

/// The ONNX file of `network` with `weights` (one set per layer, in the order of its
/// layers), as bytes.
pub fn network_onnx(network: &Network, weights: &[&LayerWeights]) -> Result<Vec<u8>, Error> {
    Ok(model_proto(network, weights)?.encode_to_vec())
}

fn tensor_type(shape: &Shape) -> TypeProto {
    let mut dim = vec![tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimParam(
            "batch".to_string(),
        )),
        ..Default::default()
    }];
    dim.extend(shape.dims().iter().map(|&d| tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
        ..Default::default()
    }));
    TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: DataType::Float as i32,
            shape: Some(TensorShapeProto { dim }),
        })),
        ..Default::default()
    }
}

fn value_info(name: &str, shape: &Shape) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(tensor_type(shape)),
        ..Default::default()
    }
}

/// Tensor `t`'s value, made by then.
fn made(vals: &[Option<Val>], t: usize) -> Result<Val, Error> {
    vals.get(t)
        .cloned()
        .flatten()
        .ok_or_else(|| Error::new(format!("tensor {t} is read before it is made")))
}

/// The whole model.
fn model_proto(network: &Network, weights: &[&LayerWeights]) -> Result<ModelProto, Error> {
    let g = &network.graph;
    if weights.len() != g.layers.len() {
        return Err(Error::new(format!(
            "{} sets of weights for {} layers",
            weights.len(),
            g.layers.len()
        )));
    }
    let mut shapes = vec![Shape::SCALAR; g.tensors()];
    let mut infos = vec![LayerInfo::EMPTY; g.layers.len()];
    eval_graph(g, network.layer_names, &mut shapes, &mut infos).map_err(|e| {
        let mut m = crate::message::Message::new();
        e.write(&mut m, "", &[]);
        Error::new(format!("the model does not evaluate: {}", m.as_str()))
    })?;
    let name_of = |l: usize| network.layer_names.get(l).copied().unwrap_or("layer");
    // Each layer's weights checked against what it takes, at its first call.
    let first_inputs = crate::graph::layer_inputs(g, &shapes);
    for (l, layer) in g.layers.iter().enumerate() {
        let specs = match layer.config.merge() {
            Some(_) => Vec::new(),
            None => weight_specs(layer, &first_inputs[l]),
        };
        let given = &weights[l].tensors;
        let fits = given.len() == specs.len()
            && given.iter().zip(&specs).all(|(t, s)| {
                t.shape == s.shape && t.data.len() == t.shape.iter().product::<usize>()
            });
        if !fits {
            let got: Vec<&[usize]> = given.iter().map(|t| t.shape.as_slice()).collect();
            let want: Vec<&[usize]> = specs.iter().map(|s| s.shape.as_slice()).collect();
            return Err(Error::new(format!(
                "layer `{}` ({}): its weights have shapes {got:?}, the layer takes {want:?}",
                name_of(l),
                layer.kind.class_name()
            ))
            .at(l));
        }
    }

    let mut b = Builder::default();
    let mut inputs = Vec::new();
    let mut vals: Vec<Option<Val>> = vec![None; g.tensors()];
    for (i, shape) in g.inputs.iter().enumerate() {
        let name = network
            .input_names
            .get(i)
            .map_or_else(|| format!("input_{i}"), |n| n.to_string());
        b.reserve(&name);
        inputs.push(value_info(&name, shape));
        vals[i] = Some(Val::last(name, *shape));
    }
    // The outputs' names are the model's: reserved so that no inner value takes them.
    let output_names: Vec<String> = (0..g.outputs.len())
        .map(|o| {
            network
                .output_names
                .get(o)
                .map_or_else(|| format!("output_{o}"), |n| n.to_string())
        })
        .collect();
    for n in &output_names {
        b.reserve(n);
    }
    for (k, node) in g.nodes.iter().enumerate() {
        let layer = &g.layers[node.layer];
        let name = name_of(node.layer);
        b.prefix = name.to_string();
        // The graph evaluated, so every tensor is made before it is read.
        let ins: Vec<Val> = node
            .inputs
            .iter()
            .map(|&t| made(&vals, t))
            .collect::<Result<_, _>>()?;
        let mut call = Call {
            b: &mut b,
            inputs: ins,
            output: shapes[g.inputs.len() + k],
            weights: &weights[node.layer].tensors,
            layer: name,
        };
        let out = lower_layer(layer, &mut call).map_err(|why| {
            Error::new(format!(
                "layer `{name}` ({}) cannot be exported to ONNX: {why}",
                layer.kind.class_name()
            ))
            .at(node.layer)
        })?;
        vals[g.inputs.len() + k] = Some(out);
    }
    b.prefix.clear();
    let mut outputs = Vec::new();
    for (o, &t) in g.outputs.iter().enumerate() {
        let v = made(&vals, t)?;
        let v = b.channels_last(&v);
        let name = &output_names[o];
        b.node_into("Identity", &[&v.name], std::slice::from_ref(name), vec![]);
        outputs.push(value_info(name, &v.shape));
    }
    let graph = GraphProto {
        node: b.nodes,
        name: network.name.to_string(),
        initializer: b.initializers,
        input: inputs,
        output: outputs,
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "model".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        graph: Some(graph),
        ..Default::default()
    })
}
