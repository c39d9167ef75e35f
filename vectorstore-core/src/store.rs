//! The contract in two traits: [`VectorStore`], what applications call, and [`StoreBackend`],
//! what a backend implements; one layer between them, the only implementation of
//! `VectorStore`, applies the checks that need no stored data and the backend's error context
//! to every store. [`VectorStoreExt`] holds the convenience methods built on the contract.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::distinct::DistinctNeighbor;
use crate::error::{Error, ErrorKind, Result};
use crate::health::{Capabilities, Health};
use crate::lifecycle::{Lifecycle, State};
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, Rows, VectorRecord};
use crate::validate;

/// An async store of vectors keyed by `(kind, id)`, searched by nearest neighbours within one kind.
///
/// Used as `Arc<dyn VectorStore>`; obtain one from `vectorstore::open_from_env` or
/// `vectorstore::open` (the facade crate), never by naming a backend type in application code.
///
/// Backends do not implement this trait: they implement [`StoreBackend`], and every
/// `StoreBackend` is a `VectorStore` through one layer, the only implementation, that checks
/// each call's input (kind, id, vector shape and finiteness, extractor version, `k` and the
/// other limits, batch sizes, expiry cutoffs) before the backend sees it, then the store's
/// lifecycle (the **Lifecycle** rules below, the same for every store), and adds the
/// backend's name as `backend` context to the engine's errors (`Unavailable`, `Backend`,
/// `Config`, `IncompatibleSchema`). A store can thus not skip the checks.
///
/// # Contract
///
/// **Keys.** A record is addressed by `(kind, id)`. `kind` matches `^[a-z][a-z0-9_]{0,47}$`;
/// `id` is any UTF-8 of 1..=512 bytes without NUL, stored verbatim. Anything else is
/// [`InvalidKind`](crate::ErrorKind::InvalidKind) / [`InvalidId`](crate::ErrorKind::InvalidId)
/// on every operation. Two different kinds never share storage: the same id in two kinds is two
/// records.
///
/// **Kinds.** A kind's dimension and metric are fixed by its first insert (with the store's
/// default metric) or by [`create_kind`](VectorStore::create_kind). They survive restarts and
/// deleting every vector; only [`drop_kind`](VectorStore::drop_kind) forgets them. A vector of
/// another length, written or queried, is [`DimensionMismatch`](crate::ErrorKind::DimensionMismatch)
/// naming both numbers.
///
/// **Vectors.** 1..=4096 finite `f32` components, returned bit for bit as written. Under cosine
/// the zero vector is [`InvalidVector`](crate::ErrorKind::InvalidVector).
///
/// **Distances.** `l2` is the Euclidean distance, `cosine` is `1 - cos`, `dot` is `-(a . b)`;
/// every store reports the same number for the same data. Results come in ascending distance,
/// ties broken by id ascending (byte order), at most `k`, and only from the query's kind.
///
/// **Validation first.** Input is checked before anything is written; an invalid call never
/// changes or loses stored data.
///
/// **Lifecycle.** Operations before [`initialize`](VectorStore::initialize) fail with
/// [`NotInitialized`](crate::ErrorKind::NotInitialized), after [`close`](VectorStore::close) with
/// [`Closed`](crate::ErrorKind::Closed). `initialize` twice is a no-op; `close` is idempotent.
/// [`health`](VectorStore::health) never fails.
///
/// **Bulk by id.** [`get_many`](VectorStore::get_many) and [`delete_many`](VectorStore::delete_many)
/// take at most [`MAX_IDS_PER_CALL`](crate::limits::MAX_IDS_PER_CALL) ids; the whole list is
/// validated before any work, and each backend answers in one native request (one statement,
/// one retrieve or filtered delete), never a loop of single-record calls.
///
/// **Extractor versions.** [`kinds`](VectorStore::kinds) counts each kind's records per
/// extractor version; [`delete_version`](VectorStore::delete_version) removes one version's
/// records natively, so that vectors of a retired extractor can be purged.
///
/// **Age.** Every record carries the time it was last written
/// ([`VectorRecord::written_at_ms`]), set by the store from the process's clock or kept from
/// the source by copies and imports; [`expire`](VectorStore::expire) removes the records
/// older than a cutoff natively, for retention policies.
#[async_trait]
pub trait VectorStore: Send + Sync + Debug + sealed::Layer {
    /// The registered backend name (`fake`, `null`, `sqlite_vec`, `pgvector`, `qdrant`, ...).
    fn backend(&self) -> &'static str;

