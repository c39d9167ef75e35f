//! The file's layout: its tables and their names, how values are stored in them, the kinds
//! table and its change counters, creating the layout and bringing an older one up to date.
//! Records are read and written in [`crate::records`], searched in [`crate::search`]; the first
//! open of a file is [`crate::bootstrap`].
//!
//! # Layout
//!
//! - `vectorstore_meta(key, value)`: `schema_version` (the layout version, refused when newer
//!   than [`SCHEMA_VERSION`]) and `created`.
//! - `vectorstore_kinds(kind, dim, metric, created, schema_version)`: one row per kind; the
//!   only source of a kind's dimension and metric.
//! - `vectorstore_changes(kind, counter)`: a per-kind change counter, moved in the same
//!   transaction as every write to the kind (and never reset, not even by `drop_kind`), so
//!   that a process keeping an in-memory copy of a kind knows whether anyone, itself or
//!   another process, wrote the kind since it read it. Added after the first layout: a file
//!   without it gets it (seeded at 0 for every kind) on its first read-write open; a kind
//!   without a row (written only by an older build) is never served from a copy.
//! - one sqlite-vec `vec0` table per kind, `vectorstore_<kind>_vec(id text primary key,
//!   embedding float[dim] distance_metric=l2|cosine, extractor_version integer)`, holding the
//!   vectors as little-endian `f32` BLOBs. `extractor_version` is a vec0 *metadata* column, so
//!   a kNN filters on it while it searches.
//! - `vectorstore_written(kind, id, written_at_ms)`: when each record was last written
//!   (milliseconds since the Unix epoch), written in the same transaction as the record, and
//!   indexed by `(kind, written_at_ms)` for `expire`. A separate table because a vec0 table
//!   cannot gain a column: layout version 2 added it, and a version-1 file gets it on its
//!   first read-write open, every record then counting as written at that moment.
//!
//! Table names are built from the validated kind only (`^[a-z][a-z0-9_]{0,47}$`), never from
//! ids. A kind's table ends in `_vec`, and the shadow tables vec0 creates beside it end in
//! `_rowids`, `_info`, `_chunks`, `_auxiliary` or two digits, never in `_vec`: so no kind's
//! table can be another kind's shadow table, and none can be a metadata table.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};
use vectorstore_core::{Error, ErrorKind, Escaped, KindInfo, Metric, Result, SCHEMA_VERSION};

use crate::config::METRICS;
use crate::error::{open_error, operation_error};

/// The metadata table of the file.
pub(crate) const META_TABLE: &str = "vectorstore_meta";

/// The table of kinds.
pub(crate) const KINDS_TABLE: &str = "vectorstore_kinds";

/// The per-kind change counters.
pub(crate) const CHANGES_TABLE: &str = "vectorstore_changes";

/// The time each record was last written.
pub(crate) const WRITTEN_TABLE: &str = "vectorstore_written";

/// Bytes of vector data per vec0 chunk we aim for. vec0 reads and writes single rows through
/// SQLite's incremental BLOB I/O, which walks the chunk's overflow pages: smaller chunks make
/// inserts and point reads cheaper, larger ones make a kNN's per-chunk work rarer.
const CHUNK_BYTES: usize = 128 * 1024;

/// The tables of one kind.
pub(crate) struct Tables {
    /// The vec0 table.
    pub(crate) vec: String,
    /// vec0's shadow table of ids (`id TEXT UNIQUE`), read for ordered scans, existence
    /// checks and counts because vec0 itself answers those only by a full scan.
    pub(crate) rowids: String,
}

impl Tables {
    /// The tables of `kind`, which is checked here, in every build: a name read back from a
    /// damaged or crafted file reaches SQL text only through this check.
    pub(crate) fn of(kind: &str) -> Result<Tables> {
        vectorstore_core::validate::kind(kind)?;
        let vec = format!("vectorstore_{kind}_vec");
        let rowids = format!("{vec}_rowids");
        Ok(Tables { vec, rowids })
    }
}

