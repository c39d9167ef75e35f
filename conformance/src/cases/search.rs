//! Search semantics: tie order, k at its edges and limits, filters before k, and the
//! differential comparison with the oracle on seeded data.

use vectorstore_core::limits::MAX_K;
use vectorstore_core::{KnnOptions, Metric, NewVector, SearchKind, VectorStore};

use super::support::{load, oracle_of, stores_data};
use crate::check::{Recall, compare_batch, compare_search, ids, ok};
use crate::data::{Rng, clustered};
use crate::runner::Ctx;

/// Least recall@k an approximate store must reach against the oracle.
pub const MIN_RECALL: f64 = 0.95;

#[track_caller]
fn assert_recall(store: &dyn VectorStore, recall: &Recall, what: &str) {
    if store.capabilities().search == SearchKind::Approximate {
        assert!(recall.ratio() >= MIN_RECALL, "{what}: recall {:.4} is below {MIN_RECALL}", recall.ratio());
    } else {
        assert_eq!(recall.found, recall.expected, "{what}: an exact store missed true neighbours");
    }
}

/// Equal distances are ordered by id ascending (byte order), and k cuts after that order.
pub async fn ties_break_by_id(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("ties", 2, Metric::L2).await, "create_kind");
    // Four points at distance 1 from the origin, plus two identical vectors at distance 2.
    for (id, v) in [
        ("d", [0.0, 1.0]),
        ("b", [1.0, 0.0]),
        ("c", [0.0, -1.0]),
        ("a", [-1.0, 0.0]),
        ("Z", [2.0, 0.0]),
        ("Y", [2.0, 0.0]),
    ] {
        ok(store.insert("ties", id, &v, 1).await, "insert");
    }
    let hits = ok(store.knn("ties", &[0.0, 0.0], 6).await, "knn");
    assert_eq!(ids(&hits), ["a", "b", "c", "d", "Y", "Z"], "{hits:?}");
    let hits = ok(store.knn("ties", &[0.0, 0.0], 2).await, "knn k=2");
    assert_eq!(ids(&hits), ["a", "b"], "k cuts after the tie order: {hits:?}");
    let hits = ok(store.knn("ties", &[0.0, 0.0], 5).await, "knn k=5");
    assert_eq!(ids(&hits), ["a", "b", "c", "d", "Y"], "{hits:?}");
}

/// k of 1, the count, and the count + 1 give min(k, count) hits in order.
pub async fn k_edges(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let (vectors, _) = clustered(11, 40, 4, 3, 1.0);
    load(&*store, "edges", Metric::L2, &vectors).await;
    let oracle = oracle_of(&*store).await;
    let mut recall = Recall::default();
    let query = &vectors[7];
    for k in [1, 2, 39, 40, 41, 1000] {
        compare_search(&*store, &*oracle, "edges", query, &KnnOptions::new(k), &mut recall).await;
    }
    assert_eq!(ok(store.knn("edges", query, 41).await, "k = count + 1").len(), 40);
    assert_eq!(ok(store.knn("edges", query, 1).await, "k = 1")[0].id, crate::data::id(7));
    assert_recall(&*store, &recall, "k edges");
}

/// k = 5,000 over 6,000 vectors returns 5,000 hits in the oracle's order.
pub async fn k_5000_of_6000(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let (vectors, _) = clustered(5000, 6000, 8, 12, 1.0);
    load(&*store, "many", Metric::L2, &vectors).await;
    let oracle = oracle_of(&*store).await;
    let mut recall = Recall::default();
    let mut rng = Rng::new(3);
    for _ in 0..3 {
        let query = rng.gaussian_vector(8);
        compare_search(&*store, &*oracle, "many", &query, &KnnOptions::new(5000), &mut recall).await;
    }
    assert_recall(&*store, &recall, "k = 5000");
}

