//! A server restart during use: calls fail with `Unavailable` while it is down, and the same
//! store handle works again once it is back, with nothing lost.

use vectorstore_conformance::check::{Snapshot, assert_publishable, snapshot};
use vectorstore_conformance::{Unavailable, skip};
use vectorstore_core::{ErrorKind, KnnOptions, Metric, NewVector, Result, VectorStore};
use vectorstore_pgvector::{NAME, PgVectorStore};
use vectorstore_testkit::servers::postgres;

/// Every operation once, with valid input, as (name, outcome).
async fn every_operation(store: &PgVectorStore) -> Vec<(&'static str, Result<()>)> {
    vec![
        ("insert", store.insert("ja3", "during", &[1.0, 2.0, 3.0], 1).await),
        ("insert_many", store.insert_many("ja3", &[NewVector::new("during-2", vec![1.0, 2.0, 3.0])]).await),
        ("get", store.get("ja3", "s-0001").await.map(|_| ())),
        ("delete", store.delete("ja3", "s-0002").await.map(|_| ())),
        ("get_many", store.get_many("ja3", &["s-0001", "s-0004"]).await.map(|_| ())),
        ("delete_many", store.delete_many("ja3", &["s-0005", "s-0006"]).await.map(|_| ())),
        ("delete_version", store.delete_version("ja3", 9).await.map(|_| ())),
        ("knn", store.knn("ja3", &[1.0, 2.0, 3.0], 5).await.map(|_| ())),
        (
            "knn_with",
            store.knn_with("ja3", &[1.0, 2.0, 3.0], &KnnOptions::new(5).extractor_version(2)).await.map(|_| ()),
        ),
        ("kinds", store.kinds().await.map(|_| ())),
        ("scan", store.scan("ja3", None, 10).await.map(|_| ())),
        ("create_kind", store.create_kind("new_kind", 4, Metric::Cosine).await.map(|_| ())),
        ("drop_kind", store.drop_kind("hassh").await.map(|_| ())),
    ]
}

async fn load(store: &PgVectorStore) -> Snapshot {
    let items: Vec<NewVector> = (0..500)
        .map(|i| {
            NewVector::new(format!("s-{i:04}"), vec![i as f32, (i % 7) as f32, 1.0]).with_extractor_version(1 + i % 2)
        })
        .collect();
    store.insert_many("ja3", &items).await.expect("insert_many");
    store.create_kind("hassh", 2, Metric::Dot).await.expect("create_kind");
    store.insert("hassh", "h", &[0.5, 0.5], 3).await.expect("insert");
    snapshot(store).await
}

/// Stop the server under a working store: every call is `Unavailable` (and health says why,
/// without the password); start it again: the same handle answers with everything intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_gives_unavailable_then_recovers_on_the_same_handle() {
    let what = "restart_gives_unavailable_then_recovers_on_the_same_handle";
    let server = match postgres::dedicated().await {
        Ok(server) => server,
        Err(Unavailable(reason)) => return skip(NAME, what, &reason),
    };
    // A password in the URL (the test server trusts local connections) to check it never shows.
    let (url, secret) = crate::common::with_password(server.url(), "restart-s3cret");
    let config = crate::common::config(&url, &[("acquire_timeout_ms", "1000"), ("pool_size", "4")]);
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let before = load(&store).await;

    server.stop().await.expect("stop the server");
    for (operation, outcome) in every_operation(&store).await {
        let err = outcome.expect_err(operation);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{operation} while the server is down: {err}");
        assert!(err.is_retryable());
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&secret), "{operation}: {shown}");
    }
    let health = store.health().await;
    assert!(!health.ok, "{health:?}");
    let shown = format!("{health:?}");
    assert!(!shown.contains(&secret) && health.reason.is_some(), "{shown}");
    assert_publishable(&health);
    let detailed = store.health_detailed().await;
    assert!(!detailed.ok && !format!("{detailed:?}").contains(&secret), "{detailed:?}");

    server.start().await.expect("start the server again");
    // The pool replaces its dead connections by itself: the very first calls succeed.
    assert!(store.health().await.ok, "{:?}", store.health().await);
    assert_eq!(snapshot(&store).await, before, "data changed across the restart");
    for (operation, outcome) in every_operation(&store).await {
        outcome.unwrap_or_else(|err| panic!("{operation} after the restart: {err}"));
    }
    let hits = store.knn("ja3", &[3.0, 3.0, 1.0], 1).await.expect("knn");
    assert_eq!(hits[0].id, "s-0003");
    store.close().await.expect("close");
    drop(server);
}

