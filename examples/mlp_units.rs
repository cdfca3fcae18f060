//! The tuner's search space: an MLP whose hidden width is a const generic. Every candidate's
//! parameter count is a compile-time constant.

use model::model;
use static_assertions::const_assert_eq;

model! {
    /// 28×28 digits, one hidden layer of `UNITS` neurons, 10 logits.
    pub struct Mlp<const UNITS: usize> {
        input: [28, 28],
        Flatten,
        Dense(UNITS, activation = relu),
        Dense(10),
    }
}

/// `784·U + U + 10·U + 10`, what the compiler must agree with.
const fn expected(units: usize) -> usize {
    784 * units + units + 10 * units + 10
}

macro_rules! candidates {
    ($($u:literal),*) => {
        $(const_assert_eq!(Mlp::<$u>::PARAMS, expected($u));)*
        const CANDIDATES: &[(usize, usize)] = &[$(($u, Mlp::<$u>::PARAMS)),*];
    };
}
candidates!(32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 480, 512);

fn main() {
    println!("units  params");
    for (units, params) in CANDIDATES {
        println!("{units:>5}  {params:>7}");
    }
}
