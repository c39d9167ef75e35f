//! [`CodesOnlyIndex`]: a kind's 8-bit codes (see [`super::quantized`]) and row metadata in
//! memory without the `f32` vectors, for a store whose full copy does not fit its memory limit.
//! A search ([`CodesSearch`]) bounds every row from the codes and asks its caller for the exact
//! vectors of the rows those bounds cannot rule out, which the caller reads from its storage.
//!
//! # Why the answer is the full scan's
//!
//! Every row that passes the filters either has its exact distance computed, with the same
//! kernel and the same steps as [`super::ExactIndex`]'s scan, and is offered to the top `k` in
//! the contract's (distance, id) order, or is skipped because [`Pruner::skips`] proves its
//! computed distance strictly above the limit current at that moment: the k-th distance among
//! rows offered so far (or `max_distance`). The limit only falls as rows are offered, so a
//! skipped row is strictly worse than the final k-th and than `max_distance`: it cannot be in
//! the answer, nor tie with its last member. The order in which rows are visited (lowest code
//! distance first, so that the limit falls fast) only changes how many vectors are read.
//!
//! For l2, the pass that computes the code distances also gathers every wanted row whose code
//! distance is below `G` (4 times the worst seed's at that moment, so `G` only falls) or whose
//! error bound exceeds the grid's nominal one. When the limit after the seeds makes
//! [`Pruner::skips`] skip every row with `S ≥ T` and a nominal error, and `T ≤ G` (the final
//! `G`), each row not gathered has `S ≥ G ≥ T` and a nominal error, so it is skipped either
//! way: only the gathered rows need judging. Otherwise every row is judged.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use crate::distance;
use crate::distinct::{DistinctCollector, DistinctNeighbor};
use crate::record::{KnnOptions, Metric, Neighbor};

use super::id_allocation;
use super::quantized::{GridRange, Pruner, Quantized, QueryCodes};

/// Rows whose vectors a search asks for first (past `k`): the lowest code distances, read in
/// one go, so that the limit is near its final value before the other rows are judged.
const SEED_EXTRA_ROWS: usize = 64;

/// Rows per later request for vectors.
const FETCH_ROWS: usize = 256;

/// Rows whose code distances are computed at a time, then ranked while in cache.
const CODE_BLOCK_ROWS: usize = 1024;

/// l2: rows below this many times the worst seed's code distance are gathered (module doc).
const GATHER_FACTOR: u64 = 4;

/// A kind's rows as 8-bit codes with their ids, versions, write times and norms, without the
/// vectors (about `dim + 60` bytes and the id per row instead of `4 · dim + 80`). Follows
/// writes as [`super::ExactIndex`] does; its searches need the exact vectors of a few rows
/// from the caller (see [`CodesSearch`]).
#[derive(Debug)]
pub struct CodesOnlyIndex {
    metric: Metric,
    ids: Vec<Arc<str>>,
    versions: Vec<u32>,
    /// When each row was last written (milliseconds since the Unix epoch).
    written: Vec<u64>,
    /// Squared norms as the kernel computes them, for cosine and the dot bounds.
    norms: Vec<f32>,
    /// id -> slot.
    slots: HashMap<Arc<str>, usize>,
    /// Heap bytes of the ids' allocations.
    id_bytes: usize,
    codes: Quantized,
}

/// Bytes per row besides the codes and the id's allocation: the id pointer, version, write
/// time, norm, error bound and the hash map's entry (pointer pair and slot at 7/8 load, one
/// control byte).
const ROW_BYTES: usize = 16 + 4 + 8 + 4 + 4 + (16 + 8) * 8 / 7 + 1;

impl CodesOnlyIndex {
    /// An empty index of vectors compared with `metric`, on the grid spanning `range` (the
    /// values of the rows about to be added; others are still exact, only pruned less);
    /// `None` when no grid can be made (an empty or non-finite range, or a dimension too large
    /// for the integer code sums).
    pub fn new(metric: Metric, range: &GridRange) -> Option<CodesOnlyIndex> {
        let codes = Quantized::on_grid(range)?;
        Some(CodesOnlyIndex {
            metric,
            ids: Vec::new(),
            versions: Vec::new(),
            written: Vec::new(),
            norms: Vec::new(),
            slots: HashMap::new(),
            id_bytes: 0,
            codes,
        })
    }

    /// An estimate of the heap memory `rows` rows of dimension `dim` with ids of `id_bytes`
    /// bytes take in such an index.
    pub fn estimated_bytes(rows: usize, dim: usize, id_bytes: usize) -> usize {
        rows.saturating_mul(dim + ROW_BYTES + (16 + id_bytes).next_multiple_of(16))
    }

    /// An estimate of the heap memory this index takes, as [`CodesOnlyIndex::estimated_bytes`]
    /// counts it.
    pub fn memory_bytes(&self) -> usize {
        self.codes.memory_bytes()
            + self.id_bytes
            + self.ids.capacity() * 16
            + self.versions.capacity() * 4
            + self.written.capacity() * 8
            + self.norms.capacity() * 4
            + self.slots.capacity() * ((16 + 8) + 1)
    }

    /// Counts the rows added so far as inside the grid; call once the rows the range was
    /// gathered from are all in (see [`CodesOnlyIndex::needs_rebuild`]).
    pub fn settle(&mut self) {
        self.codes.settle();
    }

    /// True when so many rows written since [`CodesOnlyIndex::settle`] lie outside the grid
    /// that searches would prune much better on a new one (built from the stored vectors).
    pub fn needs_rebuild(&self) -> bool {
        self.codes.is_loose()
    }

    /// The dimension of every vector.
    pub fn dim(&self) -> usize {
        self.codes.dim()
    }

