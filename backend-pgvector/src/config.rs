//! Typed configuration of the pgvector backend, read from `DECNET_VECTORSTORE_URL` and the
//! `DECNET_VECTORSTORE_PGVECTOR_*` options.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `DECNET_VECTORSTORE_URL` | `postgres://user:password@host:5432/database[?sslmode=…]` | required |
//! | `DECNET_VECTORSTORE_PGVECTOR_SCHEMA` | schema holding the store's tables (`^[a-z_][a-z0-9_]{0,62}$`, not `pg_*`) | `decnet_vectorstore` |
//! | `DECNET_VECTORSTORE_PGVECTOR_POOL_SIZE` | most connections the store opens | `10` |
//! | `DECNET_VECTORSTORE_PGVECTOR_ACQUIRE_TIMEOUT_MS` | how long a call waits for a connection before failing with `Unavailable` | `5000` |
//! | `DECNET_VECTORSTORE_PGVECTOR_INDEX` | `hnsw` (approximate, indexed) or `none` (exact scans) | `hnsw` |
//! | `DECNET_VECTORSTORE_PGVECTOR_HNSW_M` | HNSW links per node (2..=100), for kinds created afterwards | `16` |
//! | `DECNET_VECTORSTORE_PGVECTOR_HNSW_EF_CONSTRUCTION` | HNSW build candidate list (4..=1000, at least 2 × m) | `256` |
//! | `DECNET_VECTORSTORE_PGVECTOR_HNSW_EF_SEARCH` | HNSW search candidate list (1..=1000); raised to 4 × k per query | `200` |
//! | `DECNET_VECTORSTORE_PGVECTOR_INDEX_DELAY_MS` | a kind's HNSW index is built once no write reached it for this long (0..=3,600,000) | `2000` |
//! | `DECNET_VECTORSTORE_PGVECTOR_BUILD_MEMORY_MB` | `maintenance_work_mem` of an index build (1..=1,048,576) | `512` |
//! | `DECNET_VECTORSTORE_PGVECTOR_BUILD_WORKERS` | `max_parallel_maintenance_workers` of an index build (0..=64) | `2` |
//! | `DECNET_VECTORSTORE_PGVECTOR_SSLMODE` | `disable`, `prefer`, `require`, `verify-ca`, `verify-full` (overrides the URL's `sslmode`) | the URL's, else `prefer` |
//! | `DECNET_VECTORSTORE_PGVECTOR_SSLROOTCERT` | CA certificate file for `verify-ca` / `verify-full` | the URL's `sslrootcert`, else system roots |
//! | `DECNET_VECTORSTORE_PGVECTOR_ALLOW_PLAINTEXT_PASSWORD` | `true` lets a password go to a host other than this machine with an `sslmode` below `require` (refused otherwise) | `false` |

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use vectorstore_core::validate::shown;
use vectorstore_core::{Config, Error, ErrorKind, Metric, Result, redact_url};

use crate::NAME;

/// Every option this backend reads (`DECNET_VECTORSTORE_PGVECTOR_<KEY>`), declared in its
/// registration: opening a store refuses any other variable under the prefix.
pub const OPTIONS: &[&str] = &[
    "SCHEMA",
    "POOL_SIZE",
    "ACQUIRE_TIMEOUT_MS",
    "TIMEOUT_MS",
    "INDEX",
    "HNSW_M",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "INDEX_DELAY_MS",
    "BUILD_MEMORY_MB",
    "BUILD_WORKERS",
    "SSLMODE",
    "SSLROOTCERT",
    "ALLOW_PLAINTEXT_PASSWORD",
];

/// Schema used when `DECNET_VECTORSTORE_PGVECTOR_SCHEMA` is unset.
pub const DEFAULT_SCHEMA: &str = "decnet_vectorstore";
/// Connections in the pool when `POOL_SIZE` is unset.
pub const DEFAULT_POOL_SIZE: u32 = 10;
/// Milliseconds a call waits for a connection when `ACQUIRE_TIMEOUT_MS` is unset.
pub const DEFAULT_ACQUIRE_TIMEOUT_MS: u64 = 5_000;

/// Default of `DECNET_VECTORSTORE_PGVECTOR_TIMEOUT_MS`: long enough for a batch of 10,000
/// vectors into an HNSW-indexed kind on a small server (about 20 s on 2 cores).
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// Bounds of `TIMEOUT_MS`.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3_600);

