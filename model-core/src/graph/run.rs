//! Running a graph model: its nodes in order, each reading its tensors where the plan put
//! them and writing its output into its slot. Everything is checked before the first node
//! runs; the buffers are kept in a [`GraphWorkspace`] so that later calls allocate nothing.

use std::borrow::Borrow;

use super::fuse::{chain_at, count_uses, Chain};
use super::{eval_graph, first_call, plan_into, Graph, Plan, Slot, MAX_CALL_INPUTS};
use crate::error::Error;
use crate::layer::merge::forward::{forward as merge_forward, MergeStep};
use crate::layer::ops::Step;
use crate::layer::{fold, Config};
use crate::model::LayerInfo;
use crate::runtime::{aligned, batch_len, check_weights, elements, lined, lined_mut, LayerWeights};
use crate::shape::Shape;

/// A graph evaluated and planned at run time (generated code has these as constants).
#[derive(Clone, Debug)]
pub struct Planned {
    /// Every tensor's shape, without batch.
    pub tensors: Vec<Shape>,
    /// Where each tensor lives.
    pub slots: Vec<Slot>,
    /// Values per sample of each buffer.
    pub buffer_lens: Vec<usize>,
}

impl Planned {
    /// Evaluates and plans `g`; the error names the layer at fault by index.
    pub fn new(g: &Graph) -> Result<Planned, Error> {
        let mut tensors = vec![Shape::SCALAR; g.tensors()];
        let mut infos = vec![LayerInfo::EMPTY; g.layers.len()];
        eval_graph(g, &[], &mut tensors, &mut infos).map_err(|e| {
            let node = e.node();
            let layer = g.nodes.get(node).map(|n| n.layer);
            let mut m = crate::message::Message::new();
            e.write(&mut m, "", &[]);
            let err = Error::new(m.as_str());
            match layer {
                Some(l) => err.at(l),
                None => err,
            }
        })?;
        if let Some(t) = tensors.iter().find(|t| !t.is_known()) {
            return Err(Error::new(format!(
                "a tensor of shape {t} has an unknown dimension; running needs every dimension"
            )));
        }
        let n = g.tensors();
        let (mut slots, mut lens, mut work) = (vec![Slot::Buffer(0); n], vec![0; n], vec![0; n]);
        let buffers = plan_into(g, &tensors, &mut slots, &mut lens, &mut work);
        lens.truncate(buffers);
        Ok(Planned {
            tensors,
            slots,
            buffer_lens: lens,
        })
    }

    /// The plan, borrowed.
    pub fn plan(&self) -> Plan<'_> {
        Plan {
            slots: &self.slots,
            buffer_lens: &self.buffer_lens,
        }
    }
}

/// Buffers reused across calls of [`predict_graph_into`]: the plan's buffers, the
/// layers' scratch space, and how many times each tensor is read. They grow to what the
/// largest call needed and never shrink.
#[derive(Debug, Default)]
pub struct GraphWorkspace {
    buffers: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    uses: Vec<u32>,
}

impl GraphWorkspace {
    /// An empty workspace; it grows on first use.
    pub fn new() -> GraphWorkspace {
        GraphWorkspace::default()
    }
}

/// Everything a node may read: the inputs, the outputs written so far (around the one
/// being written, `at`), and the buffers.
struct Sources<'a> {
    xs: &'a [&'a [f32]],
    before: &'a [&'a mut [f32]],
    after: &'a [&'a mut [f32]],
    at: usize,
    buffers: &'a [Vec<f32>],
}

impl<'a> Sources<'a> {
    /// Tensor `t`'s values for this batch.
    fn read(&self, t: usize, slots: &[Slot], tensors: &[Shape], batch: usize) -> &'a [f32] {
        let root = match slots[t] {
            Slot::View(r) => r,
            _ => t,
        };
        let len = batch * elements(&tensors[t]);
        match slots[root] {
            Slot::Input(i) => &self.xs[i][..len],
            Slot::Output(o) if o < self.at => &self.before[o][..len],
            Slot::Output(o) => &self.after[o - self.at - 1][..len],
            Slot::Buffer(b) => &lined(&self.buffers[b])[..len],
            Slot::View(_) => &[],
        }
    }
}

