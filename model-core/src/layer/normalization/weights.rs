//! `gamma` and `beta` (when `scale` and `center`), then batch normalization's
//! non-trainable `moving_mean` and `moving_variance`, each `[features]`.

use super::Normalization;
use crate::runtime::{Init, Spec, Specs};
use crate::shape::Shape;

pub(super) fn specs(c: &Normalization, features: usize, s: &mut Specs) {
    if c.scale {
        s.push("gamma", &[features], Init::Ones);
    }
    if c.center {
        s.push("beta", &[features], Init::Zeros);
    }
    if c.batch {
        let moving = |name, init| Spec {
            name,
            shape: Shape::new(&[features]),
            trainable: false,
            init,
        };
        s.push_spec(moving("moving_mean", Init::Zeros));
        s.push_spec(moving("moving_variance", Init::Ones));
    }
}