/// `kind` as an SQL string literal, checked like [`Tables::of`] (the rule leaves no quote in it).
pub(crate) fn kind_literal(kind: &str) -> Result<String> {
    vectorstore_core::validate::kind(kind)?;
    Ok(format!("'{kind}'"))
}

/// SQL text naming a kind's tables. Sound because those names come only through
/// [`Tables::of`] and [`kind_literal`], which check the kind (lowercase ASCII letters, digits
/// and `_`), and are quoted besides.
pub(crate) fn sql(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}

/// Seconds since the Unix epoch, for the `created` columns.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// vec0's `chunk_size` for a dimension: a power of two in 8..=1024 near [`CHUNK_BYTES`].
pub(crate) fn chunk_size(dim: usize) -> usize {
    let rows = CHUNK_BYTES / (dim.max(1) * 4);
    let mut size = 8;
    while size * 2 <= rows && size < 1024 {
        size *= 2;
    }
    size
}

/// The vec0 table of a kind; an invalid kind is an `InvalidKind` error (the name is built from it).
pub fn table_name(kind: &str) -> Result<String> {
    Ok(Tables::of(kind)?.vec)
}

/// The BLOB sqlite-vec reads as a `float[dim]`: little-endian `f32`, bit for bit.
pub fn encode_vector(vector: &[f32]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(vector.len() * 4);
    for value in vector {
        blob.extend_from_slice(&value.to_le_bytes());
    }
    blob
}

/// A stored BLOB back to the vector; a BLOB of the wrong length for `dim` is a `Backend` error
/// naming the kind.
pub fn decode_vector(blob: &[u8], dim: usize, kind: &str) -> Result<Vec<f32>> {
    if blob.len() != dim * 4 {
        return Err(Error::new(
            ErrorKind::Backend,
            format!(
                "kind {kind:?}: a stored vector has {} bytes, expected {} for dimension {dim}",
                blob.len(),
                dim * 4
            ),
        ));
    }
    Ok(blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// The SQL expression of the write time of the row `alias.id` of `kind` (0 if none is
/// recorded, which only a file damaged by hand can show). The kind is checked and written as
/// a literal, which keeps the expression free of parameters the caller would have to number.
pub(crate) fn written_expression(kind: &str, alias: &str) -> Result<String> {
    let literal = kind_literal(kind)?;
    Ok(format!(
        "coalesce((SELECT w.written_at_ms FROM {WRITTEN_TABLE} AS w WHERE w.kind = {literal} AND w.id = {alias}.id), 0)"
    ))
}

pub(crate) fn written_from(value: i64, kind: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| {
        Error::new(ErrorKind::Backend, format!("kind {kind:?}: stored written_at_ms {value} is out of range"))
    })
}

pub(crate) fn version_from(value: i64, kind: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        Error::new(ErrorKind::Backend, format!("kind {kind:?}: stored extractor_version {value} is out of range"))
    })
}

/// `err` with the file named, for errors met while opening it.
pub(crate) fn at(err: Error, path: &Path) -> Error {
    Error::new(err.kind(), format!("{} (file {})", err.message(), path.display()))
}

/// Creates the metadata tables and records the schema version where they are missing (inside
/// the caller's write transaction), refusing a newer version another process may have
/// recorded since the first look.
pub(crate) async fn create_metadata(conn: &mut SqliteConnection, path: &Path) -> Result<()> {
    let statements = [
        format!("CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY NOT NULL, value ANY NOT NULL)"),
        format!(
            "CREATE TABLE IF NOT EXISTS {KINDS_TABLE} (kind TEXT PRIMARY KEY NOT NULL, dim INTEGER NOT NULL \
             CHECK (dim > 0), metric TEXT NOT NULL, created INTEGER NOT NULL, schema_version INTEGER NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (kind TEXT PRIMARY KEY NOT NULL, counter INTEGER NOT NULL)"
        ),
        // A file made before the counters: every kind starts counting from 0.
        format!("INSERT OR IGNORE INTO {CHANGES_TABLE} (kind, counter) SELECT kind, 0 FROM {KINDS_TABLE}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {WRITTEN_TABLE} (kind TEXT NOT NULL, id TEXT NOT NULL, written_at_ms INTEGER \
             NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID"
        ),
        format!("CREATE INDEX IF NOT EXISTS {WRITTEN_TABLE}_age ON {WRITTEN_TABLE} (kind, written_at_ms)"),
    ];
    for statement in statements {
        sqlx::query(sql(statement)).execute(&mut *conn).await.map_err(|e| open_error(e, path))?;
    }
    recorded_version(conn, path).await?;
    let insert =
        format!("INSERT OR IGNORE INTO {META_TABLE} (key, value) VALUES ('schema_version', ?1), ('created', ?2)");
    sqlx::query(sql(insert))
        .bind(i64::from(SCHEMA_VERSION))
        .bind(now())
        .execute(&mut *conn)
        .await
        .map_err(|e| open_error(e, path))?;
    Ok(())
}

