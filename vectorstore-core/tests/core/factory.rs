//! The original factory tests: selection by `DECNET_VECTORSTORE_*`, fallbacks, aliases, paths.
use std::path::{Path, PathBuf};

use vectorstore_core::config::default_sqlite_path;
use vectorstore_core::{BackendRegistration, Config, ErrorKind, Metric, backends, open_among, open_with_fallback};

/// Backends a build may leave out, as the `vectorstore` crate names them.
const KNOWN: &[&str] = &["sqlite_vec", "pgvector", "qdrant"];

/// Opens as a build that links no backend crate and knows of none.
fn open(config: &Config) -> vectorstore_core::Result<std::sync::Arc<dyn vectorstore_core::VectorStore>> {
    open_with_fallback(config, &[])
}

fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_vars(pairs.iter().copied()).expect("valid variables")
}

/// `DECNET_VECTORSTORE_ENABLED=false` selects the Null store whatever the type says.
#[tokio::test]
async fn disabled_selects_null_and_ignores_type() {
    for backend in ["fake", "sqlite_vec", "no_such_backend"] {
        let store = open(&config(&[("DECNET_VECTORSTORE_ENABLED", "FALSE"), ("DECNET_VECTORSTORE_TYPE", backend)]))
            .expect("disabled never fails");
        assert_eq!(store.backend(), "null", "type {backend}");
    }
}

/// `DECNET_VECTORSTORE_TYPE=fake` selects the Fake store, and the factory does not initialise it.
#[tokio::test]
async fn fake_type_dispatches_to_fake_uninitialised() {
    let store = open(&config(&[("DECNET_VECTORSTORE_TYPE", "fake")])).unwrap();
    assert_eq!(store.backend(), "fake");
    let health = store.health().await;
    assert!(!health.ok);
    assert_eq!(health.reason.as_deref(), Some("not initialized"));
    assert!(!health.degraded);
}

/// The default backend (sqlite_vec) missing from the build falls back to Fake, degraded.
#[tokio::test]
async fn default_backend_missing_falls_back_to_fake() {
    let store = open(&config(&[])).unwrap();
    assert_eq!(store.backend(), "fake");
    store.initialize().await.unwrap();
    let health = store.health().await;
    assert!(health.ok && health.degraded, "{health:?}");
    let reason = health.fallback.expect("a fallback reason");
    assert!(reason.contains("sqlite_vec"), "{reason}");
}

/// A missing backend named explicitly is an error, unless a fallback is configured.
#[tokio::test]
async fn explicit_missing_backend_errors_unless_fallback_is_set() {
    let open = |config: &Config| open_with_fallback(config, KNOWN);
    let err = open(&config(&[("DECNET_VECTORSTORE_TYPE", "pgvector")])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("pgvector") && err.message().contains("FALLBACK"), "{err}");

    let store =
        open(&config(&[("DECNET_VECTORSTORE_TYPE", "qdrant"), ("DECNET_VECTORSTORE_FALLBACK", "fake")])).unwrap();
    assert_eq!(store.backend(), "fake");
    store.initialize().await.unwrap();
    assert!(store.health().await.degraded);

    let store =
        open(&config(&[("DECNET_VECTORSTORE_TYPE", "sqlite-vec"), ("DECNET_VECTORSTORE_FALLBACK", "null")])).unwrap();
    assert_eq!(store.backend(), "null");
    // A fallback says so in every health answer, before initialize and after close too.
    let health = store.health_detailed().await;
    assert!(!health.ok && health.degraded && health.fallback.is_some(), "{health:?}");
    store.initialize().await.unwrap();
    let health = store.health().await;
    assert!(health.ok && health.degraded && health.fallback.as_deref().is_some_and(|r| r.contains("sqlite-vec")));
    store.close().await.unwrap();
    let health = store.health().await;
    assert!(!health.ok && health.degraded, "{health:?}");
}

