//! Training a graph model: the training forward pass of every node, keeping every tensor
//! and what each call's backward pass needs, then the backward pass in reverse order. A
//! tensor read by several nodes gets the sum of their gradients; a shared layer's weights
//! get the sum over its calls.

use std::borrow::Borrow;

use super::{first_call, Graph};
use crate::error::Error;
use crate::layer::merge::backward::backward as merge_backward;
use crate::layer::merge::forward::{forward as merge_forward, MergeStep};
use crate::layer::ops::{Cache, Grad, Step, Train};
use crate::runtime::{batch_len, check_weights, elements, LayerWeights, Rng};
use crate::shape::Shape;
use crate::train::grad_sizes;

/// A graph's training state, reused from batch to batch.
pub(crate) struct GraphTape {
    /// Every tensor's shape, without batch.
    tensors: Vec<Shape>,
    /// Node `k`'s output (tensor `inputs + k`) for the current batch.
    acts: Vec<Vec<f32>>,
    /// What each node's backward pass needs.
    caches: Vec<Cache>,
    /// One noise stream per node.
    rngs: Vec<Rng>,
    /// `grads[l][j]`: the gradient of layer `l`'s weight `j`, summed over its calls
    /// (empty if not trainable).
    pub grads: Vec<Vec<Vec<f32>>>,
    /// One call's weight gradients, before they are added to `grads`.
    call_grads: Vec<Vec<f32>>,
    /// The gradient with respect to each node's output, summed over its readers.
    d: Vec<Vec<f32>>,
    /// Whether any gradient reached each tensor.
    reached: Vec<bool>,
    /// Input gradients of the call being differentiated, one per argument.
    dx: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    batch: usize,
}

impl GraphTape {
    /// A tape for `g` (whose tensors have shapes `tensors`) with these weights, checked
    /// against each layer's first call; `seed` seeds the noise.
    pub fn new<W: Borrow<LayerWeights>>(
        g: &Graph,
        tensors: &[Shape],
        weights: &[W],
        seed: u64,
    ) -> Result<GraphTape, Error> {
        if weights.len() != g.layers.len() {
            return Err(Error::new(format!(
                "the model has {} layers but {} sets of weights were given",
                g.layers.len(),
                weights.len()
            )));
        }
        let mut grads = Vec::with_capacity(g.layers.len());
        for (l, (layer, w)) in g.layers.iter().zip(weights).enumerate() {
            let sizes = match first_call(g, l, g.nodes.len()) {
                Some(k) if layer.config.merge().is_none() => {
                    let input = tensors[g.nodes[k].inputs[0]];
                    check_weights(layer, &input, &w.borrow().tensors).map_err(|e| e.at(l))?;
                    grad_sizes(layer, &input)
                }
                _ => Vec::new(),
            };
            grads.push(sizes.into_iter().map(|n| vec![0.0; n]).collect());
        }
        let n = g.nodes.len();
        let rngs = (0..n)
            .map(|i| {
                let mut r =
                    Rng(seed ^ 0x5EED_0000_0000_0000 ^ (i as u64).wrapping_mul(0x9E37_79B9));
                r.next_u64();
                r
            })
            .collect();
        Ok(GraphTape {
            tensors: tensors.to_vec(),
            acts: (0..n).map(|_| Vec::new()).collect(),
            caches: (0..n).map(|_| Cache::default()).collect(),
            rngs,
            grads,
            call_grads: Vec::new(),
            d: (0..n).map(|_| Vec::new()).collect(),
            reached: vec![false; tensors.len()],
            dx: Vec::new(),
            scratch: Vec::new(),
            batch: 0,
        })
    }

