use model::model;

model! {
    struct Inception {
        let x = Input([32, 32, 3]);
        let a = Conv2D(8, 1)(x);
        let b = MaxPooling2D(2)(x);
        Concatenate()([a, b])
    }
}

fn main() {}
