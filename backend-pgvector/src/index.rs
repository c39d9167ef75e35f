//! HNSW indexes built once per load, not row by row.
//!
//! Updating an HNSW graph for every inserted row is what made loads slow (about 460 vectors/s
//! at 128 dimensions): a kind is created without its index, its rows are written plainly, and
//! the index is built in one pass once writes to the kind have paused for `INDEX_DELAY_MS`
//! (a background task of the process that wrote), or when [`VectorStore::settle`] asks for it.
//! Until then searches of the kind scan it exactly: never wrong, only slower on large kinds.
//! Kinds that already have an index keep it, and inserts into them update it as before.
//!
//! Builds use `CREATE INDEX CONCURRENTLY`, so writes and searches go on meanwhile, on a
//! connection of their own with `maintenance_work_mem` and `max_parallel_maintenance_workers`
//! from the configuration, under an advisory lock per kind so that processes sharing the
//! schema build each index once. A build cut short (a crash, a closed store, a dropped kind)
//! leaves an invalid index, which the next build replaces.
//!
//! [`VectorStore::settle`]: vectorstore_core::VectorStore::settle

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use vectorstore_core::{KindInfo, Result};

use crate::config::{HnswParams, IndexBuild, IndexKind};
use crate::error::from_sqlx;
use crate::layout::{MAX_INDEXED_DIM, Names, audited, lock_key, lookup_kind, operator_class};

/// How long a kind known to have its index is not checked again (another process may have
/// dropped and re-created it meanwhile).
const RECHECK: Duration = Duration::from_secs(60);

/// Batches at least this large into an empty kind drop an index it still has (from an older
/// version of this store, or emptied by deletes), so that the load builds it once.
pub(crate) const BULK_BATCH: usize = 1_000;

/// What a build needs, independent of the store handle (background builds outlive a call).
#[derive(Clone)]
struct Builder {
    connect: PgConnectOptions,
    names: Names,
    hnsw: HnswParams,
    build: IndexBuild,
}

/// Without the connection options: sqlx's own `Debug` of them shows the password.
impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("schema", &self.names.schema())
            .field("hnsw", &self.hnsw)
            .field("build", &self.build)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    /// Kinds seen with a valid index, and when.
    indexed: HashMap<String, Instant>,
    /// Kinds waiting for a background build: the time of their last write.
    pending: HashMap<String, Instant>,
    /// The background builds, aborted on close.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Kinds this handle is dropping (which cancels their builds), until forgotten.
    dropping: HashSet<String>,
}

/// The deferred index builds of one store handle.
#[derive(Debug)]
pub(crate) struct Indexer {
    builder: Option<Builder>,
    state: Arc<Mutex<State>>,
}

