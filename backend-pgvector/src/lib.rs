#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod backend;
pub mod config;
mod distinct;
mod error;
mod index;
mod layout;
mod records;
mod search;

use std::sync::Arc;

pub use backend::{PgVectorStore, purge};
pub use config::{HnswParams, IndexKind, PgVectorConfig, SslMode, isolate};
pub use layout::SCHEMA_VERSION;
use vectorstore_core::limits::{MAX_DIM, MAX_K};
use vectorstore_core::{BackendRegistration, Capabilities, Config, Metric, Result, SearchKind, StoreBackend};

/// Registered name of this backend (`DECNET_VECTORSTORE_TYPE=pgvector`).
pub const NAME: &str = "pgvector";

/// What the backend can do with its default HNSW index (`INDEX=none` makes search exact).
pub const CAPABILITIES: Capabilities = Capabilities {
    metrics: &Metric::ALL,
    persistent: true,
    stores_data: true,
    search: SearchKind::Approximate,
    max_dim: MAX_DIM,
    max_k: MAX_K,
    atomic_batches: true,
    shared: true,
};

fn open(config: &Config) -> Result<Arc<dyn StoreBackend>> {
    Ok(Arc::new(PgVectorStore::from_config(config)?))
}

vectorstore_core::inventory::submit! {
    BackendRegistration {
        name: NAME,
        aliases: &["pg_vector", "postgres", "postgresql"],
        summary: "PostgreSQL + pgvector: shared by many processes, HNSW index per kind",
        capabilities: CAPABILITIES,
        options: config::OPTIONS,
        open,
        isolate,
        purge,
    }
}
