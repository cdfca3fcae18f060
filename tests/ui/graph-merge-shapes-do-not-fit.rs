use model::model;

model! {
    struct Residual {
        let x = Input([28, 28, 64]);
        let y = Conv2D(64, 3, padding = same, name = "conv2d_3")(x);
        let shortcut = Conv2D(128, 1, name = "block2_out")(x);
        Add()([y, shortcut])
    }
}

fn main() {}
