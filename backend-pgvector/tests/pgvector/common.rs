//! What the pgvector test files share: the test server, a fresh schema per test, and its removal.

#![allow(dead_code)]

use vectorstore_conformance::{Unavailable, skip, unique_tag};
use vectorstore_core::Config;
use vectorstore_pgvector::{NAME, PgVectorStore};
use vectorstore_testkit::servers::postgres::{self, PgTestServer};

/// The shared test server, or `None` after reporting the skip (a failure when
/// `DECNET_TEST_REQUIRE` lists pgvector).
pub async fn server(what: &str) -> Option<PgTestServer> {
    match postgres::shared().await {
        Ok(server) => Some(server),
        Err(Unavailable(reason)) => {
            skip(NAME, what, &reason);
            None
        }
    }
}

/// A configuration for the test server at `url` in a fresh schema, with extra pgvector options.
pub fn config(url: &str, options: &[(&str, &str)]) -> Config {
    let mut config = postgres::test_config(url).with_option(NAME, "schema", format!("decnet_test_{}", unique_tag()));
    for (key, value) in options {
        config = config.with_option(NAME, key, *value);
    }
    config
}

/// Drops a configuration's schema when dropped, even when the test fails.
pub struct Cleanup(pub Config);

impl Drop for Cleanup {
    // A failed cleanup is reported, not raised: this runs while a failing test unwinds too.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        let config = self.0.clone();
        // Its own thread and runtime: this may run inside a test's runtime, or while it unwinds.
        let purged = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            let registration = vectorstore_core::require_backend(NAME).ok()?;
            Some(runtime.block_on((registration.purge)(config)))
        })
        .join();
        if let Ok(Some(Err(err))) = purged {
            eprintln!("could not drop the test schema: {err}");
        }
    }
}

/// An initialised store on a fresh schema of the shared server, with its cleanup; `None` when
/// there is no server (the skip is reported).
pub async fn store(what: &str, options: &[(&str, &str)]) -> Option<(PgVectorStore, Cleanup)> {
    let server = server(what).await?;
    let config = config(server.url(), options);
    let cleanup = Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("valid config");
    vectorstore_core::VectorStore::initialize(&store).await.expect("initialize");
    Some((store, cleanup))
}

/// `url` with a password: the one it has, or `fallback` put in (test servers trust local
/// connections, so an added password is accepted and ignored). Returns the URL and the password.
pub fn with_password(url: &str, fallback: &str) -> (String, String) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), fallback.to_owned()) };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), fallback.to_owned());
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    if password.is_empty() {
        (format!("{scheme}://{user}:{fallback}@{host}{path}"), fallback.to_owned())
    } else {
        (url.to_owned(), password.to_owned())
    }
}

/// A direct connection to the server, for checks the store's API does not offer.
pub async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.expect("connect")
}
