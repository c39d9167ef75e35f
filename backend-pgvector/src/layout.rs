//! The store's layout in its PostgreSQL schema: the tables and their names, creating them,
//! upgrading an older layout, and the kinds table. Records are read and written in
//! [`crate::records`], searched in [`crate::search`]; HNSW indexes are built in [`crate::index`].
//!
//! In the configured schema:
//! - `meta (key, value)` holds `schema_version`;
//! - `kinds (kind, dim, metric)` lists every kind, so a kind survives losing its last vector;
//! - `kind_<kind> (id text COLLATE "C" PRIMARY KEY, extractor_version bigint, embedding vector(dim),
//!   written_at_ms bigint, vector_hash bigint)` holds one kind's records, with a B-tree index
//!   `kind_<kind>_written` on the write time (milliseconds since the Unix epoch, set by the
//!   client) for `expire`, and a B-tree `kind_<kind>_group` on `(vector_hash, id)`, which gives
//!   the members of a group of identical vectors in id order, k at a time;
//! - `kind_<kind>_distinct (vector_hash bigint PRIMARY KEY, embedding vector(dim), members bigint)`
//!   holds each distinct vector of the kind once with its number of records, and the HNSW index
//!   `kind_<kind>_hnsw` (operator class of the kind's metric) when the index is enabled and the
//!   dimension allows it. Statement-level triggers on the record table keep it exact in the
//!   writing transaction (see [`COUNT_FUNCTION`]).
//!
//! Schema version 2 added `written_at_ms` (a version-1 schema gains it on its first
//! initialisation, every record counting as written then); version 3 added `vector_hash` and
//! the distinct table, with the HNSW index moved onto it.
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
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, Result};

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

/// The version of the layout this build writes (`meta.schema_version`): 3 since the distinct
/// table. This backend's own count, apart from the other stores' (`vectorstore_core::SCHEMA_VERSION`).
pub const SCHEMA_VERSION: u32 = 3;

/// Records hashed per statement while an upgrade to version 3 fills `vector_hash`.
const UPGRADE_PAGE: i64 = 5_000;

/// The trigger function (one per schema) that keeps a kind's distinct table exact: run once per
/// statement that writes the kind's records, in its transaction, with the statement's old and
/// new rows (transition tables `removed` and `added`); its arguments are the distinct table's
/// quoted name and the kind's [`Names::group_lock`] key. It takes the transaction-scoped
/// advisory locks of the [`LOCK_BUCKETS`] buckets its hashes fall in, in bucket order, then
/// adds each hash's net change in one `INSERT .. ON CONFLICT DO UPDATE` (the row locks make
/// the counts exact under concurrent writers), then deletes the rows whose count reached 0. A
/// delta of a hash absent from the table (never the case while the table is exact) is inserted
/// with a negative count and deleted in the same call.
///
/// Why buckets: an upsert statement fires the INSERT and the UPDATE triggers one after the
/// other, so its distinct rows would be locked in two passes, and two batches could deadlock
/// on them. Every writer takes bucket locks first, in one order: an upsert takes those of all
/// the hashes it will touch (its new vectors and its records' current ones) before writing
/// (see `crate::records`), so its two passes find their buckets held already. 64 buckets keep
/// a batch's locks within PostgreSQL's default lock table share (`max_locks_per_transaction`).
pub(crate) const COUNT_FUNCTION: &str = "count_distinct";

/// The body of [`COUNT_FUNCTION`].
const COUNT_FUNCTION_BODY: &str = r#"
DECLARE
  changes text;
  touched boolean;
