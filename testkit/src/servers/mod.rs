//! Real servers for the backend tests (feature `servers`).
//!
//! Each server is found in this order: an explicit URL variable (`DECNET_TEST_PGVECTOR_URL`,
//! `DECNET_TEST_QDRANT_URL`); else a local server this module starts itself in a temporary
//! directory on a free loopback port; else testcontainers when a Docker engine answers; else
//! [`Unavailable`](crate::Unavailable) with the reason, which the tests report as SKIPPED
//! (or as a failure when `DECNET_TEST_REQUIRE` lists the backend).

mod pg_tls_front;
pub mod postgres;
pub mod process;
pub mod qdrant;
pub mod tls;

use vectorstore_core::Config;

/// A configuration of `backend` at `url`, with the `DECNET_VECTORSTORE_<BACKEND>_*` options of
/// the environment (and nothing else from it), so that a test run can be pointed at a
/// server's settings (shards, index, API key, ...) the way a deployment is.
pub fn config_for(backend: &str, url: &str) -> Config {
    let prefix = format!("DECNET_VECTORSTORE_{}_", backend.to_ascii_uppercase());
    std::env::vars().fold(Config::new(backend).with_url(url), |config, (name, value)| {
        match name.strip_prefix(&prefix) {
            Some(key) => config.with_option(backend, key, value),
            None => config,
        }
    })
}
