//! The one error type of the contract: a kind to branch on, a message naming the bad value,
//! key/value context and an optional source.

use std::fmt;

use crate::escape::Escaped;

/// Result alias used across the contract.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarse enough to branch on. Tests and callers match on this, never on text.
///
/// New kinds may be added in minor releases; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The kind name is not lowercase ASCII `^[a-z][a-z0-9_]{0,47}$`.
    InvalidKind,
    /// The id is empty, longer than [`crate::limits::MAX_ID_BYTES`] or contains NUL.
    InvalidId,
    /// The vector is empty, too long, has a non-finite component, or is zero under cosine.
    InvalidVector,
    /// Any other argument is out of range (k, extractor_version, batch size, max_distance, ...).
    InvalidArgument,
    /// The vector's length differs from the dimension fixed for its kind.
    DimensionMismatch,
    /// The kind exists with another metric than the one asked for.
    MetricMismatch,
    /// The store does not implement the metric asked for (see [`crate::Capabilities::metrics`]).
    MetricUnsupported,
    /// A store-wide limit would be exceeded (for example the number of kinds).
    LimitExceeded,
    /// The operation ran before [`crate::VectorStore::initialize`].
    NotInitialized,
    /// The operation ran after [`crate::VectorStore::close`].
    Closed,
    /// The backing service or file cannot be reached right now; retrying later may succeed.
    Unavailable,
    /// The stored data was written by a newer, incompatible schema version.
    IncompatibleSchema,
    /// The configuration is invalid or names a backend that is not available.
    Config,
    /// Any other failure reported by the backing engine.
    Backend,
}

impl ErrorKind {
    /// A stable snake_case name, used in Display and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidKind => "invalid_kind",
            ErrorKind::InvalidId => "invalid_id",
            ErrorKind::InvalidVector => "invalid_vector",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::DimensionMismatch => "dimension_mismatch",
            ErrorKind::MetricMismatch => "metric_mismatch",
            ErrorKind::MetricUnsupported => "metric_unsupported",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::NotInitialized => "not_initialized",
            ErrorKind::Closed => "closed",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::IncompatibleSchema => "incompatible_schema",
            ErrorKind::Config => "config",
            ErrorKind::Backend => "backend",
        }
    }

    /// True for kinds caused by the caller's input: retrying the same call can never succeed.
    pub fn is_input_error(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidKind
                | ErrorKind::InvalidId
                | ErrorKind::InvalidVector
                | ErrorKind::InvalidArgument
                | ErrorKind::DimensionMismatch
                | ErrorKind::MetricMismatch
                | ErrorKind::MetricUnsupported
                | ErrorKind::LimitExceeded
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the vector-store contract.
///
/// Messages name the offending value (escaped and shortened when it is long). Backends never
/// put connection secrets in the message, the context or the source.
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), context: Vec::new(), source: None }
    }

    /// Adds a key/value pair of context (the operation, the kind, the backend, ...).
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attaches the underlying cause with `clean` applied to its text (and its own causes'),
    /// for driver errors that could carry a secret: the cause's type is lost, its words stay.
    pub fn with_redacted_source(mut self, source: &dyn std::error::Error, clean: impl Fn(&str) -> String) -> Self {
        self.source = Some(Box::new(RedactedSource::new(source, &clean)));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The context pairs, in the order they were added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// True when retrying later may succeed (the service was unavailable).
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }
}

/// Escaped (see [`Escaped`]): a message, a context value or a driver's text may quote an id,
/// a kind or a file's content, and errors end up on terminals and in log lines.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, Escaped(&self.message))?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (key, value)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{key}: {}", Escaped(value))?;
            }
            f.write_str(")")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {}", Escaped(&source.to_string()))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A cause kept by [`Error::with_redacted_source`]: the text of a driver error, and of its own
/// causes, after every secret was removed.
pub struct RedactedSource {
    display: String,
    debug: String,
    source: Option<Box<RedactedSource>>,
}

impl RedactedSource {
    fn new(error: &dyn std::error::Error, clean: &dyn Fn(&str) -> String) -> Self {
        RedactedSource {
            display: clean(&error.to_string()),
            debug: clean(&format!("{error:?}")),
            source: error.source().map(|source| Box::new(RedactedSource::new(source, clean))),
        }
    }
}

impl fmt::Display for RedactedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for RedactedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.debug)
    }
}

impl std::error::Error for RedactedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_source_keeps_the_words_but_not_the_secret() {
        let io = std::io::Error::other("token s3cret refused");
        let err =
            Error::new(ErrorKind::Config, "denied").with_redacted_source(&io, |text| text.replace("s3cret", "***"));
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(source.to_string(), "token *** refused");
        assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
    }

    #[test]
    fn display_escapes_what_a_caller_or_a_file_shaped() {
        let io = std::io::Error::other("driver said\nINJECTED");
        let err = Error::new(ErrorKind::InvalidId, "id \"a\nFAKE LOG LINE\u{1b}[31m\" refused")
            .with_context("id", "a\nb")
            .with_source(io);
        let shown = err.to_string();
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'), "{shown:?}");
        assert_eq!(
            shown,
            "invalid_id: id \"a\\nFAKE LOG LINE\\u{1b}[31m\" refused (id: a\\nb): driver said\\nINJECTED"
        );
        // The message itself is kept as given, for callers that inspect it.
        assert!(err.message().contains('\n'));
    }

    #[test]
    fn display_carries_kind_message_context_and_source() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::new(ErrorKind::Backend, "write failed")
            .with_context("kind", "ja3")
            .with_context("op", "insert")
            .with_source(io);
        assert_eq!(err.to_string(), "backend: write failed (kind: ja3, op: insert): disk on fire");
        assert_eq!(err.kind(), ErrorKind::Backend);
        assert!(std::error::Error::source(&err).is_some());
        assert!(!err.is_retryable());
        assert!(Error::new(ErrorKind::Unavailable, "down").is_retryable());
    }
}
