//! `verify`: two stores compared by counts, checksums and sampled searches.

use std::process::ExitCode;

use vectorstore::Result;
use vectorstore::transfer::{self, VerifyReport};

use super::args::Cli;
use super::output::{err, json, out, table};
use super::store::{finish, open_pair};

/// Compares the stores; exit status 1 on any difference.
pub async fn run(cli: &Cli, from: Option<&str>, to: &str, kinds: &[String]) -> Result<ExitCode> {
    let (source, target) = open_pair(cli, from, to).await?;
    let report = transfer::verify(&*source, &*target, kinds).await?;
    let ok = print_verify(cli, &report);
    source.close().await?;
    finish(&*target, if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }).await
}

/// Prints a verification report; true when both stores agree.
pub fn print_verify(cli: &Cli, report: &VerifyReport) -> bool {
    if cli.json {
        json(report);
        return report.ok();
    }
    let rows: Vec<Vec<String>> = report
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.clone(),
                format!("{} / {}", k.source_count, k.target_count),
                if k.source_checksum == k.target_checksum {
                    k.source_checksum.clone()
                } else {
                    format!("{} / {}", k.source_checksum, k.target_checksum)
                },
                format!("{} of {}", k.queries - k.query_mismatches, k.queries),
                if k.ok() { "ok" } else { "DIFFERENT" }.to_owned(),
            ]
        })
        .collect();
    table(&["kind", "records (source / target)", "checksum", "searches agreeing", "result"], &rows);
    if report.ok() {
        out!("verified: both stores hold the same data");
    } else {
        err!("verification failed: the stores differ");
    }
    report.ok()
}
