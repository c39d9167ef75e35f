//! The in-memory copy of each kind's vectors that exact searches scan instead of sqlite-vec.
//!
//! sqlite-vec stays the storage: every write goes to the file first, and the copy is only a
//! faster way to answer a kNN from what the file holds. A copy is searched with the Fake's
//! own [`ExactIndex`], so its answers are the Fake's, ids and distances bit for bit.
//!
//! # Staying exact
//!
//! Every write transaction moves the kind's change counter (`vectorstore_changes`) in the same
//! transaction. A copy remembers the counter it was read at. A search reads the counter in its
//! own read transaction (one snapshot with the data) and uses the copy only when the copy is
//! at least that recent; otherwise it reloads the copy in that same transaction, so what it
//! loads is exactly what the counter describes. This process's own writes are applied to the
//! copy as they commit, while the copy's lock is held, so they never force a reload; a counter
//! moved by anyone else (another process, another handle on the file) does.
//!
//! # Memory
//!
//! All copies of one store together stay within `DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB`. A
//! kind whose full copy does not fit gets a codes-only copy ([`CodesOnlyIndex`]: 8-bit codes
//! and row metadata, about a quarter of the bytes at 128 dimensions) when that fits: its
//! searches bound every row from the codes and read the exact vectors of the rows the bounds
//! cannot rule out from the search's own snapshot of the file, so the answer is still the
//! full scan's bit for bit. A kind that fits neither way is searched by sqlite-vec, as it is
//! with the setting at 0.
//!
//! A codes-only copy follows this process's writes under the change counter exactly as a full
//! copy does. It serves a search only when its counter equals the snapshot's (a copy ahead of
//! the snapshot holds rows the snapshot lacks, whose vectors the search could not read), and
//! the read lock the search holds keeps writes of this process from moving it meanwhile.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::sqlite::SqliteConnection;
use tokio::sync::{OwnedRwLockReadGuard, RwLock};
use vectorstore_core::{
    CodesDistinctSearch, CodesOnlyIndex, CodesSearch, CodesStep, DistinctNeighbor, ExactIndex, KindInfo, KnnOptions,
    Metric, Neighbor, NewVector, Result,
};

use crate::{layout, records};

/// The copies of one store's kinds, within a memory limit.
#[derive(Debug)]
pub(crate) struct Cache {
    /// Most bytes all copies may take together; 0 turns copies off.
    limit: usize,
    /// Bytes the installed copies take.
    used: AtomicUsize,
    kinds: Mutex<HashMap<String, Arc<CachedKind>>>,
}

/// One kind's slot: its copy, if any, and whether a search is loading one.
#[derive(Debug, Default)]
struct CachedKind {
    copy: Arc<RwLock<Option<Copy>>>,
    /// Set while one search loads the copy: others go to sqlite-vec meanwhile instead of
    /// loading it again.
    loading: AtomicBool,
    /// The counter at which the kind was found too large for the limit, so that searches at
    /// that counter do not count it again.
    too_large_at: Mutex<Option<i64>>,
}

/// A kind's vectors as of its change counter `counter`.
#[derive(Debug)]
struct Copy {
    counter: i64,
    index: Held,
    /// What `index` takes, as counted in [`Cache::used`].
    bytes: usize,
}

/// What a copy holds.
#[derive(Debug)]
enum Held {
    /// Every vector: searched as the Fake searches.
    Full(ExactIndex),
    /// The 8-bit codes only: searched with the exact vectors of the few rows they cannot rule
    /// out read back from the file.
    Codes(CodesOnlyIndex),
}

impl Held {
    fn dim(&self) -> usize {
        match self {
            Held::Full(index) => index.dim(),
            Held::Codes(index) => index.dim(),
        }
    }

