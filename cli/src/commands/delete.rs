//! `delete`: one record (exit status 1 when absent).

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::output::{err, json, out};
use super::store::{finish, open};

/// Deletes the record, or says it is absent.
pub async fn run(cli: &Cli, kind: &str, id: &str) -> Result<ExitCode> {
    let store = open(cli).await?;
    let removed = store.delete(kind, id).await?;
    report_removed(cli, removed, &format!("{kind}/{id}"));
    finish(&*store, if removed { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
}

pub fn report_removed(cli: &Cli, removed: bool, what: &str) {
    if cli.json {
        json(&serde_json::json!({ "removed": removed }));
    } else if removed {
        out!("removed {what}");
    } else {
        err!("{what} not found");
    }
}
