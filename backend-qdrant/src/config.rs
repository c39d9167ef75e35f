//! [`QdrantConfig`]: the server URL and the `DECNET_VECTORSTORE_QDRANT_*` options, parsed and
//! checked once when the store is opened.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use vectorstore_core::limits::MAX_BATCH;
use vectorstore_core::validate::shown;
use vectorstore_core::{Config, Error, ErrorKind, Metric, Result, redact_url, url_host, url_secrets};

use crate::NAME;

/// Every option this backend reads (`DECNET_VECTORSTORE_QDRANT_<KEY>`), declared in its
/// registration: opening a store refuses any other variable under the prefix.
pub const OPTIONS: &[&str] = &[
    "API_KEY",
    "CA_CERT",
    "COLLECTION_PREFIX",
    "TIMEOUT_MS",
    "SHARD_NUMBER",
    "REPLICATION_FACTOR",
    "WRITE_CONSISTENCY",
    "READ_CONSISTENCY",
    "WRITE_ORDERING",
    "ON_DISK",
    "HNSW_M",
    "HNSW_EF_CONSTRUCT",
    "HNSW_EF",
    "EXACT",
    "BATCH_SIZE",
    "ALLOW_PLAINTEXT_API_KEY",
];

/// The gRPC URL used when `DECNET_VECTORSTORE_URL` is unset: a Qdrant on this machine.
pub const DEFAULT_URL: &str = "http://127.0.0.1:6334";

/// Collection-name prefix used when `DECNET_VECTORSTORE_QDRANT_COLLECTION_PREFIX` is unset.
pub const DEFAULT_PREFIX: &str = "decnet_";

/// Request timeout used when `DECNET_VECTORSTORE_QDRANT_TIMEOUT_MS` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Points per upsert request used when `DECNET_VECTORSTORE_QDRANT_BATCH_SIZE` is unset.
pub const DEFAULT_BATCH_SIZE: usize = 256;

/// Bounds of `TIMEOUT_MS`: long enough for a busy cluster, short enough to notice a dead one.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);
const MAX_TIMEOUT: Duration = Duration::from_secs(3_600);

/// Most shards and replicas accepted (far above any real cluster; a typo is caught here, a
/// value the server cannot satisfy is refused by the server).
const MAX_SHARDS: u32 = 1_000;
const MAX_REPLICATION_FACTOR: u32 = 100;

/// Largest HNSW `m`, `ef_construct` or `ef` accepted.
const MAX_HNSW_PARAMETER: u64 = 100_000;

/// Longest collection prefix accepted: with the longest kind (48) and an isolation tag it
/// stays far below Qdrant's 255-byte limit on collection names.
pub const MAX_PREFIX_LEN: usize = 100;

/// How many replicas must acknowledge a write (`WRITE_CONSISTENCY`), turned into the
/// collection's `write_consistency_factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteConsistency {
    /// Every replica of the shard.
    All,
    /// More than half of the replicas (`replication_factor / 2 + 1`).
    Majority,
    /// Exactly this many replicas.
    Replicas(u32),
}

impl WriteConsistency {
    /// The `write_consistency_factor` for a collection with `replication_factor` replicas.
    pub fn factor(self, replication_factor: u32) -> u32 {
        match self {
            WriteConsistency::All => replication_factor,
            WriteConsistency::Majority => replication_factor / 2 + 1,
            WriteConsistency::Replicas(n) => n,
        }
    }
}

impl FromStr for WriteConsistency {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(WriteConsistency::All),
            "majority" | "quorum" => Ok(WriteConsistency::Majority),
            other => match other.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(WriteConsistency::Replicas(n)),
                _ => Err("expected all, majority, quorum or a number of replicas >= 1".to_owned()),
            },
        }
    }
}

/// How many replicas a read consults (`READ_CONSISTENCY`), passed with every read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadConsistency {
    /// Every replica; returns only points present on all of them.
    All,
    /// Every replica; returns points present on most of them.
    Majority,
    /// Half of the replicas + 1.
    Quorum,
    /// Exactly this many replicas.
    Replicas(u64),
}

impl ReadConsistency {
    /// Whether a read with this setting may consult more than one replica.
    pub fn several_replicas(self) -> bool {
        !matches!(self, ReadConsistency::Replicas(1))
    }
}

impl FromStr for ReadConsistency {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(ReadConsistency::All),
            "majority" => Ok(ReadConsistency::Majority),
            "quorum" => Ok(ReadConsistency::Quorum),
            other => match other.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(ReadConsistency::Replicas(n)),
                _ => Err("expected all, majority, quorum or a number of replicas >= 1".to_owned()),
            },
        }
    }
}

