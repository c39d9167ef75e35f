//! The store's layout in its PostgreSQL schema: the tables and their names, creating them,
//! upgrading an older layout, and the kinds table. Records are read and written in
//! [`crate::records`], searched in [`crate::search`]; HNSW indexes are built in [`crate::index`].
//!
//! In the configured schema:
//! - `meta (key, value)` holds `schema_version`;
//! - `kinds (kind, dim, metric)` lists every kind, so a kind survives losing its last vector;
//! - `kind_<kind> (id text COLLATE "C" PRIMARY KEY, extractor_version bigint, embedding vector(dim),
//!   written_at_ms bigint)` holds one kind's vectors, with an HNSW index `kind_<kind>_hnsw` using
//!   the operator class of the kind's metric when the index is enabled and the dimension allows
//!   it, and a B-tree index `kind_<kind>_written` on the write time (milliseconds since the Unix
//!   epoch, set by the client) for `expire`. Schema version 2 added `written_at_ms`: a version-1
//!   schema gains it on its first initialisation, every record counting as written then.
//!
//! Identifiers are built only from the validated schema name and validated kinds, and quoted.
//! Kind tables are created and dropped in the same transaction as their `kinds` row, under an
//! advisory lock per schema, so several processes can race on the same kind safely.

use std::collections::BTreeMap;
use std::str::FromStr;

use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row, Transaction};
use vectorstore_core::fnv1a::Fnv1a64;
use vectorstore_core::limits::MAX_KINDS;
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, Result, SCHEMA_VERSION};

use sqlx::AssertSqlSafe;

use crate::config::IndexKind;
use crate::error::{from_sqlx, is_undefined_table};

/// Marks a SQL text built at run time as reviewed. Such texts interpolate only quoted
/// identifiers made from the validated schema name and validated kinds, the metric's operator
/// and operator class, and integers (a dimension, HNSW parameters); values are always bound.
pub(crate) fn audited(sql: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(sql)
}

/// `format!` for SQL texts, through [`audited`].
macro_rules! sql {
    ($($arg:tt)*) => {
        $crate::layout::audited(format!($($arg)*))
    };
}
pub(crate) use sql;

/// Largest dimension pgvector's HNSW indexes `vector` columns up to; larger kinds are scanned exactly.
pub(crate) const MAX_INDEXED_DIM: usize = 2_000;

/// pgvector release that introduced HNSW.
const HNSW_SINCE: (u32, u32, u32) = (0, 5, 0);
/// pgvector release that introduced iterative index scans (`hnsw.iterative_scan`).
const ITERATIVE_SCAN_SINCE: (u32, u32, u32) = (0, 8, 0);

/// Advisory lock taken while creating the extension and a store's schema (one per database).
const INIT_LOCK: i64 = 0x4445_434e_4554_5653; // "DECNETVS"

/// Quoted names of the store's objects in one schema.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    schema: String,
    lock_key: i64,
}

/// `name` for the inside of a double-quoted SQL identifier.
fn quote_inner(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains('"') { name.replace('"', "\"\"").into() } else { name.into() }
}

impl Names {
    /// Names in `schema`, which must already be validated (see `config::check_schema`).
    pub(crate) fn new(schema: &str) -> Self {
        Names { schema: schema.to_owned(), lock_key: schema_lock_key(schema) }
    }

    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    pub(crate) fn quoted_schema(&self) -> String {
        format!("\"{}\"", self.schema)
    }

    fn meta(&self) -> String {
        format!("\"{}\".\"meta\"", self.schema)
    }

    fn kinds(&self) -> String {
        format!("\"{}\".\"kinds\"", self.schema)
    }

    /// The table of a validated kind. Quoted as an identifier besides (any `"` doubled), so
    /// that even a name that escaped validation could not end the identifier.
    pub(crate) fn kind_table(&self, kind: &str) -> String {
        format!("\"{}\".\"kind_{}\"", self.schema, quote_inner(kind))
    }

    /// The HNSW index of a validated kind (unqualified: an index lives in its table's schema).
    pub(crate) fn index_name(kind: &str) -> String {
        format!("\"kind_{}_hnsw\"", quote_inner(kind))
    }