/// k at the contract's limit (10,000) over more vectors than that returns exactly 10,000 in order.
pub async fn k_at_limit(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let (vectors, _) = clustered(10_000, MAX_K + 50, 4, 20, 1.0);
    load(&*store, "limit", Metric::L2, &vectors).await;
    let oracle = oracle_of(&*store).await;
    let mut recall = Recall::default();
    compare_search(&*store, &*oracle, "limit", &[0.5, -0.5, 0.25, 0.0], &KnnOptions::new(MAX_K), &mut recall).await;
    let filtered = KnnOptions::new(MAX_K).max_distance(f32::MAX);
    compare_search(&*store, &*oracle, "limit", &[0.0; 4], &filtered, &mut recall).await;
    assert_recall(&*store, &recall, "k = 10,000");
}

/// The extractor_version filter applies before k: k matching hits come back even when closer
/// vectors of other versions exist.
pub async fn extractor_version_filter_applies_before_k(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("versions", 2, Metric::L2).await, "create_kind");
    let mut batch = Vec::new();
    for i in 0..200 {
        // 200 version-1 vectors close to the origin, 5 version-2 vectors far away.
        batch.push(NewVector::new(format!("v1-{i:03}"), vec![0.001 * i as f32, 0.0]));
    }
    for i in 0..5 {
        batch.push(NewVector::new(format!("v2-{i}"), vec![100.0 + i as f32, 0.0]).with_extractor_version(2));
    }
    ok(store.insert_many("versions", &batch).await, "insert_many");
    let hits = ok(store.knn_with("versions", &[0.0, 0.0], &KnnOptions::new(5).extractor_version(2)).await, "knn v2");
    assert_eq!(ids(&hits), ["v2-0", "v2-1", "v2-2", "v2-3", "v2-4"], "{hits:?}");
    let hits = ok(store.knn_with("versions", &[0.0, 0.0], &KnnOptions::new(3).extractor_version(1)).await, "knn v1");
    assert_eq!(ids(&hits), ["v1-000", "v1-001", "v1-002"], "{hits:?}");
    let none = ok(store.knn_with("versions", &[0.0, 0.0], &KnnOptions::new(3).extractor_version(9)).await, "knn v9");
    assert!(none.is_empty(), "{none:?}");
}

/// max_distance keeps only hits at that distance or closer (inclusive), before k.
pub async fn max_distance_filter_applies_before_k(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("radius", 1, Metric::L2).await, "create_kind");
    for i in 0..10 {
        ok(store.insert("radius", &format!("p{i}"), &[i as f32], 1).await, "insert");
    }
    let hits = ok(store.knn_with("radius", &[0.0], &KnnOptions::new(10).max_distance(3.0)).await, "radius 3");
    assert_eq!(ids(&hits), ["p0", "p1", "p2", "p3"], "inclusive bound: {hits:?}");
    let hits = ok(store.knn_with("radius", &[0.0], &KnnOptions::new(2).max_distance(5.5)).await, "radius 5.5 k 2");
    assert_eq!(ids(&hits), ["p0", "p1"], "{hits:?}");
    let hits = ok(store.knn_with("radius", &[100.0], &KnnOptions::new(5).max_distance(1.0)).await, "nothing near");
    assert!(hits.is_empty(), "{hits:?}");
}

