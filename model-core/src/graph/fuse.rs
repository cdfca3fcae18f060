//! Chains of nodes that inference runs as one ([`crate::layer::fold`]): a convolution,
//! the BatchNormalization that alone reads its output, and, when one alone reads the
//! normalization's, the activation after it.

use std::borrow::Borrow;

use super::{Graph, Plan, Slot};
use crate::layer::convolution::forward::folds;
use crate::layer::{fold, Activation, Config};
use crate::runtime::LayerWeights;
use crate::shape::Shape;

/// A chain starting at a convolution node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Chain {
    /// The BatchNormalization's layer.
    pub norm: usize,
    /// The activation after the normalization (`Linear` when none is fused).
    pub activation: Activation,
    /// The chain's last node, whose output the chain writes.
    pub last: usize,
}

/// How many times each tensor is read, by a node or as one of the model's outputs, into
/// `uses` (one count per tensor).
pub(super) fn count_uses(g: &Graph, uses: &mut Vec<u32>) {
    uses.clear();
    uses.resize(g.tensors(), 0);
    for t in g.nodes.iter().flat_map(|n| n.inputs).chain(g.outputs) {
        if let Some(u) = uses.get_mut(*t) {
            *u += 1;
        }
    }
}

/// The chain that starts at node `k`, if one does: node `k + 1` a BatchNormalization on
/// node `k`'s output and its only reader, the convolution one that folds it, the weights
/// of the normalization the right size, the intermediate tensors in buffers of their own,
/// and the chain's output in a slot other than the convolution's input.
pub(super) fn chain<W: Borrow<LayerWeights>>(
    g: &Graph,
    k: usize,
    tensors: &[Shape],
    p: &Plan,
    weights: &[W],
    uses: &[u32],
) -> Option<Chain> {
    let inputs = g.inputs.len();
    let node = g.nodes.get(k)?;
    let Config::Conv(c) = &g.layers.get(node.layer)?.config else {
        return None;
    };
    let &[x] = node.inputs else { return None };
    let conv_out = inputs + k;
    if !folds(c, tensors.get(x)?, tensors.get(conv_out)?) {
        return None;
    }
    // Node `after`'s only input is tensor `t`, which nothing else reads and which lives
    // in a buffer of its own.
    let reads_alone = |after: usize, t: usize| {
        g.nodes.get(after).is_some_and(|n| n.inputs == [t])
            && uses.get(t) == Some(&1)
            && matches!(p.slots.get(t), Some(Slot::Buffer(_)))
    };
    if !reads_alone(k + 1, conv_out) {
        return None;
    }
    let norm = g.nodes[k + 1].layer;
    let filters = tensors[conv_out].last();
    let norm_weights = &weights.get(norm)?.borrow().tensors;
    if !fold::normalization(&g.layers.get(norm)?.config, norm_weights, filters) {
        return None;
    }
    let mut chain = Chain {
        norm,
        activation: Activation::Linear,
        last: k + 1,
    };
    if reads_alone(k + 2, inputs + k + 1) {
        if let Some(a) = fold::activation(&g.layers[g.nodes[k + 2].layer].config) {
            chain.activation = a;
            chain.last = k + 2;
        }
    }
    // The chain's output must not be where its input is read from.
    let root = |t: usize| match p.slots.get(t) {
        Some(Slot::View(r)) => *r,
        _ => t,
    };
    let dst = p.slots.get(inputs + chain.last)?;
    let writable = matches!(dst, Slot::Buffer(_) | Slot::Output(_));
    (writable && p.slots.get(root(x)) != Some(dst)).then_some(chain)
}

#[cfg(test)]
thread_local! {
    /// Tests set it to run every node on its own, for the values to compare chains with.
    pub(super) static APART: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`chain`], unless a test keeps the nodes apart.
pub(super) fn chain_at<W: Borrow<LayerWeights>>(
    g: &Graph,
    k: usize,
    tensors: &[Shape],
    p: &Plan,
    weights: &[W],
    uses: &[u32],
) -> Option<Chain> {
    #[cfg(test)]
    if APART.with(|a| a.get()) {
        return None;
    }
    chain(g, k, tensors, p, weights, uses)
}

