//! The whole conformance suite against a real PostgreSQL + pgvector server: the one in
//! `DECNET_TEST_PGVECTOR_URL`, else a local server started for this test process, else a
//! testcontainers one; each case works in its own schema, dropped afterwards.

use vectorstore_conformance::servers::postgres;
use vectorstore_conformance::{ConfigFactory, Fixture, StoreFactory, Unavailable};
use vectorstore_core::{Config, async_trait};
use vectorstore_pgvector as _;

/// Fixtures on the shared test server, isolated by the backend's own `isolate` / `purge`.
struct SharedServer;

#[async_trait]
impl StoreFactory for SharedServer {
    fn backend(&self) -> String {
        vectorstore_pgvector::NAME.to_owned()
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        let server = postgres::shared().await?;
        ConfigFactory::new(Config::new(vectorstore_pgvector::NAME).with_url(server.url())).fixture(case).await
    }
}

mod pgvector {
    vectorstore_conformance::conformance_tests!(super::SharedServer);
}

/// The same suite with `INDEX=none`: every search is an exact scan.
struct SharedServerExact;

#[async_trait]
impl StoreFactory for SharedServerExact {
    fn backend(&self) -> String {
        vectorstore_pgvector::NAME.to_owned()
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        let server = postgres::shared().await?;
        let config =
            Config::new(vectorstore_pgvector::NAME).with_url(server.url()).with_option("pgvector", "index", "none");
        ConfigFactory::new(config).fixture(case).await
    }
}

mod pgvector_exact {
    vectorstore_conformance::conformance_tests!(super::SharedServerExact);
}