    /// What this store can do.
    fn capabilities(&self) -> Capabilities;

    /// One-shot setup: open files or connections, create the schema, adopt existing kinds.
    /// Calling it again on an initialised store does nothing.
    async fn initialize(&self) -> Result<()>;

    /// Releases files and connections. Idempotent; every later operation fails with `Closed`.
    async fn close(&self) -> Result<()>;

    /// Liveness and counts, safe to publish: no file path, URL, host, user name, namespace or
    /// secret, and a failure's reason is only its error kind (see [`Health`]). Never fails:
    /// problems become `ok: false` with a reason.
    async fn health(&self) -> Health;

    /// [`health`](VectorStore::health) plus where the store is (its path, its URL with the
    /// password removed, its schema or collection prefix) and a failure's full text, for
    /// operators. Never holds a password or an API key. Never fails.
    async fn health_detailed(&self) -> Health;

    /// Creates `kind` with `dim` and `metric`, or confirms it already exists with exactly those.
    ///
    /// An existing kind with another dimension is `DimensionMismatch`, with another metric
    /// `MetricMismatch`; a metric the store lacks is `MetricUnsupported`.
    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo>;

    /// Inserts or replaces `(kind, id)`. The first insert of a new kind fixes its dimension and
    /// gives it the store's default metric. Replacing also replaces the extractor version.
    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()>;

    /// Inserts or replaces every item of one kind, as `insert` would in order (a repeated id:
    /// the last wins). The whole batch is validated before anything is written; stores whose
    /// [`Capabilities::atomic_batches`] is true write all of it or none. At most
    /// [`MAX_BATCH`](crate::limits::MAX_BATCH) items.
    ///
    /// An item's [`written_at_ms`](NewVector::written_at_ms), when given, is recorded as its
    /// write time (copies and imports keep records' ages so); otherwise the call's time.
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()>;

