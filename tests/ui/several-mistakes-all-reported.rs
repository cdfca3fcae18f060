use model::model;

model! {
    struct Many {
        input: [784],
        Dens(64),
        Dense(10, activaton = relu),
        Dropout(2.0),
    }
}

fn main() {}
