//! sqlite-vec driven with plain SQL through sqlx, on the same file as the store.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use vectorstore::backend::async_trait;
use vectorstore::{Error, ErrorKind, Metric, NewVector, Result};

use super::engine::RawEngine;

const TABLE: &str = "raw_bench_vec";

/// One vec0 table in the store's file: batches in one transaction of 64-row statements,
/// autocommit for single inserts, the `k = ?` form for searches.
pub struct RawSqlite {
    pool: SqlitePool,
}

fn failed(err: sqlx::Error) -> Error {
    Error::new(ErrorKind::Backend, format!("raw sqlite-vec: {err}"))
}

fn blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl RawSqlite {
    /// Connects to the sqlite file at `path` (the store's own).
    pub async fn connect(path: &Path) -> Result<RawSqlite> {
        vectorstore_sqlite_vec::register_extension()?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(failed)?;
        Ok(RawSqlite { pool })
    }
}

#[async_trait]
impl RawEngine for RawSqlite {
    fn name(&self) -> &str {
        "sqlite-vec SQL"
    }

    async fn prepare(&self, dim: usize, metric: Metric) -> Result<()> {
        let metric = match metric {
            Metric::Cosine => "cosine",
            _ => "l2",
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {TABLE}; \
             CREATE VIRTUAL TABLE {TABLE} USING vec0(id text primary key, embedding float[{dim}] distance_metric={metric})"
        )))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn insert_batch(&self, items: &[NewVector]) -> Result<()> {
        // Batched as a direct-SQL user would: one transaction, 64 rows per INSERT statement.
        let mut tx = self.pool.begin().await.map_err(failed)?;
        for chunk in items.chunks(64) {
            let values = vec!["(?, ?)"; chunk.len()].join(", ");
            let sql = format!("INSERT INTO {TABLE}(id, embedding) VALUES {values}");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for item in chunk {
                query = query.bind(&item.id).bind(blob(&item.vector));
            }
            query.execute(&mut *tx).await.map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    }

    async fn insert_one(&self, id: &str, vector: &[f32]) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {TABLE}(id, embedding) VALUES (?, ?)")))
            .bind(id)
            .bind(blob(vector))
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn knn(&self, _store_kind: &str, query: &[f32], k: usize) -> Result<Vec<String>> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {TABLE} WHERE embedding MATCH ? AND k = ? ORDER BY distance"
        )))
        .bind(blob(query))
        .bind(k as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)
    }

    async fn cleanup(&self) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {TABLE}")))
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        self.pool.close().await;
        Ok(())
    }
}
