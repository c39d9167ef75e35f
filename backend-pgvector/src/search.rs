//! How a kNN search runs: through the kind's HNSW index when it can be trusted to give the
//! contract's answer, else as an exact scan.
//!
//! - **Index path** (HNSW enabled, dimension <= 2,000, k <= 1,000): one statement walks the
//!   `L` nearest *distinct* vectors of the kind through the HNSW index of its distinct table
//!   (`ORDER BY embedding <op> $1 LIMIT L`, the LIMIT written into the SQL so that even a
//!   generic plan keeps the index), reads each one's first `k` records in id order through the
//!   `(vector_hash, id)` B-tree (with the extractor_version filter), and returns the `k` nearest
//!   by `(distance::float4, id)`, with how many distinct vectors were walked and the farthest
//!   one's distance. The answer is complete when the k-th hit lies strictly nearer than the
//!   farthest vector walked (no vector left unwalked can tie with it) or the index had no more
//!   to give; otherwise `L` grows 4× (from k + 1 to at most 1,000, pgvector's ef_search cap)
//!   and the statement runs again. A group of identical vectors is one entry of the index, so a
//!   group of 100,000 costs what a single record costs: the statement touches at most `L × k`
//!   records and replies with at most `k` rows, whatever the groups' sizes (with an
//!   extractor_version filter, a group is read until k records of that version are found, so
//!   a large group with few of them is read whole on the server). Every connection of
//!   the pool starts with the configured `hnsw.ef_search`; a search that needs more (at least
//!   `L` and 4 × k: HNSW returns at most ef_search rows, and recall drops as k nears it) runs
//!   in a transaction that raises it.
//! - **Exact path**: a sequential scan ordered by `(distance::float4, id)`, which is exactly the
//!   contract's order. Used when the index is off, for dimensions above 2,000 (pgvector cannot
//!   index `vector` columns that wide), for k above 1,000 (pgvector's ef_search cap), and as the
//!   fallback whenever the index path returns fewer than k hits: an approximate index can miss
//!   rows, and only a scan proves that fewer than k match (a small kind, a rare
//!   extractor_version, a max_distance radius).
//!
//! Distances are computed by the server with the same operator in both paths and reported as
//! `f32`, rounded from pgvector's `float8` exactly as PostgreSQL's `::float4` rounds.

use sqlx::Connection;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool};
use vectorstore_core::{KindInfo, KnnOptions, Neighbor, Result, distance};

use crate::config::MAX_EF_SEARCH;
use crate::error::{from_sqlx, is_undefined_table};
use crate::layout::{MAX_INDEXED_DIM, Names, audited, operator, sql};
use sqlx::AssertSqlSafe;

/// How searches may use the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchSettings {
    /// HNSW indexes are enabled.
    pub(crate) index: bool,
    /// The configured `hnsw.ef_search`.
    pub(crate) ef_search: u32,
}

/// Most distinct vectors the index path walks (HNSW returns at most `hnsw.ef_search` rows, at
/// most 1,000) before the search scans instead.
pub(crate) const MAX_WALK: usize = MAX_EF_SEARCH as usize;

/// The first walk of a search for `k` hits: one distinct vector more than k, to see whether
/// the k-th distance continues.
pub(crate) fn first_walk(k: usize) -> usize {
    k.saturating_add(1).min(MAX_WALK)
}

/// One candidate: the id and its distance as the contract reports it.
struct Hit {
    id: String,
    distance: f32,
}

/// Which way a search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Index,
    Exact,
}

fn path(info: &KindInfo, options: &KnnOptions, settings: &SearchSettings) -> Path {
    let k_fits = u32::try_from(options.k).is_ok_and(|k| k <= MAX_EF_SEARCH);
    if settings.index && info.dim <= MAX_INDEXED_DIM && k_fits { Path::Index } else { Path::Exact }
}

