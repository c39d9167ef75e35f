//! Property tests: random sequences of operations with hostile ids, invalid kinds and odd
//! vectors, applied to the store and to the Fake; every answer and the final state must agree.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use vectorstore_core::{ErrorKind, FakeVectorStore, KnnOptions, Metric, NewVector, SearchKind, VectorStore};

use super::support::stores_data;
use crate::check::{Recall, bits, compare_hits, snapshot};
use crate::runner::Ctx;

/// Variable that changes the property tests' fixed seed (to explore other sequences).
pub const SEED_VAR: &str = "DECNET_TEST_PROPTEST_SEED";

/// The kinds the operations address: three valid ones (of dimension 3, 2 and 1) and two that
/// every store must refuse.
const KINDS: [(&str, usize); 5] = [("prop_a", 3), ("prop_b", 2), ("prop_a_", 1), ("Prop_a", 3), ("prop;drop", 2)];

/// Ids chosen to collide often and to carry SQL, JSON, path and unicode tricks.
const IDS: [&str; 14] = [
    "a",
    "b",
    "' OR 1=1 --",
    "\"; DROP TABLE prop_a; --",
    "%",
    "_",
    "{\"id\":\"a\"}",
    "../../etc",
    "\\",
    "é",
    "e\u{301}",
    "🦀",
    "",
    "nul\0id",
];

#[derive(Debug, Clone)]
enum Op {
    Insert { kind: usize, id: String, vector: Vec<f32>, version: u32 },
    InsertMany { kind: usize, items: Vec<(String, Vec<f32>, u32)> },
    Delete { kind: usize, id: String },
    Get { kind: usize, id: String },
    GetMany { kind: usize, ids: Vec<String> },
    DeleteMany { kind: usize, ids: Vec<String> },
    DeleteVersion { kind: usize, version: u32 },
    Knn { kind: usize, query: Vec<f32>, k: usize, version: Option<u32> },
    Scan { kind: usize, after: Option<String>, limit: usize },
    DropKind { kind: usize },
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(&IDS[..]).prop_map(str::to_owned),
        3 => "[a-c]{1,2}",
        2 => "\\PC{1,8}",
        1 => proptest::collection::vec(proptest::char::range('x', 'z'), 500..520).prop_map(|c| c.into_iter().collect()),
    ]
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        12 => proptest::collection::vec(-100.0f32..100.0, 1..=3),
        1 => Just(vec![0.0, 0.0]),
        1 => Just(vec![f32::NAN, 1.0]),
        1 => Just(Vec::new()),
    ]
}

fn version() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..=3, 1 => Just(0u32)]
}

fn op() -> impl Strategy<Value = Op> {
    let kind = 0..KINDS.len();
    prop_oneof![
        6 => (kind.clone(), id(), vector(), version())
            .prop_map(|(kind, id, vector, version)| Op::Insert { kind, id, vector, version }),
        2 => (kind.clone(), proptest::collection::vec((id(), vector(), version()), 0..6))
            .prop_map(|(kind, items)| Op::InsertMany { kind, items }),
        2 => (kind.clone(), id()).prop_map(|(kind, id)| Op::Delete { kind, id }),
        3 => (kind.clone(), id()).prop_map(|(kind, id)| Op::Get { kind, id }),
        1 => (kind.clone(), proptest::collection::vec(id(), 0..6)).prop_map(|(kind, ids)| Op::GetMany { kind, ids }),
        1 => (kind.clone(), proptest::collection::vec(id(), 0..4))
            .prop_map(|(kind, ids)| Op::DeleteMany { kind, ids }),
        1 => (kind.clone(), version()).prop_map(|(kind, version)| Op::DeleteVersion { kind, version }),
        4 => (kind.clone(), vector(), 0usize..8, proptest::option::of(1u32..=3))
            .prop_map(|(kind, query, k, version)| Op::Knn { kind, query, k, version }),
        1 => (kind.clone(), proptest::option::of(id()), 0usize..5)
            .prop_map(|(kind, after, limit)| Op::Scan { kind, after, limit }),
        1 => kind.prop_map(|kind| Op::DropKind { kind }),
    ]
}

