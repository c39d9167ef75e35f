#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod transfer;

use std::sync::Arc;

pub use vectorstore_core::*;

// Backends register themselves with `inventory`; a crate nothing names is not linked and its
// registration silently vanishes. Naming each enabled backend here links it into every binary
// that uses this crate, and lets applications reach its own types and options.
/// The PostgreSQL + pgvector backend (feature `pgvector`).
#[cfg(feature = "pgvector")]
pub use vectorstore_pgvector as pgvector;
/// The Qdrant backend (feature `qdrant`).
#[cfg(feature = "qdrant")]
pub use vectorstore_qdrant as qdrant;
/// The embedded SQLite + sqlite-vec backend (feature `sqlite-vec`).
#[cfg(feature = "sqlite-vec")]
pub use vectorstore_sqlite_vec as sqlite_vec;

/// Every backend of this project, whether this build links it or not (each real backend is a
/// cargo feature of this crate). Naming one that is not compiled in is a different mistake from
/// naming one that does not exist, and the fallback rules of [`open`] apply to it.
pub const PROJECT_BACKENDS: &[&str] = &["fake", "null", "pgvector", "qdrant", "sqlite_vec"];

/// Opens (without initialising) the store `config` selects; see
/// [`open_with_fallback`] for the rules, applied to
/// [`PROJECT_BACKENDS`].
pub fn open(config: &Config) -> Result<Arc<dyn VectorStore>> {
    vectorstore_core::open_with_fallback(config, PROJECT_BACKENDS)
}

/// Reads `DECNET_VECTORSTORE_*` and opens (without initialising) the store they select.
pub fn open_from_env() -> Result<Arc<dyn VectorStore>> {
    open(&Config::from_env()?)
}

/// The names of the backends compiled into this build, sorted.
pub fn compiled_backends() -> Vec<&'static str> {
    backends().into_iter().map(|registration| registration.name).collect()
}