/// The nearest records of a kind (`options.k > 0`, the query already checked against `info`).
/// A kind whose table vanished meanwhile gives no hits.
pub(crate) async fn nearest(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
    settings: &SearchSettings,
) -> Result<Vec<Neighbor>> {
    let result = match path(info, options, settings) {
        Path::Index => match through_index(connection, names, info, query, options, settings).await {
            Ok(Some(hits)) => Ok(hits),
            Ok(None) => exact(connection, names, info, query, options).await,
            Err(err) => Err(err),
        },
        Path::Exact => exact(connection, names, info, query, options).await,
    };
    match result {
        Ok(hits) => Ok(finish(info, hits, options.k)),
        Err(err) if is_undefined_table(&err) => Ok(Vec::new()),
        Err(err) => Err(from_sqlx(err, &format!("knn in kind {:?}", info.kind))),
    }
}

/// The contract's answer from candidate hits: ascending distance, ties by id, at most `k`.
fn finish(info: &KindInfo, hits: Vec<Hit>, k: usize) -> Vec<Neighbor> {
    let mut neighbors: Vec<Neighbor> =
        hits.into_iter().map(|hit| Neighbor { kind: info.kind.clone(), id: hit.id, distance: hit.distance }).collect();
    distance::sort_neighbors(&mut neighbors);
    neighbors.truncate(k);
    neighbors
}

/// Most result rows one statement of a batch search may return; a batch with a large `k` is
/// sent as several statements.
const MAX_BATCH_ROWS: usize = 100_000;
/// Most queries one statement of a batch search carries.
const MAX_BATCH_QUERIES: usize = 1_000;

/// How many queries of a batch search one statement carries.
pub(crate) fn queries_per_statement(options: &KnnOptions) -> usize {
    (MAX_BATCH_ROWS / options.k.saturating_add(1)).clamp(1, MAX_BATCH_QUERIES)
}