impl Indexer {
    /// Builds for a store with these settings (none when `index` is `none`).
    pub(crate) fn new(
        connect: PgConnectOptions,
        names: Names,
        index: IndexKind,
        hnsw: HnswParams,
        build: IndexBuild,
    ) -> Self {
        use sqlx::ConnectOptions;
        // A build takes seconds to minutes by nature: not a slow statement worth a warning.
        let connect = connect.log_slow_statements(log::LevelFilter::Off, Duration::from_secs(3_600));
        let builder = (index == IndexKind::Hnsw).then_some(Builder { connect, names, hnsw, build });
        Indexer { builder, state: Arc::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a write to `info`'s kind: unless its index is known to exist, a build once the
    /// kind has had no write for `INDEX_DELAY_MS`.
    pub(crate) fn wrote(&self, info: &KindInfo) {
        let Some(builder) = self.builder.clone() else { return };
        if info.dim > MAX_INDEXED_DIM {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let now = Instant::now();
        let mut state = self.state();
        if state.indexed.get(&info.kind).is_some_and(|seen| now.duration_since(*seen) < RECHECK) {
            return;
        }
        if state.pending.insert(info.kind.clone(), now).is_some() {
            return; // a build is already waiting for the writes to pause
        }
        state.tasks.retain(|task| !task.is_finished());
        let shared = Arc::clone(&self.state);
        let info = info.clone();
        state.tasks.push(runtime.spawn(async move {
            // Wait until the kind has had no write for the delay.
            loop {
                let last = shared.lock().unwrap_or_else(PoisonError::into_inner).pending.get(&info.kind).copied();
                let Some(last) = last else { return };
                let quiet = last.elapsed();
                if quiet >= builder.build.delay {
                    break;
                }
                tokio::time::sleep(builder.build.delay - quiet).await;
            }
            shared.lock().unwrap_or_else(PoisonError::into_inner).pending.remove(&info.kind);
            let built = builder.build(&info, Wait::Skip).await;
            // A drop of the kind (by this handle or another process) cancels its build:
            // nothing was lost.
            let dropped = built.is_err() && {
                let flagged = shared.lock().unwrap_or_else(PoisonError::into_inner).dropping.contains(&info.kind);
                flagged || builder.kind_exists(&info.kind).await == Some(false)
            };
            match built {
                Ok(built) => {
                    if let Some(took) = built {
                        tracing::info!(kind = %info.kind, seconds = took.as_secs_f64(), "pgvector: HNSW index built");
                    }
                    shared.lock().unwrap_or_else(PoisonError::into_inner).indexed.insert(info.kind, Instant::now());
                }
                Err(_) if dropped => {
                    tracing::debug!(kind = %info.kind, "pgvector: the kind was dropped during its index build");
                }
                Err(err) => tracing::warn!(
                    kind = %info.kind,
                    error = %err,
                    "pgvector: building the HNSW index failed; searches of the kind stay exact until a later write or settle builds it"
                ),
            }
        }));
    }

    /// Builds `info`'s index now if it has none (waiting for a build another process runs);
    /// returns how long this call spent building, or `None` when there was nothing to build.
    pub(crate) async fn settle(&self, info: &KindInfo) -> Result<Option<Duration>> {
        let Some(builder) = &self.builder else { return Ok(None) };
        if info.dim > MAX_INDEXED_DIM {
            return Ok(None);
        }
        self.state().pending.remove(&info.kind);
        let built = builder.build(info, Wait::Block).await?;
        self.state().indexed.insert(info.kind.clone(), Instant::now());
        Ok(built)
    }

    /// Before a batch of `len` items into `kind`: a large batch into an empty kind drops the
    /// index the kind still has, to build it once after the load.
    pub(crate) async fn before_batch(&self, pool: &PgPool, kind: &str, len: usize) -> Result<()> {
        let Some(builder) = &self.builder else { return Ok(()) };
        if len < BULK_BATCH {
            return Ok(());
        }
        let names = &builder.names;
        let index = format!("{}.{}", names.quoted_schema(), Names::index_name(kind));
        let failed = |err| from_sqlx(err, &format!("prepare a load of kind {kind:?}"));
        let empty_with_index: bool = sqlx::query_scalar(audited(format!(
            "SELECT to_regclass($1) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {})",
            names.kind_table(kind)
        )))
        .bind(&index)
        .fetch_one(pool)
        .await
        .map_err(failed)?;
        if empty_with_index {
            sqlx::query(audited(format!("DROP INDEX IF EXISTS {index}"))).execute(pool).await.map_err(failed)?;
            self.state().indexed.remove(kind);
            tracing::debug!(kind, "pgvector: dropped the index of an empty kind before a load");
        }
        Ok(())
    }

    /// Before this handle drops `kind`: a build of it cut short by the drop is expected.
    pub(crate) fn dropping(&self, kind: &str) {
        self.state().dropping.insert(kind.to_owned());
    }

    /// Forgets `kind` (dropped by this handle).
    pub(crate) fn forget(&self, kind: &str) {
        let mut state = self.state();
        state.indexed.remove(kind);
        state.pending.remove(kind);
        state.dropping.remove(kind);
    }

    /// Stops the background builds (an interrupted build leaves an invalid index that the next
    /// build replaces).
    pub(crate) fn stop(&self) {
        let mut state = self.state();
        state.pending.clear();
        for task in state.tasks.drain(..) {
            task.abort();
        }
    }
}

/// Whether a build waits for another process's build of the same index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Leave it to the other process.
    Skip,
    /// Wait for it, then check the index.
    Block,
}

impl Builder {
    /// Builds `info`'s index unless it exists and is valid; `None` when nothing was built.
    async fn build(&self, info: &KindInfo, wait: Wait) -> Result<Option<Duration>> {
        let kind = &info.kind;
        let failed = |err| from_sqlx(err, &format!("build the index of kind {kind:?}"));
        let mut connection = PgConnection::connect_with(&self.connect).await.map_err(failed)?;
        let key = lock_key(&[self.names.schema(), "index", kind]);
        let locked = match wait {
            Wait::Block => {
                sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut connection).await.map_err(failed)?;
                true
            }
            Wait::Skip => sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut connection)
                .await
                .map_err(failed)?,
        };
        let result = if locked { self.build_locked(&mut connection, info).await } else { Ok(None) };
        // Closing the session releases the advisory lock.
        let _ = connection.close().await;
        result
    }

