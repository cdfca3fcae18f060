use model::model;

model! {
    struct Shrunk {
        input: [8, 8, 1],
        MaxPooling2D(4),
        MaxPooling2D(4),
    }
}

fn main() {}
