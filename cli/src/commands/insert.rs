//! `insert`: one vector, inserted or replaced.

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::input::parse_vector;
use super::output::{json, out};
use super::store::{finish, open};

/// Inserts or replaces the vector given as text.
pub async fn run(cli: &Cli, kind: &str, id: &str, vector: &str, extractor_version: u32) -> Result<ExitCode> {
    let store = open(cli).await?;
    store.insert(kind, id, &parse_vector(vector)?, extractor_version).await?;
    if cli.json {
        json(&serde_json::json!({"inserted": {"kind": kind, "id": id}}));
    } else {
        out!("stored {kind}/{id}");
    }
    finish(&*store, ExitCode::SUCCESS).await
}
