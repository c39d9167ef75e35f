//! [`ExactIndex`]: exact nearest-neighbour search over one kind's vectors in memory. The Fake
//! store keeps every kind in one; the sqlite_vec backend searches its in-memory copies with it,
//! so their answers are the Fake's, bit for bit.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::{Bound, Range};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use crate::distance;
use crate::distinct::{DistinctCollector, DistinctNeighbor};
use crate::record::{KindInfo, KnnOptions, Metric, Neighbor, VectorRecord};

mod batch;
mod codes_only;
mod quantized;
#[cfg(test)]
mod test_draws;

pub use codes_only::{CodesDistinctSearch, CodesOnlyIndex, CodesSearch, CodesStep};
pub use quantized::GridRange;
use quantized::{Pruner, Quantized, QueryCodes};

/// Rows each thread of a split scan gets at least, in `f32`s (1 Mi floats = 4 MiB, about
/// 0.4 ms of scanning here): below twice this a search runs on the caller's thread alone, so
/// small searches never pay for starting a thread.
const PARALLEL_MIN_FLOATS: usize = 1 << 20;

/// Vectors of at least this many bytes get an 8-bit copy that single searches read first
/// (see [`quantized`]): twice this machine's 32 MiB L3, past which a full scan streams from
/// memory and the copy's quarter of the bytes is what a search costs. Smaller kinds are scanned
/// from cache anyway and keep their memory (about 1.2× the raw vectors, the Fake's target).
const QUANTIZE_MIN_BYTES: usize = 64 << 20;

/// Rows a pruned search puts through the 8-bit pass at a time.
const PRUNE_BLOCK_ROWS: usize = 256;

/// Rows (past the first `k`) after which a pruned search checks how much it skips: when it
/// computes the exact distance of more than half of them (data all at nearly the same distance,
/// which no bound separates), the rest is scanned plainly, so such data costs no more than a
/// plain scan plus this window's pass over the codes.
const PRUNE_WINDOW_ROWS: usize = 4096;

/// Searches running right now in this process, across every index: a search splits its scan
/// only over the cores the others leave idle, so many concurrent clients each scan on their
/// own thread, as before, and throughput under load does not drop.
static ACTIVE_SEARCHES: AtomicUsize = AtomicUsize::new(0);

/// Counts one search in [`ACTIVE_SEARCHES`] while it lives.
struct ActiveSearch;

impl ActiveSearch {
    fn enter() -> (ActiveSearch, usize) {
        (ActiveSearch, ACTIVE_SEARCHES.fetch_add(1, AtomicOrdering::Relaxed) + 1)
    }
}

impl Drop for ActiveSearch {
    fn drop(&mut self) {
        ACTIVE_SEARCHES.fetch_sub(1, AtomicOrdering::Relaxed);
    }
}

/// The cores this process may use (cgroup limits included), read once.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Exact nearest-neighbour search over one kind's vectors kept in memory: the Fake's storage and
/// search, also used by other stores that keep an in-memory copy (so their answers are the
/// Fake's, bit for bit).
///
/// Row `slot` is `data[slot * dim..(slot + 1) * dim]`, one contiguous `Vec<f32>`, so a search is
/// one tight scan. A large search (at least two chunks of about a million floats) is split
/// across the cores no other search is using, and the per-chunk top-k lists are merged in the
/// contract's (distance, id) order, which gives exactly the single-threaded answer.
#[derive(Debug)]
pub struct ExactIndex {
    dim: usize,
    metric: Metric,
    data: Vec<f32>,
    ids: Vec<Arc<str>>,
    versions: Vec<u32>,
    /// When each row was last written (milliseconds since the Unix epoch).
    written: Vec<u64>,
    /// Squared norms, kept for cosine.
    norms: Vec<f32>,
    /// id -> slot, ordered for keyset scans.
    slots: BTreeMap<Arc<str>, usize>,
    /// Per slot, a number that orders the ids as their strings do (see [`OrderLabels`]): a
    /// search cuts ties at equal distances by comparing these in the scan, rather than
    /// reading each id's bytes, which for a group of identical vectors (a botnet's replayed
    /// fingerprint) cost a cache miss per member.
    labels: Vec<u64>,
    /// Heap bytes of the ids' allocations, kept as ids come and go.
    id_bytes: usize,
    /// The 8-bit copy of `data`, row for row, once the vectors reach [`QUANTIZE_MIN_BYTES`].
    quantized: Option<Quantized>,
    /// Rows when a copy was last built or found impossible, so a failure is retried only after
    /// the kind has doubled.
    quantized_at_rows: usize,
    /// [`QUANTIZE_MIN_BYTES`], lowered by tests.
    quantize_min_bytes: usize,
    /// Whether single searches skip rows on the copy's bounds (the default) or scan every row.
    pruning: bool,
}

