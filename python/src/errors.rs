//! Contract errors as Python exceptions. The classes live in `decnet_vectorstore.errors`, one
//! per error kind, found by the kind's stable name in its `BY_KIND` table; this module only
//! builds instances of them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use vectorstore::{Error, ErrorKind};

static BY_KIND: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// The Python exception for `error`: an instance of the class of its kind, whose message is
/// the Rust one (a dimension mismatch also says "dim mismatch", as the original's did), with
/// `kind`, `message` and `context` attributes.
pub fn to_python(py: Python<'_>, error: &Error) -> PyErr {
    match build(py, error) {
        Ok(exception) => exception,
        Err(failure) => failure,
    }
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let table = BY_KIND.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let table = py.import("decnet_vectorstore.errors")?.getattr("BY_KIND")?;
        Ok(table.cast_into::<PyDict>()?.unbind())
    })?;
    let table = table.bind(py);
    let class = match table.get_item(error.kind().as_str())? {
        Some(class) => class,
        None => py.import("decnet_vectorstore.errors")?.getattr("VectorStoreError")?,
    };
    let mut text = error.to_string();
    if error.kind() == ErrorKind::DimensionMismatch && !text.contains("dim mismatch") {
        // The original's message, which callers may match: "dim mismatch".
        text = match text.strip_prefix("dimension_mismatch: dimension mismatch") {
            Some(rest) => format!("dimension_mismatch: dim mismatch{rest}"),
            None => format!("dim mismatch: {text}"),
        };
    }
    let context = PyDict::new(py);
    for (key, value) in error.context() {
        context.set_item(*key, value)?;
    }
    let exception = class.call1((text,))?;
    exception.setattr("message", error.message())?;
    exception.setattr("context", context)?;
    Ok(PyErr::from_value(exception))
}

/// An `InvalidArgument` error for a value rejected before it reaches the store (a negative
/// extractor version, a batch whose columns differ in length).
pub fn invalid_argument(py: Python<'_>, message: String) -> PyErr {
    to_python(py, &Error::new(ErrorKind::InvalidArgument, message))
}