    /// The write-time index of a validated kind (unqualified, as [`Names::index_name`]).
    pub(crate) fn written_index_name(kind: &str) -> String {
        format!("\"kind_{}_written\"", quote_inner(kind))
    }
}

/// FNV-1a of the schema name: the advisory lock serialising kind creation and removal in it.
fn schema_lock_key(schema: &str) -> i64 {
    lock_key(&[schema])
}

/// FNV-1a of `parts` (each followed by a NUL), for advisory lock keys.
pub(crate) fn lock_key(parts: &[&str]) -> i64 {
    let mut hash = Fnv1a64::new();
    hash.write(b"decnet_vectorstore:");
    for part in parts {
        hash.write(part.as_bytes());
        hash.write(&[0]);
    }
    i64::from_ne_bytes(hash.finish().to_ne_bytes())
}

/// pgvector's distance operator for a metric. Each already returns the contract's distance:
/// `<->` is l2, `<=>` is 1 − cos, `<#>` is −(a·b).
pub(crate) fn operator(metric: Metric) -> &'static str {
    match metric {
        Metric::L2 => "<->",
        Metric::Cosine => "<=>",
        Metric::Dot => "<#>",
    }
}

/// The HNSW operator class that orders by `operator(metric)`.
pub(crate) fn operator_class(metric: Metric) -> &'static str {
    match metric {
        Metric::L2 => "vector_l2_ops",
        Metric::Cosine => "vector_cosine_ops",
        Metric::Dot => "vector_ip_ops",
    }
}

/// What the server runs.
#[derive(Debug, Clone)]
pub(crate) struct ServerInfo {
    /// `server_version`, e.g. `18.4`.
    pub(crate) postgres: String,
    /// The vector extension's version, e.g. `0.8.5`.
    pub(crate) pgvector: String,
    /// pgvector has `hnsw.iterative_scan`.
    pub(crate) iterative_scan: bool,
}

/// Creates what is missing (the extension, the schema, `meta`, `kinds`) and checks the stored
/// schema version, all in one transaction under an advisory lock so that several processes can
/// start at once. Data written by a newer schema version is refused without changing anything.
pub(crate) async fn initialize(pool: &PgPool, names: &Names, index: IndexKind) -> Result<ServerInfo> {
    let failed = |err| from_sqlx(err, "initialize the pgvector store");
    let mut tx = pool.begin().await.map_err(failed)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INIT_LOCK).execute(&mut *tx).await.map_err(failed)?;
    // Checked before creating: CREATE EXTENSION / CREATE SCHEMA need privileges that an
    // application role using an existing setup may not have.
    let installed: Option<String> = sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
    if installed.is_none() {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS vector").execute(&mut *tx).await.map_err(|err| {
            from_sqlx(
                err,
                "CREATE EXTENSION vector (pgvector must be installed on the server, and the role allowed to create it)",
            )
        })?;
    }
    let schema_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
        .bind(names.schema())
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
    if !schema_exists {
        sqlx::query(sql!("CREATE SCHEMA IF NOT EXISTS {}", names.quoted_schema()))
            .execute(&mut *tx)
            .await
            .map_err(|err| from_sqlx(err, &format!("create schema {:?}", names.schema())))?;
    }
    sqlx::query(sql!("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value text NOT NULL)", names.meta()))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    let stored: Option<String> =
        sqlx::query_scalar(sql!("SELECT value FROM {} WHERE key = 'schema_version'", names.meta()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed)?;
    match stored {
        Some(version) => {
            let version = check_schema_version(names, &version)?;
            if version < SCHEMA_VERSION {
                upgrade(&mut tx, names, version).await?;
            }
        }
        None => {
            sqlx::query(sql!("INSERT INTO {} (key, value) VALUES ('schema_version', $1)", names.meta()))
                .bind(SCHEMA_VERSION.to_string())
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
    }
    sqlx::query(sql!(
        "CREATE TABLE IF NOT EXISTS {} (kind text COLLATE \"C\" PRIMARY KEY, dim integer NOT NULL, \
         metric text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
        names.kinds()
    ))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    let row = sqlx::query(
        "SELECT current_setting('server_version'), \
         (SELECT extversion FROM pg_extension WHERE extname = 'vector'), \
         (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
          WHERE e.extname = 'vector'), \
         to_regtype('vector') IS NOT NULL",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(failed)?;
    let postgres: String = row.try_get(0).map_err(failed)?;
    let pgvector: Option<String> = row.try_get(1).map_err(failed)?;
    let extension_schema: Option<String> = row.try_get(2).map_err(failed)?;
    let on_search_path: bool = row.try_get(3).map_err(failed)?;
    tx.commit().await.map_err(failed)?;

    let pgvector = pgvector.unwrap_or_default();
    if !on_search_path {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "the vector extension lives in schema {:?}, which is not on the role's search_path; \
                 add it (ALTER ROLE … SET search_path = …, {0:?})",
                extension_schema.unwrap_or_default()
            ),
        ));
    }
    let version = parse_version(&pgvector);
    if index == IndexKind::Hnsw && version < HNSW_SINCE {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "pgvector {pgvector} has no HNSW index (0.5.0 or later has): upgrade it, or set \
                 DECNET_VECTORSTORE_PGVECTOR_INDEX=none for exact scans"
            ),
        ));
    }
    Ok(ServerInfo { postgres, pgvector, iterative_scan: version >= ITERATIVE_SCAN_SINCE })
}

