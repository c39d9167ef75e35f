//! The one place where sqlx and SQLite errors become contract errors.
//!
//! | what SQLite / sqlx says | at `initialize` | afterwards |
//! |---|---|---|
//! | `SQLITE_BUSY`, `SQLITE_LOCKED` (another process holds the write lock past the busy timeout), pool timeout | `Unavailable` | `Unavailable` |
//! | `SQLITE_CANTOPEN`, `SQLITE_READONLY`, `SQLITE_PERM`, `SQLITE_NOTADB`, `SQLITE_AUTH`, `SQLITE_NOLFS`, `SQLITE_IOERR`, I/O errors | `Config`, naming the path: the location is unusable | `Backend` |
//! | the pool was closed by `close()` | `Closed` | `Closed` |
//! | anything else | `Backend` | `Backend` |
//!
//! Location problems are `Config` because they are fixed by changing `DECNET_VECTORSTORE_PATH`
//! (or the file's permissions), not by retrying.

use std::path::Path;

use vectorstore_core::{Error, ErrorKind};

use crate::NAME;

// Primary SQLite result codes (the low byte of an extended code).
const SQLITE_PERM: i32 = 3;
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOLFS: i32 = 22;
const SQLITE_AUTH: i32 = 23;
const SQLITE_NOTADB: i32 = 26;

/// What an error means for the caller, before it is phrased for a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Another process holds the lock, or every connection is busy: retry later.
    Busy,
    /// The file cannot be opened, created or written where it is.
    Location,
    /// The store was closed while the call was waiting.
    Closed,
    /// Anything else the engine reports.
    Other,
}

fn classify(err: &sqlx::Error) -> Class {
    match err {
        sqlx::Error::PoolTimedOut => Class::Busy,
        sqlx::Error::PoolClosed => Class::Closed,
        sqlx::Error::Io(_) => Class::Location,
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            match code & 0xff {
                SQLITE_BUSY | SQLITE_LOCKED => Class::Busy,
                SQLITE_CANTOPEN | SQLITE_READONLY | SQLITE_PERM | SQLITE_NOTADB | SQLITE_AUTH | SQLITE_NOLFS
                | SQLITE_IOERR => Class::Location,
                _ => Class::Other,
            }
        }
        _ => Class::Other,
    }
}

/// True when `err` means another connection holds a lock SQLite did not wait for.
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    classify(err) == Class::Busy
}

/// The engine's own words for `err`, without sqlx's prefix.
fn reason(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (sqlite code {code})", db.message()),
            None => db.message().to_owned(),
        },
        other => other.to_string(),
    }
}

/// An error of operation `operation` (`insert`, `knn`, ...) on an open store.
pub(crate) fn operation_error(err: sqlx::Error, operation: &'static str) -> Error {
    let kind = match classify(&err) {
        Class::Busy => ErrorKind::Unavailable,
        Class::Closed => ErrorKind::Closed,
        Class::Location | Class::Other => ErrorKind::Backend,
    };
    Error::new(kind, format!("{NAME} {operation} failed: {}", reason(&err))).with_source(err)
}

/// An error met while opening the file at `path` in `initialize`.
pub(crate) fn open_error(err: sqlx::Error, path: &Path) -> Error {
    let kind = match classify(&err) {
        Class::Busy => ErrorKind::Unavailable,
        Class::Location => ErrorKind::Config,
        Class::Closed => ErrorKind::Closed,
        Class::Other => ErrorKind::Backend,
    };
    location_error(kind, path, &reason(&err)).with_source(err)
}

/// A problem with the location itself (its directory cannot be created, it is a directory, ...).
pub(crate) fn location_error(kind: ErrorKind, path: &Path, problem: &str) -> Error {
    Error::new(kind, format!("cannot open the {NAME} store at {} (DECNET_VECTORSTORE_PATH): {problem}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_states_have_their_kinds() {
        assert_eq!(operation_error(sqlx::Error::PoolTimedOut, "insert").kind(), ErrorKind::Unavailable);
        assert_eq!(operation_error(sqlx::Error::PoolClosed, "insert").kind(), ErrorKind::Closed);
        let err = open_error(sqlx::Error::Io(std::io::Error::other("denied")), Path::new("/x/v.sqlite"));
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("/x/v.sqlite"), "{err}");
        assert_eq!(operation_error(sqlx::Error::RowNotFound, "get").kind(), ErrorKind::Backend);
    }
}
