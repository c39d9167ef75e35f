//! The backend registry: every backend crate submits one const [`BackendRegistration`] with
//! `inventory`, and [`open_with_fallback`] picks one by name at run time.
//!
//! A backend crate that nothing names is not linked and its registration vanishes: binaries
//! link backends through the `vectorstore` facade crate, which names each one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{Config, ENV_PREFIX, Fallback, GENERAL_VARIABLES, TOOL_VARIABLES};
use crate::error::{Error, ErrorKind, Result};
use crate::fake::{FAKE, FakeVectorStore};
use crate::health::Capabilities;
use crate::instrument::Instrumented;
use crate::null::{NULL, NullVectorStore};
use crate::store::{StoreBackend, VectorStore};

/// The future [`BackendRegistration::purge`] returns.
pub type PurgeFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// One backend, as its crate registers it with `inventory::submit!`.
#[derive(Debug)]
pub struct BackendRegistration {
    /// Canonical name, the value of `DECNET_VECTORSTORE_TYPE` (`sqlite_vec`).
    pub name: &'static str,
    /// Other accepted names (`sqlite-vec`).
    pub aliases: &'static [&'static str],
    /// One line for `vectorstore backends`.
    pub summary: &'static str,
    /// What the backend can do at best (an instance may report less).
    pub capabilities: Capabilities,
    /// The options it reads, as `KEY` of `DECNET_VECTORSTORE_<NAME>_<KEY>` (uppercase): any
    /// other variable under its prefix is refused at open, naming the closest of these.
    pub options: &'static [&'static str],
    /// Builds an uninitialised store from the configuration. Must not do I/O that can block
    /// for long; connecting belongs in `initialize`. The opening functions of this module put
    /// it under the contract's layer (see [`VectorStore`]).
    pub open: fn(&Config) -> Result<Arc<dyn StoreBackend>>,
    /// A configuration addressing a fresh namespace named by `tag` (a sibling file, a schema,
    /// a collection prefix) on the same engine, so that a test run never touches real data.
    pub isolate: fn(&Config, &str) -> Result<Config>,
    /// Removes everything stored under an isolated configuration (files, schema, collections).
    pub purge: fn(Config) -> PurgeFuture,
}

impl BackendRegistration {
    /// True when `name` (any case, `-` or `_`) is this backend's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        let wanted = normalise(name);
        normalise(self.name) == wanted || self.aliases.iter().any(|alias| normalise(alias) == wanted)
    }
}

inventory::collect!(BackendRegistration);

/// A [`BackendRegistration::isolate`] for stores that are fresh on every open.
pub fn isolate_unchanged(config: &Config, _tag: &str) -> Result<Config> {
    Ok(config.clone())
}

/// A [`BackendRegistration::purge`] for stores that leave nothing behind.
pub fn purge_nothing(_config: Config) -> PurgeFuture {
    Box::pin(async { Ok(()) })
}

fn open_fake(config: &Config) -> Result<Arc<dyn StoreBackend>> {
    Ok(Arc::new(FakeVectorStore::with_metric(config.metric)))
}

fn open_null(_config: &Config) -> Result<Arc<dyn StoreBackend>> {
    Ok(Arc::new(NullVectorStore::new()))
}

inventory::submit! {
    BackendRegistration {
        name: FAKE,
        aliases: &["memory", "in_memory"],
        summary: "exact in-memory store, every metric, nothing persists; the reference oracle",
        capabilities: Capabilities::EXACT_IN_MEMORY,
        options: &[],
        open: open_fake,
        isolate: isolate_unchanged,
        purge: purge_nothing,
    }
}

inventory::submit! {
    BackendRegistration {
        name: NULL,
        aliases: &["none", "disabled"],
        summary: "validates every call and stores nothing (DECNET_VECTORSTORE_ENABLED=false)",
        capabilities: Capabilities { persistent: false, stores_data: false, ..Capabilities::EXACT_IN_MEMORY },
        options: &[],
        open: open_null,
        isolate: isolate_unchanged,
        purge: purge_nothing,
    }
}