    /// Inserts or replaces rows given as one row-major buffer (an array of shape (rows, dim),
    /// see [`Rows`]): exactly what [`insert_many`](VectorStore::insert_many) does with one
    /// [`NewVector`] per row, written at the time of the call: the same checks, the same
    /// errors (naming the bad row's index and id), the same atomicity.
    async fn insert_rows(&self, kind: &str, rows: Rows<'_>) -> Result<()>;

    /// The record `(kind, id)`, or `None` when absent (also for an unknown kind).
    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>>;

    /// Deletes `(kind, id)`; true if a record was removed. The kind keeps its dimension.
    async fn delete(&self, kind: &str, id: &str) -> Result<bool>;

    /// The records `(kind, id)` for every id of `ids`, in one read: the answer has one entry per
    /// requested id, **in the order of `ids`**, `None` where no such record is stored (every
    /// entry of an unknown kind). A repeated id gets the same record at each of its places.
    ///
    /// At most [`MAX_IDS_PER_CALL`](crate::limits::MAX_IDS_PER_CALL) ids; the kind and every
    /// id are validated before anything is read (see [`crate::validate::ids`]).
    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>>;

    /// Deletes the records `(kind, id)` of every id of `ids` in one native operation and
    /// returns how many were stored and are now gone (a repeated id counts once; a missing id
    /// or an unknown kind counts 0). The kind keeps its dimension and metric.
    ///
    /// At most [`MAX_IDS_PER_CALL`](crate::limits::MAX_IDS_PER_CALL) ids; the whole call is
    /// validated before anything is removed.
    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64>;

    /// Deletes every record of `kind` written by `extractor_version`, in one native operation
    /// (one statement, one filtered delete), and returns how many went: 0 when the version (or
    /// the kind) holds nothing. The kind keeps its dimension and metric, even when emptied.
    /// `extractor_version` must be at least 1 and the kind valid, checked before any work.
    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64>;

    /// Deletes every record of `kind` last written before `written_before_ms` (milliseconds
    /// since the Unix epoch, see [`VectorRecord::written_at_ms`]), in one native operation,
    /// and returns how many went: 0 when none is that old (or the kind is unknown). The kind
    /// keeps its dimension and metric, even when emptied.
    ///
    /// A cutoff later than the store's clock ([`crate::now_ms`]) is `InvalidArgument`, as is an
    /// invalid kind, checked before anything is removed (see [`crate::validate::expire`]).
    /// [`VectorStoreExt::expire_older_than`] takes an age instead.
    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64>;

    /// The `k` nearest records of `kind` to `query` (see [`knn_with`](VectorStore::knn_with)).
    async fn knn(&self, kind: &str, query: &[f32], k: usize) -> Result<Vec<Neighbor>>;

    /// The nearest records of `kind` to `query`: the options' filters are applied first, then
    /// the `k` closest are returned in ascending distance, ties by id. An unknown or empty kind
    /// gives an empty list; `k = 0` gives an empty list.
    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>>;

    /// The nearest records of `kind` to each of `queries`, under the same options: answer `i`
    /// is exactly what [`knn_with`](VectorStore::knn_with) gives for `queries[i]`. The kind,
    /// the options and every query are checked first: a bad query (wrong length, NaN, a zero
    /// vector under cosine) fails the whole call, naming its index. At most
    /// [`MAX_QUERIES_PER_CALL`](crate::limits::MAX_QUERIES_PER_CALL) queries; an empty batch
    /// gives an empty list.
    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>>;

    /// Every kind with its dimension, metric, count and count per extractor version
    /// ([`KindInfo::versions`]), sorted by name.
    async fn kinds(&self) -> Result<Vec<KindInfo>>;

    /// Up to `limit` records of `kind` whose id sorts after `after_id` (byte order), in
    /// ascending id order: keyset pagination that visits every record once. An unknown kind
    /// gives an empty page.
    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>>;

    /// Removes `kind` with all its vectors, dimension and metric; true if it existed.
    async fn drop_kind(&self, kind: &str) -> Result<bool>;

    /// Finishes, and waits for, work the store deferred on `kind`, such as the search index a
    /// load leaves to build once at its end (pgvector) or builds in the background (Qdrant's
    /// optimiser); returns how long that work took, or
    /// `None` when nothing was pending (always, for most stores, and for an unknown kind).
    /// Never needed for correct answers, only for search speed: call it after a bulk load to
    /// have the index ready (`vectorstore copy` and `import` do, and report the time).
    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>>;

    /// The `k` nearest *distinct* vectors of `kind` to `query`: records whose vectors are bit
    /// for bit the same form one group, answered once with its distance, how many records of
    /// the group pass the options' filters ([`DistinctNeighbor::count`]) and its first
    /// `ids_per_vector` ids in id order. Tells a rare fingerprint from one that thousands of
    /// sessions share. The filters of [`knn_with`](VectorStore::knn_with) apply first; groups
    /// come in ascending distance, ties by each group's smallest id. An unknown or empty kind
    /// gives an empty list, as does `k = 0`.
    ///
    /// `ids_per_vector` is at most [`MAX_IDS_PER_VECTOR`](crate::limits::MAX_IDS_PER_VECTOR)
    /// (`InvalidArgument`) and `k × ids_per_vector` at most
    /// [`MAX_NEIGHBORS_PER_CALL`](crate::limits::MAX_NEIGHBORS_PER_CALL) (`LimitExceeded`).
    /// Exact on every store; what it costs depends on the store (see
    /// [`StoreBackend::knn_distinct`]).
    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<DistinctNeighbor>>;
}

/// What a backend implements: the operations of [`VectorStore`], with the same names,
/// signatures and [contract](VectorStore#contract), but receiving input the layer has already
/// checked.
///
/// Before a method is called, its arguments have passed every check of [`validate`] that needs
/// no stored data: the kind and ids are valid names, vectors have 1..=4096 finite components,
/// `k`, limits, batch sizes, extractor versions and expiry cutoffs are in range. What a backend
/// still checks is what needs its data: a vector against its kind's stored dimension and metric
/// ([`validate::against_kind`], [`validate::batch_against_kind`], [`validate::rows_against_kind`],
/// [`validate::queries_against_kind`]), an existing kind's dimension and metric
/// ([`validate::same_kind`]) and the metrics it supports.
///
/// **Lifecycle.** The layer walks the store's [`Lifecycle`] (see [`lifecycle`](StoreBackend::lifecycle)):
/// it calls [`initialize`](StoreBackend::initialize) only on a new store and marks it open
/// after, marks it closed before calling [`close`](StoreBackend::close), answers `health` of a
/// store that is not open itself, and refuses every other call outside the open state with
/// `NotInitialized` or `Closed`, after the input checks. A backend's operations thus run only
/// on an open store; where one still reaches for a resource that `close` releases (a pool in an
/// `Option`), a close racing the call may have taken it, and the backend answers `Closed`.
///
/// Errors of kind `Unavailable`, `Backend`, `Config` or `IncompatibleSchema` get the backend's
/// name as `backend` context from the layer; a backend need not add it.
///
/// Wrappers (spans and metrics, test faults, an application's own counting store) implement
/// this trait around an `Arc<dyn StoreBackend>`, so that one call is checked once.
#[async_trait]
pub trait StoreBackend: Send + Sync + Debug {
    /// See [`VectorStore::backend`].
    fn backend(&self) -> &'static str;

