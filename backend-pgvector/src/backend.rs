//! [`PgVectorStore`]: the [`VectorStore`] contract on PostgreSQL + pgvector.

use std::fmt;
use std::sync::OnceLock;

use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use vectorstore_core::{
    Capabilities, Config, Error, ErrorKind, Health, KindInfo, KnnOptions, Lifecycle, Metric, Neighbor, NewVector,
    Result, SearchKind, StoreBackend, VectorRecord, async_trait, in_request_order, validate,
};

use crate::config::{IndexKind, PgVectorConfig};
use crate::error::from_sqlx;
use crate::index::Indexer;
use crate::layout::{self, KindCreation, Names, ServerInfo};
use crate::records::{self, Written};
use crate::search::{self, SearchSettings};
use crate::{CAPABILITIES, NAME};

/// A vector store in one schema of a PostgreSQL database with the pgvector extension.
///
/// Opening does no I/O; [`initialize`](vectorstore_core::VectorStore::initialize) connects, creates the extension
/// and the schema when missing (safely when several processes start at once) and checks the
/// stored schema version. Kinds are read from the database on every call, never cached, so
/// several processes can share one schema, and nothing is lost when the server restarts: calls
/// fail with `Unavailable` while it is down and work again once it is back, on the same handle.
///
/// # Search
///
/// Each kind of up to 2,000 dimensions gets an HNSW index with the operator class of its metric
/// (`<->` l2, `<=>` cosine, `<#>` dot: each already is the contract's distance) over its
/// *distinct* vectors (one entry per group of identical vectors, kept with its count by
/// triggers), built once after the kind's first load rather than row by row (see the crate's
/// README, "Loads and the index"); until then the same searches read the distinct table
/// exactly. A search with `k` up to 1,000 walks the nearest distinct vectors through the index
/// and reads each group's first `k` records in id order through a `(vector_hash, id)` B-tree,
/// in one statement that replies with at most `k` rows, whatever the groups' sizes. It walks
/// further (up to 1,000 distinct vectors) while the k-th hit's distance may continue past the
/// vectors walked or fewer than k records pass the filters, and is finished by an exact scan
/// whenever the walk cannot tell, so a search always returns exactly min(k, matching) hits,
/// ties cut by id. `k` above 1,000, kinds above 2,000 dimensions (pgvector cannot index
/// `vector` that wide; no halfvec index is used, so distances stay in full precision) and
/// `INDEX=none` always scan exactly, ordered by `(distance, id)`.
pub struct PgVectorStore {
    config: PgVectorConfig,
    names: Names,
    life: Lifecycle,
    /// Serialises initialize and close.
    transition: tokio::sync::Mutex<()>,
    pool: OnceLock<PgPool>,
    server: OnceLock<ServerInfo>,
    indexer: Indexer,
}

impl fmt::Debug for PgVectorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgVectorStore")
            .field("config", &self.config)
            .field("state", &self.life.state())
            .field("server", &self.server.get())
            .finish()
    }
}

impl PgVectorStore {
    /// A store for `config` (`DECNET_VECTORSTORE_URL` plus the `PGVECTOR_*` options), not
    /// connected yet. A bad setting is a `Config` error.
    pub fn from_config(config: &Config) -> Result<Self> {
        PgVectorStore::with_config(PgVectorConfig::from_config(config)?)
    }

    /// A store for an already parsed configuration, not connected yet.
    pub fn with_config(config: PgVectorConfig) -> Result<Self> {
        let names = Names::new(&config.schema);
        Ok(PgVectorStore {
            indexer: Indexer::new(config.connect_options(), names.clone(), config.index, config.hnsw, config.build),
            names,
            config,
            life: Lifecycle::new(),
            transition: tokio::sync::Mutex::new(()),
            pool: OnceLock::new(),
            server: OnceLock::new(),
        })
    }

    /// The parsed configuration.
    pub fn config(&self) -> &PgVectorConfig {
        &self.config
    }

