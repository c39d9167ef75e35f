//! Streaming export and import of whole stores as JSON Lines.
//!
//! # Format
//!
//! One JSON object per line. A *kind line* declares a kind before its records:
//! `{"kind":"ja3","dim":2,"metric":"l2"}`. A *record line* carries one vector:
//! `{"kind":"ja3","id":"s-1","vector":[0.5,1.0],"dim":2,"extractor_version":1}` (`dim` is
//! optional and must equal the vector's length; `extractor_version` defaults to 1). `f32` values
//! are written in their shortest exact form, so a round trip is bit-exact.
//!
//! # Import guarantees
//!
//! Every line is parsed and validated (kind, id, vector, version, the kind's dimension and
//! metric) before the batch holding it is written. A bad line stops the import with its line
//! number and the reason; batches completed before it are written, the batch it belongs to and
//! everything after it are not. Records are upserts, so re-running an import is harmless.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::Value;
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, NewVector, Result, VectorStore, limits, validate};

/// Progress of a transfer, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// A kind starts; its record count when known.
    Kind {
        /// The kind.
        kind: &'a str,
        /// Records it holds, when known.
        total: Option<u64>,
    },
    /// This many more records were transferred.
    Records(u64),
}

/// Options of [`export_jsonl`].
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Only these kinds (all when empty).
    pub kinds: Vec<String>,
    /// Records read per `scan` page.
    pub page_size: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { kinds: Vec::new(), page_size: 1000 }
    }
}

/// What an export or import moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferSummary {
    /// Kinds written.
    pub kinds: u64,
    /// Records written.
    pub records: u64,
}

#[derive(Serialize)]
struct KindLine<'a> {
    kind: &'a str,
    dim: usize,
    metric: Metric,
}

/// Writes every kind line and record line of `store` (or of the chosen kinds) to `out`,
/// reading page by page so memory stays bounded.
pub async fn export_jsonl(
    store: &dyn VectorStore,
    out: &mut dyn Write,
    options: &ExportOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<TransferSummary> {
    let page = options.page_size.clamp(1, limits::MAX_SCAN_LIMIT);
    let mut summary = TransferSummary::default();
    let kinds = store.kinds().await?;
    for wanted in &options.kinds {
        validate::kind(wanted)?;
        if !kinds.iter().any(|k| &k.kind == wanted) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("the store has no kind {wanted:?}")));
        }
    }
    for info in kinds.iter().filter(|k| options.kinds.is_empty() || options.kinds.contains(&k.kind)) {
        progress(Progress::Kind { kind: &info.kind, total: Some(info.count) });
        write_line(out, &KindLine { kind: &info.kind, dim: info.dim, metric: info.metric })?;
        summary.kinds += 1;
        let mut after: Option<String> = None;
        loop {
            let records = store.scan(&info.kind, after.as_deref(), page).await?;
            let Some(last) = records.last() else { break };
            after = Some(last.id.clone());
            for record in &records {
                write_line(out, record)?;
            }
            summary.records += records.len() as u64;
            progress(Progress::Records(records.len() as u64));
            if records.len() < page {
                break;
            }
        }
    }
    out.flush().map_err(io_error)?;
    Ok(summary)
}

fn write_line<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|e| Error::new(ErrorKind::Backend, "cannot write JSON").with_source(e))?;
    out.write_all(b"\n").map_err(io_error)
}

fn io_error(err: std::io::Error) -> Error {
    Error::new(ErrorKind::Backend, format!("I/O error: {err}")).with_source(err)
}

/// Options of [`import_jsonl`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Records written per `insert_many` call (1..=10,000).
    pub batch_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { batch_size: 1000 }
    }
}

/// A parsed line.
enum Line {
    Kind { kind: String, dim: usize, metric: Metric },
    Record { kind: String, item: NewVector },
}

