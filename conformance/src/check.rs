//! Assertions shared by the cases: typed errors, whole-store snapshots (to prove that a
//! failed call lost nothing), and comparing a store's search answers with the oracle's.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;

use vectorstore_core::{
    ErrorKind, Health, KindInfo, KnnOptions, Metric, Neighbor, Result, SearchKind, VectorRecord, VectorStore,
    VectorStoreExt, distance,
};

/// Relative tolerance on distances between stores: `|a - b| <= TOLERANCE * max(1, |b|)`.
pub const TOLERANCE: f32 = 1e-4;

/// Asserts that `result` failed with `kind`; `what` names the call in the failure message.
#[track_caller]
pub fn expect_error<T: Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(err) => assert_eq!(err.kind(), kind, "{what}: expected a {kind} error, got {err}"),
    }
}

/// Unwraps `result`, failing with `what` and the error.
#[track_caller]
pub fn ok<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{what}: unexpected error: {err}"),
    }
}

/// Everything a store holds: kinds with their dimension and metric, and every record's
/// vector bits and extractor version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// kind -> (dim, metric, count)
    pub kinds: BTreeMap<String, (usize, Metric, u64)>,
    /// (kind, id) -> (vector bits, extractor version)
    pub records: BTreeMap<(String, String), (Vec<u32>, u32)>,
}

/// Reads everything the store holds through `kinds` and `scan`.
pub async fn snapshot(store: &dyn VectorStore) -> Snapshot {
    let mut snap = Snapshot::default();
    for KindInfo { kind, dim, metric, count, .. } in ok(store.kinds().await, "kinds()") {
        for record in ok(store.scan_all(&kind, 997).await, "scan_all") {
            snap.records.insert(
                (kind.clone(), record.id.clone()),
                (record.vector.iter().map(|v| v.to_bits()).collect(), record.extractor_version),
            );
        }
        snap.kinds.insert(kind, (dim, metric, count));
    }
    snap
}

/// `record` without its write time, for comparing two stores written at different moments.
pub fn timeless(record: &Option<VectorRecord>) -> Option<VectorRecord> {
    record.as_ref().map(|record| VectorRecord { written_at_ms: 0, ..record.clone() })
}

/// Bit patterns of a vector, for exact comparison.
pub fn bits(vector: &[f32]) -> Vec<u32> {
    vector.iter().map(|v| v.to_bits()).collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1.0)
}

/// Totals of a comparison over many queries, for the recall check of approximate stores.
#[derive(Debug, Default, Clone, Copy)]
pub struct Recall {
    /// Oracle hits found by the store.
    pub found: usize,
    /// Oracle hits expected.
    pub expected: usize,
}

impl Recall {
    /// found / expected (1 when nothing was expected).
    pub fn ratio(&self) -> f64 {
        if self.expected == 0 { 1.0 } else { self.found as f64 / self.expected as f64 }
    }
}

/// Compares a store's hits with the oracle's for the same query and options.
///
/// Always: the same number of hits, no id twice, the contract's order, and each hit's
/// reported distance equal (within [`TOLERANCE`]) to the true distance of that id
/// (`true_distance`). Exact stores: each rank's distance equals the oracle's, and the ids equal
/// the oracle's wherever the distance is not a near-tie. Approximate stores: recall is added
/// to `recall` for the caller to check.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn compare_hits(
    what: &str,
    search: SearchKind,
    kind: &str,
    actual: &[Neighbor],
    expected: &[Neighbor],
    true_distance: &dyn Fn(&str) -> Option<f32>,
    recall: &mut Recall,
) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: {} hits, the oracle has {}\nstore:  {:?}\noracle: {:?}",
        actual.len(),
        expected.len(),
        ids(actual),
        ids(expected)
    );
    let mut seen = HashSet::new();
    for (rank, hit) in actual.iter().enumerate() {
        assert_eq!(hit.kind, kind, "{what}: hit {rank} ({}) is of kind {:?}", hit.id, hit.kind);
        assert!(seen.insert(hit.id.as_str()), "{what}: id {:?} returned twice", hit.id);
        let truth = true_distance(&hit.id).unwrap_or_else(|| panic!("{what}: hit {:?} is not a stored id", hit.id));
        assert!(close(hit.distance, truth), "{what}: hit {:?} reported at {} but is at {truth}", hit.id, hit.distance);
        if rank > 0 {
            let before = &actual[rank - 1];
            assert!(
                distance::cmp_hits(before.distance, &before.id, hit.distance, &hit.id).is_lt(),
                "{what}: hits out of order at rank {rank}: ({}, {:?}) then ({}, {:?})",
                before.distance,
                before.id,
                hit.distance,
                hit.id
            );
        }
    }
    let expected_ids: HashSet<&str> = expected.iter().map(|n| n.id.as_str()).collect();
    recall.found += actual.iter().filter(|n| expected_ids.contains(n.id.as_str())).count();
    recall.expected += expected.len();
    if search == SearchKind::Approximate {
        return;
    }
    for (rank, (got, want)) in actual.iter().zip(expected).enumerate() {
        assert!(
            close(got.distance, want.distance),
            "{what}: rank {rank} at distance {} ({:?}), the oracle has {} ({:?})",
            got.distance,
            got.id,
            want.distance,
            want.id
        );
        let near_tie = expected
            .iter()
            .enumerate()
            .any(|(other, n)| other != rank && close(n.distance, want.distance) && close(want.distance, n.distance));
        let at_boundary = rank + 1 == expected.len();
        if !near_tie && !at_boundary {
            assert_eq!(got.id, want.id, "{what}: rank {rank} is {:?}, the oracle has {:?}", got.id, want.id);
        }
    }
}