/// Bounds of `ACQUIRE_TIMEOUT_MS`.
const MIN_ACQUIRE: Duration = Duration::from_millis(1);
const MAX_ACQUIRE: Duration = Duration::from_secs(3_600);
/// HNSW defaults, above pgvector's (m 16, ef_construction 64, ef_search 40): behavioural
/// fingerprints form tight clusters (many sessions per tool), where HNSW can miss a whole
/// cluster for a query that falls between clusters. On such data (the conformance suite's:
/// 2,000 cosine vectors of 32 dimensions in 10 clusters, queries between them) recall@10
/// measured 0.79–0.94 with pgvector's defaults, 0.91–0.97 with ef_search 200–300, 0.95–0.99
/// with ef_construction 128, and 1.0 with ef_construction 256 and ef_search 200, for about 40%
/// more insert time than ef_construction 64.
pub const DEFAULT_HNSW: HnswParams = HnswParams { m: 16, ef_construction: 256, ef_search: 200 };
/// Index builds when `INDEX_DELAY_MS`, `BUILD_MEMORY_MB` and `BUILD_WORKERS` are unset.
pub const DEFAULT_BUILD: IndexBuild = IndexBuild { delay: Duration::from_millis(2_000), memory_mb: 512, workers: 2 };
/// Largest `hnsw.ef_search` pgvector accepts.
pub const MAX_EF_SEARCH: u32 = 1_000;
/// PostgreSQL truncates identifiers longer than this many bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// How kinds are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// An HNSW index per kind (approximate; dimensions up to 2,000, larger kinds are scanned exactly).
    Hnsw,
    /// No index: every search is an exact scan.
    None,
}

impl FromStr for IndexKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hnsw" => Ok(IndexKind::Hnsw),
            "none" | "exact" => Ok(IndexKind::None),
            _ => Err("expected hnsw or none".to_owned()),
        }
    }
}

/// HNSW parameters: `m` and `ef_construction` apply to indexes created from now on,
/// `ef_search` to every search (raised to 4 × k, and at least k + 1, for larger k).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node.
    pub m: u32,
    /// Candidate list size while building.
    pub ef_construction: u32,
    /// Candidate list size while searching.
    pub ef_search: u32,
}

/// How a kind's HNSW index is built: once, after its load, rather than row by row (see
/// [`PgVectorStore`](crate::PgVectorStore)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexBuild {
    /// Quiet time after the last write to a kind without an index before it is built.
    pub delay: Duration,
    /// `maintenance_work_mem` of the build, in MiB (a graph larger than this builds slower).
    pub memory_mb: u32,
    /// `max_parallel_maintenance_workers` of the build (the server's own limits still apply).
    pub workers: u32,
}

/// TLS to the server, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS always; the certificate is not verified unless a root certificate is given.
    Require,
    /// TLS with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS with a trusted certificate whose name matches the host.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            _ => Err("expected disable, prefer, require, verify-ca or verify-full".to_owned()),
        }
    }
}

impl From<SslMode> for PgSslMode {
    fn from(mode: SslMode) -> Self {
        match mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        }
    }
}

/// Everything the pgvector store needs, parsed and checked. `Debug` shows the URL with its
/// password replaced by `***`; the password itself lives only inside the connection options,
/// which are never printed.
#[derive(Clone)]
pub struct PgVectorConfig {
    connect: PgConnectOptions,
    redacted_url: String,
    /// Schema holding the store's tables.
    pub schema: String,
    /// Most connections in the pool.
    pub pool_size: u32,
    /// How long a call waits for a connection.
    pub acquire_timeout: Duration,
    /// Longest one operation may wait for the server, connection included, before it is
    /// `Unavailable` (a hung or stopped server, a network that drops packets).
    pub timeout: Duration,
    /// HNSW or exact scans.
    pub index: IndexKind,
    /// HNSW parameters (used when `index` is HNSW).
    pub hnsw: HnswParams,
    /// When and with what resources HNSW indexes are built.
    pub build: IndexBuild,
    /// TLS mode set by option, if any (else the URL's).
    pub ssl_mode: Option<SslMode>,
    /// CA certificate set by option, if any.
    pub ssl_root_cert: Option<PathBuf>,
    /// Metric of kinds created by a first insert.
    pub default_metric: Metric,
}

