//! A Qdrant restart during use: while the server is down every operation is `Unavailable` and
//! health says why (without the API key); once it is back the same store works again and
//! nothing written before is lost. Needs a server this test may restart (a local `qdrant`
//! executable or Docker); skipped, loudly, otherwise.

use vectorstore_conformance::Unavailable;
use vectorstore_testkit::servers::qdrant::{dedicated, skip_without_dedicated};

use vectorstore_core::{ErrorKind, KnnOptions, Metric, NewVector, VectorStore};
use vectorstore_qdrant::{NAME, QdrantStore};

const KEY: &str = "sk-restart-secret-77";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_is_unavailable_then_recovers() {
    let mut server = match dedicated().await {
        Ok(server) => server,
        Err(Unavailable(reason)) => return skip_without_dedicated("restart", &reason),
    };
    // The test server has no key; Qdrant ignores one it does not expect, and the store must hide it.
    let config = server.config().with_option(NAME, "API_KEY", KEY).with_option(NAME, "TIMEOUT_MS", "3000").with_option(
        NAME,
        "COLLECTION_PREFIX",
        "restart_",
    );
    let store = QdrantStore::from_config(&config).unwrap();
    store.initialize().await.unwrap();
    store.create_kind("dwell", 3, Metric::Cosine).await.unwrap();
    let items: Vec<NewVector> = (0..50).map(|i| NewVector::new(format!("s{i:02}"), vec![i as f32, 1.0, 2.0])).collect();
    store.insert_many("dwell", &items).await.unwrap();

    server.stop().await;
    let failures = [
        ("insert", store.insert("dwell", "late", &[1.0, 1.0, 1.0], 1).await.map(|_| ())),
        ("insert_many", store.insert_many("dwell", &items[..3]).await),
        ("get", store.get("dwell", "s01").await.map(|_| ())),
        ("delete", store.delete("dwell", "s01").await.map(|_| ())),
        ("knn", store.knn_with("dwell", &[1.0, 1.0, 2.0], &KnnOptions::new(3)).await.map(|_| ())),
        ("scan", store.scan("dwell", None, 10).await.map(|_| ())),
        ("kinds", store.kinds().await.map(|_| ())),
        ("create_kind", store.create_kind("other", 2, Metric::L2).await.map(|_| ())),
        ("drop_kind", store.drop_kind("other").await.map(|_| ())),
    ];
    for (operation, result) in failures {
        let err = result.expect_err(operation);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{operation} while the server is down: {err}");
        assert!(!format!("{err} {err:?}").contains(KEY), "{operation}: {err}");
    }
    let health = store.health().await;
    assert!(!health.ok, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| !r.is_empty() && !r.contains(KEY)), "{health:?}");
    vectorstore_conformance::check::assert_publishable(&health);
    let detailed = store.health_detailed().await;
    assert!(!detailed.ok && !format!("{detailed:?}").contains(KEY), "{detailed:?}");

    server.start().await.unwrap();
    // The first calls after the restart may find the server still loading: retry briefly.
    let mut health = store.health().await;
    for _ in 0..50 {
        if health.ok {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        health = store.health().await;
    }
    assert!(health.ok, "{health:?}");
    assert!(health.versions.contains_key("qdrant"), "{health:?}");
    assert_eq!((health.kinds, health.vectors), (Some(1), Some(50)), "{health:?}");
    let hits = store.knn("dwell", &[7.0, 1.0, 2.0], 1).await.unwrap();
    assert_eq!(hits[0].id, "s07");
    store.insert("dwell", "late", &[1.0, 1.0, 1.0], 1).await.unwrap();
    assert_eq!(store.get("dwell", "s42").await.unwrap().unwrap().vector, [42.0, 1.0, 2.0]);
    assert_eq!(store.kinds().await.unwrap()[0].count, 51);
    store.close().await.unwrap();
}

/// Sends SIGCONT when dropped, so a failing assertion never leaves the server stopped.
struct Resume<'a>(&'a vectorstore_testkit::servers::qdrant::DedicatedQdrant);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        let _ = self.0.signal("CONT");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_unavailable_within_the_timeout_and_the_same_handle_recovers() {
    use std::time::{Duration, Instant};

    let server = match dedicated().await {
        Ok(server) => server,
        Err(Unavailable(reason)) => return skip_without_dedicated("restart::stopped_server", &reason),
    };
    let timeout = Duration::from_millis(1_500);
    let config = server.config().with_option(NAME, "TIMEOUT_MS", timeout.as_millis().to_string()).with_option(
        NAME,
        "COLLECTION_PREFIX",
        "stopped_",
    );
    let store = QdrantStore::from_config(&config).unwrap();
    store.initialize().await.unwrap();
    store.insert("dwell", "kept", &[1.0, 2.0], 1).await.unwrap();

    server.signal("STOP").unwrap();
    let resume = Resume(&server);
    // A bound far above the configured timeout (a retry on a fresh connection may double it),
    // so that a hang fails the test instead of stalling the run.
    let bound = timeout * 3 + Duration::from_secs(5);
    for operation in ["knn", "insert", "get"] {
        let started = Instant::now();
        let call = async {
            match operation {
                "knn" => store.knn("dwell", &[1.0, 2.0], 1).await.map(|_| ()),
                "insert" => store.insert("dwell", "late", &[3.0, 4.0], 1).await,
                _ => store.get("dwell", "kept").await.map(|_| ()),
            }
        };
        let result = tokio::time::timeout(bound * 2, call).await.unwrap_or_else(|_| panic!("{operation} hung"));
        let waited = started.elapsed();
        let err = result.expect_err(operation);
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{operation} on a stopped server: {err}");
        assert!(waited <= bound, "{operation} took {waited:?}, configured timeout {timeout:?}");
    }
    drop(resume);

    // The same handle answers again once the server runs; the write that timed out may or may
    // not have landed, the one before it did.
    let mut hits = Err(vectorstore_core::Error::new(ErrorKind::Unavailable, "not asked yet"));
    for _ in 0..50 {
        hits = store.knn("dwell", &[1.0, 2.0], 1).await;
        if hits.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(hits.expect("answers after SIGCONT")[0].id, "kept");
    store.insert("dwell", "after", &[5.0, 6.0], 1).await.unwrap();
    assert!(store.get("dwell", "after").await.unwrap().is_some());
    store.close().await.unwrap();
}
