//! Reading and writing records of one kind's table: by id, by extractor version, by age, page
//! by page. A kind whose table is gone (dropped by another process) reads as empty.

use pgvector::Vector;
use sqlx::postgres::PgPool;
use sqlx::{Connection, Postgres};
use vectorstore_core::{Error, NewVector, Result, VectorRecord};

use crate::error::{from_sqlx, is_undefined_table};
use crate::layout::{LOCK_BUCKETS, Names, audited, corrupt};

/// Whether a write found its kind's table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// The rows are written.
    Done,
    /// The kind's table is gone (dropped by someone else since it was looked up).
    KindMissing,
}

/// The head of an upsert of the records `$1::text[]` with the new hashes `$hashes::int8[]`: the
/// advisory locks of every bucket the write will touch, its new hashes' and its records'
/// current ones, in bucket order, before any row is written (see `layout::COUNT_FUNCTION`).
/// The insert selects `FROM locked`, so that the locks are taken first.
fn lock_groups(names: &Names, kind: &str, hashes: &str) -> String {
    format!(
        "WITH locked AS (SELECT count(pg_advisory_xact_lock({key}, b)::text) AS n FROM \
           (SELECT DISTINCT (h & {mask})::int AS b FROM \
             unnest({hashes} || ARRAY(SELECT vector_hash FROM {table} WHERE id = ANY($1::text[]))) AS h ORDER BY 1) \
           AS buckets) ",
        key = names.group_lock(kind),
        mask = LOCK_BUCKETS - 1,
        table = names.kind_table(kind),
    )
}

/// A `DELETE` of the records matching `condition` that first takes the advisory locks of the
/// buckets of their hashes, in bucket order (an init plan, run once before any row is
/// deleted), as upserts do: so that a delete never holds a record's row lock while it waits
/// for a bucket another writer holds (see `layout::COUNT_FUNCTION`).
fn locked_delete(names: &Names, kind: &str, condition: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE {condition} AND (SELECT count(pg_advisory_xact_lock({key}, b)::text) FROM \
           (SELECT DISTINCT (vector_hash & {mask})::int AS b FROM {table} WHERE {condition} ORDER BY 1) AS buckets) >= 0",
        table = names.kind_table(kind),
        key = names.group_lock(kind),
        mask = LOCK_BUCKETS - 1,
    )
}

/// How often a write PostgreSQL chose as a deadlock's victim is tried again. Writers take
/// their buckets' locks in one order before any row lock, but a record whose vector another
/// caller changes between the two can still close a cycle; the victim's statement was rolled
/// back whole, so running it again is safe.
const DEADLOCK_ATTEMPTS: usize = 3;

/// True when the server rolled the statement back as a deadlock's victim.
fn is_deadlock(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|db| db.code().as_deref() == Some("40P01"))
}

/// Runs a write statement, again when it was a deadlock's victim (see [`DEADLOCK_ATTEMPTS`]).
async fn execute<'q>(
    pool: &PgPool,
    statement: impl Fn() -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
) -> sqlx::Result<u64> {
    let mut attempt = 1;
    loop {
        match statement().execute(pool).await {
            Err(err) if is_deadlock(&err) && attempt < DEADLOCK_ATTEMPTS => attempt += 1,
            done => return done.map(|done| done.rows_affected()),
        }
    }
}

fn written(result: sqlx::Result<()>, action: &str) -> Result<Written> {
    match result {
        Ok(()) => Ok(Written::Done),
        Err(err) if is_undefined_table(&err) => Ok(Written::KindMissing),
        Err(err) => Err(from_sqlx(err, action)),
    }
}

/// The kind's distinct table follows every write through the table's triggers (see
/// `layout::COUNT_FUNCTION`), in the same statement: an upsert that changes a record's vector
/// moves it from its old group to its new one.
const UPSERT_TAIL: &str = "ON CONFLICT (id) DO UPDATE SET extractor_version = EXCLUDED.extractor_version, \
                           embedding = EXCLUDED.embedding, written_at_ms = EXCLUDED.written_at_ms, \
                           vector_hash = EXCLUDED.vector_hash";

/// A write time as the `bigint` column holds it (validated times are far below `i64::MAX`).
fn stored_time(written_at_ms: u64) -> i64 {
    i64::try_from(written_at_ms).unwrap_or(i64::MAX)
}

/// Inserts or replaces one record.
pub(crate) async fn upsert(
    pool: &PgPool,
    names: &Names,
    kind: &str,
    id: &str,
    vector: &[f32],
    extractor_version: u32,
) -> Result<Written> {
    let sql = format!(
        "{}INSERT INTO {} (id, extractor_version, embedding, written_at_ms, vector_hash) \
         SELECT $1[1], $2, $3, $4, $5 FROM locked {UPSERT_TAIL}",
        lock_groups(names, kind, "ARRAY[$5::int8]"),
        names.kind_table(kind)
    );
    let (embedding, now, hash) =
        (Vector::from(vector.to_vec()), stored_time(vectorstore_core::now_ms()), vectorstore_core::vector_hash(vector));
    let ids = [id];
    let result = execute(pool, || {
        sqlx::query(audited(sql.clone()))
            .bind(&ids[..])
            .bind(i64::from(extractor_version))
            .bind(embedding.clone())
            .bind(now)
            .bind(hash)
    })
    .await
    .map(|_| ());
    written(result, &format!("insert into kind {kind:?}"))
}

