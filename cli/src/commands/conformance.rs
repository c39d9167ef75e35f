//! `conformance`: the behaviour suite against the store, in isolated namespaces.

use std::process::ExitCode;

use serde::Serialize;
use vectorstore::{Result, redact_url};
use vectorstore_conformance::{ConfigFactory, Outcome, run_suite};

use super::args::Cli;
use super::output::{json, out, table};
use super::store::config;

/// Runs the suite (or the cases matching `filter`); exit status 1 when a case fails or is skipped.
pub async fn run(cli: &Cli, filter: Option<&str>) -> Result<ExitCode> {
    let config = config(cli)?;
    let location =
        config.url.as_deref().map(redact_url).or_else(|| config.path.as_ref().map(|p| p.display().to_string()));
    let factory = ConfigFactory::new(config);
    // Cases report failures by panicking; the outcome carries the message, so keep the default
    // hook from printing each one a second time.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let reports = run_suite(&factory, filter).await;
    std::panic::set_hook(hook);
    let failed = reports.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).count();
    let skipped = reports.iter().filter(|r| matches!(r.outcome, Outcome::Skipped(_))).count();
    let not_applicable = reports.iter().filter(|r| matches!(r.outcome, Outcome::NotApplicable(_))).count();
    if cli.json {
        #[derive(Serialize)]
        struct Row<'a> {
            case: &'a str,
            outcome: &'a str,
            detail: Option<&'a str>,
            millis: u128,
        }
        let rows: Vec<Row> = reports
            .iter()
            .map(|r| {
                let (outcome, detail) = outcome_parts(&r.outcome);
                Row { case: r.case, outcome, detail, millis: r.elapsed.as_millis() }
            })
            .collect();
        json(&serde_json::json!({"backend": vectorstore_conformance::StoreFactory::backend(&factory), "cases": rows}));
    } else {
        out!(
            "conformance of {}{}",
            vectorstore_conformance::StoreFactory::backend(&factory),
            location.map(|l| format!(" at {l}")).unwrap_or_default()
        );
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                let (outcome, detail) = outcome_parts(&r.outcome);
                vec![
                    r.case.to_owned(),
                    outcome.to_owned(),
                    format!("{} ms", r.elapsed.as_millis()),
                    detail.unwrap_or("").to_owned(),
                ]
            })
            .collect();
        table(&["case", "result", "time", "detail"], &rows);
        out!(
            "{} cases: {} passed, {not_applicable} not applicable, {failed} failed, {skipped} skipped",
            reports.len(),
            reports.len() - failed - skipped - not_applicable
        );
    }
    Ok(if failed == 0 && (skipped == 0 || reports.is_empty()) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn outcome_parts(outcome: &Outcome) -> (&'static str, Option<&str>) {
    match outcome {
        Outcome::Passed => ("pass", None),
        Outcome::NotApplicable(why) => ("n/a", Some(why.as_str())),
        Outcome::Skipped(reason) => ("skipped", Some(reason.as_str())),
        Outcome::Failed(message) => ("FAIL", Some(message.lines().next().unwrap_or(""))),
    }
}
