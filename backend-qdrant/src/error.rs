//! The one place where Qdrant client errors become contract errors: a server that cannot be
//! reached (refused, reset, timed out, shutting down) is `Unavailable`, anything else
//! `Backend`. Messages never carry the API key or a URL password.

use qdrant_client::QdrantError;

use crate::grpc::SetupError;
use tonic::Code;
use vectorstore_core::{Error, ErrorKind, redact_url, url_secrets};

/// What must never appear in an error: the raw URL (replaced by its redacted form) and the API key.
#[derive(Clone)]
pub(crate) struct Redactor {
    url: String,
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn new(url: &str, api_key: Option<&str>) -> Self {
        // The URL's password and secret parameters too, in case the client prints the URL in
        // another form.
        let mut secrets = url_secrets(url);
        secrets.extend(api_key.filter(|key| !key.is_empty()).map(str::to_owned));
        Redactor { url: url.to_owned(), secrets }
    }

    /// Whether the URL asks for TLS (`https://`).
    pub(crate) fn tls(&self) -> bool {
        self.url.starts_with("https://")
    }

    /// `text` with the URL redacted and the API key and URL password replaced by `***`.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, &redact_url(&self.url));
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }
}

/// The error of a client that could not be set up from the options.
pub(crate) fn setup_error(err: SetupError, redactor: &Redactor) -> Error {
    let message = match err {
        SetupError::Url(why) => format!("invalid DECNET_VECTORSTORE_URL for qdrant: {why}"),
        SetupError::ApiKey => "invalid DECNET_VECTORSTORE_QDRANT_API_KEY: not visible ASCII".to_owned(),
        SetupError::Tls(why) => format!("qdrant TLS setup failed (check DECNET_VECTORSTORE_QDRANT_CA_CERT): {why}"),
    };
    Error::new(ErrorKind::Config, redactor.clean(&message)).with_context("backend", crate::NAME)
}

/// Why a connection failed at the TLS layer, when it did: the server's certificate is not
/// trusted or not valid for the host (`Config`: retrying cannot help), or the two ends do
/// not speak the same protocol (TLS on one side only).
fn tls_failure(message: &str, tls_url: bool) -> Option<&'static str> {
    let certificate = ["InvalidCertificate", "UnknownIssuer", "NotValidForName", "BadSignature", "certificate"];
    if certificate.iter().any(|sign| message.contains(sign)) {
        return Some(
            "TLS: the server's certificate is not trusted or does not name this host \
             (check DECNET_VECTORSTORE_QDRANT_CA_CERT and the URL's host name)",
        );
    }
    if message.contains("answered with TLS") {
        return Some("TLS: the server expects TLS on this port; use an https:// URL");
    }
    let mismatch = ["InvalidContentType", "CorruptMessage", "InvalidMessage", "AlertReceived", "HandshakeFailure"];
    if tls_url && mismatch.iter().any(|sign| message.contains(sign)) {
        return Some("TLS handshake failed: does the server have TLS enabled on this port? (else use http://)");
    }
    None
}

/// Whether the server said the collection (or another object) does not exist.
pub(crate) fn is_not_found(err: &QdrantError) -> bool {
    status(err).is_some_and(|(code, message)| {
        code == Code::NotFound || (code == Code::InvalidArgument && message.contains("doesn't exist"))
    })
}

/// Whether creating a collection failed because it exists already (another process won the race).
pub(crate) fn is_already_exists(err: &QdrantError) -> bool {
    status(err).is_some_and(|(code, message)| code == Code::AlreadyExists || message.contains("already exists"))
}

/// Whether a write was refused because the collection's vector size differs (the kind was
/// dropped and re-created with another dimension by another process).
pub(crate) fn is_dimension_error(err: &QdrantError) -> bool {
    status(err).is_some_and(|(code, message)| code == Code::InvalidArgument && message.contains("dimension"))
}

/// Whether an ordered scroll was refused because its field has no range index yet.
pub(crate) fn is_missing_order_index(err: &QdrantError) -> bool {
    status(err).is_some_and(|(code, message)| code == Code::InvalidArgument && message.contains("order_by"))
}

/// A facet on a field whose payload index is not applied yet (a collection created moments
/// ago, whose index request was queued without waiting).
pub(crate) fn is_missing_facet_index(err: &QdrantError) -> bool {
    status(err).is_some_and(|(code, message)| code == Code::InvalidArgument && message.contains("index for faceting"))
}

fn status(err: &QdrantError) -> Option<(Code, &str)> {
    match err {
        QdrantError::ResponseError { status } | QdrantError::ResourceExhaustedError { status, .. } => {
            Some((status.code(), status.message()))
        }
        _ => None,
    }
}

