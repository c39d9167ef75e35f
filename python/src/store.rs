//! `NativeStore`, one opened store, and the module functions that open, list and move stores.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use vectorstore::transfer::{self, CopyOptions};
use vectorstore::{Config, Error, ErrorKind, KnnOptions, Metric, NewVector, Rows, VectorStore, VectorStoreExt};

use crate::awaitable::{ready, run};
use crate::errors::{invalid_argument, to_python};
use crate::records::{DistinctNeighbor, KindInfo, Neighbor, VectorRecord};
use crate::vectors::{self, Ids, Many};

/// One store, shared by every task and thread that holds it. Each method returns an awaitable;
/// the Python classes (`FakeVectorStore`, ...) wrap them in coroutines.
#[pyclass(frozen, module = "decnet_vectorstore._native")]
pub struct NativeStore {
    store: Arc<dyn VectorStore>,
    /// How long a call may wait on the calling thread before it is handed to the event loop
    /// (see [`crate::awaitable::run`]).
    inline: Duration,
}

impl Drop for NativeStore {
    fn drop(&mut self) {
        // A store collected without `close()` (or left for interpreter exit) is closed here:
        // an engine dropped while open leaves its threads working as the process goes away.
        // Python drops it holding the GIL, on a thread outside the runtime.
        if Arc::strong_count(&self.store) == 1 {
            let store = self.store.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                // Collected on a runtime thread (a garbage collection there): cannot block.
                runtime.spawn(async move { store.close().await });
                return;
            }
            Python::attach(|py| {
                py.detach(|| {
                    let _ = pyo3_async_runtimes::tokio::get_runtime().block_on(store.close());
                })
            });
        }
    }
}