    /// Whether `kind` exists now, read on a session of its own; `None` when that read fails.
    async fn kind_exists(&self, kind: &str) -> Option<bool> {
        let mut connection = PgConnection::connect_with(&self.connect).await.ok()?;
        let found = lookup_kind(&mut connection, &self.names, kind).await.ok().map(|info| info.is_some());
        let _ = connection.close().await;
        found
    }

    async fn build_locked(&self, connection: &mut PgConnection, info: &KindInfo) -> Result<Option<Duration>> {
        let kind = &info.kind;
        let failed = |err| from_sqlx(err, &format!("build the index of kind {kind:?}"));
        // Read again under the lock: the kind may have been dropped, or re-created otherwise.
        let Some(info) = lookup_kind(&mut *connection, &self.names, kind).await? else { return Ok(None) };
        if info.dim > MAX_INDEXED_DIM {
            return Ok(None);
        }
        // The index is over the distinct vectors (see `crate::layout`).
        let table = self.names.distinct_table(kind);
        let index = format!("{}.{}", self.names.quoted_schema(), Names::index_name(kind));
        let (table_exists, valid): (bool, Option<bool>) = sqlx::query_as(
            "SELECT to_regclass($1) IS NOT NULL, (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($2))",
        )
        .bind(&table)
        .bind(&index)
        .fetch_one(&mut *connection)
        .await
        .map_err(failed)?;
        if !table_exists || valid == Some(true) {
            return Ok(None);
        }
        if valid == Some(false) {
            // Left by a build that was cut short.
            sqlx::query(audited(format!("DROP INDEX CONCURRENTLY IF EXISTS {index}")))
                .execute(&mut *connection)
                .await
                .map_err(failed)?;
        }
        // The session ends with this build: its settings go with it. A client that goes away
        // (a closed store) ends the build within a second instead of at its end. A build may
        // take minutes: the statement timeout of the store's other sessions is not for it.
        sqlx::raw_sql(audited(format!(
            "SET maintenance_work_mem = '{}MB'; SET max_parallel_maintenance_workers = {}; \
             SET client_connection_check_interval = '1s'; SET statement_timeout = 0",
            self.build.memory_mb, self.build.workers
        )))
        .execute(&mut *connection)
        .await
        .map_err(failed)?;
        let started = Instant::now();
        sqlx::query(audited(format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {table} USING hnsw (embedding {}) \
             WITH (m = {}, ef_construction = {})",
            Names::index_name(kind),
            operator_class(info.metric),
            self.hnsw.m,
            self.hnsw.ef_construction
        )))
        .execute(&mut *connection)
        .await
        .map_err(failed)?;
        Ok(Some(started.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::config::{DEFAULT_BUILD, DEFAULT_HNSW};

    #[test]
    fn debug_never_shows_the_connection_password() {
        let connect = PgConnectOptions::from_str("postgres://app:Hunter2-S3cret@127.0.0.1/x").unwrap();
        let indexer = Indexer::new(connect, Names::new("s"), IndexKind::Hnsw, DEFAULT_HNSW, DEFAULT_BUILD);
        let shown = format!("{indexer:?}");
        assert!(shown.contains("Builder") && !shown.contains("Hunter2-S3cret"), "{shown}");
    }
}
