//! The library's `tracing` events, handed to Python's `logging` as records of the logger
//! `decnet_vectorstore`: the level mapped (ERROR 40, WARN 30, INFO 20, DEBUG 10, TRACE 5), the
//! message with the event's fields appended as `key=value` (what `tracing`'s own formatter
//! shows), and on the record `fields` (a dict of them), `target` (the Rust module), the Rust
//! file and line as `pathname` and `lineno`.
//!
//! A process-wide subscriber, installed when the module is imported. Spans are not collected
//! (every store operation opens one: they would cost a call each and say nothing a log reader
//! needs). Warnings and errors always reach Python, which filters them as it filters its own;
//! INFO and below are let through only when the logger would take them, by a level read from
//! Python at most a second ago, and again whenever a store is opened or initialised (so
//! `caplog.set_level` or `setLevel` followed by an `initialize()` is seen at once).

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// The logger's name.
const LOGGER: &str = "decnet_vectorstore";

/// How long a level read from Python is trusted before it is read again.
const LEVEL_TTL: Duration = Duration::from_secs(1);

/// The logger's effective level as last read (Python's numbers; `logging.WARNING` until read).
static LEVEL: AtomicU8 = AtomicU8::new(30);
/// When it was read, in milliseconds since the Unix epoch (0: never).
static LEVEL_READ_AT_MS: AtomicU64 = AtomicU64::new(0);

static LOGGER_OBJECT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Installs the bridge as the process's `tracing` subscriber; a no-op when one is already set
/// (an embedding Rust program's own).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(PythonLogging);
}

/// Reads the logger's effective level again (called when a store is opened or initialised).
#[pyfunction]
pub fn refresh_log_level(py: Python<'_>) -> PyResult<()> {
    read_level(py)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(LOGGER_OBJECT
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("logging")?.call_method1("getLogger", (LOGGER,))?.unbind())
        })?
        .bind(py))
}

fn read_level(py: Python<'_>) -> PyResult<()> {
    let level: i64 = logger(py)?.call_method0("getEffectiveLevel")?.extract()?;
    LEVEL.store(level.clamp(0, 255) as u8, Ordering::Relaxed);
    LEVEL_READ_AT_MS.store(now_ms(), Ordering::Relaxed);
    Ok(())
}

/// Python's number for a `tracing` level.
fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

/// The subscriber: events to Python records, spans dropped.
struct PythonLogging;

impl Subscriber for PythonLogging {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() { Interest::never() } else { Interest::sometimes() }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        if metadata.is_span() {
            return false;
        }
        let level = python_level(metadata.level());
        if level >= 30 {
            return true;
        }
        if now_ms().saturating_sub(LEVEL_READ_AT_MS.load(Ordering::Relaxed)) > LEVEL_TTL.as_millis() as u64 {
            let _ = Python::try_attach(read_level);
        }
        level >= LEVEL.load(Ordering::Relaxed)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Never called: every span callsite is disabled in `register_callsite`.
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        // Not attachable (the interpreter is finalising): the record is dropped, as Python
        // itself drops what is logged that late.
        let _ = Python::try_attach(|py| {
            if let Err(err) = emit(py, metadata, &fields) {
                err.print(py);
            }
        });
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// An event's message and its other fields in order, as text.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, Value)>,
}

/// A field's value, kept as the Python type it maps to.
enum Value {
    Text(String),
    Int(i128),
    Float(f64),
    Bool(bool),
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.pairs.push((field.name(), Value::Text(format!("{value:?}"))));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.pairs.push((field.name(), Value::Text(value.to_owned())));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pairs.push((field.name(), Value::Int(value.into())));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pairs.push((field.name(), Value::Int(value.into())));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.pairs.push((field.name(), Value::Int(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.pairs.push((field.name(), Value::Float(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pairs.push((field.name(), Value::Bool(value)));
    }
}

fn emit(py: Python<'_>, metadata: &Metadata<'_>, fields: &Fields) -> PyResult<()> {
    let logger = logger(py)?;
    let level = python_level(metadata.level());
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let values = PyDict::new(py);
    let mut text = fields.message.clone();
    for (name, value) in &fields.pairs {
        match value {
            Value::Text(v) => {
                values.set_item(*name, v)?;
                text.push_str(&format!(" {name}={v}"));
            }
            Value::Int(v) => {
                values.set_item(*name, *v)?;
                text.push_str(&format!(" {name}={v}"));
            }
            Value::Float(v) => {
                values.set_item(*name, *v)?;
                text.push_str(&format!(" {name}={v}"));
            }
            Value::Bool(v) => {
                values.set_item(*name, *v)?;
                text.push_str(&format!(" {name}={v}"));
            }
        }
    }
    let extra = PyDict::new(py);
    extra.set_item("fields", values)?;
    extra.set_item("target", metadata.target())?;
    // `%` in the text must not be read as a format: the message goes in as the only argument.
    let record = logger.call_method1(
        "makeRecord",
        (
            LOGGER,
            level,
            metadata.file().unwrap_or("<rust>"),
            metadata.line().unwrap_or(0),
            PyString::new(py, "%s"),
            (text,),
            py.None(),
            metadata.module_path(),
            extra,
        ),
    )?;
    logger.call_method1("handle", (record,))?;
    Ok(())
}
