//! Certificates for TLS test servers, generated in the test: a private CA and server
//! certificates it signs, written as PEM files.
//!
//! ```
//! use vectorstore_testkit::servers::tls::TestCa;
//!
//! let dir = std::env::temp_dir().join(format!("tls-doc-{}", std::process::id()));
//! let files = TestCa::new("doc CA").unwrap().write_server_files(&dir, &["localhost"]).unwrap();
//! assert!(std::fs::read_to_string(&files.ca_cert).unwrap().contains("BEGIN CERTIFICATE"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

/// A certificate authority made for one test; nothing outside the test trusts it.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// The PEM files of a TLS server: its CA's certificate, its certificate and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate clients must trust.
    pub ca_cert: PathBuf,
    /// The server's certificate, signed by the CA.
    pub cert: PathBuf,
    /// The server's private key (mode 0600).
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA whose certificate carries `name` as its common name.
    pub fn new(name: &str) -> Result<TestCa, String> {
        let key = KeyPair::generate().map_err(|e| format!("cannot generate a CA key: {e}"))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key).map_err(|e| format!("cannot sign the CA certificate: {e}"))?;
        Ok(TestCa { issuer: Issuer::new(params, key), cert_pem: cert.pem() })
    }

    /// The CA's certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A server certificate and its private key (both PEM) for `names` (host names or IP
    /// addresses, e.g. `localhost`, `127.0.0.1`), signed by this CA.
    pub fn issue(&self, names: &[&str]) -> Result<(String, String), String> {
        let key = KeyPair::generate().map_err(|e| format!("cannot generate a server key: {e}"))?;
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).map_err(|e| format!("bad names {names:?}: {e}"))?;
        params.distinguished_name.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| format!("cannot sign the certificate: {e}"))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Writes `ca.pem`, `server.pem` and `server.key` (mode 0600) into `dir` (created when
    /// missing), with a server certificate for `names`.
    pub fn write_server_files(&self, dir: &Path, names: &[&str]) -> Result<TlsFiles, String> {
        let (cert, key) = self.issue(names)?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let files = TlsFiles { ca_cert: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key") };
        write(&files.ca_cert, &self.cert_pem, 0o644)?;
        write(&files.cert, &cert, 0o644)?;
        write(&files.key, &key, 0o600)?;
        Ok(files)
    }
}

/// Writes the certificate of a new, unrelated CA to `path`: a "wrong CA" for tests.
pub fn write_unrelated_ca(path: &Path) -> Result<(), String> {
    write(path, TestCa::new("unrelated test CA")?.cert_pem(), 0o644)
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// True when `GET path` over TLS on 127.0.0.1:`port`, trusting the CA in `ca_pem` for
/// `server_name`, answers 200 (used for readiness when a server's HTTP port speaks TLS).
pub(crate) fn https_get_ok(port: u16, server_name: &str, ca_pem: &Path, path: &str) -> bool {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    let mut roots = rustls::RootCertStore::empty();
    let Ok(certs) = CertificateDer::pem_file_iter(ca_pem) else { return false };
    for cert in certs.flatten() {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
    else {
        return false;
    };
    let config = builder.with_root_certificates(roots).with_no_client_auth();
    let Ok(name) = ServerName::try_from(server_name.to_owned()) else { return false };
    let Ok(connection) = rustls::ClientConnection::new(Arc::new(config), name) else { return false };
    let timeout = std::time::Duration::from_secs(2);
    let Ok(tcp) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(timeout));
    let _ = tcp.set_write_timeout(Some(timeout));
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    let request = format!("GET {path} HTTP/1.0\r\nHost: {server_name}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}
