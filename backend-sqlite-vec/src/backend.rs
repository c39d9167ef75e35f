//! [`SqliteVecStore`]: the [`VectorStore`] contract on one SQLite file with sqlite-vec.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction on the single writer connection, so
//! writes of this process never contend with each other and another process's writer is
//! waited for (busy timeout) instead of failing. Reads run on a pool of read-only connections;
//! in WAL mode they never wait for the writer. Each operation reads its kind's row inside its
//! own transaction, so concurrent `drop_kind`s, other processes included, are always seen
//! consistently.
//!
//! In read-only mode (`DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY`) there is no writer: the
//! readers open the file read-only, or, when the file still holds the original (Python)
//! store's tables to adopt, an in-memory copy of the store with those tables adopted into it,
//! built once by `initialize`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, Transaction};
use vectorstore_core::distance::cmp_hits;
use vectorstore_core::limits::MAX_KINDS;
use vectorstore_core::{
    Capabilities, Config, DistinctNeighbor, Error, ErrorKind, Health, KindInfo, KnnOptions, Lifecycle, Metric,
    Neighbor, NewVector, Result, StoreBackend, VectorRecord, in_request_order, validate,
};

use crate::cache::{Cache, CacheUsage, Change, Items};
use crate::config::{Access, METRICS, SqliteVecConfig, Synchronous};
use crate::error::{location_error, open_error, operation_error};
use crate::legacy::{self, Conns, LegacyAdoption};
use crate::records::{self, NewRow};
use crate::search::{self, Hit, VEC0_MAX_K};
use crate::{CAPABILITIES, NAME};
use crate::{bootstrap, layout};

/// Prepared statements kept per connection: a handful per kind.
const STATEMENT_CACHE: usize = 256;

/// sqlx warns about every statement over a second; an exact scan of a kind larger than the
/// in-memory copy's cap takes that long by nature, and each search would warn. The store's
/// own spans and latency metrics (see `vectorstore_core::instrument`) measure every operation;
/// the statement-level note stays available at debug.
fn slow_statements_at_debug(options: SqliteConnectOptions) -> SqliteConnectOptions {
    use sqlx::ConnectOptions;
    options.log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1))
}

/// Ties narrower than this are read whole with one kNN; wider ones are walked in id order,
/// which visits about `k * rows / width` rows. Reading 4,096 tied rows costs more than
/// walking for a 1,024-wide tie.
const TIE_PROBE: usize = 1024;

/// The embedded store: one SQLite file holding every kind, searched with sqlite-vec.
///
/// Open it through the registry (`DECNET_VECTORSTORE_TYPE=sqlite_vec`) or with
/// [`SqliteVecStore::from_config`]; no file is opened or created before
/// [`initialize`](vectorstore_core::VectorStore::initialize).
#[derive(Debug)]
pub struct SqliteVecStore {
    settings: SqliteVecConfig,
    life: Lifecycle,
    /// Serialises `initialize` and `close`, so a close never misses pools being opened.
    transition: tokio::sync::Mutex<()>,
    pools: OnceLock<Pools>,
    /// What `initialize` adopted from the original (Python) store, when it did.
    adoption: OnceLock<LegacyAdoption>,
    /// The in-memory copies exact searches scan (see the `cache` module).
    cache: Cache,
}

#[derive(Debug)]
struct Pools {
    /// One connection: SQLite allows one writer per file, and queueing here instead of in
    /// SQLite's busy handler keeps this process's writers from ever seeing `database is locked`.
    /// `None` in read-only mode.
    writer: Option<SqlitePool>,
    /// Read-only connections; in WAL mode readers never block the writer or each other.
    readers: SqlitePool,
    /// In read-only mode on a file still to adopt: the connection that built the in-memory
    /// copy the readers read, which lives as long as a connection to it is open.
    keeper: Mutex<Option<SqliteConnection>>,
    /// True when the file has the change counters, which in-memory copies need (a read-only
    /// file never opened read-write by this version may lack them).
    counted: bool,
}

impl Pools {
    fn in_memory(&self) -> bool {
        self.keeper.lock().is_ok_and(|keeper| keeper.is_some())
    }
}

/// Numbers the in-memory copies of this process.
static MEMORY_COPIES: AtomicU64 = AtomicU64::new(0);

impl SqliteVecStore {
    /// A store for the location and options of `config` (see [`SqliteVecConfig::from_config`]).
    /// Does no I/O: the file is opened by [`initialize`](vectorstore_core::VectorStore::initialize).
    pub fn from_config(config: &Config) -> Result<Self> {
        SqliteVecStore::with_config(SqliteVecConfig::from_config(config)?)
    }

