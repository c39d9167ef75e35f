//! The raw-engine baselines: the same workloads done by calling the engine directly (plain SQL
//! through sqlx on the same sqlite file or PostgreSQL database, plain qdrant-client calls),
//! in their own table or collection, so that a report shows the backend's overhead as a ratio.
//! They are deliberately written without the backends' code: a shared bug would hide in the ratio.

mod engine;
#[cfg(feature = "pgvector")]
mod pgvector;
#[cfg(feature = "qdrant")]
mod qdrant;
#[cfg(feature = "sqlite-vec")]
mod sqlite;

use std::sync::Arc;

use vectorstore::{Config, Result};

pub use engine::RawEngine;

/// The raw engine matching the configured backend, when this build has one for it (none for
/// the in-memory stores).
pub async fn for_config(config: &Config) -> Result<Option<Arc<dyn RawEngine>>> {
    let backend = vectorstore::find_backend(&config.backend).map(|r| r.name).unwrap_or_default();
    match backend {
        #[cfg(feature = "sqlite-vec")]
        "sqlite_vec" => Ok(Some(Arc::new(sqlite::RawSqlite::connect(&config.sqlite_path()).await?))),
        #[cfg(feature = "pgvector")]
        "pgvector" => match &config.url {
            Some(url) => Ok(Some(Arc::new(pgvector::RawPgvector::connect(url).await?))),
            None => Ok(None),
        },
        #[cfg(feature = "qdrant")]
        "qdrant" => {
            let url = config.url.clone().unwrap_or_else(|| "http://127.0.0.1:6334".to_owned());
            let key = config.option("qdrant", "api_key").map(str::to_owned);
            let prefix =
                config.option("qdrant", "collection_prefix").unwrap_or(vectorstore_qdrant::config::DEFAULT_PREFIX);
            Ok(Some(Arc::new(qdrant::RawQdrant::connect(&url, key, prefix)?)))
        }
        _ => Ok(None),
    }
}