/// Inserts or replaces a batch in one statement (one round trip, one transaction). A repeated
/// id keeps its last item: `ON CONFLICT` cannot touch the same row twice in one statement.
pub(crate) async fn upsert_many(pool: &PgPool, names: &Names, kind: &str, items: &[NewVector]) -> Result<Written> {
    let mut last = std::collections::HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        last.insert(item.id.as_str(), index);
    }
    let mut ids = Vec::with_capacity(last.len());
    let mut versions = Vec::with_capacity(last.len());
    let mut vectors = Vec::with_capacity(last.len());
    let mut times = Vec::with_capacity(last.len());
    let mut hashes = Vec::with_capacity(last.len());
    let now = vectorstore_core::now_ms();
    for (index, item) in items.iter().enumerate() {
        if last.get(item.id.as_str()) == Some(&index) {
            ids.push(item.id.as_str());
            versions.push(i64::from(item.extractor_version));
            vectors.push(Vector::from(item.vector.clone()));
            times.push(stored_time(item.written_at_or(now)));
            hashes.push(vectorstore_core::vector_hash(&item.vector));
        }
    }
    let sql = format!(
        "{}INSERT INTO {} (id, extractor_version, embedding, written_at_ms, vector_hash) \
         SELECT u.* FROM locked, UNNEST($1::text[], $2::int8[], $3::vector[], $4::int8[], $5::int8[]) AS u {UPSERT_TAIL}",
        lock_groups(names, kind, "$5::int8[]"),
        names.kind_table(kind)
    );
    let result = execute(pool, || {
        sqlx::query(audited(sql.clone())).bind(&ids).bind(&versions).bind(&vectors).bind(&times).bind(&hashes)
    })
    .await
    .map(|_| ());
    written(result, &format!("insert a batch into kind {kind:?}"))
}

/// A record's row: `(id, extractor_version, embedding, written_at_ms)`.
type RecordRow = (String, i64, Vector, i64);

/// The columns of a [`RecordRow`].
const RECORD_COLUMNS: &str = "id, extractor_version, embedding, written_at_ms";

/// Runs `query` (rows of `(id, extractor_version, embedding, written_at_ms)`) on one connection, once more
/// after a stale cached statement (see `get`), as records of `kind`; a missing table has none.
async fn fetch_records<'q>(
    pool: &PgPool,
    kind: &str,
    failed: impl Fn(sqlx::Error) -> Error,
    query: impl Fn() -> sqlx::query::QueryAs<'q, Postgres, RecordRow, sqlx::postgres::PgArguments>,
) -> Result<Vec<VectorRecord>> {
    let mut connection = pool.acquire().await.map_err(&failed)?;
    let mut result = query().fetch_all(&mut *connection).await;
    if result.as_ref().is_err_and(is_stale_statement) {
        connection.clear_cached_statements().await.map_err(&failed)?;
        result = query().fetch_all(&mut *connection).await;
    }
    match result {
        Ok(rows) => rows.into_iter().map(|row| record(kind, row)).collect(),
        Err(err) if is_undefined_table(&err) => Ok(Vec::new()),
        Err(err) => Err(failed(err)),
    }
}

fn record(kind: &str, (id, version, embedding, written): RecordRow) -> Result<VectorRecord> {
    let extractor_version = u32::try_from(version)
        .map_err(|_| corrupt(format!("record {id:?} of kind {kind:?} has extractor_version {version}")))?;
    let written_at_ms = u64::try_from(written)
        .map_err(|_| corrupt(format!("record {id:?} of kind {kind:?} has written_at_ms {written}")))?;
    let vector = embedding.to_vec();
    Ok(VectorRecord { kind: kind.to_owned(), id, dim: vector.len(), vector, extractor_version, written_at_ms })
}

/// True when PostgreSQL refused a cached statement because its result type changed: a kind
/// dropped and created again with another dimension changes the column's `vector(dim)` type.
fn is_stale_statement(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|db| {
        db.code().as_deref() == Some("0A000") && db.message().contains("cached plan must not change result type")
    })
}

