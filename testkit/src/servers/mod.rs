//! Real servers for the backend tests (feature `servers`).
//!
//! Each server is found in this order: an explicit URL variable (`DECNET_TEST_PGVECTOR_URL`,
//! `DECNET_TEST_QDRANT_URL`); else a local server this module starts itself in a temporary
//! directory on a free loopback port; else testcontainers when a Docker engine answers; else
//! [`Unavailable`](vectorstore_conformance::Unavailable) with the reason, which the tests
//! report as SKIPPED (or as a failure when `DECNET_TEST_REQUIRE` lists the backend).
//!
//! `DECNET_TEST_SERVERS=containers` ([`ROUTE_VAR`]) forces the testcontainers route: URL
//! variables and local binaries are ignored, so a run proves the container route itself. The
//! images are `DECNET_TEST_PGVECTOR_IMAGE` and `DECNET_TEST_QDRANT_IMAGE` (`name:tag`), by
//! default the official `pgvector/pgvector:pg18` and `qdrant/qdrant:v1.18.3`; testcontainers
//! pulls an image only when the engine does not have it. Each server found is reported once
//! per test process, as `<backend> test server: <origin>`.

mod fixture;
mod pg_tls_front;
pub mod postgres;
pub mod process;
pub mod qdrant;
mod route;
pub mod tls;

pub use fixture::{ServerFactory, ServerHandle, ServerStart};
pub use route::{ROUTE_VAR, config_for, containers_only};
