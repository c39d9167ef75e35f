//! The qdrant store's tests: options without a server, and on a real Qdrant the whole conformance
//! suite (HNSW and exact), collections and settings, API keys, restarts and TLS; on a local
//! 3-peer cluster the whole suite again and a peer killed under load.

mod api_key;
mod cluster;
mod cluster_faults;
mod collections;
mod companion;
mod config;
mod conformance;
mod restart;
mod tls;
