//! [`FakeVectorStore`]: the exact in-memory store, and the oracle every other store is
//! compared with.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::distinct::DistinctNeighbor;
use crate::error::Result;
use crate::exact_index::ExactIndex;
use crate::health::{Capabilities, Health};
use crate::lifecycle::Lifecycle;
use crate::limits::MAX_KINDS;
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, Rows, VectorRecord};
use crate::store::StoreBackend;
use crate::validate;

/// Registered name of the Fake store.
pub const FAKE: &str = "fake";

/// Exact, in-memory store implementing the whole contract with every metric.
///
/// Each kind keeps its vectors in one contiguous `Vec<f32>`, so a search is one tight scan.
/// Nothing persists. It is the reference implementation: the conformance suite compares every
/// other store's answers with this one's.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), vectorstore_core::Error> {
/// use vectorstore_core::{FakeVectorStore, VectorStore};
///
/// let store = FakeVectorStore::new();
/// store.initialize().await?;
/// store.insert("ja3", "session-1", &[1.0, 0.0], 1).await?;
/// store.insert("ja3", "session-2", &[0.0, 1.0], 1).await?;
/// let hits = store.knn("ja3", &[0.9, 0.1], 1).await?;
/// assert_eq!(hits[0].id, "session-1");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FakeVectorStore {
    life: Lifecycle,
    default_metric: Metric,
    fallback: Option<String>,
    /// Whether searches skip rows on their 8-bit bounds (see [`ExactIndex::set_pruning`]).
    pruning: AtomicBool,
    kinds: RwLock<BTreeMap<String, ExactIndex>>,
}

impl Default for FakeVectorStore {
    fn default() -> Self {
        FakeVectorStore::new()
    }
}

