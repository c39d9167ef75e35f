//! pgvector driven with plain SQL through sqlx, in its own schema of the store's database,
//! with the same HNSW settings the backend uses by default, loaded as one would by hand:
//! `COPY` in binary form into a table without index, then `CREATE INDEX` once.

use pgvector::Vector;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgPool, PgPoolOptions};
use vectorstore::backend::async_trait;
use vectorstore::{Error, ErrorKind, Metric, NewVector, Result};

use super::engine::RawEngine;

const TABLE: &str = "decnet_raw_bench.vectors";

/// One table, batches through `COPY ... FROM STDIN (FORMAT binary)`, then an HNSW index
/// (m 16, ef_construction 256, with the backend's default build memory and workers) built once;
/// searches with one `ORDER BY <op> LIMIT k` statement on connections that start with
/// `hnsw.ef_search = 200`.
pub struct RawPgvector {
    pool: PgPool,
    operator: std::sync::Mutex<&'static str>,
    class: std::sync::Mutex<&'static str>,
}

/// `items` in PostgreSQL's binary COPY format: a header, per row the field count then each
/// field's length and bytes (pgvector's `vector`: dimension, 0, then big-endian `float4`s),
/// and the trailer.
fn copy_binary(items: &[NewVector]) -> Vec<u8> {
    let dim = items.first().map_or(0, |item| item.vector.len());
    let mut out = Vec::with_capacity(19 + items.len() * (2 + 4 + 40 + 8 + 4 * dim) + 2);
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0_i32.to_be_bytes()); // flags
    out.extend_from_slice(&0_i32.to_be_bytes()); // header extension
    for item in items {
        out.extend_from_slice(&2_i16.to_be_bytes());
        let id = item.id.as_bytes();
        out.extend_from_slice(&(id.len() as i32).to_be_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&((4 + 4 * item.vector.len()) as i32).to_be_bytes());
        out.extend_from_slice(&(item.vector.len() as i16).to_be_bytes());
        out.extend_from_slice(&0_i16.to_be_bytes());
        for value in &item.vector {
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
    out.extend_from_slice(&(-1_i16).to_be_bytes());
    out
}

fn failed(err: sqlx::Error) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("raw pgvector: {}", err.as_database_error().map_or(err.to_string(), |d| d.message().to_owned())),
    )
}

impl RawPgvector {
    /// Connects to the store's database.
    pub async fn connect(url: &str) -> Result<RawPgvector> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .after_connect(|connection, _| {
                Box::pin(async move { sqlx::raw_sql("SET hnsw.ef_search = 200").execute(connection).await.map(|_| ()) })
            })
            .connect_with(
                // The index build at the end of a load is slow by nature: no slow-statement warning.
                url.parse::<sqlx::postgres::PgConnectOptions>()
                    .map_err(failed)?
                    .log_slow_statements(log::LevelFilter::Off, std::time::Duration::from_secs(3_600)),
            )
            .await
            .map_err(failed)?;
        Ok(RawPgvector { pool, operator: std::sync::Mutex::new("<->"), class: std::sync::Mutex::new("vector_l2_ops") })
    }

    fn operator(&self) -> &'static str {
        *self.operator.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl RawEngine for RawPgvector {
    fn name(&self) -> &str {
        "pgvector SQL"
    }

    async fn prepare(&self, dim: usize, metric: Metric) -> Result<()> {
        let (operator, class) = match metric {
            Metric::L2 => ("<->", "vector_l2_ops"),
            Metric::Cosine => ("<=>", "vector_cosine_ops"),
            Metric::Dot => ("<#>", "vector_ip_ops"),
        };
        *self.operator.lock().unwrap_or_else(|p| p.into_inner()) = operator;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE EXTENSION IF NOT EXISTS vector; CREATE SCHEMA IF NOT EXISTS decnet_raw_bench; \
             DROP TABLE IF EXISTS {TABLE}; \
             CREATE TABLE {TABLE} (id text PRIMARY KEY, embedding vector({dim}) NOT NULL)"
        )))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        *self.class.lock().unwrap_or_else(|p| p.into_inner()) = class;
        Ok(())
    }

    async fn insert_batch(&self, items: &[NewVector]) -> Result<()> {
        use sqlx::postgres::PgPoolCopyExt;
        let mut copy = self
            .pool
            .copy_in_raw(&format!("COPY {TABLE} (id, embedding) FROM STDIN (FORMAT binary)"))
            .await
            .map_err(failed)?;
        copy.send(copy_binary(items)).await.map_err(failed)?;
        copy.finish().await.map_err(failed)?;
        Ok(())
    }

    async fn finish_load(&self) -> Result<bool> {
        let class = *self.class.lock().unwrap_or_else(|p| p.into_inner());
        let mut connection = self.pool.acquire().await.map_err(failed)?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET maintenance_work_mem = '512MB'; SET max_parallel_maintenance_workers = 2; \
             CREATE INDEX ON {TABLE} USING hnsw (embedding {class}) WITH (m = 16, ef_construction = 256); \
             RESET maintenance_work_mem; RESET max_parallel_maintenance_workers"
        )))
        .execute(&mut *connection)
        .await
        .map_err(failed)?;
        Ok(true)
    }

    async fn insert_one(&self, id: &str, vector: &[f32]) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {TABLE} (id, embedding) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding"
        )))
        .bind(id)
        .bind(Vector::from(vector.to_vec()))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn knn(&self, _store_kind: &str, query: &[f32], k: usize) -> Result<Vec<String>> {
        // ef_search 200 comes with the connection (k up to 200 here).
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM {TABLE} ORDER BY embedding {} $1 LIMIT $2",
            self.operator()
        )))
        .bind(Vector::from(query.to_vec()))
        .bind(k as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)
    }

    async fn cleanup(&self) -> Result<()> {
        sqlx::query("DROP SCHEMA IF EXISTS decnet_raw_bench CASCADE").execute(&self.pool).await.map_err(failed)?;
        self.pool.close().await;
        Ok(())
    }
}
