//! Qdrant driven with plain qdrant-client calls, in its own collection on the store's server.

use qdrant_client::Payload;
use qdrant_client::qdrant::{
    CollectionStatus, CreateCollectionBuilder, DeleteCollectionBuilder, Distance, PayloadIncludeSelector, PointStruct,
    Query, QueryPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
};
use qdrant_client::{Qdrant, QdrantError};
use vectorstore::backend::async_trait;
use vectorstore::{Error, ErrorKind, Metric, NewVector, Result};
use vectorstore_qdrant::codec::collection_name;

use super::engine::RawEngine;

const COLLECTION: &str = "decnet_raw_bench";

/// Writes go to its own collection, with `wait(true)` as the backend does. Searches go to the
/// store's collection of the kind: Qdrant's background optimiser lays out two collections
/// loaded the same way into different segments (one may keep a small unindexed segment for
/// minutes), which would swamp the backend's own cost, so the search baseline is a plain
/// `query` call on the very same points.
pub struct RawQdrant {
    client: Qdrant,
    /// The store's collection prefix, to find its collections.
    prefix: String,
}

fn failed(err: QdrantError) -> Error {
    // Status messages never carry the API key; the URL is not part of them.
    Error::new(ErrorKind::Backend, format!("raw qdrant: {err}"))
}

fn point_id(id: &str) -> u64 {
    // FNV-1a of the id: unique enough for the benchmark's generated ids.
    vectorstore::backend::fnv1a::hash64(id.as_bytes())
}

impl RawQdrant {
    /// A client for the store's server.
    pub fn connect(url: &str, api_key: Option<String>, prefix: &str) -> Result<RawQdrant> {
        let client = Qdrant::from_url(url).api_key(api_key).skip_compatibility_check().build().map_err(failed)?;
        Ok(RawQdrant { client, prefix: prefix.to_owned() })
    }

    async fn wait_green(&self, collection: &str) -> Result<()> {
        for _ in 0..1200 {
            let info = self.client.collection_info(collection).await.map_err(failed)?;
            if info.result.is_some_and(|i| i.status == CollectionStatus::Green as i32) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tracing::warn!(collection, "still indexing after 120 s; measuring anyway");
        Ok(())
    }

    fn points(items: impl Iterator<Item = (String, Vec<f32>)>) -> Vec<PointStruct> {
        items
            .map(|(id, vector)| {
                let mut payload = Payload::new();
                payload.insert("id", id.clone());
                PointStruct::new(point_id(&id), vector, payload)
            })
            .collect()
    }
}

#[async_trait]
impl RawEngine for RawQdrant {
    fn name(&self) -> &str {
        "qdrant-client calls"
    }

    async fn prepare(&self, dim: usize, metric: Metric) -> Result<()> {
        let distance = match metric {
            Metric::L2 => Distance::Euclid,
            Metric::Cosine => Distance::Cosine,
            Metric::Dot => Distance::Dot,
        };
        let _ = self.client.delete_collection(DeleteCollectionBuilder::new(COLLECTION)).await;
        self.client
            .create_collection(
                CreateCollectionBuilder::new(COLLECTION).vectors_config(VectorParamsBuilder::new(dim as u64, distance)),
            )
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn insert_batch(&self, items: &[NewVector]) -> Result<()> {
        let points = RawQdrant::points(items.iter().map(|i| (i.id.clone(), i.vector.clone())));
        self.client.upsert_points(UpsertPointsBuilder::new(COLLECTION, points).wait(true)).await.map_err(failed)?;
        Ok(())
    }

    async fn insert_one(&self, id: &str, vector: &[f32]) -> Result<()> {
        let points = RawQdrant::points(std::iter::once((id.to_owned(), vector.to_vec())));
        self.client.upsert_points(UpsertPointsBuilder::new(COLLECTION, points).wait(true)).await.map_err(failed)?;
        Ok(())
    }

    async fn settle(&self, store_kind: &str) -> Result<()> {
        // Qdrant builds HNSW in the background: until a collection is green, searches run
        // partly brute force, so wait for both before measuring either.
        self.wait_green(COLLECTION).await?;
        self.wait_green(&collection_name(&self.prefix, store_kind)).await
    }

    fn searches_own_data(&self) -> bool {
        false
    }

    async fn knn(&self, store_kind: &str, query: &[f32], k: usize) -> Result<Vec<String>> {
        let request = QueryPointsBuilder::new(collection_name(&self.prefix, store_kind))
            .query(Query::new_nearest(query.to_vec()))
            .limit(k as u64)
            .with_payload(PayloadIncludeSelector::new(vec!["id".to_owned()]));
        let reply = self.client.query(request).await.map_err(failed)?;
        Ok(reply
            .result
            .into_iter()
            .filter_map(|point| point.payload.get("id").and_then(|v| v.as_str().map(|s| s.to_owned())))
            .collect())
    }

    async fn cleanup(&self) -> Result<()> {
        self.client.delete_collection(DeleteCollectionBuilder::new(COLLECTION)).await.map_err(failed)?;
        Ok(())
    }
}
