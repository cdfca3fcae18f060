use model::model;

model! {
    struct Typo {
        input: [28, 28, 1],
        Conv2D(8, 3, paddin = same),
    }
}

fn main() {}