/// Runs node `k`, or the chain of nodes from it, into `dst`.
#[allow(clippy::too_many_arguments)]
fn run_node<W: Borrow<LayerWeights>>(
    g: &Graph,
    k: usize,
    chain: Option<Chain>,
    tensors: &[Shape],
    p: &Plan,
    weights: &[W],
    batch: usize,
    src: &Sources,
    dst: &mut [f32],
    scratch: &mut Vec<f32>,
) -> Result<(), Error> {
    let node = &g.nodes[k];
    if let Some(chain) = chain {
        return run_chain(g, k, chain, tensors, p, weights, batch, src, dst, scratch)
            .map_err(|e| e.at(node.layer));
    }
    let layer = &g.layers[node.layer];
    let output = tensors[g.inputs.len() + k];
    let mut shapes = [Shape::SCALAR; MAX_CALL_INPUTS];
    let mut xs: [&[f32]; MAX_CALL_INPUTS] = [&[]; MAX_CALL_INPUTS];
    let n = node.inputs.len().min(MAX_CALL_INPUTS);
    for (i, &t) in node.inputs.iter().take(n).enumerate() {
        shapes[i] = tensors[t];
        xs[i] = src.read(t, p.slots, tensors, batch);
    }
    let result = match layer.config.merge() {
        Some(m) => {
            let s = MergeStep {
                inputs: &shapes[..n],
                output,
                batch,
            };
            merge_forward(m, &s, &xs[..n], dst)
        }
        None => {
            let ops = layer.config.ops();
            let s = Step {
                input: shapes[0],
                output,
                batch,
                weights: &weights[node.layer].borrow().tensors,
            };
            let need = ops.scratch_len(&s.input, &output, batch);
            ops.forward(&s, xs[0], dst, aligned(scratch, need))
        }
    };
    result.map_err(|e| e.at(node.layer))
}

/// Runs the convolution of node `k` with the normalization and activation of `chain`
/// folded in, into `dst` (the chain's last output).
#[allow(clippy::too_many_arguments)]
fn run_chain<W: Borrow<LayerWeights>>(
    g: &Graph,
    k: usize,
    chain: Chain,
    tensors: &[Shape],
    p: &Plan,
    weights: &[W],
    batch: usize,
    src: &Sources,
    dst: &mut [f32],
    scratch: &mut Vec<f32>,
) -> Result<(), Error> {
    let node = &g.nodes[k];
    let Config::Conv(c) = &g.layers[node.layer].config else {
        return Err(Error::new(
            "a fused chain that does not start at a convolution",
        ));
    };
    let s = Step {
        input: tensors[node.inputs[0]],
        output: tensors[g.inputs.len() + k],
        batch,
        weights: &weights[node.layer].borrow().tensors,
    };
    let x = src.read(node.inputs[0], p.slots, tensors, batch);
    let norm = &weights[chain.norm].borrow().tensors;
    let config = &g.layers[chain.norm].config;
    fold::run(c, &s, config, norm, chain.activation, x, dst, scratch)
}

/// Runs graph `g` (planned as `p`) on a batch: `xs[i]` holds `batch` samples of input `i`,
/// `weights[l]` layer `l`'s weights; writes output `o` into `outs[o]`.
///
/// Every length is checked first: inputs, outputs, and each layer's weights against the
/// input of its first call. A mistake is an [`Error`] naming the layer, never a panic.
#[allow(clippy::too_many_arguments)]
pub fn predict_graph_into<W: Borrow<LayerWeights>>(
    g: &Graph,
    tensors: &[Shape],
    p: &Plan,
    weights: &[W],
    xs: &[&[f32]],
    batch: usize,
    outs: &mut [&mut [f32]],
    workspace: &mut GraphWorkspace,
) -> Result<(), Error> {
    check(g, tensors, p, weights, xs, batch, outs)?;
    let GraphWorkspace {
        buffers,
        scratch,
        uses,
    } = workspace;
    count_uses(g, uses);
    buffers.resize_with(p.buffer_lens.len(), Vec::new);
    for (b, &len) in buffers.iter_mut().zip(p.buffer_lens) {
        // From a cache line on (see `lined`), as every read and write of it is.
        aligned(b, batch_len(&Shape::new(&[len]), batch)?);
    }
    let inputs = g.inputs.len();
    // Nodes a chain before them has computed.
    let mut done = 0;
    for k in 0..g.nodes.len() {
        if k < done {
            continue;
        }
        let chain = chain_at(g, k, tensors, p, weights, uses);
        done = chain.map_or(k, |c| c.last) + 1;
        let out = inputs + done - 1;
        let out_len = batch * elements(&tensors[out]);
        match p.slots[out] {
            Slot::View(_) => {}
            Slot::Buffer(b) => {
                // Taken out of the buffers while written, so that the others can be read.
                let mut dst = std::mem::take(&mut buffers[b]);
                let src = Sources {
                    xs,
                    before: outs,
                    after: &[],
                    at: outs.len(),
                    buffers,
                };
                let r = run_node(
                    g,
                    k,
                    chain,
                    tensors,
                    p,
                    weights,
                    batch,
                    &src,
                    &mut lined_mut(&mut dst)[..out_len],
                    scratch,
                );
                buffers[b] = dst;
                r?;
            }
            Slot::Output(o) => {
                let (before, rest) = outs.split_at_mut(o);
                let (dst, after) = rest
                    .split_first_mut()
                    .ok_or_else(|| Error::new("no such output"))?;
                let src = Sources {
                    xs,
                    before,
                    after,
                    at: o,
                    buffers,
                };
                run_node(
                    g,
                    k,
                    chain,
                    tensors,
                    p,
                    weights,
                    batch,
                    &src,
                    &mut dst[..out_len],
                    scratch,
                )?;
            }
            Slot::Input(_) => return unreachable_slot(),
        }
    }
    // Outputs not written in place: a tensor listed twice, an input, a view.
    for (o, &t) in g.outputs.iter().enumerate() {
        if p.slots[t] == Slot::Output(o) {
            continue;
        }
        let len = batch * elements(&tensors[t]);
        let (before, rest) = outs.split_at_mut(o);
        let (dst, after) = rest
            .split_first_mut()
            .ok_or_else(|| Error::new("no such output"))?;
        let src = Sources {
            xs,
            before,
            after,
            at: o,
            buffers,
        };
        dst[..len].copy_from_slice(src.read(t, p.slots, tensors, batch));
    }
    Ok(())
}

