//! Graph models (Keras's functional API): layers called on tensors, some on several
//! (merges), some several times (shared layers), with one or several inputs and outputs.
//!
//! A [`Graph`] is plain, `const`-constructible data: the model's input shapes, its layers,
//! one [`Node`] per call of a layer in an order where every tensor is made before it is
//! used, and the tensors that are its outputs. Tensor `i < inputs.len()` is input `i`;
//! tensor `inputs.len() + k` is node `k`'s output. Everything here is `const fn`, so the
//! same code checks a graph in the macro, in `const` items of generic models and at run
//! time.

use crate::error::EvalError;
use crate::layer::{Layer, LayerEval};
use crate::message::Message;
use crate::model::LayerInfo;
use crate::shape::Shape;

#[cfg(feature = "runtime")]
mod fuse;
mod order;
mod plan;
#[cfg(feature = "runtime")]
mod run;
#[cfg(feature = "runtime")]
pub(crate) mod tape;

pub use self::order::Op;
pub use self::plan::{plan, plan_into, Plan, Slot};
#[cfg(feature = "runtime")]
pub use self::run::{init_graph, predict_graph, predict_graph_into, GraphWorkspace, Planned};

/// The most tensors one call may take (a `Concatenate` of that many).
pub const MAX_CALL_INPUTS: usize = 64;

/// One call of a layer: which layer, on which tensors (in argument order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node<'a> {
    /// The layer's index in [`Graph::layers`].
    pub layer: usize,
    /// The tensors it is called on.
    pub inputs: &'a [usize],
}

/// A graph model, as data.
#[derive(Clone, Copy, Debug)]
pub struct Graph<'a> {
    /// The inputs' shapes, without batch: tensors `0..inputs.len()`.
    pub inputs: &'a [Shape],
    /// The layers; a layer called by several nodes shares its weights among them.
    pub layers: &'a [Layer],
    /// The calls, in an order where each tensor is made before it is used.
    pub nodes: &'a [Node<'a>],
    /// The tensors that are the model's outputs, in order.
    pub outputs: &'a [usize],
}

impl Graph<'_> {
    /// The number of tensors: the inputs, then one per node.
    pub const fn tensors(&self) -> usize {
        self.inputs.len() + self.nodes.len()
    }
}

/// A model as data, for the readers and writers of other formats (Keras files, ONNX): its
/// layers, their names, and how they are connected. A sequential model is the chain of its
/// layers: node `i` calls layer `i` on tensor `i`. Every `model!` type has one
/// ([`crate::Model::NETWORK`]).
#[derive(Clone, Copy, Debug)]
pub struct Network<'a> {
    /// The model's type name.
    pub name: &'static str,
    /// Whether it was written as a stack (Keras's `Sequential`) rather than a graph
    /// (Keras's `Functional`).
    pub sequential: bool,
    /// Its layers and calls.
    pub graph: Graph<'a>,
    /// Each layer's name, as Keras names it, by index in [`Graph::layers`].
    pub layer_names: &'a [&'static str],
    /// Each input's name.
    pub input_names: &'a [&'static str],
    /// Each output's name: the name of the layer that makes it.
    pub output_names: &'a [&'static str],
    /// The nested models (`Sequential([…], name = "stem")` in a graph's body): runs of
    /// layers that Keras holds as one layer of this model.
    pub groups: &'a [Group],
}

/// A nested `Sequential`: layers `first .. first + len` of the graph, called one after the
/// other, which Keras holds as one layer of the outer model (its summary shows one row
/// with their parameters, its weights sit under the nested model's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    /// The nested model's name.
    pub name: &'static str,
    /// Its first layer, by index in [`Graph::layers`].
    pub first: usize,
    /// How many layers it has.
    pub len: usize,
}

impl Network<'_> {
    /// The nested model that holds layer `l`, if one does.
    pub fn group_of(&self, l: usize) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| (g.first..g.first + g.len).contains(&l))
    }
}

/// `[0, 1, …, N − 1]`, for [`chain`].
pub const fn iota<const N: usize>() -> [usize; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = i;
        i += 1;
    }
    out
}

/// The nodes of a stack of `N` layers: node `i` calls layer `i` on tensor `i`; `ids` is
/// [`iota`] of at least `N` values, which the nodes' inputs borrow.
pub const fn chain<const N: usize>(ids: &'static [usize]) -> [Node<'static>; N] {
    let mut out = [Node {
        layer: 0,
        inputs: &[],
    }; N];
    let mut i = 0;
    while i < N {
        let (_, rest) = ids.split_at(i);
        let (one, _) = rest.split_at(1);
        out[i] = Node {
            layer: i,
            inputs: one,
        };
        i += 1;
    }
    out
}

