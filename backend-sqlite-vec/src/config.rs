//! Where the store lives and how it talks to SQLite: the typed settings read from
//! `DECNET_VECTORSTORE_*`, and the isolated locations the conformance suite uses.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use vectorstore_core::config::SQLITE_FILE_NAME;
use vectorstore_core::{Config, Error, ErrorKind, Metric, PurgeFuture, Result};

use crate::NAME;

/// Every option this backend reads (`DECNET_VECTORSTORE_SQLITE_VEC_<KEY>`), declared in its
/// registration: opening a store refuses any other variable under the prefix.
pub const OPTIONS: &[&str] =
    &["BUSY_TIMEOUT_MS", "SYNCHRONOUS", "READ_POOL_SIZE", "CACHE_MB", "MMAP_MB", "READ_ONLY", "LEGACY_SKIP_INVALID"];

/// Default of `DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS`.
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;

/// Longest `DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS` accepted (a larger value is a typo,
/// and a writer blocked that long looks like a hang).
pub const MAX_BUSY_TIMEOUT: Duration = Duration::from_secs(3_600);

/// Default of `DECNET_VECTORSTORE_SQLITE_VEC_READ_POOL_SIZE`.
pub const DEFAULT_READ_POOL_SIZE: u32 = 4;

/// Largest accepted `READ_POOL_SIZE` (each connection is a thread and a file handle).
pub const MAX_READ_POOL_SIZE: u32 = 64;

/// Least default of `DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB` (see [`default_cache_mb`]): the
/// in-memory copies of the kinds take at most this many MiB in all (100,000 vectors of 128
/// dimensions take about 63 MiB).
pub const DEFAULT_CACHE_MB: u64 = 512;

/// The share of the machine's memory the copies may take by default: a quarter.
const DEFAULT_CACHE_SHARE: u64 = 4;

/// Default of `DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB`: a quarter of the memory this process
/// may use (the machine's memory, or its cgroup's limit when lower), and at least
/// [`DEFAULT_CACHE_MB`]. A fixed 512 MiB made a kind of a million 128-dimension vectors (about
/// 530 MiB with its ids) fall back to sqlite-vec's own scan, five times slower, on a machine
/// with memory to spare. Memory is taken only as kinds are searched.
pub fn default_cache_mb() -> u64 {
    let quarter = memory_limit_bytes().map_or(0, |bytes| (bytes / DEFAULT_CACHE_SHARE) >> 20);
    quarter.clamp(DEFAULT_CACHE_MB, MAX_CACHE_MB)
}

/// The memory this process may use: the smaller of `MemTotal` and the cgroup limit (v2
/// `memory.max`, v1 `memory.limit_in_bytes`), where they can be read.
fn memory_limit_bytes() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let total = read("/proc/meminfo").as_deref().and_then(mem_total_bytes);
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .into_iter()
        .find_map(|path| read(path).as_deref().and_then(cgroup_limit_bytes));
    match (total, cgroup) {
        (Some(total), Some(limit)) => Some(total.min(limit)),
        (total, limit) => total.or(limit),
    }
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A cgroup memory limit file's value in bytes; `max` (v2) or a huge number (v1's "none")
/// means no limit.
fn cgroup_limit_bytes(text: &str) -> Option<u64> {
    let bytes: u64 = text.trim().parse().ok()?;
    (bytes < 1 << 60).then_some(bytes)
}

/// Largest accepted `CACHE_MB` (1 TiB: a larger value is a typo).
pub const MAX_CACHE_MB: u64 = 1 << 20;

/// Default and largest `DECNET_VECTORSTORE_SQLITE_VEC_MMAP_MB`: how much of the file the read
/// connections map into memory (SQLite's `PRAGMA mmap_size`). 2047 MiB is the most the bundled
/// SQLite maps (`SQLITE_MAX_MMAP_SIZE`). Mapped pages are the operating system's page cache,
/// shared by every connection and reclaimable, not memory of this process's heap; without the
/// map, each read connection goes through its own 2 MiB page cache, and a point read of a
/// vector copies its vec0 chunk page by page through `read(2)` (about 5× slower, measured).
pub const DEFAULT_MMAP_MB: u64 = 2047;

/// Metrics this backend searches with natively. Dot is absent: sqlite-vec has no inner-product
/// metric or function, and emulating it would be inexact (derived from l2) or slow (row by row).
pub const METRICS: [Metric; 2] = [Metric::L2, Metric::Cosine];

/// Directory-name prefix of the temporary locations [`isolate`] makes when no path is configured.
const ISOLATED_DIR_PREFIX: &str = "decnet-vectorstore-";

