//! Options and secrets, without a server: how `DECNET_VECTORSTORE_QDRANT_*` is read, that bad
//! values are `Config` errors naming the variable, and that the API key never shows.

use std::time::Duration;

use vectorstore_core::{Config, ErrorKind, Metric, SearchKind, VectorStore, require_backend};
use vectorstore_qdrant::config::{DEFAULT_PREFIX, DEFAULT_URL, ReadConsistency, WriteConsistency, WriteOrdering};
use vectorstore_qdrant::{NAME, QdrantConfig, QdrantStore};

const KEY: &str = "sk-very-secret-4242";

fn qdrant() -> Config {
    Config::new("qdrant")
}

#[test]
fn defaults_are_documented_values() {
    let options = QdrantConfig::from_config(&qdrant()).unwrap();
    assert_eq!(options.url, DEFAULT_URL);
    assert_eq!(options.prefix, DEFAULT_PREFIX);
    assert_eq!(options.timeout, Duration::from_secs(30));
    assert_eq!(options.batch_size, 256);
    assert!(!options.exact && !options.on_disk);
    assert_eq!((options.shard_number, options.replication_factor, options.write_consistency), (None, None, None));
    assert_eq!(options.default_metric, Metric::L2);
}

#[test]
fn every_option_is_read() {
    let config = Config::from_vars([
        ("DECNET_VECTORSTORE_TYPE", "qdrant"),
        ("DECNET_VECTORSTORE_URL", "https://q.example:6334"),
        ("DECNET_VECTORSTORE_METRIC", "cosine"),
        ("DECNET_VECTORSTORE_QDRANT_API_KEY", KEY),
        ("DECNET_VECTORSTORE_QDRANT_COLLECTION_PREFIX", "honeypot-eu_"),
        ("DECNET_VECTORSTORE_QDRANT_TIMEOUT_MS", "2500"),
        ("DECNET_VECTORSTORE_QDRANT_SHARD_NUMBER", "6"),
        ("DECNET_VECTORSTORE_QDRANT_REPLICATION_FACTOR", "3"),
        ("DECNET_VECTORSTORE_QDRANT_WRITE_CONSISTENCY", "majority"),
        ("DECNET_VECTORSTORE_QDRANT_READ_CONSISTENCY", "quorum"),
        ("DECNET_VECTORSTORE_QDRANT_WRITE_ORDERING", "strong"),
        ("DECNET_VECTORSTORE_QDRANT_ON_DISK", "yes"),
        ("DECNET_VECTORSTORE_QDRANT_HNSW_M", "32"),
        ("DECNET_VECTORSTORE_QDRANT_HNSW_EF_CONSTRUCT", "200"),
        ("DECNET_VECTORSTORE_QDRANT_HNSW_EF", "128"),
        ("DECNET_VECTORSTORE_QDRANT_EXACT", "TRUE"),
        ("DECNET_VECTORSTORE_QDRANT_BATCH_SIZE", "1000"),
    ])
    .unwrap();
    let options = QdrantConfig::from_config(&config).unwrap();
    assert_eq!(options.url, "https://q.example:6334");
    assert_eq!(options.api_key.as_deref(), Some(KEY));
    assert_eq!(options.prefix, "honeypot-eu_");
    assert_eq!(options.timeout, Duration::from_millis(2500));
    assert_eq!((options.shard_number, options.replication_factor), (Some(6), Some(3)));
    assert_eq!(options.write_consistency, Some(WriteConsistency::Majority));
    assert_eq!(options.write_consistency_factor(), Some(2));
    assert_eq!(options.read_consistency, Some(ReadConsistency::Quorum));
    assert_eq!(options.write_ordering, Some(WriteOrdering::Strong));
    assert!(options.on_disk && options.exact);
    assert_eq!((options.hnsw_m, options.hnsw_ef_construct, options.hnsw_ef), (Some(32), Some(200), Some(128)));
    assert_eq!(options.batch_size, 1000);
    assert_eq!(options.default_metric, Metric::Cosine);
}

