#![deny(deprecated)]
use model::model;

model! {
    struct Leftovers {
        let x = Input([16]);
        let unused = Input([4]);
        let a = Dense(8)(x);
        let _forgotten = Dense(2)(a);
        Dense(1)(a)
    }
}

fn main() {}
