//! Reading and writing records: by id, by extractor version, by age, page by page, and whole
//! kinds into memory or into another file. Every statement runs inside the caller's
//! transaction.

use std::collections::HashSet;

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;
use vectorstore_core::{CodesOnlyIndex, Error, ErrorKind, ExactIndex, GridRange, KindInfo, Result, VectorRecord};

use crate::error::operation_error;
use crate::layout::{
    Tables, WRITTEN_TABLE, create_kind, decode_vector, encode_vector, has_table, kind_literal, kind_rows, sql,
    version_from, written_expression, written_from,
};

/// Rows per multi-row INSERT; a remainder is written with the smaller sizes.
const INSERT_ROWS: [usize; 3] = [64, 8, 1];

/// Ids per existence query (padded by repeating the last id, so one statement serves all).
const LOOKUP_IDS: usize = 64;

/// One row to write.
pub(crate) struct NewRow<'a> {
    pub(crate) id: &'a str,
    pub(crate) blob: Vec<u8>,
    pub(crate) extractor_version: u32,
    /// When it is written (milliseconds since the Unix epoch).
    pub(crate) written_at_ms: u64,
}

/// Which of `ids` are stored in `kind`.
pub(crate) async fn existing_ids(conn: &mut SqliteConnection, kind: &str, ids: &[&str]) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    if ids.is_empty() {
        return Ok(found);
    }
    let placeholders = vec!["?"; LOOKUP_IDS].join(", ");
    let query = format!("SELECT id FROM \"{}\" WHERE id IN ({placeholders})", Tables::of(kind)?.rowids);
    for chunk in ids.chunks(LOOKUP_IDS) {
        let mut statement = sqlx::query_scalar::<_, String>(sql(query.clone()));
        for index in 0..LOOKUP_IDS {
            statement = statement.bind(chunk[index.min(chunk.len() - 1)]);
        }
        let rows = statement.fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "insert"))?;
        found.extend(rows);
    }
    Ok(found)
}

/// Rewrites a stored row in place (vector, version and write time); false when `id` is absent.
/// vec0 has no upsert; updating in place also keeps its chunks dense, unlike delete + insert.
pub(crate) async fn update(conn: &mut SqliteConnection, kind: &str, row: &NewRow<'_>) -> Result<bool> {
    if !rewrite(conn, kind, row).await? {
        return Ok(false);
    }
    record_times(conn, kind, std::slice::from_ref(row)).await?;
    Ok(true)
}

/// [`update`] for rows known to be stored, their write times recorded in one statement.
pub(crate) async fn update_stored(conn: &mut SqliteConnection, kind: &str, rows: &[NewRow<'_>]) -> Result<()> {
    for row in rows {
        rewrite(conn, kind, row).await?;
    }
    record_times(conn, kind, rows).await
}

/// The vec0 part of [`update`]: the vector and the version; false when `id` is absent.
async fn rewrite(conn: &mut SqliteConnection, kind: &str, row: &NewRow<'_>) -> Result<bool> {
    let query =
        format!("UPDATE \"{}\" SET embedding = ?2, extractor_version = ?3 WHERE id = ?1", Tables::of(kind)?.vec);
    let done = sqlx::query(sql(query))
        .bind(row.id)
        .bind(row.blob.as_slice())
        .bind(i64::from(row.extractor_version))
        .execute(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "insert"))?;
    Ok(done.rows_affected() > 0)
}

/// Records the write time of every row (inserted or replaced) in one statement.
async fn record_times(conn: &mut SqliteConnection, kind: &str, rows: &[NewRow<'_>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let times: Vec<(&str, u64)> = rows.iter().map(|row| (row.id, row.written_at_ms)).collect();
    let times = serde_json::to_string(&times)
        .map_err(|err| Error::new(ErrorKind::Backend, format!("cannot encode write times: {err}")))?;
    let query = format!(
        "INSERT INTO {WRITTEN_TABLE} (kind, id, written_at_ms) SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?2) \
         WHERE true ON CONFLICT (kind, id) DO UPDATE SET written_at_ms = excluded.written_at_ms"
    );
    sqlx::query(sql(query))
        .bind(kind)
        .bind(times)
        .execute(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "insert"))?;
    Ok(())
}

