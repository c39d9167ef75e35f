//! `knn_distinct` in one statement: the kind's records that pass the filters, grouped on the
//! server by their vector's bytes (`vector_send`, so that only bit-identical vectors group:
//! the vector type's own equality takes `-0.0` for `0.0`), the `k` nearest groups by (distance,
//! smallest id), each with its count and its first ids. Only those `k` rows travel.
//!
//! The server reads the whole kind (an exact scan: the HNSW index has one entry per record and
//! cannot group) and aggregates every group's ids before the `LIMIT` (`array_agg`, which spills
//! to disk beyond `work_mem`, as hash aggregation does); this process holds only the answer.

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
