//! Summaries, byte for byte against Keras: Keras 3.15's box-drawn table
//! (`Summary::keras3`) for stacks and graphs, and Keras 2's functional table with its
//! `Connected to` column. `tests/data/summaries/` is written by `tools/keras_summaries.py`
//! from the same models, built in Keras.

use model::model;

model! {
    struct Residual {
        let inp = Input([28, 28, 1], name = "image");
        let x = Conv2D(8, 3, padding = "same", name = "stem")(inp);
        let y = Conv2D(8, 3, padding = "same", activation = "relu", name = "block_expand_convolution")(x);
        let y = BatchNormalization(name = "block_expand_batch_normalization")(y);
        let x = Add(name = "block_add")([x, y]);
        let x = GlobalAveragePooling2D(name = "pool")(x);
        Dense(10, activation = "softmax", name = "classes")(x)
    }
}

model! {
    struct Siamese {
        let a = Input([12], name = "left");
        let b = Input([12], name = "right");
        let shared = Dense(8, activation = "relu", name = "encoder");
        let (ea, eb) = (shared(a), shared(b));
        let joined = Concatenate(name = "joined")([ea, eb]);
        let distance = Subtract(name = "distance")([ea, eb]);
        let score = Dense(1, activation = "sigmoid", name = "score")(joined);
        (score, distance)
    }
}

model! {
    struct SharedShapes {
        let a = Input([4, 6], name = "short");
        let b = Input([9, 6], name = "long");
        let shared = Dense(5, name = "rows");
        let x = Flatten(name = "flat_short")(shared(a));
        let y = Flatten(name = "flat_long")(shared(b));
        Concatenate(name = "joined")([x, y])
    }
}

model! {
    struct Chain {
        let inp = Input([16], name = "features");
        let x = Dense(8, activation = "relu", name = "hidden")(inp);
        Dense(2, name = "out")(x)
    }
}

model! {
    struct Mlp {
        input: [28, 28],
        Flatten,
        Dense(128, activation = relu),
        Dense(10, activation = softmax),
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/summaries/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Keras names a model by its `name=`; ours are named after their types.
fn renamed(summary: String, from: &str, to: &str) -> String {
    summary.replacen(
        &format!("Model: \"{from}\""),
        &format!("Model: \"{to}\""),
        1,
    )
}

#[test]
fn keras3_tables_match_keras_byte_for_byte() {
    let cases = [
        ("residual", "Residual", Residual::summary()),
        ("siamese", "Siamese", Siamese::summary()),
        ("shared_shapes", "SharedShapes", SharedShapes::summary()),
        ("chain", "Chain", Chain::summary()),
        ("mlp", "Mlp", Mlp::summary()),
    ];
    for (name, ours, summary) in cases {
        let expected = fixture(&format!("{name}.keras3.txt"));
        let got = renamed(summary.keras3().to_string(), ours, name);
        assert_eq!(
            got,
            expected.trim_end_matches('\n'),
            "{name}:\n{got}\n\nKeras:\n{expected}"
        );
    }
}

#[test]
fn keras2_functional_tables_match_keras() {
    let cases = [
        ("residual", Residual::summary()),
        ("siamese", Siamese::summary()),
        ("shared_shapes", SharedShapes::summary()),
        ("chain", Chain::summary()),
    ];
    for (name, summary) in cases {
        let expected = fixture(&format!("{name}.keras2.txt"));
        let got = summary.to_string();
        // The fixture holds the table; the totals follow it.
        let table: Vec<&str> = got.lines().take(expected.lines().count()).collect();
        assert_eq!(
            table.join("\n"),
            expected.trim_end_matches('\n'),
            "{name}:\n{got}\n\nKeras:\n{expected}"
        );
    }
}

#[test]
fn a_graph_summary_names_every_connection() {
    let s = Residual::summary().to_string();
    // Cut at the table's width, as Keras cuts it.
    assert!(s.contains("['stem[0][0]', 'block_expand_batc\n"), "{s}");
    assert!(s.contains("image (InputLayer)"), "{s}");
    // A shared layer lists both calls, the second as node 1.
    let s = Siamese::summary().to_string();
    assert!(s.contains("['left[0][0]', 'right[0][0]']"), "{s}");
    assert!(s.contains("['encoder[0][0]', 'encoder[1][0]'\n"), "{s}");
}
