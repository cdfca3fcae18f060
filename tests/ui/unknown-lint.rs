use model::model;

model! {
    #[model(allow(dropout_lats))]
    struct Noisy {
        input: [20],
        Dense(4),
        Dropout(0.5),
    }
}

fn main() {}
