//! Every validation rule, on every operation it applies to, with proof that a rejected call
//! lost nothing already stored.

use vectorstore_core::limits::{MAX_DIM, MAX_ID_BYTES, MAX_K, MAX_SCAN_LIMIT};
use vectorstore_core::{ErrorKind, KnnOptions, Metric, NewVector, Result, Rows, VectorStore};

use super::support::{stores_data, supports};
use crate::check::{expect_error, ok, snapshot};
use crate::runner::Ctx;

/// Seeds a little data so that each case can prove a rejected call changed nothing.
async fn seed(store: &dyn VectorStore) {
    ok(store.insert("ja3", "keep-1", &[1.0, 2.0], 1).await, "seed insert");
    ok(store.insert("ja3", "keep-2", &[3.0, 4.0], 2).await, "seed insert");
    ok(store.insert("hassh", "keep-1", &[1.0, 0.0, 0.0], 1).await, "seed insert");
}

fn unit<T>(result: Result<T>) -> Result<()> {
    result.map(|_| ())
}

/// Runs every operation that takes a kind with `kind`, returning (operation, result).
async fn every_kind_operation(store: &dyn VectorStore, kind: &str) -> Vec<(&'static str, Result<()>)> {
    vec![
        ("insert", store.insert(kind, "id", &[1.0, 2.0], 1).await),
        ("insert_many", store.insert_many(kind, &[NewVector::new("id", vec![1.0, 2.0])]).await),
        ("insert_many(empty)", store.insert_many(kind, &[]).await),
        ("get", unit(store.get(kind, "id").await)),
        ("delete", unit(store.delete(kind, "id").await)),
        ("get_many", unit(store.get_many(kind, &["id"]).await)),
        ("delete_many", unit(store.delete_many(kind, &["id"]).await)),
        ("delete_version", unit(store.delete_version(kind, 1).await)),
        ("expire", unit(store.expire(kind, 1).await)),
        ("knn", unit(store.knn(kind, &[1.0, 2.0], 3).await)),
        ("knn_with", unit(store.knn_with(kind, &[1.0, 2.0], &KnnOptions::new(3).extractor_version(1)).await)),
        ("scan", unit(store.scan(kind, None, 10).await)),
        ("drop_kind", unit(store.drop_kind(kind).await)),
        ("create_kind", unit(store.create_kind(kind, 2, Metric::L2).await)),
        ("settle", unit(store.settle(kind).await)),
        ("knn_batch", unit(store.knn_batch(kind, &[&[1.0, 2.0]], &KnnOptions::new(3)).await)),
    ]
}

/// A kind outside `^[a-z][a-z0-9_]{0,47}$` is InvalidKind on every operation, and nothing changes.
pub async fn invalid_kinds_are_rejected_everywhere(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    let before = snapshot(&*store).await;
    let long = "k".repeat(49);
    let bad_kinds = [
        "",
        "JA3",
        "Ja3",
        "1ja3",
        "_ja3",
        "ja-3",
        "ja3 ",
        " ja3",
        "ja.3",
        "ja3;drop table x",
        "ja3'--",
        "ja3\"",
        "ja3%",
        "ja3\0",
        "ja3/../x",
        "ja3\\x",
        "jа3",
        /* Cyrillic а */ "ja3\u{200b}",
        "ǰa3",
        long.as_str(),
    ];
    for kind in bad_kinds {
        for (operation, result) in every_kind_operation(&*store, kind).await {
            expect_error(result, ErrorKind::InvalidKind, &format!("{operation} with kind {kind:?}"));
        }
    }
    assert_eq!(snapshot(&*store).await, before, "a rejected call changed stored data");
}

