//! The sqlite_vec store's tests: the whole conformance suite, durability and concurrency across
//! processes, the file's schema, and exact searches through ties.

mod bulk;
mod cache;
mod common;
mod conformance;
mod durability;
mod legacy;
mod schema;
mod search;