/// Inserts rows whose ids are not stored yet, several per statement.
pub(crate) async fn insert_new(conn: &mut SqliteConnection, kind: &str, rows: &[NewRow<'_>]) -> Result<()> {
    let table = Tables::of(kind)?.vec;
    let mut rest = rows;
    for size in INSERT_ROWS {
        if rest.len() < size {
            continue;
        }
        let values = vec!["(?, ?, ?)"; size].join(", ");
        let query = format!("INSERT INTO \"{table}\" (id, embedding, extractor_version) VALUES {values}");
        let whole = rest.len() / size * size;
        for chunk in rest[..whole].chunks(size) {
            let mut statement = sqlx::query(sql(query.clone()));
            for row in chunk {
                statement = statement.bind(row.id).bind(row.blob.as_slice()).bind(i64::from(row.extractor_version));
            }
            statement.execute(&mut *conn).await.map_err(|e| operation_error(e, "insert"))?;
        }
        rest = &rest[whole..];
    }
    record_times(conn, kind, rows).await
}

/// The one parameter (`?1`) of the SQL given to [`forget_times`].
enum Param {
    Text(String),
    Int(i64),
}

/// Forgets the write times of `kind`'s ids chosen by `which` (SQL selecting ids, reading its
/// one parameter as `?1`), before or after the records themselves are deleted.
async fn forget_times(
    conn: &mut SqliteConnection,
    kind: &str,
    which: &str,
    param: Param,
    operation: &'static str,
) -> Result<()> {
    let query = format!("DELETE FROM {WRITTEN_TABLE} WHERE kind = {} AND id IN ({which})", kind_literal(kind)?);
    let statement = sqlx::query(sql(query));
    let statement = match param {
        Param::Text(text) => statement.bind(text),
        Param::Int(number) => statement.bind(number),
    };
    statement.execute(&mut *conn).await.map_err(|e| operation_error(e, operation))?;
    Ok(())
}

/// Deletes `id`; true when it was stored.
pub(crate) async fn delete(conn: &mut SqliteConnection, kind: &str, id: &str) -> Result<bool> {
    let query = format!("DELETE FROM \"{}\" WHERE id = ?1", Tables::of(kind)?.vec);
    let done = sqlx::query(sql(query)).bind(id).execute(&mut *conn).await.map_err(|e| operation_error(e, "delete"))?;
    forget_times(conn, kind, "?1", Param::Text(id.to_owned()), "delete").await?;
    Ok(done.rows_affected() > 0)
}

/// Rows of `(id, embedding, extractor_version, written_at_ms)` as records of `info`'s kind.
fn records(rows: Vec<sqlx::sqlite::SqliteRow>, info: &KindInfo, operation: &'static str) -> Result<Vec<VectorRecord>> {
    rows.into_iter()
        .map(|row| {
            let id: String = row.try_get(0).map_err(|e| operation_error(e, operation))?;
            let blob: Vec<u8> = row.try_get(1).map_err(|e| operation_error(e, operation))?;
            let version: i64 = row.try_get(2).map_err(|e| operation_error(e, operation))?;
            let written: i64 = row.try_get(3).map_err(|e| operation_error(e, operation))?;
            Ok(VectorRecord {
                kind: info.kind.clone(),
                id,
                vector: decode_vector(&blob, info.dim, &info.kind)?,
                dim: info.dim,
                extractor_version: version_from(version, &info.kind)?,
                written_at_ms: written_from(written, &info.kind)?,
            })
        })
        .collect()
}

/// The ids of one call as the JSON array `json_each` reads, so that a list of any length is one
/// bound value and one cached statement.
fn id_list(ids: &[&str]) -> Result<String> {
    serde_json::to_string(ids).map_err(|err| Error::new(ErrorKind::Backend, format!("cannot encode ids: {err}")))
}

/// The stored records among `ids` of `info`'s kind, in no particular order, in one statement.
/// vec0 answers `id IN (...)` by scanning the whole table (108 ms for 10 ids among 200,000),
/// but `id = ?` by a point lookup: the distinct ids are joined to the table one by one (SQLite
/// never reorders a CROSS JOIN, so the ids' side stays outside).
pub(crate) async fn get_many(conn: &mut SqliteConnection, info: &KindInfo, ids: &[&str]) -> Result<Vec<VectorRecord>> {
    let query = format!(
        "SELECT v.id, v.embedding, v.extractor_version, {} FROM (SELECT DISTINCT value AS id FROM json_each(?1)) AS j \
         CROSS JOIN \"{}\" AS v ON v.id = j.id",
        written_expression(&info.kind, "v")?,
        Tables::of(&info.kind)?.vec
    );
    let rows = sqlx::query(sql(query))
        .bind(id_list(ids)?)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "get_many"))?;
    records(rows, info, "get_many")
}