impl FakeVectorStore {
    /// Writes a validated, non-empty batch under one write lock: `check` sees the kind (as the
    /// batch creates it when new, of dimension `dim`), then every row `(id, vector, extractor
    /// version, write time or now)` is inserted or replaced in order.
    fn write_batch<'r>(
        &self,
        kind: &str,
        dim: usize,
        check: impl FnOnce(&KindInfo) -> Result<()>,
        rows: impl ExactSizeIterator<Item = (&'r str, &'r [f32], u32, Option<u64>)>,
    ) -> Result<()> {
        let mut kinds = self.write();
        let info = match kinds.get(kind) {
            Some(existing) => existing.info(kind),
            None => KindInfo::new(kind, dim, self.default_metric),
        };
        check(&info)?;
        let data = kind_for_write(&mut kinds, kind, info.dim, info.metric, self.pruning())?;
        data.reserve(rows.len());
        let now = crate::now_ms();
        for (id, vector, version, written_at_ms) in rows {
            data.upsert(id, vector, version, written_at_ms.unwrap_or(now));
        }
        Ok(())
    }

    /// An empty store whose new kinds default to l2.
    pub fn new() -> Self {
        FakeVectorStore::with_metric(Metric::L2)
    }

    /// An empty store whose kinds created by a first insert use `metric`.
    pub fn with_metric(metric: Metric) -> Self {
        FakeVectorStore {
            life: Lifecycle::new(),
            default_metric: metric,
            fallback: None,
            pruning: AtomicBool::new(true),
            kinds: RwLock::new(BTreeMap::new()),
        }
    }

    /// Turns off (or back on) the skipping of rows that a large kind's 8-bit copy proves too
    /// far, in every kind now and later: searches then scan every vector, which the benchmark
    /// times beside the default. Answers are identical either way, bit for bit.
    pub fn set_pruning(&self, on: bool) {
        self.pruning.store(on, Ordering::Relaxed);
        for index in self.write().values_mut() {
            index.set_pruning(on);
        }
    }

    fn pruning(&self) -> bool {
        self.pruning.load(Ordering::Relaxed)
    }

    /// A Fake standing in for a configured backend that cannot be had; its health says
    /// `degraded: true` with `reason` as the fallback explanation.
    pub fn fallback(metric: Metric, reason: impl Into<String>) -> Self {
        FakeVectorStore { fallback: Some(reason.into()), ..FakeVectorStore::with_metric(metric) }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, ExactIndex>> {
        // A panic while holding the lock cannot leave a half-written row: every mutation is
        // completed by infallible code after validation, so a poisoned lock is still consistent.
        self.kinds.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, ExactIndex>> {
        self.kinds.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Finds or creates `kind` for a write of `vector`, checking it against the kind.
fn kind_for_write<'a>(
    kinds: &'a mut BTreeMap<String, ExactIndex>,
    kind: &str,
    dim: usize,
    metric: Metric,
    pruning: bool,
) -> Result<&'a mut ExactIndex> {
    if !kinds.contains_key(kind) {
        if kinds.len() >= MAX_KINDS {
            return Err(validate::too_many_kinds(kind));
        }
        let mut index = ExactIndex::new(dim, metric);
        index.set_pruning(pruning);
        kinds.insert(kind.to_owned(), index);
    }
    Ok(kinds.get_mut(kind).expect("inserted above"))
}

#[async_trait]
impl StoreBackend for FakeVectorStore {
    fn backend(&self) -> &'static str {
        FAKE
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::EXACT_IN_MEMORY
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    /// Nothing to acquire; a fallback says so once.
    async fn initialize(&self) -> Result<()> {
        if let Some(reason) = &self.fallback {
            tracing::warn!(reason = %reason, "vector store degraded: using the in-memory fake store");
        }
        Ok(())
    }

    /// Frees the vectors. A call that passed the layer's check just before the close may still
    /// write into the emptied map, which nothing reads any more.
    async fn close(&self) -> Result<()> {
        self.write().clear();
        Ok(())
    }

    async fn health(&self) -> Health {
        self.health_detailed().await
    }

    /// The same as `health`: an in-memory store has no location to show.
    async fn health_detailed(&self) -> Health {
        let kinds = self.read();
        let vectors = kinds.values().map(|k| k.len() as u64).sum();
        Health::ok(FAKE, kinds.len() as u64, vectors)
    }

    fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        let mut kinds = self.write();
        if let Some(existing) = kinds.get(kind) {
            let info = existing.info(kind);
            validate::same_kind(&info, dim, metric)?;
            return Ok(info);
        }
        Ok(kind_for_write(&mut kinds, kind, dim, metric, self.pruning())?.info(kind))
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        let mut kinds = self.write();
        match kinds.get(kind) {
            Some(existing) => validate::against_kind(&existing.info(kind), vector)?,
            None => validate::against_kind(&KindInfo::new(kind, vector.len(), self.default_metric), vector)?,
        }
        kind_for_write(&mut kinds, kind, vector.len(), self.default_metric, self.pruning())?.upsert(
            id,
            vector,
            extractor_version,
            crate::now_ms(),
        );
        Ok(())
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        let Some(first) = items.first() else { return Ok(()) };
        let rows = items
            .iter()
            .map(|item| (item.id.as_str(), item.vector.as_slice(), item.extractor_version, item.written_at_ms));
        self.write_batch(kind, first.vector.len(), |info| validate::batch_against_kind(info, items), rows)
    }

    async fn insert_rows(&self, kind: &str, rows: Rows<'_>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let each = rows.iter().map(|(id, vector, version)| (id, vector, version, None));
        self.write_batch(kind, rows.dim(), |info| validate::rows_against_kind(info, &rows), each)
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        let kinds = self.read();
        Ok(kinds.get(kind).and_then(|data| data.get(kind, id)))
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        let mut kinds = self.write();
        Ok(kinds.get_mut(kind).is_some_and(|data| data.remove(id)))
    }

    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        let kinds = self.read();
        let Some(data) = kinds.get(kind) else { return Ok(vec![None; ids.len()]) };
        Ok(ids.iter().map(|id| data.get(kind, id)).collect())
    }

    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        let mut kinds = self.write();
        let Some(data) = kinds.get_mut(kind) else { return Ok(0) };
        // A repeated id is found only the first time, so it counts once.
        Ok(ids.iter().filter(|id| data.remove(id)).count() as u64)
    }

    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        let mut kinds = self.write();
        let Some(data) = kinds.get_mut(kind) else { return Ok(0) };
        Ok(data.remove_version(extractor_version))
    }

    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        let mut kinds = self.write();
        let Some(data) = kinds.get_mut(kind) else { return Ok(0) };
        Ok(data.remove_written_before(written_before_ms))
    }

    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        let kinds = self.read();
        let Some(data) = kinds.get(kind) else { return Ok(vec![Vec::new(); queries.len()]) };
        validate::queries_against_kind(&data.info(kind), queries)?;
        Ok(data.search_batch(kind, queries, options))
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        let kinds = self.read();
        let Some(data) = kinds.get(kind) else { return Ok(Vec::new()) };
        validate::against_kind(&data.info(kind), query)?;
        Ok(data.search(kind, query, options))
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        let kinds = self.read();
        Ok(kinds.iter().map(|(name, data)| data.info_with_versions(name)).collect())
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        let kinds = self.read();
        let Some(data) = kinds.get(kind) else { return Ok(Vec::new()) };
        Ok(data.page(kind, after_id, limit))
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        Ok(self.write().remove(kind).is_some())
    }

    /// One exact scan of the kind in memory (see [`ExactIndex::search_distinct`]).
    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<DistinctNeighbor>> {
        let kinds = self.read();
        let Some(data) = kinds.get(kind) else { return Ok(Vec::new()) };
        validate::against_kind(&data.info(kind), query)?;
        Ok(data.search_distinct(kind, query, options, ids_per_vector))
    }
}
