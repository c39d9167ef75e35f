//! `create-kind`: a kind with a dimension and metric, or the confirmation that it has them.

use std::process::ExitCode;

use vectorstore::{Metric, Result};

use super::args::Cli;
use super::output::{json, out};
use super::store::{finish, open};

/// Creates the kind, or confirms it exists with this dimension and metric.
pub async fn run(cli: &Cli, kind: &str, dim: usize, metric: &str) -> Result<ExitCode> {
    let store = open(cli).await?;
    let metric: Metric = metric.parse()?;
    let info = store.create_kind(kind, dim, metric).await?;
    if cli.json {
        json(&info);
    } else {
        out!("kind {} has dimension {} and metric {}", info.kind, info.dim, info.metric);
    }
    finish(&*store, ExitCode::SUCCESS).await
}