/// An empty id, an id over 512 bytes or with NUL is InvalidId on every operation taking an id.
pub async fn invalid_ids_are_rejected_everywhere(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    let before = snapshot(&*store).await;
    let long = "x".repeat(MAX_ID_BYTES + 1);
    let long_multibyte = "é".repeat(MAX_ID_BYTES / 2 + 1);
    for id in ["", "a\0b", "\0", long.as_str(), long_multibyte.as_str()] {
        let what = |op: &str| format!("{op} with id {:?}", id.chars().take(20).collect::<String>());
        expect_error(store.insert("ja3", id, &[1.0, 2.0], 1).await, ErrorKind::InvalidId, &what("insert"));
        expect_error(
            store
                .insert_many("ja3", &[NewVector::new("fine", vec![0.0, 0.0]), NewVector::new(id, vec![1.0, 2.0])])
                .await,
            ErrorKind::InvalidId,
            &what("insert_many"),
        );
        expect_error(store.get("ja3", id).await, ErrorKind::InvalidId, &what("get"));
        expect_error(store.delete("ja3", id).await, ErrorKind::InvalidId, &what("delete"));
        expect_error(store.get_many("ja3", &["keep-1", id]).await, ErrorKind::InvalidId, &what("get_many"));
        expect_error(store.delete_many("ja3", &["keep-1", id]).await, ErrorKind::InvalidId, &what("delete_many"));
        if !id.is_empty() {
            expect_error(store.scan("ja3", Some(id), 10).await, ErrorKind::InvalidId, &what("scan after"));
        }
    }
    let exact = "y".repeat(MAX_ID_BYTES);
    ok(store.insert("ja3", &exact, &[0.5, 0.5], 1).await, "an id of exactly 512 bytes is valid");
    let mut expected = before;
    let after = snapshot(&*store).await;
    if store.capabilities().stores_data {
        expected.records.insert(("ja3".into(), exact), (vec![0.5f32.to_bits(); 2], 1));
        expected.kinds.get_mut("ja3").expect("seeded").2 += 1;
    }
    assert_eq!(after, expected, "a rejected call changed stored data");
}

/// Empty, oversized or non-finite vectors are InvalidVector on insert, insert_many and knn.
pub async fn invalid_vectors_are_rejected_everywhere(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    let before = snapshot(&*store).await;
    let bad: Vec<(&str, Vec<f32>)> = vec![
        ("empty", vec![]),
        ("too long", vec![0.5; MAX_DIM + 1]),
        ("NaN", vec![1.0, f32::NAN]),
        ("+inf", vec![f32::INFINITY, 1.0]),
        ("-inf", vec![1.0, f32::NEG_INFINITY]),
    ];
    for (name, vector) in &bad {
        for kind in ["ja3", "brand_new"] {
            let what = |op: &str| format!("{op} with a {name} vector into {kind}");
            expect_error(store.insert(kind, "v", vector, 1).await, ErrorKind::InvalidVector, &what("insert"));
            expect_error(
                store.insert_many(kind, &[NewVector::new("v", vector.clone())]).await,
                ErrorKind::InvalidVector,
                &what("insert_many"),
            );
            expect_error(store.knn(kind, vector, 3).await, ErrorKind::InvalidVector, &what("knn"));
        }
    }
    assert_eq!(snapshot(&*store).await, before, "a rejected call changed stored data");
}

/// Under cosine the zero vector has no direction: InvalidVector on insert, insert_many and knn.
pub async fn cosine_zero_vector_is_rejected(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) || !supports(ctx, &*store, Metric::Cosine) {
        return;
    }
    ok(store.create_kind("dwell", 3, Metric::Cosine).await, "create_kind");
    ok(store.insert("dwell", "a", &[1.0, 0.0, 0.0], 1).await, "insert");
    let before = snapshot(&*store).await;
    let zero = [0.0, -0.0, 0.0];
    expect_error(store.insert("dwell", "z", &zero, 1).await, ErrorKind::InvalidVector, "insert zero");
    expect_error(store.insert("dwell", "a", &zero, 1).await, ErrorKind::InvalidVector, "replace with zero");
    expect_error(
        store
            .insert_many("dwell", &[NewVector::new("y", vec![1.0, 1.0, 1.0]), NewVector::new("z", zero.to_vec())])
            .await,
        ErrorKind::InvalidVector,
        "insert_many with a zero vector",
    );
    expect_error(store.knn("dwell", &zero, 3).await, ErrorKind::InvalidVector, "knn with zero");
    assert_eq!(snapshot(&*store).await, before, "a rejected call changed stored data");
}

