use model::model;

// Either `activation` gives `Dense` the same output, so `Reshape` is still checked.
model! {
    struct Twice {
        input: [8],
        Dense(10, activation = relu, activation = tanh),
        Reshape((3, 3)),
    }
}

fn main() {}