    /// A store for an already parsed configuration, not opened yet.
    pub fn with_config(settings: SqliteVecConfig) -> Result<Self> {
        let cache_bytes = usize::try_from(settings.cache_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        Ok(SqliteVecStore {
            cache: Cache::new(cache_bytes),
            settings,
            life: Lifecycle::new(),
            transition: tokio::sync::Mutex::new(()),
            pools: OnceLock::new(),
            adoption: OnceLock::new(),
        })
    }

    /// The sqlite file this store uses.
    pub fn path(&self) -> &Path {
        &self.settings.path
    }

    /// The settings this store was opened with.
    pub fn settings(&self) -> &SqliteVecConfig {
        &self.settings
    }

    /// What the in-memory copies of the kinds take now, and their limit
    /// (`DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB`).
    pub fn cache_usage(&self) -> CacheUsage {
        self.cache.usage()
    }

    /// What `initialize` adopted from the original (Python) store's tables, when this store
    /// did it: `None` when the file had none, when they had been adopted before (by this or
    /// another process), or before `initialize`. In read-only mode, the adoption into the
    /// in-memory copy.
    pub fn legacy_adoption(&self) -> Option<&LegacyAdoption> {
        self.adoption.get()
    }

    /// The connections: set by `initialize` and never taken, so always there for the
    /// operations the layer lets through (only on an open store). A resource guard, not a
    /// lifecycle check; a close racing a call closes the pools, which then answer `Closed`
    /// (see `error::operation_error`).
    fn pools(&self) -> Result<&Pools> {
        self.pools.get().ok_or_else(|| Error::new(ErrorKind::NotInitialized, "the sqlite_vec store has no connections"))
    }

    /// The writer, or a `Config` error naming `operation` in read-only mode.
    fn writer(&self, operation: &str) -> Result<&SqlitePool> {
        let pools = self.pools()?;
        pools.writer.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{operation} refused: the {NAME} store at {} is open read-only \
                     (DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY={})",
                    self.settings.path.display(),
                    self.settings.access
                ),
            )
        })
    }

    async fn write(&self, operation: &str) -> Result<Transaction<'static, Sqlite>> {
        let writer = self.writer(operation)?;
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads first and
        // then writes could fail with SQLITE_BUSY instead of waiting for another process.
        writer.begin_with("BEGIN IMMEDIATE").await.map_err(|e| operation_error(e, "begin write"))
    }

    async fn read(&self) -> Result<Transaction<'static, Sqlite>> {
        let pools = self.pools()?;
        pools.readers.begin().await.map_err(|e| operation_error(e, "begin read"))
    }

    /// Every connection sets `trusted_schema = OFF`: a file may come from anyone, and its views
    /// and triggers must not call functions with side effects or virtual tables that are not
    /// innocuous.
    fn connect_options(&self, writer: bool) -> SqliteConnectOptions {
        let synchronous = match self.settings.synchronous {
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Extra => SqliteSynchronous::Extra,
        };
        let options = SqliteConnectOptions::new()
            .filename(&self.settings.path)
            .create_if_missing(writer)
            .busy_timeout(self.settings.busy_timeout)
            .synchronous(synchronous)
            .foreign_keys(false)
            .statement_cache_capacity(STATEMENT_CACHE)
            .pragma("trusted_schema", "OFF");
        let options = slow_statements_at_debug(options);
        if writer { options } else { self.mapped(options.pragma("query_only", "ON")) }
    }

    /// `options` with the file mapped up to `MMAP_MB` (read connections only: the writer's
    /// pages are few and written, and a write through a map is no faster).
    fn mapped(&self, options: SqliteConnectOptions) -> SqliteConnectOptions {
        options.pragma("mmap_size", (self.settings.mmap_mb << 20).to_string())
    }

    /// Read-only mode's connections to the file: SQLite's `mode=ro` (or `immutable=1`), and
    /// `query_only` besides. No pragma that writes (journal mode, synchronous) is sent.
    fn read_only_options(&self) -> SqliteConnectOptions {
        let options = SqliteConnectOptions::new()
            .filename(&self.settings.path)
            .read_only(true)
            .create_if_missing(false)
            .immutable(self.settings.access == Access::Immutable)
            .busy_timeout(self.settings.busy_timeout)
            .foreign_keys(false)
            .statement_cache_capacity(STATEMENT_CACHE)
            .pragma("trusted_schema", "OFF")
            .pragma("query_only", "ON");
        slow_statements_at_debug(self.mapped(options))
    }

    /// Connections to a private in-memory database of this process, named `name`.
    fn memory_options(&self, name: &str) -> SqliteConnectOptions {
        let options = SqliteConnectOptions::new()
            .filename(format!("file:{name}"))
            .in_memory(true)
            .shared_cache(true)
            .create_if_missing(true)
            .foreign_keys(false)
            .statement_cache_capacity(STATEMENT_CACHE)
            .pragma("trusted_schema", "OFF");
        slow_statements_at_debug(options)
    }

    fn readers_pool(&self, options: SqliteConnectOptions) -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(self.settings.read_pool_size)
            .acquire_timeout(self.acquire_timeout())
            .test_before_acquire(false)
            .connect_lazy_with(options)
    }

    fn acquire_timeout(&self) -> Duration {
        (self.settings.busy_timeout * 2).max(Duration::from_secs(30))
    }

    /// Read-only mode: the file itself when it has the current layout and nothing left to
    /// adopt, else an in-memory copy in the current layout (records of an older layout given
    /// the time of the copy as their write time) with the original store's tables adopted into
    /// it. Nothing is written to the file.
    async fn open_read_only(&self) -> Result<Pools> {
        let path = &self.settings.path;
        check_read_only_location(path, self.settings.access).await?;
        let file = self.read_only_options();
        let mut src = SqliteConnection::connect_with(&file).await.map_err(|e| self.read_only_open_error(e))?;
        let built = self.read_only_view(&mut src).await;
        // Release the file whatever happened: the readers open their own connections.
        let _ = src.close().await;
        let (copy, (sqlite, vec), counted) = built?;
        let readers = match &copy {
            Some((name, _)) => self.readers_pool(self.memory_options(name).pragma("query_only", "ON")),
            None => self.readers_pool(file),
        };
        tracing::info!(
            path = %path.display(), sqlite = %sqlite, sqlite_vec = %vec, read_only = %self.settings.access,
            in_memory = copy.is_some(), "sqlite_vec store opened read-only"
        );
        Ok(Pools { writer: None, readers, keeper: Mutex::new(copy.map(|(_, keeper)| keeper)), counted })
    }

    /// An error met opening the file read-only, with what read-only mode needs when it is the
    /// location's fault (a WAL file in a directory SQLite cannot create the companions in).
    fn read_only_open_error(&self, err: sqlx::Error) -> Error {
        let err = open_error(err, &self.settings.path);
        if err.kind() != ErrorKind::Config || self.settings.access != Access::ReadOnly {
            return err;
        }
        Error::new(
            ErrorKind::Config,
            format!(
                "{} (to read a WAL file, read-only mode needs its -wal and -shm companions or a writable directory \
                 to create them; DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY=immutable needs neither, when no process \
                 writes the file)",
                err.message()
            ),
        )
    }

    /// Looks at the file through `src` (in one read transaction, so one snapshot) and builds
    /// the in-memory copy when one is needed, returning its name and the connection keeping
    /// it, with the SQLite and sqlite-vec versions.
    async fn read_only_view(
        &self,
        src: &mut SqliteConnection,
    ) -> Result<(Option<(String, SqliteConnection)>, (String, String), bool)> {
        let path = &self.settings.path;
        let mut snapshot = src.begin().await.map_err(|e| self.read_only_open_error(e))?;
        // The first read opens the WAL: where a location problem shows.
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .execute(&mut *snapshot)
            .await
            .map_err(|e| self.read_only_open_error(e))?;
        let recorded = layout::recorded_version(&mut snapshot, path).await?;
        let pending = legacy::pending(&mut snapshot).await.map_err(|err| layout::at(err, path))?;
        let versions = layout::versions(&mut snapshot).await?;
        // A file of an older layout is served from an in-memory copy of it brought to the current
        // one (upgrading the file itself is a write).
        if recorded == Some(i64::from(vectorstore_core::SCHEMA_VERSION)) && !pending {
            layout::kind_rows(&mut snapshot).await.map_err(|err| layout::at(err, path))?;
            let counted =
                layout::has_table(&mut snapshot, layout::CHANGES_TABLE).await.map_err(|e| open_error(e, path))?;
            snapshot.rollback().await.map_err(|e| open_error(e, path))?;
            return Ok((None, versions, counted));
        }
        let name =
            format!("decnet-vectorstore-ro-{}-{}", std::process::id(), MEMORY_COPIES.fetch_add(1, Ordering::Relaxed));
        let memory = |e| operation_error(e, "in-memory copy");
        let mut keeper = SqliteConnection::connect_with(&self.memory_options(&name)).await.map_err(memory)?;
        let built = async {
            let mut dst = keeper.begin().await.map_err(memory)?;
            layout::create_metadata(&mut dst, path).await?;
            if recorded.is_some() {
                records::copy_kinds(&mut snapshot, &mut dst).await?;
            }
            let adoption = if pending {
                let mut conns = Conns::Split { src: &mut snapshot, dst: &mut dst };
                Some(legacy::adopt(&mut conns, path, self.settings.legacy_skip_invalid, true).await?)
            } else {
                None
            };
            dst.commit().await.map_err(memory)?;
            Ok::<_, Error>(adoption)
        }
        .await;
        let adoption = match built {
            Ok(adoption) => adoption,
            Err(err) => {
                let _ = keeper.close().await;
                return Err(err);
            }
        };
        snapshot.rollback().await.map_err(|e| open_error(e, path))?;
        if let Some(adopted) = adoption {
            tracing::warn!(
                path = %path.display(),
                kinds = adopted.kinds.len(),
                records = adopted.records(),
                skipped = adopted.skipped.len(),
                "read-only: serving the original (Python) store's tables adopted into an in-memory copy (the file \
                 is not changed; open it read-write to adopt them into it): {adopted}"
            );
            let _ = self.adoption.set(adopted);
        }
        Ok((Some((name, keeper)), versions, true))
    }

    async fn open_pools(&self) -> Result<Pools> {
        if self.settings.access.is_read_only() {
            return self.open_read_only().await;
        }
        let path = &self.settings.path;
        let acquire_timeout = self.acquire_timeout();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_lazy_with(self.connect_options(true));
        let bootstrapped = async {
            let mut conn = writer.acquire().await.map_err(|e| open_error(e, path))?;
            let adoption = bootstrap::bootstrap(&mut conn, &self.settings).await?;
            Ok::<_, Error>((layout::versions(&mut conn).await?, adoption))
        }
        .await;
        let (sqlite, vec) = match bootstrapped {
            Ok((versions, adoption)) => {
                if let Some(adopted) = adoption {
                    let _ = self.adoption.set(adopted);
                }
                versions
            }
            Err(err) => {
                // Release the file before reporting, so that nothing keeps it open.
                writer.close().await;
                return Err(err);
            }
        };
        let readers = self.readers_pool(self.connect_options(false));
        tracing::info!(path = %path.display(), sqlite = %sqlite, sqlite_vec = %vec, "sqlite_vec store opened");
        Ok(Pools { writer: Some(writer), readers, keeper: Mutex::new(None), counted: true })
    }

    /// Finds `kind` for a write of `dim`-long vectors, or creates it with the default metric.
    /// `check` vets the vectors against the kind (existing or about to be created) before
    /// anything is written, as the Fake does.
    async fn kind_for_write(
        &self,
        conn: &mut SqliteConnection,
        kind: &str,
        dim: usize,
        check: impl Fn(&KindInfo) -> Result<()>,
    ) -> Result<(KindInfo, bool)> {
        if let Some(info) = layout::kind(conn, kind).await? {
            check(&info)?;
            return Ok((info, false));
        }
        let info = KindInfo::new(kind, dim, self.settings.default_metric);
        check(&info)?;
        create_kind_row(conn, &info).await?;
        Ok((info, true))
    }

    /// Moves `kind`'s change counter in `tx`, commits, and applies `change` to the kind's
    /// in-memory copy.
    async fn commit_change(
        &self,
        mut tx: Transaction<'static, Sqlite>,
        kind: &str,
        change: Change<'_>,
        operation: &'static str,
    ) -> Result<()> {
        let counter = layout::bump_counter(&mut tx, kind).await?;
        self.cache.commit(tx, kind, counter, change).await.map_err(|e| operation_error(e, operation))
    }
}

