//! What the cases share: whether a case applies to a store, loading a kind, and the Fake
//! that holds what a store holds (the oracle of exact answers).

use std::sync::Arc;

use vectorstore_core::{FakeVectorStore, Metric, NewVector, VectorStore};

use crate::check::{ok, snapshot};
use crate::data::{Rng, id};
use crate::runner::Ctx;

/// True when the store keeps data; otherwise reports the case as not applicable.
pub(crate) fn stores_data(ctx: &Ctx, store: &dyn VectorStore) -> bool {
    if store.capabilities().stores_data {
        true
    } else {
        ctx.not_applicable("the store keeps no data");
        false
    }
}

/// True when the store supports `metric`; otherwise reports the case as not applicable.
pub(crate) fn supports(ctx: &Ctx, store: &dyn VectorStore, metric: Metric) -> bool {
    if store.capabilities().supports(metric) {
        true
    } else {
        ctx.not_applicable(&format!("the store does not support metric {metric}"));
        false
    }
}

/// Creates `kind` with `dim` and `metric` and writes `vectors` as ids `data::id(i)`, version 1.
pub(crate) async fn load(store: &dyn VectorStore, kind: &str, metric: Metric, vectors: &[Vec<f32>]) {
    let dim = vectors.first().map_or(1, Vec::len);
    ok(store.create_kind(kind, dim, metric).await, "create_kind");
    for chunk in vectors.chunks(1000).enumerate().map(|(c, chunk)| {
        chunk
            .iter()
            .enumerate()
            .map(|(i, v)| NewVector::new(crate::data::id(c * 1000 + i), v.clone()))
            .collect::<Vec<_>>()
    }) {
        ok(store.insert_many(kind, &chunk).await, "insert_many");
    }
}

/// A Fake holding exactly what `store` holds (kinds, metrics, records), to ask for the exact answers.
pub(crate) async fn oracle_of(store: &dyn VectorStore) -> Arc<FakeVectorStore> {
    let oracle = Arc::new(FakeVectorStore::new());
    ok(oracle.initialize().await, "oracle initialize");
    let snap = snapshot(store).await;
    for (kind, (dim, metric, _)) in &snap.kinds {
        ok(oracle.create_kind(kind, *dim, *metric).await, "oracle create_kind");
    }
    for ((kind, id), (bits, version)) in snap.records {
        let vector: Vec<f32> = bits.into_iter().map(f32::from_bits).collect();
        ok(oracle.insert(&kind, &id, &vector, version).await, "oracle insert");
    }
    oracle
}

/// `n` ids of `data::id` form, shuffled, so that a group's members are spread among the others
/// in id order.
pub(crate) fn shuffled_ids(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..n).map(id).collect();
    for i in (1..n).rev() {
        ids.swap(i, rng.below(i + 1));
    }
    ids
}