#[pymethods]
impl NativeStore {
    /// The registered backend name (`fake`, `null`, `sqlite_vec`, `pgvector`, `qdrant`).
    #[getter]
    fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// What the store can do, as JSON (metrics, persistence, limits, exact or approximate).
    fn capabilities_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.store.capabilities()).map_err(|e| to_python_backend(&e))
    }

    fn initialize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { store.initialize().await })
    }

    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { store.close().await })
    }

    /// The health answer as JSON, in the original's shape.
    fn health_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move {
            let health = store.health().await;
            serde_json::to_string(&health)
                .map_err(|e| Error::new(ErrorKind::Backend, format!("health is not serialisable: {e}")))
        })
    }

    fn health_detailed_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move {
            let health = store.health_detailed().await;
            serde_json::to_string(&health)
                .map_err(|e| Error::new(ErrorKind::Backend, format!("health is not serialisable: {e}")))
        })
    }

    #[pyo3(signature = (kind, id, vector, extractor_version = 1))]
    fn insert<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        id: String,
        vector: &Bound<'py, PyAny>,
        extractor_version: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let vector = vectors::one(vector)?;
        let version = extractor_version_of(py, extractor_version)?;
        let store = self.store.clone();
        run(py, self.inline, async move { store.insert(&kind, &id, &vector, version).await })
    }

    /// `ids` and `vectors` are columns of the same length; `extractor_version` is one int for
    /// every row or one per row.
    #[pyo3(signature = (kind, ids, vectors, extractor_version = None))]
    fn insert_many<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        ids: &Bound<'py, PyAny>,
        vectors: &Bound<'py, PyAny>,
        extractor_version: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = Ids::read(ids)?;
        let rows = vectors::many(vectors)?;
        if rows.len() != ids.len() {
            return Err(invalid_argument(py, format!("insert_many got {} ids but {} vectors", ids.len(), rows.len())));
        }
        let versions: Vec<u32> = match extractor_version {
            None => vec![1; ids.len()],
            Some(value) => match value.extract::<i64>() {
                Ok(one) => vec![extractor_version_of(py, one)?; ids.len()],
                Err(_) => {
                    let each: Vec<i64> = value.extract()?;
                    if each.len() != ids.len() {
                        return Err(invalid_argument(
                            py,
                            format!("insert_many got {} ids but {} extractor versions", ids.len(), each.len()),
                        ));
                    }
                    each.into_iter().map(|v| extractor_version_of(py, v)).collect::<PyResult<_>>()?
                }
            },
        };
        let store = self.store.clone();
        match rows {
            // An array: its rows are written from the one buffer they were copied into.
            Many::Flat { dim, values, .. } => run(py, self.inline, async move {
                let ids = ids.strs();
                let rows = Rows::new(&ids, dim, &values)?.with_extractor_versions(&versions)?;
                store.insert_rows(&kind, rows).await
            }),
            Many::Each(rows) => {
                let items: Vec<NewVector> = ids
                    .strs()
                    .into_iter()
                    .zip(rows)
                    .zip(versions)
                    .map(|((id, vector), extractor_version)| {
                        NewVector::new(id, vector).with_extractor_version(extractor_version)
                    })
                    .collect();
                run(py, self.inline, async move { store.insert_many(&kind, &items).await })
            }
        }
    }

    fn get<'py>(&self, py: Python<'py>, kind: String, id: String) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { Ok(store.get(&kind, &id).await?.map(VectorRecord::from)) })
    }

    fn delete<'py>(&self, py: Python<'py>, kind: String, id: String) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { store.delete(&kind, &id).await })
    }

    /// One entry per id, in the order asked, `None` where nothing is stored.
    fn get_many<'py>(&self, py: Python<'py>, kind: String, ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let found = store.get_many(&kind, &ids).await?;
            Ok(found.into_iter().map(|record| record.map(VectorRecord::from)).collect::<Vec<_>>())
        })
    }

    /// How many of `ids` were stored and are now gone.
    fn delete_many<'py>(&self, py: Python<'py>, kind: String, ids: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            store.delete_many(&kind, &ids).await
        })
    }

    /// How many records of one extractor version went.
    fn delete_version<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        extractor_version: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let version = extractor_version_of(py, extractor_version)?;
        let store = self.store.clone();
        run(py, self.inline, async move { store.delete_version(&kind, version).await })
    }

    /// How many records last written before `written_before_ms` went.
    fn expire<'py>(&self, py: Python<'py>, kind: String, written_before_ms: i64) -> PyResult<Bound<'py, PyAny>> {
        let Ok(cutoff) = u64::try_from(written_before_ms) else {
            return Err(invalid_argument(
                py,
                format!("invalid cutoff {written_before_ms}: it is before the Unix epoch"),
            ));
        };
        let store = self.store.clone();
        run(py, self.inline, async move { store.expire(&kind, cutoff).await })
    }

    /// The `k` nearest; `k <= 0` gives `[]` as in the original. `extractor_version` and
    /// `max_distance` filter before the `k` nearest are taken.
    #[pyo3(signature = (kind, vector, k = 10, extractor_version = None, max_distance = None))]
    fn knn<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        vector: &Bound<'py, PyAny>,
        k: i64,
        extractor_version: Option<i64>,
        max_distance: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = vectors::one(vector)?;
        let Ok(k) = usize::try_from(k) else {
            return ready(py, Vec::<Neighbor>::new());
        };
        let options = knn_options(py, k, extractor_version, max_distance)?;
        let store = self.store.clone();
        run(py, self.inline, async move {
            let hits = if options.extractor_version.is_none() && options.max_distance.is_none() {
                store.knn(&kind, &query, options.k).await?
            } else {
                store.knn_with(&kind, &query, &options).await?
            };
            Ok(hits.into_iter().map(Neighbor::from).collect::<Vec<_>>())
        })
    }

    /// The `k` nearest distinct vectors, each with how many records share it and its first
    /// `ids_per_vector` ids; `k <= 0` gives `[]` as `knn` does. The filters apply first.
    #[pyo3(signature = (kind, vector, k = 10, ids_per_vector = 5, extractor_version = None, max_distance = None))]
    #[allow(clippy::too_many_arguments)]
    fn knn_distinct<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        vector: &Bound<'py, PyAny>,
        k: i64,
        ids_per_vector: i64,
        extractor_version: Option<i64>,
        max_distance: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = vectors::one(vector)?;
        let Ok(ids_per_vector) = usize::try_from(ids_per_vector) else {
            return Err(invalid_argument(py, format!("invalid ids_per_vector {ids_per_vector}: it must be >= 0")));
        };
        let Ok(k) = usize::try_from(k) else {
            return ready(py, Vec::<DistinctNeighbor>::new());
        };
        let options = knn_options(py, k, extractor_version, max_distance)?;
        let store = self.store.clone();
        run(py, self.inline, async move {
            let groups = store.knn_distinct(&kind, &query, &options, ids_per_vector).await?;
            Ok(groups.into_iter().map(DistinctNeighbor::from).collect::<Vec<_>>())
        })
    }

    /// The `k` nearest for each row of `vectors` (a 2-d numpy `float32` array or a sequence
    /// of sequences), each answered as `knn` would; the whole batch is checked first.
    #[pyo3(signature = (kind, vectors, k = 10, extractor_version = None, max_distance = None))]
    fn knn_batch<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        vectors: &Bound<'py, PyAny>,
        k: i64,
        extractor_version: Option<i64>,
        max_distance: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let queries = vectors::many(vectors)?;
        let k = usize::try_from(k).unwrap_or(0);
        let options = knn_options(py, k, extractor_version, max_distance)?;
        let store = self.store.clone();
        run(py, self.inline, async move {
            let refs = queries.slices();
            let answers = store.knn_batch(&kind, &refs, &options).await?;
            Ok(answers
                .into_iter()
                .map(|hits| hits.into_iter().map(Neighbor::from).collect::<Vec<_>>())
                .collect::<Vec<_>>())
        })
    }

    fn kinds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(
            py,
            self.inline,
            async move { Ok(store.kinds().await?.into_iter().map(KindInfo::from).collect::<Vec<_>>()) },
        )
    }

    #[pyo3(signature = (kind, after_id = None, limit = 1000))]
    fn scan<'py>(
        &self,
        py: Python<'py>,
        kind: String,
        after_id: Option<String>,
        limit: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let limit = usize::try_from(limit)
            .map_err(|_| invalid_argument(py, format!("invalid scan limit {limit}: must be positive")))?;
        let store = self.store.clone();
        run(py, self.inline, async move {
            let page = store.scan(&kind, after_id.as_deref(), limit).await?;
            Ok(page.into_iter().map(VectorRecord::from).collect::<Vec<_>>())
        })
    }

    #[pyo3(signature = (kind, dim, metric = "l2"))]
    fn create_kind<'py>(&self, py: Python<'py>, kind: String, dim: i64, metric: &str) -> PyResult<Bound<'py, PyAny>> {
        let dim = usize::try_from(dim)
            .map_err(|_| invalid_argument(py, format!("invalid dimension {dim}: must be positive")))?;
        let metric: Metric = metric
            .parse()
            .map_err(|e: Error| to_python(py, &Error::new(ErrorKind::InvalidArgument, e.message().to_owned())))?;
        let store = self.store.clone();
        run(py, self.inline, async move { Ok(KindInfo::from(store.create_kind(&kind, dim, metric).await?)) })
    }

    /// The kind's description, or `None` when the store does not know it.
    fn kind_info<'py>(&self, py: Python<'py>, kind: String) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { Ok(store.kind_info(&kind).await?.map(KindInfo::from)) })
    }

    /// Finishes work the store deferred on `kind` (pgvector's index build after a load); the
    /// seconds it took, or `None` when nothing was pending.
    fn settle<'py>(&self, py: Python<'py>, kind: String) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { Ok(store.settle(&kind).await?.map(|took| took.as_secs_f64())) })
    }

    fn drop_kind<'py>(&self, py: Python<'py>, kind: String) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store.clone();
        run(py, self.inline, async move { store.drop_kind(&kind).await })
    }

    /// Closes the store at once, blocking this thread (with the GIL released): what the
    /// package does at interpreter exit for stores never closed, so that no engine thread is
    /// still working while the interpreter is torn down. Errors are ignored, as at exit.
    fn close_blocking(&self, py: Python<'_>) {
        let store = self.store.clone();
        py.detach(|| {
            let _ = pyo3_async_runtimes::tokio::get_runtime().block_on(store.close());
        });
    }

    fn __repr__(&self) -> String {
        format!("<decnet_vectorstore store {}>", self.store.backend())
    }
}

