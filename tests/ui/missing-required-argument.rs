use model::model;

model! {
    struct NoUnits {
        input: [784],
        Dense(activation = relu),
    }
}

fn main() {}
