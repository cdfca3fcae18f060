use model::model;

model! {
    struct Act {
        input: [784],
        Dense(10, activation = rellu),
    }
}

fn main() {}
