//! The checker's errors, without compiling anything: every mistake reported once, and none
//! that follows from an earlier one. (`tests/ui/` in the `model` crate shows the same
//! messages as the compiler prints them, spans included.)

/// The messages `check` gives for a model, in order.
fn errors(model: &str) -> Vec<String> {
    let tokens = model.parse().expect("lexes");
    let mut errors = Vec::new();
    if let Some(def) = model_dsl::parse(tokens, &mut errors) {
        model_dsl::check(&def, &mut errors);
    }
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn later_mistakes_are_reported_after_a_misspelt_keyword() {
    let found = errors(
        "struct A { input: [32, 32, 3], Conv2D(16, 3, activaton = relu), MaxPooling2D(64), Dense(-4) }",
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].contains("no argument `activaton`"));
    assert!(found[1].contains("window of 64 does not fit"));
    assert!(found[2].contains("`units` expects a positive integer"));
}

#[test]
fn every_argument_mistake_of_one_layer_is_reported() {
    let found = errors("struct A { input: [8], Dense(-4, activaton = relu, use_bias = 3) }");
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].contains("`units` expects"));
    assert!(found[1].contains("no argument `activaton`"));
    assert!(found[2].contains("`use_bias` expects"));
}

#[test]
fn a_repeated_keyword_that_cannot_change_the_shape_lets_checking_go_on() {
    let found = errors(
        "struct A { input: [8], Dense(10, activation = relu, activation = tanh), Reshape((3, 3)) }",
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[1].contains("`Reshape` cannot turn (10,)"));
}

#[test]
fn a_repeated_shape_argument_stops_checking() {
    // `Dense(10, units = 9)` is 10 or 9 wide: `Reshape((3, 3))` fits one reading only.
    let found = errors("struct A { input: [8], Dense(10, units = 9), Reshape((3, 3)) }");
    assert_eq!(found, ["`units` is given more than once; keep one"]);
}

#[test]
fn a_misspelt_shape_argument_stops_checking() {
    // With `padding = same` every layer fits; without it the third does not.
    let found = errors(
        "struct A { input: [4, 4, 1], Conv2D(8, 3, paddin = same), Conv2D(8, 3), Conv2D(8, 3) }",
    );
    assert_eq!(
        found,
        ["`Conv2D` has no argument `paddin`; did you mean `padding`?"]
    );
}

#[test]
fn a_bad_value_stops_checking_at_its_layer() {
    // Without `units` the width is unknown, so `Reshape` is not checked against a guess.
    let found = errors("struct A { input: [8], Dense(-9), Reshape((3, 3)), Dense(0) }");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("got `-9`"));
    assert!(found[1].contains("got `0`"));
}

#[test]
fn a_missing_argument_that_a_dropped_one_was_meant_to_give_is_not_a_second_error() {
    assert_eq!(
        errors("struct A { input: [8], Dense(unit = 10) }"),
        ["`Dense` has no argument `unit`; did you mean `units`?"]
    );
    assert_eq!(
        errors("struct A { input: [8], Dense(units = -1) }"),
        ["`units` expects a positive integer, but got `-1`"]
    );
    // A missing argument that nothing dropped was meant for is a mistake of its own.
    let found = errors("struct A { input: [8], Dense(activaton = relu) }");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[1].contains("`Dense` needs `units`"));
}

#[test]
fn a_mistake_in_a_wrapped_layer_leaves_the_wrapper_checked() {
    let found = errors(
        "struct A { input: [8, 4], Bidirectional(LSTM(4, activaton = tanh), merge_mod = concat) }",
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("`LSTM` has no argument `activaton`"));
    assert!(found[1].contains("`Bidirectional` has no argument `merge_mod`"));
}