    fn metric(&self) -> Metric {
        match self {
            Held::Full(index) => index.metric(),
            Held::Codes(index) => index.metric(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Held::Full(index) => index.len(),
            Held::Codes(index) => index.len(),
        }
    }

    fn memory_bytes(&self) -> usize {
        match self {
            Held::Full(index) => index.memory_bytes(),
            Held::Codes(index) => index.memory_bytes(),
        }
    }

    fn reserve(&mut self, rows: usize) {
        match self {
            Held::Full(index) => index.reserve(rows),
            Held::Codes(index) => index.reserve(rows),
        }
    }

    fn upsert(&mut self, id: &str, vector: &[f32], version: u32, written_at_ms: u64) {
        match self {
            Held::Full(index) => index.upsert(id, vector, version, written_at_ms),
            Held::Codes(index) => index.upsert(id, vector, version, written_at_ms),
        }
    }

    fn remove(&mut self, id: &str) {
        match self {
            Held::Full(index) => index.remove(id),
            Held::Codes(index) => index.remove(id),
        };
    }

    fn remove_version(&mut self, version: u32) {
        match self {
            Held::Full(index) => index.remove_version(version),
            Held::Codes(index) => index.remove_version(version),
        };
    }

    fn remove_written_before(&mut self, written_before_ms: u64) {
        match self {
            Held::Full(index) => index.remove_written_before(written_before_ms),
            Held::Codes(index) => index.remove_written_before(written_before_ms),
        };
    }
}

/// A kind's copy ready to search, read-locked (writes to the kind wait for the search), and
/// the change counter of the search's snapshot.
struct Ready {
    copy: OwnedRwLockReadGuard<Option<Copy>>,
    counter: i64,
}

impl Ready {
    fn copy(&self) -> &Copy {
        self.copy.as_ref().expect("a ready copy is installed")
    }
}

/// A committed write, to apply to the kind's copy.
pub(crate) enum Change<'a> {
    /// Records inserted or replaced, in order; `created` when the same transaction created
    /// the kind (with this dimension and metric), so the copy starts empty.
    Upserted { created: Option<(usize, Metric)>, items: Items<'a> },
    /// A record deleted.
    Deleted(&'a str),
    /// Records deleted by id (some may have been absent).
    DeletedMany(&'a [&'a str]),
    /// Every record of one extractor version deleted.
    DeletedVersion(u32),
    /// Every record last written before this time deleted.
    Expired(u64),
    /// The kind was dropped.
    Dropped,
}

/// The records of an [`Change::Upserted`].
pub(crate) enum Items<'a> {
    /// None (a kind created empty).
    None,
    /// One record.
    One { id: &'a str, vector: &'a [f32], extractor_version: u32, written_at_ms: u64 },
    /// A batch, in order (a repeated id: the last wins), written at `now` where an item gives
    /// no time of its own.
    Many { items: &'a [NewVector], now: u64 },
}

/// Figures for health and the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheUsage {
    /// Bytes all copies take (an estimate from their sizes).
    pub bytes: usize,
    /// The limit.
    pub limit: usize,
    /// Kinds with a copy.
    pub kinds: usize,
    /// Of those, kinds whose copy holds the 8-bit codes only (their full copy did not fit).
    pub codes_only_kinds: usize,
    /// Vectors in the copies, in all.
    pub vectors: usize,
}

