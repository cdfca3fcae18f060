use model::model;

model! {
    struct Cnn {
        input: [28, 28, 1],
        Flatten,
        Conv2D(8, 3),
    }
}

fn main() {}
