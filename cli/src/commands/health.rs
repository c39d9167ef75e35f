//! `health`: the store's health, safe to publish unless `--detailed`.

use std::process::ExitCode;

use vectorstore::Result;

use super::args::Cli;
use super::output::{json, table};
use super::store::config;

/// Prints the health; exit status 1 when not ok.
pub async fn run(cli: &Cli, detailed: bool) -> Result<ExitCode> {
    let store = vectorstore::open(&config(cli)?)?;
    // Health never fails: an initialise error shows up as ok=false with its reason (only its
    // kind unless detailed: the message may name a path, a host or a user).
    let init_error = store.initialize().await.err();
    let mut health = if detailed { store.health_detailed().await } else { store.health().await };
    if let Some(err) = init_error {
        health.reason = vectorstore::Health::failed_with(store.backend(), &err, detailed).reason;
    }
    if cli.json {
        json(&health);
    } else {
        let mut rows = vec![
            vec!["ok".to_owned(), health.ok.to_string()],
            vec!["backend".to_owned(), health.backend.clone()],
            vec!["kinds".to_owned(), health.kinds.map_or("unknown".into(), |n| n.to_string())],
            vec!["vectors".to_owned(), health.vectors.map_or("unknown".into(), |n| n.to_string())],
        ];
        if let Some(reason) = &health.reason {
            rows.push(vec!["reason".into(), reason.clone()]);
        }
        if health.degraded {
            rows.push(vec!["degraded".into(), health.fallback.clone().unwrap_or_default()]);
        }
        rows.extend(health.versions.iter().map(|(k, v)| vec![format!("version {k}"), v.clone()]));
        rows.extend(health.detail.iter().map(|(k, v)| vec![k.clone(), v.clone()]));
        table(&["field", "value"], &rows);
    }
    let _ = store.close().await;
    Ok(if health.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
