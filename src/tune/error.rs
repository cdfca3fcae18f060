//! The tuner's error: the crate's one error type.

/// Why a search failed: a directory that cannot be used, a trial that failed (the
/// trial and its cause kept as the source). The crate's one [`Error`](crate::Error).
pub type TuneError = crate::Error;