    /// PostgreSQL's plan (`EXPLAIN`) for the first query a `knn_with` with these arguments
    /// runs: shows whether the kind's HNSW index serves it. `None` for an unknown kind.
    pub async fn explain_knn(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Option<String>> {
        validate::knn(kind, query, options)?;
        // Called on the store itself, not through the contract's layer: checks its lifecycle.
        self.life.check(NAME)?;
        let pool = self.pool()?;
        let Some(info) = layout::lookup_kind(&pool, &self.names, kind).await? else { return Ok(None) };
        validate::against_kind(&info, query)?;
        let options = KnnOptions { k: options.k.max(1), ..options.clone() };
        search::explain(&pool, &self.names, &info, &[query], &options, &self.search_settings()).await.map(Some)
    }

    /// PostgreSQL's plan (`EXPLAIN`) for the first statement a `knn_batch` with these
    /// arguments sends (every query in one statement): shows whether the kind's HNSW index
    /// serves each query of the batch. `None` for an unknown kind.
    pub async fn explain_knn_batch(
        &self,
        kind: &str,
        queries: &[&[f32]],
        options: &KnnOptions,
    ) -> Result<Option<String>> {
        validate::knn_batch(kind, queries, options)?;
        if queries.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "explain_knn_batch needs at least one query"));
        }
        // Called on the store itself, not through the contract's layer: checks its lifecycle.
        self.life.check(NAME)?;
        let pool = self.pool()?;
        let Some(info) = layout::lookup_kind(&pool, &self.names, kind).await? else { return Ok(None) };
        validate::queries_against_kind(&info, queries)?;
        let options = KnnOptions { k: options.k.max(1), ..options.clone() };
        let queries = if queries.len() == 1 { vec![queries[0]; 2] } else { queries.to_vec() };
        search::explain(&pool, &self.names, &info, &queries, &options, &self.search_settings()).await.map(Some)
    }

    /// The pool: set by `initialize` and never taken, so always there for the operations the
    /// layer lets through (only on an open store). A resource guard, not a lifecycle check; a
    /// close racing a call closes the pool, which then answers `Closed` (see `error::from_sqlx`).
    fn pool(&self) -> Result<PgPool> {
        self.pool.get().cloned().ok_or_else(|| Error::new(ErrorKind::NotInitialized, "the pgvector store has no pool"))
    }

    fn search_settings(&self) -> SearchSettings {
        SearchSettings { index: self.config.index == IndexKind::Hnsw, ef_search: self.config.hnsw.ef_search }
    }

    /// The kind a write of vectors of length `dim` goes to: the existing one, or a new one with
    /// the store's default metric. `check` validates the write against the kind before anything
    /// is created, as the Fake does.
    async fn kind_for_write(
        &self,
        pool: &PgPool,
        kind: &str,
        dim: usize,
        check: impl Fn(&KindInfo) -> Result<()>,
    ) -> Result<KindInfo> {
        if let Some(info) = layout::lookup_kind(pool, &self.names, kind).await? {
            check(&info)?;
            return Ok(info);
        }
        let wanted = KindInfo::new(kind, dim, self.config.default_metric);
        check(&wanted)?;
        match self.create(pool, kind, dim, wanted.metric).await? {
            KindCreation::Created(info) => Ok(info),
            KindCreation::Existing(info) => {
                check(&info)?;
                Ok(info)
            }
            KindCreation::LimitReached => Err(vectorstore_core::validate::too_many_kinds(kind)),
        }
    }

    async fn create(&self, pool: &PgPool, kind: &str, dim: usize, metric: Metric) -> Result<KindCreation> {
        layout::create_kind(pool, &self.names, kind, dim, metric).await
    }
}

/// A write whose kind vanished between lookup and write (dropped by another caller) is retried
/// once, which creates the kind again as a first insert would.
const WRITE_ATTEMPTS: usize = 2;

#[async_trait]
impl StoreBackend for PgVectorStore {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        let search = match self.config.index {
            IndexKind::Hnsw => SearchKind::Approximate,
            IndexKind::None => SearchKind::Exact,
        };
        Capabilities { search, ..CAPABILITIES }
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    async fn initialize(&self) -> Result<()> {
        let _transition = self.transition.lock().await;
        if self.pool.get().is_some() {
            // Another initialize, waited for on the lock, connected.
            return Ok(());
        }
        let session = search::session_settings(self.config.hnsw.ef_search, self.config.timeout);
        let pool = PgPoolOptions::new()
            .max_connections(self.config.pool_size)
            .acquire_timeout(self.config.acquire_timeout)
            .after_connect(move |connection, _| {
                let session = session.clone();
                Box::pin(
                    async move { sqlx::raw_sql(sqlx::AssertSqlSafe(session)).execute(connection).await.map(|_| ()) },
                )
            })
            .connect_lazy_with(self.config.connect_options());
        match self.bounded("initialize", layout::initialize(&pool, &self.names, self.config.index)).await {
            Ok((server, upgraded)) => {
                tracing::info!(
                    url = %self.config.redacted_url(),
                    schema = %self.names.schema(),
                    postgres = %server.postgres,
                    pgvector = %server.pgvector,
                    "pgvector store initialized"
                );
                let _ = self.server.set(server);
                let _ = self.pool.set(pool);
                // The upgrade to schema version 3 left these kinds without their HNSW index.
                for info in &upgraded {
                    self.indexer.wrote(info);
                }
                Ok(())
            }
            Err(err) => {
                pool.close().await;
                Err(err)
            }
        }
    }