/// Brings a file of an older layout version to this build's (inside the caller's write
/// transaction, after [`create_metadata`]): version 1 had no write times, so every record it
/// holds is given the time of the upgrade. Returns the version upgraded from and how many
/// records were given a time, or `None` when the file was current.
pub(crate) async fn upgrade(conn: &mut SqliteConnection, path: &Path) -> Result<Option<(i64, u64)>> {
    let recorded = recorded_version(conn, path).await?.unwrap_or(i64::from(SCHEMA_VERSION));
    if recorded >= i64::from(SCHEMA_VERSION) {
        return Ok(None);
    }
    let now = i64::try_from(vectorstore_core::now_ms()).unwrap_or(i64::MAX);
    let mut records = 0;
    let names = kind_rows(conn).await.map_err(|err| at(err, path))?;
    for kind in names.into_iter().map(|info| info.kind) {
        let fill = format!(
            "INSERT OR IGNORE INTO {WRITTEN_TABLE} (kind, id, written_at_ms) SELECT ?1, id, ?2 FROM \"{}\"",
            Tables::of(&kind)?.rowids
        );
        let done =
            sqlx::query(sql(fill)).bind(&kind).bind(now).execute(&mut *conn).await.map_err(|e| open_error(e, path))?;
        records += done.rows_affected();
    }
    let version = i64::from(SCHEMA_VERSION);
    for statement in [
        format!("UPDATE {META_TABLE} SET value = ?1 WHERE key = 'schema_version'"),
        format!("UPDATE {KINDS_TABLE} SET schema_version = ?1 WHERE schema_version < ?1"),
    ] {
        sqlx::query(sql(statement)).bind(version).execute(&mut *conn).await.map_err(|e| open_error(e, path))?;
    }
    Ok(Some((recorded, records)))
}

/// True when the file has table `name`.
pub(crate) async fn has_table(conn: &mut SqliteConnection, name: &str) -> std::result::Result<bool, sqlx::Error> {
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    Ok(exists > 0)
}

/// The schema version recorded in the file, if any; `IncompatibleSchema` when it is newer
/// than this build's.
pub(crate) async fn recorded_version(conn: &mut SqliteConnection, path: &Path) -> Result<Option<i64>> {
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")
        .bind(META_TABLE)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| open_error(e, path))?;
    if exists == 0 {
        return Ok(None);
    }
    let query = format!("SELECT value FROM {META_TABLE} WHERE key = 'schema_version'");
    let found: Option<i64> =
        sqlx::query_scalar(sql(query)).fetch_optional(&mut *conn).await.map_err(|e| open_error(e, path))?;
    match found {
        Some(version) if version > i64::from(SCHEMA_VERSION) => Err(Error::new(
            ErrorKind::IncompatibleSchema,
            format!(
                "the {} store at {} has schema version {version}, newer than this build's {SCHEMA_VERSION}; \
                 upgrade decnet-vectorstore to open it (the file was left untouched)",
                crate::NAME,
                path.display()
            ),
        )),
        other => Ok(other),
    }
}