/// Deletes the stored records among `ids` (in the caller's transaction); how many went. One
/// point delete per distinct id: vec0 would answer `id IN (...)` by scanning the whole table
/// (105 ms for 5 ids among 200,000, against 0.5 ms each).
pub(crate) async fn delete_many(conn: &mut SqliteConnection, kind: &str, ids: &[&str]) -> Result<u64> {
    let query = format!("DELETE FROM \"{}\" WHERE id = ?1", Tables::of(kind)?.vec);
    let mut distinct: Vec<&str> = ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut deleted = 0;
    for id in distinct {
        let done = sqlx::query(sql(query.clone()))
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(|e| operation_error(e, "delete_many"))?;
        deleted += done.rows_affected();
    }
    forget_times(conn, kind, "SELECT value FROM json_each(?1)", Param::Text(id_list(ids)?), "delete_many").await?;
    Ok(deleted)
}

/// Deletes every record of one extractor version in one statement; how many went.
pub(crate) async fn delete_version(conn: &mut SqliteConnection, kind: &str, version: u32) -> Result<u64> {
    let which = format!("SELECT id FROM \"{}\" WHERE extractor_version = ?1", Tables::of(kind)?.vec);
    forget_times(conn, kind, &which, Param::Int(i64::from(version)), "delete_version").await?;
    let query = format!("DELETE FROM \"{}\" WHERE extractor_version = ?1", Tables::of(kind)?.vec);
    let done = sqlx::query(sql(query))
        .bind(i64::from(version))
        .execute(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "delete_version"))?;
    Ok(done.rows_affected())
}

/// Expired records up to this share of the kind (one in [`EXPIRE_POINT_SHARE`]) are deleted
/// one by one; more go in one statement. vec0 answers `id IN (...)` with a scan of the whole
/// table, so an `expire` of a few records cost a full scan each time (0.6 s at 1,000,000 × 16,
/// 2–3 s at 1,000,000 × 128); a point delete costs about 0.12 ms, six times a record's share
/// of the statement's deletes, so past about one record in 180 (at 16 dimensions; one in 40
/// at 128) the statement is cheaper. Measured: 100 of 1,000,000 took 0.65 s by the statement
/// and 0.09 s one by one; 62,500 took 1.8 s by the statement and 7.6 s one by one.
const EXPIRE_POINT_SHARE: u64 = 256;

/// Ids a point-delete `expire` reads at a time, oldest first.
const EXPIRE_PAGE: i64 = 1024;

/// Deletes every record of `kind` last written before `written_before_ms`, with its write
/// time; how many went. Few records (see [`EXPIRE_POINT_SHARE`]) go by point deletes, a page
/// of ids at a time from the `(kind, written_at_ms)` index; many by one statement.
pub(crate) async fn expire(conn: &mut SqliteConnection, kind: &str, written_before_ms: u64) -> Result<u64> {
    expire_with(conn, kind, written_before_ms, EXPIRE_POINT_SHARE, EXPIRE_PAGE).await
}

