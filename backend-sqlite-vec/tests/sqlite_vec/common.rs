//! Shared by the test files: throw-away locations that are removed even when a test fails.

use std::path::PathBuf;

use vectorstore_core::Config;
use vectorstore_sqlite_vec::{NAME, isolate};

/// Removes an isolated location's directory when dropped (also while a failing test unwinds).
pub struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A configuration on a fresh file of its own under the temporary directory (never the
/// default location), and the guard that removes it. Keep the guard alive: `let (config,
/// _scratch) = fresh(..)`.
pub fn fresh(test: &str) -> (Config, Scratch) {
    let config = isolate(&Config::new(NAME), &format!("{test}_{}", std::process::id())).expect("isolate");
    let dir = config.path.as_ref().and_then(|p| p.parent()).expect("isolated configs have a directory").to_path_buf();
    (config, Scratch(dir))
}