    async fn close(&self) -> Result<()> {
        let _transition = self.transition.lock().await;
        self.indexer.stop();
        if let Some(pool) = self.pool.get() {
            pool.close().await;
        }
        Ok(())
    }

    async fn health(&self) -> Health {
        self.report(false).await
    }

    async fn health_detailed(&self) -> Health {
        self.report(true).await
    }

    async fn create_kind(&self, kind: &str, dim: usize, metric: Metric) -> Result<KindInfo> {
        self.bounded("create_kind", async {
            let pool = self.pool()?;
            if let Some(existing) = layout::lookup_kind(&pool, &self.names, kind).await? {
                validate::same_kind(&existing, dim, metric)?;
                let count = records::count(&pool, &self.names, kind).await?;
                return Ok(existing.with_count(count));
            }
            match self.create(&pool, kind, dim, metric).await? {
                KindCreation::Created(info) => Ok(info),
                KindCreation::Existing(existing) => {
                    validate::same_kind(&existing, dim, metric)?;
                    let count = records::count(&pool, &self.names, kind).await?;
                    Ok(existing.with_count(count))
                }
                KindCreation::LimitReached => Err(vectorstore_core::validate::too_many_kinds(kind)),
            }
        })
        .await
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        self.bounded("insert", async {
            let pool = self.pool()?;
            for _ in 0..WRITE_ATTEMPTS {
                let info =
                    self.kind_for_write(&pool, kind, vector.len(), |info| validate::against_kind(info, vector)).await?;
                if records::upsert(&pool, &self.names, kind, id, vector, extractor_version).await? == Written::Done {
                    self.indexer.wrote(&info);
                    return Ok(());
                }
            }
            Err(kind_vanished(kind))
        })
        .await
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        self.bounded("insert_many", async {
            let pool = self.pool()?;
            let Some(first) = items.first() else { return Ok(()) };
            for _ in 0..WRITE_ATTEMPTS {
                let info = self
                    .kind_for_write(&pool, kind, first.vector.len(), |info| validate::batch_against_kind(info, items))
                    .await?;
                self.indexer.before_batch(&pool, kind, items.len()).await?;
                if records::upsert_many(&pool, &self.names, kind, items).await? == Written::Done {
                    self.indexer.wrote(&info);
                    return Ok(());
                }
            }
            Err(kind_vanished(kind))
        })
        .await
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        self.bounded("get", async {
            let pool = self.pool()?;
            records::get(&pool, &self.names, kind, id).await
        })
        .await
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        self.bounded("delete", async {
            let pool = self.pool()?;
            records::delete(&pool, &self.names, kind, id).await
        })
        .await
    }

    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        self.bounded("get_many", async {
            let pool = self.pool()?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            Ok(in_request_order(ids, records::get_many(&pool, &self.names, kind, ids).await?))
        })
        .await
    }

    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        self.bounded("delete_many", async {
            let pool = self.pool()?;
            if ids.is_empty() {
                return Ok(0);
            }
            records::delete_many(&pool, &self.names, kind, ids).await
        })
        .await
    }

    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        self.bounded("delete_version", async {
            let pool = self.pool()?;
            records::delete_version(&pool, &self.names, kind, extractor_version).await
        })
        .await
    }

    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        self.bounded("expire", async {
            let pool = self.pool()?;
            records::expire(&pool, &self.names, kind, written_before_ms).await
        })
        .await
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        self.bounded("knn", async {
            let pool = self.pool()?;
            // One connection for the lookup and the search: a pool checkout costs a round trip.
            let mut connection =
                pool.acquire().await.map_err(|err| from_sqlx(err, &format!("knn in kind {kind:?}")))?;
            let Some(info) = layout::lookup_kind(&mut *connection, &self.names, kind).await? else {
                return Ok(Vec::new());
            };
            validate::against_kind(&info, query)?;
            if options.k == 0 {
                return Ok(Vec::new());
            }
            search::nearest(&mut connection, &self.names, &info, query, options, &self.search_settings()).await
        })
        .await
    }

    /// One exact statement over the kind's distinct vectors, or, with a version filter, one
    /// grouping its records on the server (see the `distinct` module); the reply at most `k`
    /// rows of at most `ids_per_vector` ids either way.
    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<vectorstore_core::DistinctNeighbor>> {
        self.bounded("knn_distinct", async {
            let pool = self.pool()?;
            let mut connection =
                pool.acquire().await.map_err(|err| from_sqlx(err, &format!("knn_distinct in kind {kind:?}")))?;
            let Some(info) = layout::lookup_kind(&mut *connection, &self.names, kind).await? else {
                return Ok(Vec::new());
            };
            validate::against_kind(&info, query)?;
            if options.k == 0 {
                return Ok(Vec::new());
            }
            crate::distinct::nearest_distinct(&mut connection, &self.names, &info, query, options, ids_per_vector).await
        })
        .await
    }

    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        // The timeout bounds each statement the batch sends (a chunk of queries, and its
        // fallback scan), not the whole call.
        let statements = queries.len().div_ceil(search::queries_per_statement(options)).max(1);
        let bound = self.config.timeout.saturating_mul(u32::try_from(statements * 2).unwrap_or(u32::MAX));
        self.bounded_by(bound, "knn_batch", async {
            let pool = self.pool()?;
            let mut connection =
                pool.acquire().await.map_err(|err| from_sqlx(err, &format!("knn_batch in kind {kind:?}")))?;
            let Some(info) = layout::lookup_kind(&mut *connection, &self.names, kind).await? else {
                return Ok(vec![Vec::new(); queries.len()]);
            };
            validate::queries_against_kind(&info, queries)?;
            if options.k == 0 || queries.is_empty() {
                return Ok(vec![Vec::new(); queries.len()]);
            }
            let settings = self.search_settings();
            let parts = batch_parts(queries.len(), self.config.pool_size);
            if parts <= 1 {
                return search::nearest_batch(&mut connection, &self.names, &info, queries, options, &settings).await;
            }
            drop(connection);
            // A large batch in parallel parts, one connection each: one statement runs in one
            // server process, so a single statement leaves the server's other cores idle.
            let mut running = tokio::task::JoinSet::new();
            for (part, chunk) in queries.chunks(queries.len().div_ceil(parts)).enumerate() {
                let owned: Vec<Vec<f32>> = chunk.iter().map(|query| query.to_vec()).collect();
                let (pool, names, info, options) = (pool.clone(), self.names.clone(), info.clone(), options.clone());
                running.spawn(async move {
                    let mut connection = pool
                        .acquire()
                        .await
                        .map_err(|err| from_sqlx(err, &format!("knn_batch in kind {:?}", info.kind)))?;
                    let queries: Vec<&[f32]> = owned.iter().map(Vec::as_slice).collect();
                    let answers =
                        search::nearest_batch(&mut connection, &names, &info, &queries, &options, &settings).await?;
                    Ok::<_, Error>((part, answers))
                });
            }
            let mut answers = vec![Vec::new(); parts];
            while let Some(joined) = running.join_next().await {
                let (part, part_answers) = joined.map_err(|err| {
                    Error::new(ErrorKind::Backend, format!("knn_batch: a part of the batch failed: {err}"))
                })??;
                answers[part] = part_answers;
            }
            Ok(answers.into_iter().flatten().collect())
        })
        .await
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.bounded("kinds", async {
            let pool = self.pool()?;
            layout::kinds(&pool, &self.names, true).await
        })
        .await
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        self.bounded("scan", async {
            let pool = self.pool()?;
            if limit == 0 {
                return Ok(Vec::new());
            }
            records::scan(&pool, &self.names, kind, after_id, limit).await
        })
        .await
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        self.bounded("drop_kind", async {
            let pool = self.pool()?;
            self.indexer.dropping(kind);
            let dropped = layout::drop_kind(&pool, &self.names, kind).await;
            self.indexer.forget(kind);
            dropped
        })
        .await
    }

    /// Builds the kind's HNSW index now if a load left it unbuilt (waiting for a build another
    /// process is running), and returns the time spent building. Not bounded by `TIMEOUT_MS`:
    /// a large kind's build takes as long as it takes.
    async fn settle(&self, kind: &str) -> Result<Option<std::time::Duration>> {
        let pool = self.pool()?;
        let Some(info) = self.bounded("settle", layout::lookup_kind(&pool, &self.names, kind)).await? else {
            return Ok(None);
        };
        self.indexer.settle(&info).await
    }
}