/// k = 0 gives an empty list; k above the limit (10,000) is InvalidArgument.
pub async fn k_limits_are_enforced(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    assert!(ok(store.knn("ja3", &[1.0, 2.0], 0).await, "k = 0").is_empty());
    assert!(ok(store.knn("unknown_kind", &[1.0, 2.0], 0).await, "k = 0").is_empty());
    assert!(
        store.capabilities().max_k >= MAX_K,
        "max_k {} is below the contract's {MAX_K}",
        store.capabilities().max_k
    );
    expect_error(store.knn("ja3", &[1.0, 2.0], MAX_K + 1).await, ErrorKind::InvalidArgument, "k = 10,001");
    expect_error(store.knn("ja3", &[1.0, 2.0], usize::MAX).await, ErrorKind::InvalidArgument, "k = usize::MAX");
    expect_error(store.knn("unknown_kind", &[1.0], MAX_K + 1).await, ErrorKind::InvalidArgument, "k on unknown kind");
}

/// extractor_version 0 is InvalidArgument on insert, insert_many and as a search filter.
pub async fn invalid_extractor_version_is_rejected(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    let before = snapshot(&*store).await;
    expect_error(store.insert("ja3", "v0", &[1.0, 2.0], 0).await, ErrorKind::InvalidArgument, "insert version 0");
    expect_error(
        store.insert_many("ja3", &[NewVector::new("v0", vec![1.0, 2.0]).with_extractor_version(0)]).await,
        ErrorKind::InvalidArgument,
        "insert_many version 0",
    );
    expect_error(
        store.knn_with("ja3", &[1.0, 2.0], &KnnOptions::new(3).extractor_version(0)).await,
        ErrorKind::InvalidArgument,
        "knn_with version 0",
    );
    assert_eq!(snapshot(&*store).await, before, "a rejected call changed stored data");
}

/// A batch with one bad item anywhere writes nothing at all, and names the item.
pub async fn invalid_batch_writes_nothing(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    let before = snapshot(&*store).await;
    let good = |i: usize| NewVector::new(format!("new-{i}"), vec![i as f32, 1.0]);
    let mut cases: Vec<(ErrorKind, NewVector)> = vec![
        (ErrorKind::InvalidId, NewVector::new("", vec![1.0, 1.0])),
        (ErrorKind::InvalidVector, NewVector::new("bad", vec![f32::NAN, 1.0])),
        (ErrorKind::InvalidArgument, NewVector::new("bad", vec![1.0, 1.0]).with_extractor_version(0)),
    ];
    if store.capabilities().stores_data {
        // Only a store that remembers the kind's dimension can refuse this one.
        cases.push((ErrorKind::DimensionMismatch, NewVector::new("bad", vec![1.0, 1.0, 1.0])));
    }
    for (expected, bad) in cases {
        for position in [0, 5, 9] {
            let mut batch: Vec<NewVector> = (0..10).map(good).collect();
            batch[position] = bad.clone();
            let err = store.insert_many("ja3", &batch).await.expect_err("a bad batch");
            assert_eq!(err.kind(), expected, "bad item at {position}: {err}");
            assert!(err.to_string().contains(&format!("item {position}")), "names the item: {err}");
            assert_eq!(snapshot(&*store).await, before, "a rejected batch wrote something ({err})");
            if bad.vector.len() != 2 {
                continue; // rows share one dimension: that case is below
            }
            // The same rows through insert_rows: the same error, nothing written.
            let ids: Vec<&str> = batch.iter().map(|item| item.id.as_str()).collect();
            let values: Vec<f32> = batch.iter().flat_map(|item| item.vector.iter().copied()).collect();
            let versions: Vec<u32> = batch.iter().map(|item| item.extractor_version).collect();
            let rows = ok(Rows::new(&ids, 2, &values).and_then(|rows| rows.with_extractor_versions(&versions)), "rows");
            let err = store.insert_rows("ja3", rows).await.expect_err("bad rows");
            assert_eq!(err.kind(), expected, "bad row at {position}: {err}");
            assert!(err.to_string().contains(&format!("item {position}")), "names the row: {err}");
            assert_eq!(snapshot(&*store).await, before, "rejected rows wrote something ({err})");
        }
    }
    if store.capabilities().stores_data {
        let ids = ["wide-0", "wide-1"];
        let rows = ok(Rows::new(&ids, 3, &[1.0; 6]), "rows of dimension 3");
        expect_error(store.insert_rows("ja3", rows).await, ErrorKind::DimensionMismatch, "rows of another dimension");
    }
    let oversized: Vec<NewVector> = (0..vectorstore_core::limits::MAX_BATCH + 1).map(good).collect();
    expect_error(store.insert_many("ja3", &oversized).await, ErrorKind::InvalidArgument, "oversized batch");
    let ids: Vec<&str> = oversized.iter().map(|item| item.id.as_str()).collect();
    let values = vec![1.0; ids.len() * 2];
    let rows = ok(Rows::new(&ids, 2, &values), "oversized rows");
    expect_error(store.insert_rows("ja3", rows).await, ErrorKind::InvalidArgument, "oversized rows");
    assert_eq!(snapshot(&*store).await, before, "a rejected batch wrote something");
}