/// Opens (without initialising) the store the `DECNET_VECTORSTORE_*` entries of `variables`
/// select, by the library's rules. `available` pretends that only those backends are compiled
/// in (the fallback tests); `None` means every backend of the build.
#[pyfunction]
#[pyo3(signature = (variables, available = None))]
pub fn open(
    py: Python<'_>,
    variables: HashMap<String, String>,
    available: Option<Vec<String>>,
) -> PyResult<NativeStore> {
    let inline = variables_inline(&variables);
    let opened = py.detach(|| {
        let config = Config::from_vars(variables)?;
        match available {
            None => vectorstore::open(&config),
            Some(names) => {
                let registrations: Vec<_> = vectorstore::backends()
                    .into_iter()
                    .filter(|registration| names.iter().any(|name| registration.answers_to(name)))
                    .collect();
                vectorstore::backend::open_among(&config, vectorstore::PROJECT_BACKENDS, &registrations)
            }
        }
    });
    let store = opened.map_err(|error| to_python(py, &error))?;
    let inline = match inline {
        Some(given) => given.map_err(|message| {
            to_python(py, &Error::new(ErrorKind::Config, message).with_context("variable", INLINE_WAIT_VARIABLE))
        })?,
        // An embedded store answers most calls in well under a millisecond; a server's calls
        // take a network round trip or more, during which the event loop should run others.
        None if store.backend() == "sqlite_vec" => DEFAULT_INLINE_WAIT,
        None => Duration::ZERO,
    };
    Ok(NativeStore { store, inline })
}

