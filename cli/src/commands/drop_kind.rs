//! `drop-kind`: a kind with all its vectors (exit status 1 when absent).

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::delete::report_removed;
use super::store::{finish, open};

/// Drops the kind, or says it is absent.
pub async fn run(cli: &Cli, kind: &str) -> Result<ExitCode> {
    let store = open(cli).await?;
    let removed = store.drop_kind(kind).await?;
    report_removed(cli, removed, &format!("kind {kind}"));
    finish(&*store, if removed { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
}
