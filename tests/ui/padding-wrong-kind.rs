use model::model;

model! {
    struct BadPadding {
        input: [28, 28, 1],
        Conv2D(8, 3, padding = 3),
    }
}

fn main() {}
