//! Moving whole stores: export to and import from files (JSON Lines or a compact binary form),
//! and copying from one store to another with verification. All of it streams: kinds are read
//! page by page with `scan` and written batch by batch with `insert_many`, so memory stays
//! bounded whatever the store's size.
//!
//! # Formats
//!
//! A file is a sequence of *entries*: a kind entry (`kind`, `dim`, `metric`) before the records
//! of that kind, then record entries (`kind`, `id`, `vector`, `extractor_version`,
//! `written_at_ms`). A record keeps its write time through an export and an import, as through
//! a copy, so that retention ([`vectorstore_core::VectorStore::expire`]) sees its real age; a
//! record without one (a file from before write times, or written by hand) counts as written
//! at the import.
//!
//! - JSON Lines ([`Format::JsonLines`]): one object per line, `{"kind":"ja3","dim":2,"metric":"l2"}`
//!   and `{"kind":"ja3","id":"s-1","vector":[0.5,1.0],"dim":2,"extractor_version":1,
//!   "written_at_ms":1764633600000}` (`dim` and `written_at_ms` optional, `extractor_version`
//!   defaults to 1). `f32` values are written in their shortest exact form, so a round trip is
//!   bit-exact.
//! - Binary ([`Format::Binary`]): little-endian frames after an 8-byte magic and a version,
//!   about a third of the JSON size, see [`binary`].
//!
//! # Import guarantees
//!
//! Every entry is parsed and validated (kind, id, vector, version, the kind's dimension and
//! metric) before the batch holding it is written. A bad entry stops the import with its line
//! (or record) number and the reason; batches completed before it are written, the batch it
//! belongs to and everything after it are not. Records are upserts, so re-running an import
//! after fixing the file finishes the job without duplicates.

pub mod binary;
mod copy;
mod entry;
mod jsonl;
mod pages;
mod verify;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::Serialize;
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, NewVector, Result, VectorStore, limits, validate};

pub use copy::{CopyOptions, CopyReport, KindCopy, copy};
use entry::{Decoder, Encoder, Entry};
pub use jsonl::MAX_LINE_BYTES as MAX_JSONL_LINE_BYTES;
pub use pages::Progress;
use pages::{Pages, chosen_kinds};
pub use verify::{KindCheck, VerifyReport, verify};

/// The file format of an export or import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    JsonLines,
    /// Compact little-endian frames (see [`binary`]).
    Binary,
}

/// Options of [`export`].
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Only these kinds (all when empty).
    pub kinds: Vec<String>,
    /// Records read per `scan` page.
    pub page_size: usize,
    /// The file format.
    pub format: Format,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { kinds: Vec::new(), page_size: 1000, format: Format::JsonLines }
    }
}

/// Options of [`import`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Records written per `insert_many` call (1..=10,000).
    pub batch_size: usize,
    /// The file format.
    pub format: Format,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { batch_size: 1000, format: Format::JsonLines }
    }
}

/// What an export or import moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferSummary {
    /// Kind entries written or read.
    pub kinds: u64,
    /// Records written or read.
    pub records: u64,
    /// Import only: milliseconds the store spent after the load on work it deferred (pgvector:
    /// building each loaded kind's HNSW index once), measured apart from the load.
    pub settle_ms: u64,
}

/// Writes every kind and record of `store` (or of the chosen kinds) to `out`.
pub async fn export(
    store: &dyn VectorStore,
    out: &mut dyn Write,
    options: &ExportOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<TransferSummary> {
    let mut encoder: Box<dyn Encoder + '_> = match options.format {
        Format::JsonLines => Box::new(jsonl::JsonLinesEncoder::new(out)),
        Format::Binary => Box::new(binary::BinaryEncoder::new(out)?),
    };
    let mut summary = TransferSummary::default();
    for info in chosen_kinds(store, &options.kinds).await? {
        progress(Progress::Kind { kind: &info.kind, total: Some(info.count) });
        encoder.kind(&info)?;
        summary.kinds += 1;
        let mut pages = Pages::new(store, &info.kind, options.page_size);
        while let Some(records) = pages.next().await? {
            for record in &records {
                encoder.record(record)?;
            }
            summary.records += records.len() as u64;
            progress(Progress::Records(records.len() as u64));
        }
    }
    encoder.finish()?;
    Ok(summary)
}