/// The variable that sets how long a lone call waits on the calling thread, in µs.
const INLINE_WAIT_VARIABLE: &str = "DECNET_VECTORSTORE_PYTHON_INLINE_WAIT_US";
/// Its default for the embedded store (0 for the server stores).
const DEFAULT_INLINE_WAIT: Duration = Duration::from_micros(500);
/// Its largest value: longer would stall the event loop noticeably.
const MAX_INLINE_WAIT_US: u64 = 100_000;

fn variables_inline(variables: &HashMap<String, String>) -> Option<Result<Duration, String>> {
    let raw = variables.get(INLINE_WAIT_VARIABLE)?.trim();
    if raw.is_empty() {
        return None;
    }
    Some(match raw.parse::<u64>() {
        Ok(us) if us <= MAX_INLINE_WAIT_US => Ok(Duration::from_micros(us)),
        _ => Err(format!(
            "invalid {INLINE_WAIT_VARIABLE} {raw:?}: microseconds, from 0 (every waiting call goes through the event loop) to {MAX_INLINE_WAIT_US}"
        )),
    })
}

/// The options `backend` reads, lowercase (`busy_timeout_ms`, ...); `None` for a backend not in
/// this build.
#[pyfunction]
pub fn backend_options(backend: &str) -> Option<Vec<String>> {
    let registration = vectorstore::find_backend(backend)?;
    Some(registration.options.iter().map(|option| option.to_ascii_lowercase()).collect())
}

/// The backends compiled into this build, sorted.
#[pyfunction]
pub fn compiled_backends() -> Vec<&'static str> {
    vectorstore::compiled_backends()
}

