//! The `bench` command: runs, reports and soaks.

use std::process::ExitCode;
use std::time::Duration;

use crate::bench::{self, BenchOptions, BenchReport, Workload, plot, soak};
use vectorstore::{Error, ErrorKind, Metric, Result};

use super::args::{BenchAction, BenchRun, BenchWorkload, Cli};
use super::output::{err, json, out, percent, table};
use super::progress::progress_bar;
use super::store::{config, open};

/// Runs `bench`, `bench report` or `bench soak`.
pub async fn run(cli: &Cli, action: Option<&BenchAction>, args: &BenchRun) -> Result<ExitCode> {
    match action {
        None => run_bench(cli, args).await,
        Some(BenchAction::Report { files, plot }) => report(cli, files, plot.as_deref()),
        Some(BenchAction::Soak { seconds, clients, seed }) => {
            let options = soak::SoakOptions {
                duration: Duration::from_secs(*seconds),
                clients: *clients,
                seed: *seed,
                ..soak::SoakOptions::default()
            };
            run_soak(cli, &options).await
        }
    }
}

fn write_file(path: &std::path::Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents)
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("cannot write {}: {e}", path.display())))
}

async fn run_bench(cli: &Cli, args: &BenchRun) -> Result<ExitCode> {
    let config = config(cli)?;
    let store = open(cli).await?;
    let raw = if args.no_raw { None } else { bench::raw::for_config(&config).await? };
    let metric: Metric = args.metric.parse()?;
    let options = BenchOptions {
        workloads: args
            .workload
            .iter()
            .map(|w| match w {
                BenchWorkload::Insert => Workload::Insert,
                BenchWorkload::Knn => Workload::Knn,
                BenchWorkload::Mixed => Workload::Mixed,
                BenchWorkload::Batch => Workload::Batch,
                BenchWorkload::Ties => Workload::Ties,
                BenchWorkload::Zipf => Workload::Zipf,
            })
            .collect(),
        count: args.count,
        dim: args.dim,
        metric,
        batch_size: args.batch_size,
        single_inserts: args.singles,
        queries: args.queries,
        k: args.k,
        mixed_ops: args.mixed_ops,
        scaling: args.scaling.clone(),
        seed: args.seed,
        tie_groups: args.tie_groups.clone(),
        clusters: args.clusters,
        equidistant: args.equidistant,
        zipf_groups: args.zipf_groups,
        ..BenchOptions::default()
    };
    let bar = progress_bar(Some(options.count as u64));
    let result = bench::run(store.clone(), raw, &options, &mut |phase, done, total| {
        bar.set_prefix(phase.to_owned());
        bar.set_length(total.max(1));
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    let mut report = result?;
    report.label = args.label.clone();
    store.close().await?;
    if let Some(path) = &args.output {
        write_file(path, &serde_json::to_string_pretty(&report).unwrap_or_default())?;
    }
    if let Some(path) = &args.plot {
        write_file(path, &plot::latency_vs_n(std::slice::from_ref(&report)))?;
    }
    if cli.json {
        json(&report);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn rate_unit(workload: &str) -> &'static str {
    match workload {
        "insert_many" | "insert" | "index_build" | "zipf_insert_many" | "plain_insert_many" | "zipf_index_build"
        | "plain_index_build" => "vectors/s",
        "knn" | "scaling" | "knn_singles" | "knn_batch" | "ties_group" | "ties_away" | "zipf_data"
        | "zipf_data_group" | "zipf_outside" | "plain_data" | "plain_outside" => "queries/s",
        _ => "ops/s",
    }
}

/// Prints one report's table, its overhead ratios and its memory figure.
pub fn print_report(report: &BenchReport) {
    out!(
        "{} — {} vectors × {} dims, {}, k = {}; {} CPUs ({}), {:.0} GiB",
        report.name(),
        report.count,
        report.dim,
        report.metric,
        report.k,
        report.machine.cpus,
        report.machine.cpu_model,
        report.machine.memory_gib
    );
    let ms = |v: f64| format!("{v:.3}");
    let rows: Vec<Vec<String>> = report
        .measurements
        .iter()
        .map(|m| {
            let latency = m.latency.unwrap_or_default();
            vec![
                m.workload.clone(),
                m.engine.clone(),
                m.clients.to_string(),
                m.n.to_string(),
                format!("{:.0} {}", m.per_second, rate_unit(&m.workload)),
                if m.latency.is_some() { ms(latency.p50_ms) } else { String::new() },
                if m.latency.is_some() { ms(latency.p95_ms) } else { String::new() },
                if m.latency.is_some() { ms(latency.p99_ms) } else { String::new() },
                m.recall.map(percent).unwrap_or_default(),
            ]
        })
        .collect();
    table(&["workload", "engine", "clients", "vectors", "rate", "p50 ms", "p95 ms", "p99 ms", "recall"], &rows);
    for clients in [1, 8] {
        let (Some(store), Some(fake)) = (report.find("knn", "store", clients), report.find("knn", "fake", clients))
        else {
            continue;
        };
        if let (Some(store), Some(fake)) = (store.latency, fake.latency) {
            out!(
                "knn p50 x{clients} relative to the Fake with the same data, in the same rounds: {:.2}× ({:.3} ms vs {:.3} ms)",
                store.p50_ms / fake.p50_ms.max(f64::MIN_POSITIVE),
                store.p50_ms,
                fake.p50_ms
            );
        }
        if clients > 1 {
            // The Fake searches on the clients' own threads, so its latency never includes a
            // wait for a core; a store that waits for a connection counts its queue too.
            out!(
                "knn x{clients} time per search relative to the Fake, from throughput: {:.2}× ({:.0} vs {:.0} searches/s; \
                 the Fake's latency counts no wait for a core, the store's counts its queue)",
                fake.per_second / store.per_second.max(f64::MIN_POSITIVE),
                store.per_second,
                fake.per_second
            );
        }
    }
    if let Some(full) = report.find("knn", "full_scan", 1).and_then(|m| m.latency) {
        let mut parts = Vec::new();
        for engine in ["store", "fake"] {
            if let Some(latency) = report.find("knn", engine, 1).and_then(|m| m.latency) {
                parts.push(format!(
                    "{engine} {:.2}× ({:.3} ms)",
                    latency.p50_ms / full.p50_ms.max(f64::MIN_POSITIVE),
                    latency.p50_ms
                ));
            }
        }
        out!(
            "knn p50 x1 relative to a full exact scan (the Fake with pruning off, {:.3} ms), same rounds: {}",
            full.p50_ms,
            parts.join(", ")
        );
    }
    if let (Some(zipf), Some(plain)) =
        (report.find("zipf_insert_many", "store", 1), report.find("plain_insert_many", "store", 1))
    {
        let build = |workload: &str| report.find(workload, "store", 1).map_or(0.0, |m| m.seconds);
        let (zipf_total, plain_total) =
            (zipf.seconds + build("zipf_index_build"), plain.seconds + build("plain_index_build"));
        out!(
            "load with duplicates relative to a plain kind of the same size: insert_many {:.2}×, with the index build {:.2}× ({:.1} s vs {:.1} s)",
            zipf.seconds / plain.seconds.max(f64::MIN_POSITIVE),
            zipf_total / plain_total.max(f64::MIN_POSITIVE),
            zipf_total,
            plain_total
        );
    }
    let overheads = report.overheads();
    if !overheads.is_empty() {
        let parts: Vec<String> = overheads.iter().map(|(w, c, r)| format!("{w} x{c}: {r:.2}×")).collect();
        out!("backend cost relative to the raw engine: {}", parts.join(", "));
    }
    if let (Some(batch), Some(single)) = (report.find("knn_batch", "store", 1), report.find("knn_singles", "store", 1))
    {
        out!(
            "knn_batch: {:.2}× the throughput of single searches ({} queries)",
            batch.per_second / single.per_second.max(f64::MIN_POSITIVE),
            batch.operations
        );
    }
    if let Some(memory) = report.memory {
        out!(
            "memory: {:.1} MB resident for {:.1} MB of vectors ({:.2}×)",
            memory.resident_bytes as f64 / 1e6,
            memory.raw_bytes as f64 / 1e6,
            memory.ratio
        );
    }
    if let Some(copy) = report.copy {
        out!(
            "in-memory copy: {:.1} MB for {:.1} MB of searched vectors ({:.2}×); searches served from {}",
            copy.copy_bytes as f64 / 1e6,
            copy.raw_bytes as f64 / 1e6,
            copy.ratio,
            copy.served_from
        );
    }
}

/// The columns of [`bench::side_by_side`].
const SIDE_BY_SIDE: [&str; 11] = [
    "store",
    "knn p50 x1 ms",
    "÷ fake",
    "÷ raw",
    "knn x8 q/s",
    "recall@10",
    "knn_batch q/s",
    "÷ singles",
    "insert_many /s",
    "÷ raw",
    "index build s",
];

fn report(cli: &Cli, files: &[std::path::PathBuf], plot_path: Option<&std::path::Path>) -> Result<ExitCode> {
    let mut reports = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("cannot read {}: {e}", file.display())))?;
        let report: BenchReport = serde_json::from_str(&text).map_err(|e| {
            Error::new(ErrorKind::InvalidArgument, format!("{} is not a benchmark report: {e}", file.display()))
        })?;
        reports.push(report);
    }
    if let Some(path) = plot_path {
        let has_scaling = reports.iter().any(|r| r.measurements.iter().any(|m| m.workload == "scaling"));
        let svg = if has_scaling { plot::latency_vs_n(&reports) } else { plot::latency_per_store(&reports) };
        write_file(path, &svg)?;
    }
    if cli.json {
        json(&reports);
    } else {
        for report in &reports {
            print_report(report);
            out!("");
        }
        if reports.len() > 1 {
            out!(
                "side by side (÷ fake: the store's p50 over the Fake's, the memory-speed limit; ÷ raw: over the raw engine's):"
            );
            table(&SIDE_BY_SIDE, &bench::side_by_side(&reports));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_soak(cli: &Cli, options: &soak::SoakOptions) -> Result<ExitCode> {
    let store = open(cli).await?;
    let bar = progress_bar(Some(options.duration.as_secs()));
    bar.set_prefix("soak (seconds)");
    let result = soak::run(store.clone(), options, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    let report = result?;
    store.close().await?;
    if cli.json {
        json(&report);
    } else {
        let total: u64 = report.operations.values().sum();
        out!(
            "soak of {}: {} operations by {} clients in {:.1} s ({:.0} ops/s), {} records at the end",
            report.backend,
            total,
            options.clients,
            report.seconds,
            total as f64 / report.seconds.max(1e-9),
            report.records
        );
        let rows: Vec<Vec<String>> = report.operations.iter().map(|(op, n)| vec![op.clone(), n.to_string()]).collect();
        table(&["operation", "count"], &rows);
        out!("errors: {}; consistency mismatches: {}", report.errors, report.mismatches.len());
        for line in report.problems.iter().chain(&report.mismatches) {
            err!("  {line}");
        }
    }
    Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
