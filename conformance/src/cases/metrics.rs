//! Distances against values computed by hand, for every metric the store supports.

use vectorstore_core::{ErrorKind, Metric, Neighbor, VectorStore};

use super::support::{stores_data, supports};
use crate::check::{expect_error, ok};
use crate::runner::Ctx;

/// Stores `points` in a fresh kind of `metric`, queries with `query`, and checks each id's
/// distance against the hand-computed `expected` (in ascending order).
async fn check_distances(
    store: &dyn VectorStore,
    kind: &str,
    metric: Metric,
    points: &[(&str, &[f32])],
    query: &[f32],
    expected: &[(&str, f32)],
) {
    ok(store.create_kind(kind, query.len(), metric).await, "create_kind");
    for (id, vector) in points {
        ok(store.insert(kind, id, vector, 1).await, "insert");
    }
    let hits: Vec<Neighbor> = ok(store.knn(kind, query, points.len()).await, "knn");
    let got: Vec<(&str, f32)> = hits.iter().map(|h| (h.id.as_str(), h.distance)).collect();
    assert_eq!(got.len(), expected.len(), "{metric}: {got:?} vs {expected:?}");
    for ((got_id, got_d), (want_id, want_d)) in got.iter().zip(expected) {
        assert_eq!(got_id, want_id, "{metric}: order {got:?}, expected {expected:?}");
        assert!(
            (got_d - want_d).abs() <= 1e-5 * want_d.abs().max(1.0),
            "{metric}: {got_id} at {got_d}, expected {want_d}"
        );
    }
}

/// l2 reports the Euclidean distance: sqrt of the sum of squared differences.
pub async fn l2_distances_are_euclidean(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) || !supports(ctx, &*store, Metric::L2) {
        return;
    }
    let points: [(&str, &[f32]); 4] = [
        ("same", &[1.0, 2.0, 2.0]),
        ("three_four", &[1.0, 5.0, 6.0]),
        ("unit", &[2.0, 2.0, 2.0]),
        ("far", &[-9.0, 2.0, 2.0]),
    ];
    check_distances(
        &*store,
        "l2_kind",
        Metric::L2,
        &points,
        &[1.0, 2.0, 2.0],
        &[("same", 0.0), ("unit", 1.0), ("three_four", 5.0), ("far", 10.0)],
    )
    .await;
}

/// cosine reports 1 - cos: 0 same direction, 1 orthogonal, 2 opposite, 1 - sqrt(2)/2 at 45 degrees.
pub async fn cosine_distances_are_one_minus_cosine(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) || !supports(ctx, &*store, Metric::Cosine) {
        return;
    }
    let points: [(&str, &[f32]); 4] =
        [("scaled", &[3.0, 0.0]), ("diagonal", &[2.0, 2.0]), ("orthogonal", &[0.0, -0.5]), ("opposite", &[-7.0, 0.0])];
    check_distances(
        &*store,
        "cos_kind",
        Metric::Cosine,
        &points,
        &[0.5, 0.0],
        &[("scaled", 0.0), ("diagonal", 1.0 - std::f32::consts::FRAC_1_SQRT_2), ("orthogonal", 1.0), ("opposite", 2.0)],
    )
    .await;
}

/// dot reports the negated inner product, so the largest inner product comes first.
pub async fn dot_distances_are_negated_inner_products(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) || !supports(ctx, &*store, Metric::Dot) {
        return;
    }
    let points: [(&str, &[f32]); 4] = [
        ("big", &[4.0, 5.0, 6.0]),
        ("small", &[0.5, 0.0, 0.0]),
        ("zero", &[0.0, 0.0, 0.0]),
        ("negative", &[-1.0, -1.0, -1.0]),
    ];
    check_distances(
        &*store,
        "dot_kind",
        Metric::Dot,
        &points,
        &[1.0, 2.0, 3.0],
        &[("big", -32.0), ("small", -0.5), ("zero", 0.0), ("negative", 6.0)],
    )
    .await;
}

/// A metric the store does not list in its capabilities is refused with MetricUnsupported.
pub async fn unsupported_metrics_are_refused(ctx: &Ctx) {
    let store = ctx.store().await;
    let missing: Vec<Metric> = Metric::ALL.into_iter().filter(|m| !store.capabilities().supports(*m)).collect();
    if missing.is_empty() {
        ctx.not_applicable("the store supports every metric");
        return;
    }
    for metric in missing {
        expect_error(
            store.create_kind("ja3", 3, metric).await,
            ErrorKind::MetricUnsupported,
            &format!("create {metric}"),
        );
    }
    assert!(ok(store.kinds().await, "kinds").is_empty(), "a refused kind was created");
}
