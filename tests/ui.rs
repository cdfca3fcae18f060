//! Compile errors and lints, each with its `.stderr` snapshot
//! (regenerate with `TRYBUILD=overwrite cargo test --test ui` and read the diff).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
