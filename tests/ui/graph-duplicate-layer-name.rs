use model::model;

model! {
    struct Twice {
        let x = Input([16]);
        let a = Dense(8, name = "block")(x);
        Dense(4, name = "block")(a)
    }
}

fn main() {}
