//! Spans and metrics for every operation of every store.
//!
//! [`Instrumented`] wraps a store: each operation runs inside a `tracing` span named
//! `vectorstore` with the fields `backend`, `operation` and `kind` (never an id, a vector or a
//! path), and records, through the [`metrics`] facade:
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | [`OPERATIONS_TOTAL`] | counter | `backend`, `operation`, `outcome` | operations finished |
//! | [`OPERATION_SECONDS`] | histogram | `backend`, `operation`, `outcome` | their latency in seconds |
//! | [`ITEMS_TOTAL`] | counter | `backend`, `operation` | vectors written, records or hits returned, records removed, by successful operations |
//!
//! `outcome` is `ok`, or the failed operation's [`ErrorKind::as_str`](crate::ErrorKind::as_str)
//! (`unavailable`, `dimension_mismatch`, ...); `health` and `health_detailed` count as `ok` or
//! `unhealthy`.
//! Operations are the contract's method names (`insert`, `insert_many`, `knn`, `scan`, ...;
//! `knn` and `knn_with` both count as `knn`).
//!
//! The library only emits: with no `metrics` recorder installed the calls cost next to
//! nothing, and an application (or the CLI's `--metrics-addr`) installs the exporter it wants.
//! `vectorstore::open` returns every store wrapped, so applications get this without asking; a
//! store built directly from a backend type can be wrapped with [`Instrumented::wrap`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tracing::Instrument as _;

use crate::error::Error;
use crate::error::Result;
use crate::health::{Capabilities, Health};
use crate::lifecycle::Lifecycle;
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, Rows, VectorRecord};
use crate::store::StoreBackend;

/// Counter of finished operations, by `backend`, `operation` and `outcome`.
pub const OPERATIONS_TOTAL: &str = "vectorstore_operations_total";
/// Histogram of operation latencies in seconds, by `backend`, `operation` and `outcome`.
pub const OPERATION_SECONDS: &str = "vectorstore_operation_duration_seconds";
/// Counter of items handled by successful operations (vectors written, records or hits
/// returned, records or kinds removed), by `backend` and `operation`.
pub const ITEMS_TOTAL: &str = "vectorstore_items_total";

/// A store whose every operation emits a `tracing` span and `metrics` (see the module docs).
/// Everything else, `Debug` included, is the wrapped store's.
///
/// It wraps the backend under the contract's layer, so a call is checked once; calls the layer
/// refuses are counted too, with their error kind as outcome (see [`StoreBackend::refused`]).
pub struct Instrumented {
    inner: Arc<dyn StoreBackend>,
}

impl Instrumented {
    /// `store`, instrumented, as the store applications use.
    pub fn wrap(store: Arc<dyn StoreBackend>) -> Arc<dyn crate::store::VectorStore> {
        Arc::new(Instrumented { inner: store })
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn StoreBackend> {
        &self.inner
    }

    /// Runs `operation` in its span and records its outcome, latency and item count.
    async fn observe<T>(
        &self,
        operation: &'static str,
        kind: Option<&str>,
        items: impl FnOnce(&T) -> u64,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let backend = self.inner.backend();
        let span = tracing::info_span!("vectorstore", backend, operation, kind = kind.map(shown_kind));
        let started = Instant::now();
        let result = call.instrument(span).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.kind().as_str(),
        };
        record(backend, operation, outcome, started);
        if let Ok(value) = &result {
            let count = items(value);
            if count > 0 {
                metrics::counter!(ITEMS_TOTAL, "backend" => backend, "operation" => operation).increment(count);
            }
        }
        result
    }
}

/// The kind as a span shows it: a valid name verbatim, anything else (which fails validation
/// anyway) as a placeholder, so a span never carries arbitrary caller input.
fn shown_kind(kind: &str) -> &str {
    if crate::validate::kind(kind).is_ok() { kind } else { "<invalid>" }
}

