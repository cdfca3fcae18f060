use model::model;

model! {
    struct TooMuchDropout {
        input: [784],
        Dense(64),
        Dropout(1.5),
        Dense(10),
    }
}

fn main() {}
