//! Parsing a graph model's body: `fn` blocks (whose parameters are names, with optional
//! defaults), then statements, as `syn` reads Rust statements and expressions.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::{braced, parenthesized, Expr, Ident, Stmt, Token};

/// A graph model's body.
pub struct GraphDef {
    /// The `fn` blocks, by name.
    pub functions: Vec<FnDef>,
    /// The statements, in order; the last may be the output expression.
    pub body: Vec<Stmt>,
}

/// `fn name(a, b = 1) { … }`.
pub struct FnDef {
    /// Its name.
    pub name: Ident,
    /// Its parameters, each with its default.
    pub params: Vec<(Ident, Option<Expr>)>,
    /// Its statements; the last may be its value.
    pub body: Vec<Stmt>,
}

/// Whether a model's body is the graph form: it has statements (`;`), `let` or `fn` at the
/// top level, where the sequential form has `input: [...]` and comma-separated layers.
pub fn is_graph(body: &TokenStream) -> bool {
    body.clone().into_iter().any(|t| match t {
        TokenTree::Punct(p) => p.as_char() == ';',
        TokenTree::Ident(i) => i == "let" || i == "fn",
        _ => false,
    })
}

/// Parses a graph body.
pub fn parse(body: TokenStream) -> syn::Result<GraphDef> {
    Parser::parse2(parse_body, body)
}

fn parse_body(input: ParseStream) -> syn::Result<GraphDef> {
    let mut functions = Vec::new();
    let mut body = Vec::new();
    while !input.is_empty() {
        if starts_fn(input) {
            // A block's doc comments document the source; they are not kept.
            input.call(syn::Attribute::parse_outer)?;
            functions.push(parse_fn(input)?);
            continue;
        }
        // Statements up to the next `fn` (or the end), as a block's statements.
        let stmts = statements_until_fn(input)?;
        body.extend(stmts);
    }
    Ok(GraphDef { functions, body })
}

/// Statements, stopping before a top-level `fn`.
fn statements_until_fn(input: ParseStream) -> syn::Result<Vec<Stmt>> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !starts_fn(input) {
        // A statement ends at `;` or with a braced block (`for`, `if`); take token trees
        // until then, so that a `fn` after a statement starts a new item.
        let tt: TokenTree = input.parse()?;
        let end = matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';');
        tokens.extend([tt]);
        if end {
            continue;
        }
    }
    Parser::parse2(syn::Block::parse_within, tokens)
}

/// Whether a `fn` block starts here, after its doc comments or attributes, if any.
fn starts_fn(input: ParseStream) -> bool {
    let fork = input.fork();
    fork.call(syn::Attribute::parse_outer).is_ok() && fork.peek(Token![fn])
}

fn parse_fn(input: ParseStream) -> syn::Result<FnDef> {
    input.parse::<Token![fn]>()?;
    let name: Ident = input.parse()?;
    let content;
    parenthesized!(content in input);
    let mut params = Vec::new();
    while !content.is_empty() {
        let p: Ident = content.parse()?;
        let default = if content.peek(Token![=]) {
            content.parse::<Token![=]>()?;
            Some(content.parse::<Expr>()?)
        } else {
            None
        };
        params.push((p, default));
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    let block;
    braced!(block in input);
    let body = block.call(syn::Block::parse_within)?;
    Ok(FnDef { name, params, body })
}
