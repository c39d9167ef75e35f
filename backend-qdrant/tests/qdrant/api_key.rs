//! A Qdrant that requires an API key, over plain gRPC and over TLS: the right key works, a
//! wrong or missing key is a `Config` error, and the key never appears in errors, health or
//! `Debug`. Needs a server this test may configure (a local `qdrant` executable, or Docker
//! without TLS); skipped, loudly, otherwise.

use vectorstore_conformance::Unavailable;
use vectorstore_testkit::servers::qdrant::{dedicated_tls_with_env, dedicated_with_env, skip_without_dedicated};

use vectorstore_core::{Config, ErrorKind, Metric, VectorStore};
use vectorstore_qdrant::{NAME, QdrantStore};

const KEY: &str = "sk-server-key-5150";
const WRONG: &str = "sk-wrong-key-8086";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_right_key_gets_in_and_no_key_is_shown() {
    let server = match dedicated_with_env(&[("QDRANT__SERVICE__API_KEY", KEY)]).await {
        Ok(server) => server,
        Err(Unavailable(reason)) => return skip_without_dedicated("api_key", &reason),
    };
    only_the_right_key(server.config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_only_the_right_key_gets_in_and_no_key_is_shown() {
    let (server, ca) = match dedicated_tls_with_env(&[("QDRANT__SERVICE__API_KEY", KEY)]).await {
        Ok(server) => server,
        Err(Unavailable(reason)) => return skip_without_dedicated("api_key over TLS", &reason),
    };
    assert!(server.url().starts_with("https://"), "{}", server.url());
    only_the_right_key(server.config().with_option(NAME, "CA_CERT", ca.display().to_string())).await;
}

/// The checks of both tests, on a server that requires [`KEY`].
async fn only_the_right_key(config: Config) {
    let config = config.with_option(NAME, "COLLECTION_PREFIX", "keyed_");

    let store = QdrantStore::from_config(&config.clone().with_option(NAME, "API_KEY", KEY)).unwrap();
    store.initialize().await.unwrap();
    store.create_kind("ja3", 2, Metric::L2).await.unwrap();
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.unwrap();
    assert_eq!(store.knn("ja3", &[1.0, 2.0], 1).await.unwrap()[0].id, "a");
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    let detailed = store.health_detailed().await;
    let shown = format!("{health:?} {detailed:?} {store:?}");
    assert!(!shown.contains(KEY), "{shown}");
    // The published health names neither the server nor the prefix; the detailed one does.
    vectorstore_conformance::check::assert_publishable(&health);
    let url = config.url.clone().expect("a URL");
    let host = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).expect("a host");
    let texts: Vec<&String> = health.detail.values().chain(health.versions.values()).chain(&health.reason).collect();
    let texts = format!("{texts:?}");
    for leak in [host, "keyed_", "http"] {
        assert!(!texts.contains(leak), "{leak:?} in the published health {health:?}");
    }
    assert!(detailed.detail.get("url").is_some_and(|u| u.contains(host)), "{detailed:?}");
    assert_eq!(detailed.detail.get("collection_prefix").map(String::as_str), Some("keyed_"), "{detailed:?}");

    for (what, key) in [("a wrong key", Some(WRONG)), ("no key", None)] {
        let config = match key {
            Some(key) => config.clone().with_option(NAME, "API_KEY", key),
            None => config.clone(),
        };
        let store = QdrantStore::from_config(&config).unwrap();
        // Qdrant may answer its health check without a key; every other call needs one.
        let refused = match store.initialize().await {
            Err(err) => err,
            Ok(()) => store.kinds().await.expect_err(what),
        };
        assert_eq!(refused.kind(), ErrorKind::Config, "{what}: {refused}");
        let refused_health = store.health().await;
        vectorstore_conformance::check::assert_publishable(&refused_health);
        let shown = format!("{refused} {refused:?} {refused_health:?} {:?} {store:?}", store.health_detailed().await);
        assert!(!shown.contains(WRONG) && !shown.contains(KEY), "{what}: {shown}");
    }
}
