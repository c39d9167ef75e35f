//! A store with deliberate faults, wrapped around a working one: to show that the conformance
//! suite, `verify`, the soak and resumable copies notice what they exist to notice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use vectorstore_core::limits::MAX_K;
use vectorstore_core::{
    Capabilities, Error, ErrorKind, FakeVectorStore, Health, KindInfo, KnnOptions, Lifecycle, Metric, Neighbor,
    NewVector, Result, StoreBackend, VectorRecord, async_trait,
};

/// One deliberate bug of a [`FaultyStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Every `n`-th single insert is acknowledged but not written (a silently lost write).
    LoseEveryNthInsert(usize),
    /// After `n` successful `insert_many` calls every further one fails with `Unavailable`
    /// (a connection lost midway through a copy); see [`FaultyStore::heal`].
    FailBatchesAfter(usize),
    /// Equal distances are ordered by id descending.
    ReverseTies,
    /// The `extractor_version` filter of a search is ignored.
    IgnoreVersionFilter,
    /// A scan page after a cursor misses its first record.
    ScanSkipsAfterCursor,
    /// Distances are squared (as an l2 kernel that forgets the square root).
    SquareDistances,
    /// `get_many` answers only the records found, in id order (not one entry per requested id).
    GetManyOnlyFound,
    /// `delete_version` removes every record of the kind, whatever its version.
    DeleteVersionIgnoresVersion,
    /// `expire` removes every record of the kind written before now, whatever the cutoff.
    ExpireIgnoresCutoff,
    /// `insert_many` records the call's time even when an item gives its own (a copy that
    /// makes old records new).
    ForgetsGivenWriteTimes,
    /// The default health carries the location (`detail.path`), as the detailed view does.
    HealthShowsLocation,
}

/// A store that forwards to `inner` except where its [`Fault`]s say otherwise. It is a
/// [`StoreBackend`], used under the contract's layer like every store: its faults are of what a
/// backend does, not of the input checks, which no store can skip.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn StoreBackend>,
    faults: Vec<Fault>,
    single_inserts: AtomicUsize,
    batches: AtomicUsize,
    healed: std::sync::atomic::AtomicBool,
}

impl FaultyStore {
    /// `inner` with `faults`.
    pub fn new(inner: Arc<dyn StoreBackend>, faults: &[Fault]) -> FaultyStore {
        FaultyStore {
            inner,
            faults: faults.to_vec(),
            single_inserts: AtomicUsize::new(0),
            batches: AtomicUsize::new(0),
            healed: Default::default(),
        }
    }

    /// An initialised, empty Fake with `faults`.
    pub async fn on_fake(faults: &[Fault]) -> FaultyStore {
        let inner = FakeVectorStore::new();
        // Through the layer, which opens it: the backend's own initialize only acquires.
        vectorstore_core::VectorStore::initialize(&inner).await.expect("a new Fake initialises");
        FaultyStore::new(Arc::new(inner), faults)
    }

    /// Ends [`Fault::FailBatchesAfter`]: batch writes succeed again (the connection is back).
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    fn lose_every(&self) -> Option<usize> {
        self.faults.iter().find_map(|fault| match fault {
            Fault::LoseEveryNthInsert(n) if *n > 0 => Some(*n),
            _ => None,
        })
    }

    fn batch_limit(&self) -> Option<usize> {
        if self.healed.load(Ordering::SeqCst) {
            return None;
        }
        self.faults.iter().find_map(|fault| match fault {
            Fault::FailBatchesAfter(n) => Some(*n),
            _ => None,
        })
    }
}