impl SqliteVecStore {
    /// Health; with `detailed`, also the file's path and a failure's full text.
    async fn report(&self, detailed: bool) -> Health {
        let probe = async {
            let mut tx = self.read().await?;
            let versions = layout::versions(&mut tx).await?;
            let kinds = layout::kinds(&mut tx, false).await?;
            commit(tx, "health").await?;
            Ok::<_, Error>((versions, kinds))
        };
        let in_memory = self.pools.get().is_some_and(Pools::in_memory);
        let mut health = match probe.await {
            Ok(((sqlite, vec), kinds)) => {
                let vectors = kinds.iter().map(|k| k.count).sum();
                Health::ok(NAME, kinds.len() as u64, vectors)
                    .with_version("sqlite", sqlite)
                    .with_version("sqlite_vec", vec)
            }
            Err(err) => Health::failed_with(NAME, &err, detailed),
        };
        if detailed {
            health = health.with_detail("path", self.settings.path.display().to_string());
        }
        let health = health
            .with_detail("journal_mode", if in_memory { "memory" } else { "wal" })
            .with_detail("synchronous", self.settings.synchronous.as_str())
            .with_detail("read_only", self.settings.access.as_str());
        let cache = self.cache.usage();
        let health = health
            .with_detail("cache_bytes", cache.bytes.to_string())
            .with_detail("cache_limit_bytes", cache.limit.to_string())
            .with_detail("cache_vectors", cache.vectors.to_string())
            .with_detail("cache_kinds", cache.kinds.to_string())
            .with_detail("cache_codes_only_kinds", cache.codes_only_kinds.to_string());
        if in_memory {
            health.with_detail("legacy", "adopted into an in-memory copy; the file is not changed")
        } else {
            health
        }
    }
}