/// The record `(kind, id)`, or `None` (also when the kind has no table).
pub(crate) async fn get(pool: &PgPool, names: &Names, kind: &str, id: &str) -> Result<Option<VectorRecord>> {
    let failed = |err| from_sqlx(err, &format!("get from kind {kind:?}"));
    let sql = format!("SELECT {RECORD_COLUMNS} FROM {} WHERE id = $1", names.kind_table(kind));
    let query = || sqlx::query_as::<_, RecordRow>(audited(sql.clone())).bind(id);
    let mut connection = pool.acquire().await.map_err(failed)?;
    let mut result = query().fetch_optional(&mut *connection).await;
    if result.as_ref().is_err_and(is_stale_statement) {
        connection.clear_cached_statements().await.map_err(failed)?;
        result = query().fetch_optional(&mut *connection).await;
    }
    match result {
        Ok(row) => row.map(|row| record(kind, row)).transpose(),
        Err(err) if is_undefined_table(&err) => Ok(None),
        Err(err) => Err(failed(err)),
    }
}

/// Deletes `(kind, id)`; true if a row went.
pub(crate) async fn delete(pool: &PgPool, names: &Names, kind: &str, id: &str) -> Result<bool> {
    let sql = locked_delete(names, kind, "id = $1");
    match execute(pool, || sqlx::query(audited(sql.clone())).bind(id)).await {
        Ok(done) => Ok(done > 0),
        Err(err) if is_undefined_table(&err) => Ok(false),
        Err(err) => Err(from_sqlx(err, &format!("delete from kind {kind:?}"))),
    }
}

/// The stored records among `ids` (in no particular order), in one statement; none when the
/// kind has no table.
pub(crate) async fn get_many(pool: &PgPool, names: &Names, kind: &str, ids: &[&str]) -> Result<Vec<VectorRecord>> {
    let failed = |err| from_sqlx(err, &format!("get_many from kind {kind:?}"));
    let sql = format!("SELECT {RECORD_COLUMNS} FROM {} WHERE id = ANY($1)", names.kind_table(kind));
    let query = || sqlx::query_as::<_, RecordRow>(audited(sql.clone())).bind(ids);
    fetch_records(pool, kind, failed, query).await
}

/// Deletes the stored records among `ids` in one statement; how many went (0 without a table).
pub(crate) async fn delete_many(pool: &PgPool, names: &Names, kind: &str, ids: &[&str]) -> Result<u64> {
    let sql = locked_delete(names, kind, "id = ANY($1)");
    match execute(pool, || sqlx::query(audited(sql.clone())).bind(ids)).await {
        Ok(done) => Ok(done),
        Err(err) if is_undefined_table(&err) => Ok(0),
        Err(err) => Err(from_sqlx(err, &format!("delete_many from kind {kind:?}"))),
    }
}

/// Deletes every record of one extractor version in one statement; how many went.
pub(crate) async fn delete_version(pool: &PgPool, names: &Names, kind: &str, version: u32) -> Result<u64> {
    let sql = locked_delete(names, kind, "extractor_version = $1");
    match execute(pool, || sqlx::query(audited(sql.clone())).bind(i64::from(version))).await {
        Ok(done) => Ok(done),
        Err(err) if is_undefined_table(&err) => Ok(0),
        Err(err) => Err(from_sqlx(err, &format!("delete version {version} from kind {kind:?}"))),
    }
}

/// Deletes every record written before `written_before_ms` in one statement (by the write-time
/// index); how many went (0 without a table).
pub(crate) async fn expire(pool: &PgPool, names: &Names, kind: &str, written_before_ms: u64) -> Result<u64> {
    let sql = locked_delete(names, kind, "written_at_ms < $1");
    match execute(pool, || sqlx::query(audited(sql.clone())).bind(stored_time(written_before_ms))).await {
        Ok(done) => Ok(done),
        Err(err) if is_undefined_table(&err) => Ok(0),
        Err(err) => Err(from_sqlx(err, &format!("expire records of kind {kind:?}"))),
    }
}

/// Up to `limit` records with ids after `after_id`, in byte order (the id column collates "C").
pub(crate) async fn scan(
    pool: &PgPool,
    names: &Names,
    kind: &str,
    after_id: Option<&str>,
    limit: usize,
) -> Result<Vec<VectorRecord>> {
    let failed = |err| from_sqlx(err, &format!("scan kind {kind:?}"));
    let table = names.kind_table(kind);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = match after_id {
        Some(_) => format!("SELECT {RECORD_COLUMNS} FROM {table} WHERE id > $2 ORDER BY id LIMIT $1"),
        None => format!("SELECT {RECORD_COLUMNS} FROM {table} ORDER BY id LIMIT $1"),
    };
    let query = || {
        let query = sqlx::query_as::<_, RecordRow>(audited(sql.clone())).bind(limit);
        match after_id {
            Some(after) => query.bind(after),
            None => query,
        }
    };
    fetch_records(pool, kind, failed, query).await
}

/// How many records `kind` holds (0 when its table is gone).
pub(crate) async fn count(pool: &PgPool, names: &Names, kind: &str) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM {}", names.kind_table(kind));
    match sqlx::query_scalar::<_, i64>(audited(sql)).fetch_one(pool).await {
        Ok(count) => Ok(u64::try_from(count).unwrap_or(0)),
        Err(err) if is_undefined_table(&err) => Ok(0),
        Err(err) => Err(from_sqlx(err, &format!("count kind {kind:?}"))),
    }
}
