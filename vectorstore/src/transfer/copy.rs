//! Copying a store into another, resumable and without ever writing to the source.

use std::collections::BTreeMap;

use serde::Serialize;
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, NewVector, Result, VectorRecord, VectorStore, validate};

use super::pages::{Pages, Progress, chosen_kinds};

/// Options of [`copy`].
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Only these kinds (all when empty).
    pub kinds: Vec<String>,
    /// Records read per source page.
    pub page_size: usize,
    /// Records written per `insert_many` call.
    pub batch_size: usize,
    /// Drop a target kind whose dimension or metric differs instead of refusing.
    pub replace_kind: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions { kinds: Vec::new(), page_size: 1000, batch_size: 1000, replace_kind: false }
    }
}

/// What [`copy`] did for one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCopy {
    /// The kind.
    pub kind: String,
    /// Its dimension.
    pub dim: usize,
    /// Its metric.
    pub metric: Metric,
    /// Records read from the source.
    pub read: u64,
    /// Records written to the target (missing or different there).
    pub written: u64,
    /// Records already identical in the target (a resumed copy skips them).
    pub unchanged: u64,
    /// The target kind had another dimension or metric and was dropped first.
    pub replaced: bool,
    /// Milliseconds the target spent after the load on work it deferred (pgvector: building
    /// the kind's HNSW index once), measured apart from the load; 0 when it had none.
    pub settle_ms: u64,
}

/// What [`copy`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// One entry per kind, in name order.
    pub kinds: Vec<KindCopy>,
}

impl CopyReport {
    /// Records written over all kinds.
    pub fn written(&self) -> u64 {
        self.kinds.iter().map(|k| k.written).sum()
    }
}

/// Makes `to` hold every kind of `from` (or the chosen ones) with its dimension and metric, and
/// every record with its id, extractor version and exact vector.
///
/// - The source is only read (`kinds`, `scan`).
/// - Every kind is checked first: a target kind with another dimension or metric, or a metric
///   the target does not support, stops the copy before anything is written (unless
///   `replace_kind`, which drops such target kinds).
/// - Records are streamed page by page in id order and written in batches. Records already
///   identical in the target are not written again, so re-running after an interruption
///   finishes the job without duplicates or rewrites. Records the target has and the source
///   lacks are left alone ([`super::verify`] reports them).
/// - After each kind's records, the target [settles](VectorStore::settle) the kind (pgvector
///   builds the kind's search index there, once), timed apart in [`KindCopy::settle_ms`].
pub async fn copy(
    from: &dyn VectorStore,
    to: &dyn VectorStore,
    options: &CopyOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<CopyReport> {
    let kinds = chosen_kinds(from, &options.kinds).await?;
    let existing: BTreeMap<String, KindInfo> = to.kinds().await?.into_iter().map(|k| (k.kind.clone(), k)).collect();
    let capabilities = to.capabilities();
    let mut conflicts = Vec::new();
    for info in &kinds {
        if !capabilities.supports(info.metric) {
            return Err(with_kind(validate::metric_unsupported(to.backend(), info.metric, capabilities.metrics), info));
        }
        if info.dim > capabilities.max_dim {
            return Err(with_kind(
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "kind {:?} has dimension {}, the target's limit is {}",
                        info.kind, info.dim, capabilities.max_dim
                    ),
                ),
                info,
            ));
        }
        if let Some(target) = existing.get(&info.kind)
            && let Err(err) = validate::same_kind(target, info.dim, info.metric)
        {
            if !options.replace_kind {
                return Err(Error::new(
                    err.kind(),
                    format!(
                        "{}; nothing was copied (use replace_kind / --replace-kind to drop the target kind)",
                        err.message()
                    ),
                )
                .with_context("kind", info.kind.clone()));
            }
            conflicts.push(info.kind.clone());
        }
    }

    let mut report = CopyReport::default();
    for info in &kinds {
        let replaced = conflicts.contains(&info.kind);
        if replaced {
            to.drop_kind(&info.kind).await?;
        }
        let target_count = if replaced { 0 } else { existing.get(&info.kind).map_or(0, |k| k.count) };
        to.create_kind(&info.kind, info.dim, info.metric).await?;
        progress(Progress::Kind { kind: &info.kind, total: Some(info.count) });
        let mut done = KindCopy {
            kind: info.kind.clone(),
            dim: info.dim,
            metric: info.metric,
            read: 0,
            written: 0,
            unchanged: 0,
            replaced,
            settle_ms: 0,
        };
        copy_kind(from, to, info, target_count > 0, options, &mut done, progress).await?;
        done.settle_ms = to.settle(&info.kind).await?.map_or(0, millis);
        report.kinds.push(done);
    }
    Ok(report)
}

