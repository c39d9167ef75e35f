//! Turning a Rust future into something Python can `await`, without a trip through the event
//! loop when the answer is already there.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use pyo3::BoundObject;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

use crate::errors;

/// A finished call: awaiting it returns the value at once, under any event loop (asyncio, trio
/// through anyio, or none).
#[pyclass(module = "decnet_vectorstore._native")]
pub struct Ready {
    value: Option<Py<PyAny>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Ends the iteration with the value, as a finished coroutine does.
    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = self.value.take().unwrap_or_else(|| py.None());
        Err(PyStopIteration::new_err((value,)))
    }
}

/// Runs `future` and hands its outcome to Python as an awaitable.
///
/// The future is polled once right here, with the GIL released and inside the shared tokio
/// runtime: an answer that needs no waiting (the Fake and Null stores, rejected input) comes
/// back as a [`Ready`], or as the exception itself. Otherwise the same future is driven to the
/// end by the runtime and resolves an asyncio future.
pub fn run<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = vectorstore::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let mut future = Box::pin(future);
    let runtime = pyo3_async_runtimes::tokio::get_runtime();
    let first = py.detach(|| {
        let _entered = runtime.enter();
        future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    });
    match first {
        Poll::Ready(Ok(value)) => {
            let value = value.into_pyobject(py).map_err(Into::into)?.into_any().unbind();
            Ok(Bound::new(py, Ready { value: Some(value) })?.into_any())
        }
        Poll::Ready(Err(error)) => Err(errors::to_python(py, &error)),
        Poll::Pending => pyo3_async_runtimes::tokio::future_into_py(py, async move {
            future.await.map_err(|error| Python::attach(|py| errors::to_python(py, &error)))
        }),
    }
}

/// A value known without calling the store (for example `knn` with `k <= 0`).
pub fn ready<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    let value = value.into_pyobject(py).map_err(Into::into)?.into_any().unbind();
    Ok(Bound::new(py, Ready { value: Some(value) })?.into_any())
}
