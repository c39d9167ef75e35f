//! The records that cross the contract: what is stored, what a search returns, how a kind is
//! described, and the metric it is searched with.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// Version of the records' wire/storage shape. Stores record it and refuse data written by a
/// newer version; bumped on incompatible storage changes.
///
/// Version 2 added the time each record was last written ([`VectorRecord::written_at_ms`]);
/// every store upgrades a version-1 layout in place when it first opens it.
pub const SCHEMA_VERSION: u32 = 2;

/// Milliseconds since the Unix epoch (UTC) now, by this process's clock: the time a store
/// gives the records it writes, and the clock [`crate::VectorStore::expire`] cutoffs are
/// checked against.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// The distance a kind is searched with. Every store reports the same number for the same
/// metric, and smaller is always closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Euclidean distance `sqrt(sum((a - b)^2))`. The default, and what the original computed.
    #[default]
    L2,
    /// `1 - cos(a, b)`, in `[0, 2]`. Zero vectors are rejected under this metric.
    Cosine,
    /// `-(a . b)`: the negated inner product, so that smaller is closer.
    Dot,
}

impl Metric {
    /// Every metric, in a stable order.
    pub const ALL: [Metric; 3] = [Metric::L2, Metric::Cosine, Metric::Dot];

    /// The lowercase name used in configuration and output (`l2`, `cosine`, `dot`).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Accepts `l2` / `euclidean`, `cosine`, `dot` / `ip` / `inner_product` in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "l2" | "euclidean" | "euclid" => Ok(Metric::L2),
            "cosine" | "cos" => Ok(Metric::Cosine),
            "dot" | "ip" | "inner_product" => Ok(Metric::Dot),
            _ => Err(Error::new(
                ErrorKind::Config,
                format!("unknown metric {:?}: expected one of l2, cosine, dot", crate::escape::shown(s)),
            )),
        }
    }
}

/// One stored vector, as [`crate::VectorStore::get`] and [`crate::VectorStore::scan`] return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorRecord {
    /// The feature family (`ja3`, `hassh`, ...). Vectors are only compared within one kind.
    pub kind: String,
    /// The caller's id (a session id, an attacker uuid, ...); opaque to the store.
    pub id: String,
    /// The vector exactly as inserted, bit for bit.
    pub vector: Vec<f32>,
    /// The kind's dimension (always `vector.len()`).
    pub dim: usize,
    /// Version of the extractor that produced the vector (>= 1).
    pub extractor_version: u32,
    /// When the record was last written, in milliseconds since the Unix epoch (UTC): set by
    /// the store from its process's clock on every insert or overwrite, or kept from the
    /// source by a copy or an import (see [`NewVector::written_at_ms`]). Records written
    /// before stores kept this time count as written when a store of schema version 2 first
    /// opened them. Absent in older export files, where it reads as 0.
    #[serde(default)]
    pub written_at_ms: u64,
}

/// The answer of [`crate::VectorStore::get_many`] from the records a backend found (in any
/// order, each id at most once): one entry per requested id, in the order of `ids`, `None`
/// where nothing was found, a repeated id given the same record at each of its places.
pub fn in_request_order(ids: &[&str], found: Vec<VectorRecord>) -> Vec<Option<VectorRecord>> {
    let mut by_id: std::collections::HashMap<String, VectorRecord> =
        found.into_iter().map(|record| (record.id.clone(), record)).collect();
    let mut remaining: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for id in ids {
        *remaining.entry(id).or_insert(0) += 1;
    }
    ids.iter()
        .map(|id| {
            let left = remaining.get_mut(id).expect("counted above");
            *left -= 1;
            // The last place of an id takes the record; earlier places get a copy.
            if *left == 0 { by_id.remove(*id) } else { by_id.get(*id).cloned() }
        })
        .collect()
}

