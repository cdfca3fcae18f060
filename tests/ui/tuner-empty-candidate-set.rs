use model::{candidates, model};

model! {
    pub struct Mlp<const UNITS: usize> {
        input: [28, 28],
        Flatten,
        Dense(UNITS, activation = relu),
        Dense(10),
    }
}

fn main() {
    // The smallest candidate, Mlp<32>, has 25,450 parameters.
    let _space = candidates!(Mlp<UNITS in 32..=512 step 32>, max_params = 10_000);
}