    /// See [`VectorStore::capabilities`].
    fn capabilities(&self) -> Capabilities;

    /// The store's lifecycle state, which the layer walks and checks (see the trait's docs):
    /// a store holds one [`Lifecycle`] and returns it here; a wrapper returns its inner store's.
    fn lifecycle(&self) -> &Lifecycle;

    /// Acquires the store's resources (files, connections, schema), called by the layer's
    /// [`VectorStore::initialize`] only on a new store; the layer marks it open when this
    /// succeeds. A failure leaves the store new, so `initialize` can be tried again.
    async fn initialize(&self) -> Result<()>;

    /// Releases the store's resources, called by the layer's [`VectorStore::close`] once the
    /// store is marked closed (so no new operation starts): once per store, and once more when
    /// an `initialize` that a close overtook finishes afterwards. Must therefore tolerate being
    /// called again and on a store that never acquired anything.
    async fn close(&self) -> Result<()>;

    /// See [`VectorStore::health`]; called only on an open store (the layer answers for a new
    /// or closed one).
    async fn health(&self) -> Health;

    /// See [`VectorStore::health_detailed`]; called only on an open store.
    async fn health_detailed(&self) -> Health;

    /// See [`VectorStore::create_kind`]; `kind` and `dim` are checked.
    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo>;

    /// See [`VectorStore::insert`]; the key, the vector and the version are checked, not the
    /// vector against its kind.
    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()>;

    /// See [`VectorStore::insert_many`]; the kind, the count and every item are checked, not
    /// the items against their kind.
    ///
    /// The default loops over `insert`, which records the call's time for every item;
    /// backends override it with a batched write that keeps given times.
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        for item in items {
            self.insert(kind, &item.id, &item.vector, item.extractor_version).await?;
        }
        Ok(())
    }

    /// See [`VectorStore::insert_rows`]; the kind, the count and every row are checked, not
    /// the rows against their kind.
    ///
    /// The default builds one [`NewVector`] per row and calls `insert_many`; stores that can
    /// read rows in place (the Fake) override it and skip building a `Vec` per row.
    async fn insert_rows(&self, kind: &str, rows: Rows<'_>) -> Result<()> {
        self.insert_many(kind, &rows.to_new_vectors()).await
    }

    /// See [`VectorStore::get`]; the key is checked.
    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>>;

    /// See [`VectorStore::delete`]; the key is checked.
    async fn delete(&self, kind: &str, id: &str) -> Result<bool>;

    /// See [`VectorStore::get_many`]; the kind and every id are checked.
    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>>;

    /// See [`VectorStore::delete_many`]; the kind and every id are checked.
    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64>;

    /// See [`VectorStore::delete_version`]; the kind and the version are checked.
    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64>;

    /// See [`VectorStore::expire`]; the kind and the cutoff are checked.
    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64>;

    /// See [`VectorStore::knn_with`]; the kind, the query's shape and the options are checked,
    /// not the query against its kind.
    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>>;

