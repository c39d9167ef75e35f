//! `purge`: every record of one extractor version of a kind goes.

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::confirm::{confirmable, confirmed};
use super::output::{err, json, out};
use super::store::{finish, open};

/// `purge --kind K --extractor-version V`: checks the arguments, asks (or refuses to without a
/// terminal) unless `--yes`, then removes the version's records natively.
pub async fn run(cli: &Cli, kind: &str, version: u32, yes: bool) -> Result<ExitCode> {
    vectorstore::backend::validate::delete_version(kind, version)?;
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