/// How writes are ordered between replicas (`WRITE_ORDERING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOrdering {
    /// Writes may be reordered (Qdrant's default, fastest).
    Weak,
    /// Writes go through a dynamically elected leader.
    Medium,
    /// Writes go through the permanent leader: consistent, unavailable while it is down.
    Strong,
}

impl FromStr for WriteOrdering {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "weak" => Ok(WriteOrdering::Weak),
            "medium" => Ok(WriteOrdering::Medium),
            "strong" => Ok(WriteOrdering::Strong),
            _ => Err("expected weak, medium or strong".to_owned()),
        }
    }
}

/// Everything the Qdrant store is configured with. Built by [`QdrantConfig::from_config`];
/// `Debug` never shows the API key.
#[derive(Clone, PartialEq)]
pub struct QdrantConfig {
    /// gRPC URL (`http://host:6334`, or `https://…` for TLS). May hold credentials: show it
    /// only through [`QdrantConfig::shown_url`].
    pub url: String,
    /// Sent as the `api-key` header; a secret.
    pub api_key: Option<String>,
    /// PEM file of the CA that signed the server's certificate (`CA_CERT`), trusted for
    /// `https://` URLs instead of the system's roots.
    pub ca_cert: Option<PathBuf>,
    /// The certificates read from [`QdrantConfig::ca_cert`] when the options were parsed.
    pub ca_pem: Option<Vec<u8>>,
    /// Prepended to every kind to name its collection.
    pub prefix: String,
    /// Timeout of each request (and, capped at 10 s, of connecting).
    pub timeout: Duration,
    /// Shards of each new collection; the server's default when unset.
    pub shard_number: Option<u32>,
    /// Copies of each shard in a cluster; the server's default (1) when unset.
    pub replication_factor: Option<u32>,
    /// Replicas that must acknowledge a write; the server's default (1) when unset.
    pub write_consistency: Option<WriteConsistency>,
    /// Replicas a read consults; the server's default (one) when unset.
    pub read_consistency: Option<ReadConsistency>,
    /// Ordering of writes between replicas; the server's default (weak) when unset.
    pub write_ordering: Option<WriteOrdering>,
    /// Keep vectors on disk (memory-mapped) instead of in RAM.
    pub on_disk: bool,
    /// HNSW graph degree of new collections; the server's default (16) when unset.
    pub hnsw_m: Option<u64>,
    /// HNSW build-time beam width of new collections; the server's default (100) when unset.
    pub hnsw_ef_construct: Option<u64>,
    /// HNSW search-time beam width; the server's default when unset.
    pub hnsw_ef: Option<u64>,
    /// Search by brute force (exact nearest neighbours) instead of the HNSW index.
    pub exact: bool,
    /// Most points sent in one upsert request.
    pub batch_size: usize,
    /// Metric of kinds created by a first insert.
    pub default_metric: Metric,
}

impl fmt::Debug for QdrantConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QdrantConfig")
            .field("url", &self.shown_url())
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("shard_number", &self.shard_number)
            .field("replication_factor", &self.replication_factor)
            .field("write_consistency", &self.write_consistency)
            .field("read_consistency", &self.read_consistency)
            .field("write_ordering", &self.write_ordering)
            .field("on_disk", &self.on_disk)
            .field("hnsw_m", &self.hnsw_m)
            .field("hnsw_ef_construct", &self.hnsw_ef_construct)
            .field("hnsw_ef", &self.hnsw_ef)
            .field("exact", &self.exact)
            .field("batch_size", &self.batch_size)
            .field("default_metric", &self.default_metric)
            .finish()
    }
}

impl QdrantConfig {
    /// Whether reads may consult more than one replica (a `READ_CONSISTENCY` other than 1).
    pub fn reads_several_replicas(&self) -> bool {
        self.read_consistency.is_some_and(ReadConsistency::several_replicas)
    }

