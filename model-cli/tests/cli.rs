//! The `model` command as a user runs it: its output, its messages and its exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn model(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_model"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/keras-files"))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn import_prints_the_source_and_summary_the_table() {
    let out = model(&["import", "mlp.keras", "--name", "Digits"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let source = text(&out.stdout);
    assert!(source.starts_with("model! {\n"), "{source}");
    assert!(source.contains("    pub struct Digits {\n        input: [8, 8],\n        Flatten,\n        Dense(32, activation = relu),\n        Dense(10, activation = softmax),\n    }\n"), "{source}");
    // By default the struct is the model's name in CamelCase.
    let out = model(&["import", "cnn.h5"]);
    assert!(text(&out.stdout).contains("pub struct ImageClassifier {"));
    let out = model(&["summary", "residual.keras"]);
    assert!(out.status.success());
    let keras = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/keras-files/residual.summary.txt"),
    )
    .unwrap();
    assert_eq!(text(&out.stdout), keras);
}

#[test]
fn mistakes_are_reported_with_the_usage_or_the_file() {
    for args in [
        &[][..],
        &["import"],
        &["import", "a.keras", "b.keras"],
        &["export", "x"],
        &["import", "mlp.keras", "--nmae", "X"],
    ] {
        let out = model(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("usage:"), "{args:?}");
    }
    let out = model(&["import", "missing.keras"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("model: cannot read missing.keras"),
        "{}",
        text(&out.stderr)
    );
    let out = model(&["summary", "mlp.weights.h5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("holds weights only"));
}