/// [`expire`] with its share and page given (tests take each way on small kinds).
pub(crate) async fn expire_with(
    conn: &mut SqliteConnection,
    kind: &str,
    written_before_ms: u64,
    point_share: u64,
    page_size: i64,
) -> Result<u64> {
    let cutoff = i64::try_from(written_before_ms).unwrap_or(i64::MAX);
    let literal = kind_literal(kind)?;
    let vec = Tables::of(kind)?.vec;
    let fail = |e| operation_error(e, "expire");
    let counted = format!("SELECT count(*) FROM {WRITTEN_TABLE} WHERE kind = {literal} AND written_at_ms < ?1");
    let expired: i64 = sqlx::query_scalar(sql(counted)).bind(cutoff).fetch_one(&mut *conn).await.map_err(fail)?;
    if expired == 0 {
        return Ok(0);
    }
    let rows = crate::layout::count(conn, kind).await?;
    let mut deleted = 0;
    if (expired as u64).saturating_mul(point_share) <= rows {
        let page = format!(
            "SELECT id FROM {WRITTEN_TABLE} WHERE kind = {literal} AND written_at_ms < ?1 \
             ORDER BY written_at_ms, id LIMIT {page_size}"
        );
        let point = format!("DELETE FROM \"{vec}\" WHERE id = ?1");
        let forget = format!("DELETE FROM {WRITTEN_TABLE} WHERE kind = {literal} AND id = ?1");
        loop {
            let ids: Vec<String> =
                sqlx::query_scalar(sql(page.clone())).bind(cutoff).fetch_all(&mut *conn).await.map_err(fail)?;
            if ids.is_empty() {
                break;
            }
            for id in &ids {
                let done = sqlx::query(sql(point.clone())).bind(id).execute(&mut *conn).await.map_err(fail)?;
                deleted += done.rows_affected();
                sqlx::query(sql(forget.clone())).bind(id).execute(&mut *conn).await.map_err(fail)?;
            }
        }
        return Ok(deleted);
    }
    let old = format!("SELECT id FROM {WRITTEN_TABLE} WHERE kind = {literal} AND written_at_ms < ?1");
    let query = format!("DELETE FROM \"{vec}\" WHERE id IN ({old})");
    deleted = sqlx::query(sql(query)).bind(cutoff).execute(&mut *conn).await.map_err(fail)?.rows_affected();
    let times = format!("DELETE FROM {WRITTEN_TABLE} WHERE kind = ?1 AND written_at_ms < ?2");
    sqlx::query(sql(times)).bind(kind).bind(cutoff).execute(&mut *conn).await.map_err(fail)?;
    Ok(deleted)
}

/// The stored record `id` of `info`'s kind.
pub(crate) async fn get(conn: &mut SqliteConnection, info: &KindInfo, id: &str) -> Result<Option<VectorRecord>> {
    let query = format!(
        "SELECT v.embedding, v.extractor_version, {} FROM \"{}\" AS v WHERE v.id = ?1",
        written_expression(&info.kind, "v")?,
        Tables::of(&info.kind)?.vec
    );
    let row =
        sqlx::query(sql(query)).bind(id).fetch_optional(&mut *conn).await.map_err(|e| operation_error(e, "get"))?;
    let Some(row) = row else { return Ok(None) };
    let blob: Vec<u8> = row.try_get(0).map_err(|e| operation_error(e, "get"))?;
    let version: i64 = row.try_get(1).map_err(|e| operation_error(e, "get"))?;
    let written: i64 = row.try_get(2).map_err(|e| operation_error(e, "get"))?;
    Ok(Some(VectorRecord {
        kind: info.kind.clone(),
        id: id.to_owned(),
        vector: decode_vector(&blob, info.dim, &info.kind)?,
        dim: info.dim,
        extractor_version: version_from(version, &info.kind)?,
        written_at_ms: written_from(written, &info.kind)?,
    }))
}

/// Up to `limit` records after `after_id` in id (byte) order. The ids come from vec0's
/// `_rowids` shadow table in index order; each row is then read by id from the vec0 table.
/// (SQLite never reorders a CROSS JOIN: without it, a filter on the vec0 side can make it scan
/// the whole vec0 table and sort.)
pub(crate) async fn scan(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    after_id: Option<&str>,
    limit: usize,
) -> Result<Vec<VectorRecord>> {
    read_page(conn, info, after_id, limit, true).await
}

