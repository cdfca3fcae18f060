//! The interpreter: runs a graph model's body once, at expansion, and records the graph it
//! builds. Each layer is built with `model-core`'s builder when it is written, each call
//! evaluated with `model-core`'s graph evaluator when it is made, so every mistake is
//! reported at its tokens; a call that fails gives a tensor of unknown shape, and the calls
//! that read it are not evaluated (one mistake, one error).

use std::collections::{HashMap, HashSet};

use model_core::graph::eval_call;
use model_core::layer::{build, spec_of, Arg, Kind, Layer, KINDS};
use model_core::message::Message;
use model_core::{ArgType, Shape, Value, UNKNOWN};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Lit, Pat, Stmt, UnOp};

use super::parse::{FnDef, GraphDef};
use crate::check::{LayerIdents, Warning};

/// A call's argument as evaluated: its keyword (with its span), its value, the value's span.
type CallArg = (Option<(String, Span)>, V, Span);

/// One input of a graph model.
pub struct InputPlan {
    /// Keras's name for it (`input_layer`, or given).
    pub name: String,
    /// Its dimensions: a size, or an expression of const generic parameters.
    pub dims: Vec<Dim>,
    /// Its shape, the const-generic dimensions unknown.
    pub shape: Shape,
    /// `Input(…)`, for messages.
    pub span: Span,
}

/// One dimension of an input.
#[derive(Clone)]
pub enum Dim {
    /// A size.
    Known(usize),
    /// A `usize` expression of const generic parameters.
    Param(TokenStream),
}

/// An argument value as the interpreter computed it, for the generated code.
#[derive(Clone)]
pub enum Val {
    /// An integer.
    Int(i64),
    /// An `i64` expression of const generic parameters.
    Sym(TokenStream),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A word or string (`same`, `relu`).
    Str(String),
    /// A tuple or list.
    Tuple(Vec<Val>),
    /// Numbers a layer keeps (`Value::Numbers`).
    Numbers(Vec<f64>),
    /// Keras's `None`.
    None,
    /// A nested layer (`Bidirectional(LSTM(8))`).
    Layer(Box<Ctor>),
}

/// A layer as written: its kind and arguments (without `name`).
#[derive(Clone)]
pub struct Ctor {
    /// The kind.
    pub kind: Kind,
    /// The arguments, positional first, each with where its value is written.
    pub args: Vec<(Option<String>, Val, Span)>,
    /// Where each argument's keyword is written, for keyword arguments.
    pub keys: Vec<Option<Span>>,
    /// `Kind(…)`, for messages and generated code.
    pub span: Span,
}

/// One layer of the model.
pub struct LayerPlan {
    /// Its name: given with `name = …`, or Keras's automatic one.
    pub name: String,
    /// How it is written.
    pub ctor: Ctor,
    /// The layer, when its arguments built.
    pub layer: Option<Layer>,
    /// The weights field and per-layer constant, when the name is usable.
    pub idents: Option<LayerIdents>,
}

/// One call of a layer.
pub struct NodePlan {
    /// The layer's index in [`GraphPlan::layers`].
    pub layer: usize,
    /// The tensors it is called on.
    pub inputs: Vec<usize>,
    /// The call, for messages.
    pub span: Span,
}

/// What the tensors are: an input, or a call's output (with which call of its layer it
/// is, for the summary's `Connected to`).
#[derive(Clone)]
pub struct TensorPlan {
    /// The shape, when known (`None` after a call that failed).
    pub shape: Option<Shape>,
    /// The input's or the producing layer's name.
    pub producer: String,
    /// Which call of that layer made it (0 for inputs).
    pub call: usize,
}

/// The graph a model's body builds.
pub struct GraphPlan {
    /// The inputs, in the order written.
    pub inputs: Vec<InputPlan>,
    /// The layers, in the order of their first call.
    pub layers: Vec<LayerPlan>,
    /// The calls, in order: node `k` makes tensor `inputs.len() + k`.
    pub nodes: Vec<NodePlan>,
    /// Every tensor.
    pub tensors: Vec<TensorPlan>,
    /// The output tensors, with where each is written.
    pub outputs: Vec<(usize, Span)>,
    /// The lints that fired.
    pub warnings: Vec<Warning>,
    /// The nested models (`Sequential([…], name = "stem")`), each a run of layers.
    pub groups: Vec<GroupPlan>,
}

/// A nested `Sequential`: one row of the summary, its layers' weights named under it.
pub struct GroupPlan {
    /// Its name.
    pub name: String,
    /// Its layers, by index in [`GraphPlan::layers`]: consecutive, in order.
    pub layers: std::ops::Range<usize>,
}

impl GraphPlan {
    /// Whether every call was evaluated (no mistake stopped a tensor's shape).
    pub fn complete(&self) -> bool {
        self.tensors.iter().all(|t| t.shape.is_some()) && !self.outputs.is_empty()
    }
}

/// The most calls of the model's functions in progress at once.
const MAX_DEPTH: usize = 64;
/// The most statements the interpreter runs (a loop that does not end).
const MAX_STEPS: usize = 1_000_000;

/// A value of the interpreter.
#[derive(Clone)]
enum V {
    Int(i64),
    /// An `i64` expression of const generic parameters (unknown at expansion).
    Sym(TokenStream),
    Float(f64),
    Bool(bool),
    Str(String),
    /// A bare word that is not a variable: a Keras choice (`same`) as an argument.
    Word(String, Span),
    Tuple(Vec<V>),
    None,
    Tensor(usize),
    /// A layer as written (an index into the interpreter's layers).
    Layer(usize),
    /// A nested `Sequential([…])` (an index into the interpreter's models).
    Model(usize),
    /// After a mistake (already reported): whatever it takes part in is skipped.
    Poison,
}

impl V {
    fn describe(&self) -> &'static str {
        match self {
            V::Int(_) | V::Sym(_) => "an integer",
            V::Float(_) => "a number",
            V::Bool(_) => "a boolean",
            V::Str(_) | V::Word(..) => "a string",
            V::Tuple(_) => "a tuple",
            V::None => "`None`",
            V::Tensor(_) => "a tensor",
            V::Layer(_) => "a layer",
            V::Model(_) => "a nested model",
            V::Poison => "a value with a mistake",
        }
    }
}

/// A layer as the interpreter holds it: written, and (once called) in the model.
struct Written {
    name: String,
    ctor: Ctor,
    layer: Option<Layer>,
    /// Its index in the plan's layers, once called.
    registered: Option<usize>,
    /// Used as another layer's argument (`Bidirectional(LSTM(8))`): not a model layer.
    nested: bool,
    /// Where `name = …` is written, if it is.
    name_span: Option<Span>,
}

/// A nested `Sequential` as the interpreter holds it.
struct WrittenModel {
    name: String,
    /// Its layers, indices into the written layers.
    layers: Vec<usize>,
    /// Its index in the plan's groups, once called.
    registered: Option<usize>,
    name_span: Option<Span>,
}

/// What a statement did to the flow.
enum Flow {
    Next,
    Return(V),
}

struct Interp<'a> {
    functions: HashMap<String, &'a FnDef>,
    const_params: &'a HashSet<String>,
    errors: &'a mut Vec<syn::Error>,
    scopes: Vec<HashMap<String, V>>,
    written: Vec<Written>,
    /// Keras's automatic-name counters, by stem.
    counters: HashMap<&'static str, usize>,
    names: HashSet<String>,
    plan: GraphPlan,
    depth: usize,
    steps: usize,
    /// Values of a `Layer` argument that are not model layers (for their own names).
    nested_values: Vec<Value<'static>>,
    /// The nested models written.
    models: Vec<WrittenModel>,
    /// The nested model whose layers are being called, for messages.
    inside: Option<String>,
}

