#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod backend;
pub mod transfer;

use std::sync::Arc;

// The application API. What backend authors need is in `backend`.
pub use vectorstore_core::{
    Capabilities, Config, DistinctNeighbor, Error, ErrorKind, Escaped, FAKE, FakeVectorStore, Fallback, Health,
    Instrumented, KindInfo, KnnOptions, Metric, NULL, Neighbor, NewVector, NullVectorStore, Result, Rows,
    SCHEMA_VERSION, SearchKind, VectorRecord, VectorStore, VectorStoreExt, backends, config, distance, escaped,
    find_backend, instrument, is_escaped_on_display, limits, now_ms, parse_duration, redact_url, require_backend,
};

/// The one list of this project's backends, besides the Fake and Null stores every build has.
/// For each: the cargo feature of this crate that links it, its crate, and a location a store
/// of it can be configured with (a file path, or a server URL), for tests that open one.
///
/// Each entry re-exports the backend's crate under the backend's name (`vectorstore::pgvector`)
/// when its feature is on: a crate nothing names is not linked, and its `inventory`
/// registration would silently vanish. It also checks at compile time that the crate's `NAME`
/// is the listed name, and it makes [`PROJECT_BACKENDS`] and [`backend::project_backends`].
macro_rules! project_backends {
    ($($(#[$doc:meta])* $name:ident: feature $feature:literal, crate $krate:ident, location $location:literal;)+) => {
        $(
            $(#[$doc])*
            #[cfg(feature = $feature)]
            pub use $krate as $name;

            #[cfg(feature = $feature)]
            const _: () = assert!(
                backend::same_name($krate::NAME, stringify!($name)),
                concat!("the crate ", stringify!($krate), " registers another NAME than ", stringify!($name))
            );
        )+

        /// Every backend of this project, whether this build links it or not (each real backend
        /// is a cargo feature of this crate). Naming one that is not compiled in is a different
        /// mistake from naming one that does not exist, and the fallback rules of [`open`] apply
        /// to it.
        pub const PROJECT_BACKENDS: &[&str] = &["fake", "null", $(stringify!($name)),+];

        const PROJECT_BACKEND_CRATES: &[backend::ProjectBackend] = &[$(backend::ProjectBackend {
            name: stringify!($name),
            feature: $feature,
            linked: cfg!(feature = $feature),
            location: $location,
        }),+];
    };
}

project_backends! {
    /// The PostgreSQL + pgvector backend (feature `pgvector`).
    pgvector: feature "pgvector", crate vectorstore_pgvector, location "postgres://user@127.0.0.1:1/db";
    /// The Qdrant backend (feature `qdrant`).
    qdrant: feature "qdrant", crate vectorstore_qdrant, location "http://127.0.0.1:1";
    /// The embedded SQLite + sqlite-vec backend (feature `sqlite-vec`).
    sqlite_vec: feature "sqlite-vec", crate vectorstore_sqlite_vec, location "vectors.sqlite";
}

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
