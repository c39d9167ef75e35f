//! `import`: a file written by `export`, into the store.

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use vectorstore::Result;
use vectorstore::transfer::{self, ImportOptions};

use super::args::{Cli, FileFormat};
use super::input::file_error;
use super::output::{json, out};
use super::progress::bar_updater;
use super::store::{finish, open};

/// Reads the file (standard input without `--input`) in batches.
pub async fn run(
    cli: &Cli,
    input: Option<&std::path::Path>,
    batch_size: usize,
    file_format: FileFormat,
) -> Result<ExitCode> {
    let store = open(cli).await?;
    let mut reader: Box<dyn std::io::BufRead> = match input {
        Some(path) => Box::new(BufReader::new(File::open(path).map_err(|e| file_error(path, e))?)),
        None => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    let (mut update, bar) = bar_updater();
    let options = ImportOptions { batch_size, format: file_format.into() };
    let result = transfer::import(&*store, &mut reader, &options, &mut update).await;
    if let Some(bar) = bar.borrow_mut().take() {
        bar.finish();
    }
    let summary = result?;
    if cli.json {
        json(&summary);
    } else {
        out!("imported {} records, {} kind declarations", summary.records, summary.kinds);
        if summary.settle_ms > 0 {
            out!("then built search indexes in {:.1} s", summary.settle_ms as f64 / 1000.0);
        }
    }
    finish(&*store, ExitCode::SUCCESS).await
}
