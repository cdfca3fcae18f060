//! The macro never panics: every prefix of some valid models (cut at each token), and
//! assorted malformed inputs, expand to tokens — `compile_error!`s included — without a
//! panic. The macro's phases run on `proc_macro2` outside the compiler, in `model-dsl`;
//! `model-dsl/tests/fuzz.rs` also generates and mutates thousands of inputs at random.

use proc_macro2::{TokenStream, TokenTree};

const MODELS: &[&str] = &[
    "/// Doc.\npub struct A<const U: usize> { input: [28, 28, 1], Conv2D(32, (3, 3), padding = same, activation = relu), \
     MaxPooling2D(2), Flatten, hidden: Dense(U, activation = relu), Dropout(0.5), Dense(10, activation = softmax) }",
    "struct B { input: [10, 8], Bidirectional(LSTM(16, return_sequences = true), merge_mode = concat), \
     TimeDistributed(Dense(4)), Reshape((-1, 2)), ZeroPadding1D((1, 2)), Cropping1D(1), GlobalMaxPooling1D }",
    "#[model(allow(dropout_last))] struct C { input: [\"x\"], Dense(-4.5), Dropout(1.5), Permute((2, 1)), Dens }",
];

/// Every prefix of `text`'s top-level tokens, and every prefix of its braced body.
fn truncations(text: &str) -> Vec<TokenStream> {
    let tokens: Vec<TokenTree> = text
        .parse::<TokenStream>()
        .expect("lexes")
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for n in 0..=tokens.len() {
        out.push(tokens[..n].iter().cloned().collect());
    }
    if let Some(TokenTree::Group(body)) = tokens.last() {
        let inner: Vec<TokenTree> = body.stream().into_iter().collect();
        for n in 0..=inner.len() {
            let mut t: Vec<TokenTree> = tokens[..tokens.len() - 1].to_vec();
            let cut: TokenStream = inner[..n].iter().cloned().collect();
            t.push(TokenTree::Group(proc_macro2::Group::new(
                body.delimiter(),
                cut,
            )));
            out.push(t.into_iter().collect());
        }
    }
    out
}

#[test]
fn every_truncation_expands_without_panicking() {
    let mut cases = 0;
    for model in MODELS {
        for tokens in truncations(model) {
            let result = std::panic::catch_unwind(|| model_dsl::model(tokens.clone()));
            assert!(result.is_ok(), "the macro panicked on: {tokens}");
            cases += 1;
        }
    }
    assert!(
        cases >= 80,
        "expected every truncation of the models, got {cases} cases"
    );
}

#[test]
fn malformed_inputs_are_errors_not_panics() {
    for text in [
        "",
        "struct",
        "struct A",
        "struct A {}",
        "struct A { input: [] }",
        "struct A { input: [0] }",
        "struct A { input: [99999999999999999999999] }",
        "struct A { input: [1, 2, 3, 4, 5, 6, 7, 8, 9] }",
        "struct A { input: [8], Dense(99999999999999999999) }",
        "struct A { input: [4294967296, 4294967296, 4294967296], Flatten, Dense(4294967296) }",
        "struct A { input: [8], Dense(units = (1, (2, (3,)))) }",
        "struct A { input: [8], Bidirectional(Dense(3)) }",
        "struct A { input: [8], TimeDistributed(TimeDistributed(Dense(3))) }",
        "struct A<T> { input: [8], Dense(3) }",
        "struct A<'a> { input: [8], Dense(3) }",
        "struct A { input: [8], , , Dense(3) }",
        "struct A { input: [8], Dense(3)(4) }",
        "struct A { input: [8], x: y: Dense(3) }",
        "enum A { input: [8] }",
        "struct A { input: [8] } struct B { input: [8] }",
    ] {
        let tokens: TokenStream = text.parse().expect("lexes");
        let result = std::panic::catch_unwind(|| model_dsl::model(tokens.clone()).to_string());
        let out = result.unwrap_or_else(|_| panic!("the macro panicked on: {text}"));
        assert!(!out.is_empty(), "no output for: {text}");
    }
}
