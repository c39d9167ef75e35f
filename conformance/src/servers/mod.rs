//! Real servers for the backend tests (feature `servers`).
//!
//! Each server is found in this order: an explicit URL variable (`DECNET_TEST_PGVECTOR_URL`,
//! `DECNET_TEST_QDRANT_URL`); else a local server this module starts itself in a temporary
//! directory on a free loopback port; else testcontainers when a Docker engine answers; else
//! [`Unavailable`](crate::Unavailable) with the reason, which the tests report as SKIPPED
//! (or as a failure when `DECNET_TEST_REQUIRE` lists the backend).

pub mod postgres;
pub mod process;
pub mod qdrant;