async fn create_kind_row(conn: &mut SqliteConnection, info: &KindInfo) -> Result<()> {
    if layout::kind_total(conn).await? >= MAX_KINDS {
        return Err(vectorstore_core::validate::too_many_kinds(&info.kind));
    }
    layout::create_kind(conn, &info.kind, info.dim, info.metric).await
}

async fn commit(tx: Transaction<'static, Sqlite>, operation: &'static str) -> Result<()> {
    tx.commit().await.map_err(|e| operation_error(e, operation))
}

/// Read-only mode opens an existing file only (and never creates its directory); `immutable`
/// is refused when the file has a non-empty `-wal` companion, whose commits it would miss.
async fn check_read_only_location(path: &Path, access: Access) -> Result<()> {
    let owned = path.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        match std::fs::metadata(&owned) {
            Ok(meta) if meta.is_dir() => return Err("it is a directory".to_owned()),
            Ok(_) => {}
            Err(err) => return Err(format!("read-only mode opens an existing file only: {err}")),
        }
        let mut wal = owned.as_os_str().to_owned();
        wal.push("-wal");
        if access == Access::Immutable && std::fs::metadata(&wal).is_ok_and(|meta| meta.len() > 0) {
            return Err(format!(
                "it has a write-ahead log ({}) whose last commits immutable mode would miss; use \
                 DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY=true",
                Path::new(&wal).display()
            ));
        }
        Ok(())
    })
    .await
    .map_err(|err| Error::new(ErrorKind::Backend, format!("location check failed: {err}")))?;
    checked.map_err(|problem| location_error(ErrorKind::Config, path, &problem))
}

