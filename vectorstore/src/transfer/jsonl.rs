//! The JSON Lines encoding of entries (see the module docs of [`crate::transfer`]).

use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::Value;
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, NewVector, Result, VectorRecord};

use super::entry::{Decoder, Encoder, Entry, io_error};

#[derive(Serialize)]
struct KindLine<'a> {
    kind: &'a str,
    dim: usize,
    metric: Metric,
}

pub(crate) struct JsonLinesEncoder<'w> {
    out: &'w mut dyn Write,
}

impl<'w> JsonLinesEncoder<'w> {
    pub(crate) fn new(out: &'w mut dyn Write) -> Self {
        JsonLinesEncoder { out }
    }

    fn line<T: Serialize>(&mut self, value: &T) -> Result<()> {
        serde_json::to_writer(&mut *self.out, value)
            .map_err(|e| Error::new(ErrorKind::Backend, "cannot write JSON").with_source(e))?;
        self.out.write_all(b"\n").map_err(io_error)
    }
}

impl Encoder for JsonLinesEncoder<'_> {
    fn kind(&mut self, info: &KindInfo) -> Result<()> {
        self.line(&KindLine { kind: &info.kind, dim: info.dim, metric: info.metric })
    }

    fn record(&mut self, record: &VectorRecord) -> Result<()> {
        self.line(record)
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush().map_err(io_error)
    }
}

/// The longest line an import reads, in bytes (newline excluded). The longest valid record
/// line (4,096 components, a 512-byte id escaped) takes about 110 KB as `export` writes it;
/// 1 MiB leaves room for other writers' spelling of numbers and whitespace. A longer line is
/// refused once this many bytes are read, without reading the rest of it.
pub const MAX_LINE_BYTES: usize = 1 << 20;

pub(crate) struct JsonLinesDecoder<'r> {
    input: &'r mut dyn BufRead,
    line: Vec<u8>,
    number: u64,
    /// Set after an error that leaves the input mid-line: nothing more is read.
    stopped: bool,
}

impl<'r> JsonLinesDecoder<'r> {
    pub(crate) fn new(input: &'r mut dyn BufRead) -> Self {
        JsonLinesDecoder { input, line: Vec::new(), number: 0, stopped: false }
    }

    /// Reads the next line into `self.line` (without its newline), at most [`MAX_LINE_BYTES`];
    /// false at the end of the input.
    fn read_line(&mut self) -> Result<bool> {
        self.line.clear();
        loop {
            let buffer = match self.input.fill_buf() {
                Ok(buffer) => buffer,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(io_error(err)),
            };
            if buffer.is_empty() {
                return Ok(!self.line.is_empty());
            }
            let (taken, ended) = match buffer.iter().position(|&b| b == b'\n') {
                Some(at) => (at, true),
                None => (buffer.len(), false),
            };
            if self.line.len() + taken > MAX_LINE_BYTES {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!("the line is longer than {MAX_LINE_BYTES} bytes, the most an import reads"),
                ));
            }
            self.line.extend_from_slice(&buffer[..taken]);
            self.input.consume(if ended { taken + 1 } else { taken });
            if ended {
                return Ok(true);
            }
        }
    }
}

impl Decoder for JsonLinesDecoder<'_> {
    fn next_entry(&mut self) -> Option<Result<Entry>> {
        if self.stopped {
            return None;
        }
        loop {
            self.number += 1;
            match self.read_line() {
                Ok(false) => return None,
                Ok(true) if self.line.trim_ascii().is_empty() => continue,
                Ok(true) => {
                    return Some(
                        std::str::from_utf8(&self.line)
                            .map_err(|err| invalid(format!("not UTF-8 text: {err}")))
                            .and_then(parse),
                    );
                }
                Err(err) => {
                    self.stopped = true;
                    return Some(Err(err));
                }
            }
        }
    }

    fn location(&self) -> String {
        format!("line {}", self.number)
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

fn parse(text: &str) -> Result<Entry> {
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| invalid("expected a JSON object".into()))?;
    let kind =
        object.get("kind").and_then(Value::as_str).ok_or_else(|| invalid("missing string field \"kind\"".into()))?;
    let dim = match object.get("dim") {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(v.as_u64().ok_or_else(|| invalid(format!("\"dim\" must be a whole number, not {v}")))? as usize)
        }
    };
    if !object.contains_key("id") {
        let metric = object
            .get("metric")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a line without \"id\" must be a kind line with \"dim\" and \"metric\"".into()))?;
        let metric: Metric = metric.parse().map_err(|e: Error| invalid(e.message().to_owned()))?;
        let dim = dim.ok_or_else(|| invalid("a kind line needs \"dim\"".into()))?;
        return Ok(Entry::Kind { kind: kind.to_owned(), dim, metric });
    }
    let id = object.get("id").and_then(Value::as_str).ok_or_else(|| invalid("\"id\" must be a string".into()))?;
    let components = object
        .get("vector")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("missing array field \"vector\"".into()))?;
    let mut vector = Vec::with_capacity(components.len());
    for (index, component) in components.iter().enumerate() {
        let number = component
            .as_f64()
            .ok_or_else(|| invalid(format!("vector component {index} is not a number: {component}")))?;
        let narrowed = number as f32;
        if !narrowed.is_finite() {
            return Err(Error::new(
                ErrorKind::InvalidVector,
                format!("vector component {index} ({number}) is not a finite f32"),
            ));
        }
        vector.push(narrowed);
    }
    let extractor_version = match object.get("extractor_version") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| invalid(format!("\"extractor_version\" must be a whole number >= 1, not {v}")))?,
    };
    let written_at_ms = match object.get("written_at_ms") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| invalid(format!("\"written_at_ms\" must be a whole number of milliseconds, not {v}")))?,
        ),
    };
    if let Some(dim) = dim
        && dim != vector.len()
    {
        return Err(invalid(format!("\"dim\" is {dim} but the vector has {} components", vector.len())));
    }
    let item = NewVector { id: id.to_owned(), vector, extractor_version, written_at_ms };
    Ok(Entry::Record { kind: kind.to_owned(), item })
}
