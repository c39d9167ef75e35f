//! The [`VectorStore`] contract every backend implements, and [`VectorStoreExt`], the
//! convenience methods built on it.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::Result;
use crate::health::{Capabilities, Health};
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, Rows, VectorRecord};

/// An async store of vectors keyed by `(kind, id)`, searched by nearest neighbours within one kind.
///
/// Used as `Arc<dyn VectorStore>`; obtain one from `vectorstore::open_from_env` or
/// `vectorstore::open` (the facade crate), never by naming a backend type in application code.
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
pub trait VectorStore: Send + Sync + Debug {
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
    ///
    /// The default loops over `insert`, which records the call's time for every item;
    /// backends override it with a batched write that keeps given times.
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        crate::validate::insert_many(kind, items)?;
        for item in items {
            self.insert(kind, &item.id, &item.vector, item.extractor_version).await?;
        }
        Ok(())
    }

    /// Inserts or replaces rows given as one row-major buffer (an array of shape (rows, dim),
    /// see [`Rows`]): exactly what [`insert_many`](VectorStore::insert_many) does with one
    /// [`NewVector`] per row, written at the time of the call: the same checks, the same
    /// errors (naming the bad row's index and id), the same atomicity.
    ///
    /// The default builds those items and calls `insert_many`, which checks every row (only
    /// the kind and the count are checked first, before anything is built); stores that can
    /// read rows in place (the Fake) override it and skip building a `Vec` per row.
    async fn insert_rows(&self, kind: &str, rows: Rows<'_>) -> Result<()> {
        crate::validate::batch(kind, rows.len())?;
        self.insert_many(kind, &rows.to_new_vectors()).await
    }

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
    async fn knn(&self, kind: &str, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        self.knn_with(kind, query, &KnnOptions::new(k)).await
    }

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
    ///
    /// The default searches one query after another; stores override it with a batched search
    /// (the Fake and the sqlite_vec copy scan each block of stored vectors for every query while
    /// it is in cache).
    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        crate::validate::knn_batch(kind, queries, options)?;
        let mut answers = Vec::with_capacity(queries.len());
        for (index, query) in queries.iter().enumerate() {
            let answer = self.knn_with(kind, query, options).await.map_err(|err| match err.kind() {
                // Checked against the kind: the query is at fault, and the error says which.
                crate::ErrorKind::DimensionMismatch | crate::ErrorKind::InvalidVector => {
                    crate::validate::in_query(index, err)
                }
                _ => err,
            })?;
            answers.push(answer);
        }
        Ok(answers)
    }

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
    /// load leaves to build once at its end (pgvector); returns how long that work took, or
    /// `None` when nothing was pending (always, for most stores, and for an unknown kind).
    /// Never needed for correct answers, only for search speed: call it after a bulk load to
    /// have the index ready (`vectorstore copy` and `import` do, and report the time).
    ///
    /// The default, for stores that defer nothing, reads one record of the kind so that the
    /// kind and the store's lifecycle are checked as for every operation; wrappers forward it.
    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        crate::validate::kind(kind)?;
        self.scan(kind, None, 1).await?;
        Ok(None)
    }
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
