//! A recurrent layer's `kernel [features, gates · units]`, `recurrent_kernel [units,
//! gates · units]` and `bias` (`[2, gates · units]` for a GRU with `reset_after`), gates in
//! Keras's order (LSTM `i, f, c, o`, GRU `z, r, h`); a `Bidirectional` has both
//! directions' under `forward/` and `backward/`.

use super::{Cell, Recurrent};
use crate::runtime::{Init, Specs};

/// Weight names of a recurrent layer alone, and of each direction of a `Bidirectional`.
pub(super) const NAMES: [[&str; 3]; 3] = [
    ["kernel", "recurrent_kernel", "bias"],
    ["forward/kernel", "forward/recurrent_kernel", "forward/bias"],
    [
        "backward/kernel",
        "backward/recurrent_kernel",
        "backward/bias",
    ],
];

pub(super) fn specs(c: &Recurrent, features: usize, names: &[&'static str; 3], s: &mut Specs) {
    let width = c.gates() * c.units;
    s.push(names[0], &[features, width], Init::GlorotUniform);
    s.push(names[1], &[c.units, width], Init::Orthogonal);
    if c.use_bias {
        match c.cell {
            Cell::GRU if c.reset_after => s.push(names[2], &[2, width], Init::Zeros),
            Cell::LSTM => s.push(names[2], &[width], Init::LstmBias(c.units)),
            Cell::GRU | Cell::SimpleRNN => s.push(names[2], &[width], Init::Zeros),
        }
    }
}
