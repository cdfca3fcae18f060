#![deny(deprecated)]
use model::model;

model! {
    /// Both lints silenced for this model.
    #[model(allow(softmax_axis_of_one, dropout_last))]
    struct Silenced {
        input: [20],
        Dense(1, activation = softmax),
        Dropout(0.5),
    }
}

fn main() {
    assert_eq!(Silenced::PARAMS, 21);
}
