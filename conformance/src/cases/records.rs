//! Writing, reading, replacing and deleting records, and what health counts: the rules the
//! original implementation's tests and the common vector-store test suites check.

use vectorstore_core::{Metric, NewVector, Rows};

use super::support::stores_data;
use crate::check::{bits, ids, ok, snapshot};
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

/// insert_rows writes what insert_many writes for the same rows (repeats: the last wins; one
/// extractor version per row, or one for all), and no rows is accepted.
pub async fn insert_rows_equals_insert_many(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let ids = ["a", "b", "a", "c"];
    let values = [1.0, 0.0, 0.0, 1.0, 3.0, 3.0, -1.0, -1.0];
    let versions = [1, 2, 5, 1];
    let rows = ok(Rows::new(&ids, 2, &values), "rows").with_extractor_versions(&versions);
    let rows = ok(rows, "rows with versions");
    ok(store.insert_rows("ja3", rows).await, "insert_rows");
    let items: Vec<NewVector> = rows.to_new_vectors();
    ok(store.insert_many("hassh", &items).await, "insert_many");
    ok(store.insert_rows("ja3", ok(Rows::new(&[], 2, &[]), "no rows")).await, "empty insert_rows");
    let one_version = ok(Rows::new(&ids[1..2], 2, &values[2..4]), "one row").with_extractor_version(7);
    ok(store.insert_rows("dwell", one_version).await, "insert_rows of one version");

    let snap = snapshot(&*store).await;
    assert_eq!(snap.records.len(), 3 + 3 + 1, "{snap:?}");
    for id in ["a", "b", "c"] {
        let rows_record = &snap.records[&("ja3".to_owned(), id.to_owned())];
        assert_eq!(rows_record, &snap.records[&("hassh".to_owned(), id.to_owned())], "{id}");
    }
    assert_eq!(snap.records[&("ja3".to_owned(), "a".to_owned())], (bits(&[3.0, 3.0]), 5), "the last row of a wins");
    assert_eq!(snap.records[&("dwell".to_owned(), "b".to_owned())], (bits(&[0.0, 1.0]), 7));
    assert_eq!(snap.kinds["ja3"].0, 2, "the rows fixed the dimension");
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

/// get of a missing id, or of an id of another kind, is None.
pub async fn get_missing_is_none(ctx: &Ctx) {
    let store = ctx.store().await;
    assert!(ok(store.get("ja3", "never").await, "get unknown kind").is_none());
    ok(store.insert("ja3", "present", &[1.0], 1).await, "insert");
    assert!(ok(store.get("ja3", "absent").await, "get missing id").is_none());
    assert!(ok(store.get("hassh", "present").await, "get id of another kind").is_none());
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

/// Deleting an id that was never stored (or from an unknown kind) is false, not an error.
pub async fn delete_missing_is_false(ctx: &Ctx) {
    let store = ctx.store().await;
    assert!(!ok(store.delete("ja3", "never").await, "delete from unknown kind"));
    ok(store.insert("ja3", "present", &[1.0], 1).await, "insert");
    assert!(!ok(store.delete("ja3", "never").await, "delete missing id"));
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
    assert_eq!(ok(store.get_many("ja3", &["a", "b", "a"]).await, "get_many"), [None, None, None]);
    assert_eq!(ok(store.delete_many("ja3", &["a", "b"]).await, "delete_many"), 0);
    assert_eq!(ok(store.delete_version("ja3", 1).await, "delete_version"), 0);
    assert_eq!(ok(store.expire("ja3", 1).await, "expire"), 0);
    let health = store.health().await;
    assert!(health.ok);
    assert_eq!((health.kinds, health.vectors), (Some(0), Some(0)));
}
