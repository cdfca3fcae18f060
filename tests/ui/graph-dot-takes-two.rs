use model::model;

model! {
    struct Similarity {
        let x = Input([16]);
        let a = Dense(8)(x);
        Dot(axes = 1)([a])
    }
}

fn main() {}
