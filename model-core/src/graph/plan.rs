//! Where each tensor of a graph lives during a forward pass, decided once from the
//! tensors' lifetimes: the caller's input and output buffers, a view of another tensor
//! (a layer whose output is its input, reinterpreted), or one of a few reusable buffers.
//! A buffer is reused as soon as every reader of the tensors it holds has run, so its
//! size is the largest tensor it ever holds, and the scratch memory of a forward pass is
//! the sum of the buffers' sizes: a constant of the model.

use super::Graph;
use crate::shape::Shape;

/// Where one tensor lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The caller's input `i`.
    Input(usize),
    /// The caller's output `o` (the node writes straight into it).
    Output(usize),
    /// Reusable buffer `b`.
    Buffer(usize),
    /// The same values as tensor `t` (which is not itself a view), reinterpreted.
    View(usize),
}

/// The plan of a graph: a slot per tensor, and the buffers' sizes per sample.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// One per tensor.
    pub slots: &'a [Slot],
    /// Values per sample of each buffer.
    pub buffer_lens: &'a [usize],
}

impl Plan<'_> {
    /// Values per sample of every buffer together: the forward pass's scratch memory.
    pub const fn scratch_per_sample(&self) -> usize {
        let mut total = 0;
        let mut i = 0;
        while i < self.buffer_lens.len() {
            total += self.buffer_lens[i];
            i += 1;
        }
        total
    }
}

/// The tensor whose storage tensor `t` uses (itself unless it is a view).
const fn root(slots: &[Slot], t: usize) -> usize {
    match slots[t] {
        Slot::View(r) => r,
        Slot::Input(_) | Slot::Output(_) | Slot::Buffer(_) => t,
    }
}

/// Values of one sample of `shape`.
const fn len_of(shape: &Shape) -> usize {
    match shape.elements() {
        Some(n) => n,
        None => 0,
    }
}

/// Plans `g` whose tensors have shapes `tensors`: fills `slots` (one per tensor) and
/// `lens` (one per buffer, at most one per tensor), returning the number of buffers.
/// `slots`, `lens` and `work` must each be `g.tensors()` long (`work` is scratch).
pub const fn plan_into(
    g: &Graph,
    tensors: &[Shape],
    slots: &mut [Slot],
    lens: &mut [usize],
    work: &mut [usize],
) -> usize {
    let inputs = g.inputs.len();
    let total = g.tensors();
    let mut t = 0;
    while t < inputs {
        slots[t] = Slot::Input(t);
        t += 1;
    }
    // Views: a layer whose output is its input, reinterpreted, unless it is an output
    // (which is written into the caller's buffer).
    let mut k = 0;
    while k < g.nodes.len() {
        let n = &g.nodes[k];
        let out = inputs + k;
        let layer = &g.layers[n.layer];
        slots[out] = if n.inputs.len() == 1 && layer.reinterprets() && !is_output(g, out) {
            Slot::View(root(slots, n.inputs[0]))
        } else {
            Slot::Buffer(usize::MAX)
        };
        k += 1;
    }
    // Outputs write into the caller's buffers (a tensor's first listing; a tensor listed
    // twice, or an input listed, is copied at the end).
    let mut o = 0;
    while o < g.outputs.len() {
        let t = g.outputs[o];
        if t >= inputs && matches!(slots[t], Slot::Buffer(_)) && first_listing(g, o) {
            slots[t] = Slot::Output(o);
        }
        o += 1;
    }
    // The last node that reads each storage: `work[t]` for a root `t` (a view's reads are
    // its root's); an output's storage is read at the end, after every node.
    let last = work;
    t = 0;
    while t < total {
        last[t] = 0;
        t += 1;
    }
    k = 0;
    while k < g.nodes.len() {
        let n = &g.nodes[k];
        let mut i = 0;
        while i < n.inputs.len() {
            let r = root(slots, n.inputs[i]);
            if last[r] < k {
                last[r] = k;
            }
            i += 1;
        }
        k += 1;
    }
    o = 0;
    while o < g.outputs.len() {
        last[root(slots, g.outputs[o])] = usize::MAX;
        o += 1;
    }
    // Buffers, greedily in node order: a node's output takes a buffer whose tensors have
    // all been read (the smallest that holds it, else the largest, grown), or a new one.
    let mut buffers = 0;
    k = 0;
    while k < g.nodes.len() {
        let out = inputs + k;
        if let Slot::Buffer(_) = slots[out] {
            let need = len_of(&tensors[out]);
            let mut best = usize::MAX;
            let mut b = 0;
            while b < buffers {
                // Free when its last read came before this node.
                if busy_until(slots, last, inputs, k, b) < k {
                    let better = if best == usize::MAX {
                        true
                    } else {
                        let (cur, cand) = (lens[best], lens[b]);
                        if cur >= need {
                            cand >= need && cand < cur
                        } else {
                            cand > cur
                        }
                    };
                    if better {
                        best = b;
                    }
                }
                b += 1;
            }
            if best == usize::MAX {
                best = buffers;
                lens[best] = 0;
                buffers += 1;
            }
            if lens[best] < need {
                lens[best] = need;
            }
            slots[out] = Slot::Buffer(best);
        }
        k += 1;
    }
    let mut i = buffers;
    while i < lens.len() {
        lens[i] = 0;
        i += 1;
    }
    buffers
}

/// The last read of any tensor made before node `k` that lives in buffer `b`.
const fn busy_until(slots: &[Slot], last: &[usize], inputs: usize, k: usize, b: usize) -> usize {
    let mut until = 0;
    let mut j = 0;
    while j < k {
        if let Slot::Buffer(x) = slots[inputs + j] {
            if x == b && last[inputs + j] > until {
                until = last[inputs + j];
            }
        }
        j += 1;
    }
    until
}

/// [`plan_into`] for a graph of `T` tensors, in `const` items.
pub const fn plan<const T: usize>(g: &Graph, tensors: &[Shape; T]) -> ([Slot; T], [usize; T]) {
    let mut slots = [Slot::Buffer(0); T];
    let mut lens = [0usize; T];
    let mut work = [0usize; T];
    plan_into(g, tensors, &mut slots, &mut lens, &mut work);
    (slots, lens)
}

const fn is_output(g: &Graph, t: usize) -> bool {
    let mut o = 0;
    while o < g.outputs.len() {
        if g.outputs[o] == t {
            return true;
        }
        o += 1;
    }
    false
}

const fn first_listing(g: &Graph, o: usize) -> bool {
    let mut p = 0;
    while p < o {
        if g.outputs[p] == g.outputs[o] {
            return false;
        }
        p += 1;
    }
    true
}