fn record(backend: &'static str, operation: &'static str, outcome: &'static str, started: Instant) {
    metrics::counter!(OPERATIONS_TOTAL, "backend" => backend, "operation" => operation, "outcome" => outcome)
        .increment(1);
    metrics::histogram!(OPERATION_SECONDS, "backend" => backend, "operation" => operation, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

fn len<T>(items: &[T]) -> u64 {
    count(items.len())
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl fmt::Debug for Instrumented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait]
impl StoreBackend for Instrumented {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn lifecycle(&self) -> &Lifecycle {
        self.inner.lifecycle()
    }

    fn fallback_reason(&self) -> Option<&str> {
        self.inner.fallback_reason()
    }

    async fn initialize(&self) -> Result<()> {
        self.observe("initialize", None, |_| 0, self.inner.initialize()).await
    }

    async fn close(&self) -> Result<()> {
        self.observe("close", None, |_| 0, self.inner.close()).await
    }

    async fn health(&self) -> Health {
        let backend = self.inner.backend();
        let span = tracing::info_span!("vectorstore", backend, operation = "health");
        let started = Instant::now();
        let health = self.inner.health().instrument(span).await;
        record(backend, "health", if health.ok { "ok" } else { "unhealthy" }, started);
        health
    }

    async fn health_detailed(&self) -> Health {
        let backend = self.inner.backend();
        let span = tracing::info_span!("vectorstore", backend, operation = "health_detailed");
        let started = Instant::now();
        let health = self.inner.health_detailed().instrument(span).await;
        record(backend, "health_detailed", if health.ok { "ok" } else { "unhealthy" }, started);
        health
    }

    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        let found = |records: &Vec<Option<VectorRecord>>| records.iter().flatten().count() as u64;
        self.observe("get_many", Some(kind), found, self.inner.get_many(kind, ids)).await
    }

    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        self.observe("delete_many", Some(kind), |removed| *removed, self.inner.delete_many(kind, ids)).await
    }

    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        let removed = |removed: &u64| *removed;
        self.observe("delete_version", Some(kind), removed, self.inner.delete_version(kind, extractor_version)).await
    }

    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        self.observe("expire", Some(kind), |removed| *removed, self.inner.expire(kind, written_before_ms)).await
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        self.observe("create_kind", Some(kind), |_| 0, self.inner.create_kind(kind, dim, metric)).await
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        self.observe("insert", Some(kind), |_| 1, self.inner.insert(kind, id, vector, extractor_version)).await
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        self.observe("insert_many", Some(kind), |_| len(items), self.inner.insert_many(kind, items)).await
    }

    async fn insert_rows(&self, kind: &str, rows: Rows<'_>) -> Result<()> {
        let written = count(rows.len());
        self.observe("insert_rows", Some(kind), |_| written, self.inner.insert_rows(kind, rows)).await
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        self.observe("get", Some(kind), |found: &Option<_>| u64::from(found.is_some()), self.inner.get(kind, id)).await
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        self.observe("delete", Some(kind), |removed| u64::from(*removed), self.inner.delete(kind, id)).await
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        self.observe("knn", Some(kind), |hits: &Vec<_>| len(hits), self.inner.knn_with(kind, query, options)).await
    }

    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        let hits = |answers: &Vec<Vec<Neighbor>>| answers.iter().map(|hits| hits.len() as u64).sum();
        self.observe("knn_batch", Some(kind), hits, self.inner.knn_batch(kind, queries, options)).await
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.observe("kinds", None, |_| 0, self.inner.kinds()).await
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        self.observe("scan", Some(kind), |records: &Vec<_>| len(records), self.inner.scan(kind, after_id, limit)).await
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        self.observe("drop_kind", Some(kind), |dropped| u64::from(*dropped), self.inner.drop_kind(kind)).await
    }

    async fn settle(&self, kind: &str) -> Result<Option<Duration>> {
        self.observe("settle", Some(kind), |_| 0, self.inner.settle(kind)).await
    }

    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<crate::DistinctNeighbor>> {
        let groups = |answer: &Vec<crate::DistinctNeighbor>| len(answer);
        let search = self.inner.knn_distinct(kind, query, options, ids_per_vector);
        self.observe("knn_distinct", Some(kind), groups, search).await
    }

    /// A span and the counts of a call the layer refused, as `observe` records a failed one.
    fn refused(&self, operation: &'static str, kind: Option<&str>, error: &Error) {
        let backend = self.inner.backend();
        let span = tracing::info_span!("vectorstore", backend, operation, kind = kind.map(shown_kind));
        let _entered = span.enter();
        record(backend, operation, error.kind().as_str(), Instant::now());
    }

    fn answered(&self, operation: &'static str, outcome: &'static str) {
        let backend = self.inner.backend();
        let span = tracing::info_span!("vectorstore", backend, operation);
        let _entered = span.enter();
        record(backend, operation, outcome, Instant::now());
    }
}