/// [`scan`], reading the write times when `timed` (a file of layout version 1 has none: 0).
async fn read_page(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    after_id: Option<&str>,
    limit: usize,
    timed: bool,
) -> Result<Vec<VectorRecord>> {
    let tables = Tables::of(&info.kind)?;
    let filter = if after_id.is_some() { "WHERE r.id > ?2" } else { "" };
    let written = if timed { written_expression(&info.kind, "v")? } else { "0".to_owned() };
    let query = format!(
        "SELECT v.id, v.embedding, v.extractor_version, {written} FROM \"{}\" AS r CROSS JOIN \"{}\" AS v ON v.id = \
         r.id {filter} ORDER BY r.id LIMIT ?1",
        tables.rowids, tables.vec
    );
    let mut statement = sqlx::query(sql(query)).bind(limit as i64);
    if let Some(after) = after_id {
        statement = statement.bind(after);
    }
    let rows = statement.fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "scan"))?;
    records(rows, info, "scan")
}

/// Every record of `info`'s kind, in the table's own order, into a new in-memory index.
pub(crate) async fn load(conn: &mut SqliteConnection, info: &KindInfo, rows: usize) -> Result<ExactIndex> {
    use futures::TryStreamExt;
    let mut index = ExactIndex::new(info.dim, info.metric);
    index.reserve(rows);
    let query = format!(
        "SELECT v.id, v.embedding, v.extractor_version, {} FROM \"{}\" AS v",
        written_expression(&info.kind, "v")?,
        Tables::of(&info.kind)?.vec
    );
    let mut stream = sqlx::query(sql(query)).fetch(&mut *conn);
    let mut vector = Vec::with_capacity(info.dim);
    while let Some(row) = stream.try_next().await.map_err(|e| operation_error(e, "load"))? {
        let id: &str = row.try_get(0).map_err(|e| operation_error(e, "load"))?;
        let blob: &[u8] = row.try_get(1).map_err(|e| operation_error(e, "load"))?;
        let version: i64 = row.try_get(2).map_err(|e| operation_error(e, "load"))?;
        let written: i64 = row.try_get(3).map_err(|e| operation_error(e, "load"))?;
        if blob.len() != info.dim * 4 {
            decode_vector(blob, info.dim, &info.kind)?;
        }
        vector.clear();
        vector.extend(blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        index.upsert(id, &vector, version_from(version, &info.kind)?, written_from(written, &info.kind)?);
    }
    Ok(index)
}

/// Every record of `info`'s kind as 8-bit codes with their metadata (no vectors), in two
/// passes over the table: the first finds the range of each component, for the grid, the
/// second encodes the rows on it. `None` when no grid can be made (an empty kind).
pub(crate) async fn load_codes(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    rows: usize,
) -> Result<Option<CodesOnlyIndex>> {
    use futures::TryStreamExt;
    let table = Tables::of(&info.kind)?.vec;
    let mut range = GridRange::new(info.dim);
    let mut vector = Vec::with_capacity(info.dim);
    {
        let query = format!("SELECT embedding FROM \"{table}\"");
        let mut stream = sqlx::query(sql(query)).fetch(&mut *conn);
        while let Some(row) = stream.try_next().await.map_err(|e| operation_error(e, "load"))? {
            let blob: &[u8] = row.try_get(0).map_err(|e| operation_error(e, "load"))?;
            decode_into(blob, info, &mut vector)?;
            range.widen(&vector);
        }
    }
    let Some(mut index) = CodesOnlyIndex::new(info.metric, &range) else { return Ok(None) };
    index.reserve(rows);
    let query = format!(
        "SELECT v.id, v.embedding, v.extractor_version, {} FROM \"{table}\" AS v",
        written_expression(&info.kind, "v")?
    );
    let mut stream = sqlx::query(sql(query)).fetch(&mut *conn);
    while let Some(row) = stream.try_next().await.map_err(|e| operation_error(e, "load"))? {
        let id: &str = row.try_get(0).map_err(|e| operation_error(e, "load"))?;
        let blob: &[u8] = row.try_get(1).map_err(|e| operation_error(e, "load"))?;
        let version: i64 = row.try_get(2).map_err(|e| operation_error(e, "load"))?;
        let written: i64 = row.try_get(3).map_err(|e| operation_error(e, "load"))?;
        decode_into(blob, info, &mut vector)?;
        index.upsert(id, &vector, version_from(version, &info.kind)?, written_from(written, &info.kind)?);
    }
    index.settle();
    Ok(Some(index))
}

/// `blob` (a stored vector of `info`'s dimension) decoded into `vector`.
fn decode_into(blob: &[u8], info: &KindInfo, vector: &mut Vec<f32>) -> Result<()> {
    if blob.len() != info.dim * 4 {
        decode_vector(blob, info.dim, &info.kind)?;
    }
    vector.clear();
    vector.extend(blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
    Ok(())
}

/// The stored vectors of `ids` (distinct ids of `info`'s kind) in their order, row-major, in
/// one statement; `None` when one of them is not stored. vec0 answers `id IN (...)` with a
/// scan of the whole table, but `id = ?` by a point lookup: the ids are joined to the table one
/// by one (SQLite never reorders a CROSS JOIN, so the ids' side stays outside).
pub(crate) async fn vectors(conn: &mut SqliteConnection, info: &KindInfo, ids: &[&str]) -> Result<Option<Vec<f32>>> {
    // One row for all: each found vector as its position in `ids` (8 digits) and its bytes in
    // hex, so the rows do not cross from SQLite's thread one at a time.
    let query = format!(
        "SELECT group_concat(printf('%08d', j.key) || hex(v.embedding), '') FROM json_each(?1) AS j \
         CROSS JOIN \"{}\" AS v ON v.id = j.value",
        Tables::of(&info.kind)?.vec
    );
    let joined: Option<String> = sqlx::query_scalar(sql(query))
        .bind(id_list(ids)?)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| operation_error(e, "knn"))?;
    let joined = joined.unwrap_or_default();
    let width = 8 + info.dim * 8;
    let bad = || Error::new(ErrorKind::Backend, format!("kind {:?}: a stored vector is malformed", info.kind));
    if !joined.len().is_multiple_of(width) {
        return Err(bad());
    }
    let mut out = vec![0.0f32; ids.len() * info.dim];
    let mut found = vec![false; ids.len()];
    for entry in joined.as_bytes().chunks_exact(width) {
        let at: usize = std::str::from_utf8(&entry[..8]).ok().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        if at >= ids.len() {
            return Err(bad());
        }
        found[at] = true;
        for (value, hex) in out[at * info.dim..(at + 1) * info.dim].iter_mut().zip(entry[8..].chunks_exact(8)) {
            let mut bytes = [0u8; 4];
            for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
                *byte = (hex_digit(pair[0]).ok_or_else(bad)? << 4) | hex_digit(pair[1]).ok_or_else(bad)?;
            }
            *value = f32::from_le_bytes(bytes);
        }
    }
    Ok(found.iter().all(|&found| found).then_some(out))
}

