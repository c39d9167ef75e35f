//! `get`: one record (exit status 1 when absent).

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::output::{err, json, table, utc, vector_preview};
use super::store::{finish, open};

/// Prints the record, or says it is absent.
pub async fn run(cli: &Cli, kind: &str, id: &str) -> Result<ExitCode> {
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
