use model::model;

model! {
    /// Fits for kernels up to 5, not beyond.
    struct Windowed<const K: usize> {
        input: [5, 5, 1],
        Conv2D(8, K),
        Flatten,
        Dense(10),
    }
}

const FITS: usize = Windowed::<3>::PARAMS;
const DOES_NOT_FIT: usize = Windowed::<7>::PARAMS;

fn main() {
    let _ = (FITS, DOES_NOT_FIT);
}
