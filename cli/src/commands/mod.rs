//! Argument parsing and dispatch. Every command prints a human table by default and JSON with
//! `--json`; an error prints one line on stderr and exits with status 1. Each command's body is
//! in the module of its name; what several share (opening the store, progress bars, questions,
//! reading vectors and files, output) in modules of their own.

mod args;
mod backends;
mod bench;
mod confirm;
mod conformance;
mod copy;
mod create_kind;
mod delete;
mod demo;
mod drop_kind;
mod expire;
mod export;
mod get;
mod health;
mod import;
mod input;
mod insert;
mod kinds;
mod knn;
mod output;
mod progress;
mod purge;
mod store;
mod verify;

use std::process::ExitCode;

use clap::Parser;
use vectorstore::transfer::CopyOptions;
use vectorstore::{KnnOptions, Result};

use args::{Cli, Command};
use output::err;

/// Parses arguments, runs the command, and maps errors to one line and exit status 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            err!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(addr) = cli.metrics_addr {
        let _entered = runtime.enter();
        if let Err(err) = serve_metrics(addr) {
            err!("error: cannot serve metrics at {addr}: {err}");
            return ExitCode::FAILURE;
        }
    }
    match runtime.block_on(run(&cli)) {
        Ok(code) => code,
        Err(err) => {
            err!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the Prometheus exporter as the process's metrics recorder, listening on `addr`
/// (the current runtime serves it). Operation latencies become histograms with buckets from
/// 50 µs to 30 s.
fn serve_metrics(addr: std::net::SocketAddr) -> Result<(), String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    const BUCKETS: [f64; 16] = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
    ];
    // Bind first, so a taken or forbidden address is an error here rather than a log line of
    // the exporter's background task.
    drop(std::net::TcpListener::bind(addr).map_err(|err| err.to_string())?);
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Full(vectorstore::instrument::OPERATION_SECONDS.to_owned()), &BUCKETS)
        .map_err(|err| err.to_string())?
        .install()
        .map_err(|err| err.to_string())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Escaped lines, so no colours: a logged id or kind may carry its own escape sequences.
        .with_writer(|| output::EscapedLines(std::io::stderr()))
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Runs the parsed command.
async fn run(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Backends => backends::run(cli),
        Command::Health { detailed } => health::run(cli, *detailed).await,
        Command::Kinds => kinds::run(cli).await,
        Command::Purge { kind, extractor_version, yes } => purge::run(cli, kind, *extractor_version, *yes).await,
        Command::Expire { kind, older_than, yes } => expire::run(cli, kind, older_than, *yes).await,
        Command::CreateKind { kind, dim, metric } => create_kind::run(cli, kind, *dim, metric).await,
        Command::Insert { kind, id, vector, extractor_version } => {
            insert::run(cli, kind, id, vector, *extractor_version).await
        }
        Command::Get { kind, id } => get::run(cli, kind, id).await,
        Command::Delete { kind, id } => delete::run(cli, kind, id).await,
        Command::DropKind { kind } => drop_kind::run(cli, kind).await,
        Command::Knn { kind, vector, queries, k, extractor_version, max_distance, distinct, ids_per_vector } => {
            let options = KnnOptions { k: *k, extractor_version: *extractor_version, max_distance: *max_distance };
            let vector = vector.as_deref().unwrap_or_default();
            match queries {
                Some(path) => knn::run_many(cli, kind, path, &options).await,
                None if *distinct => knn::run_distinct(cli, kind, vector, &options, *ids_per_vector).await,
                None => knn::run(cli, kind, vector, &options).await,
            }
        }
        Command::Export { kinds, output, format } => export::run(cli, kinds, output.as_deref(), *format).await,
        Command::Import { input, batch_size, format } => import::run(cli, input.as_deref(), *batch_size, *format).await,
        Command::Copy { from, to, kinds, batch_size, replace_kind, verify } => {
            let options = CopyOptions {
                kinds: kinds.clone(),
                batch_size: *batch_size,
                replace_kind: *replace_kind,
                ..CopyOptions::default()
            };
            copy::run(cli, from.as_deref(), to, &options, *verify).await
        }
        Command::Verify { from, to, kinds } => verify::run(cli, from.as_deref(), to, kinds).await,
        Command::Conformance { filter } => conformance::run(cli, filter.as_deref()).await,
        Command::Bench { action, run } => bench::run(cli, action.as_ref(), run).await,
        Command::Demo { attackers, sessions, seed, keep } => {
            let options = crate::demo::DemoOptions {
                attackers: *attackers,
                sessions_per_attacker: *sessions,
                seed: *seed,
                ..crate::demo::DemoOptions::default()
            };
            demo::run(cli, options, keep.as_deref()).await
        }
    }
}
