//! Parsing: the DSL into an IR that keeps spans. Items are split at top-level commas and
//! parsed one by one, so a mistake in one layer does not hide the next.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{
    braced, Attribute, Generics, Ident, LitBool, LitFloat, LitInt, LitStr, Token, Visibility,
};

/// The whole `model! { … }` input.
pub struct ModelDef {
    /// The struct's attributes and doc comments, `#[model(…)]` taken out.
    pub attrs: Vec<Attribute>,
    /// Lints silenced with `#[model(allow(…))]`.
    pub allow: Vec<Ident>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub name: Ident,
    /// Its generic parameters (const parameters only, once checked) and where clause.
    pub generics: Generics,
    /// `input: [...]`, if it parsed.
    pub input: Option<InputDef>,
    /// The layers that parsed, in order.
    pub layers: Vec<LayerDef>,
    /// The body of a graph model (Keras's functional API), instead of `input` and `layers`.
    pub graph: Option<crate::graph::GraphDef>,
}

/// `input: [d0, d1, …]`.
pub struct InputDef {
    /// One entry per dimension, at least one.
    pub dims: Vec<DimDef>,
}

/// One input dimension: a literal or a const generic parameter.
pub enum DimDef {
    /// A positive integer.
    Lit(usize),
    /// A word: a const generic parameter, once checked.
    Param(Ident),
}

/// `name: Kind(args)` or `Kind`.
pub struct LayerDef {
    /// The name before `:`, if one is given.
    pub name: Option<Ident>,
    /// The kind as written (`Dense`, or an alias such as `MaxPool2D`).
    pub kind: Ident,
    /// The arguments in order: positional ones first.
    pub args: Vec<ArgDef>,
}

/// `keyword = value` or a positional `value`.
pub struct ArgDef {
    /// The keyword, or `None` for a positional argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: ValueDef,
}

/// A value as written.
pub enum ValueDef {
    /// An integer, negated if written with `-`.
    Int(i64, Span),
    /// A float, negated if written with `-`.
    Float(f64, Span),
    /// `true` or `false`.
    Bool(bool, Span),
    /// A string literal's value.
    Str(String, Span),
    /// A word: a Keras choice (`same`), `None`, a const generic parameter, or a layer kind.
    Ident(Ident),
    /// `(a, b, …)` or `(a,)`; `(a)` is just `a`.
    Tuple(Vec<ValueDef>, Span),
    /// A nested layer with arguments, `LSTM(16)` in `Bidirectional(LSTM(16))`.
    Layer(Box<LayerDef>),
}

impl ValueDef {
    /// Where the value is written, for errors.
    pub fn span(&self) -> Span {
        match self {
            ValueDef::Int(_, s)
            | ValueDef::Float(_, s)
            | ValueDef::Bool(_, s)
            | ValueDef::Str(_, s) => *s,
            ValueDef::Tuple(_, s) => *s,
            ValueDef::Ident(i) => i.span(),
            ValueDef::Layer(l) => l.kind.span(),
        }
    }
}

