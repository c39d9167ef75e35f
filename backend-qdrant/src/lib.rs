//! The `qdrant` backend of the DECNET vector store (work in progress).
#![deny(missing_docs)]

/// Registered name of this backend.
pub const NAME: &str = "qdrant";
