use model::model;

model! {
    struct Undeclared {
        input: [N, 8],
        Flatten,
        Dense(10),
    }
}

fn main() {}