/// Brings a schema of an older version to this build's (inside the initialising transaction,
/// under its lock): version 1 had no write times, so every kind table gains `written_at_ms`
/// (PostgreSQL fills it with the one constant default without rewriting the table: every record
/// counts as written at the upgrade) and its index. Logged once at WARN.
async fn upgrade(tx: &mut Transaction<'_, Postgres>, names: &Names, from: u32) -> Result<()> {
    let failed = |err| from_sqlx(err, &format!("upgrade schema {:?} to version {SCHEMA_VERSION}", names.schema()));
    lock_schema(tx, names).await.map_err(failed)?;
    let now = i64::try_from(vectorstore_core::now_ms()).unwrap_or(i64::MAX);
    let kinds_exist: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(names.kinds())
        .fetch_one(&mut **tx)
        .await
        .map_err(failed)?;
    let listed: Vec<String> = if kinds_exist {
        sqlx::query_scalar(sql!("SELECT kind FROM {} ORDER BY kind", names.kinds()))
            .fetch_all(&mut **tx)
            .await
            .map_err(failed)?
    } else {
        Vec::new()
    };
    let mut tables = 0;
    for kind in listed.iter().filter(|kind| vectorstore_core::validate::kind(kind).is_ok()) {
        let table = names.kind_table(kind);
        let present: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&table)
            .fetch_one(&mut **tx)
            .await
            .map_err(failed)?;
        if !present {
            continue;
        }
        for statement in [
            format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS written_at_ms bigint NOT NULL DEFAULT {now}"),
            format!("ALTER TABLE {table} ALTER COLUMN written_at_ms DROP DEFAULT"),
            format!("CREATE INDEX IF NOT EXISTS {} ON {table} (written_at_ms)", Names::written_index_name(kind)),
        ] {
            sqlx::query(audited(statement)).execute(&mut **tx).await.map_err(failed)?;
        }
        tables += 1;
    }
    sqlx::query(sql!("UPDATE {} SET value = $1 WHERE key = 'schema_version'", names.meta()))
        .bind(SCHEMA_VERSION.to_string())
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    tracing::warn!(
        schema = names.schema(),
        from,
        to = SCHEMA_VERSION,
        kinds = tables,
        "upgraded the store's schema once; the records it held count as written now (they carried no write time)"
    );
    Ok(())
}

fn check_schema_version(names: &Names, stored: &str) -> Result<u32> {
    let version: u32 = stored.trim().parse().map_err(|_| {
        Error::new(
            ErrorKind::IncompatibleSchema,
            format!("schema {:?} holds an unreadable schema_version {stored:?}", names.schema()),
        )
    })?;
    if version > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::IncompatibleSchema,
            format!(
                "schema {:?} was written by schema version {version}, newer than this build's {SCHEMA_VERSION}: \
                 upgrade decnet-vectorstore",
                names.schema()
            ),
        ));
    }
    Ok(version)
}

