#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod bench;
pub mod demo;
pub mod transfer;

pub use vectorstore_core::*;

/// The shared behaviour suite, to check a deployment from code as `vectorstore conformance` does.
pub use vectorstore_conformance as conformance;

// Backends register themselves with `inventory`; a crate nothing names is not linked and its
// registration silently vanishes. Naming each enabled backend here links it into every binary
// that uses this crate.
#[cfg(feature = "pgvector")]
use vectorstore_pgvector as _;
#[cfg(feature = "qdrant")]
use vectorstore_qdrant as _;
#[cfg(feature = "sqlite-vec")]
use vectorstore_sqlite_vec as _;

/// The names of the backends compiled into this build, sorted.
pub fn compiled_backends() -> Vec<&'static str> {
    backends().into_iter().map(|registration| registration.name).collect()
}
