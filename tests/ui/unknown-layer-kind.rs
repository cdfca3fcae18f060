use model::model;

model! {
    struct Typo {
        input: [784],
        Dens(10),
    }
}

fn main() {}
