//! [`FakeVectorStore`]: the exact in-memory store, and the oracle every other store is
//! compared with.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::distance;
use crate::error::Result;
use crate::health::{Capabilities, Health};
use crate::lifecycle::Lifecycle;
use crate::limits::MAX_KINDS;
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, VectorRecord};
use crate::store::VectorStore;
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
    kinds: RwLock<BTreeMap<String, KindData>>,
}

/// One kind's vectors: row `slot` is `data[slot * dim..(slot + 1) * dim]`.
#[derive(Debug)]
struct KindData {
    dim: usize,
    metric: Metric,
    data: Vec<f32>,
    ids: Vec<Arc<str>>,
    versions: Vec<u32>,
    /// Squared norms, kept for cosine.
    norms: Vec<f32>,
    /// id -> slot, ordered for keyset scans.
    slots: BTreeMap<Arc<str>, usize>,
}

impl KindData {
    fn new(dim: usize, metric: Metric) -> Self {
        KindData {
            dim,
            metric,
            data: Vec::new(),
            ids: Vec::new(),
            versions: Vec::new(),
            norms: Vec::new(),
            slots: BTreeMap::new(),
        }
    }

    fn info(&self, kind: &str) -> KindInfo {
        KindInfo::new(kind, self.dim, self.metric).with_count(self.ids.len() as u64)
    }

    /// The info with the count per extractor version, as `kinds()` reports it.
    fn info_with_versions(&self, kind: &str) -> KindInfo {
        let mut info = self.info(kind);
        for &version in &self.versions {
            *info.versions.entry(version).or_insert(0) += 1;
        }
        info
    }

    fn row(&self, slot: usize) -> &[f32] {
        &self.data[slot * self.dim..(slot + 1) * self.dim]
    }

    fn upsert(&mut self, id: &str, vector: &[f32], version: u32) {
        let norm = distance::norm_squared(vector);
        if let Some(&slot) = self.slots.get(id) {
            self.data[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(vector);
            self.versions[slot] = version;
            self.norms[slot] = norm;
            return;
        }
        let id: Arc<str> = Arc::from(id);
        self.slots.insert(id.clone(), self.ids.len());
        self.ids.push(id);
        self.versions.push(version);
        self.norms.push(norm);
        self.data.extend_from_slice(vector);
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slots.remove(id) else { return false };
        let last = self.ids.len() - 1;
        if slot != last {
            // Move the last row into the hole so the storage stays contiguous.
            self.data.copy_within(last * self.dim..(last + 1) * self.dim, slot * self.dim);
            self.ids.swap(slot, last);
            self.versions.swap(slot, last);
            self.norms.swap(slot, last);
            if let Some(moved) = self.slots.get_mut(&self.ids[slot]) {
                *moved = slot;
            }
        }
        self.ids.pop();
        self.versions.pop();
        self.norms.pop();
        self.data.truncate(last * self.dim);
        true
    }

    fn record(&self, kind: &str, slot: usize) -> VectorRecord {
        VectorRecord {
            kind: kind.to_owned(),
            id: self.ids[slot].to_string(),
            vector: self.row(slot).to_vec(),
            dim: self.dim,
            extractor_version: self.versions[slot],
        }
    }

    fn search(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Vec<Neighbor> {
        #[cfg(target_arch = "x86_64")]
        if distance::wide_simd() {
            // SAFETY: the CPU supports AVX2 (checked by wide_simd).
            return unsafe { self.search_avx2(kind, query, options) };
        }
        self.search_inline(kind, query, options)
    }

    /// The scan compiled for AVX2, so the inlined kernels use 256-bit registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn search_avx2(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Vec<Neighbor> {
        self.search_inline(kind, query, options)
    }

    #[inline(always)]
    fn search_inline(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Vec<Neighbor> {
        let k = options.k.min(self.ids.len());
        if k == 0 {
            return Vec::new();
        }
        let query_norm = distance::dot_inline(query, query);
        let mut best: BinaryHeap<Hit<'_>> = BinaryHeap::with_capacity(k + 1);
        for (slot, row) in self.data.chunks_exact(self.dim).enumerate() {
            if options.extractor_version.is_some_and(|v| v != self.versions[slot]) {
                continue;
            }
            let d = match self.metric {
                Metric::L2 => distance::l2_squared_inline(query, row).sqrt(),
                Metric::Cosine => {
                    distance::cosine_from_parts(distance::dot_inline(query, row), query_norm, self.norms[slot])
                }
                Metric::Dot => -distance::dot_inline(query, row),
            } + 0.0;
            if options.max_distance.is_some_and(|max| d > max) {
                continue;
            }
            if best.len() < k {
                best.push(Hit { distance: d, id: &self.ids[slot] });
            } else if let Some(mut worst) = best.peek_mut() {
                let hit = Hit { distance: d, id: &self.ids[slot] };
                if hit < *worst {
                    *worst = hit;
                }
            }
        }
        best.into_sorted_vec()
            .into_iter()
            .map(|hit| Neighbor { kind: kind.to_owned(), id: hit.id.to_owned(), distance: hit.distance })
            .collect()
    }
}

/// A candidate during a scan, ordered by the contract's (distance, id) order.
struct Hit<'a> {
    distance: f32,
    id: &'a str,
}

impl Ord for Hit<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        distance::cmp_hits(self.distance, self.id, other.distance, other.id)
    }
}

