//! The pgvector store's tests on a real PostgreSQL + pgvector server: the whole conformance
//! suite (with and without the HNSW index), the index at work, the pool, restarts, the schema and TLS.

mod common;
mod conformance;
mod index;
mod load;
mod pool;
mod restart;
mod schema;
mod tls;