/// Heap bytes of one `Arc<str>` id: two counters and the bytes, rounded up by the allocator.
fn id_allocation(id: &str) -> usize {
    (16 + id.len()).next_multiple_of(16)
}

impl ExactIndex {
    /// An empty index of `dim`-long vectors compared with `metric`.
    pub fn new(dim: usize, metric: Metric) -> Self {
        ExactIndex {
            dim,
            metric,
            data: Vec::new(),
            ids: Vec::new(),
            versions: Vec::new(),
            written: Vec::new(),
            norms: Vec::new(),
            slots: BTreeMap::new(),
            labels: Vec::new(),
            id_bytes: 0,
            quantized: None,
            quantized_at_rows: 0,
            quantize_min_bytes: QUANTIZE_MIN_BYTES,
            pruning: true,
        }
    }

    /// Turns the skipping of rows on their 8-bit bounds on (the default) or off, for comparing
    /// with a full scan: the answers are the same either way, bit for bit.
    pub fn set_pruning(&mut self, on: bool) {
        self.pruning = on;
    }

    /// True when single searches may skip rows on their 8-bit bounds.
    pub fn pruning(&self) -> bool {
        self.pruning
    }

    /// Builds the 8-bit copy when the vectors reach [`QUANTIZE_MIN_BYTES`] (or rebuilds it
    /// when many rows fell outside its grid), and drops it when they shrink well below.
    fn maintain_quantized(&mut self) {
        let rows = self.ids.len();
        let bytes = self.data.len() * 4;
        match &self.quantized {
            Some(_) if bytes < self.quantize_min_bytes / 2 => {
                self.quantized = None;
                self.quantized_at_rows = 0;
            }
            Some(copy) if copy.is_loose() => self.quantize(),
            None if bytes >= self.quantize_min_bytes && rows >= self.quantized_at_rows.saturating_mul(2) => {
                self.quantize()
            }
            _ => {}
        }
    }

    fn quantize(&mut self) {
        self.quantized = Quantized::build(self.dim, &self.data);
        if let Some(copy) = &mut self.quantized {
            copy.reserve(self.ids.capacity() - self.ids.len());
        }
        self.quantized_at_rows = self.ids.len();
    }

    /// The dimension of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The metric searches use.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no vector is stored.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Makes room for exactly `rows` more vectors.
    pub fn reserve(&mut self, rows: usize) {
        self.data.reserve_exact(rows * self.dim);
        self.ids.reserve_exact(rows);
        self.versions.reserve_exact(rows);
        self.written.reserve_exact(rows);
        self.norms.reserve_exact(rows);
        self.labels.reserve_exact(rows);
        if let Some(copy) = &mut self.quantized {
            copy.reserve(rows);
        }
    }

    /// Room for one more row, growing by a sixteenth (at least 64 rows) instead of doubling,
    /// so that spare capacity never exceeds about 6% of the vectors' size.
    fn grow_for_one(&mut self) {
        if self.ids.len() == self.ids.capacity() || self.data.len() + self.dim > self.data.capacity() {
            self.reserve((self.ids.len() / 16).max(64));
        }
    }

    /// An estimate of the heap memory `rows` vectors of dimension `dim` with ids of
    /// `id_bytes` bytes each take in an index: the vector, the id (shared by the slot list and
    /// the ordered map), version, norm and the map's node share.
    pub fn estimated_bytes(rows: usize, dim: usize, id_bytes: usize) -> usize {
        // Arc<str> allocation: two counters + the bytes, rounded up by the allocator.
        let id = (16 + id_bytes).next_multiple_of(16);
        // slot list (Arc pointer) + version + write time + norm + order label + B-tree entry
        // (key, value) at ~2/3 fill.
        let mut per_row = dim * 4 + id + 16 + 4 + 8 + 4 + 8 + (16 + 8) * 3 / 2;
        if rows.saturating_mul(dim * 4) >= QUANTIZE_MIN_BYTES {
            per_row += Quantized::bytes_per_row(dim);
        }
        rows.saturating_mul(per_row)
    }

    /// An estimate of the heap memory this index takes, as [`ExactIndex::estimated_bytes`]
    /// counts it, with the vectors' actual capacity.
    pub fn memory_bytes(&self) -> usize {
        self.data.capacity() * 4
            + self.id_bytes
            + self.ids.capacity() * 16
            + self.versions.capacity() * 4
            + self.written.capacity() * 8
            + self.norms.capacity() * 4
            + self.labels.capacity() * 8
            + self.slots.len() * (16 + 8) * 3 / 2
            + self.quantized.as_ref().map_or(0, Quantized::memory_bytes)
    }