/// Every registered backend, sorted by name.
pub fn backends() -> Vec<&'static BackendRegistration> {
    let mut all: Vec<_> = inventory::iter::<BackendRegistration>.into_iter().collect();
    all.sort_by_key(|registration| registration.name);
    all
}

/// The backend answering to `name` (or an alias), if compiled in.
pub fn find_backend(name: &str) -> Option<&'static BackendRegistration> {
    backends().into_iter().find(|registration| registration.answers_to(name))
}

/// Like [`find_backend`], but an unknown name is a `Config` error listing the registered ones.
pub fn require_backend(name: &str) -> Result<&'static BackendRegistration> {
    find_backend(name).ok_or_else(|| unsupported(name))
}

/// Opens (without initialising) the store `config` selects.
///
/// - Every setting must be known ([`check_settings`]): an unknown one is a `Config` error naming
///   it and the closest known name, whatever the backend.
/// - `enabled = false` gives the Null store, whatever the backend.
/// - A registered backend is opened with the configuration.
/// - A backend that exists but is left out of this build (the default one, or one of `known`,
///   the names a build may leave out): when it was only the default, or
///   `DECNET_VECTORSTORE_FALLBACK` names `fake`/`null`, that store is used with a WARN log and
///   health `degraded`; when it was named explicitly without a fallback, a `Config` error
///   saying it is not compiled in.
/// - Any other name: a `Config` error listing the registered backends.
///
/// The `vectorstore` crate's `open`, the one applications call, passes the backends of this
/// project, which it links by cargo feature.
///
/// Every store comes wrapped in [`Instrumented`]: its operations emit spans and metrics.
pub fn open_with_fallback(config: &Config, known: &[&str]) -> Result<Arc<dyn VectorStore>> {
    open_among(config, known, &backends())
}

/// [`open_with_fallback`] as if only the `available` registrations were compiled in: how a
/// test (the Python package's, among others) checks the fallback rules in a build that links
/// every backend. Every store comes wrapped in [`Instrumented`], as from `open`.
pub fn open_among(
    config: &Config,
    known: &[&str],
    available: &[&'static BackendRegistration],
) -> Result<Arc<dyn VectorStore>> {
    open_uninstrumented(config, known, available).map(Instrumented::wrap)
}

/// [`open_among`] without the spans and metrics, nor the contract's layer.
fn open_uninstrumented(
    config: &Config,
    known: &[&str],
    available: &[&'static BackendRegistration],
) -> Result<Arc<dyn StoreBackend>> {
    if !config.enabled {
        // Nothing else is read: a stray or misspelt setting must not stop a process that turned
        // the store off, but it is still worth a word.
        if let Err(err) = check_settings(config, known, available) {
            tracing::warn!("the vector store is disabled (ENABLED=false); ignoring: {err}");
        }
        tracing::info!("vector store disabled: using the null store");
        return Ok(Arc::new(NullVectorStore::new()));
    }
    check_settings(config, known, available)?;
    if let Some(registration) = available.iter().find(|registration| registration.answers_to(&config.backend)) {
        return (registration.open)(config);
    }
    let exists = !config.backend_explicit || known.iter().any(|name| normalise(name) == normalise(&config.backend));
    if !exists {
        return Err(unsupported(&config.backend));
    }
    let fallback = match (config.fallback, config.backend_explicit) {
        (Fallback::None, false) | (Fallback::Fake, _) => Fallback::Fake,
        (Fallback::Null, _) => Fallback::Null,
        (Fallback::None, true) => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "vectorstore backend {:?} is not compiled into this build (enable its feature of the \
                     vectorstore crate), or set DECNET_VECTORSTORE_FALLBACK=fake to use the in-memory store",
                    config.backend
                ),
            ));
        }
    };
    let reason = format!(
        "backend {} is not compiled into this build; install it or set DECNET_VECTORSTORE_TYPE=fake to silence this",
        config.backend
    );
    tracing::warn!(requested = %config.backend, "{reason}");
    Ok(match fallback {
        Fallback::Null => Arc::new(NullVectorStore::fallback(reason)),
        _ => Arc::new(FakeVectorStore::fallback(config.metric, reason)),
    })
}

