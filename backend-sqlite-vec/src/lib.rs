#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// sqlite-vec reads vector BLOBs as native f32, and this crate writes little-endian ones.
#[cfg(target_endian = "big")]
compile_error!("vectorstore-sqlite-vec supports little-endian targets only");

mod backend;
mod bootstrap;
mod cache;
mod config;
mod error;
mod extension;
mod layout;
mod legacy;
mod records;
mod search;

/// How records are laid out in SQLite, exposed for fuzzing and for tools that read the file.
pub mod codec {
    pub use crate::layout::{decode_vector, encode_vector, table_name};
}

/// Registers sqlite-vec with every SQLite connection this process opens from now on (the store
/// does this itself; tools that open the same file with their own sqlx pool call it first).
pub fn register_extension() -> Result<()> {
    extension::register()
}

use std::sync::Arc;

use vectorstore_core::limits::{MAX_DIM, MAX_K};
use vectorstore_core::{BackendRegistration, Capabilities, Config, Result, SearchKind, StoreBackend};

pub use backend::SqliteVecStore;
pub use cache::CacheUsage;
pub use config::{
    Access, DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_CACHE_MB, DEFAULT_MMAP_MB, DEFAULT_READ_POOL_SIZE, MAX_CACHE_MB,
    MAX_READ_POOL_SIZE, METRICS, SqliteVecConfig, Synchronous, default_cache_mb, isolate, purge,
};
pub use legacy::{AdoptedKind, LegacyAdoption, legacy_kind_name};

/// Registered name of this backend (`DECNET_VECTORSTORE_TYPE=sqlite_vec`, alias `sqlite-vec`).
pub const NAME: &str = "sqlite_vec";

/// What this backend can do: l2 and cosine, exact search, every contract limit, persistent,
/// atomic batches, and one file shared by several processes.
pub const CAPABILITIES: Capabilities = Capabilities {
    metrics: &METRICS,
    persistent: true,
    stores_data: true,
    search: SearchKind::Exact,
    max_dim: MAX_DIM,
    max_k: MAX_K,
    atomic_batches: true,
    shared: true,
};

fn open(config: &Config) -> Result<Arc<dyn StoreBackend>> {
    Ok(Arc::new(SqliteVecStore::from_config(config)?))
}

vectorstore_core::inventory::submit! {
    BackendRegistration {
        name: NAME,
        aliases: &["sqlite-vec"],
        summary: "embedded SQLite file with sqlite-vec (the default): l2 and cosine, exact search, no server",
        capabilities: CAPABILITIES,
        options: config::OPTIONS,
        open,
        isolate,
        purge,
    }
}