    /// The kind's description with this index's dimension, metric and count.
    pub fn info(&self, kind: &str) -> KindInfo {
        KindInfo::new(kind, self.dim, self.metric).with_count(self.ids.len() as u64)
    }

    /// The info with the count per extractor version, as `kinds()` reports it.
    pub fn info_with_versions(&self, kind: &str) -> KindInfo {
        let mut info = self.info(kind);
        for &version in &self.versions {
            *info.versions.entry(version).or_insert(0) += 1;
        }
        info
    }

    fn row(&self, slot: usize) -> &[f32] {
        &self.data[slot * self.dim..(slot + 1) * self.dim]
    }

    /// Inserts or replaces `id`, written at `written_at_ms`. `vector` must have the index's
    /// dimension (checked by the caller, as the contract's validation does).
    pub fn upsert(&mut self, id: &str, vector: &[f32], version: u32, written_at_ms: u64) {
        debug_assert_eq!(vector.len(), self.dim, "vectors are checked against the kind first");
        let norm = distance::norm_squared(vector);
        if let Some(&slot) = self.slots.get(id) {
            self.data[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(vector);
            self.versions[slot] = version;
            self.written[slot] = written_at_ms;
            self.norms[slot] = norm;
            if let Some(copy) = &mut self.quantized {
                copy.set(slot, vector);
                self.maintain_quantized();
            }
            return;
        }
        self.grow_for_one();
        self.id_bytes += id_allocation(id);
        let id: Arc<str> = Arc::from(id);
        self.slots.insert(id.clone(), self.ids.len());
        let label = self.label_for(&id);
        self.labels.push(label);
        self.ids.push(id);
        self.versions.push(version);
        self.written.push(written_at_ms);
        self.norms.push(norm);
        self.data.extend_from_slice(vector);
        match &mut self.quantized {
            Some(copy) => {
                copy.push(vector);
                if copy.is_loose() {
                    self.maintain_quantized();
                }
            }
            None => self.maintain_quantized(),
        }
    }

    /// An order label for `id`, just entered in `slots` (its own slot not yet labelled): one
    /// strictly between its neighbours' labels, relabelling every id when they leave no room.
    fn label_for(&mut self, id: &str) -> u64 {
        let before = self.slots.range::<str, _>((Bound::Unbounded, Bound::Excluded(id))).next_back();
        let after = self.slots.range::<str, _>((Bound::Excluded(id), Bound::Unbounded)).next();
        let below = before.map(|(_, &slot)| self.labels[slot]);
        let above = after.map(|(_, &slot)| self.labels[slot]);
        OrderLabels::between(below, above).unwrap_or_else(|| self.relabel(id))
    }

    /// Gives every id an evenly spaced label in id order and answers `pending`'s (in `slots`,
    /// its slot not labelled yet). O(n), and rare: see [`OrderLabels`].
    fn relabel(&mut self, pending: &str) -> u64 {
        let step = OrderLabels::step(self.slots.len());
        let mut pending_label = 0;
        for (rank, (id, &slot)) in self.slots.iter().enumerate() {
            let label = OrderLabels::spread(rank, step);
            if &**id == pending {
                pending_label = label;
            } else {
                self.labels[slot] = label;
            }
        }
        pending_label
    }

    /// Removes every vector of one extractor version; how many went.
    pub fn remove_version(&mut self, extractor_version: u32) -> u64 {
        self.remove_where(|index, slot| index.versions[slot] == extractor_version)
    }

    /// Removes every vector last written before `written_before_ms`; how many went.
    pub fn remove_written_before(&mut self, written_before_ms: u64) -> u64 {
        self.remove_where(|index, slot| index.written[slot] < written_before_ms)
    }

    fn remove_where(&mut self, doomed: impl Fn(&Self, usize) -> bool) -> u64 {
        let doomed: Vec<Arc<str>> =
            (0..self.ids.len()).filter(|&slot| doomed(self, slot)).map(|slot| self.ids[slot].clone()).collect();
        doomed.iter().filter(|id| self.remove(id)).count() as u64
    }

    /// Removes `id`; true when it was stored.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slots.remove(id) else { return false };
        self.id_bytes -= id_allocation(id);
        let last = self.ids.len() - 1;
        if slot != last {
            // Move the last row into the hole so the storage stays contiguous.
            self.data.copy_within(last * self.dim..(last + 1) * self.dim, slot * self.dim);
            self.ids.swap(slot, last);
            self.versions.swap(slot, last);
            self.written.swap(slot, last);
            self.norms.swap(slot, last);
            self.labels.swap(slot, last);
            if let Some(moved) = self.slots.get_mut(&self.ids[slot]) {
                *moved = slot;
            }
        }
        self.ids.pop();
        self.versions.pop();
        self.written.pop();
        self.norms.pop();
        self.labels.pop();
        self.data.truncate(last * self.dim);
        if let Some(copy) = &mut self.quantized {
            copy.swap_remove(slot);
            self.maintain_quantized();
        }
        true
    }

