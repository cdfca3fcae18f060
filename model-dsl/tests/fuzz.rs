//! The macros never panic, whatever their tokens. Two sources of inputs:
//!
//! - models and `candidates!` lists generated at random from the grammar, with words that
//!   are hard on a macro (raw identifiers, keywords' cousins, names of the generated items,
//!   misspelt kinds and keywords, extreme numbers);
//! - valid models and `candidates!` inputs mutated at random: tokens deleted, duplicated,
//!   swapped, replaced, at every depth of nesting.
//!
//! Every input goes through parse → check → expand. Each expansion must be Rust that
//! parses, with a `compile_error!` exactly when the checker found a mistake.
//!
//! Deterministic: fixed seeds and a small xorshift generator, so a failure names its input
//! and repeats. The 6,000 cases take about two seconds in a debug build.

use std::panic::{catch_unwind, AssertUnwindSafe};

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Valid models covering the grammar: attributes, lints, generics, names, keywords,
/// tuples, negative numbers, floats, strings, `None`, nested layers.
const MODELS: &[&str] = &[
    "/// Doc.\npub struct A<const U: usize> { input: [28, 28, 1], Conv2D(32, (3, 3), padding = same, activation = relu), \
     MaxPooling2D(2), Flatten, hidden: Dense(U, activation = relu), Dropout(0.5), Dense(10, activation = softmax) }",
    "struct B { input: [10, 8], Bidirectional(LSTM(16, return_sequences = true), merge_mode = concat), \
     TimeDistributed(Dense(4)), Reshape((-1, 2)), ZeroPadding1D((1, 2)), Cropping1D(1), GlobalMaxPooling1D }",
    "#[model(allow(dropout_last, softmax_axis_of_one))] pub(crate) struct C { input: [16], Dense(1, activation = softmax), Dropout(0.2) }",
    "struct D<const H: usize, const W: usize> { input: [H, W, 3], SeparableConv2D(8, 3, strides = (2, 2), padding = \"same\"), \
     BatchNormalization(momentum = 0.9), ReLU(max_value = None), GlobalAveragePooling2D(keepdims = true), Flatten, Dense(2) }",
    "struct E { input: [20], Embedding(100, 8), GRU(8, reset_after = false, return_sequences = true), SimpleRNN(4), \
     RepeatVector(3), Permute((2, 1)), LayerNormalization, TimeDistributed(Flatten) }",
    "struct F { input: [8, 8, 8, 2], Conv3D(4, 3, dilation_rate = 1), MaxPool3D(2), UpSampling3D(2), Cropping3D(((1, 1), (0, 0), (1, 0))), \
     Conv3DTranspose(2, 2, strides = 2), GlobalAvgPool3D, Dense(3, use_bias = false), LeakyReLU(0.3), PReLU, ELU(1.0), Softmax(axis = -1) }",
    "struct G { input: [32, 4], Conv1D(8, 5, padding = causal, groups = 2), AveragePooling1D(2, strides = 1), DepthwiseConv1D(3), \
     UpSampling1D, GaussianNoise(0.1), SpatialDropout1D(0.1), Activation(gelu), Dense(4, activation = hard_silu) }",
    // Graph models: functions, loops, `if`, shared layers, merges, strings, several outputs.
    "pub struct H { fn block(x, filters, stride = 1) { let y = Conv2D(filters, 3, strides = stride, padding = same)(x); \
     let s = if stride == 1 { x } else { Conv2D(filters, 1, strides = stride)(x) }; ReLU()(Add()([y, s])) } \
     let x = Input([16, 16, 3]); let mut y = block(x, 3); for i in 0..2 { y = block(y, 4 * (i + 1), stride = 2); } \
     Dense(10, activation = softmax, name = \"out{i}\")(GlobalAveragePooling2D()(y)) }",
    "struct I { let a = Input([12], name = \"left\"); let b = Input([12]); let shared = Dense(8, name = \"encoder\"); \
     let (ea, eb) = (shared(a), shared(b)); let d = Dot(axes = 1, normalize = true)([ea, eb]); \
     (Dense(1, activation = sigmoid)(Concatenate(axis = -1)([ea, eb])), Multiply()([Subtract()([ea, eb]), d])) }",
    "struct J<const C: usize> { let x = Input([8, 8, C]); let g = GlobalAveragePooling2D(keepdims = true)(x); \
     let g = Dense(C, activation = sigmoid)(g); let n = x.shape[-1]; let y = Multiply()([x, g]); \
     Conv2D(max(n, 2), 1, name = str(len([x, y])))(Maximum()([x, y])) }",
];

/// `candidates!` inputs.
const CANDIDATES: &[&str] = &[
    "Mlp<UNITS in 32..=512 step 32>",
    "Mlp<UNITS in [64, 128, 256]>, max_params = 200_000",
    "Deep<W in [32, 64], D in 8..16 step 8>, crate::models::Wide<W in -2..=2>",
];

