//! Nearest-neighbour search in the file: vec0's kNN, exact scans with sqlite-vec's distance
//! functions, and the queries that settle ties at the k-th distance by id.

use sqlx::Row;
use sqlx::sqlite::SqliteConnection;
use vectorstore_core::{KindInfo, Metric, Result};

use crate::error::operation_error;
use crate::layout::{Tables, sql};

/// sqlite-vec refuses a kNN `k` above this.
pub(crate) const VEC0_MAX_K: usize = 4096;

/// One hit with its contract distance.
pub(crate) struct Hit {
    pub(crate) id: String,
    pub(crate) distance: f32,
}

/// The `fetch` (at most [`VEC0_MAX_K`]) nearest rows by vec0's kNN, with the extractor-version
/// filter applied inside the search. Among equal distances vec0 returns an arbitrary subset.
pub(crate) async fn knn(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    query: &[u8],
    fetch: usize,
    extractor_version: Option<u32>,
) -> Result<Vec<Hit>> {
    let filter = if extractor_version.is_some() { "AND extractor_version = ?3" } else { "" };
    let text = format!(
        "SELECT id, distance FROM \"{}\" WHERE embedding MATCH ?1 AND k = ?2 {filter} ORDER BY distance",
        Tables::of(&info.kind)?.vec
    );
    let mut statement = sqlx::query(sql(text)).bind(query).bind(fetch.min(VEC0_MAX_K) as i64);
    if let Some(version) = extractor_version {
        statement = statement.bind(i64::from(version));
    }
    let rows = statement.fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "knn"))?;
    hits(rows, info.metric)
}

/// sqlite-vec's distance between the stored `embedding` and the query `?1`, as the contract
/// reports it (cosine clamped, as [`contract_distance`] does), for the scans below.
fn distance_expression(metric: Metric, embedding: &str) -> String {
    match metric {
        Metric::Cosine => format!("max(min(vec_distance_cosine({embedding}, ?1), 2.0), 0.0)"),
        _ => format!("vec_distance_l2({embedding}, ?1)"),
    }
}

/// The exact `limit` nearest in the contract's order, by a scan with sqlite-vec's scalar
/// distance functions (which compute what the kNN computes): for `k` beyond vec0's limit.
pub(crate) async fn exact(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    query: &[u8],
    limit: usize,
    extractor_version: Option<u32>,
) -> Result<Vec<Hit>> {
    let filter = if extractor_version.is_some() { "WHERE extractor_version = ?3" } else { "" };
    let text = format!(
        "SELECT id, {} AS distance FROM \"{}\" {filter} ORDER BY distance, id LIMIT ?2",
        distance_expression(info.metric, "embedding"),
        Tables::of(&info.kind)?.vec
    );
    let mut statement = sqlx::query(sql(text)).bind(query).bind(limit as i64);
    if let Some(version) = extractor_version {
        statement = statement.bind(i64::from(version));
    }
    let rows = statement.fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "knn"))?;
    hits(rows, info.metric)
}

/// The ids of every row at exactly `distance` from the query, when there are fewer than
/// `probe` (at most [`VEC0_MAX_K`]) of them, `None` otherwise: one kNN restricted to that
/// distance.
pub(crate) async fn tied(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    query: &[u8],
    distance: f32,
    probe: usize,
    extractor_version: Option<u32>,
) -> Result<Option<Vec<String>>> {
    let probe = probe.min(VEC0_MAX_K);
    // vec0 compares its raw f32 distances. A clamped cosine distance of 0 (or 2) stands for
    // every raw distance at or below 0 (at or above 2), so that side is left open.
    let lower = !(info.metric == Metric::Cosine && distance <= 0.0);
    let upper = !(info.metric == Metric::Cosine && distance >= 2.0);
    let mut text = format!("SELECT id FROM \"{}\" WHERE embedding MATCH ?1 AND k = ?2", Tables::of(&info.kind)?.vec);
    let mut next = 3;
    for (used, constraint) in
        [(lower, "distance >="), (upper, "distance <="), (extractor_version.is_some(), "extractor_version =")]
    {
        if used {
            text.push_str(&format!(" AND {constraint} ?{next}"));
            next += 1;
        }
    }
    let mut statement = sqlx::query_scalar::<_, String>(sql(text)).bind(query).bind(probe as i64);
    for _ in [lower, upper].iter().filter(|used| **used) {
        statement = statement.bind(f64::from(distance));
    }
    if let Some(version) = extractor_version {
        statement = statement.bind(i64::from(version));
    }
    let ids = statement.fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "knn"))?;
    Ok((ids.len() < probe).then_some(ids))
}

/// The `limit` smallest ids at exactly `distance` from the query, for a tie too wide for
/// [`tied`]: ids are visited in order and each row's distance computed until enough match, so
/// the wider the tie, the sooner it stops (about `limit * rows / tie width` rows visited).
pub(crate) async fn tied_in_id_order(
    conn: &mut SqliteConnection,
    info: &KindInfo,
    query: &[u8],
    distance: f32,
    limit: usize,
    extractor_version: Option<u32>,
) -> Result<Vec<String>> {
    let tables = Tables::of(&info.kind)?;
    let filter = if extractor_version.is_some() { "AND v.extractor_version = ?4" } else { "" };
    let text = format!(
        "SELECT r.id FROM \"{}\" AS r CROSS JOIN \"{}\" AS v ON v.id = r.id WHERE {} = ?2 {filter} \
         ORDER BY r.id LIMIT ?3",
        tables.rowids,
        tables.vec,
        distance_expression(info.metric, "v.embedding")
    );
    let mut statement =
        sqlx::query_scalar::<_, String>(sql(text)).bind(query).bind(f64::from(distance)).bind(limit as i64);
    if let Some(version) = extractor_version {
        statement = statement.bind(i64::from(version));
    }
    statement.fetch_all(&mut *conn).await.map_err(|e| operation_error(e, "knn"))
}

fn hits(rows: Vec<sqlx::sqlite::SqliteRow>, metric: Metric) -> Result<Vec<Hit>> {
    rows.into_iter()
        .map(|row| {
            let id: String = row.try_get(0).map_err(|e| operation_error(e, "knn"))?;
            let raw: Option<f64> = row.try_get(1).map_err(|e| operation_error(e, "knn"))?;
            Ok(Hit { id, distance: contract_distance(metric, raw) })
        })
        .collect()
}

/// A distance as the contract reports it: `f32`, cosine clamped to `[0, 2]` (sqlite-vec
/// computes `1 - cos` without clamping), `-0.0` as `0.0`. SQLite turns NaN into NULL.
pub(crate) fn contract_distance(metric: Metric, raw: Option<f64>) -> f32 {
    let Some(raw) = raw else { return f32::NAN };
    // sqlite-vec computes in f32 and widens, so this narrowing is exact.
    let distance = raw as f32;
    let distance = if metric == Metric::Cosine { distance.clamp(0.0, 2.0) } else { distance };
    distance + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_follow_the_contract() {
        assert_eq!(contract_distance(Metric::Cosine, Some(-1e-7)).to_bits(), 0f32.to_bits());
        assert_eq!(contract_distance(Metric::Cosine, Some(2.000_001)), 2.0);
        assert_eq!(contract_distance(Metric::L2, Some(-0.0)).to_bits(), 0f32.to_bits());
        assert_eq!(contract_distance(Metric::L2, Some(1.5)), 1.5);
        assert!(contract_distance(Metric::L2, None).is_nan());
    }
}