/// One vector to write with [`crate::VectorStore::insert_many`]; the kind is given once per batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVector {
    /// The caller's id.
    pub id: String,
    /// The vector to store.
    pub vector: Vec<f32>,
    /// Version of the extractor that produced it (>= 1).
    pub extractor_version: u32,
    /// The time to record as its last write, in milliseconds since the Unix epoch; `None`
    /// (the usual case) lets the store use the time of the call. Set by copies and imports,
    /// which keep each record's age. At most [`crate::limits::MAX_CLOCK_SKEW_MS`] ahead of
    /// the store's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at_ms: Option<u64>,
}

impl NewVector {
    /// A vector from extractor version 1, written now.
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Self {
        NewVector { id: id.into(), vector, extractor_version: 1, written_at_ms: None }
    }

    /// Sets the extractor version.
    pub fn with_extractor_version(mut self, extractor_version: u32) -> Self {
        self.extractor_version = extractor_version;
        self
    }

    /// Records the vector as written at `written_at_ms` (milliseconds since the Unix epoch)
    /// instead of the time of the call.
    pub fn with_written_at_ms(mut self, written_at_ms: u64) -> Self {
        self.written_at_ms = Some(written_at_ms);
        self
    }

    /// The time a store records for this item: its own, or `now_ms` (the call's time).
    pub fn written_at_or(&self, now_ms: u64) -> u64 {
        self.written_at_ms.unwrap_or(now_ms)
    }
}

/// Many vectors of one kind in one row-major buffer, for
/// [`crate::VectorStore::insert_rows`]: row `i` is `values[i * dim .. (i + 1) * dim]`, stored
/// under `ids[i]`. What an array of shape (rows, dim) gives, read in place: no `Vec` per row.
///
/// Built with [`Rows::new`], which checks that the buffer holds exactly one row per id; the
/// rows themselves (ids, values, versions) are checked by the store, as `insert_many` checks
/// its items. Every row is written at the time of the call.
///
/// ```
/// use vectorstore_core::Rows;
///
/// let ids = ["a", "b"];
/// let rows = Rows::new(&ids, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?.with_extractor_version(2);
/// assert_eq!(rows.len(), 2);
/// assert_eq!(rows.vector(1), &[4.0, 5.0, 6.0]);
/// assert!(Rows::new(&ids, 3, &[1.0, 2.0]).is_err());
/// # Ok::<(), vectorstore_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    ids: &'a [&'a str],
    dim: usize,
    values: &'a [f32],
    versions: Versions<'a>,
}

/// The extractor versions of [`Rows`]: one for all, or one per row.
#[derive(Debug, Clone, Copy)]
enum Versions<'a> {
    All(u32),
    Each(&'a [u32]),
}

impl<'a> Rows<'a> {
    /// `ids.len()` rows of `dim` values each, from extractor version 1. `InvalidArgument`,
    /// naming both numbers, unless `values` holds exactly `ids.len() × dim` values.
    pub fn new(ids: &'a [&'a str], dim: usize, values: &'a [f32]) -> Result<Self, Error> {
        if ids.len().checked_mul(dim) != Some(values.len()) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{} ids of dimension {dim} need {} values, the buffer holds {}",
                    ids.len(),
                    ids.len().saturating_mul(dim),
                    values.len()
                ),
            ));
        }
        Ok(Rows { ids, dim, values, versions: Versions::All(1) })
    }

    /// Every row from `extractor_version`.
    pub fn with_extractor_version(mut self, extractor_version: u32) -> Self {
        self.versions = Versions::All(extractor_version);
        self
    }

    /// Row `i` from `extractor_versions[i]`. `InvalidArgument` unless there is one per row.
    pub fn with_extractor_versions(mut self, extractor_versions: &'a [u32]) -> Result<Self, Error> {
        if extractor_versions.len() != self.ids.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} rows but {} extractor versions", self.ids.len(), extractor_versions.len()),
            ));
        }
        self.versions = Versions::Each(extractor_versions);
        Ok(self)
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The dimension of every row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The id of row `i` (`i < len()`).
    pub fn id(&self, i: usize) -> &'a str {
        self.ids[i]
    }

    /// The values of row `i` (`i < len()`).
    pub fn vector(&self, i: usize) -> &'a [f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The extractor version of row `i` (`i < len()`).
    pub fn extractor_version(&self, i: usize) -> u32 {
        match self.versions {
            Versions::All(version) => version,
            Versions::Each(versions) => versions[i],
        }
    }

    /// Every row in order: id, values, extractor version.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a [f32], u32)> + '_ {
        (0..self.len()).map(|i| (self.id(i), self.vector(i), self.extractor_version(i)))
    }

    /// The same rows as [`NewVector`]s, each written at the time of the call.
    pub fn to_new_vectors(&self) -> Vec<NewVector> {
        self.iter()
            .map(|(id, vector, version)| NewVector::new(id, vector.to_vec()).with_extractor_version(version))
            .collect()
    }
}