/// The nearest records of a kind to each query (`options.k > 0`, the queries already checked
/// against `info`): answer `i` is exactly what [`nearest`] gives for `queries[i]`.
///
/// Every query of a chunk (up to 1,000, fewer for large `k`) goes to the server in one
/// statement, `unnest` of a `vector[]` joined laterally to the same search [`nearest`] runs,
/// so that a batch costs one round trip instead of one per query. The index path keeps its
/// checks per query: queries the index could not answer for certain (fewer than k hits, ties
/// running past the fetched rows) are answered by one batched exact scan, or, for ties, by
/// [`nearest`] itself. A kind whose table vanished meanwhile gives no hits.
pub(crate) async fn nearest_batch(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    queries: &[&[f32]],
    options: &KnnOptions,
    settings: &SearchSettings,
) -> Result<Vec<Vec<Neighbor>>> {
    let failed = |err| from_sqlx(err, &format!("knn_batch in kind {:?}", info.kind));
    let mut answers: Vec<Option<Vec<Neighbor>>> = vec![None; queries.len()];
    let mut to_scan = Vec::new();
    let mut one_by_one = Vec::new();
    let per_statement = queries_per_statement(options);
    let all: Vec<usize> = (0..queries.len()).collect();
    let result = async {
        match path(info, options, settings) {
            Path::Index => {
                let limit = first_walk(options.k);
                for chunk in all.chunks(per_statement) {
                    let sql = batch_sql(index_sql(names, info, options, limit, BATCH_QUERY), INDEX_COLUMNS);
                    let rows =
                        fetch_batch(connection, sql, queries, chunk, options, limit, Path::Index, settings).await?;
                    for (&index, rows) in chunk.iter().zip(rows) {
                        match resolve(walk(rows)?, limit, options) {
                            Resolution::Found(hits) => answers[index] = Some(finish(info, hits, options.k)),
                            Resolution::Scan => to_scan.push(index),
                            Resolution::FetchMore => one_by_one.push(index),
                        }
                    }
                }
            }
            Path::Exact => to_scan = all.clone(),
        }
        for chunk in to_scan.chunks(per_statement) {
            let sql = batch_sql(exact_sql(names, info, options, BATCH_QUERY), EXACT_COLUMNS);
            let rows = fetch_batch(connection, sql, queries, chunk, options, options.k, Path::Exact, settings).await?;
            for (&index, rows) in chunk.iter().zip(rows) {
                answers[index] = Some(finish(info, to_hits(exact_rows(rows)?), options.k));
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {}
        Err(err) if is_undefined_table(&err) => return Ok(vec![Vec::new(); queries.len()]),
        Err(err) => return Err(failed(err)),
    }
    for index in one_by_one {
        answers[index] = Some(nearest(connection, names, info, queries[index], options, settings).await?);
    }
    Ok(answers.into_iter().map(Option::unwrap_or_default).collect())
}

/// How the queries of a batch statement are named inside its lateral search.
const BATCH_QUERY: &str = "q.v";

/// The columns of the index path's rows (see [`index_sql`]).
const INDEX_COLUMNS: &str = "r.walked, r.far, r.id, r.d";
/// The columns of the exact path's rows.
const EXACT_COLUMNS: &str = "r.id, r.d";

/// A search written for one query (as `q.v`) run for every element of the `vector[]` bound as
/// `$1`: rows `(query number from 1, columns...)`.
fn batch_sql(search: String, columns: &str) -> AssertSqlSafe<String> {
    sql!(
        "SELECT q.n, {columns} FROM unnest($1::vector[]) WITH ORDINALITY AS q(v, n) CROSS JOIN LATERAL ({search}) AS r"
    )
}

/// Runs one batch statement for the queries at `chunk` (each walking `limit` distinct vectors
/// on the index path) and returns each query's rows, in `chunk`'s order, without the query
/// number.
#[allow(clippy::too_many_arguments)]
async fn fetch_batch(
    connection: &mut PgConnection,
    sql: AssertSqlSafe<String>,
    queries: &[&[f32]],
    chunk: &[usize],
    options: &KnnOptions,
    limit: usize,
    path: Path,
    settings: &SearchSettings,
) -> sqlx::Result<Vec<Vec<sqlx::postgres::PgRow>>> {
    let vectors: Vec<pgvector::Vector> =
        chunk.iter().map(|&index| pgvector::Vector::from(queries[index].to_vec())).collect();
    let search = bind_filters(sqlx::query(sql).bind(vectors), options, path);
    let rows = fetch(connection, search, options, limit, settings, path).await?;
    let mut grouped: Vec<Vec<sqlx::postgres::PgRow>> = (0..chunk.len()).map(|_| Vec::new()).collect();
    for row in rows {
        let number: i64 = row.try_get(0)?;
        let slot = usize::try_from(number - 1).ok().and_then(|slot| grouped.get_mut(slot));
        let Some(slot) = slot else {
            return Err(sqlx::Error::Protocol(format!("batch search returned query number {number}")));
        };
        slot.push(row);
    }
    Ok(grouped)
}

/// The `(id, distance)` of exact rows whose last two columns are those.
fn exact_rows(rows: Vec<sqlx::postgres::PgRow>) -> sqlx::Result<Vec<(String, f64)>> {
    rows.iter()
        .map(|row| {
            let columns = row.len();
            Ok((row.try_get(columns - 2)?, row.try_get(columns - 1)?))
        })
        .collect()
}

/// What one run of the index path's statement saw.
struct Walk {
    /// How many distinct vectors the index gave.
    walked: usize,
    /// The distance of the farthest of them.
    far: f32,
    /// The nearest records among their groups, `(id, distance)`, in `(distance, id)` order.
    hits: Vec<(String, f64)>,
}

/// A [`Walk`] from the index path's rows, whose last four columns are `walked, far, id, d`
/// (`id` and `d` null on the row that only carries the first two, when no group had a record
/// passing the filters).
fn walk(rows: Vec<sqlx::postgres::PgRow>) -> sqlx::Result<Walk> {
    let mut walk = Walk { walked: 0, far: f32::NEG_INFINITY, hits: Vec::with_capacity(rows.len()) };
    for row in &rows {
        let first = row.len() - 4;
        let walked: i64 = row.try_get(first)?;
        let far: f64 = row.try_get(first + 1)?;
        walk.walked = usize::try_from(walked).unwrap_or(0);
        walk.far = far as f32;
        let id: Option<String> = row.try_get(first + 2)?;
        let distance: Option<f64> = row.try_get(first + 3)?;
        if let (Some(id), Some(distance)) = (id, distance) {
            walk.hits.push((id, distance));
        }
    }
    Ok(walk)
}

/// The plan PostgreSQL would use for the first statement of this search (`EXPLAIN`), for
/// diagnostics: of a single search for one query, of a batch search (as [`nearest_batch`]
/// sends it) for several.
pub(crate) async fn explain(
    pool: &PgPool,
    names: &Names,
    info: &KindInfo,
    queries: &[&[f32]],
    options: &KnnOptions,
    settings: &SearchSettings,
) -> Result<String> {
    let failed = |err| from_sqlx(err, "explain knn");
    let mut tx = pool.begin().await.map_err(failed)?;
    let chosen = path(info, options, settings);
    let batch = queries.len() > 1;
    let query = if batch { BATCH_QUERY } else { "$1" };
    let search = match chosen {
        Path::Index => {
            // Without these, the plan is the one the session's own settings give, as in a search.
            let limit = first_walk(options.k);
            if needs_transaction(options, limit, settings) {
                configure_index_scan(&mut tx, options, limit, settings).await.map_err(failed)?;
            }
            index_sql(names, info, options, limit, query)
        }
        Path::Exact => exact_sql(names, info, options, query),
    };
    let explained = if batch {
        let vectors: Vec<pgvector::Vector> =
            queries.iter().map(|query| pgvector::Vector::from(query.to_vec())).collect();
        let columns = if chosen == Path::Index { INDEX_COLUMNS } else { EXACT_COLUMNS };
        let sql = batch_sql(search, columns);
        bind_filters(sqlx::query(sql!("EXPLAIN {}", sql.0)).bind(vectors), options, chosen)
    } else {
        let first = queries.first().copied().unwrap_or_default();
        bind_search(sqlx::query(sql!("EXPLAIN {search}")), first, options, chosen)
    };
    let rows = explained.persistent(false).fetch_all(&mut *tx).await.map_err(failed)?;
    tx.rollback().await.map_err(failed)?;
    rows.iter().map(|row| row.try_get::<String, _>(0).map_err(failed)).collect::<Result<Vec<_>>>().map(|l| l.join("\n"))
}

/// The index path's search for the query `query` (`$1`, or a batch's `q.v`), walking `limit`
/// distinct vectors: rows `(walked, far, id, d)`, at most k, the nearest records of the groups
/// walked in `(d::float4, id)` order, each row with how many distinct vectors were walked and
/// the farthest one's distance; when fewer than k records pass the filters, rows with a null
/// `id` follow (always at least one row when the index gave anything).
pub(crate) fn index_sql(names: &Names, info: &KindInfo, options: &KnnOptions, limit: usize, query: &str) -> String {
    let op = operator(info.metric);
    let k = options.k;
    let filter = if options.extractor_version.is_some() { "AND r.extractor_version = $2" } else { "" };
    // The innermost ORDER BY must be exactly `embedding <op> query`, ascending, for the index
    // to serve it; each group gives at most k records, by the (vector_hash, id) index.
    format!(
        "SELECT near.walked, near.far, m.id, near.d FROM \
           (SELECT vector_hash, d, count(*) OVER () AS walked, max(d) OVER () AS far FROM \
             (SELECT vector_hash, (embedding {op} {query})::float8 AS d FROM {distinct} \
              ORDER BY embedding {op} {query} LIMIT {limit}) AS nearest) AS near \
         LEFT JOIN LATERAL (SELECT r.id FROM {table} AS r WHERE r.vector_hash = near.vector_hash {filter} \
           ORDER BY r.id LIMIT {k}) AS m ON true \
         ORDER BY m.id IS NULL, near.d::float4, m.id LIMIT {k}",
        distinct = names.distinct_table(&info.kind),
        table = names.kind_table(&info.kind),
    )
}

/// The exact path's search for the query `query` (`$1`, or a batch's `q.v`).
fn exact_sql(names: &Names, info: &KindInfo, options: &KnnOptions, query: &str) -> String {
    let op = operator(info.metric);
    let filter = exact_filter(info, options, query);
    format!(
        "SELECT id, (embedding {op} {query})::float8 AS d FROM {} {filter} ORDER BY (embedding {op} {query})::float4, id LIMIT {}",
        names.kind_table(&info.kind),
        options.k
    )
}

/// The `WHERE` clause of an exact search for the query `query` (`$1`, or a batch's `q.v`): the
/// extractor_version and max_distance filters that are set, numbered from `$2` in the order
/// [`bind_exact`] binds them; empty when none is.
pub(crate) fn exact_filter(info: &KindInfo, options: &KnnOptions, query: &str) -> String {
    let op = operator(info.metric);
    let mut filters = Vec::new();
    let mut next = 2;
    if options.extractor_version.is_some() {
        filters.push(format!("extractor_version = ${next}"));
        next += 1;
    }
    if options.max_distance.is_some() {
        // Compared as float4, the precision the contract reports, so the bound is inclusive
        // for exactly the distances it returns.
        filters.push(format!("(embedding {op} {query})::float4 <= ${next}"));
    }
    if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) }
}

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the search parameters in the order the SQL numbers them: the query vector, then the
/// extractor_version and (exact path only) max_distance filters that are set. Both paths write
/// their LIMIT into the SQL, not as a parameter: a generic plan (which the server picks for a
/// prepared statement after a few runs) then knows it, and the index path keeps the index.
fn bind_search<'q>(query: PgQuery<'q>, vector: &[f32], options: &KnnOptions, path: Path) -> PgQuery<'q> {
    bind_filters(query.bind(pgvector::Vector::from(vector.to_vec())), options, path)
}