pub(crate) async fn switch_to_wal(conn: &mut SqliteConnection, path: &Path, busy_timeout: Duration) -> Result<()> {
    // Changing the journal mode takes an exclusive lock that SQLite's busy handler does not
    // wait for, so a process racing another one to set up a new file retries here.
    let started = Instant::now();
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL").fetch_one(&mut *conn).await {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(crate::error::location_error(
                    ErrorKind::Config,
                    path,
                    &format!("the file cannot use a write-ahead log (journal mode stays {mode})"),
                ));
            }
            Err(err) if crate::error::is_busy(&err) && started.elapsed() < busy_timeout => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => return Err(open_error(err, path)),
        }
    }
}

/// `sqlite_version()` and `vec_version()`; the second also proves the extension is loaded.
pub(crate) async fn versions(conn: &mut SqliteConnection) -> Result<(String, String)> {
    let row = sqlx::query("SELECT sqlite_version(), vec_version()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "version check"))?;
    let sqlite: String = row.try_get(0).map_err(|e| operation_error(e, "version check"))?;
    let vec: String = row.try_get(1).map_err(|e| operation_error(e, "version check"))?;
    Ok((sqlite, vec))
}

/// A kind's row: its dimension and metric (count not included).
pub(crate) async fn kind(conn: &mut SqliteConnection, kind: &str) -> Result<Option<KindInfo>> {
    let query = format!("SELECT dim, metric, schema_version FROM {KINDS_TABLE} WHERE kind = ?1");
    let row = sqlx::query(sql(query))
        .bind(kind)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "kind lookup"))?;
    row.map(|row| kind_from_row(kind, &row)).transpose()
}

fn kind_from_row(kind: &str, row: &sqlx::sqlite::SqliteRow) -> Result<KindInfo> {
    let decode = |e| operation_error(e, "kind lookup");
    let dim: i64 = row.try_get("dim").map_err(decode)?;
    let metric: String = row.try_get("metric").map_err(decode)?;
    let schema_version: i64 = row.try_get("schema_version").map_err(decode)?;
    if schema_version > i64::from(SCHEMA_VERSION) {
        return Err(Error::new(
            ErrorKind::IncompatibleSchema,
            format!("kind {kind:?} has schema version {schema_version}, newer than this build's {SCHEMA_VERSION}"),
        ));
    }
    let metric: Metric = metric.parse().map_err(|_| {
        Error::new(ErrorKind::IncompatibleSchema, format!("kind {kind:?} has an unknown metric {metric:?}"))
    })?;
    if !METRICS.contains(&metric) {
        return Err(Error::new(
            ErrorKind::IncompatibleSchema,
            format!("kind {kind:?} uses metric {metric}, which this build cannot search"),
        ));
    }
    let dim = usize::try_from(dim)
        .ok()
        .filter(|d| (1..=vectorstore_core::limits::MAX_DIM).contains(d))
        .ok_or_else(|| Error::new(ErrorKind::Backend, format!("kind {kind:?} has an invalid dimension {dim}")))?;
    Ok(KindInfo::new(kind, dim, metric))
}

/// Every kind, sorted by name, without counts.
pub(crate) async fn kind_rows(conn: &mut SqliteConnection) -> Result<Vec<KindInfo>> {
    let query = format!("SELECT kind, dim, metric, schema_version FROM {KINDS_TABLE} ORDER BY kind");
    let rows = sqlx::query(sql(query)).fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "kinds"))?;
    let tables: HashSet<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "kinds"))?
        .into_iter()
        .collect();
    let mut kinds = Vec::with_capacity(rows.len());
    for row in &rows {
        // Read as bytes: a damaged file may hold a name that is not text, or not UTF-8.
        let name: Vec<u8> = row.try_get_unchecked("kind").map_err(|e| operation_error(e, "kinds"))?;
        match std::str::from_utf8(&name)
            .map_err(|_| ())
            .and_then(|name| vectorstore_core::validate::kind(name).map(|()| name).map_err(|_| ()))
        {
            Ok(name) => {
                let own = Tables::of(name)?;
                if tables.contains(&own.vec) && tables.contains(&own.rowids) {
                    kinds.push(kind_from_row(name, row)?);
                } else {
                    tracing::warn!(kind = name, "a kind row of the store file has no table of records; it is left out");
                }
            }
            // Names read back are checked like names from callers: a bad one never reaches SQL
            // text, and the other kinds keep working.
            Err(()) => tracing::warn!(
                kind = %Escaped(&String::from_utf8_lossy(&name)),
                "a kind row of the store file has a name that is not a valid kind; it is left out"
            ),
        }
    }
    Ok(kinds)
}