/// A record written again keeps its age: the time it was last written travels with it.
impl From<VectorRecord> for NewVector {
    fn from(record: VectorRecord) -> Self {
        NewVector {
            id: record.id,
            vector: record.vector,
            extractor_version: record.extractor_version,
            written_at_ms: Some(record.written_at_ms),
        }
    }
}

/// One search hit, as [`crate::VectorStore::knn`] returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbor {
    /// The kind searched (always the query's kind).
    pub kind: String,
    /// The stored id.
    pub id: String,
    /// Distance from the query under the kind's [`Metric`]; smaller is closer.
    pub distance: f32,
}

/// A kind as the store knows it: its fixed dimension, its metric and how many vectors it holds,
/// in all and per extractor version.
///
/// Serialises as `{"kind": "ja3", "dim": 3, "metric": "l2", "count": 5, "versions": {"1": 3,
/// "2": 2}}`; `versions` may be absent when read (older output), and is then empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindInfo {
    /// The kind name.
    pub kind: String,
    /// The dimension fixed by the kind's first insert or explicit creation.
    pub dim: usize,
    /// The metric the kind is searched with.
    pub metric: Metric,
    /// Number of vectors currently stored.
    pub count: u64,
    /// Number of vectors per extractor version, ascending by version; only versions with at
    /// least one vector appear, and the counts add up to `count` (unless the kind was written
    /// while it was being counted, on a store that counts in several requests, e.g. Qdrant).
    /// Filled by [`crate::VectorStore::kinds`]; other calls returning a `KindInfo` leave it empty.
    #[serde(default)]
    pub versions: BTreeMap<u32, u64>,
}

impl KindInfo {
    /// A kind with no vectors (count 0, no versions).
    pub fn new(kind: impl Into<String>, dim: usize, metric: Metric) -> Self {
        KindInfo { kind: kind.into(), dim, metric, count: 0, versions: BTreeMap::new() }
    }

    /// The same kind with `count` vectors (versions unknown, left empty).
    pub fn with_count(mut self, count: u64) -> Self {
        self.count = count;
        self
    }
}

/// Parameters of a search, for [`crate::VectorStore::knn_with`].
///
/// Filters apply *before* the `k` nearest are taken, so a filtered search still returns up to
/// `k` hits when that many match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KnnOptions {
    /// How many neighbours at most; 0 returns nothing. At most [`crate::limits::MAX_K`].
    pub k: usize,
    /// Only vectors written by this extractor version.
    pub extractor_version: Option<u32>,
    /// Only neighbours at this distance or closer (inclusive).
    pub max_distance: Option<f32>,
}

impl KnnOptions {
    /// The `k` nearest, unfiltered.
    pub fn new(k: usize) -> Self {
        KnnOptions { k, extractor_version: None, max_distance: None }
    }

