//! Graph models: Keras's functional API, written as Rust-like statements.
//!
//! ```text
//! model! {
//!     pub struct Residual {
//!         fn block(x, filters, stride = 1) {
//!             let y = Conv2D(filters, 3, strides = stride, padding = same, activation = relu)(x);
//!             let y = Conv2D(filters, 3, padding = same)(y);
//!             let shortcut = if stride == 1 { x } else { Conv2D(filters, 1, strides = stride)(x) };
//!             ReLU()(Add()([y, shortcut]))
//!         }
//!         let x = Input([32, 32, 3]);
//!         let y = block(x, 3);
//!         let y = block(y, 16, stride = 2);
//!         Dense(10, activation = softmax)(GlobalAveragePooling2D()(y))
//!     }
//! }
//! ```
//!
//! `Kind(args)` is a layer and `layer(x)` calls it on a tensor (`layer([a, b])` on several);
//! a layer bound to a name and called twice is shared. `Input(shape)` is an input; the
//! body's last expression is the output, or a tuple of outputs. `fn` defines a block to
//! use many times, `for` and `if` repeat and choose, and arithmetic, comparisons, strings
//! (`"conv{stage}_block{i}"` puts values in), `x.shape` and a few functions (`range`,
//! `len`, `min`, `max`, `int`, `str`, `round`) compute arguments and names. Everything runs
//! once, at expansion: the model is the graph it makes, checked layer by layer.
//!
//! - [`mod@parse`]: the body into functions and statements (`syn`'s statements and
//!   expressions, read by the interpreter);
//! - [`mod@interp`]: the interpreter, which builds the graph and checks every call with
//!   `model-core`'s evaluator, spanning each mistake at its call.

pub mod interp;
pub mod parse;

pub use self::interp::{check, GraphPlan};
pub use self::parse::{is_graph, parse, GraphDef};
