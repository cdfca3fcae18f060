use model::model;

// A misspelt keyword leaves `Conv2D`'s output shape as it is, whatever was meant, so the
// layers after it are still checked: three mistakes, three errors.
model! {
    struct Later {
        input: [32, 32, 3],
        Conv2D(16, 3, activaton = relu),
        MaxPooling2D(64),
        Dense(-4),
    }
}

fn main() {}