/// Reads a file written by [`export`] (or by hand, see the module docs) into `store`.
pub async fn import(
    store: &dyn VectorStore,
    input: &mut dyn BufRead,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<TransferSummary> {
    let mut decoder: Box<dyn Decoder + '_> = match options.format {
        Format::JsonLines => Box::new(jsonl::JsonLinesDecoder::new(input)),
        Format::Binary => Box::new(binary::BinaryDecoder::new(input)?),
    };
    let mut importer = Importer::new(store, options.batch_size).await?;
    while let Some(entry) = decoder.next_entry() {
        let entry = entry.and_then(|entry| importer.check(entry)).map_err(|err| located(&decoder.location(), err))?;
        let location = decoder.location();
        importer.accept(entry, location, progress).await?;
    }
    importer.flush(progress).await?;
    let mut summary = importer.summary;
    for kind in &importer.written {
        summary.settle_ms += store.settle(kind).await?.map_or(0, copy::millis);
    }
    Ok(summary)
}

fn located(location: &str, err: Error) -> Error {
    Error::new(err.kind(), format!("{location}: {}", err.message())).with_context("at", location.to_owned())
}

/// Validates entries against what the store and the file have declared, and writes records in
/// whole batches.
struct Importer<'a> {
    store: &'a dyn VectorStore,
    batch_size: usize,
    known: BTreeMap<String, KindInfo>,
    batch_kind: String,
    batch: Vec<NewVector>,
    batch_start: String,
    summary: TransferSummary,
    /// Kinds that received records, to settle after the load.
    written: std::collections::BTreeSet<String>,
}

impl<'a> Importer<'a> {
    async fn new(store: &'a dyn VectorStore, batch_size: usize) -> Result<Self> {
        let known = store.kinds().await?.into_iter().map(|k| (k.kind.clone(), k)).collect();
        Ok(Importer {
            store,
            batch_size: batch_size.clamp(1, limits::MAX_BATCH),
            known,
            batch_kind: String::new(),
            batch: Vec::new(),
            batch_start: String::new(),
            summary: TransferSummary::default(),
            written: std::collections::BTreeSet::new(),
        })
    }

    /// Everything that can be checked before writing.
    fn check(&self, entry: Entry) -> Result<Entry> {
        match &entry {
            Entry::Kind { kind, dim, metric } => {
                validate::create_kind(kind, *dim)?;
                let capabilities = self.store.capabilities();
                if !capabilities.supports(*metric) {
                    return Err(validate::metric_unsupported(self.store.backend(), *metric, capabilities.metrics));
                }
                if let Some(existing) = self.known.get(kind) {
                    validate::same_kind(existing, *dim, *metric)?;
                }
            }
            Entry::Record { kind, item } => {
                validate::insert(kind, &item.id, &item.vector, item.extractor_version)?;
                if let Some(time) = item.written_at_ms {
                    validate::written_at(time, vectorstore_core::now_ms())?;
                }
                if let Some(info) = self.known.get(kind) {
                    validate::against_kind(info, &item.vector)?;
                }
            }
        }
        Ok(entry)
    }

    async fn accept(&mut self, entry: Entry, location: String, progress: &mut dyn FnMut(Progress<'_>)) -> Result<()> {
        match entry {
            Entry::Kind { kind, dim, metric } => {
                self.flush(progress).await?;
                let info = self.store.create_kind(&kind, dim, metric).await.map_err(|e| located(&location, e))?;
                progress(Progress::Kind { kind: &kind, total: None });
                self.summary.kinds += 1;
                self.known.insert(kind, info);
            }
            Entry::Record { kind, item } => {
                if kind != self.batch_kind || self.batch.len() >= self.batch_size {
                    self.flush(progress).await?;
                    self.batch_kind.clone_from(&kind);
                }
                // A kind first seen in a record gets its metric from the store on insert; until
                // then only its dimension can be checked, which L2 (no further rule) does.
                self.known.entry(kind.clone()).or_insert_with(|| KindInfo::new(kind, item.vector.len(), Metric::L2));
                if self.batch.is_empty() {
                    self.batch_start = location;
                }
                self.batch.push(item);
            }
        }
        Ok(())
    }

    async fn flush(&mut self, progress: &mut dyn FnMut(Progress<'_>)) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.store.insert_many(&self.batch_kind, &self.batch).await.map_err(|err| {
            Error::new(
                err.kind(),
                format!("the batch starting at {} was not written: {}", self.batch_start, err.message()),
            )
        })?;
        self.summary.records += self.batch.len() as u64;
        self.written.insert(self.batch_kind.clone());
        progress(Progress::Records(self.batch.len() as u64));
        self.batch.clear();
        Ok(())
    }
}

/// Every record of a store, kind by kind, as a JSON Lines string (small stores and tests).
pub async fn export_to_string(store: &dyn VectorStore) -> Result<String> {
    let mut out = Vec::new();
    export(store, &mut out, &ExportOptions::default(), &mut |_| {}).await?;
    String::from_utf8(out).map_err(|e| Error::new(ErrorKind::Backend, "export produced invalid UTF-8").with_source(e))
}
