use model::model;

model! {
    struct Many {
        let x = Input([32, 32, 3]);
        let a = Conv2D(16, 3, activaton = relu)(x);
        let b = Conv2D(8, 3)(x);
        let c = Add()([b, Conv2D(4, 3)(x)]);
        Dense(-4)(c)
    }
}

fn main() {}
