//! `knn_distinct`, the `k` nearest distinct vectors of a kind with their counts and first ids.
//!
//! - **Through the index** (the knn index path's conditions, and no extractor_version filter):
//!   one statement walks the `L` nearest rows of the kind's distinct table through its HNSW
//!   index, each with its count (`members`, kept exact by the table's triggers) and its first
//!   ids in id order through the `(vector_hash, id)` B-tree. Complete when the k-th group lies
//!   strictly nearer than the farthest walked (or the index had no more); otherwise `L` grows
//!   4× up to 1,000, as knn's walk does. The reply is at most `L` rows of at most
//!   `ids_per_vector` ids, whatever the groups' sizes.
//! - **Exact** (otherwise, and when the walk cannot tell): one statement grouping the records
//!   that pass the filters on the server by their vector's bytes (`vector_send`, so that only
//!   bit-identical vectors group: the vector type's own equality takes `-0.0` for `0.0`), the
//!   `k` nearest groups by (distance, smallest id), each with its count and its first ids. The
//!   server reads the whole kind and aggregates every group's ids before the `LIMIT`
//!   (`array_agg`, which spills to disk beyond `work_mem`, as hash aggregation does); this
//!   process holds only the answer. A count by version needs every member read, which the
//!   distinct table cannot give: a version filter always takes this path.

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};
use vectorstore_core::{DistinctNeighbor, KindInfo, KnnOptions, Result, distance};

use crate::error::{from_sqlx, is_undefined_table};
use crate::layout::{Names, audited, operator};
use crate::search::{
    MAX_WALK, SearchSettings, bind_exact, configure_index_scan, exact_filter, first_walk, needs_transaction, uses_index,
};

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

/// The walk through the index: rows `(walked, far, d, members, ids)` for the `limit` nearest
/// distinct vectors, with how many the index gave and the farthest one's distance.
fn walk_sql(names: &Names, info: &KindInfo, limit: usize, ids_per_vector: usize) -> String {
    let op = operator(info.metric);
    // At least the first id, which orders groups at equal distances.
    let ids = ids_per_vector.max(1);
    format!(
        "SELECT near.walked, near.far, near.d, near.members, \
           ARRAY(SELECT r.id FROM {table} AS r WHERE r.vector_hash = near.vector_hash ORDER BY r.id LIMIT {ids}) AS ids \
         FROM (SELECT vector_hash, members, d, count(*) OVER () AS walked, max(d) OVER () AS far FROM \
           (SELECT vector_hash, members, (embedding {op} $1)::float8 AS d FROM {distinct} \
            ORDER BY embedding {op} $1 LIMIT {limit}) AS nearest) AS near",
        table = names.kind_table(&info.kind),
        distinct = names.distinct_table(&info.kind),
    )
}

/// The `k` nearest distinct vectors through the index, or `None` when the walk cannot tell them
/// for certain (see the module docs).
async fn through_index(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
    ids_per_vector: usize,
    settings: &SearchSettings,
) -> sqlx::Result<Option<Vec<DistinctNeighbor>>> {
    let k = options.k;
    let mut limit = first_walk(k);
    loop {
        let sql = walk_sql(names, info, limit, ids_per_vector);
        let statement = sqlx::query(audited(sql)).bind(pgvector::Vector::from(query.to_vec()));
        let rows = if needs_transaction(options, limit, settings) {
            let mut tx = connection.begin().await?;
            configure_index_scan(&mut tx, options, limit, settings).await?;
            let rows = statement.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        } else {
            statement.fetch_all(&mut *connection).await?
        };
        let mut walked = 0usize;
        let mut far = f32::NEG_INFINITY;
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            walked = usize::try_from(row.try_get::<i64, _>("walked")?).unwrap_or(0);
            far = row.try_get::<f64, _>("far")? as f32;
            let distance = row.try_get::<f64, _>("d")? as f32 + 0.0;
            let members: i64 = row.try_get("members")?;
            let ids: Vec<String> = row.try_get("ids")?;
            if options.max_distance.is_some_and(|max| distance > max) || ids.is_empty() {
                continue;
            }
            groups.push(DistinctNeighbor {
                kind: info.kind.clone(),
                distance,
                count: u64::try_from(members).unwrap_or(0),
                ids,
            });
        }
        groups.sort_by(|a, b| distance::cmp_hits(a.distance, &a.ids[0], b.distance, &b.ids[0]));
        let exhausted = walked < limit;
        let can_walk_further = !exhausted && limit < MAX_WALK;
        if groups.len() >= k {
            groups.truncate(k);
            // No distinct vector left unwalked can tie with a k-th group strictly nearer.
            if exhausted || far > groups[k - 1].distance {
                for group in &mut groups {
                    group.ids.truncate(ids_per_vector);
                }
                return Ok(Some(groups));
            }
            if !can_walk_further {
                return Ok(None);
            }
        } else if !can_walk_further || options.max_distance.is_some_and(|max| far > max) {
            // Fewer than k: only the exact path proves that no more match.
            return Ok(None);
        }
        limit = limit.saturating_mul(4).min(MAX_WALK);
    }
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
    settings: &SearchSettings,
) -> Result<Vec<DistinctNeighbor>> {
    if options.extractor_version.is_none() && uses_index(info, options, settings) {
        match through_index(connection, names, info, query, options, ids_per_vector, settings).await {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(err) if is_undefined_table(&err) => return Ok(Vec::new()),
            Err(err) => return Err(from_sqlx(err, &format!("knn_distinct in kind {:?}", info.kind))),
        }
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
