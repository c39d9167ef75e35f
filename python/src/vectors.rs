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

/// Many vectors as read from Python (see [`many`]).
pub enum Many {
    /// The rows of a 2-dimensional `float32` buffer, copied once into one row-major buffer.
    Flat {
        /// How many rows.
        rows: usize,
        /// Values per row.
        dim: usize,
        /// Row `i` is `values[i * dim .. (i + 1) * dim]`.
        values: Vec<f32>,
    },
    /// One vector per item of a sequence.
    Each(Vec<Vec<f32>>),
}

impl Many {
    /// How many vectors.
    pub fn len(&self) -> usize {
        match self {
            Many::Flat { rows, .. } => *rows,
            Many::Each(vectors) => vectors.len(),
        }
    }

    /// Every vector, borrowed.
    pub fn slices(&self) -> Vec<&[f32]> {
        match self {
            Many::Flat { rows, dim, values } => (0..*rows).map(|i| &values[i * dim..(i + 1) * dim]).collect(),
            Many::Each(vectors) => vectors.iter().map(Vec::as_slice).collect(),
        }
    }
}

/// Many vectors: the rows of a 2-dimensional `float32` buffer (a numpy array, read in one
/// copy), or a sequence whose items are read by [`one`].
pub fn many(value: &Bound<'_, PyAny>) -> PyResult<Many> {
    refuse_text(value)?;
    if !value.is_instance_of::<PyList>()
        && !value.is_instance_of::<PyTuple>()
        && let Ok(buffer) = PyBuffer::<f32>::get(value)
    {
        let shape = buffer.shape().to_vec();
        let [rows, dim] = shape[..] else {
            return Err(PyTypeError::new_err(format!(
                "vectors must be a 2-dimensional array (rows x dim), this one has shape {shape:?}"
            )));
        };
        let values = if rows == 0 || dim == 0 {
            Vec::new()
        } else if buffer.is_c_contiguous() {
            // SAFETY: `PyBuffer::<f32>::get` checked the item type, size and alignment; a
            // C-contiguous buffer of this shape holds `rows * dim` items at `buf_ptr`, valid
            // while `buffer` lives. It is read with the GIL held, as `to_vec` reads it.
            let flat = unsafe { std::slice::from_raw_parts(buffer.buf_ptr().cast::<f32>(), rows * dim) };
            flat.to_vec()
        } else {
            // Any other layout: PyBuffer_ToContiguous, whatever the strides.
            buffer.to_vec(value.py())?
        };
        return Ok(Many::Flat { rows, dim, values });
    }
    Ok(Many::Each(value.try_iter()?.map(|row| one(&row?)).collect::<PyResult<_>>()?))
}

/// A column of ids from a Python sequence of `str`, kept in one buffer: one allocation for
/// the whole column rather than a `String` per id.
pub struct Ids {
    text: String,
    ends: Vec<usize>,
}

impl Ids {
    /// Reads every id; a `TypeError` for a lone `str` (not a sequence of ids) or an item that
    /// is not a `str`.
    pub fn read(value: &Bound<'_, PyAny>) -> PyResult<Ids> {
        if value.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("ids must be a sequence of str, not one str"));
        }
        let mut ids = Ids { text: String::new(), ends: Vec::new() };
        if let Ok(list) = value.cast::<PyList>() {
            ids.ends.reserve(list.len());
            for item in list.iter() {
                ids.push(&item)?;
            }
        } else {
            for item in value.try_iter()? {
                ids.push(&item?)?;
            }
        }
        Ok(ids)
    }

    fn push(&mut self, item: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = item
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("an id must be a str, not {}", type_name(item))))?;
        self.text.push_str(id.to_str()?);
        self.ends.push(self.text.len());
        Ok(())
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Every id, borrowed, in order.
    pub fn strs(&self) -> Vec<&str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.text[start..end]).collect()
    }
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