/// The metric of each valid kind: l2, then cosine and dot where the store supports them.
fn metrics(store: &dyn VectorStore) -> [Metric; 3] {
    let or_l2 = |m: Metric| if store.capabilities().supports(m) { m } else { Metric::L2 };
    [Metric::L2, or_l2(Metric::Cosine), or_l2(Metric::Dot)]
}

async fn reset(store: &dyn VectorStore, oracle: &FakeVectorStore, metrics: &[Metric; 3]) -> Result<(), TestCaseError> {
    for (i, (kind, dim)) in KINDS.iter().take(3).enumerate() {
        store.drop_kind(kind).await.map_err(fail)?;
        oracle.drop_kind(kind).await.map_err(fail)?;
        store.create_kind(kind, *dim, metrics[i]).await.map_err(fail)?;
        oracle.create_kind(kind, *dim, metrics[i]).await.map_err(fail)?;
    }
    Ok(())
}

fn fail(err: vectorstore_core::Error) -> TestCaseError {
    TestCaseError::fail(format!("setup failed: {err}"))
}

fn kind_of<T>(result: &vectorstore_core::Result<T>) -> Option<ErrorKind> {
    result.as_ref().err().map(vectorstore_core::Error::kind)
}

macro_rules! same_error {
    ($store:expr, $oracle:expr, $what:expr) => {
        prop_assert_eq!(
            kind_of(&$store),
            kind_of(&$oracle),
            "{}: store {:?} vs oracle {:?}",
            $what,
            $store.as_ref().err(),
            $oracle.as_ref().err()
        );
    };
}