impl PgVectorStore {
    /// Health; with `detailed`, also the URL (password removed), the schema and a failure's
    /// full text.
    async fn report(&self, detailed: bool) -> Health {
        let Some(pool) = self.pool.get() else { return Health::failed(NAME, "not initialized") };
        let mut health = match self.bounded("health", layout::kinds(pool, &self.names, false)).await {
            Ok(kinds) => Health::ok(NAME, kinds.len() as u64, kinds.iter().map(|kind| kind.count).sum()),
            Err(err) => Health::failed_with(NAME, &err, detailed),
        };
        if let Some(server) = self.server.get() {
            health = health.with_version("postgres", &server.postgres).with_version("pgvector", &server.pgvector);
        }
        let index = match self.config.index {
            IndexKind::Hnsw => format!(
                "hnsw (m={}, ef_construction={}, ef_search={})",
                self.config.hnsw.m, self.config.hnsw.ef_construction, self.config.hnsw.ef_search
            ),
            IndexKind::None => "none (exact scans)".to_owned(),
        };
        if detailed {
            health = health.with_detail("url", self.config.redacted_url()).with_detail("schema", self.names.schema());
        }
        health.with_detail("index", index)
    }

    /// Runs one operation within the configured `TIMEOUT_MS`: a server that does not answer
    /// (stopped, hung, unreachable without a reset) is `Unavailable`, never a hang. A statement
    /// cut short this way leaves its connection to be re-synchronised or replaced by the pool.
    async fn bounded<T>(&self, operation: &str, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.bounded_by(self.config.client_bound(), operation, work).await
    }