/// Every kind, sorted by name, with counts, and with the count per extractor version when
/// `versions` (a scan of each kind's version column, which health does without).
pub(crate) async fn kinds(conn: &mut SqliteConnection, versions: bool) -> Result<Vec<KindInfo>> {
    let mut kinds = kind_rows(conn).await?;
    for info in &mut kinds {
        info.count = count(conn, &info.kind).await?;
        if versions {
            info.versions = version_counts(conn, &info.kind).await?;
        }
    }
    Ok(kinds)
}

/// Number of vectors of `kind` per extractor version (versions with none left out).
pub(crate) async fn version_counts(conn: &mut SqliteConnection, kind: &str) -> Result<BTreeMap<u32, u64>> {
    let query =
        format!("SELECT extractor_version, count(*) FROM \"{}\" GROUP BY extractor_version", Tables::of(kind)?.vec);
    let rows: Vec<(i64, i64)> =
        sqlx::query_as(sql(query)).fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "kinds"))?;
    rows.into_iter().map(|(version, n)| Ok((version_from(version, kind)?, u64::try_from(n).unwrap_or(0)))).collect()
}

/// Number of vectors of `kind`.
pub(crate) async fn count(conn: &mut SqliteConnection, kind: &str) -> Result<u64> {
    let query = format!("SELECT count(*) FROM \"{}\"", Tables::of(kind)?.rowids);
    let count: i64 =
        sqlx::query_scalar(sql(query)).fetch_one(&mut *conn).await.map_err(|e| operation_error(e, "count"))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Number of kinds.
pub(crate) async fn kind_total(conn: &mut SqliteConnection) -> Result<usize> {
    let query = format!("SELECT count(*) FROM {KINDS_TABLE}");
    let count: i64 =
        sqlx::query_scalar(sql(query)).fetch_one(&mut *conn).await.map_err(|e| operation_error(e, "kinds"))?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

/// Records `kind` and creates its vec0 table (inside the caller's write transaction).
pub(crate) async fn create_kind(conn: &mut SqliteConnection, kind: &str, dim: usize, metric: Metric) -> Result<()> {
    let tables = Tables::of(kind)?;
    let create = format!(
        "CREATE VIRTUAL TABLE \"{}\" USING vec0(id TEXT PRIMARY KEY, embedding float[{dim}] distance_metric={}, \
         extractor_version INTEGER, chunk_size={})",
        tables.vec,
        metric.as_str(),
        chunk_size(dim)
    );
    sqlx::query(sql(create)).execute(&mut *conn).await.map_err(|e| operation_error(e, "create kind"))?;
    let insert =
        format!("INSERT INTO {KINDS_TABLE} (kind, dim, metric, created, schema_version) VALUES (?1, ?2, ?3, ?4, ?5)");
    sqlx::query(sql(insert))
        .bind(kind)
        .bind(dim as i64)
        .bind(metric.as_str())
        .bind(now())
        .bind(i64::from(SCHEMA_VERSION))
        .execute(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "create kind"))?;
    // A re-created kind keeps counting from where its previous life stopped.
    let counter = format!("INSERT OR IGNORE INTO {CHANGES_TABLE} (kind, counter) VALUES (?1, 0)");
    sqlx::query(sql(counter)).bind(kind).execute(&mut *conn).await.map_err(|e| operation_error(e, "create kind"))?;
    Ok(())
}

/// Moves `kind`'s change counter on (inside the caller's write transaction, so it commits or
/// rolls back with the write) and returns its new value.
pub(crate) async fn bump_counter(conn: &mut SqliteConnection, kind: &str) -> Result<i64> {
    let query = format!(
        "INSERT INTO {CHANGES_TABLE} (kind, counter) VALUES (?1, 1) \
         ON CONFLICT (kind) DO UPDATE SET counter = counter + 1 RETURNING counter"
    );
    sqlx::query_scalar(sql(query))
        .bind(kind)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "change counter"))
}

