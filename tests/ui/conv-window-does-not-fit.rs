use model::model;

model! {
    struct Small {
        input: [5, 5, 3],
        Conv2D(8, 7, padding = valid),
    }
}

fn main() {}