    /// The metric searches use.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Makes room for exactly `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.ids.reserve_exact(rows);
        self.versions.reserve_exact(rows);
        self.written.reserve_exact(rows);
        self.norms.reserve_exact(rows);
        self.slots.reserve(rows);
        self.codes.reserve(rows);
    }

    /// Inserts or replaces `id` (its vector of the index's dimension, checked by the caller).
    pub fn upsert(&mut self, id: &str, vector: &[f32], version: u32, written_at_ms: u64) {
        debug_assert_eq!(vector.len(), self.dim(), "vectors are checked against the kind first");
        let norm = distance::norm_squared(vector);
        if let Some(&slot) = self.slots.get(id) {
            self.versions[slot] = version;
            self.written[slot] = written_at_ms;
            self.norms[slot] = norm;
            self.codes.set(slot, vector);
            return;
        }
        self.id_bytes += id_allocation(id);
        let id: Arc<str> = Arc::from(id);
        self.slots.insert(id.clone(), self.ids.len());
        self.ids.push(id);
        self.versions.push(version);
        self.written.push(written_at_ms);
        self.norms.push(norm);
        self.codes.push(vector);
    }

    /// Removes `id`; true when it was held.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slots.remove(id) else { return false };
        self.id_bytes -= id_allocation(id);
        // The last row moves into the hole, as the codes' rows do.
        self.ids.swap_remove(slot);
        self.versions.swap_remove(slot);
        self.written.swap_remove(slot);
        self.norms.swap_remove(slot);
        self.codes.swap_remove(slot);
        if let Some(moved) = self.ids.get(slot)
            && let Some(entry) = self.slots.get_mut(moved)
        {
            *entry = slot;
        }
        true
    }

    /// Removes every row of one extractor version; how many went.
    pub fn remove_version(&mut self, extractor_version: u32) -> u64 {
        self.remove_where(|index, slot| index.versions[slot] == extractor_version)
    }

    /// Removes every row last written before `written_before_ms`; how many went.
    pub fn remove_written_before(&mut self, written_before_ms: u64) -> u64 {
        self.remove_where(|index, slot| index.written[slot] < written_before_ms)
    }

    fn remove_where(&mut self, doomed: impl Fn(&Self, usize) -> bool) -> u64 {
        let doomed: Vec<Arc<str>> =
            (0..self.ids.len()).filter(|&slot| doomed(self, slot)).map(|slot| self.ids[slot].clone()).collect();
        doomed.iter().filter(|id| self.remove(id)).count() as u64
    }

    /// What a search of `query` under `options` starts from: the query's squared norm, its
    /// codes and a pruner limited to `max_distance` (none when the query cannot be put on the
    /// grid: no row is skipped), and `max_distance` (a NaN limit filters nothing).
    fn prepare(&self, query: &[f32], options: &KnnOptions) -> (f32, Option<QueryCodes>, Option<Pruner>, Option<f32>) {
        let query_norm = distance::dot(query, query);
        let max_distance = options.max_distance.filter(|max| !max.is_nan());
        let query_codes = self.codes.prepare(query);
        let pruner = query_codes.as_ref().map(|codes| {
            let mut pruner = Pruner::new(&self.codes, self.metric, codes, query_norm);
            // Rows above max_distance are filtered anyway.
            pruner.set_limit(max_distance);
            pruner
        });
        (query_norm, query_codes, pruner, max_distance)
    }

    /// Calls `each(slot, S)` for every row of `range`, in slot order, with its code distance
    /// `S` to `codes`, computed a block at a time; stops when `each` returns false.
    fn code_pass(&self, codes: &QueryCodes, range: std::ops::Range<usize>, mut each: impl FnMut(usize, u32) -> bool) {
        let mut sums = [0u32; CODE_BLOCK_ROWS];
        let mut start = range.start;
        while start < range.end {
            let end = (start + CODE_BLOCK_ROWS).min(range.end);
            let sums = &mut sums[..end - start];
            self.codes.code_distances(codes, start..end, sums);
            for (slot, &sum) in (start..end).zip(sums.iter()) {
                if !each(slot, sum) {
                    return;
                }
            }
            start = end;
        }
    }

    /// A search for the nearest rows to `query` (of the index's dimension) under `options`;
    /// drive it with [`CodesSearch::next_step`] and [`CodesSearch::supply`].
    pub fn search<'a>(&'a self, query: &'a [f32], options: &KnnOptions) -> CodesSearch<'a> {
        CodesSearch::new(self, query, options, SEED_EXTRA_ROWS, None)
    }

    /// A search for the `k` nearest distinct vectors to `query` under `options`, with
    /// `ids_per_vector` ids each (see [`CodesDistinctSearch`]); drive it as [`CodesSearch`].
    pub fn search_distinct<'a>(
        &'a self,
        query: &'a [f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> CodesDistinctSearch<'a> {
        CodesDistinctSearch::new(self, query, options, ids_per_vector)
    }
}

/// What a [`CodesSearch`] needs next.
#[derive(Debug)]
pub enum CodesStep<'a> {
    /// The exact vectors of these ids, in this order, through [`CodesSearch::supply`].
    Fetch(Vec<&'a str>),
    /// Nothing more: [`CodesSearch::finish`] gives the answer.
    Done,
    /// The codes rule out too few rows (data all at nearly the same distance) for reading
    /// vectors one by one to be worth it: answer the search another way.
    TooMany,
}

/// Where a search is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Computing the rows with the lowest code distances.
    Seeds,
    /// Computing every other row its bound does not rule out.
    Rest,
    Done,
}

/// One search of a [`CodesOnlyIndex`]: see the module doc for why its answer is the full
/// scan's, bit for bit.
pub struct CodesSearch<'a> {
    index: &'a CodesOnlyIndex,
    query: &'a [f32],
    query_norm: f32,
    options: KnnOptions,
    k: usize,
    max_distance: Option<f32>,
    /// `None` when the query cannot be put on the grid: no row is skipped.
    pruner: Option<Pruner>,
    /// The query on the grid, kept for a pass over every row after the seeds (`None` with no
    /// pruner).
    query_codes: Option<QueryCodes>,
    stage: Stage,
    /// Rows to compute with their code distances, in order, and how far the search is. No
    /// code distance is kept for the other rows: 4 bytes a row would be 40 MB a search at
    /// ten million rows, outside the memory limit.
    queue: Vec<Coded>,
    next: usize,
    /// Rows asked for in the last [`CodesStep::Fetch`].
    asked: Vec<usize>,
    /// One bit per slot: computed already.
    computed: Vec<u64>,
    best: BinaryHeap<CodesHit<'a>>,
    kth_bits: Option<u32>,
    /// Rows whose exact distance was computed.
    exact: usize,
    /// Past this many rows left after the seeds, the search answers [`CodesStep::TooMany`].
    give_up_rows: usize,
    /// l2: the rows gathered while the code distances were computed, and the final `G` (see
    /// the module doc); `None` when not gathered (another metric, or too many rows).
    gathered: Option<(Vec<Coded>, u64)>,
    /// True when only the gathered rows were judged.
    judged_gathered: bool,
}

impl std::fmt::Debug for CodesSearch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodesSearch").field("stage", &self.stage).field("exact", &self.exact).finish_non_exhaustive()
    }
}

