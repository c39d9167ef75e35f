//! The backends a build links follow this crate's cargo features, and `open` tells a project
//! backend the build left out (an error naming the feature, or the configured fallback) from a
//! name that is no backend at all. CI runs this with each backend feature alone and with none.

use vectorstore::backend::project_backends;
use vectorstore::{Config, ErrorKind, PROJECT_BACKENDS};

/// Variables that give a backend its location.
type Location = Vec<(&'static str, String)>;

/// Each real backend of the project's list, whether this build's features link it, and a
/// location for it (its listed file name in `dir`, or its listed server URL).
fn real_backends(dir: &std::path::Path) -> Vec<(&'static str, bool, Location)> {
    project_backends()
        .iter()
        .map(|backend| {
            let location = if backend.is_server() {
                vec![("DECNET_VECTORSTORE_URL", backend.location.to_owned())]
            } else {
                vec![("DECNET_VECTORSTORE_PATH", dir.join(backend.location).display().to_string())]
            };
            (backend.name, backend.linked, location)
        })
        .collect()
}

fn config(backend: &str, extra: &[(&str, String)]) -> Config {
    let vars = std::iter::once(("DECNET_VECTORSTORE_TYPE", backend.to_owned())).chain(extra.iter().cloned());
    Config::from_vars(vars.map(|(k, v)| (k.to_owned(), v))).expect("valid variables")
}

#[test]
fn each_backend_is_linked_exactly_when_its_feature_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let compiled = vectorstore::compiled_backends();
    for (name, enabled, location) in real_backends(dir.path()) {
        assert!(PROJECT_BACKENDS.contains(&name), "{name} is a project backend");
        assert_eq!(compiled.contains(&name), enabled, "{name} linked: {compiled:?}");
        match vectorstore::open(&config(name, &location)) {
            Ok(store) => {
                assert!(enabled, "{name} opened although its feature is off");
                assert_eq!(store.backend(), name);
            }
            Err(err) => {
                assert!(!enabled, "{name} failed to open although linked: {err}");
                assert_eq!(err.kind(), ErrorKind::Config, "{err}");
                assert!(err.message().contains("not compiled") && err.message().contains(name), "{err}");
            }
        }
    }
    for always in ["fake", "null"] {
        assert!(compiled.contains(&always), "{always} is always linked: {compiled:?}");
    }
}

/// A backend crate whose registration is missing (no `inventory::submit!`, or one nothing
/// links) would leave a linked backend that `open` cannot find: every linked backend of the
/// list must be registered under its name, and the list must name every project backend.
#[test]
fn every_linked_backend_is_registered_under_its_listed_name() {
    let listed: Vec<&str> = project_backends().iter().map(|backend| backend.name).collect();
    assert_eq!(PROJECT_BACKENDS[2..], listed[..], "PROJECT_BACKENDS is the Fake, the Null store and the list");
    for backend in project_backends() {
        let registered = vectorstore::find_backend(backend.name);
        if backend.linked {
            let registration = registered.unwrap_or_else(|| {
                panic!(
                    "{} is linked (feature {}) but not registered: its crate submits no registration",
                    backend.name, backend.feature
                )
            });
            assert_eq!(registration.name, backend.name);
        } else {
            assert!(
                registered.is_none(),
                "{} is registered although its feature {} is off",
                backend.name,
                backend.feature
            );
        }
        // scripts read the backend names from the features: the feature is the name, `-` for `_`.
        assert_eq!(backend.feature.replace('-', "_"), backend.name, "feature of {}", backend.name);
    }
}

#[tokio::test]
async fn a_left_out_backend_uses_the_configured_fallback_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, enabled, location) in real_backends(dir.path()) {
        if enabled {
            continue;
        }
        let mut extra = location.clone();
        extra.push(("DECNET_VECTORSTORE_FALLBACK", "null".into()));
        let store = vectorstore::open(&config(name, &extra)).expect("the fallback store");
        assert_eq!(store.backend(), "null", "{name} falls back to null");
        store.initialize().await.unwrap();
        assert!(store.health().await.degraded, "a fallback is reported as degraded");
    }
    let err = vectorstore::open(&config("chroma", &[])).expect_err("no such backend");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("chroma") && err.message().contains("Unsupported"), "{err}");
}

#[tokio::test]
async fn the_default_store_is_sqlite_vec_when_linked_and_else_a_degraded_fake() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.sqlite").display().to_string();
    let config = Config::from_vars([("DECNET_VECTORSTORE_PATH".to_owned(), path)]).unwrap();
    let store = vectorstore::open(&config).unwrap();
    store.initialize().await.unwrap();
    let health = store.health().await;
    if cfg!(feature = "sqlite-vec") {
        assert_eq!(store.backend(), "sqlite_vec");
        assert!(health.ok && !health.degraded, "{health:?}");
    } else {
        assert_eq!(store.backend(), "fake");
        assert!(health.ok && health.degraded, "{health:?}");
    }
    store.close().await.unwrap();
}

#[test]
fn each_registration_describes_what_its_default_store_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut locations: Vec<(&str, Location)> = vec![("fake", vec![]), ("null", vec![])];
    locations.extend(real_backends(dir.path()).into_iter().filter(|(_, enabled, _)| *enabled).map(|(n, _, l)| (n, l)));
    for (name, location) in locations {
        let registration = vectorstore::require_backend(name).unwrap();
        let store = vectorstore::open(&config(name, &location)).unwrap();
        assert_eq!(
            store.capabilities(),
            registration.capabilities,
            "{name}: `vectorstore backends` must show what a store with default options does"
        );
    }
}