/// Whole milliseconds of `duration`, saturating.
pub(super) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn with_kind(err: Error, info: &KindInfo) -> Error {
    err.with_context("kind", info.kind.clone())
}

/// Copies one kind; when the target already holds records of it, walks both sides in id order
/// and writes only what is missing or different.
async fn copy_kind(
    from: &dyn VectorStore,
    to: &dyn VectorStore,
    info: &KindInfo,
    target_has_records: bool,
    options: &CopyOptions,
    done: &mut KindCopy,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<()> {
    let batch_size = options.batch_size.clamp(1, vectorstore_core::limits::MAX_BATCH);
    let mut source = Pages::new(from, &info.kind, options.page_size);
    let mut target = target_has_records.then(|| TargetCursor::new(to, &info.kind, options.page_size));
    let mut batch: Vec<NewVector> = Vec::with_capacity(batch_size);
    while let Some(records) = source.next().await? {
        let page_len = records.len() as u64;
        done.read += page_len;
        for record in records {
            let identical = match target.as_mut() {
                Some(cursor) => cursor.holds_identical(&record).await?,
                None => false,
            };
            if identical {
                done.unchanged += 1;
                continue;
            }
            batch.push(NewVector::from(record));
            if batch.len() >= batch_size {
                to.insert_many(&info.kind, &batch).await?;
                done.written += batch.len() as u64;
                batch.clear();
            }
        }
        progress(Progress::Records(page_len));
    }
    if !batch.is_empty() {
        to.insert_many(&info.kind, &batch).await?;
        done.written += batch.len() as u64;
    }
    Ok(())
}

/// The target's records of one kind, read in id order alongside the source's.
struct TargetCursor<'a> {
    pages: Pages<'a>,
    page: std::vec::IntoIter<VectorRecord>,
    current: Option<VectorRecord>,
    exhausted: bool,
}

impl<'a> TargetCursor<'a> {
    fn new(store: &'a dyn VectorStore, kind: &'a str, page: usize) -> Self {
        TargetCursor {
            pages: Pages::new(store, kind, page),
            page: Vec::new().into_iter(),
            current: None,
            exhausted: false,
        }
    }

    async fn advance(&mut self) -> Result<()> {
        self.current = self.page.next();
        while self.current.is_none() && !self.exhausted {
            match self.pages.next().await? {
                Some(records) => {
                    self.page = records.into_iter();
                    self.current = self.page.next();
                }
                None => self.exhausted = true,
            }
        }
        Ok(())
    }

    /// True when the target holds `record` exactly (same id, version, write time and vector
    /// bits: a record written again at the source since an earlier copy is copied again, so
    /// that the target's retention sees its new age). Source
    /// ids arrive in ascending order, so the cursor only moves forward.
    async fn holds_identical(&mut self, record: &VectorRecord) -> Result<bool> {
        if self.current.is_none() && !self.exhausted {
            self.advance().await?;
        }
        while let Some(current) = &self.current {
            if current.id.as_str() >= record.id.as_str() {
                break;
            }
            self.advance().await?;
        }
        Ok(self.current.as_ref().is_some_and(|current| {
            current.id == record.id
                && current.extractor_version == record.extractor_version
                && current.written_at_ms == record.written_at_ms
                && current.vector.len() == record.vector.len()
                && current.vector.iter().zip(&record.vector).all(|(a, b)| a.to_bits() == b.to_bits())
        }))
    }
}