    /// Reads the URL and the `DECNET_VECTORSTORE_QDRANT_*` options of `config`. A value that
    /// does not parse or is out of range is a `Config` error naming the variable (the API key
    /// is never repeated).
    pub fn from_config(config: &Config) -> Result<Self> {
        let url = config.url.as_deref().map(str::trim).unwrap_or(DEFAULT_URL).to_owned();
        check_url(&url)?;
        let prefix = config.option(NAME, "COLLECTION_PREFIX").map_or(DEFAULT_PREFIX, str::trim).to_owned();
        check_prefix(&prefix)?;
        let timeout = config
            .duration_option(NAME, "TIMEOUT_MS", Duration::from_millis(1), MIN_TIMEOUT..=MAX_TIMEOUT)?
            .unwrap_or(DEFAULT_TIMEOUT);
        let batch_size = config.ranged_option(NAME, "BATCH_SIZE", 1..=MAX_BATCH)?.unwrap_or(DEFAULT_BATCH_SIZE);
        let ca_cert = config.option(NAME, "CA_CERT").map(str::trim).filter(|path| !path.is_empty()).map(PathBuf::from);
        let ca_pem = ca_cert.as_deref().map(read_ca).transpose()?;
        let options = QdrantConfig {
            url,
            api_key: config.option(NAME, "API_KEY").map(|key| key.trim().to_owned()),
            ca_cert,
            ca_pem,
            prefix,
            timeout,
            shard_number: config.ranged_option(NAME, "SHARD_NUMBER", 1..=MAX_SHARDS)?,
            replication_factor: config.ranged_option(NAME, "REPLICATION_FACTOR", 1..=MAX_REPLICATION_FACTOR)?,
            write_consistency: config.parse_option(NAME, "WRITE_CONSISTENCY")?,
            read_consistency: config.parse_option(NAME, "READ_CONSISTENCY")?,
            write_ordering: config.parse_option(NAME, "WRITE_ORDERING")?,
            on_disk: config.flag_option(NAME, "ON_DISK")?.unwrap_or(false),
            hnsw_m: config.ranged_option(NAME, "HNSW_M", 0..=MAX_HNSW_PARAMETER)?,
            hnsw_ef_construct: config.ranged_option(NAME, "HNSW_EF_CONSTRUCT", 4..=MAX_HNSW_PARAMETER)?,
            hnsw_ef: config.ranged_option(NAME, "HNSW_EF", 1..=MAX_HNSW_PARAMETER)?,
            exact: config.flag_option(NAME, "EXACT")?.unwrap_or(false),
            batch_size,
            default_metric: config.metric,
        };
        let allow_plaintext = config.flag_option(NAME, "ALLOW_PLAINTEXT_API_KEY")?.unwrap_or(false);
        check_transport(&options, allow_plaintext)?;
        if let (Some(WriteConsistency::Replicas(n)), Some(replicas)) =
            (options.write_consistency, options.replication_factor)
            && n > replicas
        {
            return Err(invalid(
                "WRITE_CONSISTENCY",
                &n.to_string(),
                &format!("more than the replication factor {replicas}"),
            ));
        }
        Ok(options)
    }

    /// The URL with any password or secret query parameter replaced by `***`.
    pub fn shown_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The `write_consistency_factor` of new collections, if configured.
    pub fn write_consistency_factor(&self) -> Option<u32> {
        self.write_consistency.map(|wc| wc.factor(self.replication_factor.unwrap_or(1)))
    }

    /// Time allowed for opening a connection: the request timeout, at most 10 s, so that a
    /// server that is down is reported quickly.
    pub fn connect_timeout(&self) -> Duration {
        self.timeout.min(Duration::from_secs(10))
    }
}

/// The configuration of a namespace named by `tag` on the same server: the collection prefix
/// becomes `<prefix><tag>_`.
pub fn isolate(config: &Config, tag: &str) -> Result<Config> {
    let base = QdrantConfig::from_config(config)?;
    if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(Error::new(
            ErrorKind::Config,
            format!("invalid isolation tag {:?}: expected [a-z0-9_]+", shown(tag)),
        ));
    }
    let prefix = format!("{}{tag}_", base.prefix);
    check_prefix(&prefix)?;
    Ok(config.clone().with_option(NAME, "COLLECTION_PREFIX", prefix))
}

/// Refuses to send an API key (the option, or a secret in the URL) over plain `http://` to a
/// host other than this machine, where anyone on the path reads it; `ALLOW_PLAINTEXT_API_KEY`
/// accepts it knowingly.
fn check_transport(options: &QdrantConfig, allowed: bool) -> Result<()> {
    let credential =
        options.api_key.as_deref().is_some_and(|key| !key.is_empty()) || !url_secrets(&options.url).is_empty();
    let encrypted = options.url.starts_with("https://");
    let host = url_host(&options.url).unwrap_or_default();
    if allowed || encrypted || !credential || vectorstore_core::is_loopback_host(&host) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "refusing to send the Qdrant API key to {:?} over plain http://: use an https:// URL, or set \
             DECNET_VECTORSTORE_QDRANT_ALLOW_PLAINTEXT_API_KEY=true on a network you trust otherwise",
            shown(&host)
        ),
    ))
}

