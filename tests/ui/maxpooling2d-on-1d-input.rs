use model::model;

model! {
    struct Pooled {
        input: [784],
        Dense(64),
        MaxPooling2D(2),
    }
}

fn main() {}
