//! A store with injected faults, shared by the facade's tests.

#![allow(dead_code)] // Each test file uses part of it.

use std::sync::atomic::{AtomicUsize, Ordering};

use vectorstore::{
    Capabilities, Error, ErrorKind, FakeVectorStore, Health, KindInfo, KnnOptions, Metric, Neighbor, NewVector, Result,
    VectorRecord, VectorStore, async_trait,
};

/// A Fake whose batch writes fail after `batches_left` calls (a copy killed midway), and which
/// silently loses every `lose_every`-th single insert (a broken store the soak must catch).
#[derive(Debug)]
pub struct Faulty {
    pub inner: FakeVectorStore,
    pub batches_left: AtomicUsize,
    pub lose_every: usize,
    pub inserts: AtomicUsize,
}

impl Faulty {
    pub async fn new(batches_left: usize, lose_every: usize) -> Faulty {
        let inner = FakeVectorStore::new();
        inner.initialize().await.unwrap();
        Faulty { inner, batches_left: AtomicUsize::new(batches_left), lose_every, inserts: AtomicUsize::new(0) }
    }
}

#[async_trait]
impl VectorStore for Faulty {
    fn backend(&self) -> &'static str {
        "faulty"
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
        self.inner.health().await
    }
    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        self.inner.create_kind(kind, dim, metric).await
    }
    async fn insert(&self, kind: &str, id: &str, vector: &[f32], version: u32) -> Result<()> {
        let n = self.inserts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.lose_every > 0 && n.is_multiple_of(self.lose_every) {
            return Ok(());
        }
        self.inner.insert(kind, id, vector, version).await
    }
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        if self.batches_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return Err(Error::new(ErrorKind::Unavailable, "connection lost"));
        }
        self.inner.insert_many(kind, items).await
    }
    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        self.inner.get(kind, id).await
    }
    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        self.inner.delete(kind, id).await
    }
    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        self.inner.knn_with(kind, query, options).await
    }
    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.inner.kinds().await
    }
    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        self.inner.scan(kind, after_id, limit).await
    }
    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        self.inner.drop_kind(kind).await
    }
}