/// `open_among` applies the same rules as if only the given registrations were compiled in:
/// a registered backend left out of them falls back like a missing one.
#[tokio::test]
async fn open_among_treats_left_out_registrations_as_missing() {
    let only_null: Vec<_> = backends().into_iter().filter(|r| r.name == "null").collect();
    let store = open_among(&config(&[]), KNOWN, &only_null).unwrap();
    assert_eq!(store.backend(), "fake", "the default backend left out falls back to fake");
    store.initialize().await.unwrap();
    assert!(store.health().await.degraded);
    let err = open_among(&config(&[("DECNET_VECTORSTORE_TYPE", "fake")]), KNOWN, &only_null).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "fake named explicitly but left out: {err}");
    let store = open_among(&config(&[("DECNET_VECTORSTORE_TYPE", "null")]), KNOWN, &only_null).unwrap();
    assert_eq!(store.backend(), "null");
}

/// An unknown type is an error naming it and the registered backends; so is a project
/// backend when the caller knows of no backends beyond those registered.
#[tokio::test]
async fn unknown_type_is_an_error_listing_backends() {
    let err = open_with_fallback(&config(&[("DECNET_VECTORSTORE_TYPE", "chroma")]), KNOWN).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let message = err.message();
    assert!(message.contains("Unsupported vectorstore type") && message.contains("chroma"), "{message}");
    assert!(message.contains("fake") && message.contains("null"), "{message}");
    let err = open(&config(&[("DECNET_VECTORSTORE_TYPE", "pgvector")])).unwrap_err();
    assert!(err.message().contains("Unsupported vectorstore type"), "{err}");
}

/// `DECNET_VECTORSTORE_PATH` is honoured as given.
#[test]
fn path_variable_is_honoured() {
    let config = config(&[("DECNET_VECTORSTORE_PATH", "/srv/decnet/fp.sqlite")]);
    assert_eq!(config.sqlite_path(), PathBuf::from("/srv/decnet/fp.sqlite"));
}

/// With no path and no runtime directory, the file goes to `~/.decnet/vectors.sqlite`.
#[test]
fn path_unset_without_runtime_dir_goes_to_home() {
    let missing_runtime = Path::new("/nonexistent/decnet-runtime");
    let path = default_sqlite_path(missing_runtime, Some(Path::new("/home/op")));
    assert_eq!(path, PathBuf::from("/home/op/.decnet/vectors.sqlite"));
}

/// Aliases and case are accepted, the metric is passed to the store, listing is sorted.
#[tokio::test]
async fn aliases_metric_and_listing() {
    let store =
        open(&config(&[("DECNET_VECTORSTORE_TYPE", "Memory"), ("DECNET_VECTORSTORE_METRIC", "cosine")])).unwrap();
    store.initialize().await.unwrap();
    store.insert("ja3", "a", &[1.0, 1.0], 1).await.unwrap();
    let kinds = store.kinds().await.unwrap();
    assert_eq!(kinds[0].metric, Metric::Cosine);
    let names: Vec<&str> = backends().iter().map(|b| b.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&"fake") && names.contains(&"null"));
}

// ---------------------------------------------------------------------------------------------
// Strict settings

fn open_demo(_config: &Config) -> vectorstore_core::Result<std::sync::Arc<dyn vectorstore_core::StoreBackend>> {
    Ok(std::sync::Arc::new(vectorstore_core::FakeVectorStore::new()))
}

/// A backend with options, given to `open_among` as if compiled in (never registered).
static DEMO: BackendRegistration = BackendRegistration {
    name: "demo_store",
    aliases: &[],
    summary: "a test backend with two options",
    capabilities: vectorstore_core::Capabilities::EXACT_IN_MEMORY,
    options: &["BUSY_TIMEOUT_MS", "POOL_SIZE"],
    open: open_demo,
    isolate: vectorstore_core::isolate_unchanged,
    purge: vectorstore_core::purge_nothing,
};

fn with_demo() -> Vec<&'static BackendRegistration> {
    let mut available = backends();
    available.push(&DEMO);
    available
}

fn refused(pairs: &[(&str, &str)]) -> vectorstore_core::Error {
    let err = open_among(&config(pairs), KNOWN, &with_demo()).map(|_| ()).expect_err("an unknown setting");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    err
}

