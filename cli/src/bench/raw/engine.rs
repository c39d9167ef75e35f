//! What a raw-engine baseline does, whichever engine it drives.

use vectorstore::backend::async_trait;
use vectorstore::{Metric, NewVector, Result};

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
