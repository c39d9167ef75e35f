//! The qdrant store's tests: options without a server, and on a real Qdrant the whole conformance
//! suite (HNSW and exact), collections and settings, API keys, restarts and TLS.

mod api_key;
mod collections;
mod config;
mod conformance;
mod restart;
mod tls;
