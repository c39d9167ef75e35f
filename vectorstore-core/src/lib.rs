#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod config;
mod content_hash;
pub mod distance;
pub mod distinct;
mod error;
mod escape;
mod exact_index;
mod fake;
pub mod fnv1a;
mod health;
pub mod instrument;
mod lifecycle;
pub mod limits;
mod null;
mod record;
mod registry;
pub mod scan_search;
mod secret;
mod store;
pub mod validate;

pub use config::{Config, Fallback, parse_duration};
pub use content_hash::vector_hash;
pub use distinct::DistinctNeighbor;
pub use error::{Error, ErrorKind, Result};
pub use escape::{Escaped, escaped, is_escaped_on_display};
pub use exact_index::{CodesDistinctSearch, CodesOnlyIndex, CodesSearch, CodesStep, ExactIndex, GridRange};
pub use fake::{FAKE, FakeVectorStore};
pub use health::{Capabilities, Health, SearchKind};
pub use instrument::Instrumented;
pub use lifecycle::{Lifecycle, State};
pub use null::{NULL, NullVectorStore};
pub use record::{
    KindInfo, KnnOptions, Metric, Neighbor, NewVector, Rows, SCHEMA_VERSION, VectorRecord, in_request_order, now_ms,
};
pub use registry::{
    BackendRegistration, PurgeFuture, backends, check_settings, find_backend, isolate_unchanged, open_among,
    open_with_fallback, purge_nothing, require_backend,
};
pub use secret::{UNSHOWN_LOCATION, is_loopback_host, is_secret_option, redact_url, url_host, url_secrets};
pub use store::{StoreBackend, VectorStore, VectorStoreExt};

/// Re-exported so backend crates implement the trait with the same macro version.
pub use async_trait::async_trait;
/// Re-exported so backend crates register with the same `inventory` this crate collects from.
pub use inventory;