    /// [`bounded`](Self::bounded) with another bound: an operation of several statements.
    async fn bounded_by<T>(
        &self,
        bound: std::time::Duration,
        operation: &str,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(bound, work).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "pgvector {operation} got no answer from {} within {bound:?} (DECNET_VECTORSTORE_PGVECTOR_TIMEOUT_MS)",
                    self.config.redacted_url(),
                ),
            )),
        }
    }
}

fn kind_vanished(kind: &str) -> Error {
    Error::new(
        ErrorKind::Backend,
        format!("kind {kind:?} keeps disappearing while being written (dropped concurrently)"),
    )
}

/// The [`BackendRegistration::purge`](vectorstore_core::BackendRegistration::purge) of this
/// backend: drops the configuration's schema with everything in it.
pub fn purge(config: Config) -> vectorstore_core::PurgeFuture {
    Box::pin(drop_schema(config))
}

async fn drop_schema(config: Config) -> Result<()> {
    let config = PgVectorConfig::from_config(&config)?;
    let names = Names::new(&config.schema);
    let options = config.connect_options();
    let mut connection = tokio::time::timeout(config.acquire_timeout, PgConnection::connect_with(&options))
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
        .map_err(|err| from_sqlx(err, "connect to purge the schema"))?;
    let dropped = layout::drop_schema(&mut connection, &names).await;
    let _ = connection.close().await;
    dropped
}

/// Most connections one batch search uses at once.
const MAX_BATCH_CONNECTIONS: usize = 4;
/// Fewest queries worth a connection of their own in a batch search.
const MIN_QUERIES_PER_CONNECTION: usize = 64;

/// Into how many parts, searched in parallel on their own connections, a batch of `queries`
/// is split: one per 64 queries, at most 4 and at most half the pool (so that single calls
/// beside the batch still find connections).
fn batch_parts(queries: usize, pool_size: u32) -> usize {
    let connections = usize::try_from(pool_size / 2).unwrap_or(1).clamp(1, MAX_BATCH_CONNECTIONS);
    queries.div_ceil(MIN_QUERIES_PER_CONNECTION).clamp(1, connections)
}

#[cfg(test)]
mod tests {
    use super::batch_parts;

    #[test]
    fn large_batches_take_up_to_half_the_pool_small_ones_one_connection() {
        assert_eq!(batch_parts(1, 10), 1);
        assert_eq!(batch_parts(64, 10), 1);
        assert_eq!(batch_parts(65, 10), 2);
        assert_eq!(batch_parts(130, 10), 3);
        assert_eq!(batch_parts(10_000, 10), 4);
        assert_eq!(batch_parts(10_000, 4), 2);
        assert_eq!(batch_parts(10_000, 1), 1);
    }
}
