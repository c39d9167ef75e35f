//! The pgvector store's tests on a real PostgreSQL + pgvector server: the whole conformance
//! suite (with and without the HNSW index), the index at work, the pool, restarts and the schema.

mod common;
mod conformance;
mod index;
mod pool;
mod restart;
mod schema;
