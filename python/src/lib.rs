//! The native half of the Python package `decnet_vectorstore`: DECNET's vector store, every
//! backend linked in, behind the API of the original `decnet.vectorstore`.
//!
//! The pure-Python half (`python/decnet_vectorstore/`) holds what Python code reads: the store
//! classes with `async def` methods, the factory and the exception classes. This module holds
//! one class, `NativeStore`, wrapping `Arc<dyn VectorStore>`, whose methods return
//! awaitables, and the records.
//!
//! Every call converts its arguments while holding the GIL (vectors from a buffer such as a
//! numpy `float32` array are copied in one pass, never through Python floats), then releases it
//! and polls the Rust future once: a store that answers at once (the Fake, the Null, any input
//! error) gives an awaitable that is already done, so `await` never visits the event loop;
//! otherwise the future goes to a tokio runtime shared by every store and resolves an asyncio
//! future through `pyo3-async-runtimes`.

#![deny(missing_docs)]

mod awaitable;
mod errors;
mod logging;
mod records;
mod store;
mod vectors;

use pyo3::prelude::*;

/// The module `decnet_vectorstore._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    m.add_class::<store::NativeStore>()?;
    m.add_class::<records::KindInfo>()?;
    m.add_class::<awaitable::Ready>()?;
    m.add_class::<awaitable::Waiting>()?;
    m.add_function(wrap_pyfunction!(store::open, m)?)?;
    m.add_function(wrap_pyfunction!(store::compiled_backends, m)?)?;
    m.add_function(wrap_pyfunction!(store::backend_options, m)?)?;
    m.add_function(wrap_pyfunction!(store::copy, m)?)?;
    m.add_function(wrap_pyfunction!(store::verify, m)?)?;
    m.add_function(wrap_pyfunction!(logging::refresh_log_level, m)?)?;
    m.add("SCHEMA_VERSION", vectorstore::SCHEMA_VERSION)?;
    m.add("MAX_BATCH", vectorstore::limits::MAX_BATCH)?;
    Ok(())
}
