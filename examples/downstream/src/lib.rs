//! A backend of the application's own: `counted_sqlite`, the embedded sqlite_vec store with a
//! count of the writes this process made through it. It registers itself like the project's
//! backends, so `DECNET_VECTORSTORE_TYPE=counted_sqlite` selects it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use vectorstore::backend::{BackendRegistration, Lifecycle, PurgeFuture, StoreBackend, async_trait};
use vectorstore::{Capabilities, Config, Health, KindInfo, KnnOptions, Metric, Neighbor, NewVector, Result, VectorRecord};

/// The registered name.
pub const NAME: &str = "counted_sqlite";

/// The sqlite_vec store, counting writes. A [`StoreBackend`] like the store it wraps: the
/// contract's layer checks each call once, before it reaches either.
#[derive(Debug)]
pub struct CountedStore {
    inner: Arc<dyn StoreBackend>,
    writes: AtomicU64,
}

impl CountedStore {
    /// The sqlite_vec store `config` describes, wrapped.
    pub fn from_config(config: &Config) -> Result<Self> {
        let inner = (sqlite_vec()?.open)(config)?;
        Ok(CountedStore { inner, writes: AtomicU64::new(0) })
    }

    /// Writes made through this handle.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

fn sqlite_vec() -> Result<&'static BackendRegistration> {
    vectorstore::require_backend("sqlite_vec")
}

#[async_trait]
impl StoreBackend for CountedStore {
    fn backend(&self) -> &'static str {
        NAME
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
        health.backend = NAME.into();
        health.detail.insert("writes".into(), self.writes().to_string());
        health
    }
    async fn health_detailed(&self) -> Health {
        let mut health = self.inner.health_detailed().await;
        health.backend = NAME.into();
        health.detail.insert("writes".into(), self.writes().to_string());
        health
    }
    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        self.inner.create_kind(kind, dim, metric).await
    }
    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        self.inner.insert(kind, id, vector, extractor_version).await?;
        self.wrote();
        Ok(())
    }
    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        self.inner.insert_many(kind, items).await?;
        self.wrote();
        Ok(())
    }
    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        self.inner.get(kind, id).await
    }
    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        let deleted = self.inner.delete(kind, id).await?;
        self.wrote();
        Ok(deleted)
    }
    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        self.inner.get_many(kind, ids).await
    }
    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        let deleted = self.inner.delete_many(kind, ids).await?;
        self.wrote();
        Ok(deleted)
    }
    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        let deleted = self.inner.delete_version(kind, extractor_version).await?;
        self.wrote();
        Ok(deleted)
    }
    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        let deleted = self.inner.expire(kind, written_before_ms).await?;
        self.wrote();
        Ok(deleted)
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
    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        self.inner.settle(kind).await
    }
}

fn open(config: &Config) -> Result<Arc<dyn StoreBackend>> {
    Ok(Arc::new(CountedStore::from_config(config)?))
}

fn isolate(config: &Config, tag: &str) -> Result<Config> {
    (sqlite_vec()?.isolate)(config, tag)
}

fn purge(config: Config) -> PurgeFuture {
    match sqlite_vec() {
        Ok(registration) => (registration.purge)(config),
        Err(err) => Box::pin(async move { Err(err) }),
    }
}

vectorstore::backend::inventory::submit! {
    BackendRegistration {
        name: NAME,
        aliases: &[],
        summary: "the embedded sqlite_vec store, counting this process's writes (an application's own backend)",
        capabilities: vectorstore::sqlite_vec::CAPABILITIES,
        // It reads no option of its own; the sqlite_vec store it wraps reads SQLITE_VEC_*.
        options: &[],
        open,
        isolate,
        purge,
    }
}