/// Sends SIGCONT when dropped, so a failing assertion never leaves the server stopped.
struct Resume<'a>(&'a postgres::PgTestServer);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        let _ = self.0.signal("CONT");
    }
}

/// Stop the server's processes (SIGSTOP) under a working store: every call is `Unavailable`
/// within the configured timeout, never a hang; after SIGCONT the same handle answers with
/// everything written before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_unavailable_within_the_timeout_and_the_same_handle_recovers() {
    use std::time::{Duration, Instant};

    let what = "a_stopped_server_is_unavailable_within_the_timeout_and_the_same_handle_recovers";
    let server = match postgres::dedicated().await {
        Ok(server) => server,
        Err(Unavailable(reason)) => return skip(NAME, what, &reason),
    };
    let timeout = Duration::from_millis(1_500);
    let config = crate::common::config(
        server.url(),
        &[("timeout_ms", &timeout.as_millis().to_string()), ("acquire_timeout_ms", "1000"), ("pool_size", "2")],
    );
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let before = load(&store).await;

    server.signal("STOP").expect("stop the server's processes");
    let resume = Resume(&server);
    // Far above the timeout, so that a hang fails the test instead of stalling the run.
    let bound = timeout + Duration::from_secs(3);
    for operation in ["knn", "insert", "get", "kinds"] {
        let started = Instant::now();
        let call = async {
            match operation {
                "knn" => store.knn("ja3", &[1.0, 2.0, 3.0], 3).await.map(|_| ()),
                "insert" => store.insert("ja3", "late", &[3.0, 4.0, 5.0], 1).await,
                "get" => store.get("ja3", "s-0001").await.map(|_| ()),
                _ => store.kinds().await.map(|_| ()),
            }
        };
        let result = tokio::time::timeout(bound * 3, call).await.unwrap_or_else(|_| panic!("{operation} hung"));
        let waited = started.elapsed();
        let err = result.expect_err(operation);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{operation} on a stopped server: {err}");
        assert!(waited <= bound, "{operation} took {waited:?}, configured timeout {timeout:?}");
    }
    drop(resume);

    let mut answered = store.get("ja3", "s-0001").await;
    for _ in 0..50 {
        if answered.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        answered = store.get("ja3", "s-0001").await;
    }
    assert!(answered.expect("answers after SIGCONT").is_some());
    // The insert that timed out may or may not have landed; everything before it did.
    store.delete("ja3", "late").await.expect("delete");
    assert_eq!(snapshot(&store).await, before, "nothing written before the stop was lost");
    store.close().await.expect("close");
}

/// A write the server cannot finish within the timeout (its table locked by another session)
/// is stopped by the server itself (`statement_timeout`, `lock_timeout`): the store reports
/// `Unavailable`, and once the lock is gone the refused writes have not happened. Stopped only
/// on the client, the statement would wait on and commit after the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_reported_unavailable_after_a_timeout_is_not_committed() {
    use std::time::Duration;

    use sqlx::Connection;

    let what = "a_write_reported_unavailable_after_a_timeout_is_not_committed";
    let Some(server) = crate::common::server(what).await else { return };
    let config = crate::common::config(server.url(), &[("timeout_ms", "800"), ("index", "none")]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    store.insert("ja3", "kept", &[1.0, 2.0], 1).await.expect("insert");
    let schema = config.option(NAME, "SCHEMA").expect("a schema").to_owned();

    let mut locker = sqlx::PgConnection::connect(server.url()).await.expect("a second session");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN; LOCK TABLE \"{schema}\".\"kind_ja3\" IN ACCESS EXCLUSIVE MODE")))
        .execute(&mut locker)
        .await
        .expect("lock the kind's table");
    for (what, write) in [
        ("a new record", store.insert("ja3", "refused", &[3.0, 4.0], 1).await),
        ("a replace", store.insert("ja3", "kept", &[9.0, 9.0], 2).await),
        ("a delete", store.delete("ja3", "kept").await.map(|_| ())),
    ] {
        let err = write.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{what}: {err}");
    }
    // Past the client's bound, then the lock goes: a statement still waiting would run now.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    sqlx::raw_sql("ROLLBACK").execute(&mut locker).await.expect("release the lock");
    locker.close().await.expect("close");
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(store.get("ja3", "refused").await.expect("get"), None, "a write reported Unavailable was committed");
    let kept = store.get("ja3", "kept").await.expect("get").expect("the record is still there");
    assert_eq!((kept.vector, kept.extractor_version), (vec![1.0, 2.0], 1), "a refused replace was committed");
    store.close().await.expect("close");
}
