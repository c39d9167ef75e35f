//! `kinds`: every kind with its dimension, metric, count and count per extractor version.

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::output::{json, table};
use super::store::{finish, open};

/// Prints the kinds.
pub async fn run(cli: &Cli) -> Result<ExitCode> {
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
