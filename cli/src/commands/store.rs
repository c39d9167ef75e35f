//! Opening the store a command works on (the environment's, or `--store`), and closing it.

use std::process::ExitCode;
use std::sync::Arc;

use vectorstore::{Config, Error, ErrorKind, Result, VectorStore};

use super::args::Cli;

/// The configuration the command works on: the environment's, or `--store`.
pub fn config(cli: &Cli) -> Result<Config> {
    let base = Config::from_env()?;
    match &cli.store {
        Some(spec) => base.with_spec(spec),
        None => Ok(base),
    }
}

/// The command's store, initialised.
pub async fn open(cli: &Cli) -> Result<Arc<dyn VectorStore>> {
    let store = vectorstore::open(&config(cli)?)?;
    store.initialize().await?;
    Ok(store)
}

/// Opens the source (`--from`, else `--store`, else the environment's) and the target. The
/// source is only read: an embedded store file is opened read-only (unless
/// `DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY` says otherwise), so that copying from a file the
/// original Python store wrote, or from any other, never changes it.
pub async fn open_pair(
    cli: &Cli,
    from: Option<&str>,
    to: &str,
) -> Result<(Arc<dyn VectorStore>, Arc<dyn VectorStore>)> {
    let mut source_config = match from {
        Some(spec) => Config::from_env()?.with_spec(spec)?,
        None => config(cli)?,
    };
    if vectorstore::find_backend(&source_config.backend).is_some_and(|backend| backend.name == "sqlite_vec")
        && source_config.option("sqlite_vec", "read_only").is_none()
    {
        source_config = source_config.with_option("sqlite_vec", "read_only", "true");
    }
    let target_config = Config::from_env()?.with_spec(to)?;
    if source_config.backend == target_config.backend
        && source_config.path == target_config.path
        && source_config.url == target_config.url
        && source_config.backend != "fake"
    {
        return Err(Error::new(ErrorKind::InvalidArgument, "the source and the target are the same store"));
    }
    let source = vectorstore::open(&source_config)?;
    source.initialize().await?;
    let target = vectorstore::open(&target_config)?;
    target.initialize().await?;
    Ok((source, target))
}

pub async fn finish(store: &dyn VectorStore, code: ExitCode) -> Result<ExitCode> {
    store.close().await?;
    Ok(code)
}
