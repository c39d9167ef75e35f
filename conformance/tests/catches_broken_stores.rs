//! The suite must be able to fail: stores with one deliberate bug each are run through the
//! cases that guard against that bug, and every one of those cases must report a failure.

use std::sync::Arc;

use vectorstore_conformance::{CASES, Fixture, Outcome, StoreFactory, Unavailable, run_case_to_outcome};
use vectorstore_core::{
    Capabilities, FakeVectorStore, Health, KindInfo, KnnOptions, Metric, Neighbor, NewVector, Result, VectorRecord,
    VectorStore, async_trait,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bug {
    /// Silently drops every 7th single insert.
    LosesWrites,
    /// Orders equal distances by id descending.
    TiesReversed,
    /// Ignores the extractor_version filter.
    IgnoresVersionFilter,
    /// Skips the first record after the cursor.
    ScanSkips,
    /// Reports squared Euclidean distances.
    SquaredL2,
    /// Accepts kinds with upper-case letters by lower-casing them.
    LowercasesKinds,
}

#[derive(Debug)]
struct Broken {
    inner: FakeVectorStore,
    bug: Bug,
    inserts: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl VectorStore for Broken {
    fn backend(&self) -> &'static str {
        "broken"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn initialize(&self) -> Result<()> {
        self.inner.initialize().await
    }
    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
    async fn health(&self) -> Health {
        let mut health = self.inner.health().await;
        health.backend = "broken".into();
        health
    }
    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        self.inner.create_kind(kind, dim, metric).await
    }
    async fn insert(&self, kind: &str, id: &str, vector: &[f32], version: u32) -> Result<()> {
        let n = self.inserts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if self.bug == Bug::LosesWrites && n.is_multiple_of(7) {
            return Ok(());
        }
        if self.bug == Bug::LowercasesKinds {
            return self.inner.insert(&kind.to_ascii_lowercase(), id, vector, version).await;
        }
        self.inner.insert(kind, id, vector, version).await
    }
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        self.inner.insert_many(kind, items).await
    }
    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        self.inner.get(kind, id).await
    }
    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        self.inner.delete(kind, id).await
    }
    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        let mut options = options.clone();
        if self.bug == Bug::IgnoresVersionFilter {
            options.extractor_version = None;
        }
        let wanted = options.k;
        if self.bug == Bug::TiesReversed {
            options.k = vectorstore_core::limits::MAX_K;
        }
        let mut hits = self.inner.knn_with(kind, query, &options).await?;
        match self.bug {
            Bug::SquaredL2 => hits.iter_mut().for_each(|h| h.distance *= h.distance),
            Bug::TiesReversed => {
                hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| b.id.cmp(&a.id)));
                hits.truncate(wanted);
            }
            _ => {}
        }
        Ok(hits)
    }
    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.inner.kinds().await
    }
    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        let mut page = self.inner.scan(kind, after_id, limit).await?;
        if self.bug == Bug::ScanSkips && after_id.is_some() && !page.is_empty() {
            page.remove(0);
        }
        Ok(page)
    }
    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        self.inner.drop_kind(kind).await
    }
}

struct BrokenFixture(Bug);

#[async_trait]
impl Fixture for BrokenFixture {
    async fn open(&self) -> Result<Arc<dyn VectorStore>> {
        Ok(Arc::new(Broken { inner: FakeVectorStore::new(), bug: self.0, inserts: Default::default() }))
    }
    async fn cleanup(&self) -> Result<()> {
        Ok(())
    }
}

struct BrokenFactory(Bug);

#[async_trait]
impl StoreFactory for BrokenFactory {
    fn backend(&self) -> String {
        "broken".into()
    }
    async fn fixture(&self, _case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        Ok(Box::new(BrokenFixture(self.0)))
    }
}

async fn must_fail(bug: Bug, cases: &[&str]) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut survived = Vec::new();
    for name in cases {
        let (case, body) = CASES.iter().find(|(c, _)| c == name).unwrap_or_else(|| panic!("no case {name}"));
        if !matches!(run_case_to_outcome(&BrokenFactory(bug), case, *body).await, Outcome::Failed(_)) {
            survived.push(*name);
        }
    }
    std::panic::set_hook(hook);
    assert!(survived.is_empty(), "{bug:?} went unnoticed by {survived:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_writes_are_caught() {
    must_fail(
        Bug::LosesWrites,
        &["random_operations_match_the_fake", "unicode_ids_round_trip", "concurrent_inserts_and_queries"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tie_order_is_caught() {
    must_fail(Bug::TiesReversed, &["ties_break_by_id"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_version_filter_is_caught() {
    must_fail(
        Bug::IgnoresVersionFilter,
        &["extractor_version_filter_applies_before_k", "random_operations_match_the_fake"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_skips_is_caught() {
    must_fail(Bug::ScanSkips, &["scan_pages_cover_every_id_once", "unicode_ids_round_trip"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squared_distances_are_caught() {
    must_fail(
        Bug::SquaredL2,
        &["l2_distances_are_euclidean", "update_by_id_moves_the_vector", "differential_against_fake"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_kind_validation_is_caught() {
    must_fail(Bug::LowercasesKinds, &["invalid_kinds_are_rejected_everywhere", "random_operations_match_the_fake"])
        .await;
}
