//! The whole suite against the Null store: validation applies, data cases do not.

vectorstore_conformance::conformance_tests!(vectorstore_conformance::ConfigFactory::new(
    vectorstore_core::Config::new("null")
));
