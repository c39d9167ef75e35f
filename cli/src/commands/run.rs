//! What each command does.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::demo::{self, DemoOptions};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use vectorstore::transfer::{self, CopyOptions, ExportOptions, Format, ImportOptions, Progress, VerifyReport};
use vectorstore::{Config, Error, ErrorKind, KnnOptions, Metric, Result, VectorStore, backends, redact_url};
use vectorstore_conformance::{ConfigFactory, Outcome, run_suite};

use super::output::{err, json, out, percent, table, utc, vector_preview};
use super::{Cli, Command, FileFormat};

/// Runs the parsed command.
pub async fn run(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Backends => list_backends(cli),
        Command::Health { detailed } => health(cli, *detailed).await,
        Command::Kinds => kinds(cli).await,
        Command::Purge { kind, extractor_version, yes } => purge(cli, kind, *extractor_version, *yes).await,
        Command::Expire { kind, older_than, yes } => expire(cli, kind, older_than, *yes).await,
        Command::CreateKind { kind, dim, metric } => {
            let store = open(cli).await?;
            let metric: Metric = metric.parse()?;
            let info = store.create_kind(kind, *dim, metric).await?;
            if cli.json {
                json(&info);
            } else {
                out!("kind {} has dimension {} and metric {}", info.kind, info.dim, info.metric);
            }
            finish(&*store, ExitCode::SUCCESS).await
        }
        Command::Insert { kind, id, vector, extractor_version } => {
            let store = open(cli).await?;
            store.insert(kind, id, &parse_vector(vector)?, *extractor_version).await?;
            if cli.json {
                json(&serde_json::json!({"inserted": {"kind": kind, "id": id}}));
            } else {
                out!("stored {kind}/{id}");
            }
            finish(&*store, ExitCode::SUCCESS).await
        }
        Command::Get { kind, id } => {
            let store = open(cli).await?;
            let record = store.get(kind, id).await?;
            match (&record, cli.json) {
                (_, true) => json(&record),
                (Some(r), false) => table(
                    &["kind", "id", "dim", "extractor_version", "written_at", "vector"],
                    &[vec![
                        r.kind.clone(),
                        r.id.clone(),
                        r.dim.to_string(),
                        r.extractor_version.to_string(),
                        utc(r.written_at_ms),
                        vector_preview(&r.vector),
                    ]],
                ),
                (None, false) => err!("{kind}/{id} not found"),
            }
            finish(&*store, if record.is_some() { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
        }
        Command::Delete { kind, id } => {
            let store = open(cli).await?;
            let removed = store.delete(kind, id).await?;
            report_removed(cli, removed, &format!("{kind}/{id}"));
            finish(&*store, if removed { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
        }
        Command::DropKind { kind } => {
            let store = open(cli).await?;
            let removed = store.drop_kind(kind).await?;
            report_removed(cli, removed, &format!("kind {kind}"));
            finish(&*store, if removed { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
        }
        Command::Knn { kind, vector, queries: Some(path), k, extractor_version, max_distance } => {
            let _ = vector;
            let options = KnnOptions { k: *k, extractor_version: *extractor_version, max_distance: *max_distance };
            knn_many(cli, kind, path, &options).await
        }
        Command::Knn { kind, vector, queries: None, k, extractor_version, max_distance } => {
            let store = open(cli).await?;
            let options = KnnOptions { k: *k, extractor_version: *extractor_version, max_distance: *max_distance };
            let vector = vector.as_deref().unwrap_or_default();
            let hits = store.knn_with(kind, &parse_vector(vector)?, &options).await?;
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
        Command::Export { kinds, output, format } => export(cli, kinds, output.as_deref(), *format).await,
        Command::Import { input, batch_size, format } => import(cli, input.as_deref(), *batch_size, *format).await,
        Command::Copy { from, to, kinds, batch_size, replace_kind, verify } => {
            let options = CopyOptions {
                kinds: kinds.clone(),
                batch_size: *batch_size,
                replace_kind: *replace_kind,
                ..CopyOptions::default()
            };
            copy(cli, from.as_deref(), to, &options, *verify).await
        }
        Command::Verify { from, to, kinds } => {
            let (source, target) = open_pair(cli, from.as_deref(), to).await?;
            let report = transfer::verify(&*source, &*target, kinds).await?;
            let ok = print_verify(cli, &report);
            source.close().await?;
            finish(&*target, if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
        }
        Command::Conformance { filter } => conformance(cli, filter.as_deref()).await,
        Command::Bench { action, run } => super::bench::run(cli, action.as_ref(), run).await,
        Command::Demo { attackers, sessions, seed, keep } => {
            let options = DemoOptions {
                attackers: *attackers,
                sessions_per_attacker: *sessions,
                seed: *seed,
                ..DemoOptions::default()
            };
            run_demo(cli, options, keep.as_deref()).await
        }
    }
}

fn report_removed(cli: &Cli, removed: bool, what: &str) {
    if cli.json {
        json(&serde_json::json!({ "removed": removed }));
    } else if removed {
        out!("removed {what}");
    } else {
        err!("{what} not found");
    }
}

/// The configuration the command works on: the environment's, or `--store`.
pub fn config(cli: &Cli) -> Result<Config> {
    let base = Config::from_env()?;
    match &cli.store {
        Some(spec) => base.with_spec(spec),
        None => Ok(base),
    }
}

pub async fn open(cli: &Cli) -> Result<Arc<dyn VectorStore>> {
    let store = vectorstore::open(&config(cli)?)?;
    store.initialize().await?;
    Ok(store)
}

async fn finish(store: &dyn VectorStore, code: ExitCode) -> Result<ExitCode> {
    store.close().await?;
    Ok(code)
}

/// Parses `1,2,3`, `[1, 2, 3]` or `1 2 3`.
/// Queries per `knn_batch` call of `knn --queries`.
const KNN_BATCH: usize = 1_000;

/// `knn --queries FILE`: every query of a JSON Lines file, searched in batches.
async fn knn_many(cli: &Cli, kind: &str, path: &std::path::Path, options: &KnnOptions) -> Result<ExitCode> {
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

fn parse_vector(text: &str) -> Result<Vec<f32>> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<f32>().map_err(|_| {
                Error::new(ErrorKind::InvalidVector, format!("invalid vector component {part:?}: expected a number"))
            })
        })
        .collect()
}

fn list_backends(cli: &Cli) -> Result<ExitCode> {
    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        aliases: &'static [&'static str],
        summary: &'static str,
        capabilities: vectorstore::Capabilities,
    }
    let rows: Vec<Row> = backends()
        .into_iter()
        .map(|r| Row { name: r.name, aliases: r.aliases, summary: r.summary, capabilities: r.capabilities })
        .collect();
    if cli.json {
        json(&rows);
        return Ok(ExitCode::SUCCESS);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let c = &r.capabilities;
            let metrics: Vec<&str> = c.metrics.iter().map(|m| m.as_str()).collect();
            vec![
                r.name.to_owned(),
                metrics.join(","),
                if c.persistent { "yes" } else { "no" }.to_owned(),
                format!("{:?}", c.search).to_lowercase(),
                c.max_dim.to_string(),
                c.max_k.to_string(),
                r.summary.to_owned(),
            ]
        })
        .collect();
    table(&["backend", "metrics", "persistent", "search", "max_dim", "max_k", "summary"], &cells);
    Ok(ExitCode::SUCCESS)
}

async fn health(cli: &Cli, detailed: bool) -> Result<ExitCode> {
    let store = vectorstore::open(&config(cli)?)?;
    // Health never fails: an initialise error shows up as ok=false with its reason (only its
    // kind unless detailed: the message may name a path, a host or a user).
    let init_error = store.initialize().await.err();
    let mut health = if detailed { store.health_detailed().await } else { store.health().await };
    if let Some(err) = init_error {
        health.reason = vectorstore::Health::failed_with(store.backend(), &err, detailed).reason;
    }
    if cli.json {
        json(&health);
    } else {
        let mut rows = vec![
            vec!["ok".to_owned(), health.ok.to_string()],
            vec!["backend".to_owned(), health.backend.clone()],
            vec!["kinds".to_owned(), health.kinds.map_or("unknown".into(), |n| n.to_string())],
            vec!["vectors".to_owned(), health.vectors.map_or("unknown".into(), |n| n.to_string())],
        ];
        if let Some(reason) = &health.reason {
            rows.push(vec!["reason".into(), reason.clone()]);
        }
        if health.degraded {
            rows.push(vec!["degraded".into(), health.fallback.clone().unwrap_or_default()]);
        }
        rows.extend(health.versions.iter().map(|(k, v)| vec![format!("version {k}"), v.clone()]));
        rows.extend(health.detail.iter().map(|(k, v)| vec![k.clone(), v.clone()]));
        table(&["field", "value"], &rows);
    }
    let _ = store.close().await;
    Ok(if health.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn kinds(cli: &Cli) -> Result<ExitCode> {
    let store = open(cli).await?;
    let kinds = store.kinds().await?;
    if cli.json {
        json(&kinds);
    } else {
        let rows: Vec<Vec<String>> = kinds
            .iter()
            .map(|k| {
                let versions: Vec<String> = k.versions.iter().map(|(v, n)| format!("v{v}: {n}")).collect();
                vec![k.kind.clone(), k.dim.to_string(), k.metric.to_string(), k.count.to_string(), versions.join(", ")]
            })
            .collect();
        table(&["kind", "dim", "metric", "count", "versions"], &rows);
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// `purge --kind K --extractor-version V`: checks the arguments, asks (or refuses to without a
/// terminal) unless `--yes`, then removes the version's records natively.
/// Refuses a destructive command without `--yes` when nobody can be asked.
fn confirmable(yes: bool, what: &str) -> Result<()> {
    if yes || std::io::stdin().is_terminal() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!("refusing to {what} without confirmation: standard input is not a terminal; pass --yes"),
    ))
}

/// Asks `question` on the terminal; true when answered yes.
fn confirmed(question: &str) -> Result<bool> {
    err!("{question} [y/N]");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|err| Error::new(ErrorKind::Backend, format!("cannot read the answer: {err}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

async fn purge(cli: &Cli, kind: &str, version: u32, yes: bool) -> Result<ExitCode> {
    vectorstore::validate::delete_version(kind, version)?;
    confirmable(yes, &format!("purge extractor version {version} of kind {kind:?}"))?;
    let store = open(cli).await?;
    if !yes {
        let info = store.kinds().await?.into_iter().find(|info| info.kind == kind);
        let held = info.as_ref().and_then(|info| info.versions.get(&version)).copied().unwrap_or(0);
        let question = format!(
            "remove {held} records of kind {kind} written by extractor version {version} from the {} store?",
            store.backend()
        );
        if !confirmed(&question)? {
            err!("nothing removed");
            return finish(&*store, ExitCode::FAILURE).await;
        }
    }
    let removed = store.delete_version(kind, version).await?;
    if cli.json {
        json(&serde_json::json!({"kind": kind, "extractor_version": version, "removed": removed}));
    } else {
        out!("removed {removed} records of kind {kind}, extractor version {version}");
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// An age for `expire --older-than`: a number with a unit (a bare number is ambiguous).
fn parse_age(text: &str) -> Result<Duration> {
    let invalid = |why: String| Error::new(ErrorKind::InvalidArgument, format!("invalid --older-than {text:?}: {why}"));
    if text.trim().ends_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(invalid("give a unit: s, m, h, d or w (e.g. 180d)".to_owned()));
    }
    vectorstore::parse_duration(text, Duration::from_secs(1)).map_err(invalid)
}

async fn expire(cli: &Cli, kind: &str, older_than: &str, yes: bool) -> Result<ExitCode> {
    vectorstore::validate::kind(kind)?;
    let age = parse_age(older_than)?;
    confirmable(yes, &format!("expire records of kind {kind:?}"))?;
    let store = open(cli).await?;
    let age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
    let cutoff = vectorstore::now_ms().saturating_sub(age_ms);
    if !yes {
        let question = format!(
            "remove every record of kind {kind} last written before {} (older than {older_than}) from the {} store?",
            utc(cutoff),
            store.backend()
        );
        if !confirmed(&question)? {
            err!("nothing removed");
            return finish(&*store, ExitCode::FAILURE).await;
        }
    }
    let removed = store.expire(kind, cutoff).await?;
    if cli.json {
        json(&serde_json::json!({"kind": kind, "written_before_ms": cutoff, "removed": removed}));
    } else {
        out!("removed {removed} records of kind {kind} last written before {}", utc(cutoff));
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(total: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {per_sec} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Feeds transfer progress into one bar per kind.
fn bar_updater() -> (impl FnMut(Progress<'_>), std::rc::Rc<std::cell::RefCell<Option<ProgressBar>>>) {
    let current = std::rc::Rc::new(std::cell::RefCell::new(None::<ProgressBar>));
    let handle = current.clone();
    let update = move |event: Progress<'_>| match event {
        Progress::Kind { kind, total } => {
            if let Some(previous) = handle.borrow_mut().take() {
                previous.finish();
            }
            let bar = progress_bar(total);
            bar.set_prefix(kind.to_owned());
            *handle.borrow_mut() = Some(bar);
        }
        Progress::Records(n) => {
            if let Some(bar) = handle.borrow().as_ref() {
                bar.inc(n);
            }
        }
    };
    (update, current)
}

fn format(format: FileFormat) -> Format {
    match format {
        FileFormat::Jsonl => Format::JsonLines,
        FileFormat::Binary => Format::Binary,
    }
}

async fn export(
    cli: &Cli,
    kinds: &[String],
    output: Option<&std::path::Path>,
    file_format: FileFormat,
) -> Result<ExitCode> {
    let store = open(cli).await?;
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|e| file_error(path, e))?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let (mut update, bar) = bar_updater();
    let options = ExportOptions { kinds: kinds.to_vec(), format: format(file_format), ..ExportOptions::default() };
    let summary = transfer::export(&*store, &mut out, &options, &mut update).await?;
    if let Some(bar) = bar.borrow_mut().take() {
        bar.finish();
    }
    err!("exported {} records of {} kinds", summary.records, summary.kinds);
    finish(&*store, ExitCode::SUCCESS).await
}

async fn import(
    cli: &Cli,
    input: Option<&std::path::Path>,
    batch_size: usize,
    file_format: FileFormat,
) -> Result<ExitCode> {
    let store = open(cli).await?;
    let mut reader: Box<dyn std::io::BufRead> = match input {
        Some(path) => Box::new(BufReader::new(File::open(path).map_err(|e| file_error(path, e))?)),
        None => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    let (mut update, bar) = bar_updater();
    let options = ImportOptions { batch_size, format: format(file_format) };
    let result = transfer::import(&*store, &mut reader, &options, &mut update).await;
    if let Some(bar) = bar.borrow_mut().take() {
        bar.finish();
    }
    let summary = result?;
    if cli.json {
        json(&summary);
    } else {
        out!("imported {} records, {} kind declarations", summary.records, summary.kinds);
        if summary.settle_ms > 0 {
            out!("then built search indexes in {:.1} s", summary.settle_ms as f64 / 1000.0);
        }
    }
    finish(&*store, ExitCode::SUCCESS).await
}

/// Opens the source (`--from`, else `--store`, else the environment's) and the target. The
/// source is only read: an embedded store file is opened read-only (unless
/// `DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY` says otherwise), so that copying from a file the
/// original Python store wrote, or from any other, never changes it.
async fn open_pair(cli: &Cli, from: Option<&str>, to: &str) -> Result<(Arc<dyn VectorStore>, Arc<dyn VectorStore>)> {
    let mut source_config = match from {
        Some(spec) => Config::from_env()?.with_spec(spec)?,
        None => config(cli)?,
    };
    if vectorstore::find_backend(&source_config.backend).is_some_and(|backend| backend.name == "sqlite_vec")
        && source_config.option("sqlite_vec", "read_only").is_none()
    {
        source_config = source_config.with_option("sqlite_vec", "read_only", "true");
    }
    let target_config = Config::from_env()?.with_spec(to)?;
    if source_config.backend == target_config.backend
        && source_config.path == target_config.path
        && source_config.url == target_config.url
        && source_config.backend != "fake"
    {
        return Err(Error::new(ErrorKind::InvalidArgument, "the source and the target are the same store"));
    }
    let source = vectorstore::open(&source_config)?;
    source.initialize().await?;
    let target = vectorstore::open(&target_config)?;
    target.initialize().await?;
    Ok((source, target))
}

async fn copy(cli: &Cli, from: Option<&str>, to: &str, options: &CopyOptions, verify: bool) -> Result<ExitCode> {
    let (source, target) = open_pair(cli, from, to).await?;
    let (mut update, bar) = bar_updater();
    let result = transfer::copy(&*source, &*target, options, &mut update).await;
    if let Some(bar) = bar.borrow_mut().take() {
        bar.finish();
    }
    let report = result?;
    let mut ok = true;
    if cli.json && !verify {
        json(&report);
    } else if !cli.json {
        let rows: Vec<Vec<String>> = report
            .kinds
            .iter()
            .map(|k| {
                vec![
                    k.kind.clone(),
                    k.dim.to_string(),
                    k.metric.to_string(),
                    k.read.to_string(),
                    k.written.to_string(),
                    k.unchanged.to_string(),
                    if k.replaced { "yes" } else { "" }.to_owned(),
                    if k.settle_ms > 0 { format!("{:.1} s", k.settle_ms as f64 / 1000.0) } else { String::new() },
                ]
            })
            .collect();
        table(&["kind", "dim", "metric", "read", "written", "unchanged", "replaced", "index build"], &rows);
        out!(
            "copied {} records of {} kinds from {} to {}",
            report.written(),
            report.kinds.len(),
            source.backend(),
            target.backend()
        );
    }
    if verify {
        let checked = transfer::verify(&*source, &*target, &options.kinds).await?;
        if cli.json {
            json(&serde_json::json!({"copy": report, "verify": checked}));
            ok = checked.ok();
        } else {
            ok = print_verify(cli, &checked);
        }
    }
    source.close().await?;
    finish(&*target, if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
}

/// Prints a verification report; true when both stores agree.
fn print_verify(cli: &Cli, report: &VerifyReport) -> bool {
    if cli.json {
        json(report);
        return report.ok();
    }
    let rows: Vec<Vec<String>> = report
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.clone(),
                format!("{} / {}", k.source_count, k.target_count),
                if k.source_checksum == k.target_checksum {
                    k.source_checksum.clone()
                } else {
                    format!("{} / {}", k.source_checksum, k.target_checksum)
                },
                format!("{} of {}", k.queries - k.query_mismatches, k.queries),
                if k.ok() { "ok" } else { "DIFFERENT" }.to_owned(),
            ]
        })
        .collect();
    table(&["kind", "records (source / target)", "checksum", "searches agreeing", "result"], &rows);
    if report.ok() {
        out!("verified: both stores hold the same data");
    } else {
        err!("verification failed: the stores differ");
    }
    report.ok()
}

fn file_error(path: &std::path::Path, err: std::io::Error) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("cannot open {}: {err}", path.display()))
}

async fn conformance(cli: &Cli, filter: Option<&str>) -> Result<ExitCode> {
    let config = config(cli)?;
    let location =
        config.url.as_deref().map(redact_url).or_else(|| config.path.as_ref().map(|p| p.display().to_string()));
    let factory = ConfigFactory::new(config);
    // Cases report failures by panicking; the outcome carries the message, so keep the default
    // hook from printing each one a second time.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let reports = run_suite(&factory, filter).await;
    std::panic::set_hook(hook);
    let failed = reports.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).count();
    let skipped = reports.iter().filter(|r| matches!(r.outcome, Outcome::Skipped(_))).count();
    let not_applicable = reports.iter().filter(|r| matches!(r.outcome, Outcome::NotApplicable(_))).count();
    if cli.json {
        #[derive(Serialize)]
        struct Row<'a> {
            case: &'a str,
            outcome: &'a str,
            detail: Option<&'a str>,
            millis: u128,
        }
        let rows: Vec<Row> = reports
            .iter()
            .map(|r| {
                let (outcome, detail) = outcome_parts(&r.outcome);
                Row { case: r.case, outcome, detail, millis: r.elapsed.as_millis() }
            })
            .collect();
        json(&serde_json::json!({"backend": vectorstore_conformance::StoreFactory::backend(&factory), "cases": rows}));
    } else {
        out!(
            "conformance of {}{}",
            vectorstore_conformance::StoreFactory::backend(&factory),
            location.map(|l| format!(" at {l}")).unwrap_or_default()
        );
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                let (outcome, detail) = outcome_parts(&r.outcome);
                vec![
                    r.case.to_owned(),
                    outcome.to_owned(),
                    format!("{} ms", r.elapsed.as_millis()),
                    detail.unwrap_or("").to_owned(),
                ]
            })
            .collect();
        table(&["case", "result", "time", "detail"], &rows);
        out!(
            "{} cases: {} passed, {not_applicable} not applicable, {failed} failed, {skipped} skipped",
            reports.len(),
            reports.len() - failed - skipped - not_applicable
        );
    }
    Ok(if failed == 0 && (skipped == 0 || reports.is_empty()) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn outcome_parts(outcome: &Outcome) -> (&'static str, Option<&str>) {
    match outcome {
        Outcome::Passed => ("pass", None),
        Outcome::NotApplicable(why) => ("n/a", Some(why.as_str())),
        Outcome::Skipped(reason) => ("skipped", Some(reason.as_str())),
        Outcome::Failed(message) => ("FAIL", Some(message.lines().next().unwrap_or(""))),
    }
}

async fn run_demo(cli: &Cli, options: DemoOptions, keep: Option<&std::path::Path>) -> Result<ExitCode> {
    let temp = tempfile::tempdir()
        .map_err(|e| Error::new(ErrorKind::Config, format!("cannot create a temporary directory: {e}")))?;
    let config = match (&cli.store, keep) {
        (Some(spec), _) => Config::from_env()?.with_spec(spec)?,
        // The embedded default store, never the deployment's own file.
        (None, Some(path)) => Config::default().with_path(path),
        (None, None) => Config::default().with_path(temp.path().join("demo.sqlite")),
    };
    let store = vectorstore::open(&config)?;
    store.initialize().await?;
    let health = store.health().await;
    let bar = progress_bar(None);
    bar.set_prefix("loading sessions");
    let report = demo::run(&*store, &options, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    store.close().await?;
    if cli.json {
        json(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let location = match health.degraded {
        true => None,
        false => config.path.as_ref().map(|p| p.display().to_string()).or(config.url.as_deref().map(redact_url)),
    };
    out!("DECNET vector store demo: re-identifying attackers from behavioural fingerprints");
    out!(
        "store: {}{}{}",
        report.backend,
        location.map(|l| format!(" at {l}")).unwrap_or_default(),
        if health.degraded { format!(" (degraded: {})", health.fallback.unwrap_or_default()) } else { String::new() }
    );
    out!(
        "population: {} attackers, {} stored sessions and {} held-out sessions, {} kinds per session\n",
        report.attackers,
        report.stored_sessions,
        report.held_out_sessions,
        report.kinds.len()
    );
    let rows: Vec<Vec<String>> = report
        .kinds
        .iter()
        .map(|k| vec![k.kind.clone(), k.dim.to_string(), k.metric.to_string(), percent(k.top1_accuracy)])
        .collect();
    table(&["kind", "dim", "metric", "nearest-neighbour accuracy"], &rows);
    out!(
        "\nvote over all kinds: {} of held-out sessions attributed to the right attacker\n",
        percent(report.combined_accuracy)
    );
    let rows: Vec<Vec<String>> = report
        .examples
        .iter()
        .map(|e| {
            let nearest = e.nearest.first().map(|(id, d)| format!("{id} ({d:.3})")).unwrap_or_default();
            vec![
                e.session.clone(),
                e.predicted.clone(),
                percent(e.confidence),
                if e.predicted == e.attacker { "yes" } else { "no" }.to_owned(),
                nearest,
            ]
        })
        .collect();
    table(&["held-out session", "identified as", "vote share", "right", "nearest (first kind)"], &rows);
    out!("\nloaded {:.0} vectors/s; {:.3} ms per knn query", report.load_vectors_per_second, report.mean_query_ms);
    Ok(ExitCode::SUCCESS)
}