/// Runs the body of a graph model, returning its graph; every mistake is pushed.
pub fn check(
    def: &GraphDef,
    const_params: &HashSet<String>,
    errors: &mut Vec<syn::Error>,
    fallback_span: Span,
) -> GraphPlan {
    let mut functions = HashMap::new();
    for f in &def.functions {
        let name = f.name.to_string();
        if Kind::from_name(&name).is_some() || BUILTINS.contains(&name.as_str()) {
            errors.push(syn::Error::new(
                f.name.span(),
                format!(
                    "`{name}` is a layer kind or a built-in function; give the block another name"
                ),
            ));
        } else if functions.insert(name.clone(), f).is_some() {
            errors.push(syn::Error::new(
                f.name.span(),
                format!("the function `{name}` is defined twice; rename one"),
            ));
        }
    }
    let mut it = Interp {
        functions,
        const_params,
        errors,
        scopes: vec![HashMap::new()],
        written: Vec::new(),
        counters: HashMap::new(),
        names: HashSet::new(),
        plan: GraphPlan {
            inputs: Vec::new(),
            layers: Vec::new(),
            nodes: Vec::new(),
            tensors: Vec::new(),
            outputs: Vec::new(),
            warnings: Vec::new(),
            groups: Vec::new(),
        },
        depth: 0,
        steps: 0,
        nested_values: Vec::new(),
        models: Vec::new(),
        inside: None,
    };
    let out = it.block(&def.body, true);
    let out = match out {
        Ok(Flow::Return(v)) | Err(v) => v,
        Ok(Flow::Next) => V::Poison,
    };
    it.outputs(out, def, fallback_span);
    it.lints();
    let Interp { plan, .. } = it;
    plan
}

/// The built-in functions.
const BUILTINS: &[&str] = &[
    "Input",
    "Sequential",
    "range",
    "len",
    "min",
    "max",
    "int",
    "float",
    "str",
    "round",
    "abs",
];

