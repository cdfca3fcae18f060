//! The weights of `Dense` (kernel `[in, units]`, bias) and `Embedding` (the table
//! `[input_dim, output_dim]`); the other core layers have none.

use super::{Dense, Embedding};
use crate::runtime::{Init, Specs};
use crate::shape::Shape;

pub(super) fn dense(c: &Dense, input: &Shape, s: &mut Specs) {
    s.push("kernel", &[input.last(), c.units], Init::GlorotUniform);
    if c.use_bias {
        s.push("bias", &[c.units], Init::Zeros);
    }
}

/// Keras's `uniform(-0.05, 0.05)`.
pub(super) fn embedding(c: &Embedding, s: &mut Specs) {
    s.push(
        "embeddings",
        &[c.input_dim, c.output_dim],
        Init::Uniform(0.05),
    );
}
