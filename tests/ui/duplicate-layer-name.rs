use model::model;

model! {
    struct SameName {
        input: [784],
        hidden: Dense(64),
        hidden: Dense(10),
    }
}

fn main() {}
