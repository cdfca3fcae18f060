use model::model;

model! {
    struct NoInput {
        Dense(10),
    }
}

fn main() {}
