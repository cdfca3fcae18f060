use model::model;

model! {
    struct Mlp {
        input: [28, 28],
        Flatten,
        Dense(10),
    }
}

fn main() {
    let m = Mlp::init(1);
    let flat = [0.0f32; 784];
    let _ = m.predict_one(&flat);
}