impl fmt::Debug for PgVectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgVectorConfig")
            .field("url", &self.redacted_url)
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("timeout", &self.timeout)
            .field("index", &self.index)
            .field("hnsw", &self.hnsw)
            .field("build", &self.build)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("default_metric", &self.default_metric)
            .finish()
    }
}

impl PgVectorConfig {
    /// Reads and checks the pgvector settings of `config`; any problem is a `Config` error
    /// naming the variable (never repeating a password).
    pub fn from_config(config: &Config) -> Result<Self> {
        let url = config.url.as_deref().map(str::trim).filter(|url| !url.is_empty()).ok_or_else(|| {
            config_error(
                "the pgvector backend needs DECNET_VECTORSTORE_URL=postgres://user:password@host:5432/database"
                    .to_owned(),
            )
        })?;
        let redacted_url = redact_url(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(config_error(format!(
                "invalid DECNET_VECTORSTORE_URL {redacted_url:?}: the pgvector backend expects postgres://…"
            )));
        }
        let mut connect = PgConnectOptions::from_str(url).map_err(|err| {
            config_error(format!("invalid DECNET_VECTORSTORE_URL {redacted_url:?}: {}", without_url(&err.to_string())))
        })?;
        let schema = config.option(NAME, "SCHEMA").map_or_else(|| DEFAULT_SCHEMA.to_owned(), |s| s.trim().to_owned());
        check_schema(&schema, "DECNET_VECTORSTORE_PGVECTOR_SCHEMA")?;
        let pool_size = config.ranged_option(NAME, "POOL_SIZE", 1..=1_000)?.unwrap_or(DEFAULT_POOL_SIZE);
        let acquire_timeout = config
            .duration_option(NAME, "ACQUIRE_TIMEOUT_MS", Duration::from_millis(1), MIN_ACQUIRE..=MAX_ACQUIRE)?
            .unwrap_or(Duration::from_millis(DEFAULT_ACQUIRE_TIMEOUT_MS));
        let timeout = config
            .duration_option(NAME, "TIMEOUT_MS", Duration::from_millis(1), MIN_TIMEOUT..=MAX_TIMEOUT)?
            .unwrap_or(Duration::from_millis(DEFAULT_TIMEOUT_MS));
        let index = config.parse_option::<IndexKind>(NAME, "INDEX")?.unwrap_or(IndexKind::Hnsw);
        // pgvector's own limits, checked here so that a bad value fails at open, not at the
        // first kind creation.
        let hnsw = HnswParams {
            m: config.ranged_option(NAME, "HNSW_M", 2..=100)?.unwrap_or(DEFAULT_HNSW.m),
            ef_construction: config
                .ranged_option(NAME, "HNSW_EF_CONSTRUCTION", 4..=1_000)?
                .unwrap_or(DEFAULT_HNSW.ef_construction),
            ef_search: config
                .ranged_option(NAME, "HNSW_EF_SEARCH", 1..=MAX_EF_SEARCH)?
                .unwrap_or(DEFAULT_HNSW.ef_search),
        };
        if hnsw.ef_construction < 2 * hnsw.m {
            return Err(config_error(format!(
                "invalid DECNET_VECTORSTORE_PGVECTOR_HNSW_EF_CONSTRUCTION {}: must be at least twice HNSW_M ({})",
                hnsw.ef_construction, hnsw.m
            )));
        }
        let build = IndexBuild {
            delay: config
                .duration_option(NAME, "INDEX_DELAY_MS", Duration::from_millis(1), Duration::ZERO..=MAX_ACQUIRE)?
                .unwrap_or(DEFAULT_BUILD.delay),
            memory_mb: config.ranged_option(NAME, "BUILD_MEMORY_MB", 1..=1_048_576)?.unwrap_or(DEFAULT_BUILD.memory_mb),
            workers: config.ranged_option(NAME, "BUILD_WORKERS", 0..=64)?.unwrap_or(DEFAULT_BUILD.workers),
        };
        let ssl_mode = config.parse_option::<SslMode>(NAME, "SSLMODE")?;
        if let Some(mode) = ssl_mode {
            connect = connect.ssl_mode(mode.into());
        }
        let ssl_root_cert = config.option(NAME, "SSLROOTCERT").map(|path| PathBuf::from(path.trim()));
        if let Some(path) = &ssl_root_cert {
            connect = connect.ssl_root_cert(path);
        }
        connect = connect.application_name("decnet-vectorstore");
        let allow_plaintext = config.flag_option(NAME, "ALLOW_PLAINTEXT_PASSWORD")?.unwrap_or(false);
        check_transport(&connect, &redacted_url, allow_plaintext)?;
        Ok(PgVectorConfig {
            connect,
            redacted_url,
            schema,
            pool_size,
            acquire_timeout,
            timeout,
            index,
            hnsw,
            build,
            ssl_mode,
            ssl_root_cert,
            default_metric: config.metric,
        })
    }