/// A NaN max_distance and a scan page over the limit are InvalidArgument.
pub async fn invalid_search_options_are_rejected(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    expect_error(
        store.knn_with("ja3", &[1.0, 2.0], &KnnOptions::new(3).max_distance(f32::NAN)).await,
        ErrorKind::InvalidArgument,
        "max_distance NaN",
    );
    expect_error(store.scan("ja3", None, MAX_SCAN_LIMIT + 1).await, ErrorKind::InvalidArgument, "scan limit");
    assert!(ok(store.scan("ja3", None, 0).await, "scan limit 0").is_empty());
}

/// create_kind rejects bad dimensions, and conflicts with an existing kind's dimension or metric.
pub async fn create_kind_conflicts_are_rejected(ctx: &Ctx) {
    let store = ctx.store().await;
    expect_error(store.create_kind("ja3", 0, Metric::L2).await, ErrorKind::InvalidArgument, "dim 0");
    expect_error(store.create_kind("ja3", MAX_DIM + 1, Metric::L2).await, ErrorKind::InvalidArgument, "dim 4097");
    if !store.capabilities().stores_data {
        ctx.not_applicable("conflicts need a store that remembers kinds");
        return;
    }
    let info = ok(store.create_kind("ja3", 4, Metric::L2).await, "create_kind");
    assert_eq!((info.dim, info.metric, info.count), (4, Metric::L2, 0));
    expect_error(store.create_kind("ja3", 5, Metric::L2).await, ErrorKind::DimensionMismatch, "other dim");
    let other_metric = store.capabilities().metrics.iter().copied().find(|m| *m != Metric::L2);
    if let Some(metric) = other_metric {
        expect_error(store.create_kind("ja3", 4, metric).await, ErrorKind::MetricMismatch, "other metric");
    }
    let kinds = ok(store.kinds().await, "kinds");
    assert_eq!(kinds.len(), 1);
    assert_eq!((kinds[0].dim, kinds[0].metric), (4, Metric::L2), "a refused create changed the kind");
}

/// Deleting every vector of a kind keeps its dimension: a vector of another length is still refused.
pub async fn dimension_survives_deleting_every_vector(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("ja3", "only", &[1.0, 2.0, 3.0], 1).await, "insert");
    assert!(ok(store.delete("ja3", "only").await, "delete"));
    expect_error(store.insert("ja3", "next", &[1.0, 2.0], 1).await, ErrorKind::DimensionMismatch, "insert dim 2");
    expect_error(store.knn("ja3", &[1.0, 2.0], 1).await, ErrorKind::DimensionMismatch, "knn dim 2");
    let kinds = ok(store.kinds().await, "kinds");
    assert_eq!((kinds[0].kind.as_str(), kinds[0].dim, kinds[0].count), ("ja3", 3, 0), "{kinds:?}");
    ok(store.insert("ja3", "next", &[4.0, 5.0, 6.0], 1).await, "insert dim 3");
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
