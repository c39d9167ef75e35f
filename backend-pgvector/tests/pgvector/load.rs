//! Loads: a kind's HNSW index is built once after its load (when writes pause, or on
//! `settle`), searches meanwhile are exact, a large batch into an emptied kind drops its index
//! to build it again once, an invalid index left by an interrupted build is replaced, and
//! inserts into an indexed kind keep the index.

use std::time::{Duration, Instant};

use vectorstore_conformance::data::clustered;
use vectorstore_core::{FakeVectorStore, KnnOptions, NewVector, VectorStore};
use vectorstore_pgvector::PgVectorStore;

/// `(exists, valid)` of the kind's HNSW index, read from the catalog.
async fn index_state(url: &str, store: &PgVectorStore, kind: &str) -> (bool, bool) {
    let mut connection = crate::common::connect(url).await;
    let valid: Option<bool> = sqlx::query_scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)")
        .bind(format!("\"{}\".\"kind_{kind}_hnsw\"", store.config().schema))
        .fetch_optional(&mut connection)
        .await
        .expect("catalog");
    (valid.is_some(), valid == Some(true))
}

/// Whether the server reports a build of the kind's index running now.
async fn building_index(url: &str, store: &PgVectorStore, kind: &str) -> bool {
    let mut connection = crate::common::connect(url).await;
    let running: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_progress_create_index WHERE relid = to_regclass($1)")
            .bind(format!("\"{}\".\"kind_{kind}_distinct\"", store.config().schema))
            .fetch_one(&mut connection)
            .await
            .expect("progress");
    running > 0
}

fn items(vectors: &[Vec<f32>], from: usize) -> Vec<NewVector> {
    vectors.iter().enumerate().map(|(i, v)| NewVector::new(format!("s-{:06}", from + i), v.clone())).collect()
}

/// The store's answers equal the Fake's exactly (ids and distances within f32 rounding).
async fn same_answers(store: &PgVectorStore, oracle: &FakeVectorStore, kind: &str, queries: &[Vec<f32>]) {
    for query in queries {
        let got = store.knn(kind, query, 10).await.expect("knn");
        let want = oracle.knn(kind, query, 10).await.expect("oracle");
        let ids = |hits: &[vectorstore_core::Neighbor]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{kind}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g.distance - w.distance).abs() <= 1e-4 * w.distance.max(1.0), "{g:?} vs {w:?}");
        }
    }
}