impl PartialOrd for Hit<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Hit<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Hit<'_> {}

impl Default for FakeVectorStore {
    fn default() -> Self {
        FakeVectorStore::new()
    }
}

impl FakeVectorStore {
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
            kinds: RwLock::new(BTreeMap::new()),
        }
    }

    /// A Fake standing in for a configured backend that cannot be had; its health says
    /// `degraded: true` with `reason` as the fallback explanation.
    pub fn fallback(metric: Metric, reason: impl Into<String>) -> Self {
        FakeVectorStore { fallback: Some(reason.into()), ..FakeVectorStore::with_metric(metric) }
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, BTreeMap<String, KindData>>> {
        self.life.check(FAKE)?;
        // A panic while holding the lock cannot leave a half-written row: every mutation is
        // completed by infallible code after validation, so a poisoned lock is still consistent.
        Ok(self.kinds.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, BTreeMap<String, KindData>>> {
        self.life.check(FAKE)?;
        Ok(self.kinds.write().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Finds or creates `kind` for a write of `vector`, checking it against the kind.
fn kind_for_write<'a>(
    kinds: &'a mut BTreeMap<String, KindData>,
    kind: &str,
    dim: usize,
    metric: Metric,
) -> Result<&'a mut KindData> {
    if !kinds.contains_key(kind) {
        if kinds.len() >= MAX_KINDS {
            return Err(validate::too_many_kinds(kind));
        }
        kinds.insert(kind.to_owned(), KindData::new(dim, metric));
    }
    Ok(kinds.get_mut(kind).expect("inserted above"))
}

#[async_trait]
impl VectorStore for FakeVectorStore {
    fn backend(&self) -> &'static str {
        FAKE
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::EXACT_IN_MEMORY
    }

    async fn initialize(&self) -> Result<()> {
        if self.life.needs_initialize(FAKE)? {
            if let Some(reason) = &self.fallback {
                tracing::warn!(reason = %reason, "vector store degraded: using the in-memory fake store");
            }
            self.life.mark_open();
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        if self.life.mark_closed() {
            self.kinds.write().unwrap_or_else(|p| p.into_inner()).clear();
        }
        Ok(())
    }

    async fn health(&self) -> Health {
        self.health_detailed().await
    }

    /// The same as `health`: an in-memory store has no location to show.
    async fn health_detailed(&self) -> Health {
        let mut health = match self.life.unhealthy(FAKE) {
            Some(unhealthy) => unhealthy,
            None => {
                let kinds = self.kinds.read().unwrap_or_else(|p| p.into_inner());
                let vectors = kinds.values().map(|k| k.ids.len() as u64).sum();
                Health::ok(FAKE, kinds.len() as u64, vectors)
            }
        };
        if let Some(reason) = &self.fallback {
            health.degraded = true;
            health.fallback = Some(reason.clone());
        }
        health
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        validate::create_kind(kind, dim)?;
        let mut kinds = self.write()?;
        if let Some(existing) = kinds.get(kind) {
            let info = existing.info(kind);
            validate::same_kind(&info, dim, metric)?;
            return Ok(info);
        }
        Ok(kind_for_write(&mut kinds, kind, dim, metric)?.info(kind))
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        validate::insert(kind, id, vector, extractor_version)?;
        let mut kinds = self.write()?;
        match kinds.get(kind) {
            Some(existing) => validate::against_kind(&existing.info(kind), vector)?,
            None => validate::against_kind(&KindInfo::new(kind, vector.len(), self.default_metric), vector)?,
        }
        kind_for_write(&mut kinds, kind, vector.len(), self.default_metric)?.upsert(id, vector, extractor_version);
        Ok(())
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        validate::insert_many(kind, items)?;
        let Some(first) = items.first() else {
            return self.life.check(FAKE);
        };
        let mut kinds = self.write()?;
        let info = match kinds.get(kind) {
            Some(existing) => existing.info(kind),
            None => KindInfo::new(kind, first.vector.len(), self.default_metric),
        };
        validate::batch_against_kind(&info, items)?;
        let data = kind_for_write(&mut kinds, kind, info.dim, info.metric)?;
        data.data.reserve(items.len() * info.dim);
        for item in items {
            data.upsert(&item.id, &item.vector, item.extractor_version);
        }
        Ok(())
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        validate::key(kind, id)?;
        let kinds = self.read()?;
        Ok(kinds.get(kind).and_then(|data| data.slots.get(id).map(|&slot| data.record(kind, slot))))
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        validate::key(kind, id)?;
        let mut kinds = self.write()?;
        Ok(kinds.get_mut(kind).is_some_and(|data| data.remove(id)))
    }

    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        validate::ids(kind, ids)?;
        let kinds = self.read()?;
        let Some(data) = kinds.get(kind) else { return Ok(vec![None; ids.len()]) };
        Ok(ids.iter().map(|id| data.slots.get(*id).map(|&slot| data.record(kind, slot))).collect())
    }

    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        validate::ids(kind, ids)?;
        let mut kinds = self.write()?;
        let Some(data) = kinds.get_mut(kind) else { return Ok(0) };
        // A repeated id is found only the first time, so it counts once.
        Ok(ids.iter().filter(|id| data.remove(id)).count() as u64)
    }

    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        validate::delete_version(kind, extractor_version)?;
        let mut kinds = self.write()?;
        let Some(data) = kinds.get_mut(kind) else { return Ok(0) };
        let doomed: Vec<Arc<str>> = data
            .ids
            .iter()
            .zip(&data.versions)
            .filter(|&(_, &version)| version == extractor_version)
            .map(|(id, _)| id.clone())
            .collect();
        Ok(doomed.iter().filter(|id| data.remove(id)).count() as u64)
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        validate::knn(kind, query, options)?;
        let kinds = self.read()?;
        let Some(data) = kinds.get(kind) else { return Ok(Vec::new()) };
        validate::against_kind(&data.info(kind), query)?;
        Ok(data.search(kind, query, options))
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        let kinds = self.read()?;
        Ok(kinds.iter().map(|(name, data)| data.info_with_versions(name)).collect())
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        validate::scan(kind, after_id, limit)?;
        let kinds = self.read()?;
        let Some(data) = kinds.get(kind) else { return Ok(Vec::new()) };
        let lower = after_id.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(data
            .slots
            .range::<str, _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|(_, &slot)| data.record(kind, slot))
            .collect())
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        validate::kind(kind)?;
        Ok(self.write()?.remove(kind).is_some())
    }

    /// Nothing is ever deferred: every search scans the kind exactly.
    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        validate::kind(kind)?;
        drop(self.read()?);
        Ok(None)
    }
}