impl Network<'static> {
    /// A stack's network: its layers called one after the other on its one input, `nodes`
    /// from [`chain`] and `ids` the [`iota`] they borrow (one more than the layers: the
    /// output tensor).
    #[allow(clippy::too_many_arguments)]
    pub const fn stack(
        name: &'static str,
        inputs: &'static [Shape],
        layers: &'static [Layer],
        nodes: &'static [Node<'static>],
        ids: &'static [usize],
        layer_names: &'static [&'static str],
        input_names: &'static [&'static str],
        output_names: &'static [&'static str],
    ) -> Network<'static> {
        let (_, output) = ids.split_at(layers.len());
        let (output, _) = output.split_at(1);
        Network {
            name,
            sequential: true,
            graph: Graph {
                inputs,
                layers,
                nodes,
                outputs: output,
            },
            layer_names,
            input_names,
            output_names,
            groups: &[],
        }
    }
}

impl Network<'_> {
    /// The network of a model with mistakes: no layers. (It never runs, since such a model
    /// does not compile; its items exist so that the compiler reports the mistakes alone.)
    pub const EMPTY: Network<'static> = Network {
        name: "",
        sequential: true,
        graph: Graph {
            inputs: &[],
            layers: &[],
            nodes: &[],
            outputs: &[],
        },
        layer_names: &[],
        input_names: &[],
        output_names: &[],
        groups: &[],
    };
}

/// Why a graph does not evaluate: the node at fault and the layer's own error, or a tensor
/// that does not exist yet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GraphError {
    /// A call of a layer that does not fit the tensors it is called on.
    Call {
        /// The node.
        node: usize,
        /// Its layer's index.
        layer: usize,
        /// What the layer says.
        error: EvalError,
    },
    /// A second call of a shared layer on tensors its weights (made at its first call) do
    /// not fit.
    Shared {
        /// The node.
        node: usize,
        /// Its layer's index.
        layer: usize,
        /// The first call's input shape.
        first: Shape,
        /// This call's.
        found: Shape,
    },
    /// A node reading a tensor that is not made before it, or a layer that does not exist.
    Undefined {
        /// The node (or `nodes.len()` for the outputs).
        node: usize,
        /// The tensor (or layer) index.
        index: usize,
    },
    /// A call on more tensors than [`MAX_CALL_INPUTS`].
    TooManyInputs {
        /// The node.
        node: usize,
    },
}

impl GraphError {
    /// The node at fault (`nodes.len()` for an output that does not exist).
    pub const fn node(&self) -> usize {
        match *self {
            GraphError::Call { node, .. }
            | GraphError::Shared { node, .. }
            | GraphError::Undefined { node, .. }
            | GraphError::TooManyInputs { node } => node,
        }
    }

    /// The message, naming the layer (`layer_name`) and the producers of its inputs
    /// (`input_names`) where they are given.
    pub const fn write(&self, m: &mut Message, layer_name: &str, input_names: &[&str]) {
        match *self {
            GraphError::Call { error, .. } => error.write_named(m, layer_name, input_names),
            GraphError::Shared { first, found, .. } => {
                m.str("`")
                    .str(layer_name)
                    .str("` is shared: its weights were made for ");
                m.shape(&first)
                    .str(" at its first call, but this call gives it ")
                    .shape(&found);
                m.str("; call a shared layer on tensors of the same shape, or use two layers");
            }
            GraphError::Undefined { index, .. } => {
                m.str("tensor ")
                    .num(index)
                    .str(" is used before it is made");
            }
            GraphError::TooManyInputs { .. } => {
                m.str("`").str(layer_name).str("` is called on more than ");
                m.num(MAX_CALL_INPUTS).str(" tensors");
            }
        }
    }
}

/// One call's input shapes, gathered from the tensors made so far.
const fn call_inputs(
    g: &Graph,
    node: usize,
    tensors: &[Shape],
) -> Result<([Shape; MAX_CALL_INPUTS], usize), GraphError> {
    let n = &g.nodes[node];
    if n.inputs.len() > MAX_CALL_INPUTS {
        return Err(GraphError::TooManyInputs { node });
    }
    let made = g.inputs.len() + node;
    let mut shapes = [Shape::SCALAR; MAX_CALL_INPUTS];
    let mut i = 0;
    while i < n.inputs.len() {
        let t = n.inputs[i];
        if t >= made || t >= tensors.len() {
            return Err(GraphError::Undefined { node, index: t });
        }
        shapes[i] = tensors[t];
        i += 1;
    }
    Ok((shapes, n.inputs.len()))
}

/// One call of `layer` (node `node` of its graph) on tensors of shapes `inputs`, checking
/// a shared layer's later call against `first_input`, its first call's input.
pub const fn eval_call(
    layer: &Layer,
    layer_index: usize,
    node: usize,
    inputs: &[Shape],
    first_input: Option<Shape>,
) -> Result<LayerEval, GraphError> {
    let e = match layer.eval_call(inputs) {
        Ok(e) => e,
        Err(error) => {
            return Err(GraphError::Call {
                node,
                layer: layer_index,
                error,
            })
        }
    };
    if let Some(first) = first_input {
        // A shared layer's weights come from its first call; a later call must give the
        // same weights, which the same parameter count on the same kind of input means.
        let again = match layer.eval_call(&[first]) {
            Ok(e) => e,
            Err(error) => {
                return Err(GraphError::Call {
                    node,
                    layer: layer_index,
                    error,
                })
            }
        };
        if inputs.len() != 1
            || again.trainable != e.trainable
            || again.non_trainable != e.non_trainable
        {
            return Err(GraphError::Shared {
                node,
                layer: layer_index,
                first,
                found: inputs[0],
            });
        }
    }
    Ok(e)
}