/// The value of an upper-case hex digit as SQLite's `hex()` writes it.
fn hex_digit(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Copies every kind of `src`, with its records bit for bit and their write times, into `dst`
/// (inside the caller's transaction on `dst`, whose layout has no kinds yet). A `src` of
/// layout version 1 has no write times: its records are given the time of the copy.
pub(crate) async fn copy_kinds(src: &mut SqliteConnection, dst: &mut SqliteConnection) -> Result<()> {
    const PAGE: usize = 1024;
    let timed = has_table(src, WRITTEN_TABLE).await.map_err(|e| operation_error(e, "copy"))?;
    let now = vectorstore_core::now_ms();
    for info in kind_rows(src).await? {
        create_kind(dst, &info.kind, info.dim, info.metric).await?;
        let mut after: Option<String> = None;
        loop {
            let records = read_page(src, &info, after.as_deref(), PAGE, timed).await?;
            let Some(last) = records.last() else { break };
            after = Some(last.id.clone());
            let rows: Vec<NewRow<'_>> = records
                .iter()
                .map(|r| NewRow {
                    id: &r.id,
                    blob: encode_vector(&r.vector),
                    extractor_version: r.extractor_version,
                    written_at_ms: if timed { r.written_at_ms } else { now },
                })
                .collect();
            insert_new(dst, &info.kind, &rows).await?;
        }
    }
    Ok(())
}