#[test]
fn bad_values_are_config_errors_naming_the_variable() {
    for (key, value) in [
        ("TIMEOUT_MS", "soon"),
        ("TIMEOUT_MS", "0"),
        ("SHARD_NUMBER", "0"),
        ("SHARD_NUMBER", "-1"),
        ("REPLICATION_FACTOR", "two"),
        ("WRITE_CONSISTENCY", "most"),
        ("READ_CONSISTENCY", "0"),
        ("WRITE_ORDERING", "fast"),
        ("ON_DISK", "maybe"),
        ("EXACT", "sometimes"),
        ("HNSW_M", "lots"),
        ("HNSW_EF_CONSTRUCT", "2"),
        ("BATCH_SIZE", "0"),
        ("BATCH_SIZE", "10001"),
        ("COLLECTION_PREFIX", "bad/prefix"),
        ("COLLECTION_PREFIX", "dots.are.out"),
    ] {
        let err = QdrantConfig::from_config(&qdrant().with_option(NAME, key, value)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key}={value}: {err}");
        assert!(err.message().contains(&format!("DECNET_VECTORSTORE_QDRANT_{key}")), "{key}={value}: {err}");
    }
    let too_many = qdrant().with_option(NAME, "REPLICATION_FACTOR", "2").with_option(NAME, "WRITE_CONSISTENCY", "3");
    assert_eq!(QdrantConfig::from_config(&too_many).unwrap_err().kind(), ErrorKind::Config);
    for url in ["postgres://db/decnet", "127.0.0.1:6334", "grpc://q:6334"] {
        let err = QdrantConfig::from_config(&qdrant().with_url(url)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
        assert!(err.message().contains("DECNET_VECTORSTORE_URL"), "{err}");
    }
    // Opening through the registry reports the same errors, before any I/O.
    let err = (require_backend("qdrant").unwrap().open)(&qdrant().with_option(NAME, "EXACT", "sometimes")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn the_api_key_never_shows_in_debug() {
    let config = qdrant().with_url("https://admin:hunter2@q.example:6334").with_option(NAME, "API_KEY", KEY);
    let options = QdrantConfig::from_config(&config).unwrap();
    let store = QdrantStore::from_config(&config).unwrap();
    for shown in [format!("{options:?}"), format!("{store:?}"), format!("{config:?}")] {
        assert!(!shown.contains(KEY) && !shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_without_secrets() {
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = qdrant()
        .with_url(format!("http://admin:hunter2@127.0.0.1:{port}"))
        .with_option(NAME, "API_KEY", KEY)
        .with_option(NAME, "TIMEOUT_MS", "2000");
    let store = QdrantStore::from_config(&config).unwrap();
    let err = store.initialize().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY) && !shown.contains("hunter2"), "{shown}");
    let health = store.health().await;
    assert!(!health.ok);
    assert_eq!(health.reason.as_deref(), Some("not initialized"));
    assert_eq!(store.insert("ja3", "a", &[1.0], 1).await.unwrap_err().kind(), ErrorKind::NotInitialized);
}

#[test]
fn capabilities_follow_the_exact_option() {
    let hnsw = QdrantStore::from_config(&qdrant()).unwrap();
    assert_eq!(hnsw.capabilities().search, SearchKind::Approximate);
    let exact = QdrantStore::from_config(&qdrant().with_option(NAME, "EXACT", "true")).unwrap();
    assert_eq!(exact.capabilities().search, SearchKind::Exact);
    for store in [hnsw, exact] {
        let caps = store.capabilities();
        assert!(caps.persistent && caps.shared && caps.stores_data && !caps.atomic_batches);
        assert_eq!(caps.metrics, Metric::ALL);
        assert_eq!(caps.max_k, vectorstore_core::limits::MAX_K);
    }
}

#[test]
fn isolation_nests_the_collection_prefix() {
    let registration = require_backend("qdrant").unwrap();
    let base = qdrant().with_option(NAME, "COLLECTION_PREFIX", "prod_");
    let isolated = (registration.isolate)(&base, "t1a2_round_trip").unwrap();
    assert_eq!(QdrantConfig::from_config(&isolated).unwrap().prefix, "prod_t1a2_round_trip_");
    assert_eq!((registration.isolate)(&base, "Bad-Tag").unwrap_err().kind(), ErrorKind::Config);
}
