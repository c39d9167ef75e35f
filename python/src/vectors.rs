//! Reading vectors from Python: any sequence of numbers, or an object with the buffer protocol
//! holding `float32` (a numpy array, `array.array("f")`, a memoryview), read in one pass.
//!
//! Values are checked by the store, not here: a NaN, an infinity (also a float too large for
//! `f32`) or a wrong length is the contract's `InvalidVector` / `DimensionMismatch`.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};

/// One vector from a 1-dimensional `float32` buffer or a sequence of numbers.
pub fn one(value: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    if let Ok(list) = value.cast::<PyList>() {
        return list.iter().map(|item| number(&item)).collect();
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return tuple.iter().map(|item| number(&item)).collect();
    }
    refuse_text(value)?;
    if let Ok(buffer) = PyBuffer::<f32>::get(value) {
        if buffer.dimensions() != 1 {
            return Err(PyTypeError::new_err(format!(
                "a vector must have 1 dimension, this array has {} (shape {:?})",
                buffer.dimensions(),
                buffer.shape()
            )));
        }
        return buffer.to_vec(value.py());
    }
    sequence(value)
}

/// Many vectors: the rows of a 2-dimensional C-contiguous `float32` buffer, or a sequence whose
/// items are read by [`one`].
pub fn many(value: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f32>>> {
    refuse_text(value)?;
    if !value.is_instance_of::<PyList>()
        && !value.is_instance_of::<PyTuple>()
        && let Ok(buffer) = PyBuffer::<f32>::get(value)
    {
        let shape = buffer.shape().to_vec();
        let [rows, columns] = shape[..] else {
            return Err(PyTypeError::new_err(format!(
                "vectors must be a 2-dimensional array (rows x dim), this one has shape {shape:?}"
            )));
        };
        if columns == 0 {
            return Ok(vec![Vec::new(); rows]);
        }
        if buffer.is_c_contiguous() {
            // SAFETY: `PyBuffer::<f32>::get` checked the item type, size and alignment; a
            // C-contiguous buffer of this shape holds `rows * columns` items at `buf_ptr`,
            // valid while `buffer` lives. It is read with the GIL held, as `to_vec` reads it.
            let flat = unsafe { std::slice::from_raw_parts(buffer.buf_ptr().cast::<f32>(), rows * columns) };
            // One copy, straight into the rows (numpy's usual layout).
            return Ok(flat.chunks_exact(columns).map(<[f32]>::to_vec).collect());
        }
        // Any other layout: one contiguous copy (PyBuffer_ToContiguous, whatever the strides), then rows.
        let flat = buffer.to_vec(value.py())?;
        return Ok(flat.chunks_exact(columns).map(<[f32]>::to_vec).collect());
    }
    value.try_iter()?.map(|row| one(&row?)).collect()
}

fn sequence(value: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    let items = value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "a vector must be a sequence of numbers or a float32 array, not {}",
            type_name(value)
        ))
    })?;
    items.map(|item| number(&item?)).collect()
}

fn number(item: &Bound<'_, PyAny>) -> PyResult<f32> {
    // Through f64, as Python floats are: a value beyond f32's range becomes infinite and is
    // then refused by the store, never silently clamped.
    item.extract::<f64>()
        .map(|x| x as f32)
        .map_err(|_| PyTypeError::new_err(format!("a vector's components must be numbers, not {}", type_name(item))))
}

fn refuse_text(value: &Bound<'_, PyAny>) -> PyResult<()> {
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() || value.is_instance_of::<PyByteArray>()
    {
        return Err(PyTypeError::new_err(format!(
            "a vector must be a sequence of numbers or a float32 array, not {}",
            type_name(value)
        )));
    }
    Ok(())
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|name| name.to_string()).unwrap_or_else(|_| "an unknown type".to_owned())
}
