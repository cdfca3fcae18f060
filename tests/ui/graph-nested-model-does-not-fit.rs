use model::model;

model! {
    /// A nested `Sequential` whose layers do not fit the tensor it is called on: the
    /// mistake is reported at the layer, naming the nested model.
    pub struct Stemmed {
        let x = Input([32, 32, 3]);
        let stem = Sequential(
            [Conv2D(8, 4, strides = 4, name = "stem_conv"), Conv1D(8, 3, name = "stem_conv1d")],
            name = "stem",
        );
        let y = stem(x);
        GlobalAveragePooling2D()(y)
    }
}

fn main() {}