/// Parses the input, collecting every error it can.
pub fn parse(input: TokenStream, errors: &mut Vec<syn::Error>) -> Option<ModelDef> {
    let header = match Parser::parse2(parse_header, input) {
        Ok(h) => h,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let (mut def, body, brace_span) = header;
    if crate::graph::is_graph(&body) {
        match crate::graph::parse(body) {
            Ok(g) => def.graph = Some(g),
            Err(e) => errors.push(e),
        }
        return Some(def);
    }
    let items = split_commas(body);
    let mut items = items.into_iter();
    match items.next() {
        Some(first) if starts_with_input(&first) => match Parser::parse2(parse_input, first) {
            Ok(i) => def.input = Some(i),
            Err(e) => errors.push(e),
        },
        Some(first) => {
            let span = first.clone().into_iter().next().map_or(brace_span, |t| t.span());
            errors.push(syn::Error::new(
                span,
                "expected `input: [d0, d1, …]` as the model's first entry, giving the shape of one sample without the batch dimension, e.g. `input: [28, 28, 1]`",
            ));
            // The first item may still be a layer: parse it so its mistakes are reported too.
            match Parser::parse2(parse_layer_item, first) {
                Ok(l) => def.layers.push(l),
                Err(e) => errors.push(e),
            }
        }
        None => errors.push(syn::Error::new(
            brace_span,
            "the model is empty: write `input: [d0, d1, …]` followed by its layers, e.g. `input: [784], Dense(10)`",
        )),
    }
    for item in items {
        if starts_with_input(&item) {
            let span = item.into_iter().next().map_or(brace_span, |t| t.span());
            errors.push(syn::Error::new(
                span,
                "`input` is given more than once; a model has one input",
            ));
            continue;
        }
        match Parser::parse2(parse_layer_item, item) {
            Ok(l) => def.layers.push(l),
            Err(e) => errors.push(e),
        }
    }
    Some(def)
}

fn parse_header(input: ParseStream) -> syn::Result<(ModelDef, TokenStream, Span)> {
    let all_attrs = input.call(Attribute::parse_outer)?;
    let mut attrs = Vec::new();
    let mut allow = Vec::new();
    for attr in all_attrs {
        if attr.path().is_ident("model") {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("allow") {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let lints = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
                    allow.extend(lints);
                    Ok(())
                } else {
                    Err(meta
                        .error("unknown `model` attribute; expected `#[model(allow(lint, …))]`"))
                }
            })?;
        } else {
            attrs.push(attr);
        }
    }
    let vis: Visibility = input.parse()?;
    if !input.peek(Token![struct]) {
        return Err(input.error(
            "expected `struct Name { input: [...], layers... }` (optionally `pub struct`)",
        ));
    }
    input.parse::<Token![struct]>()?;
    let name: Ident = input.parse()?;
    let mut generics: Generics = input.parse()?;
    generics.where_clause = input.parse()?;
    if !input.peek(syn::token::Brace) {
        return Err(input.error("expected `{` with the model's `input: [...]` and layers"));
    }
    let content;
    let brace = braced!(content in input);
    let body: TokenStream = content.parse()?;
    if !input.is_empty() {
        return Err(
            input.error("unexpected tokens after the model's `{ … }`; one model per `model!`")
        );
    }
    let def = ModelDef {
        attrs,
        allow,
        vis,
        name,
        generics,
        input: None,
        layers: Vec::new(),
        graph: None,
    };
    Ok((def, body, brace.span.join()))
}

/// Splits a token stream at top-level commas (commas inside groups stay).
fn split_commas(body: TokenStream) -> Vec<TokenStream> {
    let mut items = Vec::new();
    let mut current = Vec::new();
    for tt in body {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                items.push(current.drain(..).collect());
            }
            _ => current.push(tt),
        }
    }
    if !current.is_empty() {
        items.push(current.into_iter().collect());
    }
    items
}

fn starts_with_input(item: &TokenStream) -> bool {
    let mut it = item.clone().into_iter();
    matches!(it.next(), Some(TokenTree::Ident(i)) if i == "input")
        && matches!(it.next(), Some(TokenTree::Punct(p)) if p.as_char() == ':')
}

fn parse_input(input: ParseStream) -> syn::Result<InputDef> {
    input.parse::<Ident>()?;
    input.parse::<Token![:]>()?;
    if !input.peek(syn::token::Bracket) {
        return Err(input.error("expected the input shape in brackets, e.g. `input: [28, 28, 1]`"));
    }
    let content;
    let bracket = syn::bracketed!(content in input);
    let mut dims = Vec::new();
    while !content.is_empty() {
        if content.peek(LitInt) {
            let lit: LitInt = content.parse()?;
            let d: usize = lit.base10_parse()?;
            if d == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "an input dimension must be at least 1",
                ));
            }
            dims.push(DimDef::Lit(d));
        } else if content.peek(Ident) {
            dims.push(DimDef::Param(content.parse()?));
        } else if content.peek(Token![-]) {
            return Err(content.error("an input dimension must be a positive integer"));
        } else {
            return Err(content.error("expected a positive integer or a const generic parameter"));
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if dims.is_empty() {
        return Err(syn::Error::new(
            bracket.span.join(),
            "the input shape is empty: give the shape of one sample, e.g. `input: [784]`",
        ));
    }
    if dims.len() > model_core::MAX_RANK {
        return Err(syn::Error::new(
            bracket.span.join(),
            format!(
                "an input may have at most {} dimensions",
                model_core::MAX_RANK
            ),
        ));
    }
    if !input.is_empty() {
        return Err(input.error("expected `,` after the input shape"));
    }
    Ok(InputDef { dims })
}