impl<'a> CodesSearch<'a> {
    /// A search seeding `k + seed_extra` rows, its seeds pass split into `parts` (by the idle
    /// cores when `None`).
    fn new(
        index: &'a CodesOnlyIndex,
        query: &'a [f32],
        options: &KnnOptions,
        seed_extra: usize,
        parts: Option<usize>,
    ) -> CodesSearch<'a> {
        let rows = index.len();
        let k = options.k.min(rows);
        let (query_norm, query_codes, pruner, max_distance) = index.prepare(query, options);
        let mut search = CodesSearch {
            index,
            query,
            query_norm,
            options: options.clone(),
            k,
            max_distance,
            pruner,
            query_codes,
            stage: if k == 0 { Stage::Done } else { Stage::Seeds },
            queue: Vec::new(),
            next: 0,
            asked: Vec::new(),
            computed: vec![0; rows.div_ceil(64)],
            best: BinaryHeap::with_capacity(k + 1),
            kth_bits: None,
            exact: 0,
            give_up_rows: (rows / 8).max(1 << 16),
            gathered: None,
            judged_gathered: false,
        };
        if k > 0 {
            search.queue = search.seeds(seed_extra, parts);
        }
        search
    }

    /// True when only the rows gathered while computing the code distances were judged after
    /// the seeds (see the module doc).
    pub fn judged_gathered_rows_only(&self) -> bool {
        self.judged_gathered
    }

    /// Judges every row after the seeds, as if nothing had been gathered (tests compare both).
    #[cfg(test)]
    pub(crate) fn without_gathering(mut self) -> Self {
        self.gathered = None;
        self
    }

    /// Gives up past `rows` rows left after the seeds (tests lower it).
    pub fn give_up_past(mut self, rows: usize) -> Self {
        self.give_up_rows = rows;
        self
    }

    fn wanted(&self, slot: usize) -> bool {
        self.options.extractor_version.is_none_or(|v| v == self.index.versions[slot])
    }

    /// How promising a row is by its codes (see [`promise_of`]).
    fn promise(&self, row: Coded) -> f64 {
        promise_of(self.index.metric, self.index.codes.scale(), row.sum, self.index.norms[row.slot])
    }

    /// Computes every row's code distance to the query's codes and returns the `k` +
    /// [`SEED_EXTRA_ROWS`] wanted rows of best promise, best first, gathering rows for l2 on
    /// the way (see the module doc); every wanted row, in slot order, when there are no query
    /// codes to rank them by.
    ///
    /// A large kind's pass is split over the cores no other search is using, as
    /// [`super::ExactIndex`]'s scan is: each part ranks and gathers its own rows against its own
    /// `G`. The seeds are the best of the parts' best; the rows gathered are the union, and the
    /// `G` they stand for is the least of the parts' (a part gathered every row of its own below
    /// its own final `G`, so every row below the least one is in the union). Neither changes the
    /// answer, only how many vectors are read.
    fn seeds(&mut self, seed_extra: usize, parts: Option<usize>) -> Vec<Coded> {
        let rows = self.index.len();
        let Some(codes) = self.query_codes.as_ref().filter(|_| self.pruner.is_some()) else {
            return (0..rows).filter(|&slot| self.wanted(slot)).map(|slot| Coded { slot, sum: 0 }).collect();
        };
        let count = self.k + seed_extra;
        let (_active, searching) = super::ActiveSearch::enter();
        let by_size = rows.saturating_mul(self.index.dim()) / super::PARALLEL_MIN_FLOATS;
        let parts = parts.unwrap_or((super::cores() / searching).max(1).min(by_size)).clamp(1, rows.max(1));
        let chunk = rows.div_ceil(parts).max(1);
        let range = |part: usize| (part * chunk).min(rows)..((part + 1) * chunk).min(rows);
        let this = &*self;
        let seeded: Vec<PartSeeds> = if parts == 1 {
            vec![this.seed_part(codes, 0..rows, count, parts)]
        } else {
            std::thread::scope(|scope| {
                let others: Vec<_> = (1..parts)
                    .map(|part| scope.spawn(move || this.seed_part(codes, range(part), count, parts)))
                    .collect();
                let mut seeded = vec![this.seed_part(codes, range(0), count, parts)];
                seeded.extend(
                    others
                        .into_iter()
                        .map(|other| other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
                );
                seeded
            })
        };
        let mut top: Vec<Ranked> = Vec::with_capacity(count * seeded.len());
        let mut gathered = Some((Vec::new(), u64::MAX));
        for part in seeded {
            top.extend(part.top);
            gathered = match (gathered, part.gathered) {
                (Some((mut all, below)), Some((rows, part_below))) => {
                    all.extend(rows);
                    Some((all, below.min(part_below)))
                }
                _ => None,
            };
        }
        top.sort_unstable();
        top.truncate(count);
        self.gathered = gathered.filter(|_| self.index.metric == Metric::L2);
        top.into_iter().map(|ranked| ranked.row).collect()
    }

    /// The seeds pass over the rows of `range` (one part of [`CodesSearch::seeds`], of
    /// `parts`): their `count` wanted rows of best promise (unordered), and for l2 the rows
    /// gathered with this part's final `G`, `None` when gathering gave up (more than its share
    /// of `rows / 16 + 1024` rows).
    fn seed_part(&self, codes: &QueryCodes, range: std::ops::Range<usize>, count: usize, parts: usize) -> PartSeeds {
        let index = self.index;
        let (metric, scale) = (index.metric, index.codes.scale());
        let nominal = index.codes.nominal_error();
        let mut top: BinaryHeap<Ranked> = BinaryHeap::with_capacity(count + 1);
        let mut worst = f64::INFINITY;
        let mut gathering = metric == Metric::L2;
        let gather_cap = (index.len() / 16 + 1024).div_ceil(parts);
        let (mut gathered, mut below) = (Vec::new(), u64::MAX);
        let mut sums = [0u32; CODE_BLOCK_ROWS];
        let mut start = range.start;
        while start < range.end {
            let end = (start + CODE_BLOCK_ROWS).min(range.end);
            let sums = &mut sums[..end - start];
            index.codes.code_distances(codes, start..end, sums);
            for (slot, &sum) in (start..end).zip(sums.iter()) {
                if !self.wanted(slot) {
                    continue;
                }
                let row = Coded { slot, sum };
                if gathering && (u64::from(sum) < below || f64::from(index.codes.error(slot)) > nominal) {
                    gathered.push(row);
                    if gathered.len() > gather_cap {
                        // `G` has fallen since the first rows came in: those now at or above
                        // it are not needed (module doc). Give up only when half the cap
                        // would still be needed, so each compaction halves the list at least.
                        gathered.retain(|row: &Coded| {
                            u64::from(row.sum) < below || f64::from(index.codes.error(row.slot)) > nominal
                        });
                        if gathered.len() > gather_cap / 2 {
                            (gathering, gathered) = (false, Vec::new());
                        }
                    }
                }
                let promise = promise_of(metric, scale, sum, index.norms[slot]);
                // Slots come in ascending order: an equal promise loses to every kept row.
                if top.len() == count && promise >= worst {
                    continue;
                }
                if top.len() == count {
                    top.pop();
                }
                top.push(Ranked { promise, row });
                if top.len() == count {
                    worst = top.peek().map_or(f64::INFINITY, |ranked| ranked.promise);
                    if metric == Metric::L2 && worst.is_finite() {
                        below = (worst as u64).saturating_mul(GATHER_FACTOR);
                    }
                }
            }
            start = end;
        }
        PartSeeds { top: top.into_vec(), gathered: gathering.then_some((gathered, below)) }
    }

    /// Every wanted row not computed yet that its bound does not rule out, with its code
    /// distance computed again (the seeds pass keeps none but the seeds' and the gathered).
    fn judge_every_row(&self) -> Vec<Coded> {
        let rows = self.index.len();
        let fresh = |slot: usize| self.computed[slot / 64] & (1 << (slot % 64)) == 0 && self.wanted(slot);
        let Some(codes) = self.query_codes.as_ref().filter(|_| self.pruner.is_some()) else {
            return (0..rows).filter(|&slot| fresh(slot)).map(|slot| Coded { slot, sum: 0 }).collect();
        };
        let mut judged = Vec::new();
        self.index.code_pass(codes, 0..rows, |slot, sum| {
            let row = Coded { slot, sum };
            if fresh(slot) && !self.skips(row) {
                judged.push(row);
            }
            true
        });
        judged
    }

    /// What the search needs next.
    pub fn next_step(&mut self) -> CodesStep<'a> {
        loop {
            if self.stage == Stage::Done {
                return CodesStep::Done;
            }
            // Without bounds every wanted row is a seed: as many as the rest would be.
            if self.stage == Stage::Seeds && self.pruner.is_none() && self.queue.len() > self.give_up_rows {
                self.stage = Stage::Done;
                return CodesStep::TooMany;
            }
            // The seeds in one go; without bounds every wanted row is a seed, so those go in
            // batches like the rest, keeping a read (and the caller's buffer) bounded.
            let batch = if self.stage == Stage::Seeds && self.pruner.is_some() { usize::MAX } else { FETCH_ROWS };
            self.asked.clear();
            while self.next < self.queue.len() && self.asked.len() < batch {
                let row = self.queue[self.next];
                self.next += 1;
                if !self.skips(row) {
                    self.asked.push(row.slot);
                }
            }
            if !self.asked.is_empty() {
                let index: &'a CodesOnlyIndex = self.index;
                return CodesStep::Fetch(self.asked.iter().map(|&slot| &*index.ids[slot]).collect());
            }
            match self.stage {
                Stage::Seeds => {
                    let judge = |row: &Coded| {
                        self.computed[row.slot / 64] & (1 << (row.slot % 64)) == 0
                            && self.wanted(row.slot)
                            && !self.skips(*row)
                    };
                    let cheap = self.pruner.as_ref().map_or(u64::MAX, Pruner::cheap_codes);
                    let (judged_gathered, rest) = match &self.gathered {
                        Some((gathered, below)) if cheap <= *below => {
                            (true, gathered.iter().copied().filter(judge).collect::<Vec<_>>())
                        }
                        _ => (false, self.judge_every_row()),
                    };
                    let mut rest: Vec<Ranked> =
                        rest.into_iter().map(|row| Ranked { promise: self.promise(row), row }).collect();
                    self.judged_gathered = judged_gathered;
                    self.gathered = None;
                    if rest.len() > self.give_up_rows {
                        self.stage = Stage::Done;
                        return CodesStep::TooMany;
                    }
                    rest.sort_unstable();
                    self.queue = rest.into_iter().map(|ranked| ranked.row).collect();
                    self.next = 0;
                    self.stage = Stage::Rest;
                }
                Stage::Rest | Stage::Done => self.stage = Stage::Done,
            }
        }
    }

    /// True when row `slot` is proven worse than the current limit.
    fn skips(&self, row: Coded) -> bool {
        let Some(pruner) = &self.pruner else { return false };
        pruner.skips(row.sum, self.index.codes.error(row.slot), self.index.norms[row.slot])
    }

    /// The exact vectors of the ids of the last [`CodesStep::Fetch`], in its order,
    /// row-major; false (and nothing done) when their number of values is not that.
    pub fn supply(&mut self, vectors: &[f32]) -> bool {
        let dim = self.index.dim();
        if vectors.len() != self.asked.len() * dim {
            return false;
        }
        let asked = std::mem::take(&mut self.asked);
        for (&slot, row) in asked.iter().zip(vectors.chunks_exact(dim.max(1))) {
            self.computed[slot / 64] |= 1 << (slot % 64);
            self.exact += 1;
            self.offer(slot, row);
        }
        self.asked = asked;
        self.asked.clear();
        true
    }

    /// Offers row `slot` whose vector is `row`, exactly as the full scan does.
    fn offer(&mut self, slot: usize, row: &[f32]) {
        let index = self.index;
        let d = exact_distance(index.metric, self.query, self.query_norm, index.norms[slot], row);
        if self.max_distance.is_some_and(|max| d > max) {
            return;
        }
        let hit = CodesHit { distance: d, id: &index.ids[slot] };
        if self.best.len() < self.k {
            self.best.push(hit);
        } else if let Some(mut worst) = self.best.peek_mut() {
            if hit < *worst {
                *worst = hit;
            }
        } else {
            return;
        }
        // A NaN k-th bounds nothing: it sorts after every number.
        let kth = (self.best.len() == self.k).then(|| self.best.peek().map(|worst| worst.distance)).flatten();
        let bits = kth.map(f32::to_bits);
        if bits != self.kth_bits {
            self.kth_bits = bits;
            let kth = kth.filter(|d| !d.is_nan());
            let limit = match (kth, self.max_distance) {
                (Some(kth), Some(max)) => Some(kth.min(max)),
                (kth, max) => kth.or(max),
            };
            if let Some(pruner) = &mut self.pruner {
                pruner.set_limit(limit);
            }
        }
    }

    /// Rows whose exact distance was computed so far.
    pub fn exact_rows(&self) -> usize {
        self.exact
    }

    /// The answer, in the contract's order, named as `kind`'s.
    pub fn finish(self, kind: &str) -> Vec<Neighbor> {
        self.best
            .into_sorted_vec()
            .into_iter()
            .map(|hit| Neighbor { kind: kind.to_owned(), id: hit.id.to_owned(), distance: hit.distance })
            .collect()
    }
}