/// Tokens a mutation may put in: the DSL's words, Rust keywords and raw identifiers,
/// extreme and odd literals, punctuation, and empty groups.
fn vocabulary() -> Vec<TokenTree> {
    let mut out: Vec<TokenTree> = Vec::new();
    for word in [
        "input",
        "Dense",
        "Conv2D",
        "Bidirectional",
        "TimeDistributed",
        "LSTM",
        "Flatten",
        "Reshape",
        "None",
        "true",
        "same",
        "relu",
        "units",
        "activation",
        "struct",
        "pub",
        "fn",
        "self",
        "Self",
        "crate",
        "where",
        "const",
        "usize",
        "model",
        "allow",
        "step",
        "in",
        "max_params",
        "NAME",
        "PARAMS",
        "hidden",
        "dense",
        "__model_spec",
        "U",
        "é",
    ] {
        out.push(Ident::new(word, Span::call_site()).into());
    }
    for raw in ["r#type", "r#input", "r#Dense"] {
        let ident: TokenStream = raw.parse().expect("a raw identifier");
        out.extend(ident);
    }
    for literal in [
        Literal::usize_unsuffixed(0),
        Literal::usize_unsuffixed(1),
        Literal::u128_unsuffixed(99_999_999_999_999_999_999_999),
        Literal::u64_suffixed(3),
        Literal::f64_unsuffixed(1.5e308),
        Literal::f32_suffixed(0.5),
        Literal::string("same"),
        Literal::string(""),
        Literal::character('c'),
        Literal::byte_string(b"x"),
    ] {
        out.push(literal.into());
    }
    for (ch, spacing) in [
        (',', Spacing::Alone),
        (':', Spacing::Alone),
        (':', Spacing::Joint),
        ('=', Spacing::Alone),
        ('-', Spacing::Alone),
        ('<', Spacing::Alone),
        ('>', Spacing::Alone),
        ('#', Spacing::Alone),
        ('.', Spacing::Joint),
        ('\'', Spacing::Joint),
        (';', Spacing::Alone),
    ] {
        out.push(Punct::new(ch, spacing).into());
    }
    for delimiter in [
        Delimiter::Parenthesis,
        Delimiter::Bracket,
        Delimiter::Brace,
        Delimiter::None,
    ] {
        out.push(Group::new(delimiter, TokenStream::new()).into());
    }
    out
}