async fn oracle() -> FakeVectorStore {
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("oracle");
    oracle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_builds_the_index_once_writes_pause_and_searches_meanwhile_are_exact() {
    let Some(server) = crate::common::server("load::index_after_pause").await else { return };
    let config = crate::common::config(server.url(), &[("INDEX_DELAY_MS", "1500")]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let oracle = oracle().await;
    let (vectors, _) = clustered(5, 3_000, 16, 8, 1.0);
    let all = items(&vectors, 0);
    for batch in all.chunks(1_000) {
        store.insert_many("ja3", batch).await.expect("insert_many");
    }
    oracle.insert_many("ja3", &all).await.expect("oracle");
    assert_eq!(index_state(server.url(), &store, "ja3").await, (false, false), "no index while loading");
    // Exact answers without the index.
    same_answers(&store, &oracle, "ja3", &vectors[..20]).await;
    let plan = store.explain_knn("ja3", &vectors[0], &KnnOptions::new(10)).await.unwrap().unwrap();
    assert!(!plan.contains("hnsw"), "{plan}");

    let started = Instant::now();
    while index_state(server.url(), &store, "ja3").await != (true, true) {
        assert!(started.elapsed() < Duration::from_secs(60), "the index was not built after the writes paused");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(store.settle("ja3").await.expect("settle"), None, "nothing left to build");
    same_answers(&store, &oracle, "ja3", &vectors[..20]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_builds_now_reports_the_time_and_later_inserts_keep_the_index() {
    // A delay no test waits for: only settle builds.
    let Some((store, _cleanup)) = crate::common::store("load::settle", &[("INDEX_DELAY_MS", "3600000")]).await else {
        return;
    };
    let url = crate::common::server("load::settle").await.expect("server").url().to_owned();
    let oracle = oracle().await;
    let (vectors, _) = clustered(6, 2_500, 8, 6, 1.0);
    let first = items(&vectors[..2_000], 0);
    store.insert_many("hassh", &first).await.expect("insert_many");
    oracle.insert_many("hassh", &first).await.expect("oracle");
    assert_eq!(index_state(&url, &store, "hassh").await, (false, false));
    let took = store.settle("hassh").await.expect("settle").expect("an index was built");
    assert!(took > Duration::ZERO);
    assert_eq!(index_state(&url, &store, "hassh").await, (true, true));
    assert_eq!(store.settle("hassh").await.expect("settle again"), None);
    assert_eq!(store.settle("unknown").await.expect("an unknown kind"), None);
    let err = store.settle("Not A Kind").await.expect_err("an invalid kind");
    assert_eq!(err.kind(), vectorstore_core::ErrorKind::InvalidKind);

    // Later writes (a batch below the bulk size, single inserts) go through the index.
    let more = items(&vectors[2_000..], 2_000);
    store.insert_many("hassh", &more[..400]).await.expect("insert_many");
    for item in &more[400..] {
        store.insert("hassh", &item.id, &item.vector, 1).await.expect("insert");
    }
    oracle.insert_many("hassh", &more).await.expect("oracle");
    assert_eq!(index_state(&url, &store, "hassh").await, (true, true));
    let hit = store.knn("hassh", &vectors[2_400], 1).await.expect("knn");
    assert_eq!(hit[0].id, "s-002400", "a row written after the build is found through the index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_batch_into_an_emptied_kind_rebuilds_its_index_once() {
    let Some((store, _cleanup)) = crate::common::store("load::emptied", &[("INDEX_DELAY_MS", "3600000")]).await else {
        return;
    };
    let url = crate::common::server("load::emptied").await.expect("server").url().to_owned();
    let (vectors, _) = clustered(7, 1_000, 8, 4, 1.0);
    let all = items(&vectors, 0);
    store.insert_many("tcp", &all[..10]).await.expect("insert_many");
    store.settle("tcp").await.expect("settle");
    assert_eq!(index_state(&url, &store, "tcp").await, (true, true));
    for item in &all[..10] {
        assert!(store.delete("tcp", &item.id).await.expect("delete"));
    }
    store.insert_many("tcp", &all).await.expect("a bulk batch");
    assert_eq!(
        index_state(&url, &store, "tcp").await,
        (false, false),
        "the empty kind's index was dropped for the load"
    );
    assert!(store.settle("tcp").await.expect("settle").is_some());
    assert_eq!(index_state(&url, &store, "tcp").await, (true, true));
    let oracle = oracle().await;
    oracle.insert_many("tcp", &all).await.expect("oracle");
    same_answers(&store, &oracle, "tcp", &vectors[..10]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_index_left_by_an_interrupted_build_is_replaced() {
    let Some((store, _cleanup)) = crate::common::store("load::invalid", &[("INDEX_DELAY_MS", "3600000")]).await else {
        return;
    };
    let url = crate::common::server("load::invalid").await.expect("server").url().to_owned();
    let (vectors, _) = clustered(8, 500, 8, 4, 1.0);
    store.insert_many("ssh", &items(&vectors, 0)).await.expect("insert_many");
    store.settle("ssh").await.expect("settle");
    // What a build cut short leaves (needs a superuser: the test server's own user is one).
    let mut connection = crate::common::connect(&url).await;
    sqlx::query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass($1)")
        .bind(format!("\"{}\".\"kind_ssh_hnsw\"", store.config().schema))
        .execute(&mut connection)
        .await
        .expect("mark the index invalid");
    assert_eq!(index_state(&url, &store, "ssh").await, (true, false));
    assert!(store.settle("ssh").await.expect("settle").is_some(), "the invalid index is rebuilt");
    assert_eq!(index_state(&url, &store, "ssh").await, (true, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_kind_cancels_its_index_build() {
    let Some((store, _cleanup)) =
        crate::common::store("load::drop_during_build", &[("INDEX_DELAY_MS", "3600000")]).await
    else {
        return;
    };
    let url = crate::common::server("load::drop_during_build").await.expect("server").url().to_owned();
    let (vectors, _) = clustered(9, 20_000, 32, 16, 1.0);
    for batch in items(&vectors, 0).chunks(5_000) {
        store.insert_many("slow", batch).await.expect("insert_many");
    }
    let store = std::sync::Arc::new(store);
    let building = tokio::spawn({
        let store = store.clone();
        async move { store.settle("slow").await }
    });
    // Wait until the server reports the build.
    let started = Instant::now();
    loop {
        if building_index(&url, &store, "slow").await {
            break;
        }
        if building.is_finished() {
            // The build finished before it could be seen: nothing to cancel (a fast machine).
            vectorstore_conformance::report(
                "pgvector::load: the index build ended before drop_kind could interrupt it",
            );
            store.drop_kind("slow").await.expect("drop_kind");
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the build never showed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dropping = Instant::now();
    assert!(store.drop_kind("slow").await.expect("drop_kind"));
    assert!(dropping.elapsed() < Duration::from_secs(10), "drop_kind waited {:?} for the build", dropping.elapsed());
    vectorstore_conformance::report(&format!(
        "pgvector::load: drop_kind during an index build took {:?}",
        dropping.elapsed()
    ));
    let settled = building.await.expect("join");
    assert!(settled.is_err() || settled.as_ref().is_ok_and(Option::is_none), "{settled:?}");
    assert!(store.kinds().await.expect("kinds").is_empty());
}

/// A background build cut short by `drop_kind` is the drop's doing, not a failure: no warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_build_cut_short_by_a_drop_is_not_a_warning() {
    let logs = crate::tls::logs();
    let Some((store, _cleanup)) = crate::common::store("load::drop_background", &[("INDEX_DELAY_MS", "50")]).await
    else {
        return;
    };
    let url = crate::common::server("load::drop_background").await.expect("server").url().to_owned();
    let (vectors, _) = clustered(10, 20_000, 32, 16, 1.0);
    for batch in items(&vectors, 0).chunks(5_000) {
        store.insert_many("dropbg", batch).await.expect("insert_many");
    }
    let started = Instant::now();
    loop {
        if building_index(&url, &store, "dropbg").await {
            break;
        }
        if index_state(&url, &store, "dropbg").await.1 {
            vectorstore_conformance::report(
                "pgvector::load: the background build ended before drop_kind could cut it short",
            );
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the background build never showed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.drop_kind("dropbg").await.expect("drop_kind"));
    // The store's own lines about the kind (sqlx's statements left out).
    let of_kind = |text: &str| {
        let lines = text.lines().filter(|line| line.contains("dropbg") && !line.contains("sqlx::"));
        lines.map(str::to_owned).collect::<Vec<_>>()
    };
    let started = Instant::now();
    while !logs.text().contains("dropped during its index build") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the build's end was never logged: {:?}",
            of_kind(&logs.text())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let warnings: Vec<String> = of_kind(&logs.text()).into_iter().filter(|line| line.contains("WARN")).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}
