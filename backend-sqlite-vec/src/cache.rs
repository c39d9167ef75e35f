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
//! kind that does not fit is searched by sqlite-vec, as it is with the setting at 0.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::sqlite::SqliteConnection;
use vectorstore_core::{DistinctNeighbor, ExactIndex, KindInfo, KnnOptions, Metric, Neighbor, NewVector, Result};

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
    copy: tokio::sync::RwLock<Option<Copy>>,
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
    index: ExactIndex,
    /// What `index` takes, as counted in [`Cache::used`].
    bytes: usize,
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
    /// has no counter, it does not fit, or another search is loading it right now.
    pub(crate) async fn search(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        query: &[f32],
        options: &KnnOptions,
    ) -> Result<Option<Vec<Neighbor>>> {
        self.with_copy(conn, info, |index| index.search(&info.kind, query, options)).await
    }

    /// [`Cache::search`] for every query of a batch (see [`ExactIndex::search_batch`]).
    pub(crate) async fn search_batch(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        queries: &[&[f32]],
        options: &KnnOptions,
    ) -> Result<Option<Vec<Vec<Neighbor>>>> {
        self.with_copy(conn, info, |index| index.search_batch(&info.kind, queries, options)).await
    }

    /// The `k` nearest distinct vectors from `info`'s copy (see
    /// [`ExactIndex::search_distinct`]), or `None` when the copy cannot serve (see
    /// [`Cache::search`]).
    pub(crate) async fn search_distinct(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Result<Option<Vec<DistinctNeighbor>>> {
        self.with_copy(conn, info, |index| index.search_distinct(&info.kind, query, options, ids_per_vector)).await
    }

    /// `run` on the kind's copy as of `conn`'s snapshot, loading it when it is missing or out
    /// of date; `None` when the copy cannot serve (see [`Cache::search`]).
    async fn with_copy<T>(
        &self,
        conn: &mut SqliteConnection,
        info: &KindInfo,
        run: impl FnOnce(&ExactIndex) -> T,
    ) -> Result<Option<T>> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(counter) = layout::change_counter(conn, &info.kind).await? else { return Ok(None) };
        let slot = self.slot(&info.kind, true).expect("created on demand");
        {
            let copy = slot.copy.read().await;
            // A copy ahead of this snapshot holds this process's writes committed since it began.
            if let Some(copy) = copy.as_ref().filter(|copy| copy.counter >= counter && fits(copy, info)) {
                return Ok(Some(run(&copy.index)));
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
        if ExactIndex::estimated_bytes(rows, info.dim, 0) > free {
            return Ok(self.too_large(&slot, info, counter, rows));
        }
        let started = std::time::Instant::now();
        let index = records::load(conn, info, rows).await?;
        let bytes = index.memory_bytes();
        let mut copy = slot.copy.write().await;
        if copy.as_ref().is_some_and(|current| current.counter >= counter && fits(current, info)) {
            // This process's own writes moved it on meanwhile: it is newer than what was loaded.
            let current = copy.as_ref().expect("checked");
            return Ok(Some(run(&current.index)));
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
            kind = %info.kind, counter, rows, bytes, ms = started.elapsed().as_millis() as u64,
            "sqlite_vec: loaded the kind's in-memory copy"
        );
        let answer = run(&index);
        *copy = Some(Copy { counter, index, bytes });
        Ok(Some(answer))
    }

    /// Remembers that the kind did not fit at `counter`; the search goes to sqlite-vec.
    fn too_large<T>(&self, slot: &CachedKind, info: &KindInfo, counter: i64, rows: usize) -> Option<T> {
        *slot.too_large_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(counter);
        tracing::debug!(
            kind = %info.kind, rows, limit = self.limit,
            "sqlite_vec: the kind does not fit in the copies' memory limit; searched by sqlite-vec"
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
            *copy = Some(Copy { counter: counter - 1, index: ExactIndex::new(dim, metric), bytes: 0 });
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
            Change::Deleted(id) => {
                current.index.remove(id);
            }
            Change::DeletedMany(ids) => {
                for id in ids {
                    current.index.remove(id);
                }
            }
            Change::DeletedVersion(version) => {
                current.index.remove_version(version);
            }
            Change::Expired(written_before_ms) => {
                current.index.remove_written_before(written_before_ms);
            }
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
        let (mut kinds, mut vectors) = (0, 0);
        for slot in slots {
            if let Ok(copy) = slot.copy.try_read()
                && let Some(copy) = copy.as_ref()
            {
                kinds += 1;
                vectors += copy.index.len();
            }
        }
        CacheUsage { bytes: self.used.load(Ordering::Relaxed), limit: self.limit, kinds, vectors }
    }
}

/// True when `copy` has the dimension and metric of the kind as the snapshot describes it.
fn fits(copy: &Copy, info: &KindInfo) -> bool {
    copy.index.dim() == info.dim && copy.index.metric() == info.metric
}
