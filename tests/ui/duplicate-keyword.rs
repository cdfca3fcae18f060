use model::model;

model! {
    struct Twice {
        input: [784],
        Dense(10, activation = relu, activation = softmax),
    }
}

fn main() {}
