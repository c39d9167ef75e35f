//! The in-memory copies searches scan: their answers are the Fake's, ids and distances bit for
//! bit, and sqlite-vec's (the same ids, distances within the suite's tolerance), after writes
//! by this handle, by another handle on the file and by another process, after deletes, after
//! `drop_kind` and a re-creation with another dimension, within the memory limit, and on a file
//! made before the change counters existed.

use std::path::Path;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use vectorstore_core::{
    Config, ErrorKind, FakeVectorStore, KnnOptions, Metric, Neighbor, NewVector, VectorStore, VectorStoreExt,
};
use vectorstore_sqlite_vec::{NAME, SqliteVecStore, purge};

use crate::common::fresh;
use crate::durability::{expect_success, spawn_child};

/// Deterministic pseudo-random components in [-1, 1).
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.unit()).collect()
    }

    fn items(&mut self, prefix: &str, count: usize, dim: usize) -> Vec<NewVector> {
        (0..count)
            .map(|n| {
                NewVector::new(format!("{prefix}-{n:05}"), self.vector(dim)).with_extractor_version(1 + n as u32 % 3)
            })
            .collect()
    }
}

async fn open(config: &Config, cache_mb: Option<&str>) -> SqliteVecStore {
    let config = match cache_mb {
        Some(mb) => config.clone().with_option(NAME, "cache_mb", mb),
        None => config.clone(),
    };
    let store = SqliteVecStore::from_config(&config).expect("open");
    store.initialize().await.expect("initialize");
    store
}

fn shown(hits: &[Neighbor]) -> Vec<(&str, f32)> {
    hits.iter().map(|h| (h.id.as_str(), h.distance)).collect()
}

/// `got` has the Fake's ids and distances: to the bit when `exact` (an answer from a copy),
/// else within the conformance suite's tolerance (an answer from sqlite-vec).
#[track_caller]
fn assert_like_the_fake(what: &str, got: &[Neighbor], oracle: &[Neighbor], exact: bool) {
    if exact {
        let bits = |hits: &[Neighbor]| hits.iter().map(|h| (h.id.clone(), h.distance.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(oracle), "{what}: copy {:?} vs the Fake's {:?}", shown(got), shown(oracle));
        return;
    }
    let ids = |hits: &[Neighbor]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(got), ids(oracle), "{what}: {:?} vs the Fake's {:?}", shown(got), shown(oracle));
    for (a, b) in got.iter().zip(oracle) {
        let tolerance = vectorstore_conformance::check::TOLERANCE * b.distance.abs().max(1.0);
        assert!((a.distance - b.distance).abs() <= tolerance, "{what}: {} at {} vs {}", a.id, a.distance, b.distance);
    }
}

/// Searches `kind` in the cached store, the uncached one and the Fake with several queries and
/// options, and compares the answers: the cached store's to the bit unless its copy cannot be
/// used (`copy_used` false).
async fn compare_with(
    what: &str,
    cached: &dyn VectorStore,
    uncached: &dyn VectorStore,
    oracle: &FakeVectorStore,
    kind: &str,
    copy_used: bool,
) {
    let dim = oracle.kinds().await.expect("kinds").into_iter().find(|k| k.kind == kind).expect("kind").dim;
    let mut rng = Rng(dim as u64);
    for q in 0..3 {
        let query = rng.vector(dim);
        let mut plans = vec![KnnOptions::new(1), KnnOptions::new(10), KnnOptions::new(10).extractor_version(2)];
        // Up to 16 dimensions sqlite-vec sums in the Fake's order, so their distances agree to
        // the bit and long lists compare id by id; beyond, near ties may swap in sqlite-vec's.
        if dim <= 16 {
            plans.extend([
                KnnOptions::new(200).extractor_version(2),
                KnnOptions::new(50).max_distance(1.0 + dim as f32 / 8.0),
                KnnOptions::new(5_000),
            ]);
        }
        for options in plans {
            let label = format!("{what}, query {q}, {options:?}");
            let a = cached.knn_with(kind, &query, &options).await.expect("cached knn");
            let b = uncached.knn_with(kind, &query, &options).await.expect("uncached knn");
            let c = oracle.knn_with(kind, &query, &options).await.expect("oracle knn");
            assert_like_the_fake(&format!("{label} (cached)"), &a, &c, copy_used);
            assert_like_the_fake(&format!("{label} (sqlite-vec)"), &b, &c, false);
        }
    }
}