/// Binds an exact search's parameters: the query vector as `$1`, then the filters
/// [`exact_filter`] numbered.
pub(crate) fn bind_exact<'q>(query: PgQuery<'q>, vector: &[f32], options: &KnnOptions) -> PgQuery<'q> {
    bind_search(query, vector, options, Path::Exact)
}

/// Binds the filters after the query (or queries) bound as `$1`.
fn bind_filters<'q>(mut query: PgQuery<'q>, options: &KnnOptions, path: Path) -> PgQuery<'q> {
    if let Some(version) = options.extractor_version {
        query = query.bind(i64::from(version));
    }
    if let (Some(max), Path::Exact) = (options.max_distance, path) {
        query = query.bind(max);
    }
    query
}

/// The `hnsw.ef_search` a search walking `limit` distinct vectors for `options_k` hits needs:
/// at least the vectors asked for (HNSW returns at most ef_search), a candidate list a few times
/// k so that recall holds as k grows, and never below the configured value.
fn needed_ef_search(options_k: usize, limit: usize, settings: &SearchSettings) -> u32 {
    let wanted = limit.max(options_k.saturating_mul(4));
    u32::try_from(wanted).unwrap_or(MAX_EF_SEARCH).clamp(settings.ef_search, MAX_EF_SEARCH)
}

