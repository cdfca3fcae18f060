//! `candidates!`: the instantiations of const-generic models as a tuner's search space.
//!
//! ```text
//! candidates!(Mlp<UNITS in 32..=512 step 32>)
//! candidates!(Mlp<UNITS in [64, 128, 256]>, max_params = 200_000)
//! candidates!(Deep<W in [32, 64], D in [1, 2]>, Wide<W in 64..=128 step 64>)
//! ```
//!
//! Each model spec is a path and one `NAME in CHOICES` per const generic parameter, in the
//! order the model declares them; CHOICES is `[a, b, …]` or `a..=b` / `a..b` with an
//! optional `step s`. The candidates are the cartesian product (first parameter outermost),
//! model specs one after another. The expansion is a `const`-evaluated list: each
//! candidate's `PARAMS` is read from its type, the `max_params` budget is applied in `const`
//! evaluation, and a budget that keeps nothing is a const assertion spanned at the budget.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{bracketed, Expr, Ident, LitInt, Path, Token};

/// More than this many types would make the compiler instantiate a model per candidate for
/// minutes; it is almost certainly a mistake in a range.
const MAX_CANDIDATES: usize = 4096;

/// One integer as written, with its span.
struct Int {
    value: i128,
    span: Span,
}

impl Parse for Int {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let minus: Option<Token![-]> = input.parse()?;
        let lit: LitInt = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an integer: a const generic argument's value",
            )
        })?;
        let value: i128 = lit.base10_parse()?;
        let span = minus.map_or(lit.span(), |m| {
            m.span.join(lit.span()).unwrap_or(lit.span())
        });
        Ok(Int {
            value: if minus.is_some() { -value } else { value },
            span,
        })
    }
}

/// The values of one parameter.
enum Choices {
    /// `[a, b, c]`.
    List { values: Vec<Int>, span: Span },
    /// `start..=end step s` (or `start..end`).
    Range {
        start: Int,
        end: Int,
        inclusive: bool,
        step: Option<Int>,
        span: Span,
    },
}

/// `NAME in CHOICES`.
struct Param {
    name: Ident,
    choices: Choices,
}

impl Parse for Param {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a parameter: `NAME in [a, b, …]` or `NAME in start..=end step s`",
            )
        })?;
        if !input.peek(Token![in]) {
            return Err(input.error(format!(
                "expected `in` after `{name}`: `{name} in [a, b, …]` or `{name} in start..=end step s`"
            )));
        }
        input.parse::<Token![in]>()?;
        let choices = if input.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let values = content.parse_terminated(Int::parse, Token![,])?;
            Choices::List {
                values: values.into_iter().collect(),
                span: bracket.span.join(),
            }
        } else {
            let start: Int = input.parse()?;
            let inclusive = if input.peek(Token![..=]) {
                input.parse::<Token![..=]>()?;
                true
            } else if input.peek(Token![..]) {
                input.parse::<Token![..]>()?;
                false
            } else {
                return Err(input.error(
                    "expected `..=` or `..` after the start of a range, or write the choices as `[a, b, …]`",
                ));
            };
            let end: Int = input.parse()?;
            let mut span = start.span.join(end.span).unwrap_or(start.span);
            let step = if input.peek(Ident) && input.fork().parse::<Ident>()? == "step" {
                input.parse::<Ident>()?;
                let step: Int = input.parse()?;
                span = span.join(step.span).unwrap_or(span);
                Some(step)
            } else {
                None
            };
            Choices::Range {
                start,
                end,
                inclusive,
                step,
                span,
            }
        };
        Ok(Param { name, choices })
    }
}

/// `Path<PARAM, …>`.
struct ModelSpec {
    path: Path,
    params: Vec<Param>,
}

