//! Turning a Rust future into something Python can `await`, without a trip through the event
//! loop when the answer is already there.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use pyo3::BoundObject;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

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
/// The future is polled right here, with the GIL released and inside the shared tokio
/// runtime: an answer that needs no waiting (the Fake and Null stores, rejected input) comes
/// back as a [`Ready`], or as the exception itself. Otherwise the caller gets an asyncio future,
/// and each wake-up of the Rust future schedules its next poll on the event loop's own thread
/// ([`Driver`]): the answer reaches the loop in one thread crossing, as it reaches a Rust caller.
pub fn run<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = vectorstore::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let mut call: BoxedCall = Box::pin(async move {
        let value = future.await;
        Python::attach(|py| match value {
            Ok(value) => Ok(value.into_pyobject(py).map_err(Into::into)?.into_any().unbind()),
            Err(error) => Err(errors::to_python(py, &error)),
        })
    });
    let runtime = pyo3_async_runtimes::tokio::get_runtime();
    let first = py.detach(|| {
        let _entered = runtime.enter();
        call.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    });
    match first {
        Poll::Ready(outcome) => Ok(Bound::new(py, Ready { value: Some(outcome?) })?.into_any()),
        Poll::Pending => {
            let event_loop = GET_RUNNING_LOOP
                .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                    Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
                })?
                .bind(py)
                .call0()?;
            let result = event_loop.call_method0("create_future")?;
            let driver = Arc::new(Driver {
                call: Mutex::new(Some(call)),
                event_loop: event_loop.unbind(),
                result: result.clone().unbind(),
            });
            // The first poll used a no-op waker: poll again, on the loop, with the real one.
            Waker::from(driver).wake();
            Ok(result)
        }
    }
}

type BoxedCall = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A call that had to wait, and the asyncio future its caller awaits. Woken from any thread
/// (sqlx's workers, tokio's), it asks the loop to poll it again with `call_soon_threadsafe`;
/// the poll runs on the loop's thread with the GIL released.
struct Driver {
    call: Mutex<Option<BoxedCall>>,
    event_loop: Py<PyAny>,
    result: Py<PyAny>,
}

impl Wake for Driver {
    fn wake(self: Arc<Self>) {
        Python::attach(|py| {
            let poll = ScheduledPoll { driver: self.clone() };
            // A closed loop cannot take the result any more; the call is dropped with it.
            if self.event_loop.call_method1(py, "call_soon_threadsafe", (poll,)).is_err() {
                self.call.lock().unwrap_or_else(PoisonError::into_inner).take();
            }
        });
    }
}

/// One scheduled poll of a [`Driver`], called by the event loop.
#[pyclass(name = "PendingCall", module = "decnet_vectorstore._native")]
struct ScheduledPoll {
    driver: Arc<Driver>,
}

#[pymethods]
impl ScheduledPoll {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let driver = &self.driver;
        let result = driver.result.bind(py);
        let mut slot = driver.call.lock().unwrap_or_else(PoisonError::into_inner);
        if result.call_method0("done")?.is_truthy()? {
            // Cancelled by the caller: dropping the call cancels the Rust work.
            slot.take();
            return Ok(());
        }
        let Some(call) = slot.as_mut() else { return Ok(()) };
        let waker = Waker::from(driver.clone());
        let runtime = pyo3_async_runtimes::tokio::get_runtime();
        let polled = py.detach(|| {
            let _entered = runtime.enter();
            call.as_mut().poll(&mut Context::from_waker(&waker))
        });
        let Poll::Ready(outcome) = polled else { return Ok(()) };
        slot.take();
        drop(slot);
        match outcome {
            Ok(value) => result.call_method1("set_result", (value,))?,
            Err(error) => result.call_method1("set_exception", (error.into_value(py),))?,
        };
        Ok(())
    }
}

/// A value known without calling the store (for example `knn` with `k <= 0`).
pub fn ready<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    let value = value.into_pyobject(py).map_err(Into::into)?.into_any().unbind();
    Ok(Bound::new(py, Ready { value: Some(value) })?.into_any())
}
