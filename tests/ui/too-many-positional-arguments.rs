use model::model;

model! {
    struct Positional {
        input: [784],
        Dense(10, relu, true, 3),
    }
}

fn main() {}
