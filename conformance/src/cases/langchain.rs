//! The cases of LangChain's standard VectorStore tests that fit this contract.

use vectorstore_core::{Metric, NewVector};

use super::stores_data;
use crate::check::{bits, ids, ok, snapshot};
use crate::runner::Ctx;

/// A kind that exists but holds no vectors answers searches with an empty list.
pub async fn empty_kind_search_is_empty(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("cmd_ngram", 4, Metric::L2).await, "create_kind");
    assert!(ok(store.knn("cmd_ngram", &[1.0, 2.0, 3.0, 4.0], 10).await, "knn").is_empty());
    ok(store.insert("cmd_ngram", "a", &[1.0; 4], 1).await, "insert");
    ok(store.delete("cmd_ngram", "a").await, "delete");
    assert!(ok(store.knn("cmd_ngram", &[1.0; 4], 10).await, "knn").is_empty());
}

/// Writing the same record twice leaves one record, unchanged.
pub async fn reinsert_is_idempotent(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let item = NewVector::new("s1", vec![0.5, 0.25]).with_extractor_version(4);
    ok(store.insert_many("ja3", std::slice::from_ref(&item)).await, "insert_many");
    let first = snapshot(&*store).await;
    ok(store.insert_many("ja3", std::slice::from_ref(&item)).await, "insert_many again");
    ok(store.insert("ja3", "s1", &item.vector, 4).await, "insert again");
    assert_eq!(snapshot(&*store).await, first);
    assert_eq!(first.records.len(), 1);
}

/// Deleting an id that was never stored (or from an unknown kind) is false, not an error.
pub async fn delete_missing_is_false(ctx: &Ctx) {
    let store = ctx.store().await;
    assert!(!ok(store.delete("ja3", "never").await, "delete from unknown kind"));
    ok(store.insert("ja3", "present", &[1.0], 1).await, "insert");
    assert!(!ok(store.delete("ja3", "never").await, "delete missing id"));
}

/// get of a missing id, or of an id of another kind, is None.
pub async fn get_missing_is_none(ctx: &Ctx) {
    let store = ctx.store().await;
    assert!(ok(store.get("ja3", "never").await, "get unknown kind").is_none());
    ok(store.insert("ja3", "present", &[1.0], 1).await, "insert");
    assert!(ok(store.get("ja3", "absent").await, "get missing id").is_none());
    assert!(ok(store.get("hassh", "present").await, "get id of another kind").is_none());
}

/// Replacing a vector by id moves it: searches find it at its new place, never the old.
pub async fn update_by_id_moves_the_vector(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("ja3", 2, Metric::L2).await, "create_kind");
    ok(store.insert("ja3", "mover", &[0.0, 0.0], 1).await, "insert");
    ok(store.insert("ja3", "anchor", &[5.0, 5.0], 1).await, "insert");
    assert_eq!(ids(&ok(store.knn("ja3", &[0.0, 0.0], 1).await, "knn")), ["mover"]);
    ok(store.insert("ja3", "mover", &[10.0, 10.0], 1).await, "replace");
    let hits = ok(store.knn("ja3", &[0.0, 0.0], 2).await, "knn");
    assert_eq!(ids(&hits), ["anchor", "mover"], "{hits:?}");
    assert!((hits[1].distance - 200f32.sqrt()).abs() < 1e-4, "{hits:?}");
}

/// insert_many writes what the same inserts in order would: a repeated id keeps the last.
pub async fn insert_many_equals_inserts_in_order(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let batch = vec![
        NewVector::new("a", vec![1.0, 0.0]),
        NewVector::new("b", vec![0.0, 1.0]).with_extractor_version(2),
        NewVector::new("a", vec![3.0, 3.0]).with_extractor_version(5),
        NewVector::new("c", vec![-1.0, -1.0]),
    ];
    ok(store.insert_many("ja3", &batch).await, "insert_many");
    ok(store.insert_many("ja3", &[]).await, "empty insert_many");
    let snap = snapshot(&*store).await;
    assert_eq!(snap.records.len(), 3, "{snap:?}");
    let a = &snap.records[&("ja3".to_owned(), "a".to_owned())];
    assert_eq!(a, &(bits(&[3.0, 3.0]), 5), "the last write of a wins");
    assert_eq!(snap.kinds["ja3"].0, 2, "the batch fixed the dimension");
}
