//! `expire`: every record of a kind last written longer ago than an age goes.

use std::process::ExitCode;
use std::time::Duration;

use vectorstore::{Error, ErrorKind, Result};

use super::args::Cli;
use super::confirm::{confirmable, confirmed};
use super::output::{err, json, out, utc};
use super::store::{finish, open};

/// An age for `expire --older-than`: a number with a unit (a bare number is ambiguous).
fn parse_age(text: &str) -> Result<Duration> {
    let invalid = |why: String| Error::new(ErrorKind::InvalidArgument, format!("invalid --older-than {text:?}: {why}"));
    if text.trim().ends_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(invalid("give a unit: s, m, h, d or w (e.g. 180d)".to_owned()));
    }
    vectorstore::parse_duration(text, Duration::from_secs(1)).map_err(invalid)
}

/// Checks the arguments, asks (or refuses to without a terminal) unless `--yes`, then removes the old records natively.
pub async fn run(cli: &Cli, kind: &str, older_than: &str, yes: bool) -> Result<ExitCode> {
    vectorstore::backend::validate::kind(kind)?;
    let age = parse_age(older_than)?;
    confirmable(yes, &format!("expire records of kind {kind:?}"))?;
    let store = open(cli).await?;
    let age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
    let cutoff = vectorstore::now_ms().saturating_sub(age_ms);
    if !yes {
        let question = format!(
            "remove every record of kind {kind} last written before {} (older than {older_than}) from the {} store?",
            utc(cutoff),
            store.backend()
        );
        if !confirmed(&question)? {
            err!("nothing removed");
            return finish(&*store, ExitCode::FAILURE).await;
        }
    }
    let removed = store.expire(kind, cutoff).await?;
    if cli.json {
        json(&serde_json::json!({"kind": kind, "written_before_ms": cutoff, "removed": removed}));
    } else {
        out!("removed {removed} records of kind {kind} last written before {}", utc(cutoff));
    }
    finish(&*store, ExitCode::SUCCESS).await
}