/// A random model from the grammar, as text.
fn generated_model(rng: &mut Rng) -> String {
    let kinds: Vec<&str> = model_core::layer::KINDS
        .iter()
        .flat_map(|k| std::iter::once(k.class_name).chain(k.aliases.iter().copied()))
        .chain(["Dens", "conv2d", "Transformer", "input"])
        .collect();
    let keywords: Vec<&str> = model_core::layer::KINDS
        .iter()
        .flat_map(|k| k.args.iter().map(|a| a.name))
        .chain(["activaton", "paddin", "unit", "x", "r#type"])
        .collect();
    let words = [
        "same", "valid", "causal", "relu", "softmax", "sigmoid", "concat", "None", "true", "false",
        "U", "N", "\"same\"", "\"\"",
    ];
    let names = [
        "hidden",
        "dense",
        "r#type",
        "r#loop",
        "params",
        "Params",
        "layers",
        "__model_spec",
        "__model_layer_0",
        "é",
        "x_1",
        "init",
        "weights",
        "_x",
    ];
    let pick = |rng: &mut Rng, from: &[&str]| from[rng.below(from.len())].to_string();
    fn number(rng: &mut Rng) -> String {
        match rng.below(8) {
            0 => "0".into(),
            1 => format!("-{}", rng.below(5)),
            2 => "99999999999999999999".into(),
            3 => "4294967296".into(),
            4 => format!("{}.5", rng.below(3)),
            _ => (1 + rng.below(40)).to_string(),
        }
    }
    fn value(rng: &mut Rng, depth: usize, kinds: &[&str], words: &[&str]) -> String {
        match rng.below(if depth > 2 { 3 } else { 6 }) {
            0 | 1 => number(rng),
            2 => words[rng.below(words.len())].to_string(),
            3 => {
                let items: Vec<String> = (0..rng.below(4))
                    .map(|_| value(rng, depth + 1, kinds, words))
                    .collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
            _ => format!(
                "{}({})",
                kinds[rng.below(kinds.len())],
                value(rng, depth + 1, kinds, words)
            ),
        }
    }
    // Half the models are made of layers that fit a 1-D input, so that names and
    // generics reach the expansion of a checked model too.
    let fitting = [
        "Dense(8)",
        "Dense(4, activation = relu)",
        "Dropout(0.5)",
        "Activation(tanh)",
        "Dense(U)",
    ];
    let valid = rng.below(2) == 0;
    let mut layers = Vec::new();
    for _ in 0..rng.below(7) {
        let mut layer = String::new();
        if rng.below(3) == 0 {
            layer.push_str(&pick(rng, &names));
            layer.push_str(": ");
        }
        if valid {
            layer.push_str(&pick(rng, &fitting));
            layers.push(layer);
            continue;
        }
        layer.push_str(&pick(rng, &kinds));
        let count = rng.below(5);
        if count > 0 {
            let args: Vec<String> = (0..count)
                .map(|i| {
                    let v = value(rng, 0, &kinds, &words);
                    if i > 0 && rng.below(2) == 0 {
                        format!("{} = {v}", pick(rng, &keywords))
                    } else {
                        v
                    }
                })
                .collect();
            layer.push_str(&format!("({})", args.join(", ")));
        }
        layers.push(layer);
    }
    let dims: Vec<String> = (0..if valid { 1 } else { rng.below(5) })
        .map(|_| match rng.below(6) {
            0 => "U".to_string(),
            1 => "0".to_string(),
            _ => (1 + rng.below(32)).to_string(),
        })
        .collect();
    let attrs = [
        "",
        "/// Doc.",
        "#[model(allow(dropout_last))]",
        "#[model(allow(dropout_lats))]",
        "#[derive(Debug)]",
    ];
    let generics = [
        "",
        "<const U: usize>",
        "<const U: usize, const N: usize>",
        "<T>",
        "<'a>",
    ];
    let names_of_models = ["Model", "r#Model", "Params", "M"];
    format!(
        "{} {} struct {}{} {{ input: [{}], {} }}",
        pick(rng, &attrs),
        if rng.below(2) == 0 { "pub" } else { "" },
        pick(rng, &names_of_models),
        pick(rng, &generics),
        dims.join(", "),
        layers.join(", ")
    )
}

/// A random `candidates!` input from its grammar, as text.
fn generated_candidates(rng: &mut Rng) -> String {
    let int = |rng: &mut Rng| match rng.below(10) {
        0 => format!("-{}", rng.below(9)),
        1 => "170141183460469231731687303715884105727".to_string(),
        2 => "0".to_string(),
        3 => (rng.below(600)).to_string(),
        _ => (rng.below(40)).to_string(),
    };
    let mut models = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let params: Vec<String> = (0..rng.below(4))
            .map(|_| {
                let name = ["UNITS", "W", "D", "r#in"][rng.below(4)];
                match rng.below(3) {
                    0 => {
                        let values: Vec<String> = (0..rng.below(5)).map(|_| int(rng)).collect();
                        format!("{name} in [{}]", values.join(", "))
                    }
                    1 => format!("{name} in {}..={}", int(rng), int(rng)),
                    _ => format!("{name} in {}..{} step {}", int(rng), int(rng), int(rng)),
                }
            })
            .collect();
        let path = ["Mlp", "crate::Mlp", "self::a::Deep", "Mlp::<1>"][rng.below(4)];
        models.push(format!("{path}<{}>", params.join(", ")));
    }
    match rng.below(4) {
        0 => models.push(format!("max_params = {}", int(rng))),
        1 => models.push("max_params = LIMIT * 2".to_string()),
        _ => {}
    }
    models.join(", ")
}

/// xorshift64*: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One random edit somewhere in `tokens`: inside a group half the time, if there is one.
fn mutate(tokens: &mut Vec<TokenTree>, rng: &mut Rng, vocabulary: &[TokenTree]) {
    let groups: Vec<usize> = (0..tokens.len())
        .filter(|&i| matches!(tokens[i], TokenTree::Group(_)))
        .collect();
    if !groups.is_empty() && rng.below(2) == 0 {
        let at = groups[rng.below(groups.len())];
        if let TokenTree::Group(g) = &tokens[at] {
            let mut inner: Vec<TokenTree> = g.stream().into_iter().collect();
            mutate(&mut inner, rng, vocabulary);
            let mut group = Group::new(g.delimiter(), inner.into_iter().collect());
            group.set_span(g.span());
            tokens[at] = group.into();
        }
        return;
    }
    let n = tokens.len();
    let pick = |rng: &mut Rng| vocabulary[rng.below(vocabulary.len())].clone();
    match (rng.below(5), n) {
        (_, 0) => tokens.push(pick(rng)),
        (0, _) => {
            tokens.remove(rng.below(n));
        }
        (1, _) => {
            let at = rng.below(n);
            tokens.insert(at, tokens[at].clone());
        }
        (2, _) => tokens.swap(rng.below(n), rng.below(n)),
        (3, _) => tokens[rng.below(n)] = pick(rng),
        _ => tokens.insert(rng.below(n + 1), pick(rng)),
    }
}