    /// Only vectors of this extractor version.
    pub fn extractor_version(mut self, version: u32) -> Self {
        self.extractor_version = Some(version);
        self
    }

    /// Only neighbours at `distance` or closer.
    pub fn max_distance(mut self, distance: f32) -> Self {
        self.max_distance = Some(distance);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_check_their_shape_and_read_in_place() {
        let ids = ["a", "b", "c"];
        let values: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let rows = Rows::new(&ids, 2, &values).unwrap();
        assert_eq!((rows.len(), rows.dim(), rows.is_empty()), (3, 2, false));
        let read: Vec<(&str, Vec<f32>, u32)> = rows.iter().map(|(id, v, version)| (id, v.to_vec(), version)).collect();
        assert_eq!(read, [("a", vec![0.0, 1.0], 1), ("b", vec![2.0, 3.0], 1), ("c", vec![4.0, 5.0], 1)]);
        assert_eq!(rows.with_extractor_version(4).extractor_version(2), 4);
        let each = rows.with_extractor_versions(&[3, 2, 1]).unwrap();
        assert_eq!(each.to_new_vectors()[0], NewVector::new("a", vec![0.0, 1.0]).with_extractor_version(3));

        let err = Rows::new(&ids, 2, &values[..5]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("need 6 values") && err.message().contains("holds 5"), "{err}");
        let err = Rows::new(&ids, usize::MAX, &values).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "an impossible size is refused, not an overflow");
        let err = rows.with_extractor_versions(&[1, 2]).unwrap_err();
        assert!(err.message().contains("3 rows but 2 extractor versions"), "{err}");
        // Dimension 0 is a shape like any other; the store refuses the empty rows.
        let empty = Rows::new(&ids, 0, &[]).unwrap();
        assert!(empty.vector(2).is_empty());
        assert!(Rows::new(&[], 4, &[]).unwrap().is_empty());
    }

    #[test]
    fn metric_names_round_trip_and_aliases_parse() {
        for metric in Metric::ALL {
            assert_eq!(metric.as_str().parse::<Metric>().unwrap(), metric);
            let json = serde_json::to_string(&metric).unwrap();
            assert_eq!(json, format!("\"{}\"", metric.as_str()));
        }
        assert_eq!("Euclidean".parse::<Metric>().unwrap(), Metric::L2);
        assert_eq!(" IP ".parse::<Metric>().unwrap(), Metric::Dot);
        let err = "manhattan".parse::<Metric>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("manhattan"), "{err}");
    }

    #[test]
    fn records_come_back_in_request_order_with_repeats_and_gaps() {
        let record = |id: &str| VectorRecord {
            kind: "ja3".into(),
            id: id.into(),
            vector: vec![1.0],
            dim: 1,
            extractor_version: 1,
            written_at_ms: 7,
        };
        let answer = in_request_order(&["b", "x", "a", "b"], vec![record("a"), record("b")]);
        let ids: Vec<Option<&str>> = answer.iter().map(|r| r.as_ref().map(|r| r.id.as_str())).collect();
        assert_eq!(ids, [Some("b"), None, Some("a"), Some("b")]);
        assert!(in_request_order(&[], vec![record("a")]).is_empty());
    }

    #[test]
    fn kind_info_serialises_versions_by_number_and_reads_older_output() {
        let mut info = KindInfo::new("ja3", 3, Metric::L2).with_count(5);
        info.versions.insert(1, 3);
        info.versions.insert(12, 2);
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "ja3", "dim": 3, "metric": "l2", "count": 5, "versions": {"1": 3, "12": 2}})
        );
        assert_eq!(serde_json::from_value::<KindInfo>(json).unwrap(), info);
        let older = serde_json::json!({"kind": "ja3", "dim": 3, "metric": "l2", "count": 0});
        assert_eq!(serde_json::from_value::<KindInfo>(older).unwrap(), KindInfo::new("ja3", 3, Metric::L2));
    }
}
