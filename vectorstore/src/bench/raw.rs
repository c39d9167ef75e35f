//! The raw-engine baselines: the same workloads done by calling the engine directly (plain SQL
//! through sqlx on the same sqlite file or PostgreSQL database, plain qdrant-client calls),
//! in their own table or collection, so that a report shows the backend's overhead as a ratio.
//! They are deliberately written without the backends' code: a shared bug would hide in the ratio.

use std::sync::Arc;

use vectorstore_core::{Config, Metric, NewVector, Result, async_trait};

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
    /// The ids of the `k` nearest.
    async fn knn(&self, query: &[f32], k: usize) -> Result<Vec<String>>;
    /// Removes its table or collection.
    async fn cleanup(&self) -> Result<()>;
}

/// The raw engine matching the configured backend, when this build has one for it.
pub async fn for_config(config: &Config) -> Result<Option<Arc<dyn RawEngine>>> {
    let _ = config;
    Ok(None)
}