/// Clears `flag` when dropped, however the load ends.
struct Loading<'a>(&'a AtomicBool);

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Cache {
    /// Copies of at most `limit` bytes in all; 0 = no copies.
    pub(crate) fn new(limit: usize) -> Cache {
        Cache { limit, used: AtomicUsize::new(0), kinds: Mutex::new(HashMap::new()) }
    }

    /// True when copies may be kept.
    pub(crate) fn enabled(&self) -> bool {
        self.limit > 0
    }

    fn slot(&self, kind: &str, create: bool) -> Option<Arc<CachedKind>> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match kinds.get(kind) {
            Some(slot) => Some(slot.clone()),
            None if create => Some(kinds.entry(kind.to_owned()).or_default().clone()),
            None => None,
        }
    }

    /// The answer from `info`'s copy (loading it in `conn`'s transaction when it is missing or
    /// stale), or `None` when the kind must be searched by sqlite-vec: copies are off, the kind
    /// has no counter, no copy fits, another search is loading it right now, or a codes-only
    /// copy cannot serve this search (see [`Cache::search_codes`]).
    pub(crate) async fn search(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        query: &[f32],
        options: &KnnOptions,
    ) -> Result<Option<Vec<Neighbor>>> {
        let Some(ready) = self.ready(conn, info).await? else { return Ok(None) };
        match &ready.copy().index {
            Held::Full(index) => Ok(Some(index.search(&info.kind, query, options))),
            Held::Codes(index) => self.search_codes(conn, info, &ready, index, query, options).await,
        }
    }

    /// [`Cache::search`] for every query of a batch (see [`ExactIndex::search_batch`]); `None`
    /// also for a codes-only copy, which the caller searches query by query.
    pub(crate) async fn search_batch(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        queries: &[&[f32]],
        options: &KnnOptions,
    ) -> Result<Option<Vec<Vec<Neighbor>>>> {
        let Some(ready) = self.ready(conn, info).await? else { return Ok(None) };
        match &ready.copy().index {
            Held::Full(index) => Ok(Some(index.search_batch(&info.kind, queries, options))),
            Held::Codes(_) => Ok(None),
        }
    }

    /// The `k` nearest distinct vectors from `info`'s copy (see
    /// [`ExactIndex::search_distinct`] and [`CodesOnlyIndex::search_distinct`]), or `None` when
    /// there is none to serve (see [`Cache::search`] and [`Cache::drive_codes`]).
    pub(crate) async fn search_distinct(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Option<Vec<DistinctNeighbor>>> {
        let Some(ready) = self.ready(conn, info).await? else { return Ok(None) };
        match &ready.copy().index {
            Held::Full(index) => Ok(Some(index.search_distinct(&info.kind, query, options, ids_per_vector))),
            Held::Codes(index) => {
                let mut search = index.search_distinct(query, options, ids_per_vector);
                let driven = self.drive_codes(conn, info, &ready, &mut search).await?;
                Ok(driven.map(|_| search.finish(&info.kind)))
            }
        }
    }

    /// A search of a codes-only copy (see [`Cache::drive_codes`]).
    async fn search_codes(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        ready: &Ready,
        index: &CodesOnlyIndex,
        query: &[f32],
        options: &KnnOptions,
    ) -> Result<Option<Vec<Neighbor>>> {
        let started = std::time::Instant::now();
        let mut search = index.search(query, options);
        let codes_pass = started.elapsed();
        let Some(read_time) = self.drive_codes(conn, info, ready, &mut search).await? else { return Ok(None) };
        tracing::debug!(
            kind = %info.kind, rows = index.len(), read_rows = search.exact_rows(),
            gathered_only = search.judged_gathered_rows_only(),
            codes_us = codes_pass.as_micros() as u64, read_us = read_time.as_micros() as u64,
            total_us = started.elapsed().as_micros() as u64, "sqlite_vec: searched the codes-only copy"
        );
        Ok(Some(search.finish(&info.kind)))
    }

    /// Runs a search of a codes-only copy to its end, reading the vectors it asks for from
    /// `conn`'s snapshot; the time spent reading, or `None` when the copy cannot answer. The
    /// copy must describe exactly that snapshot (a copy ahead of it, holding this process's
    /// writes committed since the snapshot began, does not); the read lock held by `ready`
    /// keeps the copy from moving meanwhile. `None` too when the codes rule out too few rows,
    /// or the file lacks a row the copy holds.
    async fn drive_codes<'a, S: CodesDriven<'a>>(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        ready: &Ready,
        search: &mut S,
    ) -> Result<Option<std::time::Duration>> {
        if ready.copy().counter != ready.counter {
            return Ok(None);
        }
        let mut read_time = std::time::Duration::ZERO;
        loop {
            match search.step() {
                CodesStep::Fetch(ids) => {
                    let reading = std::time::Instant::now();
                    let rows = records::vectors(conn, info, &ids).await?;
                    read_time += reading.elapsed();
                    if !rows.is_some_and(|rows| search.give(&rows)) {
                        // Only a change that did not move the counter (another tool) can do this.
                        tracing::warn!(
                            kind = %info.kind,
                            "sqlite_vec: the codes-only copy holds a row the file does not; searched by sqlite-vec"
                        );
                        return Ok(None);
                    }
                }
                CodesStep::Done => return Ok(Some(read_time)),
                CodesStep::TooMany => {
                    tracing::debug!(kind = %info.kind, "sqlite_vec: the codes rule out too few rows; searched another way");
                    return Ok(None);
                }
            }
        }
    }

    /// The kind's copy as of `conn`'s snapshot, loading it when it is missing or out of date:
    /// every vector when that fits the limit, else the 8-bit codes only when those fit; `None`
    /// when no copy can serve (see [`Cache::search`]).
    async fn ready(&self, conn: &mut SqliteConnection, info: &KindInfo) -> Result<Option<Ready>> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(counter) = layout::change_counter(conn, &info.kind).await? else { return Ok(None) };
        let slot = self.slot(&info.kind, true).expect("created on demand");
        {
            let copy = slot.copy.clone().read_owned().await;
            // A copy ahead of this snapshot holds this process's writes committed since it began.
            if copy.as_ref().is_some_and(|copy| copy.counter >= counter && fits(copy, info)) {
                return Ok(Some(Ready { copy, counter }));
            }
        }
        if slot.too_large_at.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|at| at == counter) {
            return Ok(None);
        }
        if slot.loading.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Ok(None);
        }
        let _loading = Loading(&slot.loading);
        let rows = usize::try_from(layout::count(conn, &info.kind).await?).unwrap_or(usize::MAX);
        let held = slot.copy.read().await.as_ref().map_or(0, |copy| copy.bytes);
        let free = self.limit.saturating_sub(self.used.load(Ordering::Relaxed).saturating_sub(held));
        let started = std::time::Instant::now();
        let index = if ExactIndex::estimated_bytes(rows, info.dim, 0) <= free {
            Held::Full(records::load(conn, info, rows).await?)
        } else if CodesOnlyIndex::estimated_bytes(rows, info.dim, 0) <= free {
            match records::load_codes(conn, info, rows).await? {
                Some(index) => Held::Codes(index),
                None => return Ok(self.too_large(&slot, info, counter, rows)),
            }
        } else {
            return Ok(self.too_large(&slot, info, counter, rows));
        };
        let bytes = index.memory_bytes();
        let mut copy = slot.copy.clone().write_owned().await;
        if copy.as_ref().is_some_and(|current| current.counter >= counter && fits(current, info)) {
            // This process's own writes moved it on meanwhile: it is newer than what was loaded.
            return Ok(Some(Ready { copy: copy.downgrade(), counter }));
        }
        let held = copy.as_ref().map_or(0, |copy| copy.bytes);
        if self.used.load(Ordering::Relaxed).saturating_sub(held) + bytes > self.limit {
            self.uninstall(&mut copy);
            drop(copy);
            return Ok(self.too_large(&slot, info, counter, rows));
        }
        self.uninstall(&mut copy);
        self.used.fetch_add(bytes, Ordering::Relaxed);
        tracing::debug!(
            kind = %info.kind, counter, rows, bytes, codes_only = matches!(index, Held::Codes(_)),
            ms = started.elapsed().as_millis() as u64, "sqlite_vec: loaded the kind's in-memory copy"
        );
        *copy = Some(Copy { counter, index, bytes });
        Ok(Some(Ready { copy: copy.downgrade(), counter }))
    }

    /// Remembers that the kind did not fit at `counter`; the search goes to sqlite-vec.
    fn too_large<T>(&self, slot: &CachedKind, info: &KindInfo, counter: i64, rows: usize) -> Option<T> {
        *slot.too_large_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(counter);
        tracing::debug!(
            kind = %info.kind, rows, limit = self.limit,
            "sqlite_vec: neither the kind's copy nor its codes fit the copies' memory limit; searched by sqlite-vec"
        );
        None
    }

    fn uninstall(&self, copy: &mut Option<Copy>) {
        if let Some(old) = copy.take() {
            self.used.fetch_sub(old.bytes, Ordering::Relaxed);
        }
    }

    /// Commits `tx`, whose write moved `kind`'s counter to `counter`, and applies `change` to
    /// the kind's copy when the copy was exactly one write behind. The copy's lock is held
    /// across the commit, so no search sees the counter moved without the copy moved too.
    pub(crate) async fn commit(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Sqlite>,
        kind: &str,
        counter: i64,
        change: Change<'_>,
    ) -> std::result::Result<(), sqlx::Error> {
        let created = match &change {
            Change::Upserted { created, .. } => *created,
            _ => None,
        };
        let Some(slot) = self.enabled().then(|| self.slot(kind, created.is_some())).flatten() else {
            return tx.commit().await;
        };
        let mut copy = slot.copy.write().await;
        tx.commit().await?;
        let follows = copy.as_ref().is_some_and(|copy| copy.counter == counter - 1);
        if let Some((dim, metric)) = created {
            self.uninstall(&mut copy);
            *copy = Some(Copy { counter: counter - 1, index: Held::Full(ExactIndex::new(dim, metric)), bytes: 0 });
        } else if matches!(change, Change::Dropped) || !follows {
            // Dropped, or someone else wrote in between (the next search reloads).
            self.uninstall(&mut copy);
            return Ok(());
        }
        let Some(current) = copy.as_mut() else { return Ok(()) };
        match change {
            Change::Upserted { items: Items::None, .. } => {}
            Change::Upserted { items: Items::One { id, vector, extractor_version, written_at_ms }, .. } => {
                current.index.upsert(id, vector, extractor_version, written_at_ms)
            }
            Change::Upserted { items: Items::Many { items, now }, .. } => {
                current.index.reserve(items.len());
                for item in items {
                    current.index.upsert(&item.id, &item.vector, item.extractor_version, item.written_at_or(now));
                }
            }
            Change::Deleted(id) => current.index.remove(id),
            Change::DeletedMany(ids) => {
                for id in ids {
                    current.index.remove(id);
                }
            }
            Change::DeletedVersion(version) => current.index.remove_version(version),
            Change::Expired(written_before_ms) => current.index.remove_written_before(written_before_ms),
            Change::Dropped => {}
        }
        current.counter = counter;
        let bytes = current.index.memory_bytes();
        let grown = bytes as isize - current.bytes as isize;
        current.bytes = bytes;
        if grown >= 0 {
            self.used.fetch_add(grown as usize, Ordering::Relaxed);
        } else {
            self.used.fetch_sub(grown.unsigned_abs(), Ordering::Relaxed);
        }
        if self.used.load(Ordering::Relaxed) > self.limit {
            tracing::debug!(kind, limit = self.limit, "sqlite_vec: a copy outgrew the memory limit; dropped");
            self.uninstall(&mut copy);
        } else if matches!(&copy.as_ref().map(|copy| &copy.index), Some(Held::Codes(index)) if index.needs_rebuild()) {
            // Many rows written outside the codes' grid: the next search loads a new one.
            self.uninstall(&mut copy);
        }
        Ok(())
    }

    /// Drops every copy (on close).
    pub(crate) fn clear(&self) {
        self.kinds.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.used.store(0, Ordering::Relaxed);
    }

    /// What the copies take now.
    pub(crate) fn usage(&self) -> CacheUsage {
        let slots: Vec<Arc<CachedKind>> =
            self.kinds.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        let (mut kinds, mut codes_only_kinds, mut vectors) = (0, 0, 0);
        for slot in slots {
            if let Ok(copy) = slot.copy.try_read()
                && let Some(copy) = copy.as_ref()
            {
                kinds += 1;
                codes_only_kinds += usize::from(matches!(copy.index, Held::Codes(_)));
                vectors += copy.index.len();
            }
        }
        CacheUsage { bytes: self.used.load(Ordering::Relaxed), limit: self.limit, kinds, codes_only_kinds, vectors }
    }
}

/// True when `copy` has the dimension and metric of the kind as the snapshot describes it.
fn fits(copy: &Copy, info: &KindInfo) -> bool {
    copy.index.dim() == info.dim && copy.index.metric() == info.metric
}

/// A search of a codes-only copy that asks for exact vectors step by step.
trait CodesDriven<'a> {
    fn step(&mut self) -> CodesStep<'a>;
    fn give(&mut self, vectors: &[f32]) -> bool;
}

impl<'a> CodesDriven<'a> for CodesSearch<'a> {
    fn step(&mut self) -> CodesStep<'a> {
        self.next_step()
    }
    fn give(&mut self, vectors: &[f32]) -> bool {
        self.supply(vectors)
    }
}

impl<'a> CodesDriven<'a> for CodesDistinctSearch<'a> {
    fn step(&mut self) -> CodesStep<'a> {
        self.next_step()
    }
    fn give(&mut self, vectors: &[f32]) -> bool {
        self.supply(vectors)
    }
}
