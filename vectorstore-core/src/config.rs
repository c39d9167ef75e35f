//! Run-time selection of a store from `DECNET_VECTORSTORE_*` variables, with the original's
//! names and defaults.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `DECNET_VECTORSTORE_ENABLED` | `false` / `0` / `no` / `off` (any case) selects the Null store | `true` |
//! | `DECNET_VECTORSTORE_TYPE` | backend name or alias | `sqlite_vec` |
//! | `DECNET_VECTORSTORE_PATH` | sqlite file; empty counts as unset | see [`Config::sqlite_path`] |
//! | `DECNET_VECTORSTORE_URL` | server URL (`postgres://…`, `http://…:6334`) | none |
//! | `DECNET_VECTORSTORE_METRIC` | metric of kinds created by a first insert: `l2`, `cosine`, `dot` | `l2` |
//! | `DECNET_VECTORSTORE_FALLBACK` | `fake` or `null`: use it when the requested backend is not compiled in | none |
//! | `DECNET_VECTORSTORE_<BACKEND>_<KEY>` | backend option, e.g. `DECNET_VECTORSTORE_PGVECTOR_SCHEMA` | per backend |

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::record::Metric;
use crate::secret::{is_secret_option, redact_url};
use crate::validate::shown;

/// Prefix of every variable the store reads.
pub const ENV_PREFIX: &str = "DECNET_VECTORSTORE_";

/// The variables every build reads, without the prefix.
pub const GENERAL_VARIABLES: &[&str] = &["ENABLED", "TYPE", "PATH", "URL", "METRIC", "FALLBACK"];

/// Variables of the tools beside the library, without the prefix: the `vectorstore` command's
/// metrics address and the Python package's inline wait. The library does not read them, but
/// they share the environment, so opening a store accepts them.
pub const TOOL_VARIABLES: &[&str] = &["METRICS_ADDR", "PYTHON_INLINE_WAIT_US"];

/// The backend used when `DECNET_VECTORSTORE_TYPE` is unset.
pub const DEFAULT_BACKEND: &str = "sqlite_vec";

/// The shared runtime directory the original prefers for the sqlite file (never created).
pub const RUNTIME_DIR: &str = "/var/lib/decnet";

/// File name of the sqlite store in its directory.
pub const SQLITE_FILE_NAME: &str = "vectors.sqlite";

/// What to use instead when the requested backend is not compiled into this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fallback {
    /// No substitute: a missing backend that was asked for by name is a `Config` error.
    #[default]
    None,
    /// The in-memory Fake store (health `degraded`).
    Fake,
    /// The Null store (health `degraded`).
    Null,
}

impl FromStr for Fallback {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" => Ok(Fallback::None),
            "fake" => Ok(Fallback::Fake),
            "null" => Ok(Fallback::Null),
            _ => Err(Error::new(
                ErrorKind::Config,
                format!("invalid {ENV_PREFIX}FALLBACK {:?}: expected fake, null or none", shown(s)),
            )),
        }
    }
}

/// Which store to open and how. Build it with [`Config::from_env`] (what deployments do) or
/// [`Config::new`] plus the `with_*` methods (tests, tools).
///
/// `Debug` hides URL passwords and secret options.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// False selects the Null store whatever the backend.
    pub enabled: bool,
    /// The backend name or alias, lowercase.
    pub backend: String,
    /// True when the backend was named explicitly rather than defaulted.
    pub backend_explicit: bool,
    /// The sqlite file, when given.
    pub path: Option<PathBuf>,
    /// The server URL, when given. May hold a password: never log it, use [`redact_url`].
    pub url: Option<String>,
    /// Metric of kinds created by a first insert.
    pub metric: Metric,
    /// What to use when the backend is not compiled in.
    pub fallback: Fallback,
    /// Backend options, keyed by the variable name without the prefix (`PGVECTOR_SCHEMA`).
    options: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            backend: DEFAULT_BACKEND.to_owned(),
            backend_explicit: false,
            path: None,
            url: None,
            metric: Metric::L2,
            fallback: Fallback::None,
            options: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: BTreeMap<&str, &str> = self
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret_option(k) { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("Config")
            .field("enabled", &self.enabled)
            .field("backend", &self.backend)
            .field("backend_explicit", &self.backend_explicit)
            .field("path", &self.path)
            .field("url", &self.url.as_deref().map(redact_url))
            .field("metric", &self.metric)
            .field("fallback", &self.fallback)
            .field("options", &options)
            .finish()
    }
}

