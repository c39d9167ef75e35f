//! The records Python code gets back. `VectorRecord`, `Neighbor` and `DistinctNeighbor` are the frozen dataclasses
//! of `decnet_vectorstore.base` (the original's types: hashable, picklable, `dataclasses`
//! functions work on them), built here without running their `__init__`; `KindInfo` is a
//! class of this module, immutable and compared by value.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyFloat, PyInt, PyString, PyTuple, PyType};
use pyo3::{ffi, intern};

/// One stored vector, turned into a `decnet_vectorstore.base.VectorRecord` when it reaches
/// Python.
pub struct VectorRecord(pub vectorstore::VectorRecord);

/// One search hit, turned into a `decnet_vectorstore.base.Neighbor` when it reaches Python.
pub struct Neighbor(pub vectorstore::Neighbor);

/// One distinct vector near a query, turned into a `decnet_vectorstore.base.DistinctNeighbor`
/// when it reaches Python.
pub struct DistinctNeighbor(pub vectorstore::DistinctNeighbor);

impl From<vectorstore::DistinctNeighbor> for DistinctNeighbor {
    fn from(group: vectorstore::DistinctNeighbor) -> Self {
        DistinctNeighbor(group)
    }
}

impl From<vectorstore::VectorRecord> for VectorRecord {
    fn from(record: vectorstore::VectorRecord) -> Self {
        VectorRecord(record)
    }
}

impl From<vectorstore::Neighbor> for Neighbor {
    fn from(hit: vectorstore::Neighbor) -> Self {
        Neighbor(hit)
    }
}

static RECORD_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NEIGHBOR_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DISTINCT_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The class `name` of `decnet_vectorstore.base`, looked up once.
fn base_class<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyType>>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let class = cell.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        Ok(py.import("decnet_vectorstore.base")?.getattr(name)?.cast_into::<PyType>()?.unbind())
    })?;
    Ok(class.bind(py).clone())
}

/// A new instance of `class` with no field set: `object.__new__(class)`, without `__init__`.
fn bare_instance<'py>(class: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyAny>> {
    let py = class.py();
    // SAFETY: `class` is a live type object; PyType_GenericAlloc returns a new reference or
    // NULL with an exception set, which `from_owned_ptr_or_err` turns into the error.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_GenericAlloc(class.as_type_ptr(), 0)) }
}

/// Sets a field as `object.__setattr__` would: a frozen dataclass's own `__setattr__` refuses,
/// which is what its generated `__init__` works around the same way.
fn set_field(object: &Bound<'_, PyAny>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: three live objects; the call returns -1 with an exception set on failure.
    let status = unsafe { ffi::PyObject_GenericSetAttr(object.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if status == -1 { Err(PyErr::fetch(object.py())) } else { Ok(()) }
}

impl<'py> IntoPyObject<'py> for VectorRecord {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let record = self.0;
        let object = bare_instance(&base_class(py, &RECORD_CLASS, "VectorRecord")?)?;
        set_field(&object, intern!(py, "kind"), PyString::new(py, &record.kind).as_any())?;
        set_field(&object, intern!(py, "id"), PyString::new(py, &record.id).as_any())?;
        let vector = PyTuple::new(py, record.vector.iter().map(|&value| f64::from(value)))?;
        set_field(&object, intern!(py, "vector"), vector.as_any())?;
        set_field(&object, intern!(py, "dim"), PyInt::new(py, record.dim).as_any())?;
        set_field(&object, intern!(py, "extractor_version"), PyInt::new(py, record.extractor_version).as_any())?;
        set_field(&object, intern!(py, "written_at_ms"), PyInt::new(py, record.written_at_ms).as_any())?;
        Ok(object)
    }
}

impl<'py> IntoPyObject<'py> for Neighbor {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let hit = self.0;
        let object = bare_instance(&base_class(py, &NEIGHBOR_CLASS, "Neighbor")?)?;
        set_field(&object, intern!(py, "kind"), PyString::new(py, &hit.kind).as_any())?;
        set_field(&object, intern!(py, "id"), PyString::new(py, &hit.id).as_any())?;
        set_field(&object, intern!(py, "distance"), PyFloat::new(py, f64::from(hit.distance)).as_any())?;
        Ok(object)
    }
}

impl<'py> IntoPyObject<'py> for DistinctNeighbor {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let group = self.0;
        let object = bare_instance(&base_class(py, &DISTINCT_CLASS, "DistinctNeighbor")?)?;
        set_field(&object, intern!(py, "kind"), PyString::new(py, &group.kind).as_any())?;
        set_field(&object, intern!(py, "distance"), PyFloat::new(py, f64::from(group.distance)).as_any())?;
        set_field(&object, intern!(py, "count"), PyInt::new(py, group.count).as_any())?;
        let ids = PyTuple::new(py, group.ids.iter().map(|id| PyString::new(py, id)))?;
        set_field(&object, intern!(py, "ids"), ids.as_any())?;
        Ok(object)
    }
}

/// A kind (`kinds`, `create_kind`): `kind`, `dim`, `metric` (`"l2"`, `"cosine"`, `"dot"`),
/// `count`.
#[pyclass(frozen, eq, hash, get_all, module = "decnet_vectorstore")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

    /// Pickling: the constructor's arguments.
    fn __getnewargs__(&self) -> (String, usize, &'static str, u64) {
        (self.kind.clone(), self.dim, self.metric, self.count)
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