/// Creates the parent directory and refuses a directory at the path, before SQLite sees it.
async fn prepare_location(path: &Path) -> Result<()> {
    let owned = path.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        if owned.is_dir() {
            return Err("it is a directory".to_owned());
        }
        match owned.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
                .map_err(|err| format!("cannot create its directory {}: {err}", parent.display())),
            _ => Ok(()),
        }
    })
    .await
    .map_err(|err| Error::new(ErrorKind::Backend, format!("location check failed: {err}")))?;
    checked.map_err(|problem| location_error(ErrorKind::Config, path, &problem))
}

/// Closes every connection of `pools`, waiting for in-flight operations to return theirs.
async fn close_pools(pools: &Pools) {
    pools.readers.close().await;
    if let Some(writer) = &pools.writer {
        writer.close().await;
    }
    let keeper = pools.keeper.lock().ok().and_then(|mut keeper| keeper.take());
    if let Some(keeper) = keeper {
        let _ = keeper.close().await;
    }
}

/// The `k` nearest hits in the contract's order, exactly as an exhaustive search finds them.
///
/// vec0 returns the `fetch` nearest rows, but an arbitrary subset of the rows tied at the last
/// distance. So it is asked for `k + 1`: when that extra row is farther than the k-th, nothing
/// left out can belong to the answer. When it ties with the k-th, every row nearer than that
/// distance was returned, and the tie is settled by id among all rows at that distance. For `k`
/// beyond vec0's limit an exact scan sorts by (distance, id) itself.
async fn search(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
) -> Result<Vec<Neighbor>> {
    let blob = layout::encode_vector(query);
    let k = options.k;
    let version = options.extractor_version;
    let mut hits = if k + 1 > VEC0_MAX_K {
        search::exact(conn, info, &blob, k, version).await?
    } else {
        let mut hits = search::knn(conn, info, &blob, k + 1, version).await?;
        hits.sort_by(|a, b| cmp_hits(a.distance, &a.id, b.distance, &b.id));
        // Rows vec0 left out are at least as far as the last one it returned.
        let boundary = hits.get(k).map(|extra| extra.distance);
        match boundary {
            Some(last) if !(hits[k - 1].distance < last || options.max_distance.is_some_and(|max| max < last)) => {
                let tie = hits[k - 1].distance;
                hits.retain(|hit| hit.distance < tie);
                let wanted = k - hits.len();
                let probe = (4 * (k + 1)).clamp(TIE_PROBE, VEC0_MAX_K);
                let mut ids = match search::tied(conn, info, &blob, tie, probe, version).await? {
                    Some(mut ids) => {
                        ids.sort_unstable();
                        ids.truncate(wanted);
                        ids
                    }
                    None => search::tied_in_id_order(conn, info, &blob, tie, wanted, version).await?,
                };
                if ids.len() < wanted {
                    // The tie could not be read back (a NaN distance): fall back to the scan.
                    search::exact(conn, info, &blob, k, version).await?
                } else {
                    hits.extend(ids.drain(..).map(|id| Hit { id, distance: tie }));
                    hits
                }
            }
            _ => hits,
        }
    };
    hits.sort_by(|a, b| cmp_hits(a.distance, &a.id, b.distance, &b.id));
    Ok(hits
        .into_iter()
        .filter(|hit| options.max_distance.is_none_or(|max| hit.distance <= max))
        .take(k)
        .map(|hit| Neighbor { kind: info.kind.clone(), id: hit.id, distance: hit.distance })
        .collect())
}