/// Whether the search needs settings beyond those every connection starts with. The walk has
/// no filter (the extractor_version filter applies to the groups' records, not to the index
/// scan), so it never needs pgvector's iterative scans.
pub(crate) fn needs_transaction(options: &KnnOptions, limit: usize, settings: &SearchSettings) -> bool {
    needed_ef_search(options.k, limit, settings) > settings.ef_search
}

/// The session settings every pooled connection starts with (see the module docs).
pub(crate) fn session_settings(ef_search: u32, timeout: std::time::Duration) -> String {
    // The server stops a statement at the configured timeout, and a wait for a lock too,
    // before the client gives up (see `PgVectorConfig::client_bound`): a statement the client
    // reports as `Unavailable` is then rolled back, not left running to commit later while
    // its connection is held.
    let timeout_ms = timeout.as_millis().max(1);
    format!("SET hnsw.ef_search = {ef_search}; SET statement_timeout = {timeout_ms}; SET lock_timeout = {timeout_ms}")
}

pub(crate) async fn configure_index_scan(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    options: &KnnOptions,
    limit: usize,
    settings: &SearchSettings,
) -> sqlx::Result<()> {
    let ef_search = needed_ef_search(options.k, limit, settings);
    sqlx::query("SELECT set_config('hnsw.ef_search', $1, true)")
        .bind(ef_search.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

fn to_hits(rows: Vec<(String, f64)>) -> Vec<Hit> {
    rows.into_iter().map(|(id, distance)| Hit { id, distance: distance as f32 + 0.0 }).collect()
}

/// The index path: `Some(hits)` holding the k nearest, or `None` when the index could not tell
/// them for certain (fewer than k hits from all it gives, or a tie at the k-th distance running
/// past 1,000 distinct vectors) and only an exact scan can.
async fn through_index(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
    settings: &SearchSettings,
) -> sqlx::Result<Option<Vec<Hit>>> {
    let mut limit = first_walk(options.k);
    loop {
        let sql = index_sql(names, info, options, limit, "$1");
        let search = bind_search(sqlx::query(audited(sql)), query, options, Path::Index);
        let rows = fetch(connection, search, options, limit, settings, Path::Index).await?;
        match resolve(walk(rows)?, limit, options) {
            Resolution::Found(hits) => return Ok(Some(hits)),
            Resolution::Scan => return Ok(None),
            Resolution::FetchMore => limit = limit.saturating_mul(4).min(MAX_WALK),
        }
    }
}

/// Runs a search statement walking `limit` distinct vectors: on the index path, inside a
/// transaction that configures the index scan when the search needs more than the settings
/// every connection starts with; otherwise directly.
async fn fetch(
    connection: &mut PgConnection,
    search: PgQuery<'_>,
    options: &KnnOptions,
    limit: usize,
    settings: &SearchSettings,
    path: Path,
) -> sqlx::Result<Vec<sqlx::postgres::PgRow>> {
    if path == Path::Index && needs_transaction(options, limit, settings) {
        let mut tx = connection.begin().await?;
        configure_index_scan(&mut tx, options, limit, settings).await?;
        let rows = search.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    } else {
        search.fetch_all(&mut *connection).await
    }
}

/// What a walk of `limit` distinct vectors tells.
enum Resolution {
    /// The k nearest, certain.
    Found(Vec<Hit>),
    /// The index cannot tell: only a scan can.
    Scan,
    /// Walk more distinct vectors: vectors at the k-th distance may continue past those walked,
    /// or fewer than k records of those walked pass the filters.
    FetchMore,
}

fn resolve(walk: Walk, limit: usize, options: &KnnOptions) -> Resolution {
    let k = options.k;
    let mut hits = to_hits(walk.hits);
    if let Some(max) = options.max_distance {
        hits.retain(|hit| hit.distance <= max);
    }
    // The index gave fewer than asked: it has no more (the kind has fewer distinct vectors).
    let exhausted = walk.walked < limit;
    let can_walk_further = !exhausted && limit < MAX_WALK;
    if hits.len() >= k {
        hits.sort_by(|a, b| distance::cmp_hits(a.distance, &a.id, b.distance, &b.id));
        hits.truncate(k);
        // Every distinct vector not walked lies at `far` or beyond: none can tie with a k-th
        // hit strictly nearer, and within a group the first k ids are the ones that can count.
        if exhausted || walk.far > hits[k - 1].distance {
            return Resolution::Found(hits);
        }
        return if can_walk_further { Resolution::FetchMore } else { Resolution::Scan };
    }
    // Fewer than k: only a scan proves that no more match, unless walking further can find them.
    let beyond_radius = options.max_distance.is_some_and(|max| walk.far > max);
    if can_walk_further && !beyond_radius { Resolution::FetchMore } else { Resolution::Scan }
}

/// The exact path: the contract's answer computed by a scan.
async fn exact(
    connection: &mut PgConnection,
    names: &Names,
    info: &KindInfo,
    query: &[f32],
    options: &KnnOptions,
) -> sqlx::Result<Vec<Hit>> {
    let sql = exact_sql(names, info, options, "$1");
    let search = bind_search(sqlx::query(audited(sql)), query, options, Path::Exact);
    let rows = search.fetch_all(connection).await?;
    let rows: Vec<(String, f64)> =
        rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<sqlx::Result<_>>()?;
    Ok(to_hits(rows))
}
