//! `knn_distinct`, the `k` nearest distinct vectors of a kind with their counts and first ids,
//! exact (the contract's promise for this search on every store: an HNSW walk could miss one).
//!
//! - **Over the distinct table** (no extractor_version filter): one statement finds the k-th
//!   smallest distance (`float4`, the precision the contract reports) among the kind's distinct
//!   vectors (a top-k sort of one scan), then reads every distinct vector at or within it (a
//!   second scan: k rows plus any tied at the k-th distance), each with its count (`members`,
//!   kept exact by the table's triggers) and its first ids in id order through the
//!   `(vector_hash, id)` B-tree, and keeps the k nearest by (distance, smallest id). The kind's
//!   records are never read in bulk: the scans cover one row per distinct vector, and the reply
//!   is at most k rows of at most `ids_per_vector` ids, whatever the groups' sizes.
//! - **Grouping the records** (with a version filter: a count per version needs every member
//!   read, which the distinct table cannot give): one statement grouping the records that pass
//!   the filters on the server by their vector's bytes (`vector_send`, so that only
//!   bit-identical vectors group: the vector type's own equality takes `-0.0` for `0.0`), the
//!   `k` nearest groups by (distance, smallest id), each with its count and its first ids. The
//!   server reads the whole kind and aggregates every group's ids before the `LIMIT`
//!   (`array_agg`, which spills to disk beyond `work_mem`, as hash aggregation does); this
//!   process holds only the answer.

use sqlx::Row;
use sqlx::postgres::PgConnection;
use vectorstore_core::{DistinctNeighbor, KindInfo, KnnOptions, Result};

use crate::error::{from_sqlx, is_undefined_table};
use crate::layout::{Names, audited, operator};
use crate::search::{bind_exact, exact_filter};

/// The statement: `$1` the query, then the version and max-distance filters that are set.
fn distinct_sql(names: &Names, info: &KindInfo, options: &KnnOptions, ids_per_vector: usize) -> String {
    let op = operator(info.metric);
    // The exact knn's filters, so both compare max_distance alike (in float4).
    let filter = exact_filter(info, options, "$1");
    let ids = if ids_per_vector == 0 {
        "ARRAY[]::text[]".to_owned()
    } else {
        format!("(array_agg(id ORDER BY id))[1:{ids_per_vector}]")
    };
    format!(
        "SELECT min(id) AS first, count(*) AS n, min((embedding {op} $1)::float8) AS d, {ids} AS ids \
         FROM {} {filter} GROUP BY vector_send(embedding) \
         ORDER BY min((embedding {op} $1)::float4), min(id) LIMIT {}",
        names.kind_table(&info.kind),
        options.k
    )
}

/// The search over the distinct table (see the module docs): `$1` the query, then the
/// max-distance filter when set; rows `(d, members, ids)`, at most k, in (distance, first id)
/// order.
fn over_distinct_sql(names: &Names, info: &KindInfo, options: &KnnOptions, ids_per_vector: usize) -> String {
    let op = operator(info.metric);
    let k = options.k;
    // At least the first id, which orders groups at equal distances.
    let ids = ids_per_vector.max(1);
    // Compared as float4, the precision the contract reports, as the exact knn compares.
    let radius = if options.max_distance.is_some() { "WHERE (embedding {op} $1)::float4 <= $2" } else { "" };
    let radius = radius.replace("{op}", op);
    let and_radius =
        if options.max_distance.is_some() { format!("AND (g.embedding {op} $1)::float4 <= $2") } else { String::new() };
    format!(
        "SELECT d, members, ids FROM (SELECT near.d, near.members, \
           ARRAY(SELECT r.id FROM {table} AS r WHERE r.vector_hash = near.vector_hash ORDER BY r.id LIMIT {ids}) AS ids \
         FROM (SELECT g.vector_hash, g.members, (g.embedding {op} $1)::float8 AS d FROM {distinct} AS g \
               WHERE (g.embedding {op} $1)::float4 <= \
                 (SELECT max(c) FROM (SELECT (embedding {op} $1)::float4 AS c FROM {distinct} {radius} ORDER BY 1 LIMIT {k}) AS kth) \
               {and_radius}) AS near) AS found \
         ORDER BY d::float4, ids[1] LIMIT {k}",
        table = names.kind_table(&info.kind),
        distinct = names.distinct_table(&info.kind),
    )
}

/// The `k` nearest distinct vectors over the distinct table (no version filter).
async fn over_distinct(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
    ids_per_vector: usize,
) -> sqlx::Result<Vec<DistinctNeighbor>> {
    let sql = over_distinct_sql(names, info, options, ids_per_vector);
    let mut statement = sqlx::query(audited(sql)).bind(pgvector::Vector::from(query.to_vec()));
    if let Some(max) = options.max_distance {
        statement = statement.bind(max);
    }
    let rows = statement.fetch_all(&mut *connection).await?;
    rows.iter()
        .map(|row| {
            let members: i64 = row.try_get("members")?;
            let mut ids: Vec<String> = row.try_get("ids")?;
            ids.truncate(ids_per_vector);
            Ok(DistinctNeighbor {
                kind: info.kind.clone(),
                distance: row.try_get::<f64, _>("d")? as f32 + 0.0,
                count: u64::try_from(members).unwrap_or(0),
                ids,
            })
        })
        .collect()
}

/// The `k` nearest distinct vectors of `info`'s kind (`options.k > 0`, the query checked
/// against the kind). A kind whose table vanished meanwhile gives none.
pub(crate) async fn nearest_distinct(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
    ids_per_vector: usize,
) -> Result<Vec<DistinctNeighbor>> {
    if options.extractor_version.is_none() {
        return match over_distinct(connection, names, info, query, options, ids_per_vector).await {
            Ok(found) => Ok(found),
            Err(err) if is_undefined_table(&err) => Ok(Vec::new()),
            Err(err) => Err(from_sqlx(err, &format!("knn_distinct in kind {:?}", info.kind))),
        };
    }
    let sql = distinct_sql(names, info, options, ids_per_vector);
    let statement = bind_exact(sqlx::query(audited(sql)), query, options);
    let rows = match statement.fetch_all(connection).await {
        Ok(rows) => rows,
        Err(err) if is_undefined_table(&err) => return Ok(Vec::new()),
        Err(err) => return Err(from_sqlx(err, &format!("knn_distinct in kind {:?}", info.kind))),
    };
    rows.iter()
        .map(|row| {
            let count: i64 = row.try_get("n")?;
            let distance: f64 = row.try_get("d")?;
            Ok(DistinctNeighbor {
                kind: info.kind.clone(),
                distance: distance as f32 + 0.0,
                count: u64::try_from(count).unwrap_or(0),
                ids: row.try_get("ids")?,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(|err| from_sqlx(err, &format!("knn_distinct in kind {:?}", info.kind)))
}