/// `kind`'s change counter, `None` when the kind has none (written only by an older build).
pub(crate) async fn change_counter(conn: &mut SqliteConnection, kind: &str) -> Result<Option<i64>> {
    let query = format!("SELECT counter FROM {CHANGES_TABLE} WHERE kind = ?1");
    sqlx::query_scalar(sql(query))
        .bind(kind)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "change counter"))
}

/// Removes `kind`'s table and row (inside the caller's write transaction).
pub(crate) async fn drop_kind(conn: &mut SqliteConnection, kind: &str) -> Result<()> {
    let drop = format!("DROP TABLE IF EXISTS \"{}\"", Tables::of(kind)?.vec);
    sqlx::query(sql(drop)).execute(&mut *conn).await.map_err(|e| operation_error(e, "drop kind"))?;
    for table in [KINDS_TABLE, WRITTEN_TABLE] {
        sqlx::query(sql(format!("DELETE FROM {table} WHERE kind = ?1")))
            .bind(kind)
            .execute(&mut *conn)
            .await
            .map_err(|e| operation_error(e, "drop kind"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Suffixes of the shadow tables sqlite-vec 0.1.9 creates next to a vec0 table.
    const SHADOW_SUFFIXES: [&str; 7] =
        ["_info", "_chunks", "_rowids", "_auxiliary", "_vector_chunks00", "_metadatachunks00", "_metadatatext00"];

    #[test]
    fn kind_tables_never_collide_with_shadow_or_metadata_tables() {
        let kinds = ["a", "a_vec", "a_vec_rowids", "a_rowids", "a_vec_info", "kinds", "meta", "vec", "a__vec"];
        let mut names = HashSet::new();
        for name in [META_TABLE, KINDS_TABLE, CHANGES_TABLE, WRITTEN_TABLE] {
            assert!(names.insert(name.to_owned()));
        }
        for kind in kinds {
            let tables = Tables::of(kind).expect("a valid kind");
            assert!(names.insert(tables.vec.clone()), "{kind}: {} collides", tables.vec);
            for suffix in SHADOW_SUFFIXES {
                let shadow = format!("{}{suffix}", tables.vec);
                assert!(names.insert(shadow.clone()), "{kind}: {shadow} collides");
            }
            assert_eq!(tables.rowids, format!("{}_rowids", tables.vec));
        }
    }

    #[test]
    fn names_that_break_the_kind_rule_never_become_sql() {
        for bad in ["x' AND 0) UNION SELECT 1 --", "JA3", "a\"b", "", "1a", "a\nb"] {
            assert_eq!(Tables::of(bad).err().map(|e| e.kind()), Some(ErrorKind::InvalidKind), "{bad:?}");
            assert_eq!(kind_literal(bad).err().map(|e| e.kind()), Some(ErrorKind::InvalidKind), "{bad:?}");
            assert!(written_expression(bad, "v").is_err(), "{bad:?}");
        }
        assert_eq!(kind_literal("ja3").expect("valid"), "'ja3'");
    }

    #[test]
    fn chunk_sizes_are_vec0_compatible() {
        for dim in [1, 2, 4, 8, 32, 128, 300, 1000, 3000, 4096] {
            let size = chunk_size(dim);
            assert!(size.is_multiple_of(8) && (8..=1024).contains(&size), "dim {dim}: {size}");
        }
        assert_eq!(chunk_size(128), 256);
        assert_eq!(chunk_size(4096), 8);
        assert_eq!(chunk_size(2), 1024);
    }

    #[test]
    fn blobs_round_trip_bit_for_bit() {
        let vector = [-0.0, 0.0, f32::from_bits(1), f32::MAX, f32::MIN, -f32::from_bits(0x007f_ffff), 0.1];
        let blob = encode_vector(&vector);
        assert_eq!(blob.len(), vector.len() * 4);
        let back = decode_vector(&blob, vector.len(), "k").unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&vector));
        assert_eq!(decode_vector(&blob, 3, "k").unwrap_err().kind(), ErrorKind::Backend);
    }
}
