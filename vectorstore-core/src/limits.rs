//! The documented limits of the contract. Every store enforces them through
//! [`crate::validate`]; each breach is a typed error naming the value.

/// Longest kind name, in bytes (kinds are ASCII): `^[a-z][a-z0-9_]{0,47}$`.
pub const MAX_KIND_LEN: usize = 48;

/// Longest id, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 512;

/// Largest vector dimension.
pub const MAX_DIM: usize = 4096;

/// Largest `k` of a search. Every store must answer up to this many neighbours exactly.
pub const MAX_K: usize = 10_000;

/// Most vectors in one [`crate::VectorStore::insert_many`] call.
pub const MAX_BATCH: usize = 10_000;

/// Most ids one [`crate::VectorStore::get_many`] or [`crate::VectorStore::delete_many`] call
/// takes; more is [`crate::ErrorKind::InvalidArgument`] naming the count, before any work.
pub const MAX_IDS_PER_CALL: usize = 10_000;

/// Most records one [`crate::VectorStore::scan`] page may ask for.
pub const MAX_SCAN_LIMIT: usize = 10_000;

/// Most queries in one [`crate::VectorStore::knn_batch`] call.
pub const MAX_QUERIES_PER_CALL: usize = 10_000;

/// Most neighbours one [`crate::VectorStore::knn_batch`] call may ask for: queries × k.
/// Each is within its own limit, but 10,000 queries of k = 10,000 ask for 100 million
/// neighbours (several GB) in one answer, which no caller can hold; a million (about 100 MB
/// with 64-byte ids) covers 100 queries at the largest k or 100,000 at k = 10. More is
/// [`crate::ErrorKind::LimitExceeded`], before any work: split the batch.
pub const MAX_NEIGHBORS_PER_CALL: usize = 1_000_000;

/// Most ids a [`crate::VectorStore::knn_distinct`] answer lists per distinct vector; more is
/// [`crate::ErrorKind::InvalidArgument`]. The answer says how many records share a vector
/// ([`crate::DistinctNeighbor::count`]); the ids are a sample to look at, the group's first in
/// id order, and keeping them bounds the memory of a search at a group of any size.
pub const MAX_IDS_PER_VECTOR: usize = 1_000;

/// Most kinds one store holds; creating one more is [`crate::ErrorKind::LimitExceeded`].
pub const MAX_KINDS: usize = 1_024;

/// How far ahead of the store's clock a record's given write time
/// ([`crate::NewVector::written_at_ms`]) may be: one day of clock difference between the
/// machine that wrote a record and the one that copies it. Later is
/// [`crate::ErrorKind::InvalidArgument`], since such a record would outlive every retention
/// policy.
pub const MAX_CLOCK_SKEW_MS: u64 = 86_400_000;
