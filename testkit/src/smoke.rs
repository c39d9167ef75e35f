//! The shortest proof that a freshly connected store works end to end.

use vectorstore_core::{Metric, VectorStore};

/// Creates kind `ja3` (dim 3, l2), writes two vectors, checks that a search ranks them by
/// distance and that health is ok. Panics (fails the test) otherwise. The kind is left for the
/// caller's cleanup.
pub async fn round_trip(store: &dyn VectorStore) {
    store.create_kind("ja3", 3, Metric::L2).await.expect("create_kind");
    store.insert("ja3", "near", &[1.0, 2.0, 3.0], 1).await.expect("insert near");
    store.insert("ja3", "far", &[9.0, 9.0, 9.0], 1).await.expect("insert far");
    let hits = store.knn("ja3", &[1.0, 2.0, 3.1], 2).await.expect("knn");
    assert_eq!(hits.iter().map(|hit| hit.id.as_str()).collect::<Vec<_>>(), ["near", "far"]);
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
}
