//! [`NullVectorStore`]: stores nothing; its calls are validated by the contract's layer like
//! every store's. Selected by `DECNET_VECTORSTORE_ENABLED=false`.

use async_trait::async_trait;

use crate::error::Result;
use crate::health::{Capabilities, Health};
use crate::lifecycle::Lifecycle;
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, VectorRecord};
use crate::store::StoreBackend;

/// Registered name of the Null store.
pub const NULL: &str = "null";

/// A store that accepts every valid call and keeps nothing: `get` gives `None`, `knn` gives
/// `[]`, `delete` gives `false`, health is ok with zero counts. Invalid input is still rejected
/// exactly as every other store rejects it, so switching the store off never hides a bug.
#[derive(Debug, Default)]
pub struct NullVectorStore {
    life: Lifecycle,
    fallback: Option<String>,
}

impl NullVectorStore {
    /// A new, uninitialised Null store.
    pub fn new() -> Self {
        NullVectorStore::default()
    }

    /// A Null store standing in for a configured backend that cannot be had (health degraded).
    pub fn fallback(reason: impl Into<String>) -> Self {
        NullVectorStore { life: Lifecycle::new(), fallback: Some(reason.into()) }
    }
}

#[async_trait]
impl StoreBackend for NullVectorStore {
    fn backend(&self) -> &'static str {
        NULL
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { persistent: false, stores_data: false, ..Capabilities::EXACT_IN_MEMORY }
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    /// Nothing to acquire.
    async fn initialize(&self) -> Result<()> {
        Ok(())
    }

    /// Nothing to release.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    async fn health(&self) -> Health {
        self.health_detailed().await
    }

    /// The same as `health`: the Null store has no location to show.
    async fn health_detailed(&self) -> Health {
        Health::ok(NULL, 0, 0)
    }

    fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        Ok(KindInfo::new(kind, dim, metric))
    }

    async fn insert(&self, _kind: &str, _id: &str, _vector: &[f32], _extractor_version: u32) -> Result<()> {
        Ok(())
    }

    async fn insert_many(&self, _kind: &str, _items: &[NewVector]) -> Result<()> {
        Ok(())
    }

    async fn get(&self, _kind: &str, _id: &str) -> Result<Option<VectorRecord>> {
        Ok(None)
    }

    async fn delete(&self, _kind: &str, _id: &str) -> Result<bool> {
        Ok(false)
    }

    /// Every entry `None`, one per id, after the same validation as every store.
    async fn get_many(&self, _kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        Ok(vec![None; ids.len()])
    }

    /// Always 0, after the same validation as every store.
    async fn delete_many(&self, _kind: &str, _ids: &[&str]) -> Result<u64> {
        Ok(0)
    }

    /// Always 0, after the same validation as every store.
    async fn delete_version(&self, _kind: &str, _extractor_version: u32) -> Result<u64> {
        Ok(0)
    }

    /// Always 0, after the same validation as every store.
    async fn expire(&self, _kind: &str, _written_before_ms: u64) -> Result<u64> {
        Ok(0)
    }

    async fn knn_with(&self, _kind: &str, _query: &[f32], _options: &KnnOptions) -> Result<Vec<Neighbor>> {
        Ok(Vec::new())
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        Ok(Vec::new())
    }

    async fn scan(&self, _kind: &str, _after_id: Option<&str>, _limit: usize) -> Result<Vec<VectorRecord>> {
        Ok(Vec::new())
    }

    async fn drop_kind(&self, _kind: &str) -> Result<bool> {
        Ok(false)
    }
}
