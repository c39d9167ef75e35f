//! Turning a Rust future into something Python can `await`, without a trip through the event
//! loop when the answer is already there, and under asyncio or trio (directly or through
//! anyio) when it is not.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use pyo3::BoundObject;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
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

/// A call still running on the runtime. Awaiting it waits in whichever event loop awaits it
/// (`decnet_vectorstore._waiting`): asyncio, or trio (directly or through anyio). Cancelling
/// the awaiting task drops the Rust future, as cancelling an async Rust call does.
#[pyclass(frozen, module = "decnet_vectorstore._native")]
pub struct Waiting {
    shared: Arc<Mutex<Shared>>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

/// What the running call and the awaiting task share.
#[derive(Default)]
struct Shared {
    /// The outcome, once there.
    outcome: Option<PyResult<Py<PyAny>>>,
    /// Called (on a runtime thread, holding the GIL) when the outcome arrives.
    on_done: Option<Py<PyAny>>,
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

#[pymethods]
impl Waiting {
    fn __await__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        static WAIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let py = slf.py();
        let wait =
            WAIT.get_or_try_init(py, || py.import("decnet_vectorstore._waiting")?.getattr("wait").map(Bound::unbind))?;
        wait.bind(py).call1((slf,))?.call_method0("__await__")
    }

    /// Arranges for `callback()` to be called, on a runtime thread, when the outcome arrives;
    /// `False` (and no call) when it is already there.
    fn on_done(&self, callback: Py<PyAny>) -> bool {
        let mut shared = lock(&self.shared);
        if shared.outcome.is_some() {
            return false;
        }
        shared.on_done = Some(callback);
        true
    }

    /// Whether the outcome is there.
    fn done(&self) -> bool {
        lock(&self.shared).outcome.is_some()
    }

    /// The call's value, or its exception raised; once.
    fn result(&self) -> PyResult<Py<PyAny>> {
        lock(&self.shared)
            .outcome
            .take()
            .unwrap_or_else(|| Err(PyRuntimeError::new_err("the call has not finished, or its result was taken")))
    }

    /// Stops the call: its Rust future is dropped at its next await, as a cancelled async Rust
    /// call is.
    fn cancel(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(PoisonError::into_inner).take() {
            task.abort();
        }
    }
}

/// Calls of this process handed to the runtime and not finished yet.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Counts a handed-over call in [`IN_FLIGHT`] for as long as its task lives (finished or
/// aborted).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Wakes the thread that polls a call inline.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread (with the GIL released, inside the runtime) until it is
/// ready or, when `inline` is not zero and no other call of this process is waiting on an
/// event loop, until `inline` has passed.
fn poll_inline<F: Future + ?Sized>(future: std::pin::Pin<&mut F>, inline: Duration) -> Poll<F::Output> {
    let mut future = future;
    if inline.is_zero() || IN_FLIGHT.load(Ordering::Relaxed) > 0 {
        return future.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let deadline = Instant::now() + inline;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Poll::Ready(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return Poll::Pending;
        }
        // Woken by the engine (or spuriously: the loop polls again either way).
        std::thread::park_timeout(deadline - now);
    }
}

/// Runs `future` and hands its outcome to Python as an awaitable.
///
/// The future is first polled right here, with the GIL released and inside the shared tokio
/// runtime: an answer that needs no waiting (the Fake and Null stores, rejected input) comes
/// back as a [`Ready`], or as the exception itself. A lone call (no other call of this
/// process waiting on an event loop) may also wait here for up to `inline` (the embedded
/// store's default is 0.5 ms): a quick answer then skips the two thread crossings of a trip
/// through the event loop, which cost more than the call itself, while overlapping calls go
/// through the loop and run in parallel. Otherwise the same future is driven to the end by
/// the runtime, and a [`Waiting`] is returned.
pub fn run<'py, F, T>(py: Python<'py>, inline: Duration, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = vectorstore::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let mut future = Box::pin(future);
    let runtime = pyo3_async_runtimes::tokio::get_runtime();
    let first = py.detach(|| {
        let _entered = runtime.enter();
        poll_inline(future.as_mut(), inline)
    });
    match first {
        Poll::Ready(Ok(value)) => {
            let value = value.into_pyobject(py).map_err(Into::into)?.into_any().unbind();
            Ok(Bound::new(py, Ready { value: Some(value) })?.into_any())
        }
        Poll::Ready(Err(error)) => Err(errors::to_python(py, &error)),
        Poll::Pending => {
            let shared = Arc::new(Mutex::new(Shared::default()));
            let finished = shared.clone();
            let in_flight = InFlight::start();
            let task = runtime.spawn(async move {
                let result = future.await;
                // Before the awaiting task can resume: a call it makes next sees this one done.
                drop(in_flight);
                Python::attach(|py| {
                    let outcome = match result {
                        Ok(value) => value.into_pyobject(py).map(|v| v.into_any().unbind()).map_err(Into::into),
                        Err(error) => Err(errors::to_python(py, &error)),
                    };
                    let callback = {
                        let mut shared = lock(&finished);
                        shared.outcome = Some(outcome);
                        shared.on_done.take()
                    };
                    if let Some(callback) = callback
                        && let Err(err) = callback.call0(py)
                    {
                        err.write_unraisable(py, None);
                    }
                });
            });
            let waiting = Waiting { shared, task: Mutex::new(Some(task.abort_handle())) };
            Ok(Bound::new(py, waiting)?.into_any())
        }
    }
}

/// A value known without calling the store (for example `knn` with `k <= 0`).
pub fn ready<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    let value = value.into_pyobject(py).map_err(Into::into)?.into_any().unbind();
    Ok(Bound::new(py, Ready { value: Some(value) })?.into_any())
}