fn parse_version(version: &str) -> (u32, u32, u32) {
    let mut parts = version.split(['.', '-']).map(|part| part.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// A `Backend` error for stored data this build cannot read.
pub(crate) fn corrupt(what: String) -> Error {
    Error::new(ErrorKind::Backend, what)
}

fn kind_info(kind: &str, dim: i32, metric: &str, count: u64) -> Result<KindInfo> {
    let dim = usize::try_from(dim).map_err(|_| corrupt(format!("kind {kind:?} has an invalid dimension {dim}")))?;
    let metric = Metric::from_str(metric)
        .map_err(|_| corrupt(format!("kind {kind:?} has an unknown metric {metric:?} in the kinds table")))?;
    Ok(KindInfo::new(kind, dim, metric).with_count(count))
}

/// The kind's dimension and metric (count 0: counting is a separate query), or `None`.
pub(crate) async fn lookup_kind<'c>(
    executor: impl sqlx::PgExecutor<'c>,
    names: &Names,
    kind: &str,
) -> Result<Option<KindInfo>> {
    let row: Option<(i32, String)> = sqlx::query_as(sql!("SELECT dim, metric FROM {} WHERE kind = $1", names.kinds()))
        .bind(kind)
        .fetch_optional(executor)
        .await
        .map_err(|err| from_sqlx(err, &format!("look up kind {kind:?}")))?;
    row.map(|(dim, metric)| kind_info(kind, dim, &metric, 0)).transpose()
}

/// Outcome of [`create_kind`].
#[derive(Debug)]
pub(crate) enum KindCreation {
    /// The kind was created now, with the dimension and metric asked for.
    Created(KindInfo),
    /// Another call or process created it first; this is what it has.
    Existing(KindInfo),
    /// The store already holds `MAX_KINDS` kinds.
    LimitReached,
}

/// Creates `kind` (its `kinds` row, table and index) in one transaction, unless it exists.
pub(crate) async fn create_kind(
    pool: &PgPool,
    names: &Names,
    kind: &str,
    dim: usize,
    metric: Metric,
) -> Result<KindCreation> {
    let failed = |err| from_sqlx(err, &format!("create kind {kind:?}"));
    let mut tx = pool.begin().await.map_err(failed)?;
    lock_schema(&mut tx, names).await.map_err(failed)?;
    let existing: Option<(i32, String)> =
        sqlx::query_as(sql!("SELECT dim, metric FROM {} WHERE kind = $1", names.kinds()))
            .bind(kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed)?;
    if let Some((dim, metric)) = existing {
        return Ok(KindCreation::Existing(kind_info(kind, dim, &metric, 0)?));
    }
    let kinds: i64 =
        sqlx::query_scalar(sql!("SELECT count(*) FROM {}", names.kinds())).fetch_one(&mut *tx).await.map_err(failed)?;
    if usize::try_from(kinds).unwrap_or(usize::MAX) >= MAX_KINDS {
        return Ok(KindCreation::LimitReached);
    }
    let dim_sql = i32::try_from(dim).map_err(|_| corrupt(format!("dimension {dim} is too large")))?;
    sqlx::query(sql!("INSERT INTO {} (kind, dim, metric) VALUES ($1, $2, $3)", names.kinds()))
        .bind(kind)
        .bind(dim_sql)
        .bind(metric.as_str())
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    let table = names.kind_table(kind);
    sqlx::query(sql!(
        "CREATE TABLE {table} (id text COLLATE \"C\" PRIMARY KEY, extractor_version bigint NOT NULL, \
         embedding vector({dim}) NOT NULL, written_at_ms bigint NOT NULL)"
    ))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    sqlx::query(sql!("CREATE INDEX {} ON {table} (written_at_ms)", Names::written_index_name(kind)))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    // No index yet: it is built once the kind's first load is over (see `crate::index`).
    tx.commit().await.map_err(failed)?;
    Ok(KindCreation::Created(KindInfo::new(kind, dim, metric)))
}

async fn lock_schema(tx: &mut Transaction<'_, Postgres>, names: &Names) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(names.lock_key).execute(&mut **tx).await.map(|_| ())
}

/// Removes `kind` with its table; true if it existed.
pub(crate) async fn drop_kind(pool: &PgPool, names: &Names, kind: &str) -> Result<bool> {
    let failed = |err| from_sqlx(err, &format!("drop kind {kind:?}"));
    // An index build on the table (this process's or another's) would hold DROP TABLE back
    // until it ends: cancel it; it leaves nothing behind once the table is gone.
    sqlx::query(
        "SELECT pg_cancel_backend(p.pid) FROM pg_stat_progress_create_index p \
         JOIN pg_stat_activity a ON a.pid = p.pid AND a.usename = current_user WHERE p.relid = to_regclass($1)",
    )
    .bind(names.kind_table(kind))
    .execute(pool)
    .await
    .map_err(failed)?;
    let mut tx = pool.begin().await.map_err(failed)?;
    lock_schema(&mut tx, names).await.map_err(failed)?;
    let removed = sqlx::query(sql!("DELETE FROM {} WHERE kind = $1", names.kinds()))
        .bind(kind)
        .execute(&mut *tx)
        .await
        .map_err(failed)?
        .rows_affected();
    sqlx::query(sql!("DROP TABLE IF EXISTS {}", names.kind_table(kind))).execute(&mut *tx).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(removed > 0)
}

/// Every kind with its dimension, metric and count, sorted by name; with `versions`, also the
/// count per extractor version (one grouped scan per kind, which health does without).
pub(crate) async fn kinds(pool: &PgPool, names: &Names, versions: bool) -> Result<Vec<KindInfo>> {
    // A kind dropped between listing and counting makes its count fail: list again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let listed = if versions { kinds_with_versions(pool, names).await } else { kinds_once(pool, names).await };
        match listed {
            Err(err) if is_undefined_table(&err) && attempts < 5 => continue,
            Err(err) => return Err(from_sqlx(err, "list kinds")),
            Ok(rows) => {
                return rows
                    .into_iter()
                    .map(|(kind, dim, metric, count, versions)| {
                        let mut info = kind_info(&kind, dim, &metric, u64::try_from(count).unwrap_or(0))?;
                        info.versions = versions;
                        Ok(info)
                    })
                    .collect();
            }
        }
    }
}

