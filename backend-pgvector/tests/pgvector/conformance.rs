//! The whole conformance suite against a real PostgreSQL + pgvector server: the one in
//! `DECNET_TEST_PGVECTOR_URL`, else a local server started for this test process, else a
//! testcontainers one; each case works in its own schema, dropped afterwards.

mod pgvector {
    vectorstore_conformance::conformance_tests!(vectorstore_testkit::servers::ServerFactory::pgvector());
}

/// The same suite with `INDEX=none`: every search is an exact scan.
mod pgvector_exact {
    vectorstore_conformance::conformance_tests!(
        vectorstore_testkit::servers::ServerFactory::pgvector().with_option("index", "none")
    );
}
