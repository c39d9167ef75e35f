//! The whole conformance suite against the `sqlite_vec` store: each case on its own sibling
//! file of a base path in the temporary directory, removed afterwards; once with the default
//! settings (searches answered from the in-memory copies) and once with the copies off
//! (`CACHE_MB=0`: every search answered by sqlite-vec).

use vectorstore_sqlite_vec as _;

/// The base location the cases' files sit next to (never the user's default `~/.decnet` file).
fn base_config() -> vectorstore_core::Config {
    let base = std::env::temp_dir().join("decnet-sqlite-vec-conformance").join("vectors.sqlite");
    vectorstore_core::Config::new("sqlite_vec").with_path(base)
}

mod sqlite_vec {
    vectorstore_conformance::conformance_tests!(vectorstore_conformance::ConfigFactory::new(super::base_config()));
}

/// The base location with the in-memory copies off.
fn uncached_config() -> vectorstore_core::Config {
    let base = std::env::temp_dir().join("decnet-sqlite-vec-conformance-uncached").join("vectors.sqlite");
    vectorstore_core::Config::new("sqlite_vec").with_path(base).with_option("sqlite_vec", "cache_mb", "0")
}

mod sqlite_vec_uncached {
    vectorstore_conformance::conformance_tests!(vectorstore_conformance::ConfigFactory::new(super::uncached_config()));
}