/// The distance of a row (its vector `row`, its kernel squared norm `row_norm`) from `query`
/// (squared norm `query_norm`), with the same kernel and steps as [`super::ExactIndex`]'s scan,
/// so that every search from the codes reports the full scan's distances bit for bit.
fn exact_distance(metric: Metric, query: &[f32], query_norm: f32, row_norm: f32, row: &[f32]) -> f32 {
    (match metric {
        Metric::L2 => distance::l2_squared(query, row).sqrt(),
        Metric::Cosine => distance::cosine_from_parts(distance::dot(query, row), query_norm, row_norm),
        Metric::Dot => -distance::dot(query, row),
    }) + 0.0
}

/// How promising a row with code distance `sum` and kernel squared norm `norm` is (lower
/// first): the code distance for l2 and cosine; for dot, `scale² · S − ‖x‖²`, which orders
/// rows as `−⟨q, x⟩` would with the codes in place of the vectors.
#[inline]
fn promise_of(metric: Metric, scale: f64, sum: u32, norm: f32) -> f64 {
    match metric {
        Metric::Dot => scale * scale * f64::from(sum) - f64::from(norm),
        Metric::L2 | Metric::Cosine => f64::from(sum),
    }
}

/// Where a [`CodesDistinctSearch`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DistinctStage {
    /// Reading the vectors of rows with the best promise, one per distinct code.
    Seeds,
    /// Reading every row the bound from the seeds does not rule out, in id order.
    Candidates,
    Done,
}

