//! [`NullVectorStore`]: validates like every store, stores nothing. Selected by
//! `DECNET_VECTORSTORE_ENABLED=false`.

use async_trait::async_trait;

use crate::error::Result;
use crate::health::{Capabilities, Health};
use crate::lifecycle::Lifecycle;
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, NewVector, VectorRecord};
use crate::store::StoreBackend;
use crate::validate;

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

    async fn initialize(&self) -> Result<()> {
        if self.life.needs_initialize(NULL)? {
            self.life.mark_open();
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.life.mark_closed();
        Ok(())
    }

    async fn health(&self) -> Health {
        self.health_detailed().await
    }

    /// The same as `health`: the Null store has no location to show.
    async fn health_detailed(&self) -> Health {
        let mut health = self.life.unhealthy(NULL).unwrap_or_else(|| Health::ok(NULL, 0, 0));
        if let Some(reason) = &self.fallback {
            health.degraded = true;
            health.fallback = Some(reason.clone());
        }
        health
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        validate::create_kind(kind, dim)?;
        self.life.check(NULL)?;
        Ok(KindInfo::new(kind, dim, metric))
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        validate::insert(kind, id, vector, extractor_version)?;
        self.life.check(NULL)
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        validate::insert_many(kind, items)?;
        self.life.check(NULL)
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        validate::key(kind, id)?;
        self.life.check(NULL)?;
        Ok(None)
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        validate::key(kind, id)?;
        self.life.check(NULL)?;
        Ok(false)
    }

    /// Every entry `None`, one per id, after the same validation as every store.
    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        validate::ids(kind, ids)?;
        self.life.check(NULL)?;
        Ok(vec![None; ids.len()])
    }

    /// Always 0, after the same validation as every store.
    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        validate::ids(kind, ids)?;
        self.life.check(NULL)?;
        Ok(0)
    }

    /// Always 0, after the same validation as every store.
    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        validate::delete_version(kind, extractor_version)?;
        self.life.check(NULL)?;
        Ok(0)
    }

    /// Always 0, after the same validation as every store.
    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        validate::expire(kind, written_before_ms, crate::now_ms())?;
        self.life.check(NULL)?;
        Ok(0)
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        validate::knn(kind, query, options)?;
        self.life.check(NULL)?;
        Ok(Vec::new())
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.life.check(NULL)?;
        Ok(Vec::new())
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        validate::scan(kind, after_id, limit)?;
        self.life.check(NULL)?;
        Ok(Vec::new())
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        validate::kind(kind)?;
        self.life.check(NULL)?;
        Ok(false)
    }

    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        validate::kind(kind)?;
        self.life.check(NULL)?;
        Ok(None)
    }
}