async fn compare(
    what: &str,
    cached: &dyn VectorStore,
    uncached: &dyn VectorStore,
    oracle: &FakeVectorStore,
    kind: &str,
) {
    compare_with(what, cached, uncached, oracle, kind, true).await;
}

async fn both_insert_many(store: &dyn VectorStore, oracle: &FakeVectorStore, kind: &str, items: &[NewVector]) {
    store.insert_many(kind, items).await.expect("insert_many");
    oracle.insert_many(kind, items).await.expect("oracle insert_many");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_follow_writes_of_this_handle_and_of_another_one() {
    let (config, _scratch) = fresh("cache_follow");
    // Two handles on one file, as two processes: `cached` keeps copies, `uncached` does not.
    let cached = open(&config, None).await;
    let uncached = open(&config, Some("0")).await;
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("initialize");
    let mut rng = Rng(5);

    cached.create_kind("k", 16, Metric::L2).await.expect("create_kind");
    oracle.create_kind("k", 16, Metric::L2).await.expect("create_kind");
    both_insert_many(&cached, &oracle, "k", &rng.items("a", 2_000, 16)).await;
    compare("own batch", &cached, &uncached, &oracle, "k").await;
    assert_eq!(cached.cache_usage().vectors, 2_000, "the copy holds the kind");
    assert_eq!(uncached.cache_usage().vectors, 0, "no copy with CACHE_MB=0");

    // Another handle writes: new ids, replacements (new vectors and versions) and deletes.
    let mut others = rng.items("b", 100, 16);
    others.extend(rng.items("a", 10, 16).into_iter().map(|item| item.with_extractor_version(7)));
    both_insert_many(&uncached, &oracle, "k", &others).await;
    for n in 0..5 {
        let id = format!("a-{:05}", 100 + n);
        assert!(uncached.delete("k", &id).await.expect("delete"));
        assert!(oracle.delete("k", &id).await.expect("delete"));
    }
    compare("after another handle's writes", &cached, &uncached, &oracle, "k").await;
    let replaced = cached.knn_with("k", &others[100].vector, &KnnOptions::new(1).extractor_version(7)).await.unwrap();
    assert_eq!(replaced[0].id, others[100].id, "a replacement by another handle is seen");

    // This handle writes: singles, replacements, deletes.
    for item in rng.items("c", 30, 16) {
        cached.insert("k", &item.id, &item.vector, 2).await.expect("insert");
        oracle.insert("k", &item.id, &item.vector, 2).await.expect("insert");
    }
    for n in 0..20 {
        let id = format!("b-{n:05}");
        assert!(cached.delete("k", &id).await.expect("delete"));
        assert!(oracle.delete("k", &id).await.expect("delete"));
        assert!(!cached.delete("k", &id).await.expect("delete again"));
    }
    compare("after this handle's writes", &cached, &uncached, &oracle, "k").await;
    assert_eq!(cached.cache_usage().vectors, 2_000 + 100 - 5 + 30 - 20);

    // Bulk removals by this handle, then by the other one: by ids, then by extractor version.
    let ids: Vec<String> = (0..50).map(|n| format!("a-{:05}", 300 + n)).chain(["absent".to_owned()]).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(cached.delete_many("k", &ids[..25]).await.expect("delete_many"), 25);
    assert_eq!(oracle.delete_many("k", &ids[..25]).await.expect("delete_many"), 25);
    compare("after this handle's delete_many", &cached, &uncached, &oracle, "k").await;
    assert_eq!(uncached.delete_many("k", &ids[25..]).await.expect("delete_many"), 25);
    assert_eq!(oracle.delete_many("k", &ids[25..]).await.expect("delete_many"), 25);
    compare("after another handle's delete_many", &cached, &uncached, &oracle, "k").await;
    let removed = cached.delete_version("k", 3).await.expect("delete_version");
    assert!(removed > 0);
    assert_eq!(oracle.delete_version("k", 3).await.expect("delete_version"), removed);
    compare("after this handle's delete_version", &cached, &uncached, &oracle, "k").await;
    let removed = uncached.delete_version("k", 2).await.expect("delete_version");
    assert!(removed > 0);
    assert_eq!(oracle.delete_version("k", 2).await.expect("delete_version"), removed);
    compare("after another handle's delete_version", &cached, &uncached, &oracle, "k").await;
    let left = oracle.kind_info("k").await.expect("kind_info").expect("k").count;
    assert_eq!(cached.cache_usage().vectors as u64, left, "the copy follows the removals");

    // Another handle drops the kind and re-creates it with another dimension and metric.
    assert!(uncached.drop_kind("k").await.expect("drop_kind"));
    assert!(oracle.drop_kind("k").await.expect("drop_kind"));
    assert!(cached.knn("k", &rng.vector(16), 5).await.expect("knn of a dropped kind").is_empty());
    uncached.create_kind("k", 8, Metric::Cosine).await.expect("create_kind");
    oracle.create_kind("k", 8, Metric::Cosine).await.expect("create_kind");
    both_insert_many(&uncached, &oracle, "k", &rng.items("d", 500, 8)).await;
    let err = cached.knn("k", &rng.vector(16), 5).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch, "{err}");
    compare("re-created by another handle with dim 8, cosine", &cached, &uncached, &oracle, "k").await;

    // This handle drops and re-creates it (dimension 4), then inserts into it.
    assert!(cached.drop_kind("k").await.expect("drop_kind"));
    assert!(oracle.drop_kind("k").await.expect("drop_kind"));
    both_insert_many(&cached, &oracle, "k", &rng.items("e", 300, 4)).await;
    compare("re-created by this handle with dim 4", &cached, &uncached, &oracle, "k").await;
    assert_eq!(cached.cache_usage().vectors, 300);

    cached.close().await.expect("close");
    uncached.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_another_process_is_seen_by_the_next_search() {
    let (config, _scratch) = fresh("cache_process");
    let path = config.path.clone().expect("path");
    let store = open(&config, None).await;
    let mut rng = Rng(9);
    let items: Vec<NewVector> = (0..500)
        .map(|n| NewVector::new(format!("near-{n}"), rng.vector(8).iter().map(|v| v.abs()).collect()))
        .collect();
    store.insert_many("shared", &items).await.expect("insert_many");
    let far = vec![100.0; 8];
    let before = store.knn("shared", &far, 1).await.expect("knn");
    assert!(before[0].id.starts_with("near-"), "{before:?}");
    assert_eq!(store.cache_usage().vectors, 500, "the copy is loaded before the other process writes");

    let mut child = spawn_child(&format!("write|{}|shared|far|100", path.display()));
    tokio::task::spawn_blocking(move || expect_success("writer process", &mut child)).await.expect("join");

    let after = store.knn("shared", &far, 1).await.expect("knn");
    assert_eq!(shown(&after), vec![("far", 0.0)], "the other process's committed write is seen");
    assert_eq!(store.cache_usage().vectors, 501, "the copy was reloaded");
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_stay_within_the_memory_limit() {
    const LIMIT: usize = 1 << 20;
    let (config, _scratch) = fresh("cache_limit");
    let cached = open(&config, Some("1")).await;
    let uncached = open(&config, Some("0")).await;
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("initialize");
    let mut rng = Rng(3);
    assert_eq!(cached.cache_usage().limit, LIMIT);
    assert_eq!(uncached.cache_usage().limit, 0);

    // 1,500 × 256 dims is 1.5 MB of vectors, more than the limit; their codes (about 0.5 MB)
    // fit, and answer as the Fake does.
    both_insert_many(&cached, &oracle, "big", &rng.items("big", 1_500, 256)).await;
    compare("a kind whose codes fit the limit", &cached, &uncached, &oracle, "big").await;
    let usage = cached.cache_usage();
    assert_eq!((usage.codes_only_kinds, usage.vectors), (1, 1_500), "the large kind has its codes: {usage:?}");
    // 4,000 × 256: even the codes (about 1.3 MB) exceed it: searched by sqlite-vec.
    both_insert_many(&cached, &oracle, "huge", &rng.items("huge", 4_000, 256)).await;
    compare_with("a kind larger than the limit", &cached, &uncached, &oracle, "huge", false).await;
    assert_eq!(cached.cache_usage().vectors, 1_500, "the huge kind has no copy");

    both_insert_many(&cached, &oracle, "small", &rng.items("small", 100, 16)).await;
    compare("a kind within the limit", &cached, &uncached, &oracle, "small").await;
    let usage = cached.cache_usage();
    assert_eq!((usage.kinds, usage.vectors), (2, 1_600), "the small kind has a copy");
    assert!(usage.bytes > 100 * 16 * 4 && usage.bytes <= LIMIT, "{usage:?}");

    // Own writes grow the copy past the limit: it is dropped, and searches stay exact.
    for batch in 0..8 {
        both_insert_many(&cached, &oracle, "small", &rng.items(&format!("grow{batch}"), 1_000, 16)).await;
        assert!(cached.cache_usage().bytes <= LIMIT, "{:?}", cached.cache_usage());
    }
    assert_eq!(cached.cache_usage().vectors, 1_500, "the outgrown copy was dropped");
    compare_with("a kind that outgrew the limit", &cached, &uncached, &oracle, "small", false).await;
    assert!(cached.cache_usage().bytes <= LIMIT);

    // The limit is an option like the others: 0 turns copies off, a bad value is refused.
    for bad in ["-1", "many", "1048577"] {
        let err = SqliteVecStore::from_config(&config.clone().with_option(NAME, "cache_mb", bad)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{bad}: {err}");
        assert!(err.message().contains("CACHE_MB"), "{err}");
    }
    cached.close().await.expect("close");
    uncached.close().await.expect("close");
    purge(config).await.expect("purge");
}

/// Searches `kind` in `store` and the Fake with queries near, on and far from the data and
/// options of every kind (k beyond the count, version and distance filters), and compares
/// the answers bit for bit; `knn_batch` and `knn_distinct` too.
async fn compare_exactly(what: &str, store: &dyn VectorStore, oracle: &FakeVectorStore, kind: &str, on: &[Vec<f32>]) {
    let dim = on[0].len();
    let mut rng = Rng(dim as u64 + 1);
    let mut queries: Vec<Vec<f32>> = on.to_vec();
    queries.push(rng.vector(dim));
    queries.push(rng.vector(dim).iter().map(|v| v * 1e3).collect());
    for (q, query) in queries.iter().enumerate() {
        let nearest = oracle.knn_with(kind, query, &KnnOptions::new(7)).await.expect("oracle knn");
        let some_distance = nearest.last().map_or(1.0, |hit| hit.distance);
        for options in [
            KnnOptions::new(1),
            KnnOptions::new(10),
            KnnOptions::new(5_000),
            KnnOptions::new(25).extractor_version(2),
            KnnOptions::new(50).max_distance(some_distance),
        ] {
            let label = format!("{what}, query {q}, {options:?}");
            let got = store.knn_with(kind, query, &options).await.expect("knn");
            let want = oracle.knn_with(kind, query, &options).await.expect("oracle knn");
            assert_like_the_fake(&label, &got, &want, true);
        }
    }
    let batch: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let options = KnnOptions::new(10);
    let got = store.knn_batch(kind, &batch, &options).await.expect("knn_batch");
    let want = oracle.knn_batch(kind, &batch, &options).await.expect("oracle knn_batch");
    for (n, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_like_the_fake(&format!("{what}, batch query {n}"), got, want, true);
    }
    let groups = |answer: &[vectorstore_core::DistinctNeighbor]| {
        answer.iter().map(|g| (g.distance.to_bits(), g.count, g.ids.clone())).collect::<Vec<_>>()
    };
    for (q, query) in queries.iter().enumerate() {
        for options in [KnnOptions::new(1), options.clone(), KnnOptions::new(30).extractor_version(2)] {
            let got = store.knn_distinct(kind, query, &options, 3).await.expect("knn_distinct");
            let want = oracle.knn_distinct(kind, query, &options, 3).await.expect("oracle knn_distinct");
            assert_eq!(groups(&got), groups(&want), "{what}, query {q}, {options:?}: knn_distinct");
        }
    }
}

/// A kind whose full copy does not fit the limit but whose 8-bit codes do is searched from
/// the codes, with the few vectors they cannot rule out read back from the file: its answers
/// are the Fake's bit for bit, for both metrics, with duplicates, after this handle's writes
/// (followed without a reload) and another handle's (reloaded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_too_large_for_its_copy_is_searched_from_its_codes() {
    let (config, _scratch) = fresh("cache_codes");
    // 1 MiB: 1,500 × 256 dimensions take 1.5 MB as f32 alone, their codes about a third; after
    // the deletes below, still more than 1 MB.
    let cached = open(&config, Some("1")).await;
    let other = open(&config, Some("0")).await;
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("initialize");
    let mut rng = Rng(21);
    // The metrics sqlite_vec supports (dot is covered by the index's own property tests).
    for metric in [Metric::L2, Metric::Cosine] {
        let kind = format!("codes_{metric}");
        cached.create_kind(&kind, 256, metric).await.expect("create_kind");
        oracle.create_kind(&kind, 256, metric).await.expect("create_kind");
        let mut items = rng.items("a", 1_500, 256);
        // Duplicated vectors under other ids, tying at every distance.
        for n in 0..100 {
            let copy = items[n * 3].vector.clone();
            items[1_400 + n].vector = copy;
        }
        both_insert_many(&cached, &oracle, &kind, &items).await;
        let on: Vec<Vec<f32>> = vec![items[3].vector.clone(), items[500].vector.clone()];
        compare_exactly(&format!("{metric}, loaded"), &cached, &oracle, &kind, &on).await;
        let usage = cached.cache_usage();
        assert_eq!((usage.kinds, usage.codes_only_kinds, usage.vectors), (1, 1, 1_500), "{usage:?}");
        assert!(usage.bytes < 1_500 * 256 * 4 / 2, "the codes take far less than the vectors: {usage:?}");

        // This handle's writes: the codes follow them without a reload.
        let replaced: Vec<NewVector> =
            rng.items("a", 50, 256).into_iter().map(|item| item.with_extractor_version(2)).collect();
        both_insert_many(&cached, &oracle, &kind, &replaced).await;
        for item in rng.items("c", 20, 256) {
            cached.insert(&kind, &item.id, &item.vector, 2).await.expect("insert");
            oracle.insert(&kind, &item.id, &item.vector, 2).await.expect("insert");
        }
        for n in 0..10 {
            let id = format!("a-{:05}", 600 + n);
            assert!(cached.delete(&kind, &id).await.expect("delete"));
            assert!(oracle.delete(&kind, &id).await.expect("delete"));
        }
        let removed = cached.delete_version(&kind, 3).await.expect("delete_version");
        assert_eq!(oracle.delete_version(&kind, 3).await.expect("delete_version"), removed);
        compare_exactly(&format!("{metric}, after this handle's writes"), &cached, &oracle, &kind, &on).await;
        let left = oracle.kind_info(&kind).await.expect("kind_info").expect("kind").count as usize;
        let usage = cached.cache_usage();
        assert_eq!((usage.codes_only_kinds, usage.vectors), (1, left), "followed: {usage:?}");

        // Another handle's writes: the next search reloads the codes.
        let others = rng.items("b", 30, 256);
        both_insert_many(&other, &oracle, &kind, &others).await;
        assert!(other.delete(&kind, "a-00010").await.expect("delete"));
        assert!(oracle.delete(&kind, "a-00010").await.expect("delete"));
        compare_exactly(&format!("{metric}, after another handle's writes"), &cached, &oracle, &kind, &on).await;
        let usage = cached.cache_usage();
        assert_eq!((usage.codes_only_kinds, usage.vectors), (1, left + 30 - 1), "reloaded: {usage:?}");

        assert!(cached.drop_kind(&kind).await.expect("drop_kind"));
        assert!(oracle.drop_kind(&kind).await.expect("drop_kind"));
    }
    cached.close().await.expect("close");
    other.close().await.expect("close");
    purge(config).await.expect("purge");
}

/// Runs one statement on the file through a plain connection, as another tool would.
async fn run_sql(path: &Path, statement: &str) -> Vec<(String, i64)> {
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path)).await.expect("connect");
    let rows: Vec<(String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(statement.to_owned())).fetch_all(&mut conn).await.expect("sql");
    conn.close().await.expect("close");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_made_before_the_change_counters_upgrades_itself() {
    let (config, _scratch) = fresh("cache_upgrade");
    let path = config.path.clone().expect("path");
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("initialize");
    let mut rng = Rng(21);
    {
        let store = open(&config, None).await;
        both_insert_many(&store, &oracle, "old", &rng.items("old", 800, 12)).await;
        store.close().await.expect("close");
    }
    // The layout before this version: the same tables without the change counters.
    run_sql(&path, "DROP TABLE vectorstore_changes").await;
    let tables = run_sql(&path, "SELECT name, 0 FROM sqlite_master WHERE name = 'vectorstore_changes'").await;
    assert!(tables.is_empty(), "{tables:?}");

    // Read-only, nothing is written: no counters, so every search goes to sqlite-vec.
    let read_only = SqliteVecStore::from_config(&config.clone().with_option(NAME, "read_only", "true")).expect("open");
    read_only.initialize().await.expect("initialize read-only");
    let uncached = open(&config.clone().with_option(NAME, "read_only", "true"), Some("0")).await;
    compare_with("read-only on the old layout", &read_only, &uncached, &oracle, "old", false).await;
    assert_eq!(read_only.cache_usage().vectors, 0);
    read_only.close().await.expect("close");
    uncached.close().await.expect("close");
    assert!(run_sql(&path, "SELECT name, 0 FROM sqlite_master WHERE name = 'vectorstore_changes'").await.is_empty());

    // Read-write: the counters are added, every existing kind at 0, and copies are used.
    let store = open(&config, None).await;
    assert_eq!(run_sql(&path, "SELECT kind, counter FROM vectorstore_changes").await, vec![("old".to_owned(), 0)]);
    let other = open(&config, Some("0")).await;
    compare("upgraded", &store, &other, &oracle, "old").await;
    assert_eq!(store.cache_usage().vectors, 800);
    both_insert_many(&other, &oracle, "old", &rng.items("new", 50, 12)).await;
    compare("upgraded, after another handle's write", &store, &other, &oracle, "old").await;
    assert_eq!(run_sql(&path, "SELECT kind, counter FROM vectorstore_changes").await, vec![("old".to_owned(), 1)]);
    store.close().await.expect("close");
    other.close().await.expect("close");
    purge(config).await.expect("purge");
}