    /// How long the client waits for one operation: the timeout plus a grace of a tenth of it
    /// (at least 1 s, at most 30 s), so that the server's own `statement_timeout` and
    /// `lock_timeout` (set to the timeout on every session) stop a slow statement first and the
    /// client hears that it was rolled back. The client's bound only ends waits on a server
    /// that does not answer at all.
    pub fn client_bound(&self) -> Duration {
        self.timeout + (self.timeout / 10).clamp(Duration::from_secs(1), Duration::from_secs(30))
    }

    /// The server URL with its password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// The connection options (they hold the password: never print them).
    pub(crate) fn connect_options(&self) -> PgConnectOptions {
        self.connect.clone()
    }
}

/// The configuration of a fresh namespace for `tag` on the same server: schema `<schema>_<tag>`.
pub fn isolate(config: &Config, tag: &str) -> Result<Config> {
    let base = PgVectorConfig::from_config(config)?;
    let schema = format!("{}_{tag}", base.schema);
    check_schema(&schema, "the isolated schema")?;
    Ok(config.clone().with_option(NAME, "SCHEMA", schema))
}

/// Refuses to send a password where it could travel in clear over a network: a password set
/// (in the URL, `PGPASSWORD` or `~/.pgpass`), an `sslmode` below `require` (`prefer` falls
/// back to plain TCP when someone in the middle says so) and a host that is not this machine.
/// `ALLOW_PLAINTEXT_PASSWORD=true` accepts it knowingly (a network trusted otherwise).
fn check_transport(connect: &PgConnectOptions, shown_url: &str, allowed: bool) -> Result<()> {
    use sqlx::ConnectOptions;

    let encrypted = matches!(connect.get_ssl_mode(), PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull);
    let local = connect.get_socket().is_some() || vectorstore_core::is_loopback_host(connect.get_host());
    let password = connect.to_url_lossy().password().is_some_and(|password| !password.is_empty());
    if allowed || encrypted || local || !password {
        return Ok(());
    }
    Err(config_error(format!(
        "refusing to send the password for {shown_url:?} to {:?} without TLS: set sslmode=require or \
         verify-full (the URL's sslmode or DECNET_VECTORSTORE_PGVECTOR_SSLMODE), or \
         DECNET_VECTORSTORE_PGVECTOR_ALLOW_PLAINTEXT_PASSWORD=true on a network you trust otherwise",
        shown(connect.get_host())
    )))
}

/// Checks that `schema` is a plain lowercase identifier PostgreSQL keeps as written.
pub fn check_schema(schema: &str, what: &str) -> Result<()> {
    let bytes = schema.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.len() <= MAX_IDENTIFIER_BYTES
        && (bytes[0].is_ascii_lowercase() || bytes[0] == b'_')
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.starts_with("pg_");
    if well_formed {
        Ok(())
    } else {
        Err(config_error(format!(
            "invalid {what} {:?}: a schema must match ^[a-z_][a-z0-9_]{{0,62}}$ and not start with pg_",
            shown(schema)
        )))
    }
}

