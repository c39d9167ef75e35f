//! A Qdrant with TLS on, its certificate signed by a CA generated in the test: an `https://`
//! URL with that CA (`CA_CERT`) works; a CA that did not sign it, or `http://` to the TLS port,
//! is a `Config` error that says TLS, within the timeout, never a hang or a panic. (API keys
//! over TLS: `api_key.rs`.) Needs a local `qdrant` executable; skipped, loudly, otherwise.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use vectorstore_conformance::report;
use vectorstore_core::{Config, ErrorKind, VectorStore};
use vectorstore_qdrant::{NAME, QdrantStore};
use vectorstore_testkit::servers::qdrant::{DedicatedQdrant, dedicated_tls, skip_without_dedicated};
use vectorstore_testkit::servers::tls::write_unrelated_ca;

/// The request timeout of the failing cases; each must fail well within a few of these.
const TIMEOUT_MS: u64 = 2_000;

/// One TLS server for the tests of this module (stopped when the test process exits).
async fn server() -> Result<&'static (DedicatedQdrant, PathBuf), String> {
    static SERVER: OnceCell<Result<(DedicatedQdrant, PathBuf), String>> = OnceCell::const_new();
    SERVER.get_or_init(|| async { dedicated_tls().await.map_err(|err| err.0) }).await.as_ref().map_err(Clone::clone)
}

fn config(server: &DedicatedQdrant, url: &str, ca: &std::path::Path) -> Config {
    server
        .config()
        .with_url(url)
        .with_option(NAME, "CA_CERT", ca.display().to_string())
        .with_option(NAME, "TIMEOUT_MS", TIMEOUT_MS.to_string())
        .with_option(NAME, "COLLECTION_PREFIX", "tls_")
}

/// Opens a store on `config` and returns the error of its first call, with how long it took.
async fn first_error(config: &Config) -> (vectorstore_core::Error, Duration) {
    let started = Instant::now();
    let store = QdrantStore::from_config(config).unwrap();
    let err = match store.initialize().await {
        Err(err) => err,
        Ok(()) => store.kinds().await.expect_err("a call over a broken TLS setup must fail"),
    };
    let health = store.health().await;
    assert!(!health.ok, "{health:?}");
    report(&format!("qdrant::tls refused in {:?}: {err}", started.elapsed()));
    (err, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_generated_ca_round_trips() {
    let (server, ca) = match server().await {
        Ok(server) => server,
        Err(reason) => return skip_without_dedicated("tls::https_with_the_generated_ca_round_trips", &reason),
    };
    assert!(server.url().starts_with("https://"), "{}", server.url());
    let store = QdrantStore::from_config(&config(server, server.url(), ca)).unwrap();
    store.initialize().await.unwrap();
    vectorstore_testkit::round_trip(&store).await;
    store.drop_kind("ja3").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_did_not_sign_the_certificate_is_a_tls_config_error() {
    let (server, _) = match server().await {
        Ok(server) => server,
        Err(reason) => return skip_without_dedicated("tls::a_wrong_ca", &reason),
    };
    let wrong = std::env::temp_dir().join(format!("decnet-wrong-ca-{}.pem", std::process::id()));
    write_unrelated_ca(&wrong).unwrap();
    let (err, took) = first_error(&config(server, server.url(), &wrong)).await;
    let _ = std::fs::remove_file(&wrong);
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let message = err.to_string();
    assert!(message.contains("TLS") && message.contains("certificate"), "{message}");
    assert!(took < Duration::from_millis(4 * TIMEOUT_MS), "took {took:?}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_is_a_tls_config_error() {
    let (server, ca) = match server().await {
        Ok(server) => server,
        Err(reason) => return skip_without_dedicated("tls::plain_http_to_the_tls_port", &reason),
    };
    let url = server.url().replacen("https://", "http://", 1);
    let (err, took) = first_error(&config(server, &url, ca)).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let message = err.to_string();
    assert!(message.contains("TLS"), "{message}");
    assert!(took < Duration::from_millis(4 * TIMEOUT_MS), "took {took:?}: {message}");
}