/// A plan that puts a node's output on an input or a view: not one `plan_into` makes.
fn unreachable_slot<T>() -> Result<T, Error> {
    Err(Error::new("the graph's plan writes a node into an input"))
}

/// Checks the batch against the graph before anything runs.
fn check<W: Borrow<LayerWeights>>(
    g: &Graph,
    tensors: &[Shape],
    p: &Plan,
    weights: &[W],
    xs: &[&[f32]],
    batch: usize,
    outs: &[&mut [f32]],
) -> Result<(), Error> {
    if tensors.len() != g.tensors() || p.slots.len() != g.tensors() {
        return Err(Error::new(format!(
            "the graph has {} tensors, but {} shapes and {} slots were given",
            g.tensors(),
            tensors.len(),
            p.slots.len()
        )));
    }
    if xs.len() != g.inputs.len() {
        return Err(Error::new(format!(
            "the model has {} input{}, but {} were given",
            g.inputs.len(),
            if g.inputs.len() == 1 { "" } else { "s" },
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
    if outs.len() != g.outputs.len() {
        return Err(Error::new(format!(
            "the model has {} output{}, but {} buffers were given",
            g.outputs.len(),
            if g.outputs.len() == 1 { "" } else { "s" },
            outs.len()
        )));
    }
    for (o, (out, &t)) in outs.iter().zip(g.outputs).enumerate() {
        let n = batch_len(&tensors[t], batch)?;
        if out.len() != n {
            return Err(Error::new(format!(
                "output {o} must hold {batch} × {} = {n} values, got {}",
                tensors[t],
                out.len()
            )));
        }
    }
    if weights.len() != g.layers.len() {
        return Err(Error::new(format!(
            "the model has {} layers but {} sets of weights were given (one per layer, empty for layers without weights)",
            g.layers.len(),
            weights.len()
        )));
    }
    for (l, (layer, w)) in g.layers.iter().zip(weights).enumerate() {
        let Some(k) = first_call(g, l, g.nodes.len()) else {
            continue;
        };
        let node = &g.nodes[k];
        if layer.config.merge().is_some() && node.inputs.len() != 1 {
            continue;
        }
        let input = tensors[node.inputs[0]];
        check_weights(layer, &input, &w.borrow().tensors).map_err(|e| e.at(l))?;
    }
    Ok(())
}

/// [`predict_graph_into`] with a graph evaluated and planned now, returning one buffer per
/// output. Allocates on every call: keep a [`Planned`] and a [`GraphWorkspace`] to run a
/// model repeatedly.
pub fn predict_graph<W: Borrow<LayerWeights>>(
    g: &Graph,
    weights: &[W],
    xs: &[&[f32]],
    batch: usize,
) -> Result<Vec<Vec<f32>>, Error> {
    let planned = Planned::new(g)?;
    let mut outs: Vec<Vec<f32>> = g
        .outputs
        .iter()
        .map(|&t| batch_len(&planned.tensors[t], batch).map(|n| vec![0.0; n]))
        .collect::<Result<_, _>>()?;
    let mut views: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
    predict_graph_into(
        g,
        &planned.tensors,
        &planned.plan(),
        weights,
        xs,
        batch,
        &mut views,
        &mut GraphWorkspace::new(),
    )?;
    Ok(outs)
}

/// Keras's default initial weights of every layer of `g`, on the input of its first call
/// (one [`LayerWeights`] per layer, empty for a layer without weights), deterministic for
/// `seed`.
pub fn init_graph(g: &Graph, tensors: &[Shape], seed: u64) -> Result<Vec<LayerWeights>, Error> {
    let mut seeds = crate::runtime::Rng(seed);
    g.layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let s = seeds.next_u64();
            match first_call(g, l, g.nodes.len()) {
                Some(k) if layer.config.merge().is_none() => {
                    let input = tensors[g.nodes[k].inputs[0]];
                    crate::runtime::init(layer, &input, s).map_err(|e| e.at(l))
                }
                _ => Ok(LayerWeights::default()),
            }
        })
        .collect()
}
