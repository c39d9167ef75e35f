//! pgvector driven with plain SQL through sqlx, in its own schema of the store's database,
//! with the same HNSW settings the backend uses by default.

use pgvector::Vector;
use sqlx::postgres::{PgPool, PgPoolOptions};
use vectorstore::{Error, ErrorKind, Metric, NewVector, Result, async_trait};

use super::RawEngine;

const TABLE: &str = "decnet_raw_bench.vectors";

/// One table with an HNSW index (m 16, ef_construction 256, ef_search 200, as the backend);
/// batches through one `UNNEST` statement, searches with one `ORDER BY <op> LIMIT k` statement
/// on connections that start with `hnsw.ef_search = 200`.
pub struct RawPgvector {
    pool: PgPool,
    operator: std::sync::Mutex<&'static str>,
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
            .connect(url)
            .await
            .map_err(failed)?;
        Ok(RawPgvector { pool, operator: std::sync::Mutex::new("<->") })
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
             CREATE TABLE {TABLE} (id text PRIMARY KEY, embedding vector({dim}) NOT NULL); \
             CREATE INDEX ON {TABLE} USING hnsw (embedding {class}) WITH (m = 16, ef_construction = 256)"
        )))
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn insert_batch(&self, items: &[NewVector]) -> Result<()> {
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let vectors: Vec<Vector> = items.iter().map(|i| Vector::from(i.vector.clone())).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {TABLE} (id, embedding) SELECT * FROM UNNEST($1::text[], $2::vector[]) \
             ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding"
        )))
        .bind(&ids)
        .bind(&vectors)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
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