/// Copies every kind and record of `source` (or of `kinds`) into `target`; the report as JSON.
#[pyfunction]
#[pyo3(signature = (source, target, kinds = Vec::new(), batch_size = None, replace_kind = false))]
pub fn copy<'py>(
    py: Python<'py>,
    source: &NativeStore,
    target: &NativeStore,
    kinds: Vec<String>,
    batch_size: Option<i64>,
    replace_kind: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let mut options = CopyOptions { kinds, replace_kind, ..CopyOptions::default() };
    if let Some(size) = batch_size {
        options.batch_size = usize::try_from(size)
            .ok()
            .filter(|size| (1..=vectorstore::limits::MAX_BATCH).contains(size))
            .ok_or_else(|| {
                invalid_argument(
                    py,
                    format!("invalid batch_size {size}: must be 1..={}", vectorstore::limits::MAX_BATCH),
                )
            })?;
    }
    let (from, to) = (source.store.clone(), target.store.clone());
    run(
        py,
        Duration::ZERO,
        off_the_runtime(move |handle| {
            let report = handle.block_on(transfer::copy(&*from, &*to, &options, &mut |_| {}))?;
            let written = report.written();
            json(&serde_json_value(&report)?, &[("written", written.into())])
        }),
    )
}

/// Compares `source` and `target` (counts, checksums, sampled searches); the report as JSON with
/// an `ok` field.
#[pyfunction]
#[pyo3(signature = (source, target, kinds = Vec::new()))]
pub fn verify<'py>(
    py: Python<'py>,
    source: &NativeStore,
    target: &NativeStore,
    kinds: Vec<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let (from, to) = (source.store.clone(), target.store.clone());
    run(
        py,
        Duration::ZERO,
        off_the_runtime(move |handle| {
            let report = handle.block_on(transfer::verify(&*from, &*to, &kinds))?;
            json(&serde_json_value(&report)?, &[("ok", report.ok().into())])
        }),
    )
}

/// Runs `work` on a blocking thread of the shared runtime. The transfer functions report
/// progress through a `&mut dyn FnMut`, so their futures are not `Send` and cannot be spawned.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce(tokio::runtime::Handle) -> vectorstore::Result<T> + Send + 'static,
) -> vectorstore::Result<T> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || work(handle))
        .await
        .map_err(|e| Error::new(ErrorKind::Backend, format!("the transfer task failed: {e}")))?
}

fn serde_json_value(report: &impl serde::Serialize) -> vectorstore::Result<serde_json::Value> {
    serde_json::to_value(report).map_err(|e| Error::new(ErrorKind::Backend, format!("report is not serialisable: {e}")))
}

fn json(report: &serde_json::Value, extra: &[(&str, serde_json::Value)]) -> vectorstore::Result<String> {
    let mut report = report.clone();
    if let Some(object) = report.as_object_mut() {
        for (key, value) in extra {
            object.insert((*key).to_owned(), value.clone());
        }
    }
    Ok(report.to_string())
}

/// The search options the Python keyword arguments describe.
fn knn_options(
    py: Python<'_>,
    k: usize,
    extractor_version: Option<i64>,
    max_distance: Option<f64>,
) -> PyResult<KnnOptions> {
    let mut options = KnnOptions::new(k);
    if let Some(version) = extractor_version {
        options = options.extractor_version(extractor_version_of(py, version)?);
    }
    if let Some(distance) = max_distance {
        options = options.max_distance(distance as f32);
    }
    Ok(options)
}

fn extractor_version_of(py: Python<'_>, version: i64) -> PyResult<u32> {
    u32::try_from(version)
        .map_err(|_| invalid_argument(py, format!("invalid extractor_version {version}: must be 1..={}", u32::MAX)))
}

fn to_python_backend(error: &serde_json::Error) -> PyErr {
    Python::attach(|py| to_python(py, &Error::new(ErrorKind::Backend, error.to_string())))
}