/// Checks that every setting of `config` is one something reads: a general variable
/// ([`GENERAL_VARIABLES`]), one of the tools beside the library ([`TOOL_VARIABLES`]), or an
/// option a backend of `available` declares. Options of a backend of `known` left out of this
/// build pass unchecked (a deployment may set them for a build that has it), as do those of
/// another available backend than the selected one (it may switch `TYPE`). Anything else is a
/// `Config` error naming the variable and, when one is close, the known name it resembles: a
/// setting misspelt, or meant for a newer build, fails at open instead of being ignored.
pub fn check_settings(config: &Config, known: &[&str], available: &[&'static BackendRegistration]) -> Result<()> {
    for (key, _) in config.options() {
        if TOOL_VARIABLES.contains(&key) {
            continue;
        }
        let owner = available
            .iter()
            .filter(|registration| key.starts_with(&option_prefix(registration.name)))
            .max_by_key(|registration| registration.name.len());
        if let Some(registration) = owner {
            let option = &key[option_prefix(registration.name).len()..];
            if registration.options.contains(&option) {
                continue;
            }
            let candidates: Vec<String> = registration
                .options
                .iter()
                .map(|option| format!("{}{option}", option_prefix(registration.name)))
                .collect();
            return Err(unknown_setting(key, &candidates, Some(registration.name)));
        }
        let left_out = known
            .iter()
            .filter(|name| !available.iter().any(|registration| registration.answers_to(name)))
            .any(|name| key.starts_with(&option_prefix(name)));
        if left_out {
            continue;
        }
        let mut candidates: Vec<String> =
            GENERAL_VARIABLES.iter().chain(TOOL_VARIABLES).map(|name| (*name).to_owned()).collect();
        for registration in available {
            let prefix = option_prefix(registration.name);
            candidates.extend(registration.options.iter().map(|option| format!("{prefix}{option}")));
        }
        return Err(unknown_setting(key, &candidates, None));
    }
    Ok(())
}

/// `SQLITE_VEC_`: the start of a backend's option keys.
fn option_prefix(backend: &str) -> String {
    format!("{}_", normalise(backend).to_ascii_uppercase())
}

fn unknown_setting(key: &str, candidates: &[String], backend: Option<&str>) -> Error {
    let variable = format!("{ENV_PREFIX}{}", crate::validate::shown(key));
    let what = match backend {
        Some(name) => format!("unknown setting {variable}: backend {name} has no such option"),
        None => format!("unknown setting {variable}"),
    };
    let message = match closest(key, candidates) {
        Some(near) => format!("{what}; did you mean {ENV_PREFIX}{near}?"),
        None if candidates.is_empty() => what,
        None => format!("{what}; known: {}", candidates.join(", ")),
    };
    Error::new(ErrorKind::Config, message).with_context("variable", variable)
}

/// The candidate nearest to `key` by edit distance (any case), when near enough to be a slip.
fn closest<'a>(key: &str, candidates: &'a [String]) -> Option<&'a str> {
    let key = key.to_ascii_uppercase();
    candidates
        .iter()
        .map(|candidate| (edit_distance(&key, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(key.len()) / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

/// Levenshtein distance over bytes (the names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            current[j + 1] = (previous[j] + usize::from(x != y)).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

fn unsupported(name: &str) -> Error {
    let names: Vec<&str> = backends().iter().map(|r| r.name).collect();
    Error::new(
        ErrorKind::Config,
        format!(
            "Unsupported vectorstore type {:?}: registered backends are {}",
            crate::validate::shown(name),
            names.join(", ")
        ),
    )
}

fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}
