//! What a store says about itself: [`Health`] (live state, never an error) and
//! [`Capabilities`] (what it can do, fixed per store).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_DIM, MAX_K};
use crate::record::Metric;

/// A liveness probe's answer, as [`crate::VectorStore::health`] returns it. Serialises to the
/// original's shape, e.g. `{"ok": true, "backend": "sqlite_vec", "kinds": 4, "vectors": 12345}`;
/// counts a store cannot determine are `null`. Never carries secrets.
///
/// # Two views
///
/// [`health`](crate::VectorStore::health) is safe to publish (DECNET shows it on an HTTP
/// endpoint): it holds no file path, URL, host, user name, namespace or secret, and a failure's
/// `reason` is only its [`ErrorKind`](crate::ErrorKind). [`health_detailed`](crate::VectorStore::health_detailed)
/// adds where the store is (`path`, `url` with the password removed, `schema`,
/// `collection_prefix`) in `detail`, and the engine's own words in `reason`, for operators.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Health {
    /// True when the store is initialised and its engine answers.
    pub ok: bool,
    /// The registered backend name (`fake`, `sqlite_vec`, ...).
    pub backend: String,
    /// Number of kinds, when known.
    pub kinds: Option<u64>,
    /// Number of vectors over all kinds, when known.
    pub vectors: Option<u64>,
    /// Why `ok` is false (`not initialized`, `closed`, the engine's error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Versions of the engine and its parts (`sqlite`, `sqlite_vec`, `postgres`, `qdrant`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, String>,
    /// True when this store stands in for the one configured (see `fallback`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
    /// What was configured and why this store is used instead, when degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Other facts a backend reports (index settings, ...; in the detailed view also the
    /// location, with secrets removed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<String, String>,
}

impl Health {
    /// A healthy answer with counts.
    pub fn ok(backend: impl Into<String>, kinds: u64, vectors: u64) -> Self {
        Health { ok: true, backend: backend.into(), kinds: Some(kinds), vectors: Some(vectors), ..Health::default() }
    }

    /// An unhealthy answer with its reason; counts unknown.
    pub fn failed(backend: impl Into<String>, reason: impl Into<String>) -> Self {
        Health { ok: false, backend: backend.into(), reason: Some(reason.into()), ..Health::default() }
    }

    /// An unhealthy answer for `err`: in the detailed view its whole text, else only its kind
    /// (an engine's message may name a file, a host or a user).
    pub fn failed_with(backend: impl Into<String>, err: &crate::Error, detailed: bool) -> Self {
        let reason =
            if detailed { err.to_string() } else { format!("{} (the detailed health has the cause)", err.kind()) };
        Health::failed(backend, reason)
    }

    /// Adds a version entry.
    pub fn with_version(mut self, part: impl Into<String>, version: impl Into<String>) -> Self {
        self.versions.insert(part.into(), version.into());
        self
    }

    /// Adds a detail entry.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.detail.insert(key.into(), value.into());
        self
    }
}

/// Whether a store's searches return the exact nearest neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    /// Always the true k nearest (brute force or exact index).
    Exact,
    /// An index that may miss true neighbours (HNSW); the conformance suite checks recall.
    Approximate,
}

/// What a store can do. Constant per backend (usable in a `const` registration) and refined per
/// instance by [`crate::VectorStore::capabilities`]. The conformance suite picks its cases from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Metrics a kind may use; others give [`crate::ErrorKind::MetricUnsupported`].
    pub metrics: &'static [Metric],
    /// Data survives closing the store and opening the same location again.
    pub persistent: bool,
    /// The store keeps what it is given (false only for the Null store).
    pub stores_data: bool,
    /// Exact or approximate search.
    pub search: SearchKind,
    /// Largest dimension a kind may have.
    pub max_dim: usize,
    /// Largest `k` answered.
    pub max_k: usize,
    /// `insert_many` writes all of a batch or nothing.
    pub atomic_batches: bool,
    /// Several processes may use the same location at once.
    pub shared: bool,
}

impl Capabilities {
    /// The capabilities of an exact, in-process store supporting every metric at the contract's limits.
    pub const EXACT_IN_MEMORY: Capabilities = Capabilities {
        metrics: &Metric::ALL,
        persistent: false,
        stores_data: true,
        search: SearchKind::Exact,
        max_dim: MAX_DIM,
        max_k: MAX_K,
        atomic_batches: true,
        shared: false,
    };

    /// True when `metric` is supported.
    pub fn supports(&self, metric: Metric) -> bool {
        self.metrics.contains(&metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_serialises_like_the_original() {
        let json = serde_json::to_value(Health::ok("sqlite_vec", 4, 12_345)).unwrap();
        assert_eq!(json, serde_json::json!({"ok": true, "backend": "sqlite_vec", "kinds": 4, "vectors": 12345}));
        let json = serde_json::to_value(Health::failed("fake", "not initialized")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ok": false, "backend": "fake", "kinds": null, "vectors": null, "reason": "not initialized"})
        );
    }

    #[test]
    fn a_failure_names_only_its_kind_unless_detailed() {
        let err = crate::Error::new(crate::ErrorKind::Unavailable, "cannot reach postgres://decnet@db.internal:5432/x")
            .with_context("path", "/var/lib/decnet/vectors.sqlite");
        let public = Health::failed_with("pgvector", &err, false);
        let reason = public.reason.unwrap();
        assert!(reason.starts_with("unavailable"), "{reason}");
        for leak in ["postgres://", "decnet@", "db.internal", "/var/lib"] {
            assert!(!reason.contains(leak), "{leak} in {reason}");
        }
        let detailed = Health::failed_with("pgvector", &err, true).reason.unwrap();
        assert!(detailed.contains("db.internal") && detailed.contains("/var/lib"), "{detailed}");
    }
}