/// When a commit is flushed to disk (`PRAGMA synchronous`), read from
/// `DECNET_VECTORSTORE_SQLITE_VEC_SYNCHRONOUS`.
///
/// In WAL mode both settings survive the process being killed at any moment; only
/// `full` also survives power loss or an OS crash without losing the last commits.
/// `off` is refused: it can corrupt the file on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Sync at checkpoints only (the default): a commit survives `kill -9`; the last commits
    /// before a power loss may be rolled back, the file stays consistent.
    #[default]
    Normal,
    /// Sync the WAL on every commit: commits also survive power loss, at one fsync per write.
    Full,
    /// Like `full`, and also syncs the directory when the WAL is reset.
    Extra,
}

impl Synchronous {
    /// The pragma value.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
            Synchronous::Extra => "extra",
        }
    }
}

impl fmt::Display for Synchronous {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Synchronous {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normal" | "1" => Ok(Synchronous::Normal),
            "full" | "2" => Ok(Synchronous::Full),
            "extra" | "3" => Ok(Synchronous::Extra),
            "off" | "0" => {
                Err("off is refused because it can corrupt the file on power loss; use normal or full".into())
            }
            _ => Err("expected normal, full or extra".into()),
        }
    }
}

/// How the file is opened, read from `DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY`.
///
/// In both read-only modes nothing is ever written to the file: every write is a `Config`
/// error, and a file still holding the original (Python) store's tables is adopted into a
/// private in-memory copy instead of the file (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Read and write (the default, `false`): the file is created when missing, switched to
    /// WAL, and the original store's tables are adopted into it on the first open.
    #[default]
    ReadWrite,
    /// `true`: SQLite's read-only mode (`mode=ro`). Commits of other processes are seen. The
    /// file must exist. SQLite may create the `-wal` and `-shm` companions of a WAL file to
    /// read it safely beside writers, so its directory must be writable unless they exist.
    ReadOnly,
    /// `immutable`: SQLite's `immutable=1`. No locks and no companion files, so it also reads a
    /// file on read-only media; the caller guarantees that no process writes the file
    /// meanwhile. Refused when the file has a non-empty `-wal` companion (its last commits would
    /// be missed); use `true` then.
    Immutable,
}

impl Access {
    /// The option value naming this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadWrite => "false",
            Access::ReadOnly => "true",
            Access::Immutable => "immutable",
        }
    }

    /// True in both read-only modes.
    pub fn is_read_only(self) -> bool {
        self != Access::ReadWrite
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Access {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "false" | "0" | "no" | "off" => Ok(Access::ReadWrite),
            "true" | "1" | "yes" | "on" => Ok(Access::ReadOnly),
            "immutable" => Ok(Access::Immutable),
            _ => Err("expected true, false or immutable".into()),
        }
    }
}

/// The settings of one store, resolved from a [`Config`] without touching the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteVecConfig {
    /// The sqlite file (`DECNET_VECTORSTORE_PATH`, or the original's default location).
    pub path: PathBuf,
    /// How long a connection waits for another process's write lock before `Unavailable`.
    pub busy_timeout: Duration,
    /// When commits are flushed to disk.
    pub synchronous: Synchronous,
    /// Connections that serve reads in parallel (writes always use one connection).
    pub read_pool_size: u32,
    /// Metric of kinds created by a first insert.
    pub default_metric: Metric,
    /// Read-write, read-only or immutable (`DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY`).
    pub access: Access,
    /// Adopt the original store's data even when some of it cannot be adopted as it is,
    /// leaving those kinds and records only in the original tables
    /// (`DECNET_VECTORSTORE_SQLITE_VEC_LEGACY_SKIP_INVALID`, default false: refuse to open).
    pub legacy_skip_invalid: bool,
    /// Most memory, in MiB, that the in-memory copies of the kinds searched take in all
    /// (`DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB`); 0 = no copies, every search goes to
    /// sqlite-vec.
    pub cache_mb: u64,
    /// MiB of the file each read connection maps (`DECNET_VECTORSTORE_SQLITE_VEC_MMAP_MB`,
    /// `PRAGMA mmap_size`); 0 reads through SQLite's page cache only.
    pub mmap_mb: u64,
}