    /// See [`VectorStore::knn_batch`]; the kind, the options, the count and every query's
    /// shape are checked, not the queries against their kind.
    ///
    /// The default searches one query after another; stores override it with a batched search
    /// (the Fake and the sqlite_vec copy scan each block of stored vectors for every query while
    /// it is in cache).
    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        let mut answers = Vec::with_capacity(queries.len());
        for (index, query) in queries.iter().enumerate() {
            let answer = self.knn_with(kind, query, options).await.map_err(|err| match err.kind() {
                // Checked against the kind: the query is at fault, and the error says which.
                ErrorKind::DimensionMismatch | ErrorKind::InvalidVector => validate::in_query(index, err),
                _ => err,
            })?;
            answers.push(answer);
        }
        Ok(answers)
    }

    /// See [`VectorStore::kinds`].
    async fn kinds(&self) -> Result<Vec<KindInfo>>;

    /// See [`VectorStore::scan`]; the kind, the cursor and the limit are checked.
    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>>;

    /// See [`VectorStore::drop_kind`]; the kind is checked.
    async fn drop_kind(&self, kind: &str) -> Result<bool>;

    /// See [`VectorStore::settle`]; the kind is checked.
    ///
    /// The default, for stores that defer nothing, answers `None` (the layer has checked the
    /// store's lifecycle, as for every operation); wrappers forward it.
    async fn settle(&self, _kind: &str) -> Result<Option<std::time::Duration>> {
        Ok(None)
    }

    /// Told by the layer that it refused a call's input before this backend saw it: `operation`
    /// is the method's name (`knn` for `knn` and `knn_with`), `kind` the kind it named. For
    /// wrappers that observe every call ([`crate::Instrumented`] counts refused calls in its
    /// metrics); the default does nothing.
    fn refused(&self, operation: &'static str, kind: Option<&str>, error: &Error) {
        let _ = (operation, kind, error);
    }

    /// See [`VectorStore::knn_distinct`]; the kind, the query's shape, the options and
    /// `ids_per_vector` are checked, not the query against its kind.
    ///
    /// The default reads the whole kind through [`scan`](StoreBackend::scan) and groups it as
    /// it goes ([`crate::distinct::knn_distinct_by_scan`]): exact, memory bounded by one page
    /// and about `2k` groups (plus those tied at the `k`-th distance) of at most
    /// `ids_per_vector` ids, but `O(N)` per query. Stores that hold their vectors in memory
    /// override it with a scan of that copy, pgvector and Qdrant with work on their server;
    /// wrappers forward it.
    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<DistinctNeighbor>> {
        crate::distinct::knn_distinct_by_scan(self, kind, query, options, ids_per_vector).await
    }

    /// Why this store stands in for the configured backend (the Fake or Null store opened as a
    /// fallback), or `None`. The layer marks each of its health answers `degraded` with this
    /// reason, whether open or not; wrappers forward it. The default is `None`.
    fn fallback_reason(&self) -> Option<&str> {
        None
    }

    /// Told by the layer that it answered a lifecycle call itself, without this backend:
    /// `initialize` of an open store and `close` of a closed one (`outcome` `ok`), `health` and
    /// `health_detailed` of a store that is not open (`unhealthy`). For wrappers that observe
    /// every call, as [`refused`](StoreBackend::refused); the default does nothing.
    fn answered(&self, operation: &'static str, outcome: &'static str) {
        let _ = (operation, outcome);
    }
}

mod sealed {
    /// Implemented only by the layer over [`super::StoreBackend`]: no store can implement
    /// [`super::VectorStore`] around the checks.
    pub trait Layer {}

    impl<B: super::StoreBackend + ?Sized> Layer for B {}
}

