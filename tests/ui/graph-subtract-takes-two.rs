use model::model;

model! {
    struct Difference {
        let x = Input([16]);
        let a = Dense(8)(x);
        let b = Dense(8)(x);
        let c = Dense(8)(x);
        Subtract()([a, b, c])
    }
}

fn main() {}