async fn apply(
    store: &dyn VectorStore,
    oracle: &FakeVectorStore,
    ops: &[Op],
    metrics: &[Metric; 3],
) -> Result<Recall, TestCaseError> {
    reset(store, oracle, metrics).await?;
    let mut recall = Recall::default();
    for (step, op) in ops.iter().enumerate() {
        let what = format!("step {step}: {op:?}");
        match op {
            Op::Insert { kind, id, vector, version } => {
                let kind = KINDS[*kind].0;
                let (s, o) =
                    (store.insert(kind, id, vector, *version).await, oracle.insert(kind, id, vector, *version).await);
                same_error!(s, o, what);
            }
            Op::InsertMany { kind, items } => {
                let kind = KINDS[*kind].0;
                let items: Vec<NewVector> = items
                    .iter()
                    .map(|(id, v, version)| NewVector::new(id.clone(), v.clone()).with_extractor_version(*version))
                    .collect();
                let (s, o) = (store.insert_many(kind, &items).await, oracle.insert_many(kind, &items).await);
                same_error!(s, o, what);
            }
            Op::Delete { kind, id } => {
                let kind = KINDS[*kind].0;
                let (s, o) = (store.delete(kind, id).await, oracle.delete(kind, id).await);
                same_error!(s, o, what);
                prop_assert_eq!(s.ok(), o.ok(), "{}", what);
            }
            Op::Get { kind, id } => {
                let kind = KINDS[*kind].0;
                let (s, o) = (store.get(kind, id).await, oracle.get(kind, id).await);
                same_error!(s, o, what);
                let shape = |r: Option<vectorstore_core::VectorRecord>| {
                    r.map(|r| (r.kind, r.id, bits(&r.vector), r.extractor_version))
                };
                prop_assert_eq!(s.ok().map(shape), o.ok().map(shape), "{}", what);
            }
            Op::GetMany { kind, ids } => {
                let kind = KINDS[*kind].0;
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                let (s, o) = (store.get_many(kind, &ids).await, oracle.get_many(kind, &ids).await);
                same_error!(s, o, what);
                let shape = |records: Vec<Option<vectorstore_core::VectorRecord>>| {
                    records
                        .into_iter()
                        .map(|r| r.map(|r| (r.kind, r.id, bits(&r.vector), r.extractor_version)))
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(s.ok().map(shape), o.ok().map(shape), "{}", what);
            }
            Op::DeleteMany { kind, ids } => {
                let kind = KINDS[*kind].0;
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                let (s, o) = (store.delete_many(kind, &ids).await, oracle.delete_many(kind, &ids).await);
                same_error!(s, o, what);
                prop_assert_eq!(s.ok(), o.ok(), "{}", what);
            }
            Op::DeleteVersion { kind, version } => {
                let kind = KINDS[*kind].0;
                let (s, o) = (store.delete_version(kind, *version).await, oracle.delete_version(kind, *version).await);
                same_error!(s, o, what);
                prop_assert_eq!(s.ok(), o.ok(), "{}", what);
            }
            Op::Knn { kind, query, k, version } => {
                let kind = KINDS[*kind].0;
                let options = KnnOptions { k: *k, extractor_version: *version, max_distance: None };
                let (s, o) =
                    (store.knn_with(kind, query, &options).await, oracle.knn_with(kind, query, &options).await);
                same_error!(s, o, what);
                if let (Ok(actual), Ok(expected)) = (s, o) {
                    let metric =
                        oracle.kinds().await.map_err(fail)?.into_iter().find(|i| i.kind == kind).map(|i| i.metric);
                    let mut truths = std::collections::HashMap::new();
                    for hit in &actual {
                        if let (Some(record), Some(metric)) = (oracle.get(kind, &hit.id).await.map_err(fail)?, metric) {
                            truths.insert(
                                hit.id.clone(),
                                vectorstore_core::distance::distance(metric, query, &record.vector),
                            );
                        }
                    }
                    compare_hits(
                        &what,
                        store.capabilities().search,
                        kind,
                        &actual,
                        &expected,
                        &|id| truths.get(id).copied(),
                        &mut recall,
                    );
                }
            }
            Op::Scan { kind, after, limit } => {
                let kind = KINDS[*kind].0;
                let (s, o) = (
                    store.scan(kind, after.as_deref(), *limit).await,
                    oracle.scan(kind, after.as_deref(), *limit).await,
                );
                same_error!(s, o, what);
                let ids = |r: Vec<vectorstore_core::VectorRecord>| r.into_iter().map(|r| r.id).collect::<Vec<_>>();
                prop_assert_eq!(s.ok().map(ids), o.ok().map(ids), "{}", what);
            }
            Op::DropKind { kind } => {
                let (name, dim) = KINDS[*kind];
                let (s, o) = (store.drop_kind(name).await, oracle.drop_kind(name).await);
                same_error!(s, o, what);
                prop_assert_eq!(s.ok(), o.ok(), "{}", what);
                if let Some(slot) = (*kind < 3).then_some(*kind) {
                    // Recreate it as it was, so later operations meet the same kind everywhere.
                    store.create_kind(name, dim, metrics[slot]).await.map_err(fail)?;
                    oracle.create_kind(name, dim, metrics[slot]).await.map_err(fail)?;
                }
            }
        }
    }
    prop_assert_eq!(snapshot(store).await, snapshot(oracle).await, "final state differs");
    Ok(recall)
}

/// Random sequences of insert / insert_many / delete / get / get_many / delete_many /
/// delete_version / knn / scan / drop on valid and
/// invalid kinds, hostile ids and odd vectors give the same answers (or the same error kind)
/// as the Fake, and leave the same state.
pub async fn random_operations_match_the_fake(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let seed = std::env::var(SEED_VAR).ok().and_then(|s| s.parse().ok()).unwrap_or(0x00de_c0de);
    let config = Config {
        cases: 24,
        max_shrink_iters: 256,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let metrics = metrics(&*store);
    let handle = tokio::runtime::Handle::current();
    let store: Arc<dyn vectorstore_core::VectorStore> = store;
    let total = std::sync::Mutex::new(Recall::default());
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
        let oracle = FakeVectorStore::new();
        // The runner calls this synchronously; the store is async. Needs a multi-thread runtime.
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                oracle.initialize().await.map_err(fail)?;
                let recall = apply(&*store, &oracle, &ops, &metrics).await?;
                let mut total = total.lock().unwrap_or_else(|p| p.into_inner());
                total.found += recall.found;
                total.expected += recall.expected;
                Ok(())
            })
        })
    });
    if let Err(err) = result {
        panic!("[{}] property failed (seed {seed}, set {SEED_VAR} to vary): {err}", ctx.backend());
    }
    let total = total.into_inner().unwrap_or_else(|p| p.into_inner());
    if store.capabilities().search == SearchKind::Approximate {
        assert!(total.ratio() >= 0.95, "recall {:.3} below 0.95 over the random searches", total.ratio());
    }
}
