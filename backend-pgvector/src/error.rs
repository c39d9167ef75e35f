//! The one place where driver errors become the contract's [`ErrorKind`]s.

use vectorstore_core::{Error, ErrorKind};

use crate::NAME;

/// SQLSTATE of a missing table: a kind dropped (or a schema purged) by someone else.
pub(crate) const UNDEFINED_TABLE: &str = "42P01";

/// SQLSTATE of a statement cancelled by `statement_timeout` (or a cancel request).
const QUERY_CANCELED: &str = "57014";
/// SQLSTATE of a lock not had within `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Maps a driver error to the contract's error, naming what was being done.
///
/// Unreachable or restarting servers (connection failures, pool time-outs, `57P01
/// admin_shutdown`, `57P03 cannot_connect_now`, class 08, too many connections) are
/// `Unavailable`; rejected credentials and missing databases are `Config`; a closed pool is
/// `Closed`; the rest is `Backend`. sqlx's messages carry the server's text and never the
/// connection password.
pub(crate) fn from_sqlx(err: sqlx::Error, action: &str) -> Error {
    let code = sqlstate(&err);
    let kind = kind_of(&err, code.as_deref());
    let message = match (&err, kind) {
        (sqlx::Error::PoolTimedOut, _) => {
            format!("{action}: no connection to the PostgreSQL server could be had in time (is it running?)")
        }
        (sqlx::Error::Tls(_) | sqlx::Error::Io(_), ErrorKind::Config) => format!(
            "{action}: TLS: the server's certificate is not trusted or does not name this host \
             (check DECNET_VECTORSTORE_PGVECTOR_SSLROOTCERT and the URL's host name)"
        ),
        (sqlx::Error::Tls(_), _) => format!("{action}: TLS with the PostgreSQL server failed"),
        _ if matches!(code.as_deref(), Some(QUERY_CANCELED | LOCK_NOT_AVAILABLE)) => format!(
            "{action}: the server stopped the statement at DECNET_VECTORSTORE_PGVECTOR_TIMEOUT_MS \
             (a slow statement or a wait for a lock); it was rolled back"
        ),
        _ => action.to_owned(),
    };
    let mut error = Error::new(kind, message).with_context("backend", NAME);
    if let Some(code) = code {
        error = error.with_context("sqlstate", code);
    }
    error.with_source(err)
}

/// The SQLSTATE of a server error.
pub(crate) fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error().and_then(|db| db.code()).map(|code| code.into_owned())
}

/// True when the error says a table does not exist.
pub(crate) fn is_undefined_table(err: &sqlx::Error) -> bool {
    sqlstate(err).as_deref() == Some(UNDEFINED_TABLE)
}

fn kind_of(err: &sqlx::Error, code: Option<&str>) -> ErrorKind {
    match err {
        // A certificate that is not trusted or names another host: retrying cannot help.
        // (sqlx reports rustls' refusal as an I/O error.)
        sqlx::Error::Tls(_) | sqlx::Error::Io(_) if is_certificate_error(&err.to_string()) => ErrorKind::Config,
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => ErrorKind::Unavailable,
        sqlx::Error::PoolClosed => ErrorKind::Closed,
        sqlx::Error::Configuration(_) => ErrorKind::Config,
        sqlx::Error::Database(_) => match code.unwrap_or_default() {
            // admin_shutdown, crash_shutdown, cannot_connect_now, idle_session_timeout
            "57P01" | "57P02" | "57P03" | "57P05" | "53300" => ErrorKind::Unavailable,
            // statement_timeout or lock_timeout: the server was too slow this time.
            QUERY_CANCELED | LOCK_NOT_AVAILABLE => ErrorKind::Unavailable,
            code if code.starts_with("08") => ErrorKind::Unavailable,
            // invalid_authorization_specification, invalid_password, invalid_catalog_name
            "28000" | "28P01" | "3D000" => ErrorKind::Config,
            _ => ErrorKind::Backend,
        },
        _ => ErrorKind::Backend,
    }
}

/// Whether a TLS error says the server's certificate was refused (rustls' and OpenSSL's words).
fn is_certificate_error(message: &str) -> bool {
    ["certificate", "UnknownIssuer", "NotValidForName", "BadSignature"].iter().any(|sign| message.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(from_sqlx(refused, "insert").kind(), ErrorKind::Unavailable);
        assert_eq!(from_sqlx(sqlx::Error::PoolTimedOut, "knn").kind(), ErrorKind::Unavailable);
        assert_eq!(from_sqlx(sqlx::Error::PoolClosed, "get").kind(), ErrorKind::Closed);
        assert_eq!(from_sqlx(sqlx::Error::RowNotFound, "get").kind(), ErrorKind::Backend);
    }

    #[test]
    fn refused_certificates_are_config_errors_that_say_tls() {
        let refused = std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid peer certificate: UnknownIssuer");
        let err = from_sqlx(sqlx::Error::Io(refused), "initialize");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("TLS") && err.to_string().contains("SSLROOTCERT"), "{err}");
    }
}
