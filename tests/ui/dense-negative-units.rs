use model::model;

model! {
    struct Negative {
        input: [784],
        Dense(-4),
    }
}

fn main() {}
