//! initialize / close and what health says around them.

use vectorstore_core::{ErrorKind, KnnOptions, Metric, NewVector, Result, VectorStore};

use crate::check::{expect_error, ok};
use crate::runner::Ctx;

fn unit<T>(result: Result<T>) -> Result<()> {
    result.map(|_| ())
}

/// Every operation with valid input, as (name, result).
async fn every_operation(store: &dyn VectorStore) -> Vec<(&'static str, Result<()>)> {
    vec![
        ("insert", store.insert("ja3", "a", &[1.0, 2.0], 1).await),
        ("insert_many", store.insert_many("ja3", &[NewVector::new("b", vec![1.0, 2.0])]).await),
        ("get", unit(store.get("ja3", "a").await)),
        ("delete", unit(store.delete("ja3", "a").await)),
        ("get_many", unit(store.get_many("ja3", &["a", "b"]).await)),
        ("delete_many", unit(store.delete_many("ja3", &["a", "b"]).await)),
        ("delete_version", unit(store.delete_version("ja3", 1).await)),
        ("expire", unit(store.expire("ja3", 1).await)),
        ("knn", unit(store.knn("ja3", &[1.0, 2.0], 2).await)),
        ("knn_with", unit(store.knn_with("ja3", &[1.0, 2.0], &KnnOptions::new(2)).await)),
        ("kinds", unit(store.kinds().await)),
        ("scan", unit(store.scan("ja3", None, 5).await)),
        ("drop_kind", unit(store.drop_kind("ja3").await)),
        ("create_kind", unit(store.create_kind("ja3", 2, Metric::L2).await)),
        ("settle", unit(store.settle("ja3").await)),
        ("knn_batch", unit(store.knn_batch("ja3", &[&[1.0, 2.0]], &KnnOptions::new(2)).await)),
    ]
}

/// Before initialize every operation is NotInitialized and health is not ok ("not initialized").
pub async fn operations_before_initialize_fail(ctx: &Ctx) {
    let store = ctx.open_uninitialized().await;
    for (operation, result) in every_operation(&*store).await {
        expect_error(result, ErrorKind::NotInitialized, operation);
    }
    let health = store.health().await;
    assert!(!health.ok, "{health:?}");
    assert_eq!(health.reason.as_deref(), Some("not initialized"), "{health:?}");
    ok(store.close().await, "close before initialize");
}

/// A second initialize is a no-op that keeps the data.
pub async fn double_initialize_is_noop(ctx: &Ctx) {
    let store = ctx.store().await;
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "insert");
    ok(store.initialize().await, "second initialize");
    if store.capabilities().stores_data {
        assert!(ok(store.get("ja3", "a").await, "get").is_some(), "initialize again lost data");
    }
    assert!(store.health().await.ok);
}

/// After close every operation is Closed, close again is fine, and health is not ok ("closed").
pub async fn operations_after_close_fail(ctx: &Ctx) {
    let store = ctx.store().await;
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "insert");
    ok(store.close().await, "close");
    ok(store.close().await, "close again");
    for (operation, result) in every_operation(&*store).await {
        expect_error(result, ErrorKind::Closed, operation);
    }
    expect_error(store.initialize().await, ErrorKind::Closed, "initialize after close");
    let health = store.health().await;
    assert!(!health.ok, "{health:?}");
    assert_eq!(health.reason.as_deref(), Some("closed"), "{health:?}");
}

/// Invalid input is reported as such even before initialize (validation comes first).
pub async fn validation_precedes_lifecycle(ctx: &Ctx) {
    let store = ctx.open_uninitialized().await;
    expect_error(store.insert("Bad", "a", &[1.0], 1).await, ErrorKind::InvalidKind, "insert before initialize");
    expect_error(store.get("ja3", "").await, ErrorKind::InvalidId, "get before initialize");
    expect_error(store.get_many("ja3", &["a", ""]).await, ErrorKind::InvalidId, "get_many before initialize");
    expect_error(store.delete_version("ja3", 0).await, ErrorKind::InvalidArgument, "delete_version before initialize");
    let future = vectorstore_core::now_ms() + 3_600_000;
    expect_error(
        store.expire("ja3", future).await,
        ErrorKind::InvalidArgument,
        "expire in the future before initialize",
    );
    ok(store.initialize().await, "initialize");
    ok(store.close().await, "close");
    expect_error(store.knn("ja3", &[f32::NAN], 1).await, ErrorKind::InvalidVector, "knn after close");
    expect_error(store.delete_many("JA3", &["a"]).await, ErrorKind::InvalidKind, "delete_many after close");
}

/// health names the backend, is ok once initialised, and carries no secrets in its JSON.
pub async fn health_names_the_backend(ctx: &Ctx) {
    let store = ctx.store().await;
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    assert_eq!(health.backend, store.backend());
    assert!(!health.degraded, "a store under test is not a fallback: {health:?}");
    let shown = format!("{health:?}");
    for secret_marker in ["password=", "api_key="] {
        assert!(!shown.to_ascii_lowercase().contains(secret_marker) || shown.contains("***"), "{shown}");
    }
}