BEGIN
  -- A statement that wrote no row changes no count (an upsert of new records fires the
  -- UPDATE trigger too, with nothing in it).
  EXECUTE CASE TG_OP WHEN 'INSERT' THEN 'SELECT EXISTS (SELECT 1 FROM added)'
    ELSE 'SELECT EXISTS (SELECT 1 FROM removed)' END INTO touched;
  IF NOT touched THEN
    RETURN NULL;
  END IF;
  changes := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT vector_hash, embedding, 1 FROM added'
    WHEN 'DELETE' THEN 'SELECT vector_hash, embedding, -1 FROM removed'
    ELSE 'SELECT vector_hash, embedding, 1 FROM added UNION ALL SELECT vector_hash, embedding, -1 FROM removed'
  END;
  -- The buckets' locks are taken (the CTE read) before the aggregate emits its first row.
  EXECUTE format(
    'WITH locked AS (SELECT count(pg_advisory_xact_lock(%3$s, b)::text) AS l FROM '
    '(SELECT DISTINCT (vector_hash & %4$s)::int AS b FROM (%2$s) AS c (vector_hash, embedding, n) ORDER BY 1) AS buckets) '
    'INSERT INTO %1$s AS d (vector_hash, embedding, members) '
    'SELECT vector_hash, (array_agg(embedding))[1], sum(n) FROM locked, (%2$s) AS c (vector_hash, embedding, n) '
    'GROUP BY vector_hash HAVING sum(n) <> 0 ORDER BY vector_hash '
    'ON CONFLICT (vector_hash) DO UPDATE SET members = d.members + EXCLUDED.members',
    TG_ARGV[0], changes, TG_ARGV[1], LOCK_MASK);
  IF TG_OP <> 'INSERT' THEN
    EXECUTE format('DELETE FROM %1$s WHERE vector_hash IN (SELECT vector_hash FROM removed) AND members <= 0', TG_ARGV[0]);
  END IF;
  RETURN NULL;
END
"#;

/// How many advisory locks guard a kind's distinct rows (see [`COUNT_FUNCTION`]).
pub(crate) const LOCK_BUCKETS: i64 = 64;

/// Largest dimension pgvector's HNSW indexes `vector` columns up to; larger kinds are scanned exactly.
pub(crate) const MAX_INDEXED_DIM: usize = 2_000;

/// pgvector release that introduced HNSW.
const HNSW_SINCE: (u32, u32, u32) = (0, 5, 0);

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

    /// The table of a validated kind's distinct vectors, which carries its HNSW index.
    pub(crate) fn distinct_table(&self, kind: &str) -> String {
        format!("\"{}\".\"kind_{}_distinct\"", self.schema, quote_inner(kind))
    }

    /// The trigger function of the schema (qualified), see [`COUNT_FUNCTION`].
    fn count_function(&self) -> String {
        format!("\"{}\".{COUNT_FUNCTION}", self.schema)
    }

    /// The first key of the advisory locks guarding a kind's distinct rows (the second is the
    /// bucket, see [`COUNT_FUNCTION`]): 32 bits of an FNV-1a of the schema and the kind. Two
    /// kinds sharing a key only wait for each other more often.
    pub(crate) fn group_lock(&self, kind: &str) -> i32 {
        let key = lock_key(&[&self.schema, "distinct", kind]);
        i32::from_ne_bytes(((key as u64 >> 32) as u32 ^ key as u32).to_ne_bytes())
    }

    /// The `(vector_hash, id)` index of a validated kind (unqualified, as [`Names::index_name`]).
    pub(crate) fn group_index_name(kind: &str) -> String {
        format!("\"kind_{}_group\"", quote_inner(kind))
    }

    /// The HNSW index of a validated kind, on its distinct table (unqualified: an index lives in
    /// its table's schema).
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
}

