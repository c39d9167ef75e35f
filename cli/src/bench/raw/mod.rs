//! The raw-engine baselines: the same workloads done by calling the engine directly (plain SQL
//! through sqlx on the same sqlite file or PostgreSQL database, plain qdrant-client calls),
//! in their own table or collection, so that a report shows the backend's overhead as a ratio.
//! They are deliberately written without the backends' code: a shared bug would hide in the ratio.

#[cfg(feature = "pgvector")]
mod pgvector;
#[cfg(feature = "qdrant")]
mod qdrant;
#[cfg(feature = "sqlite-vec")]
mod sqlite;

use std::sync::Arc;

use vectorstore::{Config, Metric, NewVector, Result, async_trait};

/// An engine driven directly, for comparison.
#[async_trait]
pub trait RawEngine: Send + Sync {
    /// What it is (`sqlite-vec SQL`, ...).
    fn name(&self) -> &str;
    /// Creates its own table or collection for vectors of `dim` under `metric`.
    async fn prepare(&self, dim: usize, metric: Metric) -> Result<()>;
    /// Writes a batch in one transaction or call.
    async fn insert_batch(&self, items: &[NewVector]) -> Result<()>;
    /// Writes one vector.
    async fn insert_one(&self, id: &str, vector: &[f32]) -> Result<()>;
    /// After its load: builds what an engine builds once after a load (pgvector: the HNSW
    /// index, as one would by hand); true when there was something to build (then timed).
    async fn finish_load(&self) -> Result<bool> {
        Ok(false)
    }
    /// Waits until what was written, here and in the store's `store_kind`, is fully indexed
    /// (engines that index in the background), so both are measured on the same footing.
    async fn settle(&self, store_kind: &str) -> Result<()> {
        let _ = store_kind;
        Ok(())
    }
    /// The ids of the `k` nearest, in its own data or, where a layout of its own would not be
    /// comparable (Qdrant), in the store's data of `store_kind`.
    async fn knn(&self, store_kind: &str, query: &[f32], k: usize) -> Result<Vec<String>>;
    /// Whether [`knn`](RawEngine::knn) reads the engine's own copy of the data (then loaded
    /// even when writes are not timed) rather than the store's.
    fn searches_own_data(&self) -> bool {
        true
    }
    /// Removes its table or collection.
    async fn cleanup(&self) -> Result<()>;
}

/// The raw engine matching the configured backend, when this build has one for it (none for
/// the in-memory stores).
pub async fn for_config(config: &Config) -> Result<Option<Arc<dyn RawEngine>>> {
    let backend = vectorstore::find_backend(&config.backend).map(|r| r.name).unwrap_or_default();
    match backend {
        #[cfg(feature = "sqlite-vec")]
        "sqlite_vec" => Ok(Some(Arc::new(sqlite::RawSqlite::connect(&config.sqlite_path()).await?))),
        #[cfg(feature = "pgvector")]
        "pgvector" => match &config.url {
            Some(url) => Ok(Some(Arc::new(pgvector::RawPgvector::connect(url).await?))),
            None => Ok(None),
        },
        #[cfg(feature = "qdrant")]
        "qdrant" => {
            let url = config.url.clone().unwrap_or_else(|| "http://127.0.0.1:6334".to_owned());
            let key = config.option("qdrant", "api_key").map(str::to_owned);
            let prefix =
                config.option("qdrant", "collection_prefix").unwrap_or(vectorstore_qdrant::config::DEFAULT_PREFIX);
            Ok(Some(Arc::new(qdrant::RawQdrant::connect(&url, key, prefix)?)))
        }
        _ => Ok(None),
    }
}
