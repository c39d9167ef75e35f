//! Stores whose capabilities say persistent keep everything across close and reopen.

use vectorstore_core::{Metric, NewVector, VectorStore};

use crate::check::{ok, snapshot};
use crate::runner::Ctx;

fn persistent(ctx: &Ctx, store: &dyn VectorStore) -> bool {
    if store.capabilities().persistent {
        true
    } else {
        ctx.not_applicable("the store does not persist");
        false
    }
}

/// Closing and reopening the same location keeps every kind (dimension, metric) and record
/// (vector bits, extractor version).
pub async fn reopen_keeps_everything(ctx: &Ctx) {
    let store = ctx.store().await;
    if !persistent(ctx, &*store) {
        return;
    }
    let metric = store.capabilities().metrics.iter().copied().find(|m| *m == Metric::Cosine).unwrap_or(Metric::L2);
    ok(store.create_kind("dwell", 4, metric).await, "create_kind");
    let items: Vec<NewVector> = (0..300)
        .map(|i| NewVector::new(format!("s{i}"), vec![i as f32, 1.0, -0.5, 0.25]).with_extractor_version(1 + i % 2))
        .collect();
    ok(store.insert_many("dwell", &items).await, "insert_many");
    ok(store.insert("ja3", "only", &[1.0, 2.0], 7).await, "insert");
    ok(store.delete("dwell", "s10").await, "delete");
    let before = snapshot(&*store).await;
    ok(store.close().await, "close");

    let reopened = ctx.store().await;
    assert_eq!(snapshot(&*reopened).await, before, "reopening changed the data");
    let hits = ok(reopened.knn("dwell", &[3.0, 1.0, -0.5, 0.25], 1).await, "knn after reopen");
    assert_eq!(hits[0].id, "s3");
    let health = reopened.health().await;
    assert_eq!((health.kinds, health.vectors), (Some(2), Some(300)), "{health:?}");
}

/// A kind emptied by deletes keeps its dimension and metric across reopen.
pub async fn reopen_keeps_emptied_kind(ctx: &Ctx) {
    let store = ctx.store().await;
    if !persistent(ctx, &*store) {
        return;
    }
    ok(store.insert("empty_me", "a", &[1.0, 2.0, 3.0], 1).await, "insert");
    ok(store.delete("empty_me", "a").await, "delete");
    ok(store.create_kind("never_filled", 5, Metric::L2).await, "create");
    ok(store.close().await, "close");
    let reopened = ctx.store().await;
    let kinds = ok(reopened.kinds().await, "kinds");
    let got: Vec<(&str, usize, u64)> = kinds.iter().map(|k| (k.kind.as_str(), k.dim, k.count)).collect();
    assert_eq!(got, [("empty_me", 3, 0), ("never_filled", 5, 0)]);
    crate::check::expect_error(
        reopened.insert("empty_me", "b", &[1.0], 1).await,
        vectorstore_core::ErrorKind::DimensionMismatch,
        "insert of another dimension after reopen",
    );
}
