//! The whole conformance suite against a real Qdrant (see `vectorstore_conformance::servers::qdrant`
//! for how the server is found), with the default options: HNSW search, reported approximate.
//! Skipped, loudly, when no server can be had.

use vectorstore_qdrant as _;

mod qdrant {
    vectorstore_conformance::conformance_tests!(vectorstore_conformance::servers::qdrant::QdrantFactory::new());
}
