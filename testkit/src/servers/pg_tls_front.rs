//! A TLS front for a PostgreSQL build without SSL support (the PyPI binaries have none): it
//! speaks PostgreSQL's TLS negotiation (an `SSLRequest`, answered `S`, then the handshake)
//! with the generated certificate, and forwards the decrypted stream to the server's plain
//! port. Clients see a server with `ssl=on`; plain connections to the front are refused.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `SSLRequest` and `GSSENCRequest` codes of the PostgreSQL protocol.
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

/// A running front; it stops when this is dropped.
#[derive(Debug)]
pub(crate) struct TlsFront {
    pub(crate) port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a front on a free 127.0.0.1 port for the server on `backend_port`, serving `cert`
/// and `key` (PEM files), on a thread of its own.
pub(crate) fn start(backend_port: u16, cert: &Path, key: &Path) -> Result<TlsFront, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("bad certificate or key: {e}"))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("cannot listen: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("pg-tls-front".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                let accept = async {
                    while let Ok((client, _)) = listener.accept().await {
                        tokio::spawn(serve(client, backend_port, acceptor.clone()));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        })
        .map_err(|e| format!("cannot start the TLS front: {e}"))?;
    Ok(TlsFront { port, stop: Some(stop) })
}

/// One client: TLS negotiation, then bytes both ways until either side closes.
async fn serve(mut client: TcpStream, backend_port: u16, acceptor: tokio_rustls::TlsAcceptor) {
    loop {
        let mut head = [0u8; 8];
        if client.read_exact(&mut head).await.is_err() {
            return;
        }
        let length = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        match (length, code) {
            (8, GSSENC_REQUEST) => {
                if client.write_all(b"N").await.is_err() {
                    return;
                }
            }
            (8, SSL_REQUEST) => break,
            // A plain startup: this server takes TLS only.
            _ => return,
        }
    }
    if client.write_all(b"S").await.is_err() {
        return;
    }
    let Ok(mut tls) = acceptor.accept(client).await else { return };
    let Ok(mut backend) = TcpStream::connect(("127.0.0.1", backend_port)).await else { return };
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
}