/// Reads JSON Lines from `input` into `store` (see the module docs for what a bad line leaves).
/// Errors name the line number.
pub async fn import_jsonl(
    store: &dyn VectorStore,
    input: &mut dyn BufRead,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<TransferSummary> {
    let batch_size = options.batch_size.clamp(1, limits::MAX_BATCH);
    let mut known: BTreeMap<String, KindInfo> = store.kinds().await?.into_iter().map(|k| (k.kind.clone(), k)).collect();
    let mut summary = TransferSummary::default();
    let mut batch_kind = String::new();
    let mut batch: Vec<NewVector> = Vec::with_capacity(batch_size);
    let mut line = String::new();
    let mut number = 0u64;
    let mut batch_first_line = 0u64;
    loop {
        line.clear();
        let read = input.read_line(&mut line).map_err(|e| at_line(number + 1, io_error(e)))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = parse_line(&line, store, &known).map_err(|e| at_line(number, e))?;
        match parsed {
            Line::Kind { kind, dim, metric } => {
                flush(store, &batch_kind, &mut batch, &mut summary, progress)
                    .await
                    .map_err(|e| at_lines(batch_first_line, number - 1, e))?;
                let info = store.create_kind(&kind, dim, metric).await.map_err(|e| at_line(number, e))?;
                progress(Progress::Kind { kind: &kind, total: None });
                summary.kinds += 1;
                known.insert(kind, info);
            }
            Line::Record { kind, item } => {
                if kind != batch_kind || batch.len() >= batch_size {
                    flush(store, &batch_kind, &mut batch, &mut summary, progress)
                        .await
                        .map_err(|e| at_lines(batch_first_line, number - 1, e))?;
                    batch_kind = kind.clone();
                }
                // A kind first seen in a record line gets its metric from the store on insert;
                // until then only its dimension can be checked, which L2 (no further rule) does.
                known.entry(kind.clone()).or_insert_with(|| KindInfo {
                    kind,
                    dim: item.vector.len(),
                    metric: Metric::L2,
                    count: 0,
                });
                if batch.is_empty() {
                    batch_first_line = number;
                }
                batch.push(item);
            }
        }
    }
    flush(store, &batch_kind, &mut batch, &mut summary, progress)
        .await
        .map_err(|e| at_lines(batch_first_line, number, e))?;
    Ok(summary)
}

async fn flush(
    store: &dyn VectorStore,
    kind: &str,
    batch: &mut Vec<NewVector>,
    summary: &mut TransferSummary,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    store.insert_many(kind, batch).await?;
    summary.records += batch.len() as u64;
    progress(Progress::Records(batch.len() as u64));
    batch.clear();
    Ok(())
}

fn at_line(number: u64, err: Error) -> Error {
    Error::new(err.kind(), format!("line {number}: {}", err.message())).with_context("line", number.to_string())
}

fn at_lines(first: u64, last: u64, err: Error) -> Error {
    Error::new(err.kind(), format!("batch of lines {first}..={last} was not written: {}", err.message()))
        .with_context("line", first.to_string())
}

fn parse_line(text: &str, store: &dyn VectorStore, known: &BTreeMap<String, KindInfo>) -> Result<Line> {
    let invalid = |message: String| Error::new(ErrorKind::InvalidArgument, message);
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| invalid("expected a JSON object".into()))?;
    let kind =
        object.get("kind").and_then(Value::as_str).ok_or_else(|| invalid("missing string field \"kind\"".into()))?;
    validate::kind(kind)?;
    let dim = match object.get("dim") {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(v.as_u64().ok_or_else(|| invalid(format!("\"dim\" must be a whole number, not {v}")))? as usize)
        }
    };
    if !object.contains_key("id") {
        let metric = object
            .get("metric")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a line without \"id\" must be a kind line with \"dim\" and \"metric\"".into()))?;
        let metric: Metric = metric.parse().map_err(|e: Error| invalid(e.message().to_owned()))?;
        let dim = dim.ok_or_else(|| invalid("a kind line needs \"dim\"".into()))?;
        validate::create_kind(kind, dim)?;
        if !store.capabilities().supports(metric) {
            return Err(validate::metric_unsupported(store.backend(), metric, store.capabilities().metrics));
        }
        if let Some(existing) = known.get(kind) {
            validate::same_kind(existing, dim, metric)?;
        }
        return Ok(Line::Kind { kind: kind.to_owned(), dim, metric });
    }
    let id = object.get("id").and_then(Value::as_str).ok_or_else(|| invalid("\"id\" must be a string".into()))?;
    let components = object
        .get("vector")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("missing array field \"vector\"".into()))?;
    let mut vector = Vec::with_capacity(components.len());
    for (index, component) in components.iter().enumerate() {
        let number = component
            .as_f64()
            .ok_or_else(|| invalid(format!("vector component {index} is not a number: {component}")))?;
        let narrowed = number as f32;
        if !narrowed.is_finite() {
            return Err(Error::new(
                ErrorKind::InvalidVector,
                format!("vector component {index} ({number}) is not a finite f32"),
            ));
        }
        vector.push(narrowed);
    }
    let version = match object.get("extractor_version") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| invalid(format!("\"extractor_version\" must be a whole number >= 1, not {v}")))?,
    };
    validate::insert(kind, id, &vector, version)?;
    if let Some(dim) = dim
        && dim != vector.len()
    {
        return Err(invalid(format!("\"dim\" is {dim} but the vector has {} components", vector.len())));
    }
    if let Some(info) = known.get(kind) {
        validate::against_kind(info, &vector)?;
    }
    Ok(Line::Record {
        kind: kind.to_owned(),
        item: NewVector { id: id.to_owned(), vector, extractor_version: version },
    })
}

/// Every record of a store, kind by kind, as a JSON Lines string (small stores and tests).
pub async fn export_to_string(store: &dyn VectorStore) -> Result<String> {
    let mut out = Vec::new();
    export_jsonl(store, &mut out, &ExportOptions::default(), &mut |_| {}).await?;
    String::from_utf8(out).map_err(|e| Error::new(ErrorKind::Backend, "export produced invalid UTF-8").with_source(e))
}
