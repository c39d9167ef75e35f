#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod backend;
pub mod config;
mod core;
mod error;
mod scan;
mod schema;

/// How records map to Qdrant points, exposed for fuzzing and for tools that read collections.
pub mod codec {
    pub use crate::schema::{collection_name, decode_vector, encode_vector, payload, point_uuid, sort_keys};
}

pub use backend::{CAPABILITIES, QdrantVectorStore};
pub use config::QdrantOptions;

/// Registered name of this backend (`DECNET_VECTORSTORE_TYPE=qdrant`).
pub const NAME: &str = "qdrant";

vectorstore_core::inventory::submit! {
    vectorstore_core::BackendRegistration {
        name: NAME,
        aliases: &[],
        summary: "Qdrant server or cluster over gRPC: one collection per kind, HNSW or exact search",
        capabilities: CAPABILITIES,
        open: backend::open,
        isolate: config::isolate,
        purge: backend::purge,
    }
}
