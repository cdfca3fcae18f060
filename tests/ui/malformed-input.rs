use model::model;

model! {
    struct ZeroInput {
        input: [28, 0],
        Dense(10),
    }
}

fn main() {}
