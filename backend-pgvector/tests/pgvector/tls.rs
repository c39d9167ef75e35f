//! PostgreSQL with `ssl=on`, its certificate (naming only `localhost`) signed by a CA generated
//! in the test: `SSLMODE=verify-full` with that CA works; another CA, or a host name the
//! certificate does not hold, is a `Config` error that says TLS and certificate; a wrong
//! password is a `Config` error; and the password never shows in errors, health, `Debug` or
//! logs. Needs a local server (not `DECNET_TEST_PGVECTOR_URL`'s); skipped, loudly, otherwise.
//! The server is PostgreSQL's own `ssl=on` when `DECNET_TEST_PG_TLS_BIN` names a build with SSL
//! support (CI: `DECNET_TEST_REQUIRE` names `pgvector_ssl`, so nothing else passes), else a TLS
//! front of the test kit.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use vectorstore_conformance::{REQUIRE_VAR, is_required, report, skip, unique_tag};
use vectorstore_core::{Config, ErrorKind, VectorStore};
use vectorstore_pgvector::{NAME, PgVectorStore};
use vectorstore_testkit::servers::postgres::{PgTlsTestServer, TLS_BIN_VAR, TLS_HOST, TLS_PASSWORD, dedicated_tls};
use vectorstore_testkit::servers::tls::write_unrelated_ca;

/// The name in `DECNET_TEST_REQUIRE` that makes a TLS front (instead of PostgreSQL's own
/// `ssl=on`) a failure.
const SSL_REQUIREMENT: &str = "pgvector_ssl";

/// Every log line of this test process, from the first test of this module on.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        // Another subscriber set first would leave this one empty: say so rather than pass.
        tracing::subscriber::set_global_default(subscriber).expect("the only global log subscriber");
        captured
    })
}

/// One TLS server for the tests of this module.
async fn server(what: &str) -> Option<&'static PgTlsTestServer> {
    static SERVER: OnceCell<Result<PgTlsTestServer, String>> = OnceCell::const_new();
    match SERVER.get_or_init(|| async { dedicated_tls().await.map_err(|err| err.0) }).await {
        Ok(server) => Some(server),
        Err(reason) => {
            skip(NAME, what, reason);
            None
        }
    }
}

/// `config` in a fresh schema, failing fast.
fn fresh(config: Config) -> Config {
    config
        .with_option(NAME, "SCHEMA", format!("decnet_tls_{}", unique_tag()))
        .with_option(NAME, "ACQUIRE_TIMEOUT_MS", "3000")
        .with_option(NAME, "POOL_SIZE", "2")
}

/// The error of the first call of a store on `config`, after checking that neither it, nor
/// health, nor `Debug` shows the password.
async fn refused(config: Config) -> vectorstore_core::Error {
    let started = Instant::now();
    let store = PgVectorStore::from_config(&config).unwrap();
    let err = store.initialize().await.expect_err("a connection that must be refused");
    let health = store.health().await;
    assert!(!health.ok, "{health:?}");
    let shown = format!("{err}\n{err:?}\n{health:?}\n{store:?}\n{config:?}");
    assert!(!shown.contains(TLS_PASSWORD), "{shown}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}: {err}", started.elapsed());
    report(&format!("pgvector::tls refused in {:?}: {err}", started.elapsed()));
    let _ = store.close().await;
    err
}

fn assert_no_password_logged() {
    let text = logs().text();
    assert!(!text.contains(TLS_PASSWORD), "the password was logged:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_generated_ca_round_trips() {
    logs();
    let Some(server) = server("tls::verify_full_with_the_generated_ca_round_trips").await else { return };
    report(&format!("pgvector::tls: TLS served by {}", server.tls_by()));
    assert!(
        server.is_ssl_on() || !is_required(SSL_REQUIREMENT),
        "{REQUIRE_VAR} names {SSL_REQUIREMENT}, but TLS is served by {}: set {TLS_BIN_VAR} (scripts/pg-ssl-install)",
        server.tls_by()
    );
    let config = fresh(server.config(TLS_HOST));
    let store = PgVectorStore::from_config(&config).unwrap();
    store.initialize().await.unwrap();
    vectorstore_testkit::round_trip(&store).await;
    let health = store.health().await;
    let shown = format!("{health:?} {store:?} {config:?}");
    assert!(!shown.contains(TLS_PASSWORD), "{shown}");
    vectorstore_pgvector::purge(config.clone()).await.unwrap();
    let _ = store.close().await;
    assert_no_password_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_did_not_sign_the_certificate_is_a_tls_config_error() {
    logs();
    let Some(server) = server("tls::a_ca_that_did_not_sign_the_certificate").await else { return };
    let wrong = std::env::temp_dir().join(format!("decnet-pg-wrong-ca-{}.pem", unique_tag()));
    write_unrelated_ca(&wrong).unwrap();
    let config = fresh(server.config(TLS_HOST)).with_option(NAME, "SSLROOTCERT", wrong.display().to_string());
    let err = refused(config).await;
    let _ = std::fs::remove_file(&wrong);
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("TLS") && err.to_string().contains("certificate"), "{err}");
    assert_no_password_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_not_in_the_certificate_is_a_tls_config_error() {
    logs();
    let Some(server) = server("tls::a_host_name_not_in_the_certificate").await else { return };
    // The same server, reached as 127.0.0.1: the certificate names only localhost.
    let err = refused(fresh(server.config("127.0.0.1"))).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("TLS") && err.to_string().contains("certificate"), "{err}");
    assert_no_password_logged();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_over_tls_is_a_config_error_that_hides_both_passwords() {
    logs();
    let Some(server) = server("tls::a_wrong_password_over_tls").await else { return };
    let wrong = "Wr0ng-Passw0rd-Over-TLS";
    let config = fresh(server.config(TLS_HOST)).with_url(server.url(TLS_HOST, wrong));
    let err = refused(config).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong), "{err:?}");
    assert_no_password_logged();
    let text = String::from_utf8_lossy(&logs().0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(!text.contains(wrong), "the wrong password was logged:\n{text}");
}
