//! The records Python code gets back: `VectorRecord`, `Neighbor` and `KindInfo`, immutable and
//! compared by value like the original's frozen dataclasses.

use pyo3::prelude::*;

/// One stored vector (`get`, `scan`): `kind`, `id`, `vector` (a list of floats, bit for bit as
/// written), `dim`, `extractor_version`, and `written_at_ms` (when it was last written, in
/// milliseconds since the Unix epoch).
#[pyclass(frozen, eq, get_all, module = "decnet_vectorstore")]
#[derive(Debug, Clone, PartialEq)]
pub struct VectorRecord {
    /// The kind.
    pub kind: String,
    /// The caller's id.
    pub id: String,
    /// The vector as stored.
    pub vector: Vec<f32>,
    /// Its dimension.
    pub dim: usize,
    /// The extractor version it was written with.
    pub extractor_version: u32,
    /// When it was last written (milliseconds since the Unix epoch; 0 when made by hand).
    pub written_at_ms: u64,
}

#[pymethods]
impl VectorRecord {
    #[new]
    #[pyo3(signature = (kind, id, vector, dim, extractor_version = 1, written_at_ms = 0))]
    fn new(kind: String, id: String, vector: Vec<f32>, dim: usize, extractor_version: u32, written_at_ms: u64) -> Self {
        VectorRecord { kind, id, vector, dim, extractor_version, written_at_ms }
    }

    fn __repr__(&self) -> String {
        format!(
            "VectorRecord(kind={:?}, id={:?}, dim={}, extractor_version={}, written_at_ms={}, vector=[{}])",
            self.kind,
            self.id,
            self.dim,
            self.extractor_version,
            self.written_at_ms,
            preview(&self.vector)
        )
    }
}

impl From<vectorstore::VectorRecord> for VectorRecord {
    fn from(record: vectorstore::VectorRecord) -> Self {
        VectorRecord {
            kind: record.kind,
            id: record.id,
            vector: record.vector,
            dim: record.dim,
            extractor_version: record.extractor_version,
            written_at_ms: record.written_at_ms,
        }
    }
}

/// One search hit (`knn`): `kind`, `id`, `distance`.
#[pyclass(frozen, eq, get_all, module = "decnet_vectorstore")]
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbor {
    /// The kind searched.
    pub kind: String,
    /// The stored id.
    pub id: String,
    /// Distance under the kind's metric; smaller is closer.
    pub distance: f32,
}

#[pymethods]
impl Neighbor {
    #[new]
    fn new(kind: String, id: String, distance: f32) -> Self {
        Neighbor { kind, id, distance }
    }

    fn __repr__(&self) -> String {
        format!("Neighbor(kind={:?}, id={:?}, distance={})", self.kind, self.id, self.distance)
    }
}

impl From<vectorstore::Neighbor> for Neighbor {
    fn from(hit: vectorstore::Neighbor) -> Self {
        Neighbor { kind: hit.kind, id: hit.id, distance: hit.distance }
    }
}

/// A kind (`kinds`, `create_kind`): `kind`, `dim`, `metric` (`"l2"`, `"cosine"`, `"dot"`),
/// `count`.
#[pyclass(frozen, eq, get_all, module = "decnet_vectorstore")]
#[derive(Debug, Clone, PartialEq)]
pub struct KindInfo {
    /// The kind.
    pub kind: String,
    /// Its dimension.
    pub dim: usize,
    /// Its metric's name.
    pub metric: &'static str,
    /// Vectors it holds.
    pub count: u64,
}

#[pymethods]
impl KindInfo {
    #[new]
    fn new(kind: String, dim: usize, metric: &str, count: u64) -> PyResult<Self> {
        let metric = metric
            .parse::<vectorstore::Metric>()
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.message().to_owned()))?
            .as_str();
        Ok(KindInfo { kind, dim, metric, count })
    }

    fn __repr__(&self) -> String {
        format!("KindInfo(kind={:?}, dim={}, metric={:?}, count={})", self.kind, self.dim, self.metric, self.count)
    }
}

impl From<vectorstore::KindInfo> for KindInfo {
    fn from(info: vectorstore::KindInfo) -> Self {
        KindInfo { kind: info.kind, dim: info.dim, metric: info.metric.as_str(), count: info.count }
    }
}

fn preview(vector: &[f32]) -> String {
    let shown: Vec<String> = vector.iter().take(4).map(f32::to_string).collect();
    let more = if vector.len() > 4 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}
