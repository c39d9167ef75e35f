//! `backends`: the backends compiled into this build, with their capabilities.

use std::process::ExitCode;

use serde::Serialize;
use vectorstore::{Result, backends};

use super::args::Cli;
use super::output::{json, table};

/// Lists the registered backends.
pub fn run(cli: &Cli) -> Result<ExitCode> {
    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        aliases: &'static [&'static str],
        summary: &'static str,
        capabilities: vectorstore::Capabilities,
    }
    let rows: Vec<Row> = backends()
        .into_iter()
        .map(|r| Row { name: r.name, aliases: r.aliases, summary: r.summary, capabilities: r.capabilities })
        .collect();
    if cli.json {
        json(&rows);
        return Ok(ExitCode::SUCCESS);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let c = &r.capabilities;
            let metrics: Vec<&str> = c.metrics.iter().map(|m| m.as_str()).collect();
            vec![
                r.name.to_owned(),
                metrics.join(","),
                if c.persistent { "yes" } else { "no" }.to_owned(),
                format!("{:?}", c.search).to_lowercase(),
                c.max_dim.to_string(),
                c.max_k.to_string(),
                r.summary.to_owned(),
            ]
        })
        .collect();
    table(&["backend", "metrics", "persistent", "search", "max_dim", "max_k", "summary"], &cells);
    Ok(ExitCode::SUCCESS)
}