/// On seeded data over several kinds, dimensions and every supported metric, with and without
/// filters, single and batched, the store's top-k equals the Fake's (ids and distances within
/// 1e-4); approximate stores reach recall@10 >= 0.95. The kinds are large enough (over 1,000
/// rows, 8 dimensions or more, batches of 64) for the in-memory stores' pruned batch scan.
pub async fn differential_against_fake(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let plan = [
        ("diff_l2", Metric::L2, 8usize, 1500usize),
        ("diff_cos", Metric::Cosine, 32, 1200),
        ("diff_dot", Metric::Dot, 9, 1100),
    ];
    let mut rng = Rng::new(0xdec0de);
    let mut kinds = Vec::new();
    for (seed, (kind, metric, dim, count)) in plan.into_iter().enumerate() {
        if !store.capabilities().supports(metric) {
            continue;
        }
        let (vectors, _) = clustered(seed as u64 + 100, count, dim, 10, 1.0);
        ok(store.create_kind(kind, dim, metric).await, "create_kind");
        let items: Vec<NewVector> = vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| NewVector::new(format!("{kind}-{i:05}"), v).with_extractor_version(1 + (i % 3 == 0) as u32))
            .collect();
        for chunk in items.chunks(500) {
            ok(store.insert_many(kind, chunk).await, "insert_many");
        }
        // A few deletes and replaces so the store's state is not just append-only.
        for i in (0..count).step_by(97) {
            ok(store.delete(kind, &format!("{kind}-{i:05}")).await, "delete");
        }
        for i in (5..count).step_by(89) {
            let v = rng.gaussian_vector(dim);
            ok(store.insert(kind, &format!("{kind}-{i:05}"), &v, 2).await, "replace");
        }
        kinds.push((kind, dim));
    }
    let oracle = oracle_of(&*store).await;
    let mut recall = Recall::default();
    for (kind, dim) in kinds {
        for q in 0..20 {
            let query: Vec<f32> = rng.gaussian_vector(dim).into_iter().map(|v| v * 4.0).collect();
            compare_search(&*store, &*oracle, kind, &query, &KnnOptions::new(10), &mut recall).await;
            if q % 4 == 0 {
                compare_search(&*store, &*oracle, kind, &query, &KnnOptions::new(1), &mut recall).await;
                let v2 = KnnOptions::new(10).extractor_version(2);
                compare_search(&*store, &*oracle, kind, &query, &v2, &mut recall).await;
                let nearest = ok(oracle.knn(kind, &query, 10).await, "oracle");
                // A radius between the 6th and 7th distances, away from both so that rounding
                // differences between engines cannot move a hit across it.
                if let (Some(inside), Some(outside)) = (nearest.get(5), nearest.get(6))
                    && outside.distance - inside.distance > 1e-3 * outside.distance.abs().max(1.0)
                {
                    let radius = KnnOptions::new(10).max_distance((inside.distance + outside.distance) / 2.0);
                    compare_search(&*store, &*oracle, kind, &query, &radius, &mut recall).await;
                }
            }
        }
        let queries: Vec<Vec<f32>> =
            (0..64).map(|_| rng.gaussian_vector(dim).into_iter().map(|v| v * 4.0).collect()).collect();
        for options in [KnnOptions::new(10), KnnOptions::new(3).extractor_version(2)] {
            compare_batch(&*store, &*oracle, kind, &queries, &options, &mut recall).await;
        }
    }
    assert_recall(&*store, &recall, "differential");
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