    /// The training forward pass on `batch` samples of each input; the outputs are then
    /// [`GraphTape::output`]. Batch normalization's moving statistics are updated in
    /// `weights` at each call.
    pub fn forward(
        &mut self,
        g: &Graph,
        weights: &mut [LayerWeights],
        xs: &[&[f32]],
        batch: usize,
    ) -> Result<(), Error> {
        if xs.len() != g.inputs.len() {
            return Err(Error::new(format!(
                "the model has {} inputs, but {} were given",
                g.inputs.len(),
                xs.len()
            )));
        }
        for (i, (x, shape)) in xs.iter().zip(g.inputs).enumerate() {
            let n = batch_len(shape, batch)?;
            if x.len() != n {
                return Err(Error::new(format!(
                    "input {i} must hold {batch} × {shape} = {n} values, got {}",
                    x.len()
                )));
            }
        }
        self.batch = batch;
        let inputs = g.inputs.len();
        let GraphTape {
            tensors,
            acts,
            caches,
            rngs,
            scratch,
            ..
        } = self;
        for (k, node) in g.nodes.iter().enumerate() {
            let layer = &g.layers[node.layer];
            let output = tensors[inputs + k];
            let mut y = std::mem::take(&mut acts[k]);
            y.resize(batch_len(&output, batch)?, 0.0);
            let shapes: Vec<Shape> = node.inputs.iter().map(|&t| tensors[t]).collect();
            let srcs: Vec<&[f32]> = node
                .inputs
                .iter()
                .map(|&t| {
                    if t < inputs {
                        xs[t]
                    } else {
                        &acts[t - inputs][..]
                    }
                })
                .collect();
            let result = match layer.config.merge() {
                Some(m) => {
                    let s = MergeStep {
                        inputs: &shapes,
                        output,
                        batch,
                    };
                    merge_forward(m, &s, &srcs, &mut y)
                }
                None => {
                    let s = Step {
                        input: shapes[0],
                        output,
                        batch,
                        weights: &weights[node.layer].tensors,
                    };
                    let t = Train {
                        cache: &mut caches[k],
                        rng: &mut rngs[k],
                        scratch,
                    };
                    let ops = layer.config.ops();
                    let r = ops.train_forward(&s, srcs[0], &mut y, t);
                    if r.is_ok() {
                        ops.update_statistics(&mut weights[node.layer].tensors, &caches[k]);
                    }
                    r
                }
            };
            acts[k] = y;
            result.map_err(|e| e.at(node.layer))?;
        }
        Ok(())
    }