#[cfg(test)]
mod tests {
    //! Chains against the same graphs run a node at a time: the same values bit for bit,
    //! on every convolution path the CPU has; and chains found exactly where they may be.

    use super::{chain, count_uses, Chain, APART};
    use crate::graph::{init_graph, predict_graph, Graph, Node, Planned};
    use crate::layer::convolution::forward::tests::on_each_path;
    use crate::layer::gradcheck::{ints, layer};
    use crate::layer::{Activation, Kind, Layer};
    use crate::runtime::Rng;
    use crate::shape::Shape;
    use crate::value::Value;

    fn uniform(rng: &mut Rng) -> f32 {
        ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn conv(kind: Kind, args: &[(&'static str, Value<'static>)]) -> Layer {
        let mut all = vec![
            ("kernel_size", ints(&[3, 3])),
            ("padding", Value::Str("same")),
        ];
        all.retain(|(name, _)| args.iter().all(|(a, _)| a != name));
        all.extend_from_slice(args);
        layer(kind, &all)
    }

    fn norm(args: &[(&'static str, Value<'static>)]) -> Layer {
        layer(Kind::BatchNormalization, args)
    }

    /// One graph: its input, layers, nodes (layer, inputs), outputs, and the chains
    /// expected at each node that starts one.
    struct Case {
        name: &'static str,
        input: Shape,
        layers: Vec<Layer>,
        nodes: Vec<(usize, Vec<usize>)>,
        outputs: Vec<usize>,
        chains: Vec<(usize, Activation, usize)>,
    }

    impl Case {
        fn check(&self) {
            let nodes: Vec<Node> = self
                .nodes
                .iter()
                .map(|(l, i)| Node {
                    layer: *l,
                    inputs: i,
                })
                .collect();
            let inputs = [self.input];
            let g = Graph {
                inputs: &inputs,
                layers: &self.layers,
                nodes: &nodes,
                outputs: &self.outputs,
            };
            let name = self.name;
            let planned = Planned::new(&g).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut rng = Rng(17);
            let mut weights = init_graph(&g, &planned.tensors, 3).unwrap();
            // Statistics and factors away from the identity (variances kept positive).
            for w in &mut weights {
                for t in &mut w.tensors {
                    t.data
                        .iter_mut()
                        .for_each(|v| *v = (*v + uniform(&mut rng)).abs() + 0.1);
                }
            }
            let batch = 3;
            let x: Vec<f32> = (0..batch * self.input.elements().unwrap())
                .map(|_| 2.0 * uniform(&mut rng))
                .collect();
            on_each_path(|path| {
                // The chains found: exactly the expected ones where the path folds the
                // convolution (the tiles, or any path for a depthwise one).
                let mut uses = Vec::new();
                count_uses(&g, &mut uses);
                let p = planned.plan();
                for k in 0..g.nodes.len() {
                    let found = chain(&g, k, &planned.tensors, &p, &weights, &uses);
                    let want = self
                        .chains
                        .iter()
                        .find(|c| c.0 == k)
                        .map(|&(_, a, last)| Chain {
                            norm: g.nodes[k + 1].layer,
                            activation: a,
                            last,
                        });
                    let depthwise = matches!(
                        &g.layers[g.nodes[k].layer].config,
                        crate::layer::Config::Conv(c) if c.op == crate::layer::ConvOp::Depthwise
                    );
                    let want = want.filter(|_| path.is_some() || depthwise);
                    assert_eq!(found, want, "{name}, path {path:?}, node {k}");
                }
                let fused = predict_graph(&g, &weights, &[&x], batch).unwrap();
                APART.with(|a| a.set(true));
                let apart = predict_graph(&g, &weights, &[&x], batch).unwrap();
                APART.with(|a| a.set(false));
                for (o, (a, b)) in fused.iter().zip(&apart).enumerate() {
                    let same = a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{name}, path {path:?}: output {o} differs when fused");
                }
            });
        }
    }

    #[test]
    fn chains_give_the_values_of_their_nodes_run_apart() {
        let relu6 = || layer(Kind::ReLU, &[("max_value", Value::Float(6.0))]);
        let act = |a: &'static str| layer(Kind::Activation, &[("activation", Value::Str(a))]);
        let cases = [
            Case {
                name: "Conv2D → BatchNormalization → ReLU",
                input: Shape::new(&[9, 9, 5]),
                layers: vec![
                    conv(Kind::Conv2D, &[("filters", Value::Int(16))]),
                    norm(&[]),
                    layer(Kind::ReLU, &[]),
                ],
                nodes: vec![(0, vec![0]), (1, vec![1]), (2, vec![2])],
                outputs: vec![3],
                chains: vec![(0, Activation::Relu, 2)],
            },
            Case {
                name: "strided, no bias, no center, 40 filters, ReLU6",
                input: Shape::new(&[11, 10, 7]),
                layers: vec![
                    conv(
                        Kind::Conv2D,
                        &[
                            ("filters", Value::Int(40)),
                            ("strides", ints(&[2, 2])),
                            ("padding", Value::Str("valid")),
                            ("use_bias", Value::Bool(false)),
                        ],
                    ),
                    norm(&[("center", Value::Bool(false))]),
                    act("relu6"),
                ],
                nodes: vec![(0, vec![0]), (1, vec![1]), (2, vec![2])],
                outputs: vec![3],
                chains: vec![(0, Activation::Relu6, 2)],
            },
            Case {
                name: "depthwise, ReLU(max_value=6), then a deep 3×3 and softmax",
                input: Shape::new(&[8, 7, 24]),
                layers: vec![
                    conv(Kind::DepthwiseConv2D, &[]),
                    norm(&[("scale", Value::Bool(false))]),
                    relu6(),
                    conv(Kind::Conv2D, &[("filters", Value::Int(70))]),
                    norm(&[]),
                    act("softmax"),
                ],
                nodes: vec![
                    (0, vec![0]),
                    (1, vec![1]),
                    (2, vec![2]),
                    (3, vec![3]),
                    (4, vec![4]),
                    (5, vec![5]),
                ],
                outputs: vec![6],
                chains: vec![(0, Activation::Relu6, 2), (3, Activation::Softmax, 5)],
            },
            Case {
                // The normalization's output read twice: the chain stops at it. The
                // residual's output read by `Add` and ReLU is not fused after an `Add`.
                name: "a residual block and a fan-out",
                input: Shape::new(&[6, 6, 16]),
                layers: vec![
                    conv(Kind::Conv2D, &[("filters", Value::Int(16))]),
                    norm(&[]),
                    layer(Kind::Add, &[]),
                    layer(Kind::ReLU, &[]),
                    act("tanh"),
                ],
                nodes: vec![
                    (0, vec![0]),
                    (1, vec![1]),
                    (2, vec![2, 0]),
                    (3, vec![3]),
                    (4, vec![2]),
                ],
                outputs: vec![4, 5],
                chains: vec![(0, Activation::Linear, 1)],
            },
            Case {
                // The convolution's output is an output of the model; a convolution with
                // an activation of its own; a normalization read by two activations.
                name: "no chains",
                input: Shape::new(&[5, 6, 3]),
                layers: vec![
                    conv(Kind::Conv2D, &[("filters", Value::Int(8))]),
                    norm(&[]),
                    conv(
                        Kind::Conv2D,
                        &[
                            ("filters", Value::Int(8)),
                            ("activation", Value::Str("relu")),
                        ],
                    ),
                    norm(&[]),
                ],
                nodes: vec![(0, vec![0]), (1, vec![1]), (2, vec![2]), (3, vec![3])],
                outputs: vec![1, 4],
                chains: vec![],
            },
        ];
        for case in &cases {
            case.check();
        }
    }
}
