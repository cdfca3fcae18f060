//! The one error of running, training and tuning a model.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Why running, training or tuning a model failed: a buffer of the wrong length, weights
/// that do not fit their layer, a label out of range, a file that cannot be read or written,
/// a hyper-parameter out of its range.
///
/// It keeps what it knows: the layer at fault ([`Error::layer`]), and the error it comes
/// from ([`std::error::Error::source`]): a [`LoadError`](crate::runtime::LoadError), a
/// [`DataError`](crate::data::DataError), a [`std::io::Error`], or another `Error` under
/// added context (the trial of a search, say). Its `Display` is the whole message, the
/// cause included, because that is what a person reading `{e}` needs; the cause is also
/// `source()` for code that inspects it.
#[derive(Clone, Debug)]
pub struct Error {
    /// What went wrong, for a person (without the layer, the context and the cause, which
    /// `Display` adds).
    pub message: String,
    /// 0-based index of the layer at fault, if one is.
    layer: Option<usize>,
    /// Where it happened, outermost first (`"trial 3 (Mlp<64>)"`), `": "`-separated.
    context: String,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// An error with this message and no cause.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            layer: None,
            context: String::new(),
            source: None,
        }
    }

    /// An error caused by `source`, with this message (which may be empty: then `source`
    /// says it all).
    pub fn caused_by(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Error {
        Error {
            source: Some(Arc::new(source)),
            ..Error::new(message)
        }
    }

    /// An I/O error on `path`, naming it: `what` is the verb (`"write"`, `"create"`).
    pub fn io(what: &str, path: &Path, source: std::io::Error) -> Error {
        Error::caused_by(format!("cannot {what} {}", path.display()), source)
    }

    /// The same error under added context (`"trial 3 (Mlp<64>)"`), which comes first in
    /// the message; the layer and the cause are kept.
    pub fn context(mut self, context: impl Into<String>) -> Error {
        let mut context = context.into();
        if !self.context.is_empty() {
            context.push_str(": ");
            context.push_str(&self.context);
        }
        self.context = context;
        self
    }

    /// The same error, attributed to layer `index` unless a layer already is.
    pub fn at(mut self, index: usize) -> Error {
        self.layer.get_or_insert(index);
        self
    }

    /// The 0-based index of the layer at fault, if one is.
    pub fn layer(&self) -> Option<usize> {
        self.layer
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::with_capacity(4);
        if !self.context.is_empty() {
            parts.push(self.context.clone());
        }
        if let Some(i) = self.layer {
            parts.push(format!("layer {i}"));
        }
        if !self.message.is_empty() {
            parts.push(self.message.clone());
        }
        if let Some(source) = &self.source {
            parts.push(source.to_string());
        }
        f.write_str(&parts.join(": "))
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Two errors are equal when they say the same thing about the same layer.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.layer == other.layer && self.to_string() == other.to_string()
    }
}

impl Eq for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_and_cause_are_kept_through_context() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Error::io("write", Path::new("/x/w.safetensors"), io).at(2);
        assert_eq!(e.layer(), Some(2));
        assert_eq!(
            e.to_string(),
            "layer 2: cannot write /x/w.safetensors: gone"
        );
        let outer = e.context("epoch 1").context("trial 3 (Mlp<64>)").at(7);
        assert_eq!(outer.layer(), Some(2), "the first layer is kept");
        assert_eq!(
            outer.to_string(),
            "trial 3 (Mlp<64>): epoch 1: layer 2: cannot write /x/w.safetensors: gone"
        );
        let io = outer
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    }

    #[test]
    fn a_plain_error_is_its_message() {
        let e = Error::new("batch_size must be at least 1");
        assert_eq!(e.to_string(), "batch_size must be at least 1");
        assert!(e.source().is_none());
        assert_eq!(e.layer(), None);
        assert_eq!(Error::new("x").at(0).at(1).layer(), Some(0));
    }
}
