//! The benchmark harness and the soak, on the Fake store (figures are checked for shape and
//! correctness, never for speed).

use std::sync::Arc;
use std::time::Duration;

use vectorstore::{FakeVectorStore, VectorStore};
use vectorstore_cli::bench::soak::{SoakOptions, run as soak};
use vectorstore_cli::bench::{BenchOptions, BenchReport, ServedFrom, Workload, plot, run};
use vectorstore_testkit::{Fault, FaultyStore};

fn small() -> BenchOptions {
    BenchOptions {
        workloads: vec![Workload::Insert, Workload::Knn, Workload::Mixed],
        count: 3000,
        dim: 16,
        single_inserts: 200,
        queries: 50,
        mixed_ops: 400,
        scaling: vec![500, 1000, 2000],
        ..BenchOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_measures_every_workload_and_exact_recall() {
    let store = Arc::new(FakeVectorStore::new());
    store.initialize().await.unwrap();
    let mut phases = Vec::new();
    let report = run(store.clone(), None, &small(), &mut |phase, _, _| {
        if phases.last().map(String::as_str) != Some(phase) {
            phases.push(phase.to_owned());
        }
    })
    .await
    .unwrap();
    let names: Vec<(&str, usize)> = report.measurements.iter().map(|m| (m.workload.as_str(), m.clients)).collect();
    for expected in [("insert_many", 1), ("insert", 1), ("knn", 1), ("knn", 8), ("mixed", 8), ("scaling", 1)] {
        assert!(names.contains(&expected), "{expected:?} missing from {names:?}");
    }
    let knn = report.find("knn", "store", 8).unwrap();
    assert_eq!(knn.operations, 50);
    assert_eq!(knn.recall, Some(1.0), "the Fake is exact");
    assert_eq!(knn.n, 3200);
    let insert = report.find("insert_many", "store", 1).unwrap();
    assert_eq!(insert.operations, 3000);
    assert!(insert.per_second > 0.0);
    let latency = knn.latency.unwrap();
    assert!(latency.p50_ms <= latency.p95_ms && latency.p95_ms <= latency.p99_ms);
    assert_eq!(report.find("mixed", "store", 8).unwrap().operations, 400);
    let scaling: Vec<usize> = report.measurements.iter().filter(|m| m.workload == "scaling").map(|m| m.n).collect();
    assert_eq!(scaling, [500, 1000, 2000]);
    assert!(report.memory.is_some_and(|m| m.raw_bytes == 3000 * 16 * 4));
    assert!(report.overheads().is_empty(), "no raw engine was given");
    assert!(store.kinds().await.unwrap().is_empty(), "the run removes its kinds");
    assert!(phases.contains(&"insert_many".to_owned()));

    // Reports survive a JSON round trip (for `bench report`) and plot.
    let text = serde_json::to_string(&report).unwrap();
    let back: BenchReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
    let svg = plot::latency_vs_n(&[report.clone(), back]);
    assert_eq!(svg.matches("<polyline").count(), 4, "p50 and p99 lines per report");
    assert_eq!(plot::latency_per_store(&[report]).matches("<rect x=").count(), 2 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_of_a_sound_store_finds_nothing() {
    let store = Arc::new(FakeVectorStore::new());
    store.initialize().await.unwrap();
    let options = SoakOptions { duration: Duration::from_millis(1500), clients: 16, ..SoakOptions::default() };
    let report = soak(store.clone(), &options, &mut |_, _| {}).await.unwrap();
    assert!(report.ok(), "{report:?}");
    for op in ["insert", "insert_many", "delete", "get", "knn", "scan", "kinds"] {
        assert!(report.operations.get(op).is_some_and(|n| *n > 0), "{op} never ran: {report:?}");
    }
    assert!(report.records > 16 * 64, "every client wrote: {report:?}");
    assert!(store.kinds().await.unwrap().is_empty(), "the soak removes its kinds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_catches_a_store_that_loses_writes() {
    let store = Arc::new(FaultyStore::on_fake(&[Fault::LoseEveryNthInsert(50)]).await);
    let options = SoakOptions { duration: Duration::from_millis(800), clients: 4, ..SoakOptions::default() };
    let report = soak(store, &options, &mut |_, _| {}).await.unwrap();
    assert!(!report.ok(), "lost writes went unnoticed: {report:?}");
    assert!(!report.mismatches.is_empty() || !report.problems.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_sqlite_vec_reports_its_in_memory_copy() {
    let dir = tempfile::tempdir().unwrap();
    let config = vectorstore::Config::new("sqlite_vec").with_path(dir.path().join("bench.sqlite"));
    let store = vectorstore::open(&config).unwrap();
    store.initialize().await.unwrap();
    let options = BenchOptions {
        workloads: vec![Workload::Knn],
        count: 2_000,
        dim: 128,
        single_inserts: 100,
        queries: 20,
        ..BenchOptions::default()
    };
    let report = run(store.clone(), None, &options, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(report.find("knn", "store", 1).unwrap().recall, Some(1.0), "exact");
    // The Fake with the same data is timed in the same rounds, with as many clients.
    for clients in [1, 8] {
        let reference = report.find("knn", "fake", clients).expect("the Fake is timed beside the store");
        assert_eq!(reference.operations, 20, "every query, once, x{clients}");
    }
    // The full scan (pruning off) at 1 client only.
    assert_eq!(report.find("knn", "full_scan", 1).map(|m| m.operations), Some(20));
    assert!(report.find("knn", "full_scan", 8).is_none());
    let copy = report.copy.expect("the copy's memory is reported");
    assert_eq!(copy.raw_bytes, 2_100 * 128 * 4, "every searched vector, single inserts included");
    // The vectors themselves plus ids, versions, norms and the id map: within 1.3× at 128 dims.
    assert!(copy.ratio > 1.0 && copy.ratio <= 1.3, "{copy:?}");
    assert_eq!(copy.served_from, ServedFrom::FullCopy, "{copy:?}");
    store.close().await.unwrap();

    // A limit of 1 MiB: the full copy (about 1.3 MB) does not fit, the 8-bit codes do.
    let config = vectorstore::Config::new("sqlite_vec").with_path(dir.path().join("codes.sqlite")).with_option(
        "sqlite_vec",
        "cache_mb",
        "1",
    );
    let store = vectorstore::open(&config).unwrap();
    store.initialize().await.unwrap();
    let report = run(store.clone(), None, &options, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(report.find("knn", "store", 1).unwrap().recall, Some(1.0), "exact from the codes");
    let copy = report.copy.expect("the codes' memory is reported");
    assert_eq!(copy.served_from, ServedFrom::CodesOnly, "{copy:?}");
    assert!(copy.ratio > 0.25 && copy.ratio < 0.6, "a byte per component and the rows' metadata: {copy:?}");
    store.close().await.unwrap();

    let fake = Arc::new(FakeVectorStore::new());
    fake.initialize().await.unwrap();
    let report = run(fake, None, &options, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(report.copy, None, "the Fake keeps no copy besides its data");
    // A Fake under test is timed beside the oracle too: the oracle's pruned and full scans are
    // one instance, whatever the store is.
    for clients in [1, 8] {
        assert_eq!(report.find("knn", "fake", clients).map(|m| m.operations), Some(20), "x{clients}");
    }
    assert_eq!(report.find("knn", "full_scan", 1).map(|m| m.operations), Some(20));
}

fn ties_only(groups: Vec<usize>) -> BenchOptions {
    BenchOptions { workloads: vec![Workload::Ties], dim: 8, queries: 6, tie_groups: groups, ..BenchOptions::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ties_workload_measures_each_group_size_at_and_away_from_the_group() {
    let store = Arc::new(FakeVectorStore::new());
    store.initialize().await.unwrap();
    let report = run(store.clone(), None, &ties_only(vec![30, 200]), &mut |_, _, _| {}).await.unwrap();
    let found: Vec<(&str, &str, usize)> =
        report.measurements.iter().map(|m| (m.workload.as_str(), m.engine.as_str(), m.n)).collect();
    let mut expected = Vec::new();
    for n in [60, 400] {
        for workload in ["ties", "ties_distinct"] {
            for (place, engine) in [("group", "store"), ("away", "store"), ("group", "fake"), ("away", "fake")] {
                expected.push((format!("{workload}_{place}"), engine, n));
            }
        }
    }
    let expected: Vec<(&str, &str, usize)> = expected.iter().map(|(w, e, n)| (w.as_str(), *e, *n)).collect();
    assert_eq!(found, expected, "eight figures per group size, n = twice the group, and nothing else loaded");
    for m in &report.measurements {
        assert_eq!(m.operations, 6, "{m:?}");
        assert_eq!(m.recall, Some(1.0), "the Fake answers as the Fake: {m:?}");
        assert!(m.latency.is_some_and(|l| l.p50_ms > 0.0), "{m:?}");
    }
    assert!(store.kinds().await.unwrap().is_empty(), "the run removes its kinds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ties_workload_catches_a_wrong_cut_of_the_group() {
    let store: Arc<dyn VectorStore> =
        Arc::new(FaultyStore::new(Arc::new(FakeVectorStore::new()), &[Fault::ReverseTies]));
    store.initialize().await.unwrap();
    let report = run(store, None, &ties_only(vec![50]), &mut |_, _, _| {}).await.unwrap();
    let at_group = report.measurements.iter().find(|m| m.workload == "ties_group" && m.engine == "store").unwrap();
    // The largest ids of the group instead of the smallest: none of the k right ones.
    assert_eq!(at_group.recall, Some(0.0), "{at_group:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ties_workload_catches_a_wrong_distinct_count() {
    // knn_distinct through the store's scan (its default), which loses the first record of
    // every page after the first: the group of 600 (1,200 records) is counted 599.
    let store: Arc<dyn VectorStore> =
        Arc::new(FaultyStore::new(Arc::new(FakeVectorStore::new()), &[Fault::ScanSkipsAfterCursor]));
    store.initialize().await.unwrap();
    let report = run(store, None, &ties_only(vec![600]), &mut |_, _, _| {}).await.unwrap();
    let find = |workload: &str| report.measurements.iter().find(|m| m.workload == workload && m.engine == "store");
    let at_group = find("ties_distinct_group").unwrap();
    assert_eq!(at_group.recall, Some(0.0), "{at_group:?}");
    assert_eq!(find("ties_group").unwrap().recall, Some(1.0), "knn itself is not affected");
}

fn zipf_only(count: usize, groups: usize) -> BenchOptions {
    BenchOptions {
        workloads: vec![Workload::Zipf],
        count,
        dim: 8,
        queries: 40,
        zipf_groups: groups,
        ..BenchOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zipf_workload_measures_loads_and_recall_of_both_kinds() {
    let store = Arc::new(FakeVectorStore::new());
    store.initialize().await.unwrap();
    let report = run(store.clone(), None, &zipf_only(2_000, 20), &mut |_, _, _| {}).await.unwrap();
    let found: Vec<(&str, &str)> =
        report.measurements.iter().map(|m| (m.workload.as_str(), m.engine.as_str())).collect();
    let mut expected = vec![("zipf_insert_many", "store"), ("plain_insert_many", "store")];
    for workload in ["zipf_data_group", "zipf_data", "zipf_outside", "plain_data", "plain_outside"] {
        expected.extend([(workload, "store"), (workload, "fake")]);
    }
    assert_eq!(found, expected, "the Fake defers nothing, so no index build; nothing else loaded");
    let insert = report.measurements.iter().find(|m| m.workload == "zipf_insert_many").unwrap();
    assert_eq!((insert.n, insert.operations), (2_000, 2_000));
    let at_group = report.measurements.iter().find(|m| m.workload == "zipf_data_group").unwrap();
    // About half the records are group members, so about half the data queries.
    assert!((8..32).contains(&at_group.operations), "{at_group:?}");
    for m in report.measurements.iter().filter(|m| m.latency.is_some()) {
        assert_eq!(m.recall, Some(1.0), "the Fake answers as the Fake: {m:?}");
    }
    assert!(store.kinds().await.unwrap().is_empty(), "the run removes its kinds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zipf_workload_catches_a_wrong_cut_of_a_group() {
    let store: Arc<dyn VectorStore> =
        Arc::new(FaultyStore::new(Arc::new(FakeVectorStore::new()), &[Fault::ReverseTies]));
    store.initialize().await.unwrap();
    let report = run(store, None, &zipf_only(2_000, 20), &mut |_, _, _| {}).await.unwrap();
    let recall = |workload: &str| {
        report.measurements.iter().find(|m| m.workload == workload && m.engine == "store").unwrap().recall.unwrap()
    };
    // Every group holds at least k = 10 members here, so each search at one is cut wrong.
    assert!(recall("zipf_data_group") < 0.5, "{}", recall("zipf_data_group"));
    assert!(recall("zipf_data") < 1.0);
    assert_eq!(recall("plain_data"), 1.0, "no ties in the plain kind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zipf_workload_refuses_more_groups_than_records_can_fill() {
    let store = Arc::new(FakeVectorStore::new());
    store.initialize().await.unwrap();
    let err = run(store, None, &zipf_only(100, 500), &mut |_, _, _| {}).await.unwrap_err();
    assert_eq!(err.kind(), vectorstore::ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("500 groups"), "{err}");
}