#[async_trait]
impl StoreBackend for FaultyStore {
    fn backend(&self) -> &'static str {
        "faulty"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn lifecycle(&self) -> &Lifecycle {
        self.inner.lifecycle()
    }
    async fn initialize(&self) -> Result<()> {
        self.inner.initialize().await
    }
    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
    async fn health(&self) -> Health {
        let mut health = self.inner.health().await;
        health.backend = self.backend().into();
        if self.has(Fault::HealthShowsLocation) {
            health.detail.insert("path".into(), "/var/lib/decnet/vectors.sqlite".into());
        }
        health
    }
    async fn health_detailed(&self) -> Health {
        let mut health = self.inner.health_detailed().await;
        health.backend = self.backend().into();
        health
    }
    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        self.inner.create_kind(kind, dim, metric).await
    }
    async fn insert(&self, kind: &str, id: &str, vector: &[f32], version: u32) -> Result<()> {
        let n = self.single_inserts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.lose_every().is_some_and(|every| n.is_multiple_of(every)) {
            return Ok(());
        }
        self.inner.insert(kind, id, vector, version).await
    }
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        if let Some(limit) = self.batch_limit()
            && self.batches.fetch_add(1, Ordering::SeqCst) >= limit
        {
            return Err(Error::new(ErrorKind::Unavailable, "connection lost (injected fault)"));
        }
        if self.has(Fault::ForgetsGivenWriteTimes) {
            let items: Vec<NewVector> =
                items.iter().map(|item| NewVector { written_at_ms: None, ..item.clone() }).collect();
            return self.inner.insert_many(kind, &items).await;
        }
        self.inner.insert_many(kind, items).await
    }
    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        self.inner.get(kind, id).await
    }
    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        self.inner.delete(kind, id).await
    }
    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        let mut found = self.inner.get_many(kind, ids).await?;
        if self.has(Fault::GetManyOnlyFound) {
            found.retain(Option::is_some);
            found.sort_by(|a, b| a.as_ref().map(|r| &r.id).cmp(&b.as_ref().map(|r| &r.id)));
            found.dedup();
        }
        Ok(found)
    }
    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        self.inner.delete_many(kind, ids).await
    }
    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        if !self.has(Fault::DeleteVersionIgnoresVersion) {
            return self.inner.delete_version(kind, extractor_version).await;
        }
        let mut removed = 0;
        for info in self.inner.kinds().await?.into_iter().filter(|info| info.kind == kind) {
            for version in info.versions.keys() {
                removed += self.inner.delete_version(kind, *version).await?;
            }
        }
        Ok(removed)
    }
    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        let cutoff = if self.has(Fault::ExpireIgnoresCutoff) { vectorstore_core::now_ms() } else { written_before_ms };
        self.inner.expire(kind, cutoff).await
    }
    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        let mut options = options.clone();
        if self.has(Fault::IgnoreVersionFilter) {
            options.extractor_version = None;
        }
        let wanted = options.k;
        if self.has(Fault::ReverseTies) {
            options.k = MAX_K;
        }
        let mut hits = self.inner.knn_with(kind, query, &options).await?;
        if self.has(Fault::SquareDistances) {
            hits.iter_mut().for_each(|hit| hit.distance *= hit.distance);
        }
        if self.has(Fault::ReverseTies) {
            hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| b.id.cmp(&a.id)));
            hits.truncate(wanted);
        }
        Ok(hits)
    }
    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.inner.kinds().await
    }
    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        let mut page = self.inner.scan(kind, after_id, limit).await?;
        if self.has(Fault::ScanSkipsAfterCursor) && after_id.is_some() && !page.is_empty() {
            page.remove(0);
        }
        Ok(page)
    }
    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        self.inner.drop_kind(kind).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lost_inserts_are_acknowledged_but_missing() {
        let store = FaultyStore::on_fake(&[Fault::LoseEveryNthInsert(2)]).await;
        for i in 0..4 {
            store.insert("ja3", &format!("s{i}"), &[i as f32], 1).await.unwrap();
        }
        assert_eq!(store.kinds().await.unwrap()[0].count, 2);
    }

    #[tokio::test]
    async fn batches_fail_after_the_limit_until_healed() {
        let store = FaultyStore::on_fake(&[Fault::FailBatchesAfter(1)]).await;
        let batch = [NewVector::new("a", vec![1.0])];
        store.insert_many("ja3", &batch).await.unwrap();
        let err = store.insert_many("ja3", &batch).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        store.heal();
        store.insert_many("ja3", &batch).await.unwrap();
    }
}