fn check_url(url: &str) -> Result<()> {
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "invalid DECNET_VECTORSTORE_URL {:?} for qdrant: expected the gRPC URL, http://host:6334 or https://host:6334",
                shown(&redact_url(url))
            ),
        ));
    }
    Ok(())
}

/// Reads the CA file of `CA_CERT`: it must hold at least one PEM certificate and nothing
/// malformed, so that a wrong path or file fails when the store is opened, not at the first call.
fn read_ca(path: &Path) -> Result<Vec<u8>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let bad = |why: String| {
        Error::new(ErrorKind::Config, format!("invalid DECNET_VECTORSTORE_QDRANT_CA_CERT {}: {why}", path.display()))
    };
    let pem = std::fs::read(path).map_err(|err| bad(format!("cannot read it: {err}")))?;
    let mut found = 0;
    for item in CertificateDer::pem_slice_iter(&pem) {
        item.map_err(|err| bad(format!("not a PEM certificate file ({err})")))?;
        found += 1;
    }
    if found == 0 {
        return Err(bad("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned()));
    }
    Ok(pem)
}

fn check_prefix(prefix: &str) -> Result<()> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if prefix.len() > MAX_PREFIX_LEN || !prefix.bytes().all(allowed) {
        return Err(invalid(
            "COLLECTION_PREFIX",
            prefix,
            &format!("expected at most {MAX_PREFIX_LEN} of [A-Za-z0-9_-]"),
        ));
    }
    Ok(())
}

fn invalid(key: &str, value: &str, expected: &str) -> Error {
    Error::new(ErrorKind::Config, format!("invalid DECNET_VECTORSTORE_QDRANT_{key} {:?}: {expected}", shown(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_consistency_resolves_against_the_replication_factor() {
        assert_eq!("all".parse::<WriteConsistency>().unwrap().factor(3), 3);
        assert_eq!("Majority".parse::<WriteConsistency>().unwrap().factor(3), 2);
        assert_eq!("quorum".parse::<WriteConsistency>().unwrap().factor(4), 3);
        assert_eq!("2".parse::<WriteConsistency>().unwrap().factor(3), 2);
        assert!("0".parse::<WriteConsistency>().is_err());
        assert!("most".parse::<WriteConsistency>().is_err());
    }

    #[test]
    fn an_api_key_never_leaves_the_machine_over_plain_http_unless_allowed() {
        let open = |url: &str, options: &[(&str, &str)]| {
            let mut config = Config::new(NAME).with_url(url);
            for (key, value) in options {
                config = config.with_option(NAME, key, *value);
            }
            QdrantConfig::from_config(&config)
        };
        for (url, key) in [("http://q.example:6334", Some("sk-1")), ("http://10.0.0.3:6334?api_key=sk-1", None)] {
            let options: Vec<(&str, &str)> = key.map(|key| vec![("API_KEY", key)]).unwrap_or_default();
            let err = open(url, &options).expect_err(url);
            assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
            assert!(err.to_string().contains("ALLOW_PLAINTEXT_API_KEY") && !err.to_string().contains("sk-1"), "{err}");
            let mut allowed = options.clone();
            allowed.push(("ALLOW_PLAINTEXT_API_KEY", "true"));
            open(url, &allowed).expect("allowed explicitly");
        }
        for url in ["https://q.example:6334", "http://127.0.0.1:6334", "http://localhost:6334", "http://[::1]:6334"] {
            open(url, &[("API_KEY", "sk-1")]).unwrap_or_else(|err| panic!("{url}: {err}"));
        }
        open("http://q.example:6334", &[]).expect("no key, nothing to protect");
    }

    #[test]
    fn ca_cert_must_be_a_readable_pem_file() {
        let dir = std::env::temp_dir().join(format!("decnet-qdrant-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n").unwrap();
        let not_pem = dir.join("key.txt");
        std::fs::write(&not_pem, "just some text").unwrap();
        let with = |path: &Path| {
            QdrantConfig::from_config(&Config::new(NAME).with_option(NAME, "CA_CERT", path.display().to_string()))
        };
        let parsed = with(&good).unwrap();
        assert_eq!(parsed.ca_cert.as_deref(), Some(good.as_path()));
        assert!(parsed.ca_pem.is_some());
        for (path, says) in [(dir.join("missing.pem"), "cannot read"), (not_pem, "no PEM certificate")] {
            let err = with(&path).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{err}");
            assert!(err.to_string().contains("CA_CERT") && err.to_string().contains(says), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