/// The layer: every `StoreBackend` is a `VectorStore` that checks each call's input first, in
/// the order the contract gives (input, then lifecycle, then data), and names the backend in
/// the engine's errors.
#[async_trait]
impl<B: StoreBackend + ?Sized> VectorStore for B {
    fn backend(&self) -> &'static str {
        StoreBackend::backend(self)
    }

    fn capabilities(&self) -> Capabilities {
        StoreBackend::capabilities(self)
    }

    async fn initialize(&self) -> Result<()> {
        let life = self.lifecycle();
        let name = StoreBackend::backend(self);
        let needed = life.needs_initialize(name);
        if let Err(err) = &needed {
            self.refused("initialize", None, err);
        }
        if !needed? {
            self.answered("initialize", "ok");
            return Ok(());
        }
        named(self, StoreBackend::initialize(self).await)?;
        if !life.mark_open() && life.state() == State::Closed {
            // A close came while the backend was acquiring its resources: the close wins, and
            // what this initialize acquired after the close released is released now.
            named(self, StoreBackend::close(self).await)?;
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        if !self.lifecycle().mark_closed() {
            self.answered("close", "ok");
            return Ok(());
        }
        named(self, StoreBackend::close(self).await)
    }

    async fn health(&self) -> Health {
        let health = match self.lifecycle().unhealthy(StoreBackend::backend(self)) {
            Some(unhealthy) => {
                self.answered("health", "unhealthy");
                unhealthy
            }
            None => StoreBackend::health(self).await,
        };
        degraded(self, health)
    }

    async fn health_detailed(&self) -> Health {
        let health = match self.lifecycle().unhealthy(StoreBackend::backend(self)) {
            Some(unhealthy) => {
                self.answered("health_detailed", "unhealthy");
                unhealthy
            }
            None => StoreBackend::health_detailed(self).await,
        };
        degraded(self, health)
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        checked(self, "create_kind", Some(kind), validate::create_kind(kind, dim))?;
        open(self, "create_kind", Some(kind))?;
        named(self, StoreBackend::create_kind(self, kind, dim, metric).await)
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        checked(self, "insert", Some(kind), validate::insert(kind, id, vector, extractor_version))?;
        open(self, "insert", Some(kind))?;
        named(self, StoreBackend::insert(self, kind, id, vector, extractor_version).await)
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        checked(self, "insert_many", Some(kind), validate::insert_many(kind, items))?;
        open(self, "insert_many", Some(kind))?;
        named(self, StoreBackend::insert_many(self, kind, items).await)
    }

    async fn insert_rows(&self, kind: &str, rows: Rows<'_>) -> Result<()> {
        checked(self, "insert_rows", Some(kind), validate::insert_rows(kind, &rows))?;
        open(self, "insert_rows", Some(kind))?;
        named(self, StoreBackend::insert_rows(self, kind, rows).await)
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        checked(self, "get", Some(kind), validate::key(kind, id))?;
        open(self, "get", Some(kind))?;
        named(self, StoreBackend::get(self, kind, id).await)
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        checked(self, "delete", Some(kind), validate::key(kind, id))?;
        open(self, "delete", Some(kind))?;
        named(self, StoreBackend::delete(self, kind, id).await)
    }

    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        checked(self, "get_many", Some(kind), validate::ids(kind, ids))?;
        open(self, "get_many", Some(kind))?;
        named(self, StoreBackend::get_many(self, kind, ids).await)
    }

    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        checked(self, "delete_many", Some(kind), validate::ids(kind, ids))?;
        open(self, "delete_many", Some(kind))?;
        named(self, StoreBackend::delete_many(self, kind, ids).await)
    }

    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        checked(self, "delete_version", Some(kind), validate::delete_version(kind, extractor_version))?;
        open(self, "delete_version", Some(kind))?;
        named(self, StoreBackend::delete_version(self, kind, extractor_version).await)
    }

    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        checked(self, "expire", Some(kind), validate::expire(kind, written_before_ms, crate::now_ms()))?;
        open(self, "expire", Some(kind))?;
        named(self, StoreBackend::expire(self, kind, written_before_ms).await)
    }

    async fn knn(&self, kind: &str, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        VectorStore::knn_with(self, kind, query, &KnnOptions::new(k)).await
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        checked(self, "knn", Some(kind), validate::knn(kind, query, options))?;
        open(self, "knn", Some(kind))?;
        named(self, StoreBackend::knn_with(self, kind, query, options).await)
    }

    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        checked(self, "knn_batch", Some(kind), validate::knn_batch(kind, queries, options))?;
        open(self, "knn_batch", Some(kind))?;
        named(self, StoreBackend::knn_batch(self, kind, queries, options).await)
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        open(self, "kinds", None)?;
        named(self, StoreBackend::kinds(self).await)
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        checked(self, "scan", Some(kind), validate::scan(kind, after_id, limit))?;
        open(self, "scan", Some(kind))?;
        named(self, StoreBackend::scan(self, kind, after_id, limit).await)
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        checked(self, "drop_kind", Some(kind), validate::kind(kind))?;
        open(self, "drop_kind", Some(kind))?;
        named(self, StoreBackend::drop_kind(self, kind).await)
    }

    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        checked(self, "settle", Some(kind), validate::kind(kind))?;
        open(self, "settle", Some(kind))?;
        named(self, StoreBackend::settle(self, kind).await)
    }

    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<DistinctNeighbor>> {
        let input = validate::knn_distinct(kind, query, options, ids_per_vector);
        checked(self, "knn_distinct", Some(kind), input)?;
        open(self, "knn_distinct", Some(kind))?;
        named(self, StoreBackend::knn_distinct(self, kind, query, options, ids_per_vector).await)
    }
}

