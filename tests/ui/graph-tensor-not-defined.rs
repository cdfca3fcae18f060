use model::model;

model! {
    struct Typo {
        let x = Input([16]);
        let hidden = Dense(8)(x);
        Dense(1)(hiddn)
    }
}

fn main() {}