/// Creates what is missing (the extension, the schema, `meta`, `kinds`) and checks the stored
/// schema version, all in one transaction under an advisory lock so that several processes can
/// start at once. Data written by a newer schema version is refused without changing anything.
pub(crate) async fn initialize(pool: &PgPool, names: &Names, index: IndexKind) -> Result<(ServerInfo, Vec<KindInfo>)> {
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
    // A newer schema is refused before anything in it changes.
    let stored = stored.map(|version| check_schema_version(names, &version)).transpose()?;
    create_count_function(&mut tx, names).await.map_err(failed)?;
    let mut upgraded = Vec::new();
    match stored {
        Some(version) if version < SCHEMA_VERSION => upgraded = upgrade(&mut tx, names, version).await?,
        Some(_) => {}
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
    Ok((ServerInfo { postgres, pgvector }, upgraded))
}

/// Brings a schema of an older version to this build's (inside the initialising transaction,
/// under its lock), one version at a time, and returns the kinds it upgraded (their HNSW index
/// is to be built again, now on the distinct table). Logged once at WARN.
/// - 1 to 2: version 1 had no write times, so every kind table gains `written_at_ms`
///   (PostgreSQL fills it with the one constant default without rewriting the table: every
///   record counts as written at the upgrade) and its index.
/// - 2 to 3: every kind table gains `vector_hash`, computed here page by page by
///   [`vectorstore_core::vector_hash`] (the one definition every write uses), its `(vector_hash,
///   id)` index, the distinct table filled from the records, and the triggers that keep it; the
///   HNSW index on the record table is dropped.
async fn upgrade(tx: &mut Transaction<'_, Postgres>, names: &Names, from: u32) -> Result<Vec<KindInfo>> {
    let failed = |err| from_sqlx(err, &format!("upgrade schema {:?} to version {SCHEMA_VERSION}", names.schema()));
    lock_schema(tx, names).await.map_err(failed)?;
    let now = i64::try_from(vectorstore_core::now_ms()).unwrap_or(i64::MAX);
    let kinds_exist: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(names.kinds())
        .fetch_one(&mut **tx)
        .await
        .map_err(failed)?;
    let listed: Vec<(String, i32, String)> = if kinds_exist {
        sqlx::query_as(sql!("SELECT kind, dim, metric FROM {} ORDER BY kind", names.kinds()))
            .fetch_all(&mut **tx)
            .await
            .map_err(failed)?
    } else {
        Vec::new()
    };
    let mut upgraded = Vec::new();
    for (kind, dim, metric) in listed.iter().filter(|(kind, _, _)| vectorstore_core::validate::kind(kind).is_ok()) {
        let table = names.kind_table(kind);
        let present: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(&table)
            .fetch_one(&mut **tx)
            .await
            .map_err(failed)?;
        if !present {
            continue;
        }
        let info = kind_info(kind, *dim, metric, 0)?;
        if from < 2 {
            for statement in [
                format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS written_at_ms bigint NOT NULL DEFAULT {now}"),
                format!("ALTER TABLE {table} ALTER COLUMN written_at_ms DROP DEFAULT"),
                format!("CREATE INDEX IF NOT EXISTS {} ON {table} (written_at_ms)", Names::written_index_name(kind)),
            ] {
                sqlx::query(audited(statement)).execute(&mut **tx).await.map_err(failed)?;
            }
        }
        if from < 3 {
            sqlx::query(sql!("DROP INDEX IF EXISTS {}.{}", names.quoted_schema(), Names::index_name(kind)))
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
            sqlx::query(sql!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS vector_hash bigint"))
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
            hash_records(tx, names, kind).await.map_err(failed)?;
            sqlx::query(sql!("ALTER TABLE {table} ALTER COLUMN vector_hash SET NOT NULL"))
                .execute(&mut **tx)
                .await
                .map_err(failed)?;
            create_distinct(tx, names, &info, true).await.map_err(failed)?;
        }
        upgraded.push(info);
    }
    sqlx::query(sql!("UPDATE {} SET value = $1 WHERE key = 'schema_version'", names.meta()))
        .bind(SCHEMA_VERSION.to_string())
        .execute(&mut **tx)
        .await
        .map_err(failed)?;
    let note = if from < 2 {
        "upgraded the store's schema once; the records it held count as written now (they carried no write time), \
         and each kind's HNSW index is built again over its distinct vectors"
    } else {
        "upgraded the store's schema once: each kind's records are hashed and grouped by vector, and its HNSW index \
         is built again over its distinct vectors"
    };
    tracing::warn!(schema = names.schema(), from, to = SCHEMA_VERSION, kinds = upgraded.len(), "{note}");
    Ok(upgraded)
}

/// Fills `vector_hash` of every record of `kind` (upgrade to version 3), a page of records at a
/// time in id order: one page's vectors in this process at once.
async fn hash_records(tx: &mut Transaction<'_, Postgres>, names: &Names, kind: &str) -> sqlx::Result<()> {
    let table = names.kind_table(kind);
    let mut after: Option<String> = None;
    loop {
        let page: Vec<(String, pgvector::Vector)> = match &after {
            None => {
                sqlx::query_as(sql!("SELECT id, embedding FROM {table} ORDER BY id LIMIT {UPGRADE_PAGE}"))
                    .fetch_all(&mut **tx)
                    .await?
            }
            Some(last) => {
                sqlx::query_as(sql!("SELECT id, embedding FROM {table} WHERE id > $1 ORDER BY id LIMIT {UPGRADE_PAGE}"))
                    .bind(last)
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        let Some((last, _)) = page.last() else { return Ok(()) };
        after = Some(last.clone());
        let hashes: Vec<i64> =
            page.iter().map(|(_, vector)| vectorstore_core::vector_hash(vector.as_slice())).collect();
        let ids: Vec<&str> = page.iter().map(|(id, _)| id.as_str()).collect();
        sqlx::query(sql!(
            "UPDATE {table} AS t SET vector_hash = u.h FROM unnest($1::text[], $2::int8[]) AS u(id, h) WHERE t.id = u.id"
        ))
        .bind(&ids)
        .bind(&hashes)
        .execute(&mut **tx)
        .await?;
        if i64::try_from(page.len()).unwrap_or(i64::MAX) < UPGRADE_PAGE {
            return Ok(());
        }
    }
}

/// Creates what version 3 adds to a kind whose record table has its `vector_hash` column: the
/// `(vector_hash, id)` index, the distinct table (filled from the records when `fill`) and the
/// triggers that keep it exact. No HNSW index: it is built after a load (see `crate::index`).
async fn create_distinct(
    tx: &mut Transaction<'_, Postgres>,
    names: &Names,
    info: &KindInfo,
    fill: bool,
) -> sqlx::Result<()> {
    let kind = &info.kind;
    let table = names.kind_table(kind);
    let distinct = names.distinct_table(kind);
    let mut statements = vec![
        format!("CREATE INDEX {} ON {table} (vector_hash, id)", Names::group_index_name(kind)),
        format!(
            "CREATE TABLE {distinct} (vector_hash bigint PRIMARY KEY, embedding vector({}) NOT NULL, \
             members bigint NOT NULL)",
            info.dim
        ),
    ];
    if fill {
        statements.push(format!(
            "INSERT INTO {distinct} (vector_hash, embedding, members) \
             SELECT vector_hash, (array_agg(embedding))[1], count(*) FROM {table} GROUP BY vector_hash"
        ));
    }
    // A trigger's argument is a string literal: the quoted name with any quote doubled
    // (validated names have none).
    let argument = distinct.replace('\'', "''");
    let function = names.count_function();
    let lock = names.group_lock(kind);
    for (name, event, transitions) in [
        ("count_added", "INSERT", "NEW TABLE AS added"),
        ("count_changed", "UPDATE", "OLD TABLE AS removed NEW TABLE AS added"),
        ("count_removed", "DELETE", "OLD TABLE AS removed"),
    ] {
        statements.push(format!(
            "CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions} \
             FOR EACH STATEMENT EXECUTE FUNCTION {function}('{argument}', '{lock}')"
        ));
    }
    for statement in statements {
        sqlx::query(audited(statement)).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Creates the schema's [`COUNT_FUNCTION`] unless it exists (a role that does not own it can
/// still use it).
async fn create_count_function(tx: &mut Transaction<'_, Postgres>, names: &Names) -> sqlx::Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT to_regprocedure($1) IS NOT NULL")
        .bind(format!("{}()", names.count_function()))
        .fetch_one(&mut **tx)
        .await?;
    if !exists {
        sqlx::query(sql!(
            "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $body${}$body$",
            names.count_function(),
            COUNT_FUNCTION_BODY.replace("LOCK_MASK", &(LOCK_BUCKETS - 1).to_string())
        ))
        .execute(&mut **tx)
        .await?;
    }
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
         embedding vector({dim}) NOT NULL, written_at_ms bigint NOT NULL, vector_hash bigint NOT NULL)"
    ))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    sqlx::query(sql!("CREATE INDEX {} ON {table} (written_at_ms)", Names::written_index_name(kind)))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    let info = KindInfo::new(kind, dim, metric);
    // No HNSW index yet: it is built once the kind's first load is over (see `crate::index`).
    create_distinct(&mut tx, names, &info, false).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(KindCreation::Created(info))
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
         JOIN pg_stat_activity a ON a.pid = p.pid AND a.usename = current_user \
         WHERE p.relid IN (to_regclass($1), to_regclass($2))",
    )
    .bind(names.kind_table(kind))
    .bind(names.distinct_table(kind))
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
    sqlx::query(sql!("DROP TABLE IF EXISTS {}, {}", names.kind_table(kind), names.distinct_table(kind)))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
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
        assert!(parse_version("0.10.0") >= HNSW_SINCE);
        assert!(parse_version("0.7.4") > HNSW_SINCE);
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
        assert!(Names::group_index_name(&"k".repeat(48)).len() - 2 <= crate::config::MAX_IDENTIFIER_BYTES);
        let distinct = Names::new("s").distinct_table(&"k".repeat(48));
        assert!(distinct.len() - "\"s\".\"\"".len() <= crate::config::MAX_IDENTIFIER_BYTES, "{distinct}");
    }
}