/// A listed kind: name, dimension, metric, count and count per version.
type KindRow = (String, i32, String, i64, BTreeMap<u32, u64>);

/// Every valid kind of the `kinds` table, in name order.
async fn listed_kinds(pool: &PgPool, names: &Names) -> sqlx::Result<Vec<(String, i32, String)>> {
    let listed: Vec<(String, i32, String)> =
        sqlx::query_as(sql!("SELECT kind, dim, metric FROM {} ORDER BY kind", names.kinds())).fetch_all(pool).await?;
    // Only names that are valid kinds become table names; anything else in the table (a row
    // written by hand or by a tool) is reported and left out, and the other kinds keep working.
    Ok(listed
        .into_iter()
        .filter(|(kind, _, _)| {
            let valid = vectorstore_core::validate::kind(kind).is_ok();
            if !valid {
                tracing::warn!(
                    kind = %vectorstore_core::Escaped(kind),
                    schema = names.schema(),
                    "a row of the kinds table has a name that is not a valid kind; it is left out"
                );
            }
            valid
        })
        .collect())
}

/// Every kind with its count per extractor version, in one statement over every kind table
/// (so counts and versions are one snapshot); the count is the versions' sum.
async fn kinds_with_versions(pool: &PgPool, names: &Names) -> sqlx::Result<Vec<KindRow>> {
    let listed = listed_kinds(pool, names).await?;
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let counts_sql = listed
        .iter()
        .enumerate()
        .map(|(i, (kind, _, _))| {
            format!(
                "SELECT {i} AS i, extractor_version AS v, count(*) AS n FROM {} GROUP BY extractor_version",
                names.kind_table(kind)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // Not kept as a prepared statement: it changes with every set of kinds.
    let counts: Vec<(i32, i64, i64)> = sqlx::query_as(audited(counts_sql)).persistent(false).fetch_all(pool).await?;
    let mut by_index = vec![BTreeMap::new(); listed.len()];
    for (i, version, n) in counts {
        let slot = usize::try_from(i).ok().and_then(|i| by_index.get_mut(i));
        if let (Some(slot), Ok(version)) = (slot, u32::try_from(version)) {
            slot.insert(version, u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(listed
        .into_iter()
        .zip(by_index)
        .map(|((kind, dim, metric), versions)| {
            let count = versions.values().map(|&n| i64::try_from(n).unwrap_or(i64::MAX)).sum();
            (kind, dim, metric, count, versions)
        })
        .collect())
}

async fn kinds_once(pool: &PgPool, names: &Names) -> sqlx::Result<Vec<KindRow>> {
    let listed = listed_kinds(pool, names).await?;
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let counts_sql = listed
        .iter()
        .enumerate()
        .map(|(i, (kind, _, _))| format!("SELECT {i} AS i, count(*) AS n FROM {}", names.kind_table(kind)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // Not kept as a prepared statement: it changes with every set of kinds.
    let counts: Vec<(i32, i64)> = sqlx::query_as(audited(counts_sql)).persistent(false).fetch_all(pool).await?;
    let mut by_index = vec![0i64; listed.len()];
    for (i, n) in counts {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| by_index.get_mut(i)) {
            *slot = n;
        }
    }
    Ok(listed
        .into_iter()
        .zip(by_index)
        .map(|((kind, dim, metric), n)| (kind, dim, metric, n, BTreeMap::new()))
        .collect())
}

/// Removes the schema and everything in it (what `purge` does to an isolated configuration).
pub(crate) async fn drop_schema(connection: &mut sqlx::PgConnection, names: &Names) -> Result<()> {
    // Index builds in the schema would hold the drop back until they end (see `drop_kind`).
    sqlx::query(
        "SELECT pg_cancel_backend(p.pid) FROM pg_stat_progress_create_index p \
         JOIN pg_stat_activity a ON a.pid = p.pid AND a.usename = current_user \
         JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
    )
    .bind(names.schema())
    .execute(&mut *connection)
    .await
    .map_err(|err| from_sqlx(err, &format!("drop schema {:?}", names.schema())))?;
    sqlx::query(sql!("DROP SCHEMA IF EXISTS {} CASCADE", names.quoted_schema()))
        .execute(connection)
        .await
        .map_err(|err| from_sqlx(err, &format!("drop schema {:?}", names.schema())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("0.8.2"), (0, 8, 2));
        assert!(parse_version("0.10.0") >= ITERATIVE_SCAN_SINCE);
        assert!(parse_version("0.7.4") < ITERATIVE_SCAN_SINCE);
        assert!(parse_version("0.4.4") < HNSW_SINCE);
        assert_eq!(parse_version(""), (0, 0, 0));
    }

    #[test]
    fn names_are_quoted_and_distinct() {
        let names = Names::new("decnet_vectorstore");
        assert_eq!(names.kind_table("ja3"), "\"decnet_vectorstore\".\"kind_ja3\"");
        assert_ne!(names.kind_table("a_b"), names.kind_table("ab"));
        assert_ne!(Names::new("a").lock_key, Names::new("b").lock_key);
        // Processes of different versions share these locks: the keys must never change
        // (values from an independent FNV-1a over "decnet_vectorstore:" and each part + NUL).
        assert_eq!(Names::new("decnet").lock_key, 3_605_773_645_672_775_574);
        assert_eq!(lock_key(&["decnet", "index", "ja3"]), 8_822_506_587_222_213_476);
        // The longest kind still fits PostgreSQL's 63-byte identifiers, index name included.
        assert!(Names::index_name(&"k".repeat(48)).len() - 2 <= crate::config::MAX_IDENTIFIER_BYTES);
        assert!(Names::written_index_name(&"k".repeat(48)).len() - 2 <= crate::config::MAX_IDENTIFIER_BYTES);
    }
}