/// The ids of hits, for messages.
pub fn ids(hits: &[Neighbor]) -> Vec<&str> {
    hits.iter().map(|n| n.id.as_str()).collect()
}

/// Runs the same search on the store and on the oracle and compares them (see [`compare_hits`]).
pub async fn compare_search(
    store: &dyn VectorStore,
    oracle: &dyn VectorStore,
    kind: &str,
    query: &[f32],
    options: &KnnOptions,
    recall: &mut Recall,
) {
    let what = format!("[{}] knn {kind} k={} {:?}", store.backend(), options.k, options);
    let actual = ok(store.knn_with(kind, query, options).await, &what);
    compare_answer(store, oracle, &what, kind, query, options, &actual, recall).await;
}

/// Runs `queries` as one `knn_batch` on the store and compares each answer with the oracle's
/// `knn_with` for that query (see [`compare_hits`]).
pub async fn compare_batch(
    store: &dyn VectorStore,
    oracle: &dyn VectorStore,
    kind: &str,
    queries: &[Vec<f32>],
    options: &KnnOptions,
    recall: &mut Recall,
) {
    let batch: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let what = format!("[{}] knn_batch of {} in {kind} {:?}", store.backend(), queries.len(), options);
    let answers = ok(store.knn_batch(kind, &batch, options).await, &what);
    assert_eq!(answers.len(), queries.len(), "{what}: one answer per query");
    for (n, (query, actual)) in queries.iter().zip(&answers).enumerate() {
        compare_answer(store, oracle, &format!("{what}, query {n}"), kind, query, options, actual, recall).await;
    }
}

/// Compares the store's `actual` answer to `query` with the oracle's (see [`compare_hits`]),
/// each hit's distance checked against the oracle's copy of the record.
#[allow(clippy::too_many_arguments)]
async fn compare_answer(
    store: &dyn VectorStore,
    oracle: &dyn VectorStore,
    what: &str,
    kind: &str,
    query: &[f32],
    options: &KnnOptions,
    actual: &[Neighbor],
    recall: &mut Recall,
) {
    let expected = ok(oracle.knn_with(kind, query, options).await, "oracle knn");
    let info = ok(oracle.kind_info(kind).await, "oracle kind").expect("oracle knows the kind");
    let mut truths = std::collections::HashMap::new();
    for hit in actual {
        if let Some(record) = ok(oracle.get(kind, &hit.id).await, "oracle get") {
            truths.insert(hit.id.clone(), distance::distance(info.metric, query, &record.vector));
        }
    }
    let truth = |id: &str| truths.get(id).copied();
    compare_hits(what, store.capabilities().search, kind, actual, &expected, &truth, recall);
}

/// Detail keys that name where a store is; only the detailed health may carry them.
pub const LOCATION_KEYS: [&str; 7] = ["path", "url", "schema", "collection_prefix", "host", "user", "api_key"];

/// Asserts that `health` holds nothing that locates the store or identifies a user: no
/// [`LOCATION_KEYS`], and no value with a URL scheme, a `user@`, or a path separator.
#[track_caller]
pub fn assert_publishable(health: &Health) {
    for key in LOCATION_KEYS {
        assert!(!health.detail.contains_key(key), "the published health has detail {key:?}: {health:?}");
    }
    let values = health
        .detail
        .values()
        .chain(health.versions.values())
        .chain(health.reason.iter())
        .chain(health.fallback.iter());
    for value in values {
        for marker in ["://", "@", "/", "\\"] {
            assert!(!value.contains(marker), "the published health has {value:?} ({marker:?}): {health:?}");
        }
    }
}