#[async_trait]
impl StoreBackend for SqliteVecStore {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    async fn initialize(&self) -> Result<()> {
        let _transition = self.transition.lock().await;
        if self.pools.get().is_some() {
            // Another initialize, waited for on the lock, opened them.
            return Ok(());
        }
        crate::extension::register()?;
        if !self.settings.access.is_read_only() {
            prepare_location(&self.settings.path).await?;
        }
        let pools = self.open_pools().await?;
        if let Err(unused) = self.pools.set(pools) {
            // Unreachable: pools are only set here, once, under the transition lock.
            close_pools(&unused).await;
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        let _transition = self.transition.lock().await;
        if let Some(pools) = self.pools.get() {
            // Waits for in-flight operations to return their connections; the last connection
            // to close checkpoints the WAL into the main file.
            close_pools(pools).await;
            self.cache.clear();
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
        if !METRICS.contains(&metric) {
            return Err(validate::metric_unsupported(NAME, metric, &METRICS));
        }
        let mut tx = self.write("create_kind").await?;
        if let Some(mut info) = layout::kind(&mut tx, kind).await? {
            validate::same_kind(&info, dim, metric)?;
            info.count = layout::count(&mut tx, kind).await?;
            commit(tx, "create kind").await?;
            return Ok(info);
        }
        let info = KindInfo::new(kind, dim, metric);
        create_kind_row(&mut tx, &info).await?;
        let change = Change::Upserted { created: Some((dim, metric)), items: Items::None };
        self.commit_change(tx, kind, change, "create kind").await?;
        Ok(info)
    }

    async fn insert(&self, kind: &str, id: &str, vector: &[f32], extractor_version: u32) -> Result<()> {
        let mut tx = self.write("insert").await?;
        let (info, created) =
            self.kind_for_write(&mut tx, kind, vector.len(), |info| validate::against_kind(info, vector)).await?;
        let written_at_ms = vectorstore_core::now_ms();
        let row = NewRow { id, blob: layout::encode_vector(vector), extractor_version, written_at_ms };
        // Replace = rewrite in place when stored, insert otherwise, in one transaction.
        if created || !records::update(&mut tx, kind, &row).await? {
            records::insert_new(&mut tx, kind, std::slice::from_ref(&row)).await?;
        }
        let change = Change::Upserted {
            created: created.then_some((info.dim, info.metric)),
            items: Items::One { id, vector, extractor_version, written_at_ms },
        };
        self.commit_change(tx, kind, change, "insert").await
    }

    async fn insert_many(&self, kind: &str, items: &[NewVector]) -> Result<()> {
        let Some(first) = items.first() else {
            return self.writer("insert_many").map(|_| ());
        };
        let mut tx = self.write("insert_many").await?;
        let (info, created) = self
            .kind_for_write(&mut tx, kind, first.vector.len(), |info| validate::batch_against_kind(info, items))
            .await?;
        let now = vectorstore_core::now_ms();
        // A repeated id: the last occurrence wins, as inserts in order would leave it.
        let last: HashMap<&str, usize> = items.iter().enumerate().map(|(i, item)| (item.id.as_str(), i)).collect();
        let rows: Vec<NewRow<'_>> = items
            .iter()
            .enumerate()
            .filter(|(i, item)| last.get(item.id.as_str()) == Some(i))
            .map(|(_, item)| NewRow {
                id: &item.id,
                blob: layout::encode_vector(&item.vector),
                extractor_version: item.extractor_version,
                written_at_ms: item.written_at_or(now),
            })
            .collect();
        let stored = if created {
            HashSet::new()
        } else {
            let ids: Vec<&str> = rows.iter().map(|row| row.id).collect();
            records::existing_ids(&mut tx, kind, &ids).await?
        };
        let (replaced, fresh): (Vec<NewRow<'_>>, Vec<NewRow<'_>>) =
            rows.into_iter().partition(|row| stored.contains(row.id));
        records::update_stored(&mut tx, kind, &replaced).await?;
        records::insert_new(&mut tx, kind, &fresh).await?;
        let change =
            Change::Upserted { created: created.then_some((info.dim, info.metric)), items: Items::Many { items, now } };
        self.commit_change(tx, kind, change, "insert_many").await
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
        let mut tx = self.read().await?;
        let record = match layout::kind(&mut tx, kind).await? {
            Some(info) => records::get(&mut tx, &info, id).await?,
            None => None,
        };
        commit(tx, "get").await?;
        Ok(record)
    }

    async fn delete(&self, kind: &str, id: &str) -> Result<bool> {
        let mut tx = self.write("delete").await?;
        let deleted = match layout::kind(&mut tx, kind).await? {
            Some(_) => records::delete(&mut tx, kind, id).await?,
            None => false,
        };
        if deleted {
            self.commit_change(tx, kind, Change::Deleted(id), "delete").await?;
        } else {
            commit(tx, "delete").await?;
        }
        Ok(deleted)
    }

    async fn get_many(&self, kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        let mut tx = self.read().await?;
        let found = match layout::kind(&mut tx, kind).await? {
            Some(info) if !ids.is_empty() => records::get_many(&mut tx, &info, ids).await?,
            _ => Vec::new(),
        };
        commit(tx, "get_many").await?;
        Ok(in_request_order(ids, found))
    }

    async fn delete_many(&self, kind: &str, ids: &[&str]) -> Result<u64> {
        let mut tx = self.write("delete_many").await?;
        let deleted = match layout::kind(&mut tx, kind).await? {
            Some(_) if !ids.is_empty() => records::delete_many(&mut tx, kind, ids).await?,
            _ => 0,
        };
        if deleted > 0 {
            self.commit_change(tx, kind, Change::DeletedMany(ids), "delete_many").await?;
        } else {
            commit(tx, "delete_many").await?;
        }
        Ok(deleted)
    }

    async fn delete_version(&self, kind: &str, extractor_version: u32) -> Result<u64> {
        let mut tx = self.write("delete_version").await?;
        let deleted = match layout::kind(&mut tx, kind).await? {
            Some(_) => records::delete_version(&mut tx, kind, extractor_version).await?,
            None => 0,
        };
        if deleted > 0 {
            self.commit_change(tx, kind, Change::DeletedVersion(extractor_version), "delete_version").await?;
        } else {
            commit(tx, "delete_version").await?;
        }
        Ok(deleted)
    }

    async fn expire(&self, kind: &str, written_before_ms: u64) -> Result<u64> {
        let mut tx = self.write("expire").await?;
        let deleted = match layout::kind(&mut tx, kind).await? {
            Some(_) => records::expire(&mut tx, kind, written_before_ms).await?,
            None => 0,
        };
        if deleted > 0 {
            self.commit_change(tx, kind, Change::Expired(written_before_ms), "expire").await?;
        } else {
            commit(tx, "expire").await?;
        }
        Ok(deleted)
    }

    async fn knn_with(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Result<Vec<Neighbor>> {
        let mut tx = self.read().await?;
        let Some(info) = layout::kind(&mut tx, kind).await? else {
            commit(tx, "knn").await?;
            return Ok(Vec::new());
        };
        validate::against_kind(&info, query)?;
        // The in-memory copy answers when it can; sqlite-vec otherwise (see the cache module).
        let copied = options.k > 0 && self.cache.enabled() && self.pools()?.counted;
        let cached = if copied { self.cache.search(&mut tx, &info, query, options).await? } else { None };
        let hits = match cached {
            Some(hits) => hits,
            None if options.k == 0 => Vec::new(),
            None => search(&mut tx, &info, query, options).await?,
        };
        commit(tx, "knn").await?;
        Ok(hits)
    }

    /// One read transaction for the whole batch; the in-memory copy answers every query in one
    /// blocked scan when it can; else each query is answered alone in that transaction, by a
    /// codes-only copy or by sqlite-vec.
    async fn knn_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        let mut tx = self.read().await?;
        let Some(info) = layout::kind(&mut tx, kind).await? else {
            commit(tx, "knn_batch").await?;
            return Ok(vec![Vec::new(); queries.len()]);
        };
        validate::queries_against_kind(&info, queries)?;
        if options.k == 0 || queries.is_empty() {
            commit(tx, "knn_batch").await?;
            return Ok(vec![Vec::new(); queries.len()]);
        }
        let copied = self.cache.enabled() && self.pools()?.counted;
        let cached = if copied { self.cache.search_batch(&mut tx, &info, queries, options).await? } else { None };
        let answers = match cached {
            Some(answers) => answers,
            None => {
                // A codes-only copy answers query by query; sqlite-vec what it does not.
                let mut answers = Vec::with_capacity(queries.len());
                for query in queries {
                    let cached = if copied { self.cache.search(&mut tx, &info, query, options).await? } else { None };
                    answers.push(match cached {
                        Some(hits) => hits,
                        None => search(&mut tx, &info, query, options).await?,
                    });
                }
                answers
            }
        };
        commit(tx, "knn_batch").await?;
        Ok(answers)
    }

    /// From the kind's in-memory copy when it can serve (one scan of it, as the Fake does);
    /// otherwise the contract's default, which groups the kind read through `scan`.
    async fn knn_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Vec<DistinctNeighbor>> {
        let mut tx = self.read().await?;
        let Some(info) = layout::kind(&mut tx, kind).await? else {
            commit(tx, "knn_distinct").await?;
            return Ok(Vec::new());
        };
        validate::against_kind(&info, query)?;
        if options.k == 0 {
            commit(tx, "knn_distinct").await?;
            return Ok(Vec::new());
        }
        let copied = self.cache.enabled() && self.pools()?.counted;
        let cached = if copied {
            self.cache.search_distinct(&mut tx, &info, query, options, ids_per_vector).await?
        } else {
            None
        };
        commit(tx, "knn_distinct").await?;
        match cached {
            Some(answer) => Ok(answer),
            None => vectorstore_core::distinct::knn_distinct_by_scan(self, kind, query, options, ids_per_vector).await,
        }
    }

    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        let mut tx = self.read().await?;
        let kinds = layout::kinds(&mut tx, true).await?;
        commit(tx, "kinds").await?;
        Ok(kinds)
    }