/// Evaluates node `node` on the tensors made before it (`tensors[..inputs + node]`),
/// checking a shared layer's later call against `first_input`, its first call's input.
pub const fn eval_node(
    g: &Graph,
    node: usize,
    tensors: &[Shape],
    first_input: Option<Shape>,
) -> Result<LayerEval, GraphError> {
    let layer = g.nodes[node].layer;
    if layer >= g.layers.len() {
        return Err(GraphError::Undefined { node, index: layer });
    }
    let (shapes, len) = match call_inputs(g, node, tensors) {
        Ok(s) => s,
        Err(e) => return Err(e),
    };
    eval_call(
        &g.layers[layer],
        layer,
        node,
        shapes.split_at(len).0,
        first_input,
    )
}

/// The first node that calls `layer`, if one before `node` does.
pub const fn first_call(g: &Graph, layer: usize, node: usize) -> Option<usize> {
    let mut j = 0;
    while j < node && j < g.nodes.len() {
        if g.nodes[j].layer == layer {
            return Some(j);
        }
        j += 1;
    }
    None
}

/// The input shape of the first call of node `node`'s layer, when an earlier node calls
/// it: a shared layer's later call must fit it.
pub const fn shared_input(g: &Graph, node: usize, tensors: &[Shape]) -> Option<Shape> {
    match first_call(g, g.nodes[node].layer, node) {
        Some(j) if !g.nodes[j].inputs.is_empty() && g.nodes[j].inputs[0] < tensors.len() => {
            Some(tensors[g.nodes[j].inputs[0]])
        }
        _ => None,
    }
}

/// Evaluates `g`: every tensor's shape into `tensors` (`g.tensors()` long) and one entry per
/// layer into `layers` (`g.layers.len()` long; its first call's output and its parameters
/// once, its MACs summed over its calls). `names` gives the layers' names for the entries.
pub const fn eval_graph(
    g: &Graph,
    names: &[&'static str],
    tensors: &mut [Shape],
    layers: &mut [LayerInfo],
) -> Result<(), GraphError> {
    let mut i = 0;
    while i < g.inputs.len() && i < tensors.len() {
        tensors[i] = g.inputs[i];
        i += 1;
    }
    let mut k = 0;
    while k < g.nodes.len() {
        let layer = g.nodes[k].layer;
        let shared = shared_input(g, k, tensors);
        let e = match eval_node(g, k, tensors, shared) {
            Ok(e) => e,
            Err(err) => return Err(err),
        };
        let t = g.inputs.len() + k;
        if t < tensors.len() {
            tensors[t] = e.output;
        }
        if layer < layers.len() {
            if shared.is_some() {
                layers[layer].macs += e.macs;
            } else {
                let name = if layer < names.len() {
                    names[layer]
                } else {
                    ""
                };
                layers[layer] = LayerInfo::from_eval(name, &g.layers[layer], &e);
            }
        }
        k += 1;
    }
    let mut o = 0;
    while o < g.outputs.len() {
        if g.outputs[o] >= g.tensors() {
            return Err(GraphError::Undefined {
                node: g.nodes.len(),
                index: g.outputs[o],
            });
        }
        o += 1;
    }
    Ok(())
}

/// Each layer's input shape at its first call (a layer never called, and a merge, which has
/// no weights, get the scalar shape): what its weights are made for.
pub fn layer_inputs(g: &Graph, tensors: &[Shape]) -> Vec<Shape> {
    (0..g.layers.len())
        .map(|l| {
            first_call(g, l, g.nodes.len())
                .and_then(|k| g.nodes[k].inputs.first())
                .map_or(Shape::SCALAR, |&t| tensors[t])
        })
        .collect()
}

/// A layer's entry from the evaluations of its calls: the first call's output shape and
/// the parameters once, the MACs of every call.
pub const fn layer_info(name: &'static str, layer: &Layer, calls: &[LayerEval]) -> LayerInfo {
    if calls.is_empty() {
        return LayerInfo::EMPTY;
    }
    let mut info = LayerInfo::from_eval(name, layer, &calls[0]);
    let mut i = 1;
    while i < calls.len() {
        info.macs += calls[i].macs;
        i += 1;
    }
    info
}

/// One call in `const` context (generated code: one item per node, spanned at its tokens),
/// panicking (a compile error at the instantiation of a generic graph model) with the
/// layer's message. `name` is the layer's name, `input_names` the producers of its inputs.
pub const fn expect_call(
    layer: &Layer,
    inputs: &[Shape],
    first_input: Option<Shape>,
    name: &str,
    input_names: &[&str],
) -> LayerEval {
    match eval_call(layer, 0, 0, inputs, first_input) {
        Ok(e) => e,
        Err(err) => {
            let mut m = Message::new();
            m.str("layer `").str(name).str("`: ");
            err.write(&mut m, name, input_names);
            panic!("{}", m.as_str())
        }
    }
}