impl Config {
    /// A configuration naming `backend` explicitly, with every other setting at its default.
    pub fn new(backend: &str) -> Self {
        Config { backend: backend.trim().to_ascii_lowercase(), backend_explicit: true, ..Config::default() }
    }

    /// Reads the process environment (see the module docs for the variables).
    pub fn from_env() -> Result<Self> {
        Config::from_vars(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// Reads the given variables as if they were the environment; names without the
    /// `DECNET_VECTORSTORE_` prefix are ignored. A value that does not parse is a `Config`
    /// error, except when `ENABLED=false`: a disabled store reads nothing else, so the value is
    /// logged as a warning and left out (as the original package, which never read it, did).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = Config::default();
        let mut invalid = None;
        for (name, value) in vars {
            let Some(key) = name.as_ref().strip_prefix(ENV_PREFIX) else { continue };
            let value = value.as_ref();
            match key {
                "ENABLED" => config.enabled = parse_enabled(value),
                "TYPE" => {
                    if !value.trim().is_empty() {
                        config.backend = value.trim().to_ascii_lowercase();
                        config.backend_explicit = true;
                    }
                }
                "PATH" => config.path = non_empty(value).map(PathBuf::from),
                "URL" => config.url = non_empty(value).map(str::to_owned),
                "METRIC" if !value.trim().is_empty() => match value.parse() {
                    Ok(metric) => config.metric = metric,
                    Err(_) => {
                        invalid.get_or_insert(invalid_var("METRIC", value, "l2, cosine or dot"));
                    }
                },
                "METRIC" => {}
                "FALLBACK" => match value.parse() {
                    Ok(fallback) => config.fallback = fallback,
                    Err(err) => {
                        invalid.get_or_insert(err);
                    }
                },
                _ => {
                    config.options.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        match invalid {
            Some(err) if config.enabled => Err(err),
            Some(err) => {
                tracing::warn!(
                    "the vector store is disabled (ENABLED=false); ignoring a setting it would refuse: {err}"
                );
                Ok(config)
            }
            None => Ok(config),
        }
    }

    /// Sets the sqlite file.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the server URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets where the store lives from one string: a URL when it contains `://`, else a path.
    /// An empty location leaves both unset.
    pub fn with_location(self, location: &str) -> Self {
        match location.trim() {
            "" => self,
            url if url.contains("://") => self.with_url(url),
            path => self.with_path(path),
        }
    }

    /// Points this configuration at the store `spec` names, `TYPE` or `TYPE:LOCATION`
    /// (`sqlite_vec:/var/lib/decnet/vectors.sqlite`, `pgvector:postgres://…`, `fake:`), keeping
    /// its other settings (backend options, metric). The type becomes explicit; the location
    /// replaces any path or URL.
    ///
    /// ```
    /// use vectorstore_core::Config;
    /// let config = Config::default().with_spec("pgvector:postgres://u@db/decnet").unwrap();
    /// assert_eq!(config.backend, "pgvector");
    /// assert_eq!(config.url.as_deref(), Some("postgres://u@db/decnet"));
    /// ```
    pub fn with_spec(mut self, spec: &str) -> Result<Self> {
        let (backend, location) = spec.split_once(':').unwrap_or((spec, ""));
        if backend.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("invalid store {:?}: expected TYPE or TYPE:LOCATION", redact_url(spec)),
            ));
        }
        self.enabled = true;
        self.backend = backend.trim().to_ascii_lowercase();
        self.backend_explicit = true;
        self.path = None;
        self.url = None;
        Ok(self.with_location(location))
    }

    /// Sets the default metric of new kinds.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }

    /// Sets the option `DECNET_VECTORSTORE_<BACKEND>_<KEY>`.
    pub fn with_option(mut self, backend: &str, key: &str, value: impl Into<String>) -> Self {
        self.options.insert(option_key(backend, key), value.into());
        self
    }

    /// The option `DECNET_VECTORSTORE_<BACKEND>_<KEY>` (empty counts as unset).
    pub fn option(&self, backend: &str, key: &str) -> Option<&str> {
        self.options.get(&option_key(backend, key)).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// The option parsed as `T`; a value that does not parse is a `Config` error naming the
    /// variable and the value (secret values are not repeated).
    pub fn parse_option<T: FromStr>(&self, backend: &str, key: &str) -> Result<Option<T>>
    where
        T::Err: fmt::Display,
    {
        let Some(raw) = self.option(backend, key) else { return Ok(None) };
        let name = option_key(backend, key);
        raw.trim().parse::<T>().map(Some).map_err(|err| {
            let value = if is_secret_option(&name) { "***".to_owned() } else { format!("{:?}", shown(raw)) };
            Error::new(ErrorKind::Config, format!("invalid {ENV_PREFIX}{name} {value}: {err}"))
        })
    }

    /// A number option that must lie in `range`: a value that does not parse, or lies outside,
    /// is a `Config` error naming the variable, the value and the range.
    pub fn ranged_option<T>(&self, backend: &str, key: &str, range: RangeInclusive<T>) -> Result<Option<T>>
    where
        T: FromStr + PartialOrd + fmt::Display,
        T::Err: fmt::Display,
    {
        match self.parse_option::<T>(backend, key)? {
            Some(value) if !range.contains(&value) => {
                Err(self.invalid_option(backend, key, &format!("expected {} to {}", range.start(), range.end())))
            }
            other => Ok(other),
        }
    }

    /// A yes/no option: `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`, any case; anything
    /// else is a `Config` error naming the variable.
    pub fn flag_option(&self, backend: &str, key: &str) -> Result<Option<bool>> {
        Ok(self.parse_option::<Flag>(backend, key)?.map(|flag| flag.0))
    }

    /// A duration option: a whole number in `unit` (the unit its name ends in, e.g.
    /// milliseconds for `…_MS`), or a number with a unit of its own (see [`parse_duration`]),
    /// within `range`; anything else is a `Config` error naming the variable.
    pub fn duration_option(
        &self,
        backend: &str,
        key: &str,
        unit: Duration,
        range: RangeInclusive<Duration>,
    ) -> Result<Option<Duration>> {
        let Some(raw) = self.option(backend, key) else { return Ok(None) };
        let value = parse_duration(raw, unit).map_err(|reason| self.invalid_option(backend, key, &reason))?;
        if !range.contains(&value) {
            let expected = format!("expected {:?} to {:?}", range.start(), range.end());
            return Err(self.invalid_option(backend, key, &expected));
        }
        Ok(Some(value))
    }

    fn invalid_option(&self, backend: &str, key: &str, expected: &str) -> Error {
        let name = option_key(backend, key);
        let value = match self.options.get(&name) {
            Some(_) if is_secret_option(&name) => "***".to_owned(),
            Some(raw) => format!("{:?}", shown(raw)),
            None => "(unset)".to_owned(),
        };
        Error::new(ErrorKind::Config, format!("invalid {ENV_PREFIX}{name} {value}: {expected}"))
    }

    /// Every backend option, as `(name without prefix, value)`; secret values included, so do not log.
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The sqlite file: `DECNET_VECTORSTORE_PATH` if set; else `/var/lib/decnet/vectors.sqlite`
    /// when `/var/lib/decnet` exists and is writable (it is never created); else
    /// `~/.decnet/vectors.sqlite`.
    pub fn sqlite_path(&self) -> PathBuf {
        match &self.path {
            Some(path) => path.clone(),
            None => default_sqlite_path(Path::new(RUNTIME_DIR), home_dir().as_deref()),
        }
    }
}

/// The original's default location, with the runtime directory and home given explicitly.
pub fn default_sqlite_path(runtime_dir: &Path, home: Option<&Path>) -> PathBuf {
    if runtime_dir.is_dir() && is_writable_dir(runtime_dir) {
        return runtime_dir.join(SQLITE_FILE_NAME);
    }
    let home = home.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    home.join(".decnet").join(SQLITE_FILE_NAME)
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from).or_else(std::env::home_dir)
}

/// Whether this process can create files in `dir` (what `access(W_OK)` answers, for every user
/// including root on a read-only mount).
fn is_writable_dir(dir: &Path) -> bool {
    let probe = dir.join(format!(".decnet-write-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

fn option_key(backend: &str, key: &str) -> String {
    format!("{}_{}", backend.to_ascii_uppercase().replace('-', "_"), key.to_ascii_uppercase())
}

fn non_empty(value: &str) -> Option<&str> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

/// A boolean option value.
struct Flag(bool);

impl FromStr for Flag {
    type Err = &'static str;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Flag(true)),
            "false" | "0" | "no" | "off" => Ok(Flag(false)),
            _ => Err("expected true or false (also 1/0, yes/no, on/off)"),
        }
    }
}

/// Parses a duration: a whole number in `unit`, or a number with one of the units `ms`, `s`,
/// `m`, `h`, `d` (`500ms`, `30s`, `1.5h`, `180d`). Negative, non-finite and overflowing values
/// are refused with the reason.
///
/// Kept here rather than taken from `humantime`: settings need a bare number in a default
/// unit (`TIMEOUT_MS=500`) and fractions (`1.5h`), which `humantime` refuses, and the core
/// crate stays free of a dependency for twenty lines.
pub fn parse_duration(text: &str, unit: Duration) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let scale = match suffix.trim().to_ascii_lowercase().as_str() {
        "" => unit,
        "ms" => Duration::from_millis(1),
        "s" | "sec" | "secs" => Duration::from_secs(1),
        "m" | "min" | "mins" => Duration::from_secs(60),
        "h" | "hour" | "hours" => Duration::from_secs(3_600),
        "d" | "day" | "days" => Duration::from_secs(86_400),
        "w" | "week" | "weeks" => Duration::from_secs(7 * 86_400),
        other => return Err(format!("unknown unit {other:?}: use ms, s, m, h, d or w")),
    };
    let number = number.trim();
    let amount: f64 =
        number.parse().map_err(|_| format!("expected a duration such as 500ms, 30s or 180d, got {:?}", shown(text)))?;
    if !amount.is_finite() || amount < 0.0 || number.starts_with('-') {
        return Err(format!("a duration cannot be negative or infinite: {:?}", shown(text)));
    }
    Duration::try_from_secs_f64(amount * scale.as_secs_f64())
        .map_err(|_| format!("duration too long: {:?}", shown(text)))
}

fn parse_enabled(value: &str) -> bool {
    match value.trim().to_ascii_lowercase().as_str() {
        "false" | "0" | "no" | "off" => false,
        "" | "true" | "1" | "yes" | "on" => true,
        other => {
            tracing::warn!(value = %shown(other), "{ENV_PREFIX}ENABLED is not true/false; treating it as true like the original");
            true
        }
    }
}

fn invalid_var(name: &str, value: &str, expected: &str) -> Error {
    Error::new(ErrorKind::Config, format!("invalid {ENV_PREFIX}{name} {:?}: expected {expected}", shown(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Config {
        Config::from_vars(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn ranged_flag_and_duration_options_name_the_variable_and_value() {
        let config = vars(&[
            ("DECNET_VECTORSTORE_DEMO_SIZE", "0"),
            ("DECNET_VECTORSTORE_DEMO_ON", "Yes"),
            ("DECNET_VECTORSTORE_DEMO_BAD", "maybe"),
            ("DECNET_VECTORSTORE_DEMO_WAIT_MS", "250"),
            ("DECNET_VECTORSTORE_DEMO_KEEP", "1.5h"),
            ("DECNET_VECTORSTORE_DEMO_NEG_MS", "-5"),
        ]);
        let err = config.ranged_option::<u32>("demo", "size", 1..=8).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("DECNET_VECTORSTORE_DEMO_SIZE \"0\"") && err.message().contains("1 to 8"),
            "{err}"
        );
        assert_eq!(config.ranged_option::<u32>("demo", "missing", 1..=8).unwrap(), None);
        assert_eq!(config.flag_option("demo", "on").unwrap(), Some(true));
        let err = config.flag_option("demo", "bad").unwrap_err();
        assert!(err.message().contains("DECNET_VECTORSTORE_DEMO_BAD \"maybe\""), "{err}");
        let ms = Duration::from_millis(1);
        let any = Duration::ZERO..=Duration::MAX;
        assert_eq!(
            config.duration_option("demo", "wait_ms", ms, any.clone()).unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(config.duration_option("demo", "keep", ms, any.clone()).unwrap(), Some(Duration::from_secs(5_400)));
        assert!(config.duration_option("demo", "neg_ms", ms, any).is_err());
        let short = Duration::from_millis(1)..=Duration::from_millis(100);
        let err = config.duration_option("demo", "wait_ms", ms, short).unwrap_err();
        assert!(err.message().contains("WAIT_MS \"250\""), "{err}");
    }

    #[test]
    fn durations_parse_with_and_without_units() {
        let s = Duration::from_secs(1);
        assert_eq!(parse_duration("180d", s), Ok(Duration::from_secs(180 * 86_400)));
        assert_eq!(parse_duration(" 30s ", s), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms", s), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2", Duration::from_millis(1)), Ok(Duration::from_millis(2)));
        assert_eq!(parse_duration("5m", s), Ok(Duration::from_secs(300)));
        for bad in ["", "d", "-1d", "1y", "NaN", "inf", "1e400s", "ten days"] {
            assert!(parse_duration(bad, s).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_match_the_original() {
        let config = vars(&[]);
        assert!(config.enabled);
        assert_eq!(config.backend, "sqlite_vec");
        assert!(!config.backend_explicit);
        assert_eq!(config.metric, Metric::L2);
        assert_eq!(config.path, None);
    }

    #[test]
    fn a_disabled_store_ignores_values_it_would_refuse() {
        let disabled = Config::from_vars([
            ("DECNET_VECTORSTORE_METRIC", "hamming"),
            ("DECNET_VECTORSTORE_FALLBACK", "x"),
            ("DECNET_VECTORSTORE_ENABLED", "false"),
        ])
        .expect("a disabled store opens whatever the other values");
        assert!(!disabled.enabled);
        assert_eq!((disabled.metric, disabled.fallback), (Metric::L2, Fallback::None));
        let err = Config::from_vars([("DECNET_VECTORSTORE_METRIC", "hamming"), ("DECNET_VECTORSTORE_ENABLED", "true")])
            .unwrap_err();
        assert!(err.to_string().contains("hamming"), "{err}");
    }

    #[test]
    fn enabled_false_in_any_case_disables() {
        for value in ["false", "FALSE", "False", "0", "off"] {
            assert!(!vars(&[("DECNET_VECTORSTORE_ENABLED", value)]).enabled, "{value}");
        }
        for value in ["true", "1", "", "anything"] {
            assert!(vars(&[("DECNET_VECTORSTORE_ENABLED", value)]).enabled, "{value}");
        }
    }

    #[test]
    fn path_is_honoured_and_empty_is_unset() {
        let config = vars(&[("DECNET_VECTORSTORE_PATH", "/data/v.sqlite")]);
        assert_eq!(config.sqlite_path(), PathBuf::from("/data/v.sqlite"));
        assert_eq!(vars(&[("DECNET_VECTORSTORE_PATH", "")]).path, None);
    }

    #[test]
    fn default_path_prefers_a_writable_runtime_dir_then_home() {
        let runtime = std::env::temp_dir().join(format!("decnet-runtime-{}", std::process::id()));
        std::fs::create_dir_all(&runtime).unwrap();
        let home = Path::new("/home/analyst");
        assert_eq!(default_sqlite_path(&runtime, Some(home)), runtime.join("vectors.sqlite"));
        let missing = runtime.join("does-not-exist");
        assert_eq!(default_sqlite_path(&missing, Some(home)), PathBuf::from("/home/analyst/.decnet/vectors.sqlite"));
        assert!(!missing.exists(), "the runtime dir must never be created");
        std::fs::remove_dir_all(&runtime).unwrap();
    }

    #[test]
    fn backend_options_are_keyed_by_backend() {
        let config = vars(&[
            ("DECNET_VECTORSTORE_TYPE", "PgVector"),
            ("DECNET_VECTORSTORE_PGVECTOR_POOL_SIZE", "8"),
            ("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS", "bad"),
            ("OTHER_PGVECTOR_POOL_SIZE", "99"),
        ]);
        assert_eq!(config.backend, "pgvector");
        assert!(config.backend_explicit);
        assert_eq!(config.parse_option::<u32>("pgvector", "pool_size").unwrap(), Some(8));
        let err = config.parse_option::<u32>("sqlite-vec", "busy_timeout_ms").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS") && err.message().contains("bad")
        );
    }

    #[test]
    fn bad_metric_and_fallback_are_config_errors() {
        let err = Config::from_vars([("DECNET_VECTORSTORE_METRIC", "hamming")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("hamming"));
        assert_eq!(Config::from_vars([("DECNET_VECTORSTORE_FALLBACK", "x")]).unwrap_err().kind(), ErrorKind::Config);
        assert_eq!(vars(&[("DECNET_VECTORSTORE_FALLBACK", "Fake")]).fallback, Fallback::Fake);
    }

    #[test]
    fn debug_hides_secrets() {
        let config = Config::new("qdrant").with_url("postgres://app:hunter2@db/decnet").with_option(
            "qdrant",
            "api_key",
            "sk-secret",
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("app:***@db"), "{shown}");
    }
}