/// One search of a [`CodesOnlyIndex`] by distinct vector (the `k` nearest distinct vectors,
/// each with its count and smallest ids), driven like [`CodesSearch`] with
/// [`CodesDistinctSearch::next_step`] and [`CodesDistinctSearch::supply`].
///
/// Why the answer is the full scan's: the seeds (wanted rows of best promise, one per distinct
/// code distance and norm, so that a large group of identical vectors takes one seed) are read,
/// and when they hold `k` distinct vectors within the filters, the `k`-th smallest of their
/// distances `L` bounds the answer: `k` groups at most `L` away exist, so no group farther is
/// in it. Every row whose bound does not prove it farther than `L` (and than `max_distance`) is
/// read; each member of a group in the answer is at most `L` away, so every one is read and
/// counted. They are offered to a [`DistinctCollector`] in id order (the order numbers are
/// their places in that order), which needs no second pass. With fewer than `k` distinct
/// seeds, or more than an eighth of the kind (at least 65,536 rows) left to read, the search
/// answers [`CodesStep::TooMany`].
pub struct CodesDistinctSearch<'a> {
    index: &'a CodesOnlyIndex,
    query: &'a [f32],
    query_norm: f32,
    options: KnnOptions,
    max_distance: Option<f32>,
    pruner: Option<Pruner>,
    query_codes: Option<QueryCodes>,
    stage: DistinctStage,
    /// Rows to read in this stage, in order, and how far the search is.
    queue: Vec<usize>,
    next: usize,
    /// Rows asked for in the last [`CodesStep::Fetch`].
    asked: Vec<usize>,
    /// The seeds' distinct vectors (by bits) and their distances, within the filters.
    seed_distances: HashMap<Box<[u32]>, f32>,
    collector: DistinctCollector,
    /// Records offered so far, in id order: the next one's order number.
    offered: u64,
    give_up_rows: usize,
}

impl std::fmt::Debug for CodesDistinctSearch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodesDistinctSearch").field("stage", &self.stage).finish_non_exhaustive()
    }
}

impl<'a> CodesDistinctSearch<'a> {
    fn new(
        index: &'a CodesOnlyIndex,
        query: &'a [f32],
        options: &KnnOptions,
        ids_per_vector: usize,
    ) -> CodesDistinctSearch<'a> {
        let rows = index.len();
        let (query_norm, query_codes, pruner, max_distance) = index.prepare(query, options);
        let mut search = CodesDistinctSearch {
            index,
            query,
            query_norm,
            options: options.clone(),
            max_distance,
            pruner,
            query_codes,
            stage: if options.k == 0 || rows == 0 { DistinctStage::Done } else { DistinctStage::Seeds },
            queue: Vec::new(),
            next: 0,
            asked: Vec::new(),
            seed_distances: HashMap::new(),
            collector: DistinctCollector::new(options.k, ids_per_vector),
            offered: 0,
            give_up_rows: (rows / 8).max(1 << 16),
        };
        if search.stage == DistinctStage::Seeds {
            search.queue = search.seeds();
        }
        search
    }

    fn wanted(&self, slot: usize) -> bool {
        self.options.extractor_version.is_none_or(|v| v == self.index.versions[slot])
    }

    /// The `k` + [`SEED_EXTRA_ROWS`] wanted rows of best promise with distinct (code distance,
    /// norm, error bound): identical vectors share all three, so a group takes one seed.
    fn seeds(&self) -> Vec<usize> {
        let Some(codes) = self.query_codes.as_ref().filter(|_| self.pruner.is_some()) else { return Vec::new() };
        let index = self.index;
        let count = self.options.k.saturating_add(SEED_EXTRA_ROWS);
        let key = |slot: usize, sum: u32| (sum, index.norms[slot].to_bits(), index.codes.error(slot).to_bits());
        let mut top: BinaryHeap<Ranked> = BinaryHeap::with_capacity(count + 1);
        let mut held = std::collections::HashSet::new();
        index.code_pass(codes, 0..index.len(), |slot, sum| {
            if !self.wanted(slot) {
                return true;
            }
            let promise = promise_of(index.metric, index.codes.scale(), sum, index.norms[slot]);
            if top.len() == count && top.peek().is_some_and(|worst| promise >= worst.promise) {
                return true;
            }
            if held.insert(key(slot, sum)) {
                top.push(Ranked { promise, row: Coded { slot, sum } });
                if top.len() > count
                    && let Some(worst) = top.pop()
                {
                    held.remove(&key(worst.row.slot, worst.row.sum));
                }
            }
            true
        });
        top.into_sorted_vec().into_iter().map(|ranked| ranked.row.slot).collect()
    }

    /// Every wanted row its bound does not rule out, in id order.
    fn candidates(&self) -> Vec<usize> {
        let index = self.index;
        let wanted: Vec<usize> = match (self.query_codes.as_ref(), &self.pruner) {
            (Some(codes), Some(pruner)) => {
                let mut rows = Vec::new();
                index.code_pass(codes, 0..index.len(), |slot, sum| {
                    if self.wanted(slot) && !pruner.skips(sum, index.codes.error(slot), index.norms[slot]) {
                        rows.push(slot);
                    }
                    // Past the give-up point the caller answers another way: no need to go on.
                    rows.len() <= self.give_up_rows
                });
                if rows.len() > self.give_up_rows {
                    return rows;
                }
                rows
            }
            _ => (0..index.len()).filter(|&slot| self.wanted(slot)).collect(),
        };
        let mut wanted = wanted;
        wanted.sort_unstable_by(|&a, &b| index.ids[a].cmp(&index.ids[b]));
        wanted
    }

    /// The distance of row `slot` whose vector is `row` (see [`exact_distance`]).
    fn distance(&self, slot: usize, row: &[f32]) -> f32 {
        exact_distance(self.index.metric, self.query, self.query_norm, self.index.norms[slot], row)
    }

    /// What the search needs next.
    pub fn next_step(&mut self) -> CodesStep<'a> {
        loop {
            match self.stage {
                DistinctStage::Done => return CodesStep::Done,
                DistinctStage::Seeds | DistinctStage::Candidates => {}
            }
            let batch = if self.stage == DistinctStage::Seeds { usize::MAX } else { FETCH_ROWS };
            self.asked.clear();
            while self.next < self.queue.len() && self.asked.len() < batch {
                self.asked.push(self.queue[self.next]);
                self.next += 1;
            }
            if !self.asked.is_empty() {
                let index: &'a CodesOnlyIndex = self.index;
                return CodesStep::Fetch(self.asked.iter().map(|&slot| &*index.ids[slot]).collect());
            }
            match self.stage {
                DistinctStage::Seeds => {
                    let mut distances: Vec<f32> = self.seed_distances.values().copied().collect();
                    if distances.len() < self.options.k {
                        self.stage = DistinctStage::Done;
                        return CodesStep::TooMany;
                    }
                    distances.sort_unstable_by(|a, b| distance::cmp_distances(*a, *b));
                    let kth = distances[self.options.k - 1];
                    // A NaN k-th bounds nothing: it sorts after every number.
                    let limit = match (Some(kth).filter(|d| !d.is_nan()), self.max_distance) {
                        (Some(kth), Some(max)) => Some(kth.min(max)),
                        (kth, max) => kth.or(max),
                    };
                    if let Some(pruner) = &mut self.pruner {
                        pruner.set_limit(limit);
                    }
                    self.queue = self.candidates();
                    if self.queue.len() > self.give_up_rows {
                        self.stage = DistinctStage::Done;
                        return CodesStep::TooMany;
                    }
                    self.next = 0;
                    self.stage = DistinctStage::Candidates;
                }
                DistinctStage::Candidates | DistinctStage::Done => {
                    self.stage = DistinctStage::Done;
                    // Offered in id order: a second pass is never needed; answer another way
                    // if it were.
                    if self.collector.needs_recount() {
                        return CodesStep::TooMany;
                    }
                }
            }
        }
    }

    /// The exact vectors of the ids of the last [`CodesStep::Fetch`], in its order,
    /// row-major; false (and nothing done) when their number of values is not that.
    pub fn supply(&mut self, vectors: &[f32]) -> bool {
        let dim = self.index.dim();
        if vectors.len() != self.asked.len() * dim {
            return false;
        }
        let asked = std::mem::take(&mut self.asked);
        for (&slot, row) in asked.iter().zip(vectors.chunks_exact(dim.max(1))) {
            let d = self.distance(slot, row);
            // The full copy's filter (the rows asked for are of the wanted version).
            if self.max_distance.is_some_and(|max| d > max) {
                continue;
            }
            match self.stage {
                DistinctStage::Seeds => {
                    let bits: Box<[u32]> = row.iter().map(|value| value.to_bits()).collect();
                    self.seed_distances.insert(bits, d);
                }
                DistinctStage::Candidates => {
                    self.collector.offer(row, d, &self.index.ids[slot], self.offered);
                    self.offered += 1;
                }
                DistinctStage::Done => {}
            }
        }
        self.asked = asked;
        self.asked.clear();
        true
    }

    /// The answer, in the contract's order, named as `kind`'s.
    pub fn finish(self, kind: &str) -> Vec<DistinctNeighbor> {
        self.collector.finish(kind)
    }
}