    /// The record stored under `id`, named as `kind`'s.
    pub(crate) fn get(&self, kind: &str, id: &str) -> Option<VectorRecord> {
        self.slots.get(id).map(|&slot| self.record(kind, slot))
    }

    /// Up to `limit` records in id order, after `after_id` when given, named as `kind`'s.
    pub(crate) fn page(&self, kind: &str, after_id: Option<&str>, limit: usize) -> Vec<VectorRecord> {
        let lower = after_id.map_or(Bound::Unbounded, Bound::Excluded);
        self.slots
            .range::<str, _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|(_, &slot)| self.record(kind, slot))
            .collect()
    }

    fn record(&self, kind: &str, slot: usize) -> VectorRecord {
        VectorRecord {
            kind: kind.to_owned(),
            id: self.ids[slot].to_string(),
            vector: self.row(slot).to_vec(),
            dim: self.dim,
            extractor_version: self.versions[slot],
            written_at_ms: self.written[slot],
        }
    }

    /// The nearest vectors to `query` (of the index's dimension) under `options`, exactly as
    /// the contract orders them (ascending distance, ties by id), named as `kind`'s.
    pub fn search(&self, kind: &str, query: &[f32], options: &KnnOptions) -> Vec<Neighbor> {
        let rows = self.ids.len();
        let k = options.k.min(rows);
        if k == 0 {
            return Vec::new();
        }
        let (_active, searching) = ActiveSearch::enter();
        let by_size = self.data.len() / PARALLEL_MIN_FLOATS;
        let parts = (cores() / searching).max(1).min(by_size).max(1);
        self.search_in_parts(kind, query, options, parts).0
    }

    /// [`ExactIndex::search`] with the scan split into `parts` (at least 1) chunks, each but
    /// the first on its own thread; also how many rows went through the exact kernel.
    fn search_in_parts(&self, kind: &str, query: &[f32], options: &KnnOptions, parts: usize) -> (Vec<Neighbor>, usize) {
        let rows = self.ids.len();
        let k = options.k.min(rows);
        if k == 0 {
            return (Vec::new(), 0);
        }
        let parts = parts.clamp(1, rows);
        let (best, exact) = if parts == 1 {
            self.scan(0..rows, query, options, k)
        } else {
            let chunk = rows.div_ceil(parts);
            std::thread::scope(|scope| {
                let others: Vec<_> = (1..parts)
                    .map(|part| {
                        let range = (part * chunk).min(rows)..((part + 1) * chunk).min(rows);
                        scope.spawn(move || self.scan(range, query, options, k))
                    })
                    .collect();
                let (mut best, mut exact) = self.scan(0..chunk.min(rows), query, options, k);
                for other in others {
                    let (hits, count) = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    best.extend(hits);
                    exact += count;
                }
                // The k best of the union are the k best of the chunks' own k best.
                best.sort_unstable();
                best.truncate(k);
                (best, exact)
            })
        };
        let neighbors = best
            .into_iter()
            .map(|hit| Neighbor { kind: kind.to_owned(), id: hit.id.to_owned(), distance: hit.distance })
            .collect();
        (neighbors, exact)
    }

    /// The `k` nearest distinct vectors to `query` (of the index's dimension) under `options`,
    /// each with how many rows share it and its first `ids_per_vector` ids, exactly as
    /// [`crate::VectorStore::knn_distinct`] orders them, named as `kind`'s. One scan of every
    /// row on the caller's thread (two when many distinct vectors tie at the `k`-th distance),
    /// with the distances [`ExactIndex::search`] reports; memory as [`DistinctCollector`]
    /// bounds it.
    pub fn search_distinct(
        &self,
        kind: &str,
        query: &[f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> Vec<DistinctNeighbor> {
        let mut collector = DistinctCollector::new(options.k, ids_per_vector);
        if options.k == 0 || self.ids.is_empty() {
            return Vec::new();
        }
        let (_active, _searching) = ActiveSearch::enter();
        #[cfg(target_arch = "x86_64")]
        if distance::wide_simd() {
            // SAFETY: the CPU supports AVX2 (checked by wide_simd).
            unsafe { self.distinct_avx2(query, options, &mut collector) };
            // Rows come in slot order, not id order: ties cut by id may need a second pass.
            if collector.needs_recount() {
                // SAFETY: as above.
                unsafe { self.distinct_avx2(query, options, &mut collector) };
            }
            return collector.finish(kind);
        }
        self.distinct_inline(query, options, &mut collector);
        if collector.needs_recount() {
            self.distinct_inline(query, options, &mut collector);
        }
        collector.finish(kind)
    }

    /// The distinct scan compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn distinct_avx2(&self, query: &[f32], options: &KnnOptions, collector: &mut DistinctCollector) {
        self.distinct_inline(query, options, collector);
    }

    #[inline(always)]
    fn distinct_inline(&self, query: &[f32], options: &KnnOptions, collector: &mut DistinctCollector) {
        let query_norm = distance::dot_inline(query, query);
        for (slot, row) in self.data.chunks_exact(self.dim.max(1)).enumerate() {
            if options.extractor_version.is_some_and(|v| v != self.versions[slot]) {
                continue;
            }
            // The distance exactly as `offer` computes it, so both searches agree bit for bit.
            let d = match self.metric {
                Metric::L2 => distance::l2_squared_inline(query, row).sqrt(),
                Metric::Cosine => {
                    distance::cosine_from_parts(distance::dot_inline(query, row), query_norm, self.norms[slot])
                }
                Metric::Dot => -distance::dot_inline(query, row),
            } + 0.0;
            if options.max_distance.is_some_and(|max| d > max) || !collector.wants(d) {
                continue;
            }
            collector.offer(row, d, &self.ids[slot], self.labels[slot]);
        }
    }

    /// The `k` best rows of `range` in the contract's order, and how many rows went through
    /// the exact kernel: through the 8-bit copy when there is one and pruning is on.
    fn scan(&self, range: Range<usize>, query: &[f32], options: &KnnOptions, k: usize) -> (Vec<Hit<'_>>, usize) {
        let pruned = self.quantized.as_ref().filter(|_| self.pruning);
        if let Some((copy, codes)) = pruned.and_then(|copy| Some((copy, copy.prepare(query)?))) {
            debug_assert_eq!(copy.len(), self.ids.len(), "the copy follows the rows");
            #[cfg(target_arch = "x86_64")]
            if distance::wide_simd() {
                // SAFETY: the CPU supports AVX2 (checked by wide_simd).
                return unsafe { self.scan_pruned_avx2(copy, &codes, range, query, options, k) };
            }
            return self.scan_pruned_inline(copy, &codes, range, query, options, k);
        }
        let rows = range.len();
        #[cfg(target_arch = "x86_64")]
        if distance::wide_simd() {
            // SAFETY: the CPU supports AVX2 (checked by wide_simd).
            return (unsafe { self.scan_avx2(range, query, options, k) }, rows);
        }
        (self.scan_inline(range, query, options, k), rows)
    }

    /// The pruned scan compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scan_pruned_avx2<'s>(
        &'s self,
        copy: &Quantized,
        codes: &QueryCodes,
        range: Range<usize>,
        query: &[f32],
        options: &KnnOptions,
        k: usize,
    ) -> (Vec<Hit<'s>>, usize) {
        self.scan_pruned_inline(copy, codes, range, query, options, k)
    }

    /// [`ExactIndex::scan`] through the 8-bit copy: block by block, each row's code distance
    /// first, then the exact kernel only for rows whose bound does not prove them worse than
    /// the current k-th (or than `max_distance`). Every row that could be in the answer is
    /// offered exactly as the full scan offers it, and the k best of a set holding the k best
    /// are those k, so the answer is the full scan's (see [`quantized`] for the bounds).
    #[inline(always)]
    fn scan_pruned_inline<'s>(
        &'s self,
        copy: &Quantized,
        codes: &QueryCodes,
        range: Range<usize>,
        query: &[f32],
        options: &KnnOptions,
        k: usize,
    ) -> (Vec<Hit<'s>>, usize) {
        let query_norm = distance::dot_inline(query, query);
        let mut pruner = Pruner::new(copy, self.metric, codes, query_norm);
        // Rows above max_distance are filtered anyway (a NaN limit filters nothing).
        let max_distance = options.max_distance.filter(|max| !max.is_nan());
        pruner.set_limit(max_distance);
        let mut best: BinaryHeap<Hit<'_>> = BinaryHeap::with_capacity(k + 1);
        let mut kth_bits = None;
        let mut sums = [0u32; PRUNE_BLOCK_ROWS];
        let (mut exact, mut window_rows, mut window_exact, mut windows) = (0, 0, 0, 0);
        let mut start = range.start;
        while start < range.end {
            let end = (start + PRUNE_BLOCK_ROWS).min(range.end);
            let sums = &mut sums[..end - start];
            copy.code_distances(codes, start..end, sums);
            for (slot, &sum) in (start..end).zip(sums.iter()) {
                if options.extractor_version.is_some_and(|v| v != self.versions[slot]) {
                    continue;
                }
                let counted = best.len() == k;
                window_rows += usize::from(counted);
                if pruner.skips(sum, copy.error(slot), self.norms[slot]) {
                    continue;
                }
                window_exact += usize::from(counted);
                exact += 1;
                let row = self.row(slot);
                let value = match self.metric {
                    Metric::L2 => distance::l2_squared_inline(query, row),
                    Metric::Cosine | Metric::Dot => distance::dot_inline(query, row),
                };
                self.offer(slot, value, query_norm, options, k, &mut best);
                // A NaN k-th bounds nothing: it sorts after every number.
                let kth = (best.len() == k).then(|| best.peek().map(|worst| worst.distance)).flatten();
                let bits = kth.map(f32::to_bits);
                if bits != kth_bits {
                    kth_bits = bits;
                    let kth = kth.filter(|d| !d.is_nan());
                    let limit = match (kth, max_distance) {
                        (Some(kth), Some(max)) => Some(kth.min(max)),
                        (kth, max) => kth.or(max),
                    };
                    pruner.set_limit(limit);
                }
            }
            start = end;
            if window_rows >= PRUNE_WINDOW_ROWS {
                windows += 1;
                // The first window is spent finding good neighbours; judge from the second.
                if windows >= 2 && window_exact * 2 > window_rows {
                    self.scan_into(start..range.end, query, query_norm, options, k, &mut best, false);
                    exact += range.end - start;
                    break;
                }
                (window_rows, window_exact) = (0, 0);
            }
        }
        (best.into_sorted_vec(), exact)
    }

    /// The scan compiled for AVX2, so the inlined kernels use 256-bit registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scan_avx2(&self, range: Range<usize>, query: &[f32], options: &KnnOptions, k: usize) -> Vec<Hit<'_>> {
        self.scan_inline(range, query, options, k)
    }

    #[inline(always)]
    fn scan_inline(&self, range: Range<usize>, query: &[f32], options: &KnnOptions, k: usize) -> Vec<Hit<'_>> {
        let mut best: BinaryHeap<Hit<'_>> = BinaryHeap::with_capacity(k + 1);
        self.scan_into(range, query, distance::dot_inline(query, query), options, k, &mut best, false);
        best.into_sorted_vec()
    }

    /// Adds the rows of `range` that pass `options` to `best`, keeping the `k` best; `quads`
    /// computes four rows at a time (for blocks already in cache).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn scan_into<'s>(
        &'s self,
        range: Range<usize>,
        query: &[f32],
        query_norm: f32,
        options: &KnnOptions,
        k: usize,
        best: &mut BinaryHeap<Hit<'s>>,
        quads: bool,
    ) {
        let dim = self.dim;
        let block = &self.data[range.start * dim..range.end * dim];
        // A batch's blocks are in cache: four rows at a time through the four-row kernels
        // (each distance bit for bit the one-row kernel's), which keeps the CPU busier. A
        // single search streams from memory, where one row after another is what the
        // prefetcher follows best (four interleaved rows measured half as fast).
        let quad = 4 * dim.max(1);
        let in_quads = if quads { block.len() - block.len() % quad } else { 0 };
        let (in_quads, rest) = block.split_at(in_quads);
        let mut slot = range.start;
        for quad in in_quads.chunks_exact(quad) {
            let rows = [&quad[..dim], &quad[dim..2 * dim], &quad[2 * dim..3 * dim], &quad[3 * dim..]];
            let raw = match self.metric {
                Metric::L2 => distance::l2_squared_x4_inline(query, rows),
                Metric::Cosine | Metric::Dot => distance::dot_x4_inline(query, rows),
            };
            for value in raw {
                self.offer(slot, value, query_norm, options, k, best);
                slot += 1;
            }
        }
        for row in rest.chunks_exact(dim.max(1)) {
            let value = match self.metric {
                Metric::L2 => distance::l2_squared_inline(query, row),
                Metric::Cosine | Metric::Dot => distance::dot_inline(query, row),
            };
            self.offer(slot, value, query_norm, options, k, best);
            slot += 1;
        }
    }

    /// Offers row `slot` to `best`, given its kernel value (the squared l2 distance, or the
    /// dot product for cosine and dot): filtered by `options`, kept if among the `k` best.
    #[inline(always)]
    fn offer<'s>(
        &'s self,
        slot: usize,
        value: f32,
        query_norm: f32,
        options: &KnnOptions,
        k: usize,
        best: &mut BinaryHeap<Hit<'s>>,
    ) {
        if options.extractor_version.is_some_and(|v| v != self.versions[slot]) {
            return;
        }
        let d = match self.metric {
            Metric::L2 => value.sqrt(),
            Metric::Cosine => distance::cosine_from_parts(value, query_norm, self.norms[slot]),
            Metric::Dot => -value,
        } + 0.0;
        if options.max_distance.is_some_and(|max| d > max) {
            return;
        }
        if best.len() < k {
            best.push(Hit { distance: d, label: self.labels[slot], id: &self.ids[slot] });
        } else if let Some(mut worst) = best.peek_mut() {
            let hit = Hit { distance: d, label: self.labels[slot], id: &self.ids[slot] };
            if hit < *worst {
                *worst = hit;
            }
        }
    }
}

