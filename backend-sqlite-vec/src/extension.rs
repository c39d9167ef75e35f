//! Compiling sqlite-vec into every SQLite connection of the process.
//!
//! The `sqlite-vec` crate builds the extension's C source into this binary against the SQLite
//! that sqlx bundles, so no system SQLite and no loadable `.so` is involved. SQLite's
//! auto-extension list makes every connection opened afterwards (by this crate or any other
//! user of the bundled SQLite in the process) run the extension's init function.

use std::os::raw::{c_char, c_int};
use std::sync::OnceLock;

use libsqlite3_sys::{SQLITE_OK, sqlite3, sqlite3_api_routines, sqlite3_auto_extension};
use vectorstore_core::{Error, ErrorKind, Result};

/// The signature SQLite calls an extension's entry point with.
type EntryPoint = unsafe extern "C" fn(*mut sqlite3, *mut *mut c_char, *const sqlite3_api_routines) -> c_int;

/// Registers sqlite-vec once per process, before the first connection; later calls return
/// the first call's outcome.
pub(crate) fn register() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), c_int>> = OnceLock::new();
    let outcome = REGISTERED.get_or_init(|| {
        // SAFETY: `sqlite3_vec_init` is sqlite-vec's C entry point, defined as
        // `int sqlite3_vec_init(sqlite3*, char**, const sqlite3_api_routines*)`; the crate
        // declares it as `fn()` only because it exposes it as an opaque symbol, so casting the
        // pointer back to that exact signature is sound. `sqlite3_auto_extension` only stores
        // the pointer (it is thread-safe), and SQLite calls it with valid arguments for each
        // new connection.
        let rc = unsafe {
            let entry: EntryPoint =
                std::mem::transmute::<*const (), EntryPoint>(sqlite_vec::sqlite3_vec_init as *const ());
            sqlite3_auto_extension(Some(entry))
        };
        if rc == SQLITE_OK { Ok(()) } else { Err(rc) }
    });
    outcome.map_err(|rc| {
        Error::new(ErrorKind::Backend, format!("cannot register the sqlite-vec extension (sqlite code {rc})"))
            .with_context("backend", crate::NAME)
    })
}