/// knn_batch answers each query exactly as knn_with does (ties, filters, k beyond the kind,
/// repeated queries), an empty batch with nothing and an unknown kind with empty answers; a
/// bad query anywhere fails the whole call, naming its index, and changes nothing.
pub async fn knn_batch_answers_each_query_as_knn_with(ctx: &Ctx) {
    use vectorstore_core::ErrorKind;
    use vectorstore_core::limits::MAX_QUERIES_PER_CALL;

    use crate::check::expect_error;

    let store = ctx.store().await;
    let named =
        |result: vectorstore_core::Result<Vec<Vec<vectorstore_core::Neighbor>>>, kind: ErrorKind, index: usize| {
            let err = result.expect_err("a bad query fails the whole batch");
            assert_eq!(err.kind(), kind, "{err}");
            assert!(err.to_string().contains(&format!("query {index}")), "the error names query {index}: {err}");
        };
    // Validated before anything else, on every store.
    let good = [1.0_f32, 2.0, 3.0];
    named(
        store.knn_batch("ja3", &[&good, &good, &[1.0, f32::NAN, 3.0]], &KnnOptions::new(3)).await,
        ErrorKind::InvalidVector,
        2,
    );
    named(store.knn_batch("ja3", &[&good, &[1.0, 2.0]], &KnnOptions::new(3)).await, ErrorKind::DimensionMismatch, 1);
    expect_error(store.knn_batch("Not A Kind", &[&good], &KnnOptions::new(3)).await, ErrorKind::InvalidKind, "kind");
    let many = vec![&good[..]; MAX_QUERIES_PER_CALL + 1];
    expect_error(store.knn_batch("ja3", &many, &KnnOptions::new(3)).await, ErrorKind::InvalidArgument, "too many");
    // Each argument within its limit, the answer they ask for not: refused before any work.
    let per_query = vectorstore_core::limits::MAX_K;
    let at_limit = vec![&good[..]; vectorstore_core::limits::MAX_NEIGHBORS_PER_CALL / per_query];
    let over = vec![&good[..]; at_limit.len() + 1];
    expect_error(
        store.knn_batch("ja3", &over, &KnnOptions::new(per_query)).await,
        ErrorKind::LimitExceeded,
        "queries × k over the answer limit",
    );
    ok(store.knn_batch("never_written", &at_limit, &KnnOptions::new(per_query)).await, "queries × k at the limit");
    assert!(ok(store.knn_batch("ja3", &[], &KnnOptions::new(3)).await, "empty batch").is_empty());
    let unknown = ok(store.knn_batch("never_written", &[&good, &good], &KnnOptions::new(3)).await, "unknown kind");
    assert_eq!(unknown, vec![Vec::new(), Vec::new()]);
    if !stores_data(ctx, &*store) {
        return;
    }

    ok(store.create_kind("ja3", 3, Metric::L2).await, "create_kind");
    let items: Vec<NewVector> = (0..60)
        .map(|i| {
            NewVector::new(format!("s{i:02}"), vec![(i % 5) as f32, (i % 3) as f32, 1.0])
                .with_extractor_version(1 + (i % 2) as u32)
        })
        .collect();
    ok(store.insert_many("ja3", &items).await, "insert_many");
    let mut rng = Rng::new(77);
    let mut queries: Vec<Vec<f32>> = (0..10).map(|_| rng.gaussian_vector(3)).collect();
    queries.push(items[7].vector.clone());
    queries.push(items[7].vector.clone());
    let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    for options in [
        KnnOptions::new(5),
        KnnOptions::new(1),
        KnnOptions::new(100),
        KnnOptions::new(7).extractor_version(2),
        KnnOptions::new(10).max_distance(1.5),
        KnnOptions::new(0),
    ] {
        let batch = ok(store.knn_batch("ja3", &queries, &options).await, "knn_batch");
        assert_eq!(batch.len(), queries.len(), "{options:?}: one answer per query");
        for (n, (answer, query)) in batch.iter().zip(&queries).enumerate() {
            let single = ok(store.knn_with("ja3", query, &options).await, "knn_with");
            assert_eq!(ids(answer), ids(&single), "{options:?}, query {n}");
            for (a, b) in answer.iter().zip(&single) {
                assert!((a.distance - b.distance).abs() <= 1e-6 * b.distance.abs().max(1.0), "{a:?} vs {b:?}");
            }
        }
    }
    // A query of the wrong dimension for the kind, or zero under cosine: the whole call fails.
    named(
        store.knn_batch("ja3", &[&good, &[1.0, 2.0, 3.0, 4.0][..3], &[0.5, 0.5]], &KnnOptions::new(3)).await,
        ErrorKind::DimensionMismatch,
        2,
    );
    named(
        store.knn_batch("ja3", &[&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0]], &KnnOptions::new(3)).await,
        ErrorKind::DimensionMismatch,
        0,
    );
    let info = ok(vectorstore_core::VectorStoreExt::kind_info(&*store, "ja3").await, "kind_info").expect("ja3");
    assert_eq!(info.count, 60, "nothing changed");
}