fn config_error(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

/// sqlx's URL errors name the problem, never the URL; this keeps it that way if a future
/// version quotes it.
fn without_url(message: &str) -> String {
    message
        .split_whitespace()
        .map(|word| if word.contains("://") { redact_url(word) } else { word.to_owned() })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<PgVectorConfig> {
        let mut config = Config::new(NAME).with_url("postgres://app:hunter2@db.example:5432/decnet?sslmode=require");
        for (key, value) in pairs {
            config = config.with_option(NAME, key, *value);
        }
        PgVectorConfig::from_config(&config)
    }

    #[test]
    fn defaults() {
        let parsed = config(&[]).unwrap();
        assert_eq!(parsed.schema, DEFAULT_SCHEMA);
        assert_eq!(parsed.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(parsed.index, IndexKind::Hnsw);
        assert_eq!(parsed.hnsw, DEFAULT_HNSW);
        assert_eq!(parsed.acquire_timeout, Duration::from_millis(DEFAULT_ACQUIRE_TIMEOUT_MS));
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", config(&[]).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app:***@db.example"), "{shown}");
    }

    #[test]
    fn bad_values_are_config_errors() {
        for (key, value) in [
            ("SCHEMA", "Public"),
            ("SCHEMA", "pg_catalog"),
            ("SCHEMA", "a-b"),
            ("SCHEMA", "x\"; drop schema public; --"),
            ("POOL_SIZE", "0"),
            ("POOL_SIZE", "many"),
            ("INDEX", "ivfflat"),
            ("INDEX_DELAY_MS", "-1"),
            ("INDEX_DELAY_MS", "3600001"),
            ("BUILD_MEMORY_MB", "0"),
            ("BUILD_WORKERS", "65"),
            ("HNSW_M", "1"),
            ("HNSW_EF_SEARCH", "1001"),
            ("HNSW_EF_CONSTRUCTION", "8"),
            ("SSLMODE", "sometimes"),
        ] {
            let err = config(&[(key, value)]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{key}={value}: {err}");
        }
        let schema = "s".repeat(64);
        assert_eq!(config(&[("SCHEMA", &schema)]).unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn url_is_required_and_must_be_postgres() {
        let err = PgVectorConfig::from_config(&Config::new(NAME)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = PgVectorConfig::from_config(&Config::new(NAME).with_url("http://app:hunter2@db:6334")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = PgVectorConfig::from_config(&Config::new(NAME).with_url("postgres://app:hunter2@db:notaport/x"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_password_never_leaves_the_machine_without_tls_unless_allowed() {
        let open = |url: &str, options: &[(&str, &str)]| {
            let mut config = Config::new(NAME).with_url(url);
            for (key, value) in options {
                config = config.with_option(NAME, key, *value);
            }
            PgVectorConfig::from_config(&config)
        };
        for url in [
            "postgres://app:pw@db.example/x",
            "postgres://app:pw@db.example/x?sslmode=prefer",
            "postgres://app@10.0.0.2/x?sslmode=disable&password=pw",
        ] {
            let err = open(url, &[]).expect_err(url);
            assert_eq!(err.kind(), ErrorKind::Config, "{url}: {err}");
            assert!(err.to_string().contains("ALLOW_PLAINTEXT_PASSWORD") && !err.to_string().contains("pw@"), "{err}");
            open(url, &[("ALLOW_PLAINTEXT_PASSWORD", "true")]).expect("allowed explicitly");
            open(url, &[("SSLMODE", "verify-full")]).expect("TLS required by option");
        }
        for url in [
            "postgres://app:pw@db.example/x?sslmode=require",
            "postgres://app:pw@127.0.0.1:5432/x",
            "postgres://app:pw@localhost/x?sslmode=disable",
            "postgres://app:pw@[::1]/x",
            "postgres://app@db.example/x",
        ] {
            open(url, &[]).unwrap_or_else(|err| panic!("{url}: {err}"));
        }
        assert_eq!(open("postgres://app:pw@db.example/x", &[("SSLMODE", "require")]).map(|_| ()).ok(), Some(()));
    }

    #[test]
    fn isolate_appends_the_tag() {
        let config = Config::new(NAME).with_url("postgres://u@h/db");
        let isolated = isolate(&config, "t1_case").unwrap();
        assert_eq!(isolated.option(NAME, "SCHEMA"), Some("decnet_vectorstore_t1_case"));
        let err = isolate(&config, &"x".repeat(60)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn ssl_options_parse() {
        let parsed = config(&[("SSLMODE", "verify_full"), ("SSLROOTCERT", "/etc/ca.pem")]).unwrap();
        assert_eq!(parsed.ssl_mode, Some(SslMode::VerifyFull));
        assert_eq!(parsed.ssl_root_cert, Some(PathBuf::from("/etc/ca.pem")));
    }
}