impl Interp<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) -> V {
        self.errors.push(syn::Error::new(span, message.into()));
        V::Poison
    }

    fn lookup(&self, name: &str) -> Option<&V> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind(&mut self, name: String, v: V) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name, v);
        }
    }

    fn assign(&mut self, name: &str, v: V, span: Span) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(slot) = scope.get_mut(name) {
                *slot = v;
                return;
            }
        }
        self.error(
            span,
            format!("`{name}` is not defined; write `let {name} = …` first"),
        );
    }

    /// Runs statements in a new scope. With `tail`, the last expression without `;` is the
    /// value (as `Flow::Return`); `Err` carries a `return`'s value out of nested blocks.
    fn block(&mut self, stmts: &[Stmt], tail: bool) -> Result<Flow, V> {
        self.scopes.push(HashMap::new());
        let r = self.stmts(stmts, tail);
        self.scopes.pop();
        r
    }

    fn stmts(&mut self, stmts: &[Stmt], tail: bool) -> Result<Flow, V> {
        for (i, s) in stmts.iter().enumerate() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                self.error(
                    s.span(),
                    "the model's statements run too long (a loop that does not end?)",
                );
                return Err(V::Poison);
            }
            let last = i + 1 == stmts.len();
            match s {
                Stmt::Local(local) => {
                    let Some(init) = &local.init else {
                        self.error(local.span(), "`let` needs a value: `let x = …;`");
                        continue;
                    };
                    if let Some((_, diverge)) = &init.diverge {
                        self.error(
                            diverge.span(),
                            "`let … else` is not part of the model language",
                        );
                    }
                    let v = self.expr(&init.expr)?;
                    self.bind_pattern(&local.pat, v);
                }
                Stmt::Expr(e, semi) => {
                    if let Expr::Return(r) = e {
                        let v = match &r.expr {
                            Some(x) => self.expr(x)?,
                            None => V::Poison,
                        };
                        return Err(v);
                    }
                    let v = self.expr(e)?;
                    if tail && last && semi.is_none() {
                        return Ok(Flow::Return(v));
                    }
                }
                Stmt::Item(item) => {
                    self.error(
                        item.span(),
                        "write `fn` blocks at the top of the model, outside other statements",
                    );
                }
                Stmt::Macro(m) => {
                    self.error(m.span(), "macros are not part of the model language");
                }
            }
        }
        Ok(Flow::Next)
    }

    fn bind_pattern(&mut self, pat: &Pat, v: V) {
        match pat {
            Pat::Ident(p) => self.bind(p.ident.to_string(), v),
            Pat::Type(t) => self.bind_pattern(&t.pat, v),
            Pat::Wild(_) => {}
            Pat::Tuple(t) => {
                let items: Vec<V> = match v {
                    V::Tuple(items) if items.len() == t.elems.len() => items,
                    V::Poison => vec![V::Poison; t.elems.len()],
                    other => {
                        let what = other.describe();
                        self.error(
                            t.span(),
                            format!(
                                "this pattern takes a tuple of {} values, but the value is {what}",
                                t.elems.len()
                            ),
                        );
                        vec![V::Poison; t.elems.len()]
                    }
                };
                for (p, item) in t.elems.iter().zip(items) {
                    self.bind_pattern(p, item);
                }
            }
            other => {
                self.error(
                    other.span(),
                    "bind a name (`let x = …`) or a tuple of names (`let (a, b) = …`)",
                );
            }
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<V, V> {
        Ok(match e {
            Expr::Lit(l) => self.literal(&l.lit),
            Expr::Path(p) => {
                let Some(ident) = p.path.get_ident() else {
                    return Ok(self.error(p.span(), "a name or a layer kind was expected here"));
                };
                let name = ident.to_string();
                if let Some(v) = self.lookup(&name) {
                    v.clone()
                } else if self.const_params.contains(&name) {
                    V::Sym(quote!((#ident as i64)))
                } else if name == "None" {
                    V::None
                } else if name == "True" {
                    V::Bool(true)
                } else if name == "False" {
                    V::Bool(false)
                } else {
                    V::Word(name, ident.span())
                }
            }
            Expr::Paren(p) => self.expr(&p.expr)?,
            Expr::Group(g) => self.expr(&g.expr)?,
            Expr::Tuple(t) => {
                let mut items = Vec::new();
                for x in &t.elems {
                    items.push(self.expr(x)?);
                }
                V::Tuple(items)
            }
            Expr::Array(a) => {
                let mut items = Vec::new();
                for x in &a.elems {
                    items.push(self.expr(x)?);
                }
                V::Tuple(items)
            }
            Expr::Unary(u) => {
                let v = self.expr(&u.expr)?;
                match (&u.op, v) {
                    (UnOp::Neg(_), V::Int(i)) => V::Int(-i),
                    (UnOp::Neg(_), V::Float(f)) => V::Float(-f),
                    (UnOp::Neg(_), V::Sym(t)) => V::Sym(quote!((-#t))),
                    (UnOp::Not(_), V::Bool(b)) => V::Bool(!b),
                    (_, V::Poison) => V::Poison,
                    (op, v) => {
                        let what = v.describe();
                        self.error(op.span(), format!("this operator does not apply to {what}"))
                    }
                }
            }
            Expr::Binary(b) => {
                let lhs = self.expr(&b.left)?;
                // `&&` and `||` short-circuit, as in Rust and Python.
                match (&b.op, &lhs) {
                    (BinOp::And(_), V::Bool(false)) => return Ok(V::Bool(false)),
                    (BinOp::Or(_), V::Bool(true)) => return Ok(V::Bool(true)),
                    _ => {}
                }
                let rhs = self.expr(&b.right)?;
                self.binary(&b.op, lhs, rhs, b.span())
            }
            Expr::Range(r) => {
                let start = match &r.start {
                    Some(s) => self.expr(s)?,
                    None => V::Int(0),
                };
                let end = match &r.end {
                    Some(s) => self.expr(s)?,
                    None => return Ok(self.error(r.span(), "a range needs an end: `0..n`")),
                };
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                match (start, end) {
                    (V::Int(a), V::Int(b)) => {
                        let b = if inclusive { b + 1 } else { b };
                        if b - a > 100_000 {
                            return Ok(self.error(r.span(), "a range of more than 100,000 steps"));
                        }
                        V::Tuple((a..b).map(V::Int).collect())
                    }
                    (V::Poison, _) | (_, V::Poison) => V::Poison,
                    _ => self.error(
                        r.span(),
                        "a range's ends must be integers known at expansion (not const generic parameters)",
                    ),
                }
            }
            Expr::If(i) => {
                let c = self.expr(&i.cond)?;
                match c {
                    V::Bool(true) => self.value_of_block(&i.then_branch.stmts)?,
                    V::Bool(false) => match &i.else_branch {
                        Some((_, e)) => self.expr(e)?,
                        None => V::Poison,
                    },
                    V::Poison => V::Poison,
                    V::Sym(_) => self.error(
                        i.cond.span(),
                        "this condition depends on a const generic parameter, which is not known at expansion; a model's structure must not depend on one",
                    ),
                    other => {
                        let what = other.describe();
                        self.error(i.cond.span(), format!("a condition must be a boolean, but this is {what}"))
                    }
                }
            }
            Expr::Block(b) => self.value_of_block(&b.block.stmts)?,
            Expr::ForLoop(f) => {
                let items = self.expr(&f.expr)?;
                let items = match items {
                    V::Tuple(items) => items,
                    V::Poison => Vec::new(),
                    other => {
                        let what = other.describe();
                        self.error(f.expr.span(), format!("`for` runs over a range or a list, but this is {what}"));
                        Vec::new()
                    }
                };
                for item in items {
                    self.scopes.push(HashMap::new());
                    self.bind_pattern(&f.pat, item);
                    let r = self.stmts(&f.body.stmts, false);
                    self.scopes.pop();
                    r?;
                }
                V::Tuple(Vec::new())
            }
            Expr::Assign(a) => {
                let v = self.expr(&a.right)?;
                self.assign_to(&a.left, v);
                V::Tuple(Vec::new())
            }
            Expr::Field(f) => {
                let base = self.expr(&f.base)?;
                let member = match &f.member {
                    syn::Member::Named(n) => n.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                match (base, member.as_str()) {
                    (V::Tensor(t), "shape") => match self.plan.tensors[t].shape {
                        Some(s) if s.is_known() => {
                            V::Tuple(s.dims().iter().map(|&d| V::Int(d as i64)).collect())
                        }
                        Some(_) => self.error(
                            f.span(),
                            "this shape depends on a const generic parameter, which is not known at expansion",
                        ),
                        None => V::Poison,
                    },
                    (V::Tuple(items), m) if m.parse::<usize>().is_ok() => {
                        let i: usize = m.parse().unwrap_or(0);
                        match items.get(i) {
                            Some(v) => v.clone(),
                            None => self.error(f.span(), format!("the tuple has {} items", items.len())),
                        }
                    }
                    (V::Poison, _) => V::Poison,
                    (other, m) => {
                        let what = other.describe();
                        self.error(f.span(), format!("{what} has no `.{m}` (a tensor has `.shape`)"))
                    }
                }
            }
            Expr::Index(ix) => {
                let base = self.expr(&ix.expr)?;
                let index = self.expr(&ix.index)?;
                match (base, index) {
                    (V::Tuple(items), V::Int(i)) => {
                        let n = items.len() as i64;
                        let at = if i < 0 { i + n } else { i };
                        match usize::try_from(at).ok().and_then(|a| items.get(a)) {
                            Some(v) => v.clone(),
                            None => self.error(ix.span(), format!("index {i} is out of range for {n} items")),
                        }
                    }
                    (V::Poison, _) | (_, V::Poison) => V::Poison,
                    (b, i) => {
                        let (bw, iw) = (b.describe(), i.describe());
                        self.error(ix.span(), format!("cannot index {bw} with {iw}"))
                    }
                }
            }
            Expr::Call(c) => self.call(c)?,
            Expr::Return(r) => {
                let v = match &r.expr {
                    Some(x) => self.expr(x)?,
                    None => V::Poison,
                };
                return Err(v);
            }
            other => self.error(
                other.span(),
                "this is not part of the model language: write layers, calls, `let`, `for`, `if`, arithmetic and tuples",
            ),
        })
    }

    /// A block's value: its last expression without `;`.
    fn value_of_block(&mut self, stmts: &[Stmt]) -> Result<V, V> {
        match self.block(stmts, true)? {
            Flow::Return(v) => Ok(v),
            Flow::Next => Ok(V::Tuple(Vec::new())),
        }
    }

    fn assign_to(&mut self, target: &Expr, v: V) {
        match target {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let name = p
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                self.assign(&name, v, p.span());
            }
            Expr::Tuple(t) => {
                let items = match v {
                    V::Tuple(items) if items.len() == t.elems.len() => items,
                    _ => vec![V::Poison; t.elems.len()],
                };
                for (e, item) in t.elems.iter().zip(items) {
                    self.assign_to(e, item);
                }
            }
            other => {
                self.error(
                    other.span(),
                    "assign to a name (`x = …`) or a tuple of names",
                );
            }
        }
    }

    fn literal(&mut self, lit: &Lit) -> V {
        match lit {
            Lit::Int(i) => match i.base10_parse::<i64>() {
                Ok(v) => V::Int(v),
                Err(e) => self.error(i.span(), e.to_string()),
            },
            Lit::Float(f) => match f.base10_parse::<f64>() {
                Ok(v) => V::Float(v),
                Err(e) => self.error(f.span(), e.to_string()),
            },
            Lit::Bool(b) => V::Bool(b.value),
            Lit::Str(s) => self.interpolate(&s.value(), s.span()),
            other => self.error(other.span(), "a number, a string or a boolean was expected"),
        }
    }

    /// `"conv{stage}_block{i + 1}"`: each `{…}` evaluated and written in; `{{` and `}}` are
    /// braces.
    fn interpolate(&mut self, text: &str, span: Span) -> V {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        inner.push(c);
                    }
                    if !closed {
                        return self.error(span, "a `{` in this string is not closed");
                    }
                    let expr: Expr = match syn::parse_str(&inner) {
                        Ok(e) => e,
                        Err(_) => {
                            return self.error(
                                span,
                                format!("`{{{inner}}}` in this string is not an expression"),
                            )
                        }
                    };
                    let v = match self.expr(&respan(expr, span)) {
                        Ok(v) => v,
                        Err(v) => v,
                    };
                    match self.text(&v) {
                        Some(t) => out.push_str(&t),
                        None => {
                            let what = v.describe();
                            return self.error(
                                span,
                                format!(
                                    "`{{{inner}}}` is {what}, which cannot be written in a string"
                                ),
                            );
                        }
                    }
                }
                c => out.push(c),
            }
        }
        V::Str(out)
    }

    /// A scalar as text, for strings.
    fn text(&self, v: &V) -> Option<String> {
        match v {
            V::Int(i) => Some(i.to_string()),
            V::Float(f) => Some(format!("{f}")),
            V::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            V::Str(s) | V::Word(s, _) => Some(s.clone()),
            _ => None,
        }
    }

    fn binary(&mut self, op: &BinOp, lhs: V, rhs: V, span: Span) -> V {
        use BinOp::*;
        if matches!(lhs, V::Poison) || matches!(rhs, V::Poison) {
            return V::Poison;
        }
        match (op, lhs, rhs) {
            (Add(_), V::Str(a), b) => match self.text(&b) {
                Some(t) => V::Str(a + &t),
                None => self.error(span, "a string can be joined with a string or a number"),
            },
            (Add(_), a @ (V::Int(_) | V::Float(_)), V::Str(b)) => match self.text(&a) {
                Some(t) => V::Str(t + &b),
                None => V::Poison,
            },
            (op, V::Int(a), V::Int(b)) => match op {
                Add(_) => V::Int(a + b),
                Sub(_) => V::Int(a - b),
                Mul(_) => V::Int(a * b),
                Div(_) | Rem(_) if b == 0 => self.error(span, "division by zero"),
                Div(_) => V::Int(a / b),
                Rem(_) => V::Int(a % b),
                Eq(_) => V::Bool(a == b),
                Ne(_) => V::Bool(a != b),
                Lt(_) => V::Bool(a < b),
                Le(_) => V::Bool(a <= b),
                Gt(_) => V::Bool(a > b),
                Ge(_) => V::Bool(a >= b),
                _ => self.error(span, "this operator does not apply to integers"),
            },
            (op, a @ (V::Int(_) | V::Float(_)), b @ (V::Int(_) | V::Float(_))) => {
                let (a, b) = (as_float(&a), as_float(&b));
                match op {
                    Add(_) => V::Float(a + b),
                    Sub(_) => V::Float(a - b),
                    Mul(_) => V::Float(a * b),
                    Div(_) => V::Float(a / b),
                    Rem(_) => V::Float(a % b),
                    Eq(_) => V::Bool(a == b),
                    Ne(_) => V::Bool(a != b),
                    Lt(_) => V::Bool(a < b),
                    Le(_) => V::Bool(a <= b),
                    Gt(_) => V::Bool(a > b),
                    Ge(_) => V::Bool(a >= b),
                    _ => self.error(span, "this operator does not apply to numbers"),
                }
            }
            (op, a @ (V::Int(_) | V::Sym(_)), b @ (V::Int(_) | V::Sym(_))) => {
                let (a, b) = (sym(&a), sym(&b));
                match op {
                    Add(_) => V::Sym(quote!((#a + #b))),
                    Sub(_) => V::Sym(quote!((#a - #b))),
                    Mul(_) => V::Sym(quote!((#a * #b))),
                    Div(_) => V::Sym(quote!((#a / #b))),
                    Rem(_) => V::Sym(quote!((#a % #b))),
                    _ => self.error(
                        span,
                        "this compares a const generic parameter, which is not known at expansion; a model's structure must not depend on one",
                    ),
                }
            }
            (And(_), V::Bool(a), V::Bool(b)) => V::Bool(a && b),
            (Or(_), V::Bool(a), V::Bool(b)) => V::Bool(a || b),
            (Eq(_), V::Str(a), V::Str(b)) => V::Bool(a == b),
            (Ne(_), V::Str(a), V::Str(b)) => V::Bool(a != b),
            (Eq(_), V::Bool(a), V::Bool(b)) => V::Bool(a == b),
            (Ne(_), V::Bool(a), V::Bool(b)) => V::Bool(a != b),
            (Eq(_), V::Tuple(a), V::Tuple(b)) => V::Bool(tuple_eq(&a, &b)),
            (Ne(_), V::Tuple(a), V::Tuple(b)) => V::Bool(!tuple_eq(&a, &b)),
            (Add(_), V::Tuple(mut a), V::Tuple(b)) => {
                a.extend(b);
                V::Tuple(a)
            }
            (op @ (Add(_) | Sub(_) | Mul(_) | Div(_)), V::Tensor(t), c @ (V::Int(_) | V::Float(_))) => {
                self.arithmetic(op, t, as_float(&c), false, span)
            }
            (op @ (Add(_) | Sub(_) | Mul(_) | Div(_)), c @ (V::Int(_) | V::Float(_)), V::Tensor(t)) => {
                self.arithmetic(op, t, as_float(&c), true, span)
            }
            (Add(_) | Sub(_) | Mul(_) | Div(_), V::Tensor(_), V::Tensor(_)) => self.error(
                span,
                "arithmetic joins a tensor and a number; two tensors are joined by a merge layer: `Add()([a, b])`, `Subtract()([a, b])`, `Multiply()([a, b])`",
            ),
            (_, V::Tensor(_), _) | (_, _, V::Tensor(_)) => self.error(
                span,
                "a tensor takes `+`, `-`, `*` and `/` with a number known at expansion (`x + 3.0`); for anything else use a layer (`Add`, `Multiply`, `Rescaling`, `Activation`, …)",
            ),
            (_, a, b) => {
                let (aw, bw) = (a.describe(), b.describe());
                self.error(span, format!("this operator does not apply to {aw} and {bw}"))
            }
        }
    }

    /// `x + 3.0`, `3.0 - x`, …: Keras's operation of a tensor and a constant, a layer of
    /// its own (named as Keras names it, `add`, `true_divide`), called on `t` now.
    fn arithmetic(&mut self, op: &BinOp, t: usize, constant: f64, first: bool, span: Span) -> V {
        let kind = match op {
            BinOp::Add(_) => Kind::ArithAdd,
            BinOp::Sub(_) => Kind::ArithSubtract,
            BinOp::Mul(_) => Kind::ArithMultiply,
            _ => Kind::ArithTrueDivide,
        };
        let ctor = Ctor {
            kind,
            args: vec![
                (Some("constant".into()), Val::Float(constant), span),
                (Some("constant_first".into()), Val::Bool(first), span),
            ],
            keys: vec![None, None],
            span,
        };
        let layer = self.build(&ctor);
        let name = self.auto_name(kind);
        let id = self.write(name, ctor, layer, None);
        self.node(id, vec![t], false, span)
    }

    /// A layer as written, not yet in the model (it joins at its first call).
    fn write(
        &mut self,
        name: String,
        ctor: Ctor,
        layer: Option<Layer>,
        name_span: Option<Span>,
    ) -> usize {
        self.written.push(Written {
            name,
            ctor,
            layer,
            registered: None,
            nested: false,
            name_span,
        });
        self.written.len() - 1
    }

    fn call(&mut self, c: &syn::ExprCall) -> Result<V, V> {
        // `Kind(args)`, a function, a built-in, or a layer value called on tensors.
        if let Expr::Path(p) = &*c.func {
            if let Some(ident) = p.path.get_ident() {
                let name = ident.to_string();
                if self.lookup(&name).is_none() {
                    if let Some(kind) = Kind::from_name(&name) {
                        return self.construct(kind, ident.span(), c);
                    }
                    if let Some(f) = self.functions.get(&name).copied() {
                        return self.call_fn(f, c);
                    }
                    if BUILTINS.contains(&name.as_str()) {
                        return self.builtin(&name, c);
                    }
                    let names = KINDS
                        .iter()
                        .flat_map(|k| {
                            std::iter::once(k.class_name).chain(k.aliases.iter().copied())
                        })
                        .chain(self.functions.keys().map(String::as_str))
                        .chain(BUILTINS.iter().copied());
                    let hint = match model_core::suggest::suggest(&name, names) {
                        Some(s) => format!("; did you mean `{s}`?"),
                        None => String::new(),
                    };
                    return Ok(self.error(
                        ident.span(),
                        format!("`{name}` is not a layer kind, a function of this model or a variable{hint}"),
                    ));
                }
            }
        }
        let callee = self.expr(&c.func)?;
        match callee {
            V::Layer(id) => self.call_layer(id, c),
            V::Model(m) => self.call_model(m, c),
            V::Poison => Ok(V::Poison),
            other => {
                let what = other.describe();
                Ok(self.error(
                    c.func.span(),
                    format!(
                        "{what} cannot be called; a layer is called on a tensor: `Dense(8)(x)`"
                    ),
                ))
            }
        }
    }

    /// Positional and keyword (`k = v`) arguments, evaluated.
    fn arguments(&mut self, c: &syn::ExprCall) -> Result<Vec<CallArg>, V> {
        let mut out = Vec::new();
        for a in &c.args {
            match a {
                Expr::Assign(kv) => {
                    let Expr::Path(p) = &*kv.left else {
                        out.push((
                            None,
                            self.error(kv.left.span(), "a keyword argument is `name = value`"),
                            a.span(),
                        ));
                        continue;
                    };
                    let key = p
                        .path
                        .get_ident()
                        .map(|i| i.to_string())
                        .unwrap_or_default();
                    let v = self.expr(&kv.right)?;
                    out.push((Some((key, p.span())), v, kv.right.span()));
                }
                other => {
                    let v = self.expr(other)?;
                    out.push((None, v, other.span()));
                }
            }
        }
        Ok(out)
    }

    /// `Kind(args)`: a layer as written, named now as Keras names it when it is made.
    fn construct(&mut self, kind: Kind, span: Span, c: &syn::ExprCall) -> Result<V, V> {
        let args = self.arguments(c)?;
        let mut name = None;
        let mut ctor_args = Vec::new();
        let mut keys = Vec::new();
        let mut poisoned = false;
        for (key, v, vspan) in args {
            if let Some((k, kspan)) = &key {
                if k == "name" {
                    match v {
                        V::Str(s) => name = Some((s, *kspan)),
                        V::Poison => poisoned = true,
                        other => {
                            let what = other.describe();
                            self.error(
                                vspan,
                                format!("`name` must be a string, but this is {what}"),
                            );
                        }
                    }
                    continue;
                }
            }
            match self.lower(v, vspan) {
                Some(val) => {
                    keys.push(key.as_ref().map(|(_, s)| *s));
                    ctor_args.push((key.map(|(k, _)| k), val, vspan));
                }
                None => poisoned = true,
            }
        }
        // Arguments a layer keeps as numbers (`Rescaling`'s per-channel scale).
        let ctor_args = numbers_where_kept(kind, ctor_args);
        let ctor = Ctor {
            kind,
            args: ctor_args,
            keys,
            span,
        };
        let layer = if poisoned { None } else { self.build(&ctor) };
        let (name, name_span) = match name {
            Some((n, s)) => (n, Some(s)),
            None => (self.auto_name(kind), None),
        };
        Ok(V::Layer(self.write(name, ctor, layer, name_span)))
    }

    /// Keras's automatic name: the class's snake-case stem, counted per stem in the order
    /// layers are made.
    fn auto_name(&mut self, kind: Kind) -> String {
        let stem = kind.info().auto_name;
        let c = self.counters.entry(stem).or_insert(0);
        let name = if *c == 0 {
            stem.to_string()
        } else {
            format!("{stem}_{c}")
        };
        *c += 1;
        name
    }

    /// An interpreter value as a layer argument; `None` (after reporting) when it cannot be.
    fn lower(&mut self, v: V, span: Span) -> Option<Val> {
        Some(match v {
            V::Int(i) => Val::Int(i),
            V::Sym(t) => Val::Sym(t),
            V::Float(f) => Val::Float(f),
            V::Bool(b) => Val::Bool(b),
            V::Str(s) => Val::Str(s),
            V::Word(w, _) => Val::Str(w),
            V::None => Val::None,
            V::Tuple(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.push(self.lower(item, span)?);
                }
                Val::Tuple(out)
            }
            V::Layer(id) => {
                self.written[id].nested = true;
                Val::Layer(Box::new(self.written[id].ctor.clone()))
            }
            V::Tensor(_) => {
                self.error(
                    span,
                    "a tensor is not a layer argument; call the layer on it: `Dense(8)(x)`",
                );
                return None;
            }
            V::Model(_) => {
                self.error(
                    span,
                    "a nested model is not a layer argument; call it on a tensor: `stem(x)`",
                );
                return None;
            }
            V::Poison => return None,
        })
    }

    /// The layer built with `model-core`'s builder; its first mistake reported at the
    /// argument at fault.
    fn build(&mut self, ctor: &Ctor) -> Option<Layer> {
        let mut args = Vec::with_capacity(ctor.args.len());
        for (name, v, _) in &ctor.args {
            let name: Option<&'static str> = name
                .as_ref()
                .map(|n| &*Box::leak(n.clone().into_boxed_str()));
            args.push(Arg {
                name,
                value: self.value_of(v)?,
            });
        }
        match build(ctor.kind, &args) {
            Ok(l) => Some(l),
            Err(e) => {
                // A keyword that is wrong is reported at the keyword, a value at the value.
                let key = matches!(
                    e,
                    model_core::layer::ArgError::Unknown { .. }
                        | model_core::layer::ArgError::Duplicate { .. }
                );
                let span = e
                    .arg()
                    .map_or(ctor.span, |i| match (key, ctor.keys.get(i)) {
                        (true, Some(Some(k))) => *k,
                        _ => ctor.args.get(i).map_or(ctor.span, |a| a.2),
                    });
                self.errors
                    .push(syn::Error::new(span, e.describe(ctor.kind, &args)));
                None
            }
        }
    }

    /// A `Val` as `model-core`'s `Value`, leaked to be `'static` (the layers built here live
    /// as long as the expansion; a few bytes per argument).
    fn value_of(&mut self, v: &Val) -> Option<Value<'static>> {
        Some(match v {
            Val::Int(i) => Value::Int(*i),
            Val::Sym(_) => Value::Unknown,
            Val::Float(f) => Value::Float(*f),
            Val::Bool(b) => Value::Bool(*b),
            Val::Str(s) => Value::Str(Box::leak(s.clone().into_boxed_str())),
            Val::None => Value::None,
            Val::Numbers(n) => Value::Numbers(Box::leak(n.clone().into_boxed_slice())),
            Val::Tuple(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.value_of(i)?);
                }
                Value::Tuple(Box::leak(out.into_boxed_slice()))
            }
            Val::Layer(ctor) => {
                let l = self.build(ctor)?;
                let v = Value::Layer(Box::leak(Box::new(l)));
                self.nested_values.push(v);
                v
            }
        })
    }

    fn call_fn(&mut self, f: &FnDef, c: &syn::ExprCall) -> Result<V, V> {
        if self.depth >= MAX_DEPTH {
            return Ok(self.error(c.span(), "functions call each other more than 64 deep"));
        }
        let args = self.arguments(c)?;
        let mut bound: Vec<Option<V>> = vec![None; f.params.len()];
        let mut positional = 0;
        for (key, v, span) in args {
            match key {
                Some((k, kspan)) => match f.params.iter().position(|(p, _)| *p == k) {
                    Some(i) if bound[i].is_none() => bound[i] = Some(v),
                    Some(_) => {
                        self.error(kspan, format!("`{k}` is given twice"));
                    }
                    None => {
                        let hint = model_core::suggest::suggest(
                            &k,
                            f.params
                                .iter()
                                .map(|(p, _)| p.to_string())
                                .collect::<Vec<_>>()
                                .iter()
                                .map(String::as_str),
                        )
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                        self.error(kspan, format!("`{}` has no parameter `{k}`{hint}", f.name));
                    }
                },
                None => {
                    if positional < bound.len() {
                        bound[positional] = Some(v);
                        positional += 1;
                    } else {
                        self.error(
                            span,
                            format!("`{}` takes {} arguments", f.name, f.params.len()),
                        );
                    }
                }
            }
        }
        // The function sees its parameters (and defaults, which may read earlier ones).
        let saved = std::mem::replace(&mut self.scopes, vec![HashMap::new()]);
        self.depth += 1;
        let mut ok = true;
        for ((p, default), v) in f.params.iter().zip(bound) {
            let v = match (v, default) {
                (Some(v), _) => v,
                (None, Some(d)) => match self.expr(d) {
                    Ok(v) | Err(v) => v,
                },
                (None, None) => {
                    ok = false;
                    self.error(c.span(), format!("`{}` needs `{p}`", f.name))
                }
            };
            self.bind(p.to_string(), v);
        }
        let result = if ok {
            match self.block(&f.body, true) {
                Ok(Flow::Return(v)) | Err(v) => v,
                Ok(Flow::Next) => V::Tuple(Vec::new()),
            }
        } else {
            V::Poison
        };
        self.depth -= 1;
        self.scopes = saved;
        Ok(result)
    }

    fn builtin(&mut self, name: &str, c: &syn::ExprCall) -> Result<V, V> {
        let args = self.arguments(c)?;
        let span = c.span();
        if name == "Input" {
            return Ok(self.input(args, span));
        }
        if name == "Sequential" {
            return Ok(self.sequential(args, span));
        }
        if args.iter().any(|(k, _, _)| k.is_some()) {
            return Ok(self.error(span, format!("`{name}` takes no keyword arguments")));
        }
        let vals: Vec<V> = args.into_iter().map(|(_, v, _)| v).collect();
        if vals.iter().any(|v| matches!(v, V::Poison)) {
            return Ok(V::Poison);
        }
        Ok(match (name, vals.as_slice()) {
            ("range", [V::Int(n)]) => V::Tuple((0..*n).map(V::Int).collect()),
            ("range", [V::Int(a), V::Int(b)]) => V::Tuple((*a..*b).map(V::Int).collect()),
            ("range", [V::Int(a), V::Int(b), V::Int(s)]) if *s != 0 => {
                let mut out = Vec::new();
                let mut i = *a;
                while (*s > 0 && i < *b) || (*s < 0 && i > *b) {
                    out.push(V::Int(i));
                    i += s;
                }
                V::Tuple(out)
            }
            ("len", [V::Tuple(t)]) => V::Int(t.len() as i64),
            ("len", [V::Str(s)]) => V::Int(s.chars().count() as i64),
            ("min" | "max", [V::Tuple(t)]) if !t.is_empty() => self.extreme(name, t.clone(), span),
            ("min" | "max", list) if list.len() >= 2 => self.extreme(name, list.to_vec(), span),
            ("int", [V::Int(i)]) => V::Int(*i),
            ("int", [V::Float(f)]) => V::Int(f.trunc() as i64),
            ("float", [v @ (V::Int(_) | V::Float(_))]) => V::Float(as_float(v)),
            ("round", [V::Float(f)]) => V::Int(round_half_even(*f)),
            ("round", [V::Int(i)]) => V::Int(*i),
            ("abs", [V::Int(i)]) => V::Int(i.abs()),
            ("abs", [V::Float(f)]) => V::Float(f.abs()),
            ("str", [v]) => match self.text(v) {
                Some(t) => V::Str(t),
                None => self.error(span, "`str` takes a number, a boolean or a string"),
            },
            _ => self.error(span, format!("`{name}` does not take these arguments")),
        })
    }

    fn extreme(&mut self, name: &str, items: Vec<V>, span: Span) -> V {
        let mut best: Option<V> = None;
        for v in items {
            if !matches!(v, V::Int(_) | V::Float(_)) {
                return self.error(span, format!("`{name}` takes numbers"));
            }
            best = Some(match best {
                None => v,
                Some(b) => {
                    let better = if name == "min" {
                        as_float(&v) < as_float(&b)
                    } else {
                        as_float(&v) > as_float(&b)
                    };
                    if better {
                        v
                    } else {
                        b
                    }
                }
            });
        }
        best.unwrap_or(V::Poison)
    }

    /// `Input(shape)` or `Input(shape = …, name = "…")`.
    fn input(&mut self, args: Vec<CallArg>, span: Span) -> V {
        let mut shape = None;
        let mut name = None;
        for (key, v, vspan) in args {
            match key.as_ref().map(|(k, _)| k.as_str()) {
                None | Some("shape") if shape.is_none() => shape = Some((v, vspan)),
                Some("name") => match v {
                    V::Str(s) => name = Some(s),
                    other => {
                        let what = other.describe();
                        self.error(
                            vspan,
                            format!("`name` must be a string, but this is {what}"),
                        );
                    }
                },
                Some("dtype") | Some("batch_size") => {}
                _ => {
                    self.error(vspan, "`Input` takes `shape` and `name`");
                }
            }
        }
        let Some((shape, sspan)) = shape else {
            return self.error(
                span,
                "`Input` needs the shape of one sample, without the batch: `Input([28, 28, 1])`",
            );
        };
        let items = match shape {
            V::Tuple(items) if !items.is_empty() => items,
            V::Int(_) | V::Sym(_) => vec![shape],
            V::Poison => return V::Poison,
            other => {
                let what = other.describe();
                return self.error(
                    sspan,
                    format!(
                        "the shape is a list of sizes such as `[28, 28, 1]`, but this is {what}"
                    ),
                );
            }
        };
        let mut dims = Vec::new();
        let mut known = Vec::new();
        for item in items {
            match item {
                V::Int(d) if d >= 1 => {
                    dims.push(Dim::Known(d as usize));
                    known.push(d as usize);
                }
                V::Sym(t) => {
                    dims.push(Dim::Param(quote!((#t as usize))));
                    known.push(UNKNOWN);
                }
                V::None => {
                    return self.error(sspan, "every dimension of an input must be given (a size, or a const generic parameter)");
                }
                V::Poison => return V::Poison,
                _ => return self.error(sspan, "an input's dimensions are positive integers"),
            }
        }
        let Some(shape) = Shape::try_new(&known) else {
            return self.error(sspan, "an input of more dimensions than a shape holds");
        };
        let name = match name {
            Some(n) => n,
            None => {
                let c = self.plan.inputs.len();
                if c == 0 {
                    "input_layer".to_string()
                } else {
                    format!("input_layer_{c}")
                }
            }
        };
        if !self.plan.nodes.is_empty() {
            return self.error(span, "declare every `Input` before the first layer call");
        }
        self.plan.inputs.push(InputPlan {
            name: name.clone(),
            dims,
            shape,
            span,
        });
        self.plan.tensors.push(TensorPlan {
            shape: Some(shape),
            producer: name,
            call: 0,
        });
        V::Tensor(self.plan.tensors.len() - 1)
    }

    /// A layer called on a tensor, or on a list of tensors (a merge): a node of the graph,
    /// evaluated now.
    fn call_layer(&mut self, id: usize, c: &syn::ExprCall) -> Result<V, V> {
        let span = c.func.span();
        if let Some(m) = self.models.iter().find(|m| m.layers.contains(&id)) {
            let name = m.name.clone();
            return Ok(self.error(
                span,
                format!(
                    "this layer is inside the nested model `{name}`; call the model: `{name}(x)`"
                ),
            ));
        }
        Ok(match self.call_tensors(c)? {
            Some((tensors, poisoned)) => self.node(id, tensors, poisoned, span),
            None => V::Poison,
        })
    }

    /// The tensors a layer or a model is called on (`layer(x)`, `layer([a, b])`), and
    /// whether a mistake already poisoned one; `None` after a mistake that stops the call.
    #[allow(clippy::type_complexity)]
    fn call_tensors(&mut self, c: &syn::ExprCall) -> Result<Option<(Vec<usize>, bool)>, V> {
        let args = self.arguments(c)?;
        let mut tensors = Vec::new();
        let mut poisoned = false;
        match args.as_slice() {
            [(None, v, vspan)] => {
                match v {
                    V::Tensor(t) => tensors.push(*t),
                    V::Word(w, wspan) => {
                        let message = self.not_defined(w);
                        self.error(*wspan, message);
                        return Ok(None);
                    }
                    V::Tuple(items) => {
                        for item in items {
                            match item {
                                V::Tensor(t) => tensors.push(*t),
                                V::Poison => poisoned = true,
                                V::Word(w, wspan) => {
                                    let message = self.not_defined(w);
                                    self.error(*wspan, message);
                                    poisoned = true;
                                }
                                other => {
                                    let what = other.describe();
                                    self.error(*vspan, format!("a layer is called on tensors, but this list holds {what}"));
                                    poisoned = true;
                                }
                            }
                        }
                    }
                    V::Poison => poisoned = true,
                    other => {
                        let what = other.describe();
                        self.error(*vspan, format!("a layer is called on a tensor or a list of tensors, but this is {what}"));
                        return Ok(None);
                    }
                }
            }
            _ => {
                self.error(
                    c.span(),
                    "a layer is called on one tensor, `layer(x)`, or one list of them, `Add()([a, b])`",
                );
                return Ok(None);
            }
        }
        Ok(Some((tensors, poisoned)))
    }

    /// `Sequential([layers…], name = "…")`: a nested model, Keras's `keras.Sequential` used
    /// as a layer (ConvNeXt's stem). Its layers are this model's layers, called one after
    /// the other on each call; the summary shows it as one row with their parameters.
    fn sequential(&mut self, args: Vec<CallArg>, span: Span) -> V {
        let mut layers = None;
        let mut name = None;
        for (key, v, vspan) in args {
            match (key.as_ref().map(|(k, _)| k.as_str()), v) {
                (_, V::Poison) => return V::Poison,
                (None | Some("layers"), V::Tuple(items)) if layers.is_none() => {
                    let mut ids = Vec::new();
                    for item in items {
                        match item {
                            V::Layer(id) if !self.written[id].nested => ids.push(id),
                            V::Poison => return V::Poison,
                            other => {
                                let what = other.describe();
                                return self.error(
                                    vspan,
                                    format!("`Sequential` takes a list of layers, `Sequential([Conv2D(8, 3), ReLU()])`, but this list holds {what}"),
                                );
                            }
                        }
                    }
                    layers = Some(ids);
                }
                (Some("name"), V::Str(s)) => name = Some((s, key.map(|k| k.1))),
                (Some("name"), other) => {
                    let what = other.describe();
                    self.error(vspan, format!("`name` must be a string, but this is {what}"));
                }
                _ => {
                    return self.error(
                        vspan,
                        "`Sequential` takes a list of layers and `name`: `Sequential([Conv2D(8, 3), ReLU()], name = \"stem\")`",
                    )
                }
            }
        }
        let Some(layers) = layers.filter(|l| !l.is_empty()) else {
            return self.error(span, "`Sequential` needs a list of at least one layer: `Sequential([Conv2D(8, 3), ReLU()])`");
        };
        let (name, name_span) = match name {
            Some((n, s)) => (n, s),
            None => {
                let c = self.counters.entry("sequential").or_insert(0);
                let n = if *c == 0 {
                    "sequential".to_string()
                } else {
                    format!("sequential_{c}")
                };
                *c += 1;
                (n, None)
            }
        };
        self.models.push(WrittenModel {
            name,
            layers,
            registered: None,
            name_span,
        });
        V::Model(self.models.len() - 1)
    }

    /// A nested model called on a tensor: each of its layers on the last one's output.
    fn call_model(&mut self, m: usize, c: &syn::ExprCall) -> Result<V, V> {
        let span = c.func.span();
        let Some((tensors, poisoned)) = self.call_tensors(c)? else {
            return Ok(V::Poison);
        };
        if tensors.len() != 1 || poisoned {
            if !poisoned {
                self.error(
                    span,
                    "a nested `Sequential` is called on one tensor: `stem(x)`",
                );
            }
            return Ok(V::Poison);
        }
        let first_call = self.models[m].registered.is_none();
        let name = self.models[m].name.clone();
        if first_call {
            if !self.names.insert(name.clone()) {
                let s = self.models[m].name_span.unwrap_or(span);
                self.error(
                    s,
                    format!(
                        "duplicate layer name `{name}`: every layer needs its own name; rename one"
                    ),
                );
            }
            let ids = self.models[m].layers.clone();
            if let Some(&id) = ids
                .iter()
                .find(|&&id| self.written[id].registered.is_some())
            {
                let n = self.written[id].name.clone();
                return Ok(self.error(
                    span,
                    format!("the layer `{n}` of `{name}` is already called outside it; a nested model's layers are its own"),
                ));
            }
        }
        let start = self.plan.layers.len();
        let saved = self.inside.replace(name.clone());
        let mut x = V::Tensor(tensors[0]);
        for id in self.models[m].layers.clone() {
            let V::Tensor(t) = x else { break };
            x = match self.node(id, vec![t], false, span) {
                // A call whose shape failed (already reported) ends the nested model.
                V::Tensor(t) if self.plan.tensors[t].shape.is_none() => V::Poison,
                other => other,
            };
        }
        self.inside = saved;
        // The output is the nested model's, for messages and the outputs' names.
        if let V::Tensor(t) = x {
            self.plan.tensors[t].producer = name.clone();
        }
        if first_call {
            self.models[m].registered = Some(self.plan.groups.len());
            self.plan.groups.push(GroupPlan {
                name,
                layers: start..self.plan.layers.len(),
            });
        }
        Ok(x)
    }

    /// Written layer `id` called on `tensors`: a node of the graph, evaluated now.
    fn node(&mut self, id: usize, tensors: Vec<usize>, poisoned: bool, span: Span) -> V {
        if self.written[id].nested {
            return self.error(
                span,
                "this layer is another layer's argument; it cannot be called as well",
            );
        }
        if self.plan.inputs.is_empty() {
            return self.error(
                span,
                "the model has no `Input` before this call: `let x = Input([28, 28, 1]);`",
            );
        }
        // The layer joins the model at its first call.
        let layer_index = match self.written[id].registered {
            Some(i) => i,
            None => {
                let w = &self.written[id];
                if !self.names.insert(w.name.clone()) {
                    let s = w.name_span.unwrap_or(span);
                    let n = w.name.clone();
                    self.error(s, format!("duplicate layer name `{n}`: every layer needs its own name; rename one"));
                }
                let w = &self.written[id];
                self.plan.layers.push(LayerPlan {
                    name: w.name.clone(),
                    ctor: w.ctor.clone(),
                    layer: w.layer,
                    idents: None,
                });
                let i = self.plan.layers.len() - 1;
                self.written[id].registered = Some(i);
                i
            }
        };
        let call = self
            .plan
            .nodes
            .iter()
            .filter(|n| n.layer == layer_index)
            .count();
        self.plan.nodes.push(NodePlan {
            layer: layer_index,
            inputs: tensors.clone(),
            span,
        });
        let name = self.plan.layers[layer_index].name.clone();
        let shapes: Option<Vec<Shape>> = tensors
            .iter()
            .map(|&t| self.plan.tensors[t].shape)
            .collect();
        let shape = match (self.plan.layers[layer_index].layer, shapes, poisoned) {
            (Some(layer), Some(shapes), false) => {
                let first = self
                    .plan
                    .nodes
                    .iter()
                    .position(|n| n.layer == layer_index)
                    .filter(|&k| k + 1 < self.plan.nodes.len())
                    .and_then(|k| self.plan.nodes[k].inputs.first().copied())
                    .and_then(|t| self.plan.tensors[t].shape);
                match eval_call(
                    &layer,
                    layer_index,
                    self.plan.nodes.len() - 1,
                    &shapes,
                    first,
                ) {
                    Ok(e) => Some(e.output),
                    Err(err) => {
                        let producers: Vec<String> = tensors
                            .iter()
                            .map(|&t| {
                                let p = &self.plan.tensors[t];
                                p.producer.clone()
                            })
                            .collect();
                        let refs: Vec<&str> = producers.iter().map(String::as_str).collect();
                        let mut m = Message::new();
                        err.write(&mut m, &name, &refs);
                        let called_on = producers
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let inside = match &self.inside {
                            Some(model) => format!(", in the nested model `{model}`"),
                            None => String::new(),
                        };
                        self.error(
                            span,
                            format!(
                                "{}\n(layer `{name}`, called on {called_on}{inside})",
                                m.as_str()
                            ),
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        self.plan.tensors.push(TensorPlan {
            shape,
            producer: name,
            call,
        });
        V::Tensor(self.plan.tensors.len() - 1)
    }

    /// "`x` is not defined", with the closest name in scope.
    fn not_defined(&self, name: &str) -> String {
        let known: Vec<&str> = self
            .scopes
            .iter()
            .flat_map(|s| s.keys().map(String::as_str))
            .collect();
        match model_core::suggest::suggest(name, known.iter().copied()) {
            Some(s) => format!("`{name}` is not defined; did you mean `{s}`?"),
            None => format!("`{name}` is not defined: bind it first with `let {name} = …;`"),
        }
    }

    /// The body's value: the output tensor, or a tuple of them.
    fn outputs(&mut self, v: V, def: &GraphDef, fallback: Span) {
        let span = def.body.last().map_or(fallback, |s| s.span());
        let items = match v {
            V::Tensor(t) => vec![V::Tensor(t)],
            V::Tuple(items) if !items.is_empty() => items,
            V::Poison => return,
            V::Word(w, wspan) => {
                let message = self.not_defined(&w);
                self.error(wspan, message);
                return;
            }
            _ => {
                self.error(
                    span,
                    "a graph model ends with its output: the tensor (`y`) or a tuple of tensors (`(a, b)`), without `;`",
                );
                return;
            }
        };
        for item in items {
            match item {
                V::Tensor(t) => self.plan.outputs.push((t, span)),
                V::Poison => {}
                other => {
                    let what = other.describe();
                    self.error(
                        span,
                        format!("an output must be a tensor, but this is {what}"),
                    );
                }
            }
        }
    }

    /// The lints: a tensor computed and never used, an input that reaches no output.
    fn lints(&mut self) {
        let inputs = self.plan.inputs.len();
        let used: HashSet<usize> = self
            .plan
            .nodes
            .iter()
            .flat_map(|n| n.inputs.iter().copied())
            .chain(self.plan.outputs.iter().map(|o| o.0))
            .collect();
        for (k, node) in self.plan.nodes.iter().enumerate() {
            if !used.contains(&(inputs + k)) {
                let name = &self.plan.layers[node.layer].name;
                self.plan.warnings.push(Warning {
                    lint: "unused_tensor",
                    span: node.span,
                    message: format!(
                        "the output of `{name}` is computed but never used: no layer reads it and it is not an output; \
                         use it, remove the call, or silence with `#[model(allow(unused_tensor))]`"
                    ),
                });
            }
        }
        // Which tensors reach an output, backwards.
        let mut reaches = vec![false; self.plan.tensors.len()];
        for &(t, _) in &self.plan.outputs {
            reaches[t] = true;
        }
        for k in (0..self.plan.nodes.len()).rev() {
            if reaches[inputs + k] {
                for &t in &self.plan.nodes[k].inputs {
                    reaches[t] = true;
                }
            }
        }
        for (i, input) in self.plan.inputs.iter().enumerate() {
            if !reaches[i] {
                self.plan.warnings.push(Warning {
                    lint: "unused_input",
                    span: input.span,
                    message: format!(
                        "the input `{}` reaches no output; use it, remove it, or silence with `#[model(allow(unused_input))]`",
                        input.name
                    ),
                });
            }
        }
        // Dropout as an output, as the sequential lint.
        for &(t, span) in &self.plan.outputs {
            if t >= inputs {
                let layer = &self.plan.layers[self.plan.nodes[t - inputs].layer];
                if matches!(
                    layer.ctor.kind,
                    Kind::Dropout
                        | Kind::SpatialDropout1D
                        | Kind::SpatialDropout2D
                        | Kind::SpatialDropout3D
                ) {
                    self.plan.warnings.push(Warning {
                        lint: "dropout_last",
                        span,
                        message: format!(
                            "`{}` makes an output: dropout on the model's output only adds noise to its predictions in training; \
                             move it before the last layer, or silence with `#[model(allow(dropout_last))]`",
                            layer.name
                        ),
                    });
                }
            }
        }
    }
}

fn as_float(v: &V) -> f64 {
    match v {
        V::Int(i) => *i as f64,
        V::Float(f) => *f,
        _ => f64::NAN,
    }
}

fn sym(v: &V) -> TokenStream {
    match v {
        V::Int(i) => quote!((#i as i64)),
        V::Sym(t) => t.clone(),
        _ => quote!(0i64),
    }
}

fn tuple_eq(a: &[V], b: &[V]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (V::Int(p), V::Int(q)) => p == q,
            (V::Float(p), V::Float(q)) => p == q,
            (V::Int(p), V::Float(q)) | (V::Float(q), V::Int(p)) => (*p as f64) == *q,
            (V::Str(p), V::Str(q)) => p == q,
            (V::Bool(p), V::Bool(q)) => p == q,
            (V::Tuple(p), V::Tuple(q)) => tuple_eq(p, q),
            _ => false,
        })
}

/// Python's `round`: halves to even.
fn round_half_even(f: f64) -> i64 {
    let r = f.round();
    if (f - f.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        (r - f.signum()) as i64
    } else {
        r as i64
    }
}

/// The tuples of the arguments a layer keeps as numbers, as `Val::Numbers`.
fn numbers_where_kept(
    kind: Kind,
    args: Vec<(Option<String>, Val, Span)>,
) -> Vec<(Option<String>, Val, Span)> {
    let names: Vec<Option<&'static str>> = args
        .iter()
        .map(|(n, _, _)| n.as_ref().map(|n| &*Box::leak(n.clone().into_boxed_str())))
        .collect();
    let probe: Vec<Arg> = names
        .iter()
        .map(|&name| Arg {
            name,
            value: Value::None,
        })
        .collect();
    args.into_iter()
        .enumerate()
        .map(|(i, (n, v, s))| {
            let keeps = spec_of(kind, &probe, i)
                .is_some_and(|sp| matches!(sp.ty, ArgType::Numbers | ArgType::OptNumbers));
            let v = match (keeps, v) {
                (true, Val::Tuple(items)) => {
                    let nums: Option<Vec<f64>> = items
                        .iter()
                        .map(|x| match x {
                            Val::Int(i) => Some(*i as f64),
                            Val::Float(f) => Some(*f),
                            _ => None,
                        })
                        .collect();
                    match nums {
                        Some(n) => Val::Numbers(n),
                        None => Val::Tuple(items),
                    }
                }
                (_, v) => v,
            };
            (n, v, s)
        })
        .collect()
}

/// An expression parsed from a string, placed at the string's span.
fn respan(expr: Expr, span: Span) -> Expr {
    let tokens: TokenStream = quote::ToTokens::to_token_stream(&expr)
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect();
    syn::parse2(tokens).unwrap_or(expr)
}