    /// Output `o`'s values after [`GraphTape::forward`].
    pub fn output<'a>(&'a self, g: &Graph, xs: &[&'a [f32]], o: usize) -> &'a [f32] {
        let t = g.outputs[o];
        if t < g.inputs.len() {
            xs[t]
        } else {
            &self.acts[t - g.inputs.len()]
        }
    }

    /// The backward pass after [`GraphTape::forward`] on inputs `xs`: `d_out[o]` is the
    /// gradient with respect to output `o` (with `linear[o]`, with respect to its layer's
    /// input to its output activation: the loss folded it in). Fills [`GraphTape::grads`].
    pub fn backward(
        &mut self,
        g: &Graph,
        weights: &[LayerWeights],
        xs: &[&[f32]],
        d_out: &[&[f32]],
        linear: &[bool],
    ) -> Result<(), Error> {
        let inputs = g.inputs.len();
        let GraphTape {
            tensors,
            acts,
            caches,
            grads,
            call_grads,
            d,
            reached,
            dx,
            scratch,
            batch,
            ..
        } = self;
        let batch = *batch;
        reached.iter_mut().for_each(|r| *r = false);
        for (k, dk) in d.iter_mut().enumerate() {
            dk.clear();
            dk.resize(acts[k].len(), 0.0);
        }
        for (o, (&t, dy)) in g.outputs.iter().zip(d_out).enumerate() {
            if t < inputs {
                continue;
            }
            let dt = &mut d[t - inputs];
            if dy.len() != dt.len() {
                return Err(Error::new(format!(
                    "the gradient of output {o} holds {} values for {} outputs",
                    dy.len(),
                    dt.len()
                )));
            }
            dt.iter_mut().zip(*dy).for_each(|(a, &b)| *a += b);
            reached[t] = true;
        }
        for layer_grads in grads.iter_mut() {
            layer_grads.iter_mut().for_each(|g| g.fill(0.0));
        }
        for k in (0..g.nodes.len()).rev() {
            let t = inputs + k;
            if !reached[t] {
                continue;
            }
            let node = &g.nodes[k];
            let layer = &g.layers[node.layer];
            // The loss folded the output activation in, when this tensor is an output that
            // asked for it and nothing else reads it.
            let fold = g
                .outputs
                .iter()
                .position(|&o| o == t)
                .is_some_and(|o| linear.get(o) == Some(&true))
                && !g.nodes.iter().any(|n| n.inputs.contains(&t));
            // Input gradients for the arguments that are not model inputs.
            dx.resize_with(node.inputs.len(), Vec::new);
            for (i, &src) in node.inputs.iter().enumerate() {
                let len = batch * elements(&tensors[src]);
                dx[i].clear();
                dx[i].resize(if src < inputs { 0 } else { len }, 0.0);
            }
            let shapes: Vec<Shape> = node.inputs.iter().map(|&t| tensors[t]).collect();
            let srcs: Vec<&[f32]> = node
                .inputs
                .iter()
                .map(|&t| {
                    if t < inputs {
                        xs[t]
                    } else {
                        &acts[t - inputs][..]
                    }
                })
                .collect();
            let (y, dy) = (&acts[k], &d[k]);
            let mut dxs: Vec<Option<&mut [f32]>> = dx
                .iter_mut()
                .map(|v| (!v.is_empty()).then_some(v.as_mut_slice()))
                .collect();
            match layer.config.merge() {
                Some(m) => {
                    let s = MergeStep {
                        inputs: &shapes,
                        output: tensors[t],
                        batch,
                    };
                    merge_backward(m, &s, &srcs, y, dy, &mut dxs);
                }
                None => {
                    let w = &weights[node.layer].tensors;
                    call_grads.resize_with(w.len(), Vec::new);
                    for (cg, acc) in call_grads.iter_mut().zip(&grads[node.layer]) {
                        cg.clear();
                        cg.resize(acc.len(), 0.0);
                    }
                    let s = Step {
                        input: shapes[0],
                        output: tensors[t],
                        batch,
                        weights: w,
                    };
                    let gr = Grad {
                        x: srcs[0],
                        y,
                        dy,
                        dx: dxs.pop().flatten(),
                        grads: &mut call_grads[..w.len()],
                        cache: &caches[k],
                        linear_output: fold,
                        scratch,
                    };
                    layer
                        .config
                        .ops()
                        .backward(&s, gr)
                        .map_err(|e| e.at(node.layer))?;
                    for (acc, cg) in grads[node.layer].iter_mut().zip(call_grads.iter()) {
                        if !acc.is_empty() {
                            acc.iter_mut().zip(cg).for_each(|(a, &b)| *a += b);
                        }
                    }
                }
            }
            drop(dxs);
            for (i, &src) in node.inputs.iter().enumerate() {
                if src >= inputs {
                    let ds = &mut d[src - inputs];
                    ds.iter_mut().zip(&dx[i]).for_each(|(a, &b)| *a += b);
                    reached[src] = true;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Gradient checks for the merges and for graphs: fan-out, shared layers, several
    //! inputs and outputs, against central finite differences of the training forward pass
    //! (the objective `Σ r·y` over every output).

    use super::GraphTape;
    use crate::graph::{init_graph, Graph, Node, Planned};
    use crate::layer::gradcheck::{ints, layer};
    use crate::layer::{Kind, Layer};
    use crate::runtime::{LayerWeights, Rng};
    use crate::shape::Shape;
    use crate::value::Value;

    const H: f32 = 1e-3;

    fn uniform(rng: &mut Rng) -> f32 {
        ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    struct Case {
        inputs: Vec<Shape>,
        layers: Vec<Layer>,
        nodes: Vec<(usize, Vec<usize>)>,
        outputs: Vec<usize>,
    }

    impl Case {
        fn check(&self, name: &str) {
            let nodes: Vec<Node> = self
                .nodes
                .iter()
                .map(|(l, i)| Node {
                    layer: *l,
                    inputs: i,
                })
                .collect();
            let g = Graph {
                inputs: &self.inputs,
                layers: &self.layers,
                nodes: &nodes,
                outputs: &self.outputs,
            };
            let planned = Planned::new(&g).unwrap_or_else(|e| panic!("{name}: {e}"));
            let tensors = &planned.tensors;
            let mut rng = Rng(99);
            let mut weights = init_graph(&g, tensors, 5).unwrap();
            for w in &mut weights {
                for t in &mut w.tensors {
                    t.data
                        .iter_mut()
                        .for_each(|v| *v += 0.3 * uniform(&mut rng));
                }
            }
            let batch = 2;
            let xs: Vec<Vec<f32>> = self
                .inputs
                .iter()
                .map(|s| {
                    (0..batch * s.elements().unwrap())
                        .map(|_| uniform(&mut rng))
                        .collect()
                })
                .collect();
            let rs: Vec<Vec<f32>> = self
                .outputs
                .iter()
                .map(|&t| {
                    let n = batch * tensors[t].elements().unwrap();
                    (0..n).map(|_| uniform(&mut rng)).collect()
                })
                .collect();
            let objective = |w: &mut [LayerWeights], xs: &[Vec<f32>]| -> f64 {
                let mut tape = GraphTape::new(&g, tensors, w, 7).unwrap();
                let views: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
                tape.forward(&g, w, &views, batch).unwrap();
                (0..g.outputs.len())
                    .map(|o| {
                        tape.output(&g, &views, o)
                            .iter()
                            .zip(&rs[o])
                            .map(|(&a, &b)| f64::from(a) * f64::from(b))
                            .sum::<f64>()
                    })
                    .sum()
            };
            // The analytic gradients.
            let mut tape = GraphTape::new(&g, tensors, &weights, 7).unwrap();
            let views: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
            let mut w = weights.clone();
            tape.forward(&g, &mut w, &views, batch).unwrap();
            let d_out: Vec<&[f32]> = rs.iter().map(Vec::as_slice).collect();
            tape.backward(&g, &w, &views, &d_out, &vec![false; g.outputs.len()])
                .unwrap();
            let close = |what: String, a: f32, n: f64| {
                let tol = 1e-3 + 3e-3 * f64::from(a).abs().max(n.abs());
                assert!(
                    (f64::from(a) - n).abs() <= tol,
                    "{name}: {what}: {a} vs {n}"
                );
            };
            // With respect to each weight (the inputs' gradients flow through the same
            // nodes; a model input itself gets none).
            for (l, layer_grads) in tape.grads.iter().enumerate() {
                for (j, grad) in layer_grads.iter().enumerate() {
                    for i in (0..grad.len()).step_by(1 + grad.len() / 12) {
                        let (mut plus, mut minus) = (weights.clone(), weights.clone());
                        plus[l].tensors[j].data[i] += H;
                        minus[l].tensors[j].data[i] -= H;
                        let n = (objective(&mut plus, &xs) - objective(&mut minus, &xs))
                            / f64::from(2.0 * H);
                        close(format!("layer {l} weight {j}[{i}]"), grad[i], n);
                    }
                }
            }
            // With respect to the tensors fed by the inputs: through an identity-free
            // layer in front (each case starts with a Dense on every input), checked above.
        }
    }

    fn dense(units: i64) -> Layer {
        layer(
            Kind::Dense,
            &[
                ("units", Value::Int(units)),
                ("activation", Value::Str("tanh")),
            ],
        )
    }

    #[test]
    fn every_merge_with_fan_out() {
        for kind in [
            Kind::Add,
            Kind::Subtract,
            Kind::Multiply,
            Kind::Average,
            Kind::Maximum,
            Kind::Minimum,
        ] {
            // x → a = dense(x), b = dense_1(a); merge(a, b): `a` feeds two nodes.
            Case {
                inputs: vec![Shape::new(&[3])],
                layers: vec![dense(4), dense(4), layer(kind, &[])],
                nodes: vec![(0, vec![0]), (1, vec![1]), (2, vec![1, 2])],
                outputs: vec![3],
            }
            .check(&format!("{kind:?}"));
        }
    }

    #[test]
    fn broadcasting_gate_concatenate_and_dot() {
        // A squeeze-and-excite gate: (2, 2, 3) × (1, 1, 3).
        let conv = layer(
            Kind::Conv2D,
            &[("filters", Value::Int(3)), ("kernel_size", Value::Int(1))],
        );
        let gap = layer(
            Kind::GlobalAveragePooling2D,
            &[("keepdims", Value::Bool(true))],
        );
        Case {
            inputs: vec![Shape::new(&[2, 2, 3])],
            layers: vec![conv, gap, layer(Kind::Multiply, &[])],
            nodes: vec![(0, vec![0]), (1, vec![1]), (2, vec![1, 2])],
            outputs: vec![3],
        }
        .check("squeeze-and-excite");
        // Concatenate on the last axis and on axis 1.
        for axis in [-1, 1] {
            Case {
                inputs: vec![Shape::new(&[2, 3])],
                layers: vec![
                    dense(2),
                    dense(2),
                    layer(Kind::Concatenate, &[("axis", Value::Int(axis))]),
                ],
                nodes: vec![(0, vec![0]), (1, vec![0]), (2, vec![1, 2])],
                outputs: vec![3],
            }
            .check(&format!("Concatenate(axis = {axis})"));
        }
        // Dot over the last axes, plain and normalized, and over (1, 2).
        for (axes, normalize) in [
            (ints(&[-1]), false),
            (ints(&[-1]), true),
            (ints(&[1, 2]), false),
        ] {
            Case {
                inputs: vec![Shape::new(&[3, 3])],
                layers: vec![
                    dense(3),
                    dense(3),
                    layer(
                        Kind::Dot,
                        &[("axes", axes), ("normalize", Value::Bool(normalize))],
                    ),
                ],
                nodes: vec![(0, vec![0]), (1, vec![0]), (2, vec![1, 2])],
                outputs: vec![3],
            }
            .check(&format!("Dot({axes:?}, normalize = {normalize})"));
        }
    }

    #[test]
    fn shared_layers_two_inputs_two_outputs() {
        // A siamese pair: dense_1 is called on both branches; two outputs, one of them
        // also read by a later node.
        Case {
            inputs: vec![Shape::new(&[3]), Shape::new(&[3])],
            layers: vec![dense(4), dense(4), layer(Kind::Add, &[]), dense(2)],
            nodes: vec![
                (0, vec![0]),
                (0, vec![1]),
                (1, vec![2]),
                (1, vec![3]),
                (2, vec![4, 5]),
                (3, vec![6]),
            ],
            outputs: vec![7, 6],
        }
        .check("siamese");
    }
}