/// `text`'s tokens with one to three random edits.
fn mutant(text: &str, rng: &mut Rng, vocabulary: &[TokenTree]) -> TokenStream {
    let mut tokens: Vec<TokenTree> = text
        .parse::<TokenStream>()
        .expect("lexes")
        .into_iter()
        .collect();
    for _ in 0..1 + rng.below(3) {
        mutate(&mut tokens, rng, vocabulary);
    }
    tokens.into_iter().collect()
}

/// The model's three phases; panics (caught by the caller) are the failures looked for.
fn expand_model(tokens: TokenStream) {
    let mut errors = Vec::new();
    let output = match model_dsl::parse(tokens.clone(), &mut errors) {
        // The graph form is interpreted and checked as it expands.
        Some(def) if def.graph.is_some() => model_dsl::model(tokens),
        Some(def) => {
            let plan = model_dsl::check(&def, &mut errors);
            let mistakes = !errors.is_empty();
            let output = model_dsl::expand(&def, &plan, errors);
            assert_eq!(
                output.to_string().contains("compile_error"),
                mistakes,
                "a compile_error! exactly when check found a mistake"
            );
            output
        }
        None => {
            assert!(!errors.is_empty(), "no model and no error");
            model_dsl::model(tokens)
        }
    };
    if let Err(e) = syn::parse2::<syn::File>(output) {
        panic!("the expansion is not Rust items: {e}");
    }
}

fn expand_candidates(tokens: TokenStream) {
    if let Err(e) = syn::parse2::<syn::Expr>(model_dsl::candidates(tokens)) {
        panic!("the expansion is not an expression: {e}");
    }
}

/// Runs `run` on `inputs`, failing with every input that panicked.
fn run_all(inputs: impl Iterator<Item = TokenStream>, run: fn(TokenStream)) -> usize {
    let mut failures = Vec::new();
    let mut cases = 0;
    for tokens in inputs {
        if catch_unwind(AssertUnwindSafe(|| run(tokens.clone()))).is_err() {
            failures.push(tokens.to_string());
        }
        cases += 1;
    }
    assert!(failures.is_empty(), "panicked on:\n{}", failures.join("\n"));
    cases
}

/// `cases` mutants of each seed, and the seeds themselves.
fn mutants(
    seeds: &'static [&'static str],
    cases: usize,
    seed: u64,
) -> impl Iterator<Item = TokenStream> {
    let vocabulary = vocabulary();
    let mut rng = Rng(seed);
    seeds.iter().flat_map(move |text| {
        let mut out = vec![text.parse().expect("lexes")];
        for _ in 0..cases {
            out.push(mutant(text, &mut rng, &vocabulary));
        }
        out
    })
}

/// `cases` inputs from `generate`.
fn generated(
    cases: usize,
    seed: u64,
    generate: fn(&mut Rng) -> String,
) -> impl Iterator<Item = TokenStream> {
    let mut rng = Rng(seed);
    (0..cases).map(move |_| generate(&mut rng).parse().expect("lexes"))
}

#[test]
fn generated_models_expand_without_panicking() {
    let cases = run_all(
        generated(2000, 0x2545_f491_4f6c_dd1d, generated_model),
        expand_model,
    );
    assert_eq!(cases, 2000);
}

#[test]
fn mutated_models_expand_without_panicking() {
    let cases = run_all(mutants(MODELS, 300, 0x9e37_79b9_7f4a_7c15), expand_model);
    assert_eq!(cases, MODELS.len() * 301);
}

#[test]
fn generated_candidate_lists_expand_without_panicking() {
    let cases = run_all(
        generated(1000, 0xbf58_476d_1ce4_e5b9, generated_candidates),
        expand_candidates,
    );
    assert_eq!(cases, 1000);
}

#[test]
fn mutated_candidate_lists_expand_without_panicking() {
    let cases = run_all(
        mutants(CANDIDATES, 300, 0xd1b5_4a32_d192_ed03),
        expand_candidates,
    );
    assert_eq!(cases, CANDIDATES.len() * 301);
}

#[test]
fn inputs_that_once_panicked() {
    // A raw layer name reached `Ident::new` as `R#TYPE`.
    expand_model(
        "struct A { input: [8], r#type: Dense(3), r#loop: Dense(2) }"
            .parse()
            .unwrap(),
    );
    // A range's length overflowed `i128`.
    expand_candidates(
        "Mlp<W in -1..=170141183460469231731687303715884105727>"
            .parse()
            .unwrap(),
    );
    expand_candidates(
        "Mlp<W in 0..=170141183460469231731687303715884105727>"
            .parse()
            .unwrap(),
    );
}