/// Numbers that order a kind's ids as their strings do, kept per slot so that a scan compares
/// two rows at the same distance without reading their ids.
///
/// A new id takes a label strictly between its neighbours' in id order: the midpoint, or
/// [`OrderLabels::STRIDE`] past the last (before the first), so that ids arriving in
/// ascending order (counters, timestamps, the usual case) use 2^32 apart and never run out.
/// When two neighbours leave no room every id is relabelled, evenly spaced over the lower half
/// of the range (the upper half for later appends): O(n), after at least about
/// 64 - log2(n) inserts squeezed into one gap, which ids from a counter, a clock or a random
/// generator never do. Replacing a record keeps its label; removing one leaves a gap.
struct OrderLabels;

impl OrderLabels {
    /// Room left between an id appended (prepended) and the last (first) one.
    const STRIDE: u64 = 1 << 32;

    /// A label strictly between `below` and `above` (absent: the ends of the range), or none
    /// when they are adjacent.
    fn between(below: Option<u64>, above: Option<u64>) -> Option<u64> {
        match (below, above) {
            (None, None) => Some(u64::MAX / 4),
            (Some(low), None) => {
                let room = u64::MAX - low;
                (room > 0).then(|| low + Self::STRIDE.min(room.div_ceil(2)))
            }
            (None, Some(high)) => (high > 0).then(|| high - Self::STRIDE.min(high.div_ceil(2))),
            (Some(low), Some(high)) => (high - low >= 2).then(|| low + (high - low) / 2),
        }
    }

