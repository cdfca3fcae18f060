//! `TimeDistributed(layer)`: the wrapped layer on every step of the first axis, which is the
//! wrapped layer on a batch `steps` times larger (the data is already laid out that way),
//! in inference and in training alike.

use super::TimeDistributed;
use crate::error::Error;
use crate::layer::ops::Step;
use crate::runtime::eval_output;

impl TimeDistributed {
    /// The wrapped layer's view of a call: one step per sample.
    pub(super) fn inner_step<'a>(&self, s: &Step<'a>) -> Result<Step<'a>, Error> {
        let input = s.input.tail();
        Ok(Step {
            input,
            output: eval_output(self.layer, &input)?,
            batch: s.batch * s.input.dim(0),
            weights: s.weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, layer};
    use crate::layer::{Kind, Layer};
    use crate::value::Value;

    #[test]
    fn time_distributed_dense() {
        static INNER: Layer = Layer {
            kind: Kind::Dense,
            config: crate::layer::Config::Dense(crate::layer::Dense {
                units: 3,
                activation: crate::layer::Activation::Tanh,
                use_bias: true,
            }),
        };
        check(
            layer(Kind::TimeDistributed, &[("layer", Value::Layer(&INNER))]),
            &[4, 5],
            2,
        );
    }
}
