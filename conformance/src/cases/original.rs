//! The original implementation's store tests, as contract cases.

use vectorstore_core::{ErrorKind, KnnOptions, Metric, NewVector};

use super::stores_data;
use crate::check::{bits, expect_error, ids, ok};
use crate::runner::Ctx;

/// Insert then get returns the same kind, id, dimension, vector and extractor version.
pub async fn round_trip(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("ja3", "session-1", &[0.25, -1.5, 3.0], 2).await, "insert");
    let record = ok(store.get("ja3", "session-1").await, "get").expect("the record just inserted");
    assert_eq!(record.kind, "ja3");
    assert_eq!(record.id, "session-1");
    assert_eq!(record.dim, 3);
    assert_eq!(bits(&record.vector), bits(&[0.25, -1.5, 3.0]));
    assert_eq!(record.extractor_version, 2);
}

/// knn returns neighbours in ascending distance: the identical vector first at distance 0.
pub async fn knn_orders_by_distance(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("ja3", 2, Metric::L2).await, "create_kind");
    for (id, vector) in [("far", [0.0, 1.0]), ("near", [1.0, 0.0]), ("exact", [0.99, 0.01])] {
        ok(store.insert("ja3", id, &vector, 1).await, "insert");
    }
    let hits = ok(store.knn("ja3", &[1.0, 0.0], 3).await, "knn");
    assert_eq!(ids(&hits), ["near", "exact", "far"], "{hits:?}");
    assert_eq!(hits[0].distance, 0.0, "{hits:?}");
    assert!(hits[0].distance < hits[1].distance && hits[1].distance < hits[2].distance, "{hits:?}");
}

/// knn on a kind the store has never seen is empty, not an error.
pub async fn knn_unknown_kind_is_empty(ctx: &Ctx) {
    let store = ctx.store().await;
    assert!(ok(store.knn("never_seen", &[1.0, 2.0], 5).await, "knn").is_empty());
    assert!(ok(store.knn_with("never_seen", &[1.0], &KnnOptions::new(3).extractor_version(2)).await, "knn").is_empty());
}

/// Inserting a vector of another dimension into a kind is DimensionMismatch, and changes nothing.
pub async fn insert_dimension_mismatch_is_rejected(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("hassh", "a", &[1.0, 2.0, 3.0], 1).await, "insert");
    expect_error(store.insert("hassh", "b", &[1.0, 2.0], 1).await, ErrorKind::DimensionMismatch, "insert dim 2");
    expect_error(store.insert("hassh", "a", &[1.0; 4], 1).await, ErrorKind::DimensionMismatch, "replace with dim 4");
    expect_error(
        store.insert_many("hassh", &[NewVector::new("c", vec![1.0; 5])]).await,
        ErrorKind::DimensionMismatch,
        "insert_many dim 5",
    );
    let record = ok(store.get("hassh", "a").await, "get").expect("a survives");
    assert_eq!(record.vector, [1.0, 2.0, 3.0]);
    assert!(ok(store.get("hassh", "b").await, "get").is_none());
    assert!(ok(store.get("hassh", "c").await, "get").is_none());
}

/// Querying a known kind with a vector of another dimension is DimensionMismatch naming both.
pub async fn query_dimension_mismatch_is_rejected(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("hassh", "a", &[1.0, 2.0, 3.0], 1).await, "insert");
    let err = store.knn("hassh", &[1.0, 2.0], 3).await.expect_err("a dimension mismatch");
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch, "{err}");
    assert!(err.message().contains('3') && err.message().contains('2'), "names both dimensions: {err}");
}

/// Inserting an existing (kind, id) replaces its vector and extractor version.
pub async fn insert_replaces_existing_id(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("ja3", "x", &[1.0, 1.0], 3).await, "insert");
    ok(store.insert("ja3", "x", &[2.0, -2.0], 1).await, "replace");
    let record = ok(store.get("ja3", "x").await, "get").expect("present");
    assert_eq!(record.vector, [2.0, -2.0]);
    assert_eq!(record.extractor_version, 1, "replacing resets the version to the one given");
    let kinds = ok(store.kinds().await, "kinds");
    assert_eq!(kinds[0].count, 1, "a replace does not add a record: {kinds:?}");
}

/// delete is true for a stored record, then false; get then gives None.
pub async fn delete_then_get(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("ja3", "gone", &[1.0], 1).await, "insert");
    ok(store.insert("ja3", "kept", &[2.0], 1).await, "insert");
    assert!(ok(store.delete("ja3", "gone").await, "delete"));
    assert!(!ok(store.delete("ja3", "gone").await, "delete again"));
    assert!(ok(store.get("ja3", "gone").await, "get").is_none());
    assert!(ok(store.get("ja3", "kept").await, "get").is_some());
    assert_eq!(ids(&ok(store.knn("ja3", &[1.0], 5).await, "knn")), ["kept"]);
}

/// health counts kinds and vectors: 0/0 when empty, 2/3 after a/1, a/2 (dim 1) and b/1 (dim 2).
pub async fn health_counts(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    assert_eq!((health.kinds, health.vectors), (Some(0), Some(0)), "{health:?}");
    ok(store.insert("a", "1", &[1.0], 1).await, "insert");
    ok(store.insert("a", "2", &[2.0], 1).await, "insert");
    ok(store.insert("b", "1", &[1.0, 2.0], 1).await, "insert");
    let health = store.health().await;
    assert_eq!((health.kinds, health.vectors), (Some(2), Some(3)), "{health:?}");
}

/// The Null store accepts valid calls and keeps nothing: get None, knn empty, delete false.
pub async fn null_store_is_inert(ctx: &Ctx) {
    let store = ctx.store().await;
    if store.capabilities().stores_data {
        ctx.not_applicable("only for stores that keep no data");
        return;
    }
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "insert");
    ok(store.insert_many("ja3", &[NewVector::new("b", vec![1.0, 2.0])]).await, "insert_many");
    assert!(ok(store.get("ja3", "a").await, "get").is_none());
    assert!(ok(store.knn("ja3", &[1.0, 2.0], 10).await, "knn").is_empty());
    assert!(!ok(store.delete("ja3", "a").await, "delete"));
    assert!(ok(store.kinds().await, "kinds").is_empty());
    assert!(ok(store.scan("ja3", None, 10).await, "scan").is_empty());
    let health = store.health().await;
    assert!(health.ok);
    assert_eq!((health.kinds, health.vectors), (Some(0), Some(0)));
}