    /// The spacing of `ids` labels spread evenly over the lower half of the range.
    fn step(ids: usize) -> u64 {
        (u64::MAX / 2) / (ids as u64 + 1)
    }

    /// The label of the id ranked `rank` (from 0) in id order, at `step` spacing.
    fn spread(rank: usize, step: u64) -> u64 {
        (rank as u64 + 1) * step
    }
}

/// A candidate during a scan, ordered by the contract's (distance, id) order: ids by their
/// order labels, which compare as the ids do.
struct Hit<'a> {
    distance: f32,
    label: u64,
    id: &'a str,
}

impl Ord for Hit<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        distance::cmp_distances(self.distance, other.distance).then(self.label.cmp(&other.label))
    }
}

impl PartialOrd for Hit<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Hit<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Hit<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row's distance by the public kernel, sorted in the contract's order.
    fn every_hit(
        rows: &[(String, Vec<f32>, u32)],
        metric: Metric,
        query: &[f32],
        options: &KnnOptions,
    ) -> Vec<(String, f32)> {
        let mut all: Vec<(String, f32)> = rows
            .iter()
            .filter(|(_, _, version)| options.extractor_version.is_none_or(|v| v == *version))
            .map(|(id, vector, _)| (id.clone(), distance::distance(metric, query, vector)))
            .filter(|(_, d)| options.max_distance.is_none_or(|max| *d <= max))
            .collect();
        all.sort_by(|a, b| distance::cmp_hits(a.1, &a.0, b.1, &b.0));
        all.truncate(options.k);
        all
    }

    #[test]
    fn a_split_scan_returns_exactly_the_single_threaded_answer() {
        let dim = 8;
        let mut state = 11u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            // Few distinct values, so many rows tie across chunk boundaries.
            ((state >> 60) as f32) - 8.0
        };
        let rows: Vec<(String, Vec<f32>, u32)> = (0..2_000)
            .map(|i| (format!("id-{:04}", (i * 7_919) % 2_000), (0..dim).map(|_| next()).collect(), (i % 3) as u32))
            .collect();
        for metric in Metric::ALL {
            let mut index = ExactIndex::new(dim, metric);
            for (id, vector, version) in &rows {
                index.upsert(id, vector, *version, 5);
            }
            let query: Vec<f32> = (0..dim).map(|i| i as f32 - 3.5).collect();
            for options in [
                KnnOptions::new(10),
                KnnOptions::new(1),
                KnnOptions::new(500),
                KnnOptions::new(5_000),
                KnnOptions::new(25).extractor_version(2),
                KnnOptions::new(50).max_distance(12.0),
            ] {
                let want = every_hit(&rows, metric, &query, &options);
                for parts in [1, 2, 3, 7, 64] {
                    let got: Vec<(String, f32)> = index
                        .search_in_parts("k", &query, &options, parts)
                        .0
                        .into_iter()
                        .map(|hit| (hit.id, hit.distance))
                        .collect();
                    assert_eq!(got.len(), want.len(), "{metric} {options:?} parts {parts}");
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            g.0 == w.0 && g.1.to_bits() == w.1.to_bits(),
                            "{metric} {options:?} parts {parts}: {g:?} vs {w:?}"
                        );
                    }
                }
            }
        }
    }

    /// True when the order labels sort the slots exactly as their ids sort.
    fn labels_follow_ids(index: &ExactIndex) -> bool {
        let in_id_order: Vec<u64> = index.slots.values().map(|&slot| index.labels[slot]).collect();
        index.labels.len() == index.ids.len() && in_id_order.windows(2).all(|pair| pair[0] < pair[1])
    }

    #[test]
    fn order_labels_follow_the_ids_through_squeezes_relabels_and_removes() {
        let mut index = ExactIndex::new(2, Metric::L2);
        // Every new id lands between "a" and the previous one ("a", "a0", "a00", ... descend
        // toward "a"), halving one gap each time: relabels are forced many times over.
        index.upsert("a", &[1.0, 1.0], 1, 5);
        index.upsert("b", &[1.0, 1.0], 1, 5);
        let mut squeezed = String::from("a");
        for _ in 0..300 {
            squeezed.push('0');
            index.upsert(&squeezed, &[1.0, 1.0], 1, 5);
            assert!(labels_follow_ids(&index), "after {squeezed:?}");
        }
        // Ascending, descending and scattered ids, replacements and removes.
        for i in 0..2_000u32 {
            index.upsert(&format!("c{i:05}"), &[1.0, 1.0], 1, 5);
            index.upsert(&format!("B{:05}", 2_000 - i), &[1.0, 1.0], 1, 5);
            index.upsert(&format!("m{:05}", (i * 7_919) % 2_000), &[1.0, 1.0], 1, 5);
            if i % 3 == 0 {
                index.remove(&format!("m{:05}", (i * 7_919) % 2_000));
            }
        }
        index.upsert("a", &[1.0, 1.0], 2, 6);
        assert!(labels_follow_ids(&index));
        // Every vector is the same: the answer is the k smallest ids, as strings order them.
        let mut ids: Vec<&str> = index.slots.keys().map(|id| &**id).collect();
        ids.sort_unstable();
        for k in [1, 10, 500, ids.len() + 1] {
            let got: Vec<String> =
                index.search("k", &[1.0, 1.0], &KnnOptions::new(k)).into_iter().map(|hit| hit.id).collect();
            assert_eq!(got, ids[..k.min(ids.len())], "k = {k}");
        }
    }

    #[test]
    fn order_labels_leave_room_at_the_ends() {
        assert_eq!(OrderLabels::between(Some(u64::MAX - 1), None), Some(u64::MAX));
        assert_eq!(OrderLabels::between(Some(u64::MAX), None), None);
        assert_eq!(OrderLabels::between(None, Some(1)), Some(0));
        assert_eq!(OrderLabels::between(None, Some(0)), None);
        assert_eq!(OrderLabels::between(Some(4), Some(6)), Some(5));
        assert_eq!(OrderLabels::between(Some(4), Some(5)), None);
        // Ascending ids step 2^32 apart: billions fit before a relabel.
        let first = OrderLabels::between(None, None).unwrap_or(0);
        assert_eq!(OrderLabels::between(Some(first), None), Some(first + OrderLabels::STRIDE));
    }

    #[test]
    fn memory_estimates_cover_the_vectors() {
        let mut index = ExactIndex::new(128, Metric::L2);
        for i in 0..1_000 {
            index.upsert(&format!("s-{i:06}"), &[i as f32; 128], 1, 5);
        }
        let raw = 1_000 * 128 * 4;
        assert!(index.memory_bytes() >= raw, "{}", index.memory_bytes());
        let estimate = ExactIndex::estimated_bytes(1_000, 128, 8);
        assert!(estimate >= raw && estimate <= raw * 13 / 10, "{estimate} vs {raw}");
        // Each 8-byte id is one 32-byte allocation (counters + bytes, rounded to 16).
        assert!(index.memory_bytes() >= raw + 1_000 * 32, "{}", index.memory_bytes());
        let before = index.memory_bytes();
        assert!(index.remove("s-000003") && !index.remove("s-000003"));
        assert_eq!(index.len(), 999);
        let freed = before - index.memory_bytes();
        assert_eq!(freed, 32 + (16 + 8) * 3 / 2, "the id's allocation and its map entry");
    }
}
