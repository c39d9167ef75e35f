//! The whole suite against the store `DECNET_VECTORSTORE_*` selects, with every backend of
//! this build linked: how a user checks their own deployment with `cargo test`. Each case runs
//! in its own isolated namespace (sibling file, schema, collection prefix) that is removed
//! afterwards. Skipped, loudly, when `DECNET_VECTORSTORE_TYPE` is not set.

vectorstore_conformance::conformance_tests!(vectorstore_conformance::EnvFactory);