impl SqliteVecConfig {
    /// Reads the location and the `DECNET_VECTORSTORE_SQLITE_VEC_*` options. A bad option is a
    /// `Config` error naming the variable; a default metric of `dot` is `MetricUnsupported`.
    pub fn from_config(config: &Config) -> Result<Self> {
        let busy_timeout = config
            .duration_option(NAME, "busy_timeout_ms", Duration::from_millis(1), Duration::ZERO..=MAX_BUSY_TIMEOUT)?
            .unwrap_or(Duration::from_millis(DEFAULT_BUSY_TIMEOUT_MS));
        let synchronous = config.parse_option::<Synchronous>(NAME, "synchronous")?.unwrap_or_default();
        let read_pool_size =
            config.ranged_option(NAME, "read_pool_size", 1..=MAX_READ_POOL_SIZE)?.unwrap_or(DEFAULT_READ_POOL_SIZE);
        if !METRICS.contains(&config.metric) {
            return Err(vectorstore_core::validate::metric_unsupported(NAME, config.metric, &METRICS)
                .with_context("setting", "DECNET_VECTORSTORE_METRIC"));
        }
        let access = config.parse_option::<Access>(NAME, "read_only")?.unwrap_or_default();
        let legacy_skip_invalid = config.flag_option(NAME, "legacy_skip_invalid")?.unwrap_or(false);
        let cache_mb = config.ranged_option(NAME, "cache_mb", 0..=MAX_CACHE_MB)?.unwrap_or_else(default_cache_mb);
        let mmap_mb = config.ranged_option(NAME, "mmap_mb", 0..=DEFAULT_MMAP_MB)?.unwrap_or(DEFAULT_MMAP_MB);
        Ok(SqliteVecConfig {
            path: config.sqlite_path(),
            busy_timeout,
            synchronous,
            read_pool_size,
            default_metric: config.metric,
            access,
            legacy_skip_invalid,
            cache_mb,
            mmap_mb,
        })
    }
}

/// The [`BackendRegistration::isolate`](vectorstore_core::BackendRegistration::isolate) of this
/// backend: a sibling file `<stem>-<tag>.sqlite` next to the configured path, or
/// `<temp dir>/decnet-vectorstore-<tag>/vectors.sqlite` when no path is configured (so the
/// default `~/.decnet` file is never used by a test).
pub fn isolate(config: &Config, tag: &str) -> Result<Config> {
    let well_formed = !tag.is_empty()
        && tag.len() <= 64
        && tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid isolation tag {:?}: expected [a-z0-9_]{{1,64}}", vectorstore_core::validate::shown(tag)),
        ));
    }
    let path = match &config.path {
        Some(path) => {
            let stem = path.file_stem().map_or_else(|| "vectors".into(), |s| s.to_string_lossy().into_owned());
            path.with_file_name(format!("{stem}-{tag}.sqlite"))
        }
        None => std::env::temp_dir().join(format!("{ISOLATED_DIR_PREFIX}{tag}")).join(SQLITE_FILE_NAME),
    };
    Ok(config.clone().with_path(path))
}

/// The [`BackendRegistration::purge`](vectorstore_core::BackendRegistration::purge) of this
/// backend: removes the file with its `-wal`, `-shm` and `-journal` companions, and the
/// temporary directory [`isolate`] names when it is left empty. A configuration without a path
/// is refused, so that purge can never reach the default location.
pub fn purge(config: Config) -> PurgeFuture {
    Box::pin(async move {
        let Some(path) = config.path else {
            return Err(Error::new(
                ErrorKind::Config,
                "purge needs an explicit path; the default location is never purged",
            ));
        };
        tokio::task::spawn_blocking(move || remove_store_files(&path))
            .await
            .map_err(|err| Error::new(ErrorKind::Backend, format!("purge task failed: {err}")))?
    })
}

fn remove_store_files(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(Error::new(
                    ErrorKind::Backend,
                    format!("cannot remove {}: {err}", Path::new(&name).display()),
                ));
            }
        }
    }
    if let Some(dir) = isolated_dir(path) {
        // Only an empty directory is removed: anything else in it is not ours.
        if let Err(err) = std::fs::remove_dir(dir)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), "left the isolated directory in place: {err}");
        }
    }
    Ok(())
}