    async fn scan(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Result<Vec<VectorRecord>> {
        let mut tx = self.read().await?;
        let records = match layout::kind(&mut tx, kind).await? {
            Some(info) if limit > 0 => records::scan(&mut tx, &info, after_id, limit).await?,
            _ => Vec::new(),
        };
        commit(tx, "scan").await?;
        Ok(records)
    }

    async fn drop_kind(&self, kind: &str) -> Result<bool> {
        let mut tx = self.write("drop_kind").await?;
        let existed = layout::kind(&mut tx, kind).await?.is_some();
        if existed {
            layout::drop_kind(&mut tx, kind).await?;
            self.commit_change(tx, kind, Change::Dropped, "drop kind").await?;
        } else {
            commit(tx, "drop kind").await?;
        }
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use vectorstore_core::VectorStore;

    use super::*;
    use crate::config::DEFAULT_MMAP_MB;

    /// `expire` deletes exactly the same records one by one (a few among many, in pages) as in
    /// one statement (many): old records spread through the ids, many sharing a time, some at
    /// the cutoff (kept), another kind's untouched.
    #[tokio::test]
    async fn expire_by_point_deletes_equals_expire_by_one_statement() {
        use vectorstore_core::NewVector;
        let dir = tempfile::tempdir().unwrap();
        let cutoff = vectorstore_core::now_ms() - 1_000_000;
        let written = |n: u64| match n % 7 {
            0 => cutoff - 500,
            1 => cutoff - 1 - n % 3,
            2 => cutoff,
            _ => cutoff + n,
        };
        let mut survivors = Vec::new();
        // (share, page): always one by one in pages of 3 (and of 1), never, and the default rule.
        for (share, page) in [(0, 3), (0, 1), (u64::MAX, 3), (256, 1024)] {
            let store = SqliteVecStore::from_config(
                &Config::new(NAME).with_path(dir.path().join(format!("{share}-{page}.sqlite"))),
            )
            .unwrap();
            VectorStore::initialize(&store).await.unwrap();
            let items: Vec<NewVector> = (0..200u64)
                .map(|n| {
                    NewVector::new(format!("r{:03}", (n * 37) % 200), vec![n as f32, 1.0])
                        .with_written_at_ms(written(n))
                })
                .collect();
            VectorStore::insert_many(&store, "ja3", &items).await.unwrap();
            VectorStore::insert_many(&store, "hassh", &[NewVector::new("r000", vec![1.0]).with_written_at_ms(1)])
                .await
                .unwrap();
            let mut tx = store.write("expire").await.unwrap();
            let gone = records::expire_with(&mut tx, "ja3", cutoff, share, page).await.unwrap();
            let old = (0..200u64).filter(|&n| written(n) < cutoff).count() as u64;
            assert_eq!(gone, old, "share {share}, page {page}");
            let left: Vec<(String, String)> =
                sqlx::query_as("SELECT kind, id FROM vectorstore_written ORDER BY kind, id")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM vectorstore_ja3_vec_rowids ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            commit(tx, "expire").await.unwrap();
            let kept: Vec<String> = left.iter().filter(|(kind, _)| kind == "ja3").map(|(_, id)| id.clone()).collect();
            assert_eq!(kept, ids, "write times and records disagree (share {share}, page {page})");
            assert!(left.contains(&("hassh".to_owned(), "r000".to_owned())), "another kind's old record went");
            survivors.push(ids);
            VectorStore::close(&store).await.unwrap();
        }
        assert_eq!(survivors[0].len(), 200 - (0..200u64).filter(|&n| written(n) < cutoff).count());
        assert!(survivors.windows(2).all(|pair| pair[0] == pair[1]), "the ways disagree");
    }

    /// Read connections map as much of the file as `MMAP_MB` says, read-only ones too.
    #[tokio::test]
    async fn read_connections_map_the_file_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        for (read_only, mmap_mb, want) in [
            (false, None, DEFAULT_MMAP_MB << 20),
            (false, Some("0"), 0),
            (false, Some("3"), 3 << 20),
            (true, Some("5"), 5 << 20),
        ] {
            let mut config = Config::new(NAME).with_path(&path);
            if read_only {
                config = config.with_option(NAME, "READ_ONLY", "true");
            }
            if let Some(mb) = mmap_mb {
                config = config.with_option(NAME, "MMAP_MB", mb);
            }
            let store = SqliteVecStore::from_config(&config).unwrap();
            VectorStore::initialize(&store).await.unwrap();
            let mut read = store.read().await.unwrap();
            let mapped: i64 = sqlx::query_scalar("PRAGMA mmap_size").fetch_one(&mut *read).await.unwrap();
            assert_eq!(u64::try_from(mapped).ok(), Some(want), "read-only {read_only}, MMAP_MB {mmap_mb:?}");
            drop(read);
            VectorStore::close(&store).await.unwrap();
        }
    }
}