/// The outcome of the layer's checks of one call, told to the backend when it refuses.
fn checked<B: StoreBackend + ?Sized>(
    backend: &B,
    operation: &'static str,
    kind: Option<&str>,
    outcome: Result<()>,
) -> Result<()> {
    if let Err(err) = &outcome {
        backend.refused(operation, kind, err);
    }
    outcome
}

/// Ok when the store is open; else its lifecycle's `NotInitialized` or `Closed`, told to the
/// backend as a refused call. Checked after the input, before the backend sees the call.
fn open<B: StoreBackend + ?Sized>(backend: &B, operation: &'static str, kind: Option<&str>) -> Result<()> {
    checked(backend, operation, kind, backend.lifecycle().check(StoreBackend::backend(backend)))
}

/// `health` marked degraded, with the reason, when the store stands in for another.
fn degraded<B: StoreBackend + ?Sized>(backend: &B, mut health: Health) -> Health {
    if let Some(reason) = backend.fallback_reason() {
        health.degraded = true;
        health.fallback = Some(reason.to_owned());
    }
    health
}

/// `result` with the backend's name as `backend` context on an engine's error (`Unavailable`,
/// `Backend`, `Config`, `IncompatibleSchema`) that does not name it yet. Input errors and
/// lifecycle errors (whose message names the store) are left as they are.
fn named<B: StoreBackend + ?Sized, T>(backend: &B, result: Result<T>) -> Result<T> {
    result.map_err(|err| {
        let engine = matches!(
            err.kind(),
            ErrorKind::Unavailable | ErrorKind::Backend | ErrorKind::Config | ErrorKind::IncompatibleSchema
        );
        if engine && !err.context().iter().any(|(key, _)| *key == "backend") {
            err.with_context("backend", StoreBackend::backend(backend))
        } else {
            err
        }
    })
}

/// Convenience methods for every [`VectorStore`], built only on the contract.
#[async_trait]
pub trait VectorStoreExt: VectorStore {
    /// The kind's description, or `None` if the store does not know it.
    async fn kind_info(&self, kind: &str) -> Result<Option<KindInfo>> {
        crate::validate::kind(kind)?;
        Ok(self.kinds().await?.into_iter().find(|info| info.kind == kind))
    }

    /// Deletes every record of `kind` last written more than `age` ago (see
    /// [`VectorStore::expire`]); how many went. An age longer than the time since the Unix
    /// epoch removes nothing.
    async fn expire_older_than(&self, kind: &str, age: std::time::Duration) -> Result<u64> {
        let age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        self.expire(kind, crate::now_ms().saturating_sub(age_ms)).await
    }

    /// Every record of `kind`, in id order, read page by page.
    async fn scan_all(&self, kind: &str, page: usize) -> Result<Vec<VectorRecord>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = self.scan(kind, after.as_deref(), page.max(1)).await?;
            let Some(last) = batch.last() else { break };
            if let Some(previous) = &after
                && batch.first().is_some_and(|first| first.id.as_str() <= previous.as_str())
            {
                // A store that does not honour after_id would make this loop forever.
                return Err(crate::Error::new(
                    crate::ErrorKind::Backend,
                    format!("scan of kind {kind:?} returned ids not after {:?}", crate::validate::shown(previous)),
                ));
            }
            after = Some(last.id.clone());
            let full = batch.len() == page.max(1);
            all.extend(batch);
            if !full {
                break;
            }
        }
        Ok(all)
    }
}

impl<S: VectorStore + ?Sized> VectorStoreExt for S {}