fn parse_layer_item(input: ParseStream) -> syn::Result<LayerDef> {
    let layer = parse_layer(input, true)?;
    if !input.is_empty() {
        return Err(input.error("expected `,` between layers"));
    }
    Ok(layer)
}

/// `name: Kind(args)` (names only at the top level) or `Kind(args)` or `Kind`.
fn parse_layer(input: ParseStream, allow_name: bool) -> syn::Result<LayerDef> {
    if !input.peek(Ident) {
        return Err(input.error("expected a layer such as `Dense(10)` or `name: Dense(10)`"));
    }
    let first: Ident = input.parse()?;
    let (name, kind) = if input.peek(Token![:]) && !input.peek(Token![::]) {
        if !allow_name {
            return Err(syn::Error::new(
                first.span(),
                "a wrapped layer cannot be named; name the wrapper",
            ));
        }
        input.parse::<Token![:]>()?;
        if !input.peek(Ident) {
            return Err(
                input.error("expected a layer kind after the name, e.g. `hidden: Dense(128)`")
            );
        }
        (Some(first), input.parse::<Ident>()?)
    } else {
        (None, first)
    };
    let mut args = Vec::new();
    if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let mut seen_keyword = false;
        while !content.is_empty() {
            let arg = parse_arg(&content)?;
            match &arg.name {
                Some(_) => seen_keyword = true,
                None if seen_keyword => {
                    return Err(syn::Error::new(
                        arg.value.span(),
                        "positional arguments must come before `keyword = value` arguments",
                    ))
                }
                None => {}
            }
            args.push(arg);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
    }
    Ok(LayerDef { name, kind, args })
}

fn parse_arg(input: ParseStream) -> syn::Result<ArgDef> {
    if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
        let name: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let value = parse_value(input)?;
        Ok(ArgDef {
            name: Some(name),
            value,
        })
    } else {
        Ok(ArgDef {
            name: None,
            value: parse_value(input)?,
        })
    }
}

fn parse_value(input: ParseStream) -> syn::Result<ValueDef> {
    if input.peek(Token![-]) {
        let minus: Token![-] = input.parse()?;
        return match parse_value(input)? {
            ValueDef::Int(i, s) => Ok(ValueDef::Int(-i, minus.span.join(s).unwrap_or(s))),
            ValueDef::Float(f, s) => Ok(ValueDef::Float(-f, minus.span.join(s).unwrap_or(s))),
            other => Err(syn::Error::new(
                other.span(),
                "only a number can be negated",
            )),
        };
    }
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        let v: i64 = lit.base10_parse()?;
        return Ok(ValueDef::Int(v, lit.span()));
    }
    if input.peek(LitFloat) {
        let lit: LitFloat = input.parse()?;
        return Ok(ValueDef::Float(lit.base10_parse()?, lit.span()));
    }
    if input.peek(LitBool) {
        let lit: LitBool = input.parse()?;
        return Ok(ValueDef::Bool(lit.value, lit.span));
    }
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Ok(ValueDef::Str(lit.value(), lit.span()));
    }
    if input.peek(syn::token::Paren) {
        let content;
        let paren = syn::parenthesized!(content in input);
        let items = Punctuated::<ValueDefP, Token![,]>::parse_terminated(&content)?;
        let trailing = items.trailing_punct();
        let mut items: Vec<ValueDef> = items.into_iter().map(|v| v.0).collect();
        // `(3)` is just 3; `(3,)` is a 1-tuple, as in Rust and Python.
        if items.len() == 1 && !trailing {
            if let Some(only) = items.pop() {
                return Ok(only);
            }
        }
        return Ok(ValueDef::Tuple(items, paren.span.join()));
    }
    if input.peek(Ident) {
        if input.peek2(syn::token::Paren) {
            return Ok(ValueDef::Layer(Box::new(parse_layer(input, false)?)));
        }
        return Ok(ValueDef::Ident(input.parse()?));
    }
    Err(input.error(
        "expected a value: a number, `true`/`false`, a word such as `same`, a tuple, or a layer",
    ))
}

struct ValueDefP(ValueDef);

impl Parse for ValueDefP {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        parse_value(input).map(ValueDefP)
    }
}
