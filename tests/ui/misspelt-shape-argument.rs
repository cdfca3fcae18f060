use model::model;

// `paddin = same` may have meant `padding = same`, which keeps the 4×4 image; without it the
// image shrinks and the third `Conv2D` would not fit. Not knowing which, the macro checks no
// further than the misspelt keyword: one mistake, one error.
model! {
    struct Typo {
        input: [4, 4, 1],
        Conv2D(8, 3, paddin = same),
        Conv2D(8, 3),
        Conv2D(8, 3),
    }
}

fn main() {}