/// The directory [`isolate`] made up for `path`, if `path` is such a location.
fn isolated_dir(path: &Path) -> Option<&Path> {
    let dir = path.parent()?;
    let named_like_ours = dir.file_name()?.to_str()?.starts_with(ISOLATED_DIR_PREFIX);
    let in_temp = dir.parent()? == std::env::temp_dir();
    let file_is_ours = path.file_name()? == SQLITE_FILE_NAME;
    (named_like_ours && in_temp && file_is_ours).then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<SqliteVecConfig> {
        SqliteVecConfig::from_config(&Config::from_vars(pairs.iter().copied())?)
    }

    #[test]
    fn the_default_cache_follows_the_machine() {
        let meminfo = "MemTotal:       24579740 kB\nMemFree:        20000000 kB\n";
        assert_eq!(mem_total_bytes(meminfo), Some(24_579_740 * 1024));
        assert_eq!(mem_total_bytes("MemFree: 1 kB\n"), None);
        assert_eq!(cgroup_limit_bytes("max\n"), None);
        assert_eq!(cgroup_limit_bytes("9223372036854771712\n"), None, "cgroup v1 without a limit");
        assert_eq!(cgroup_limit_bytes("8589934592\n"), Some(8 << 30));
        let default = default_cache_mb();
        assert!((DEFAULT_CACHE_MB..=MAX_CACHE_MB).contains(&default), "{default}");
        if let Some(memory) = memory_limit_bytes() {
            assert_eq!(default, ((memory / 4) >> 20).max(DEFAULT_CACHE_MB), "a quarter of {memory} bytes");
        }
    }

    #[test]
    fn defaults_are_documented_values() {
        let settings = config(&[("DECNET_VECTORSTORE_PATH", "/data/v.sqlite")]).unwrap();
        assert_eq!(settings.path, PathBuf::from("/data/v.sqlite"));
        assert_eq!(settings.busy_timeout, Duration::from_millis(DEFAULT_BUSY_TIMEOUT_MS));
        assert_eq!(settings.synchronous, Synchronous::Normal);
        assert_eq!(settings.read_pool_size, DEFAULT_READ_POOL_SIZE);
        assert_eq!(settings.default_metric, Metric::L2);
        assert_eq!(settings.access, Access::ReadWrite);
        assert!(!settings.legacy_skip_invalid);
        assert_eq!(settings.cache_mb, default_cache_mb());
        assert_eq!(settings.mmap_mb, DEFAULT_MMAP_MB);
    }

    #[test]
    fn options_are_read_from_their_variables() {
        let settings = config(&[
            ("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS", "250"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_SYNCHRONOUS", "FULL"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_READ_POOL_SIZE", "2"),
            ("DECNET_VECTORSTORE_METRIC", "cosine"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY", "TRUE"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_LEGACY_SKIP_INVALID", "yes"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB", "0"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_MMAP_MB", "0"),
        ])
        .unwrap();
        assert_eq!(settings.cache_mb, 0);
        assert_eq!(settings.mmap_mb, 0);
        assert_eq!(settings.access, Access::ReadOnly);
        assert!(settings.legacy_skip_invalid);
        let immutable = config(&[("DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY", "immutable")]).unwrap();
        assert_eq!(immutable.access, Access::Immutable);
        let off = config(&[("DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY", "off")]).unwrap();
        assert_eq!(off.access, Access::ReadWrite);
        assert_eq!(settings.busy_timeout, Duration::from_millis(250));
        assert_eq!(settings.synchronous, Synchronous::Full);
        assert_eq!(settings.read_pool_size, 2);
        assert_eq!(settings.default_metric, Metric::Cosine);
    }

    #[test]
    fn bad_options_are_config_errors_naming_the_variable() {
        for (name, value) in [
            ("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS", "soon"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_SYNCHRONOUS", "off"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_SYNCHRONOUS", "sometimes"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_READ_POOL_SIZE", "0"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_READ_POOL_SIZE", "1000"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY", "maybe"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_LEGACY_SKIP_INVALID", "sure"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB", "-1"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB", "2000000"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB", "lots"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_MMAP_MB", "-1"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_MMAP_MB", "2048"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_MMAP_MB", "1e9"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{name}={value}: {err}");
            assert!(err.message().contains("READ_POOL_SIZE") || err.message().contains(name), "{err}");
        }
    }

    #[test]
    fn a_default_metric_of_dot_is_unsupported() {
        let err = config(&[("DECNET_VECTORSTORE_METRIC", "dot")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MetricUnsupported, "{err}");
    }

    #[test]
    fn isolate_makes_a_sibling_or_a_temporary_location() {
        let with_path = Config::new(NAME).with_path("/srv/decnet/vectors.sqlite");
        let isolated = isolate(&with_path, "t1_case").unwrap();
        assert_eq!(isolated.path, Some(PathBuf::from("/srv/decnet/vectors-t1_case.sqlite")));
        let isolated = isolate(&Config::new(NAME), "t2").unwrap();
        let path = isolated.path.unwrap();
        assert_eq!(path, std::env::temp_dir().join("decnet-vectorstore-t2").join("vectors.sqlite"));
        assert_eq!(isolated_dir(&path), path.parent());
        assert_eq!(isolated_dir(Path::new("/srv/decnet/vectors.sqlite")), None);
        for bad in ["", "../x", "A", "a/b"] {
            assert_eq!(isolate(&with_path, bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }
}
