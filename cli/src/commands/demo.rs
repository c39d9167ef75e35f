//! `demo`: synthetic attackers re-identified by their fingerprints.

use std::process::ExitCode;

use vectorstore::{Config, Error, ErrorKind, Result, redact_url};

use super::args::Cli;
use super::output::{json, out, percent, table};
use super::progress::progress_bar;
use crate::demo::{self, DemoOptions};

/// Loads the synthetic population, searches the held-out sessions and prints the accuracy.
pub async fn run(cli: &Cli, options: DemoOptions, keep: Option<&std::path::Path>) -> Result<ExitCode> {
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
    out!("");
    out!("loaded {:.0} vectors/s; {:.3} ms per knn query", report.load_vectors_per_second, report.mean_query_ms);
    Ok(ExitCode::SUCCESS)
}
