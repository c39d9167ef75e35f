//! `knn`: the nearest neighbours of one vector, or of every query in a file (in batches).

use std::process::ExitCode;

use serde::Serialize;
use vectorstore::{Error, ErrorKind, KnnOptions, Result};

use super::args::Cli;
use super::input::{file_error, parse_vector};
use super::output::{json, out, table};
use super::store::{finish, open};

/// `knn KIND VECTOR`: the neighbours of the vector given as text.
pub async fn run(cli: &Cli, kind: &str, vector: &str, options: &KnnOptions) -> Result<ExitCode> {
    let store = open(cli).await?;
    let hits = store.knn_with(kind, &parse_vector(vector)?, options).await?;
    if cli.json {
        json(&hits);
    } else {
        let rows: Vec<Vec<String>> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| vec![(i + 1).to_string(), h.id.clone(), format!("{:.6}", h.distance)])
            .collect();
        table(&["rank", "id", "distance"], &rows);
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// `knn KIND VECTOR --distinct`: the nearest distinct vectors, each with how many records share
/// it and its first `ids_per_vector` ids; with `--json`, the list of `{kind, distance, count,
/// ids}`.
pub async fn run_distinct(
    cli: &Cli,
    kind: &str,
    vector: &str,
    options: &KnnOptions,
    ids_per_vector: usize,
) -> Result<ExitCode> {
    let store = open(cli).await?;
    let groups = store.knn_distinct(kind, &parse_vector(vector)?, options, ids_per_vector).await?;
    if cli.json {
        json(&groups);
    } else {
        let rows: Vec<Vec<String>> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let shown = g.ids.join(", ");
                // Say when the row lists only some of the vector's records.
                let ids = if (g.ids.len() as u64) < g.count { format!("{shown}, ...") } else { shown };
                vec![(i + 1).to_string(), format!("{:.6}", g.distance), g.count.to_string(), ids]
            })
            .collect();
        table(&["rank", "distance", "count", "ids"], &rows);
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// Queries per `knn_batch` call of `knn --queries`.
const KNN_BATCH: usize = 1_000;

/// `knn --queries FILE`: every query of a JSON Lines file, searched in batches.
pub async fn run_many(cli: &Cli, kind: &str, path: &std::path::Path, options: &KnnOptions) -> Result<ExitCode> {
    use std::io::BufRead;
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin().lock()))
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(|e| file_error(path, e))?))
    };
    let mut queries = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| file_error(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        queries.push(parse_query_line(&line).map_err(|err| {
            Error::new(err.kind(), format!("{} line {}: {}", path.display(), number + 1, err.message()))
        })?);
    }
    let store = open(cli).await?;
    let mut rows = Vec::new();
    for (batch_number, batch) in queries.chunks(KNN_BATCH).enumerate() {
        let refs: Vec<&[f32]> = batch.iter().map(Vec::as_slice).collect();
        let answers = store.knn_batch(kind, &refs, options).await.map_err(|err| {
            // Name the query by its place in the file, not in the batch.
            let index =
                err.context().iter().find(|(key, _)| *key == "query").and_then(|(_, n)| n.parse::<usize>().ok());
            match index {
                Some(n) => Error::new(
                    err.kind(),
                    format!("{} (query {} of the file)", err.message(), batch_number * KNN_BATCH + n),
                ),
                None => err,
            }
        })?;
        for (offset, hits) in answers.into_iter().enumerate() {
            let query = batch_number * KNN_BATCH + offset;
            if cli.json {
                #[derive(Serialize)]
                struct Answer<'a> {
                    query: usize,
                    neighbors: &'a [vectorstore::Neighbor],
                }
                let line = serde_json::to_string(&Answer { query, neighbors: &hits })
                    .map_err(|err| Error::new(ErrorKind::Backend, format!("cannot encode JSON: {err}")))?;
                out!("{line}");
            } else {
                for (rank, hit) in hits.iter().enumerate() {
                    rows.push(vec![
                        query.to_string(),
                        (rank + 1).to_string(),
                        hit.id.clone(),
                        format!("{:.6}", hit.distance),
                    ]);
                }
            }
        }
    }
    if !cli.json {
        table(&["query", "rank", "id", "distance"], &rows);
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// One line of `knn --queries`: an array of numbers, or an object with `vector`.
fn parse_query_line(line: &str) -> Result<Vec<f32>> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|err| Error::new(ErrorKind::InvalidArgument, format!("not JSON: {err}")))?;
    let vector = match &value {
        serde_json::Value::Object(object) => object.get("vector").unwrap_or(&serde_json::Value::Null),
        other => other,
    };
    let components = vector.as_array().ok_or_else(|| {
        Error::new(ErrorKind::InvalidVector, "expected an array of numbers, or an object with \"vector\"")
    })?;
    components
        .iter()
        .map(|component| {
            component.as_f64().map(|v| v as f32).ok_or_else(|| {
                Error::new(ErrorKind::InvalidVector, format!("invalid vector component {component}: expected a number"))
            })
        })
        .collect()
}
