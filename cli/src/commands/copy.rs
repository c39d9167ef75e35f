//! `copy`: every kind and record from one store to another, then optionally `verify`.

use std::process::ExitCode;

use vectorstore::Result;
use vectorstore::transfer::{self, CopyOptions};

use super::args::Cli;
use super::output::{json, out, table};
use super::progress::bar_updater;
use super::store::{finish, open_pair};
use super::verify::print_verify;

/// Copies, prints the report, and verifies with `--verify`; exit status 1 on a difference.
pub async fn run(cli: &Cli, from: Option<&str>, to: &str, options: &CopyOptions, verify: bool) -> Result<ExitCode> {
    let (source, target) = open_pair(cli, from, to).await?;
    let (mut update, bar) = bar_updater();
    let result = transfer::copy(&*source, &*target, options, &mut update).await;
    if let Some(bar) = bar.borrow_mut().take() {
        bar.finish();
    }
    let report = result?;
    let mut ok = true;
    if cli.json && !verify {
        json(&report);
    } else if !cli.json {
        let rows: Vec<Vec<String>> = report
            .kinds
            .iter()
            .map(|k| {
                vec![
                    k.kind.clone(),
                    k.dim.to_string(),
                    k.metric.to_string(),
                    k.read.to_string(),
                    k.written.to_string(),
                    k.unchanged.to_string(),
                    if k.replaced { "yes" } else { "" }.to_owned(),
                    if k.settle_ms > 0 { format!("{:.1} s", k.settle_ms as f64 / 1000.0) } else { String::new() },
                ]
            })
            .collect();
        table(&["kind", "dim", "metric", "read", "written", "unchanged", "replaced", "index build"], &rows);
        out!(
            "copied {} records of {} kinds from {} to {}",
            report.written(),
            report.kinds.len(),
            source.backend(),
            target.backend()
        );
    }
    if verify {
        let checked = transfer::verify(&*source, &*target, &options.kinds).await?;
        if cli.json {
            json(&serde_json::json!({"copy": report, "verify": checked}));
            ok = checked.ok();
        } else {
            ok = print_verify(cli, &checked);
        }
    }
    source.close().await?;
    finish(&*target, if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
}
