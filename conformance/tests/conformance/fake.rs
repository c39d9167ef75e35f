//! The whole suite against the Fake store, the oracle itself.

vectorstore_conformance::conformance_tests!(vectorstore_conformance::ConfigFactory::new(
    vectorstore_core::Config::new("fake")
));
