#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod backend;
pub mod config;
mod core;
mod error;
mod grpc;
mod layout;
mod scan;

/// How records map to Qdrant points, exposed for fuzzing and for tools that read collections.
pub mod codec {
    pub use crate::layout::{
        SORT_FIELDS, collection_name, decode_vector, encode_vector, payload, point_uuid, sort_keys, vector_hash,
    };
}

use std::sync::Arc;

use vectorstore_core::limits::{MAX_DIM, MAX_K};
use vectorstore_core::{BackendRegistration, Capabilities, Config, Metric, Result, SearchKind, StoreBackend};

pub use backend::{QdrantStore, purge};
pub use config::{QdrantConfig, isolate};

/// Registered name of this backend (`DECNET_VECTORSTORE_TYPE=qdrant`).
pub const NAME: &str = "qdrant";

/// What a store with the default options can do: every metric, approximate (HNSW) search, and
/// a server shared by many processes. With `EXACT=true` a store reports exact search.
pub const CAPABILITIES: Capabilities = Capabilities {
    metrics: &Metric::ALL,
    persistent: true,
    stores_data: true,
    search: SearchKind::Approximate,
    max_dim: MAX_DIM,
    max_k: MAX_K,
    // A batch is sent in several requests, each applied on its own.
    atomic_batches: false,
    shared: true,
};

fn open(config: &Config) -> Result<Arc<dyn StoreBackend>> {
    Ok(Arc::new(QdrantStore::from_config(config)?))
}

vectorstore_core::inventory::submit! {
    BackendRegistration {
        name: NAME,
        aliases: &[],
        summary: "Qdrant server or cluster over gRPC: one collection per kind, HNSW or exact search",
        capabilities: CAPABILITIES,
        options: config::OPTIONS,
        open,
        isolate,
        purge,
    }
}
