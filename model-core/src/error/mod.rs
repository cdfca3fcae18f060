//! Errors: what the `const` evaluator says when a layer does not fit its input
//! ([`EvalError`]), and the one error of running, training and tuning a model ([`Error`]).

mod eval;
mod run;

pub(crate) use self::eval::{add, div, mul};
pub use self::eval::{EvalError, InputCount, Problem, RankReq};
pub use self::run::Error;