/// Maps a client error of operation `what` (e.g. `upsert into decnet_ja3`) to the contract.
pub(crate) fn map_error(err: QdrantError, what: &str, redactor: &Redactor) -> Error {
    let (kind, detail) = match &err {
        QdrantError::ResponseError { status } | QdrantError::ResourceExhaustedError { status, .. } => {
            let tls = tls_failure(status.message(), redactor.tls());
            let kind = match status.code() {
                // A missing or wrong API key: retrying cannot help, the configuration must change.
                Code::Unauthenticated | Code::PermissionDenied => ErrorKind::Config,
                // The same for a certificate that is not trusted or TLS on one side only.
                Code::Internal | Code::Unknown | Code::Unavailable if tls.is_some() => ErrorKind::Config,
                code if is_unreachable(code, status.message()) => ErrorKind::Unavailable,
                _ => ErrorKind::Backend,
            };
            let hint = match tls {
                Some(tls) => format!(" ({tls})"),
                None if kind == ErrorKind::Config => " (check DECNET_VECTORSTORE_QDRANT_API_KEY)".to_owned(),
                None => String::new(),
            };
            (kind, format!("{:?}: {}{hint}", status.code(), status.message()))
        }
        QdrantError::Io(io) => (ErrorKind::Unavailable, io.to_string()),
        QdrantError::InvalidUri(uri) => (ErrorKind::Config, uri.to_string()),
        other => (ErrorKind::Backend, other.to_string()),
    };
    // The client's own Display adds response metadata; only code and message are kept, cleaned.
    Error::new(kind, redactor.clean(&format!("qdrant {what} failed: {detail}")))
        .with_context("backend", crate::NAME)
        .with_redacted_source(&err, |text| redactor.clean(text))
}

/// True for the failures that mean "the server cannot be reached right now".
fn is_unreachable(code: Code, message: &str) -> bool {
    match code {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted | Code::Aborted => true,
        // The client reports a refused connection as Internal "Failed to connect to …", and a
        // connection lost mid-request as Unknown "transport error".
        Code::Internal | Code::Unknown => {
            let message = message.to_ascii_lowercase();
            // A cluster peer that cannot be reached, or an update Qdrant says to retry.
            [
                "failed to connect",
                "transport error",
                "connection",
                "broken pipe",
                "timed out",
                "timeout",
                "connect error",
                "currently unavailable",
                "please retry",
                "read operations failed",
            ]
            .iter()
            .any(|sign| message.contains(sign))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_servers_are_unavailable_and_secrets_are_hidden() {
        let redactor = Redactor::new("https://user:pw@q.example:6334", Some("sk-123"));
        let refused = QdrantError::ResponseError {
            status: tonic::Status::internal("Failed to connect to https://user:pw@q.example:6334: sk-123 refused"),
        };
        let err = map_error(refused, "search", &redactor);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("pw@") && !shown.contains("sk-123"), "{shown}");
        let bad = QdrantError::ResponseError { status: tonic::Status::invalid_argument("bad filter") };
        assert_eq!(map_error(bad, "search", &redactor).kind(), ErrorKind::Backend);
        let down = QdrantError::ResponseError { status: tonic::Status::unavailable("shutting down") };
        assert_eq!(map_error(down, "search", &redactor).kind(), ErrorKind::Unavailable);
        let denied = QdrantError::ResponseError { status: tonic::Status::unauthenticated("Invalid api-key") };
        assert_eq!(map_error(denied, "search", &redactor).kind(), ErrorKind::Config);
        // Messages of a cluster whose peer is down or whose replicas are not ready.
        for message in [
            "Service internal error: Tonic status error: code: 'The service is currently unavailable', message: \"tcp connect error\"",
            "Service internal error: 1 out of 3 shards failed to apply operation. First error captured: Service internal \
             error: Failed to apply operation to at least one `Active` replica. Consistency of this update is not \
             guaranteed. Please retry.",
            "Service internal error: 0 of 0 read operations failed",
            "Service internal error: Waiting for consensus operation commit failed. Timeout set at: 10 seconds",
        ] {
            let err = QdrantError::ResponseError { status: tonic::Status::internal(message) };
            assert_eq!(map_error(err, "upsert", &redactor).kind(), ErrorKind::Unavailable, "{message}");
        }
        let reshaped = QdrantError::ResponseError {
            status: tonic::Status::internal("Failed to connect to https://user:pw@q.example:6334/"),
        };
        assert!(!map_error(reshaped, "search", &redactor).to_string().contains(":pw@"));
    }
}