/// What one part of the seeds pass found (see [`CodesSearch::seed_part`]).
struct PartSeeds {
    top: Vec<Ranked>,
    gathered: Option<(Vec<Coded>, u64)>,
}

/// A row and its code distance `S` to the query (0 when the query has no codes).
#[derive(Debug, Clone, Copy)]
struct Coded {
    slot: usize,
    sum: u32,
}

/// A row ranked by its promise, ties by slot (any fixed order does).
#[derive(Debug, Clone, Copy)]
struct Ranked {
    promise: f64,
    row: Coded,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.promise.total_cmp(&other.promise).then(self.row.slot.cmp(&other.row.slot))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

/// A candidate in the contract's (distance, id) order.
struct CodesHit<'a> {
    distance: f32,
    id: &'a str,
}

impl Ord for CodesHit<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        distance::cmp_distances(self.distance, other.distance).then_with(|| self.id.cmp(other.id))
    }
}

impl PartialOrd for CodesHit<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for CodesHit<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for CodesHit<'_> {}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::super::ExactIndex;
    use super::super::quantized::tests::{options_for, queries, rows};
    use super::super::test_draws::Draws;
    use super::{CodesOnlyIndex, CodesStep};
    use crate::exact_index::GridRange;
    use crate::record::{KnnOptions, Metric, Neighbor};

    fn answer(hits: &[Neighbor]) -> Vec<(String, u32)> {
        hits.iter().map(|hit| (hit.id.clone(), hit.distance.to_bits())).collect()
    }

    thread_local! {
        /// Searches of this thread that judged only their gathered rows.
        static GATHERED_ONLY: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The stored vectors by id, as a store's file holds them.
    type Stored = HashMap<String, Vec<f32>>;

    /// A codes-only index of `stored` on the grid of `grid_rows`' values (so that rows may lie
    /// outside it), with the versions and write times `meta` gives.
    fn codes_index(
        metric: Metric,
        dim: usize,
        grid_rows: &[Vec<f32>],
        data: &[(String, Vec<f32>, u32)],
    ) -> CodesOnlyIndex {
        let mut range = GridRange::new(dim);
        for row in grid_rows {
            range.widen(row);
        }
        let mut index = CodesOnlyIndex::new(metric, &range).expect("a grid");
        for (id, vector, version) in data {
            index.upsert(id, vector, *version, 5);
        }
        index.settle();
        index
    }

    /// Every search of `queries` under `options` on `codes` equals the full scan of `full`
    /// (pruning off), bit for bit, with the vectors read from `stored`; returns how many rows
    /// the codes-only searches computed.
    fn assert_codes_equal_full(
        codes: &CodesOnlyIndex,
        full: &mut ExactIndex,
        stored: &Stored,
        queries: &[Vec<f32>],
        options: &[KnnOptions],
    ) -> usize {
        full.set_pruning(false);
        assert_eq!(codes.len(), full.len());
        let mut exact = 0;
        for query in queries {
            for options in options {
                let want = full.search("k", query, options);
                // Seeds passes split into parts as on a many-core machine, too.
                for (gathering, seed_extra, parts) in [
                    (true, super::SEED_EXTRA_ROWS, None),
                    (true, 0, None),
                    (false, 0, None),
                    (true, super::SEED_EXTRA_ROWS, Some(3)),
                    (true, 0, Some(7)),
                ] {
                    let mut search = super::CodesSearch::new(codes, query, options, seed_extra, parts);
                    if !gathering {
                        search = search.without_gathering();
                    }
                    loop {
                        match search.next_step() {
                            CodesStep::Fetch(ids) => {
                                let rows: Vec<f32> = ids.iter().flat_map(|id| stored[*id].iter().copied()).collect();
                                assert!(search.supply(&rows));
                            }
                            CodesStep::Done => break,
                            CodesStep::TooMany => panic!("small kinds are never given up"),
                        }
                    }
                    exact += search.exact_rows();
                    GATHERED_ONLY.with(|used| used.set(used.get() + usize::from(search.judged_gathered_rows_only())));
                    let got = search.finish("k");
                    assert_eq!(
                        answer(&got),
                        answer(&want),
                        "{} {options:?} gathering {gathering} parts {parts:?} query {query:?}",
                        codes.metric()
                    );
                }
            }
        }
        exact
    }

    /// Drawn rows, the full index holding them, the stored vectors and the codes-only index.
    type Drawn = (Vec<(String, Vec<f32>, u32)>, ExactIndex, Stored, CodesOnlyIndex);

    /// `count` drawn rows (see `rows`) in a full index, a map of the stored vectors and a
    /// codes-only index on their grid. The last of the ids written wins in the map, in the
    /// indexes too.
    fn drawn(rng: &mut Draws, count: usize, dim: usize, magnitude: f32, metric: Metric) -> Drawn {
        let data = rows(rng, count, dim, magnitude);
        let mut full = ExactIndex::new(dim, metric);
        let mut stored = Stored::new();
        for (id, vector, version) in &data {
            full.upsert(id, vector, *version, 5);
            stored.insert(id.clone(), vector.clone());
        }
        let grid: Vec<Vec<f32>> = data.iter().map(|(_, vector, _)| vector.clone()).collect();
        let codes = codes_index(metric, dim, &grid, &data);
        (data, full, stored, codes)
    }

    /// Runs every distinct search of `queries` under `options` from the codes and compares it
    /// with the full copy's, bit for bit; returns how many the codes answered (the others gave
    /// up, which the store answers another way).
    fn assert_distinct_equal_full(
        codes: &CodesOnlyIndex,
        full: &ExactIndex,
        stored: &Stored,
        queries: &[Vec<f32>],
        options: &[KnnOptions],
    ) -> usize {
        let shown = |hits: Vec<crate::distinct::DistinctNeighbor>| -> Vec<(u32, u64, Vec<String>)> {
            hits.into_iter().map(|hit| (hit.distance.to_bits(), hit.count, hit.ids)).collect()
        };
        let mut answered = 0;
        for query in queries {
            for options in options {
                for ids_per_vector in [0, 1, 3] {
                    let want = shown(full.search_distinct("k", query, options, ids_per_vector));
                    let mut search = codes.search_distinct(query, options, ids_per_vector);
                    let finished = loop {
                        match search.next_step() {
                            CodesStep::Fetch(ids) => {
                                let rows: Vec<f32> = ids.iter().flat_map(|id| stored[*id].iter().copied()).collect();
                                assert!(search.supply(&rows));
                            }
                            CodesStep::Done => break true,
                            CodesStep::TooMany => break false,
                        }
                    };
                    if finished {
                        answered += 1;
                        assert_eq!(
                            shown(search.finish("k")),
                            want,
                            "{} {options:?} ids {ids_per_vector} query {query:?}",
                            codes.metric()
                        );
                    }
                }
            }
        }
        answered
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Distinct searches from the codes answer exactly as the full copy's: every metric,
        /// filters, k from 1 to beyond the count, magnitudes, duplicates, after removes.
        #[test]
        fn codes_only_distinct_searches_equal_full_copies(
            seed in any::<u64>(),
            dim in prop::sample::select(vec![1usize, 3, 16, 40]),
            count in 1usize..200,
            magnitude in prop::sample::select(vec![1.0f32, 3e-3, 1e30, 1e-30, 1e-40]),
            metric in prop::sample::select(Metric::ALL.to_vec()),
        ) {
            let mut rng = Draws(seed);
            let (data, mut full, stored, mut codes) = drawn(&mut rng, count, dim, magnitude, metric);
            let queries = queries(&mut rng, &data, dim, magnitude);
            let mut options = options_for(&mut rng, &full, &queries[0], count);
            options.push(KnnOptions::new(2));
            assert_distinct_equal_full(&codes, &full, &stored, &queries, &options);
            for (id, _, _) in data.iter().step_by(3) {
                prop_assert_eq!(full.remove(id), codes.remove(id));
            }
            assert_distinct_equal_full(&codes, &full, &stored, &queries, &options);
        }
    }

    /// A botnet's group of identical vectors among clustered others: the codes answer (they do
    /// not give up), with the group counted whole, on every metric.
    #[test]
    fn distinct_searches_count_a_large_group_from_the_codes() {
        let (dim, count, group) = (16, 6_000, 2_500);
        let mut rng = Draws(11);
        let shared: Vec<f32> = (0..dim).map(|_| rng.unit() * 4.0).collect();
        for metric in Metric::ALL {
            let mut full = ExactIndex::new(dim, metric);
            let mut data = Vec::new();
            for n in 0..count {
                let vector: Vec<f32> = if n % 12 < 5 {
                    shared.clone()
                } else {
                    shared.iter().map(|c| c + (rng.unit() * 0.5 + 0.75) * if n % 2 == 0 { 1.0 } else { -1.0 }).collect()
                };
                let id = format!("s{:06}", (n * 7) % count);
                full.upsert(&id, &vector, 1, 5);
                data.push((id, vector, 1));
            }
            let members = data.iter().filter(|(_, vector, _)| *vector == shared).count();
            assert!(members >= group, "{members}");
            let grid: Vec<Vec<f32>> = data.iter().map(|(_, vector, _)| vector.clone()).collect();
            let codes = codes_index(metric, dim, &grid, &data);
            let stored: Stored = data.iter().map(|(id, vector, _)| (id.clone(), vector.clone())).collect();
            let near: Vec<f32> = shared.iter().map(|c| c + 0.01).collect();
            let options = [KnnOptions::new(1), KnnOptions::new(5), KnnOptions::new(10).max_distance(2.0)];
            let answered = assert_distinct_equal_full(&codes, &full, &stored, &[shared.clone(), near], &options);
            assert!(answered >= 12, "{metric}: only {answered} of 18 searches answered from the codes");
            let mut search = codes.search_distinct(&shared, &KnnOptions::new(1), 2);
            while let CodesStep::Fetch(ids) = search.next_step() {
                let rows: Vec<f32> = ids.iter().flat_map(|id| stored[*id].iter().copied()).collect();
                assert!(search.supply(&rows));
            }
            let top = search.finish("k");
            if metric == Metric::L2 {
                assert_eq!((top[0].count, top[0].distance), (members as u64, 0.0), "{metric}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Codes-only searches answer exactly as full scans: every metric, filters, k from 1
        /// to beyond the count, huge, tiny and subnormal magnitudes, duplicates, rows outside
        /// the grid, and after replacements and removes.
        #[test]
        fn codes_only_searches_equal_full_scans(
            seed in any::<u64>(),
            dim in prop::sample::select(vec![1usize, 3, 16, 17, 40, 64]),
            count in 1usize..160,
            magnitude in prop::sample::select(vec![1.0f32, 3e-3, 1e30, 1e-30, 1e-40, 1e19, 1e-19]),
            metric in prop::sample::select(Metric::ALL.to_vec()),
        ) {
            let mut rng = Draws(seed);
            let (data, mut full, mut stored, mut codes) = drawn(&mut rng, count, dim, magnitude, metric);
            let queries = queries(&mut rng, &data, dim, magnitude);
            let options = options_for(&mut rng, &full, &queries[0], count);
            assert_codes_equal_full(&codes, &mut full, &stored, &queries, &options);

            // Writes outside the grid (new ids and replaced ones), then removes.
            let wide = rows(&mut rng, 1 + count / 2, dim, magnitude * 50.0);
            for (n, (id, vector, version)) in wide.iter().enumerate() {
                let id = if n % 2 == 0 { data[rng.below(data.len())].0.clone() } else { format!("w{id}") };
                full.upsert(&id, vector, *version, 6 + n as u64);
                codes.upsert(&id, vector, *version, 6 + n as u64);
                stored.insert(id, vector.clone());
            }
            assert_codes_equal_full(&codes, &mut full, &stored, &queries, &options);
            for (id, _, _) in data.iter().step_by(3) {
                prop_assert_eq!(full.remove(id), codes.remove(id));
            }
            let version = rng.below(3) as u32;
            prop_assert_eq!(full.remove_version(version), codes.remove_version(version));
            prop_assert_eq!(full.remove_written_before(8), codes.remove_written_before(8));
            assert_codes_equal_full(&codes, &mut full, &stored, &queries, &options);
        }
    }

    /// Clustered data far larger than k: the codes-only search reads few vectors, and still
    /// answers as the full scan.
    #[test]
    fn clustered_data_reads_few_vectors() {
        let (dim, count) = (32, 20_000);
        let mut rng = Draws(3);
        let centres: Vec<Vec<f32>> = (0..50).map(|_| (0..dim).map(|_| (rng.unit() * 0.5) * 16.0).collect()).collect();
        for metric in Metric::ALL {
            let mut full = ExactIndex::new(dim, metric);
            let mut data = Vec::new();
            for n in 0..count {
                let centre = &centres[n % centres.len()];
                let vector: Vec<f32> = centre.iter().map(|c| c + (rng.unit() * 0.5) * 0.5).collect();
                full.upsert(&format!("s{n:06}"), &vector, 1, 5);
                data.push((format!("s{n:06}"), vector, 1));
            }
            let grid: Vec<Vec<f32>> = data.iter().map(|(_, vector, _)| vector.clone()).collect();
            let codes = codes_index(metric, dim, &grid, &data);
            let stored: Stored = data.iter().map(|(id, vector, _)| (id.clone(), vector.clone())).collect();
            let queries: Vec<Vec<f32>> =
                (0..5).map(|q| centres[q * 7].iter().map(|c| c + (rng.unit() * 0.5) * 0.5).collect()).collect();
            let before = GATHERED_ONLY.with(|used| used.get());
            let exact = assert_codes_equal_full(&codes, &mut full, &stored, &queries, &[KnnOptions::new(10)]);
            // Five queries, three ways each: a full scan would compute 15 × count rows.
            assert!(exact < count, "{metric}: {exact} vectors read for 15 searches of {count} rows");
            let gathered_only = GATHERED_ONLY.with(|used| used.get()) - before;
            assert_eq!(
                gathered_only > 0,
                metric == Metric::L2,
                "{metric}: {gathered_only} searches judged gathered rows only"
            );
        }
    }

    /// Rows all at the same distance from the query: nothing is ruled out, and past the limit
    /// set the search gives up rather than reading every vector.
    #[test]
    fn equidistant_data_is_given_up() {
        let (dim, count) = (16, 3_000);
        let mut rng = Draws(9);
        let query: Vec<f32> = (0..dim).map(|_| rng.unit() * 0.5).collect();
        let data: Vec<(String, Vec<f32>, u32)> = (0..count)
            .map(|n| {
                let vector = query.iter().map(|q| if rng.below(2) == 0 { q + 0.25 } else { q - 0.25 }).collect();
                (format!("s{n:05}"), vector, 1)
            })
            .collect();
        let grid: Vec<Vec<f32>> = data.iter().map(|(_, vector, _)| vector.clone()).collect();
        let codes = codes_index(Metric::L2, dim, &grid, &data);
        let mut search = codes.search(&query, &KnnOptions::new(10)).give_up_past(count / 2);
        let CodesStep::Fetch(seeds) = search.next_step() else { panic!("the seeds come first") };
        assert_eq!(seeds.len(), 10 + super::SEED_EXTRA_ROWS);
        let rows: Vec<f32> = seeds.iter().flat_map(|id| data[id[1..].parse::<usize>().unwrap()].1.clone()).collect();
        assert!(search.supply(&rows));
        assert!(matches!(search.next_step(), CodesStep::TooMany));
        assert!(!search.supply(&[1.0]), "a wrong number of values is refused");
    }

    #[test]
    fn memory_is_a_fraction_of_the_full_copy() {
        let mut range = GridRange::new(128);
        range.widen(&[0.0; 128]);
        range.widen(&[1000.0; 128]);
        let mut codes = CodesOnlyIndex::new(Metric::L2, &range).expect("a grid");
        let mut full = ExactIndex::new(128, Metric::L2);
        for n in 0..2_000 {
            codes.upsert(&format!("s-{n:06}"), &[n as f32 * 0.5; 128], 1, 5);
            full.upsert(&format!("s-{n:06}"), &[n as f32 * 0.5; 128], 1, 5);
        }
        let estimate = CodesOnlyIndex::estimated_bytes(2_000, 128, 8);
        assert!(codes.memory_bytes() >= 2_000 * (128 + 4), "{}", codes.memory_bytes());
        assert!(codes.memory_bytes() <= estimate * 2, "{} vs {estimate}", codes.memory_bytes());
        assert!(estimate * 2 < ExactIndex::estimated_bytes(2_000, 128, 8), "{estimate}");
        assert!(codes.memory_bytes() * 2 < full.memory_bytes(), "{} vs {}", codes.memory_bytes(), full.memory_bytes());
        assert!(codes.remove("s-000003") && !codes.remove("s-000003"));
        assert_eq!(codes.len(), 1_999);
        let none = GridRange::new(4);
        assert!(CodesOnlyIndex::new(Metric::L2, &none).is_none(), "an empty range makes no grid");
    }
}