impl Parse for ModelSpec {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path = Path::parse_mod_style(input)?;
        if !input.peek(Token![<]) {
            return Err(input.error(format!(
                "expected `<` after `{}`: each candidate model lists its const generic parameters, e.g. `{}<UNITS in 32..=512 step 32>`",
                path.to_token_stream(),
                path.to_token_stream()
            )));
        }
        input.parse::<Token![<]>()?;
        let mut params = Vec::new();
        loop {
            if input.peek(Token![>]) {
                break;
            }
            params.push(input.parse()?);
            if input.peek(Token![>]) {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `,` between parameters or `>` after the last",
                )
            })?;
        }
        let close: Token![>] = input.parse()?;
        if params.is_empty() {
            return Err(syn::Error::new(
                close.span,
                "no parameter to search: write `NAME in [a, b, …]` between `<` and `>`",
            ));
        }
        Ok(ModelSpec { path, params })
    }
}

/// The whole input: model specs, then options.
struct Input {
    models: Vec<ModelSpec>,
    max_params: Option<(Ident, Expr)>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut models = Vec::new();
        let mut max_params = None;
        while !input.is_empty() {
            if input.peek(Ident) && input.peek2(Token![=]) {
                let key: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                let value: Expr = input.parse()?;
                if key != "max_params" {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{key}`: the option is `max_params = N`"),
                    ));
                }
                if max_params.is_some() {
                    return Err(syn::Error::new(key.span(), "`max_params` is given twice"));
                }
                max_params = Some((key, value));
            } else {
                if max_params.is_some() {
                    return Err(input.error("model specs come before `max_params`"));
                }
                models.push(input.parse()?);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        if models.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "no model to search: write e.g. `candidates!(Mlp<UNITS in 32..=512 step 32>)`",
            ));
        }
        Ok(Input { models, max_params })
    }
}

/// The values of one parameter, or the errors that make it empty.
fn values(param: &Param, errors: &mut Vec<syn::Error>) -> Vec<i128> {
    match &param.choices {
        Choices::List { values, span } => {
            if values.is_empty() {
                errors.push(syn::Error::new(
                    *span,
                    format!("`{}` has no value to choose from", param.name),
                ));
            }
            let mut out: Vec<i128> = Vec::new();
            for v in values {
                if out.contains(&v.value) {
                    errors.push(syn::Error::new(
                        v.span,
                        format!("{} is listed twice for `{}`", v.value, param.name),
                    ));
                } else {
                    out.push(v.value);
                }
            }
            out
        }
        Choices::Range {
            start,
            end,
            inclusive,
            step,
            span,
        } => {
            let s = step.as_ref().map_or(1, |s| s.value);
            if s <= 0 {
                let at = step.as_ref().map_or(*span, |s| s.span);
                errors.push(syn::Error::new(
                    at,
                    format!("the step must be positive, got {s}"),
                ));
                return Vec::new();
            }
            let last = if *inclusive { end.value } else { end.value - 1 };
            if last < start.value {
                let op = if *inclusive { "..=" } else { ".." };
                errors.push(syn::Error::new(
                    *span,
                    format!(
                        "the range {}{op}{} of `{}` is empty: write the smaller bound first",
                        start.value, end.value, param.name
                    ),
                ));
                return Vec::new();
            }
            // A range from a very negative to a very large bound has more values than an
            // `i128` counts: too many either way.
            let count = last
                .checked_sub(start.value)
                .and_then(|d| (d / s).checked_add(1));
            match count {
                Some(count) if count <= MAX_CANDIDATES as i128 => {
                    (0..count).map(|k| start.value + k * s).collect()
                }
                _ => {
                    let count =
                        count.map_or(format!("more than {MAX_CANDIDATES}"), |c| c.to_string());
                    errors.push(syn::Error::new(
                        *span,
                        format!(
                            "`{}` takes {count} values; at most {MAX_CANDIDATES} candidates, each a type the compiler instantiates",
                            param.name
                        ),
                    ));
                    Vec::new()
                }
            }
        }
    }
}

/// A const generic argument: a literal, braced when negative.
fn argument(v: i128) -> TokenStream {
    let lit = Literal::i128_unsuffixed(v.abs());
    if v < 0 {
        quote!({ -#lit })
    } else {
        quote!(#lit)
    }
}

fn try_expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: Input = syn::parse2(input)?;
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    let mut total = 0usize;
    for model in &input.models {
        let mut names: Vec<String> = Vec::new();
        let mut axes: Vec<Vec<i128>> = Vec::new();
        for p in &model.params {
            let name = p.name.to_string();
            if names.contains(&name) {
                errors.push(syn::Error::new(
                    p.name.span(),
                    format!(
                        "`{name}` is searched twice in `{}`",
                        model.path.to_token_stream()
                    ),
                ));
            }
            names.push(name);
            axes.push(values(p, &mut errors));
        }
        let count = axes
            .iter()
            .map(Vec::len)
            .try_fold(1usize, usize::checked_mul);
        total = total.saturating_add(count.unwrap_or(usize::MAX));
        if total > MAX_CANDIDATES {
            errors.push(syn::Error::new(
                model.path.span(),
                format!(
                    "the candidates number more than {MAX_CANDIDATES}, each a type the compiler instantiates: narrow the ranges or raise the steps"
                ),
            ));
            break;
        }
        // The cartesian product, the first parameter outermost.
        let mut combos: Vec<Vec<i128>> = vec![Vec::new()];
        for axis in &axes {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    axis.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push(*v);
                        c
                    })
                })
                .collect();
        }
        let path = &model.path;
        let model_name = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        for combo in combos.iter().filter(|c| !c.is_empty()) {
            let args = combo.iter().map(|v| argument(*v));
            let ty = quote!(#path<#(#args),*>);
            let hps = names.iter().zip(combo).map(|(n, v)| {
                let v = Literal::i128_unsuffixed(*v);
                quote!((#n, #v))
            });
            let span = path.span();
            entries.push(quote_spanned! {span=>
                {
                    const OPS: &::model::tune::Ops<#ty> = &::model::tune::Ops {
                        init: |seed| <#ty>::init(seed),
                        load: |path| <#ty>::load(path),
                        save: |m, path| m.save(path),
                        fit: |m, data, options| m.fit(data, options),
                        evaluate: |m, data, loss| m.evaluate(data, loss),
                        predict: |m, x| m.predict(x),
                    };
                    ::model::tune::Candidate {
                        model: #model_name,
                        hyperparameters: &[#(#hps),*],
                        params: <#ty>::PARAMS,
                        train: |job| job.run(OPS),
                        load: |path| OPS.load_boxed(path),
                    }
                }
            });
        }
    }
    if let Some(first) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        return Err(first);
    }
    let count = entries.len();
    let all = quote! {
        const ALL: [::model::tune::Candidate; #count] = [#(#entries),*];
    };
    Ok(match &input.max_params {
        None => quote! {{
            #all
            ::model::tune::Space::new(&ALL)
        }},
        Some((key, budget)) => {
            let span = key.span().join(budget.span()).unwrap_or(budget.span());
            let message = format!(
                "`max_params = {}` excludes every candidate: each has more parameters; raise the budget or search smaller models",
                budget.to_token_stream()
            );
            let max = quote_spanned!(budget.span()=> const MAX: usize = #budget;);
            let assertion = quote_spanned! {span=>
                const KEPT: usize = ::model::tune::__private::count_within(&ALL, MAX);
                const _: () = ::core::assert!(KEPT > 0, #message);
            };
            quote! {{
                #all
                #max
                #assertion
                const LIST: [::model::tune::Candidate; KEPT] = ::model::tune::__private::within::<KEPT>(&ALL, MAX);
                ::model::tune::Space::new(&LIST)
            }}
        }
    })
}

/// The expansion, or the errors and an empty space (so that the caller's code still type
/// checks and only the real mistakes are reported).
pub fn candidates(input: TokenStream) -> TokenStream {
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.to_compile_error();
            quote! {{
                #error
                ::model::tune::Space::new(&[])
            }}
        }
    }
}
