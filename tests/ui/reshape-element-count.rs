use model::model;

model! {
    struct Reshaped {
        input: [28, 28],
        Reshape((27, 28, 1)),
    }
}

fn main() {}
