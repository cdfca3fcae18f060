//! Keras's order of a functional model's layers (`model.layers`), which its summary and its
//! files follow: by depth from the outputs, deepest (the inputs) first, and within a depth
//! in the order a depth-first walk from the outputs first meets them. This is Keras's
//! `map_graph` (`keras/src/ops/function.py`; `_map_graph_network` in Keras 2), written
//! over [`Graph`].

use super::Graph;

/// One entry of Keras's `model.layers`: an input (its `InputLayer`) or a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Input `i` (tensor `i`).
    Input(usize),
    /// Layer `i` of [`Graph::layers`].
    Layer(usize),
}

/// A node of Keras's graph: an input's, or call `k` of [`Graph::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeRef {
    Input(usize),
    Call(usize),
}

impl Graph<'_> {
    /// The node that makes tensor `t`.
    fn maker(&self, t: usize) -> NodeRef {
        match t.checked_sub(self.inputs.len()) {
            None => NodeRef::Input(t),
            Some(k) => NodeRef::Call(k),
        }
    }

    fn op_of(&self, n: NodeRef) -> Op {
        match n {
            NodeRef::Input(i) => Op::Input(i),
            NodeRef::Call(k) => Op::Layer(self.nodes[k].layer),
        }
    }

    /// The nodes that make a node's inputs, in input order.
    fn parents(&self, n: NodeRef) -> Vec<NodeRef> {
        match n {
            NodeRef::Input(_) => Vec::new(),
            NodeRef::Call(k) => self.nodes[k]
                .inputs
                .iter()
                .map(|&t| self.maker(t))
                .collect(),
        }
    }

    /// Keras's `model.layers`: every input and every layer, each once, in Keras's order.
    /// Layers that no output depends on are left out, as Keras leaves them out.
    pub fn keras_order(&self) -> Vec<Op> {
        self.keras_map().0
    }

    /// Whether Keras treats the graph as a stack in its summary: one node per depth, none
    /// with several inputs, no layer called twice. Its table then has no `Connected to`.
    pub fn sequential_like(&self) -> bool {
        let (_, node_depth) = self.keras_map();
        let mut depths: Vec<usize> = node_depth.iter().map(|&(_, d)| d).collect();
        depths.sort_unstable();
        let one_per_depth = depths.windows(2).all(|w| w[0] != w[1]);
        let single_inputs = self.nodes.iter().all(|n| n.inputs.len() <= 1);
        let called_once =
            (0..self.layers.len()).all(|l| self.nodes.iter().filter(|n| n.layer == l).count() <= 1);
        one_per_depth && single_inputs && called_once
    }

    /// Keras's `map_graph`: the operations in order, and every node's depth.
    fn keras_map(&self) -> (Vec<Op>, Vec<(NodeRef, usize)>) {
        // `_build_map`: a depth-first walk from each output, in order; each operation's
        // index is when the walk first meets it, the nodes are listed when finished.
        let mut finished: Vec<NodeRef> = Vec::new();
        let mut index: Vec<Op> = Vec::new();
        for &t in self.outputs {
            self.walk(self.maker(t), &mut finished, &mut index);
        }
        // Depths, from the outputs back: a node is one deeper than its deepest consumer,
        // and an operation as deep as its deepest node.
        let mut node_depth: Vec<(NodeRef, usize)> = Vec::new();
        let mut op_depth: Vec<(Op, usize)> = Vec::new();
        fn get<K: PartialEq + Copy>(map: &[(K, usize)], k: K) -> Option<usize> {
            map.iter().find(|(x, _)| *x == k).map(|&(_, d)| d)
        }
        fn set<K: PartialEq + Copy>(map: &mut Vec<(K, usize)>, k: K, d: usize) {
            match map.iter_mut().find(|(x, _)| *x == k) {
                Some(entry) => entry.1 = d,
                None => map.push((k, d)),
            }
        }
        for &node in finished.iter().rev() {
            let mut depth = match get(&node_depth, node) {
                Some(d) => d,
                None => {
                    set(&mut node_depth, node, 0);
                    0
                }
            };
            let op = self.op_of(node);
            depth = depth.max(get(&op_depth, op).unwrap_or(0));
            set(&mut op_depth, op, depth);
            set(&mut node_depth, node, depth);
            for parent in self.parents(node) {
                let previous = get(&node_depth, parent).unwrap_or(0);
                set(&mut node_depth, parent, previous.max(depth + 1));
            }
        }
        // Inputs that reach no output: depth 0, met before everything.
        let mut unmet = Vec::new();
        for i in 0..self.inputs.len() {
            if get(&op_depth, Op::Input(i)).is_none() {
                set(&mut op_depth, Op::Input(i), 0);
                set(&mut node_depth, NodeRef::Input(i), 0);
                unmet.push(Op::Input(i));
            }
        }
        let rank = |op: Op| -> isize {
            if unmet.contains(&op) {
                -1
            } else {
                index
                    .iter()
                    .position(|&x| x == op)
                    .map_or(isize::MAX, |p| p as isize)
            }
        };
        let mut depths: Vec<usize> = op_depth.iter().map(|&(_, d)| d).collect();
        depths.sort_unstable_by(|a, b| b.cmp(a));
        depths.dedup();
        let mut order = Vec::with_capacity(op_depth.len());
        for d in depths {
            // Stable: operations of one rank keep the order they were given depths in.
            let mut at: Vec<Op> = op_depth
                .iter()
                .filter(|&&(_, x)| x == d)
                .map(|&(op, _)| op)
                .collect();
            at.sort_by_key(|&op| rank(op));
            order.extend(at);
        }
        (order, node_depth)
    }

    fn walk(&self, node: NodeRef, finished: &mut Vec<NodeRef>, index: &mut Vec<Op>) {
        if finished.contains(&node) {
            return;
        }
        let op = self.op_of(node);
        if !index.contains(&op) {
            index.push(op);
        }
        // The graph is acyclic by construction (a node's inputs are made before it).
        for parent in self.parents(node) {
            self.walk(parent, finished, index);
        }
        finished.push(node);
    }

    /// Keras's index of call `k` among its layer's calls (`conv2d[1][0]` for a shared
    /// layer's second call).
    pub fn call_index(&self, k: usize) -> usize {
        let layer = self.nodes[k].layer;
        self.nodes[..k].iter().filter(|n| n.layer == layer).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Node;
    use crate::layer::{test_layer, Kind};
    use crate::shape::Shape;

    #[test]
    fn the_order_is_keras_model_layers() {
        // Built in Keras 3.15 in this order (dense, concatenate, dropout, dense_1,
        // layer_normalization, dense_2, layer_normalization_1, dense_3, concatenate_1),
        // `model.layers` lists them as below: by depth, then as the walk meets them.
        let l = test_layer(Kind::Flatten, &[]);
        let layers = [l; 9];
        let inputs = [Shape::new(&[64])];
        // Tensor 0 is the input; node k makes tensor k + 1 and calls layer k.
        let ins: [&[usize]; 9] = [
            &[0],
            &[0, 1],
            &[2],
            &[3],
            &[2],
            &[5],
            &[2],
            &[7],
            &[4, 6, 8, 2],
        ];
        let nodes: Vec<Node> = ins
            .iter()
            .enumerate()
            .map(|(k, inputs)| Node { layer: k, inputs })
            .collect();
        let g = Graph {
            inputs: &inputs,
            layers: &layers,
            nodes: &nodes,
            outputs: &[9],
        };
        let layers: Vec<usize> = g
            .keras_order()
            .into_iter()
            .filter_map(|op| match op {
                Op::Layer(l) => Some(l),
                Op::Input(_) => None,
            })
            .collect();
        assert_eq!(layers, [0, 1, 2, 4, 6, 3, 5, 7, 8]);
        assert_eq!(g.keras_order()[0], Op::Input(0));
        assert!(!g.sequential_like());
    }
}