/// A misspelt option of a compiled-in backend is refused at open, naming it and the closest one.
#[test]
fn a_misspelt_backend_option_names_the_closest() {
    let err =
        refused(&[("DECNET_VECTORSTORE_TYPE", "demo_store"), ("DECNET_VECTORSTORE_DEMO_STORE_BUSY_TIMOUT_MS", "5")]);
    assert!(err.message().contains("DECNET_VECTORSTORE_DEMO_STORE_BUSY_TIMOUT_MS"), "{err}");
    assert!(err.message().contains("did you mean DECNET_VECTORSTORE_DEMO_STORE_BUSY_TIMEOUT_MS?"), "{err}");
    assert_eq!(
        err.context().iter().find(|(key, _)| *key == "variable").map(|(_, value)| value.as_str()),
        Some("DECNET_VECTORSTORE_DEMO_STORE_BUSY_TIMOUT_MS")
    );
    // Its real options pass.
    let pairs = [("DECNET_VECTORSTORE_TYPE", "demo_store"), ("DECNET_VECTORSTORE_DEMO_STORE_POOL_SIZE", "3")];
    assert!(open_among(&config(&pairs), KNOWN, &with_demo()).is_ok());
}

/// A misspelt general variable is refused whatever the backend, even with the store disabled.
#[test]
fn a_misspelt_general_variable_names_the_closest() {
    let err = refused(&[("DECNET_VECTORSTORE_METRC", "cosine")]);
    assert!(err.message().contains("did you mean DECNET_VECTORSTORE_METRIC?"), "{err}");
    let err = refused(&[("DECNET_VECTORSTORE_FALLBAK", "fake")]);
    assert!(err.message().contains("did you mean DECNET_VECTORSTORE_FALLBACK?"), "{err}");
    // A lowercase name was never read either.
    let err = refused(&[("DECNET_VECTORSTORE_type", "fake")]);
    assert!(err.message().contains("did you mean DECNET_VECTORSTORE_TYPE?"), "{err}");
    // Nothing close: the known names are listed.
    let err = refused(&[("DECNET_VECTORSTORE_ZZZZZZZZZZZZ", "1")]);
    assert!(err.message().contains("known: ENABLED, TYPE"), "{err}");
}

/// Options of another compiled-in backend pass (a deployment may switch TYPE), as do those of a
/// backend left out of this build, and the variables of the tools beside the library.
#[test]
fn other_backends_and_tools_settings_pass() {
    let pairs = [
        ("DECNET_VECTORSTORE_TYPE", "fake"),
        ("DECNET_VECTORSTORE_DEMO_STORE_BUSY_TIMEOUT_MS", "5"),
        ("DECNET_VECTORSTORE_PGVECTOR_SOMETHING_NEWER", "1"),
        ("DECNET_VECTORSTORE_QDRANT_API_KEY", "k"),
        ("DECNET_VECTORSTORE_PYTHON_INLINE_WAIT_US", "0"),
        ("DECNET_VECTORSTORE_METRICS_ADDR", "127.0.0.1:9000"),
    ];
    let store = open_among(&config(&pairs), KNOWN, &with_demo()).expect("every setting is known or unverifiable");
    assert_eq!(store.backend(), "fake");
    // A backend that is neither compiled in nor known: its variables are unknown.
    let err = refused(&[("DECNET_VECTORSTORE_CHROMA_URL", "x")]);
    assert!(err.message().contains("DECNET_VECTORSTORE_CHROMA_URL"), "{err}");
}

/// A process that turned the store off gets the Null store whatever else is set: an unknown
/// or misspelt variable, a backend option nothing reads, a type that does not exist.
#[test]
fn a_disabled_store_opens_whatever_else_is_set() {
    let stray = [
        ("DECNET_VECTORSTORE_TYPO", "1"),
        ("DECNET_VECTORSTORE_DEMO_STORE_BUSY_TIMOUT_MS", "5"),
        ("DECNET_VECTORSTORE_TYPE", "no_such_backend"),
    ];
    for (name, value) in stray {
        let pairs = [("DECNET_VECTORSTORE_ENABLED", "false"), (name, value)];
        let store = open_among(&config(&pairs), KNOWN, &with_demo()).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(store.backend(), "null", "{name}");
        refused(&[("DECNET_VECTORSTORE_TYPE", "demo_store"), ("DECNET_VECTORSTORE_TYPO", "1")]);
    }
}
