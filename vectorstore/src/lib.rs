#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod backend;
pub mod transfer;

use std::sync::Arc;

// The application API. What backend authors need is in `backend`.
pub use vectorstore_core::{
    Capabilities, Config, Error, ErrorKind, Escaped, FAKE, FakeVectorStore, Fallback, Health, Instrumented, KindInfo,
    KnnOptions, Metric, NULL, Neighbor, NewVector, NullVectorStore, Result, Rows, SCHEMA_VERSION, SearchKind,
    VectorRecord, VectorStore, VectorStoreExt, backends, config, distance, escaped, find_backend, instrument,
    is_escaped_on_display, limits, now_ms, parse_duration, redact_url, require_backend,
};

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

/// Opens (without initialising) the store `config` selects: the one way to open a store.
///
/// - Every setting must be known: an unknown `DECNET_VECTORSTORE_*` variable is a `Config`
///   error naming it and the closest known name.
/// - `enabled = false` gives the Null store, whatever the backend.
/// - A backend compiled into this build is opened with the configuration.
/// - A backend of this project ([`PROJECT_BACKENDS`]) left out of this build: when it was only
///   the default (`DECNET_VECTORSTORE_TYPE` unset), or `DECNET_VECTORSTORE_FALLBACK` names
///   `fake` or `null`, that store is used instead, with a WARN log and health `degraded`; when
///   it was named explicitly without a fallback, a `Config` error saying it is not compiled in.
///   A deployment thus never loses data silently to a store it did not ask for, and a build
///   without the default backend still starts.
/// - Any other name: a `Config` error listing the compiled-in backends.
///
/// Every store comes wrapped in [`Instrumented`]: its operations emit spans and metrics.
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
