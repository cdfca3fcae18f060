use model::model;

model! {
    struct Order {
        input: [784],
        Dense(units = 10, relu),
    }
}

fn main() {}
