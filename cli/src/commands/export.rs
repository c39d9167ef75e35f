//! `export`: the store (or some kinds) to a file, JSON Lines or binary.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use vectorstore::Result;
use vectorstore::transfer::{self, ExportOptions};

use super::args::{Cli, FileFormat};
use super::input::file_error;
use super::output::err;
use super::progress::bar_updater;
use super::store::{finish, open};

/// Writes the file (standard output without `--output`); the summary goes to standard error.
pub async fn run(
    cli: &Cli,
    kinds: &[String],
    output: Option<&std::path::Path>,
    file_format: FileFormat,
) -> Result<ExitCode> {
    let store = open(cli).await?;
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|e| file_error(path, e))?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let (mut update, bar) = bar_updater();
    let options = ExportOptions { kinds: kinds.to_vec(), format: file_format.into(), ..ExportOptions::default() };
    let summary = transfer::export(&*store, &mut out, &options, &mut update).await?;
    if let Some(bar) = bar.borrow_mut().take() {
        bar.finish();
    }
    err!("exported {} records of {} kinds", summary.records, summary.kinds);
    finish(&*store, ExitCode::SUCCESS).await
}
