//! What a file holds, format aside: entries (a kind declaration or a record), and the traits
//! each format's encoder and decoder implement.

use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, NewVector, Result, VectorRecord};

/// One unit of a file: a kind declaration or a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Entry {
    Kind { kind: String, dim: usize, metric: Metric },
    Record { kind: String, item: NewVector },
}

/// Writes entries in one format.
pub(crate) trait Encoder {
    fn kind(&mut self, info: &KindInfo) -> Result<()>;
    fn record(&mut self, record: &VectorRecord) -> Result<()>;
    fn finish(&mut self) -> Result<()>;
}

/// Reads entries in one format, saying where the last one came from.
pub(crate) trait Decoder {
    fn next_entry(&mut self) -> Option<Result<Entry>>;
    /// Where the entry just returned starts (`line 9`, `record 9 at byte 1234`).
    fn location(&self) -> String;
}

pub(crate) fn io_error(err: std::io::Error) -> Error {
    Error::new(ErrorKind::Backend, format!("I/O error: {err}")).with_source(err)
}
