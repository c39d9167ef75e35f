//! [`ExactIndex::search_batch`]: many queries in one pass over the stored vectors.
//!
//! Two scans give the same answers, bit for bit those of [`ExactIndex::search`]:
//! - the plain scan computes every (query, row) distance with the single search's kernels;
//! - the pruned scan (enough queries, small k) first computes the inner products of a group of
//!   queries with a panel of rows as a small matrix product ([`panel`]), and from each, with a
//!   proven bound on its rounding error ([`bounds`]), rules out the rows whose exact distance
//!   is certainly above the query's current k-th (or `max_distance`). Only the rows left get
//!   the single search's kernel, so every reported distance is that kernel's.

mod bounds;
mod panel;

use std::collections::BinaryHeap;

use super::{ActiveSearch, ExactIndex, Hit, PARALLEL_MIN_FLOATS, cores};
use crate::distance;
use crate::record::{KnnOptions, Metric, Neighbor};
use bounds::{QueryBound, RowBound};
use panel::{Group, Kernel, Panel, QUERIES, ROWS};

/// Bytes of stored vectors a batch search scans against every query before moving on.
const BLOCK_BYTES: usize = 128 * 1024;

/// Fewest queries (in one thread's share) for the pruned scan: one full group of the
/// micro-kernel; with fewer, its padding costs more than the matrix product saves (measured:
/// 8 queries slower than the plain scan, 16 faster).
const PRUNED_MIN_QUERIES: usize = panel::QUERIES;

/// Fewest rows for the pruned scan: in smaller kinds the first block, where every row is still
/// computed exactly, is most of the work (measured: 300 rows and 16 queries up to 13% slower
/// than the plain scan, 1,000 rows as fast or faster).
const PRUNED_MIN_ROWS: usize = 1_000;

/// Smallest dimension for the pruned scan: below it the exact kernel is as cheap as the test.
const PRUNED_MIN_DIM: usize = 8;

/// The pruned scan needs `k` at most this share of the rows: until a query's heap holds `k`
/// rows nothing can be ruled out, so with a large `k` it only adds work.
const PRUNED_MAX_K_SHARE: usize = 8;

impl ExactIndex {
    /// The nearest vectors to each of `queries` (each of the index's dimension) under
    /// `options`: answer `i` is exactly [`ExactIndex::search`]'s for `queries[i]`. The stored
    /// vectors are scanned block by block, each block against every query while it is in
    /// cache; the queries are split over the cores no other search is using.
    pub fn search_batch(&self, kind: &str, queries: &[&[f32]], options: &KnnOptions) -> Vec<Vec<Neighbor>> {
        let k = options.k.min(self.ids.len());
        if k == 0 || queries.is_empty() {
            return vec![Vec::new(); queries.len()];
        }
        let (_active, searching) = ActiveSearch::enter();
        // Threads only for work worth one (see PARALLEL_MIN_FLOATS).
        let by_work = self.data.len().saturating_mul(queries.len()) / PARALLEL_MIN_FLOATS;
        let parts = (cores() / searching).max(1).min(queries.len()).min(by_work.max(1));
        let answers = if parts == 1 {
            self.scan_batch(queries, options, k)
        } else {
            let chunk = queries.len().div_ceil(parts);
            std::thread::scope(|scope| {
                let others: Vec<_> = queries
                    .chunks(chunk)
                    .skip(1)
                    .map(|part| scope.spawn(move || self.scan_batch(part, options, k)))
                    .collect();
                let mut answers = self.scan_batch(&queries[..chunk.min(queries.len())], options, k);
                for other in others {
                    answers.extend(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
                }
                answers
            })
        };
        answers
            .into_iter()
            .map(|hits| {
                hits.into_iter()
                    .map(|hit| Neighbor { kind: kind.to_owned(), id: hit.id.to_owned(), distance: hit.distance })
                    .collect()
            })
            .collect()
    }

    /// The `k` best rows for each query, in the contract's order: the pruned scan where it
    /// pays, the plain one otherwise.
    fn scan_batch(&self, queries: &[&[f32]], options: &KnnOptions, k: usize) -> Vec<Vec<Hit<'_>>> {
        let pays = queries.len() >= PRUNED_MIN_QUERIES
            && self.ids.len() >= PRUNED_MIN_ROWS
            && self.dim >= PRUNED_MIN_DIM
            && k.saturating_mul(PRUNED_MAX_K_SHARE) <= self.ids.len();
        if pays && bounds::slack(self.dim).is_some() {
            return self.scan_batch_pruned(queries, options, k, panel::best());
        }
        self.scan_batch_plain(queries, options, k)
    }

    /// The pruned scan (see the module docs) with the micro-kernel `kernel`. Queries the
    /// bounds do not cover (zero, tiny, huge or non-finite norms) go to the plain scan.
    fn scan_batch_pruned(
        &self,
        queries: &[&[f32]],
        options: &KnnOptions,
        k: usize,
        kernel: Kernel,
    ) -> Vec<Vec<Hit<'_>>> {
        let dim = self.dim;
        // The query norms the single search divides by (cosine), from the same kernel.
        let kernel_norms: Vec<f32> = queries.iter().map(|query| distance::dot(query, query)).collect();
        let mut answers: Vec<Vec<Hit<'_>>> = queries.iter().map(|_| Vec::new()).collect();
        let (mut tame, mut wild, mut query_bounds) = (Vec::new(), Vec::new(), Vec::new());
        for (n, (query, norm)) in queries.iter().zip(&kernel_norms).enumerate() {
            match QueryBound::new(self.metric, query, *norm) {
                Some(bound) => {
                    tame.push(n);
                    query_bounds.push(bound);
                }
                None => wild.push(n),
            }
        }
        if !wild.is_empty() {
            let wild_queries: Vec<&[f32]> = wild.iter().map(|&n| queries[n]).collect();
            for (&n, hits) in wild.iter().zip(self.scan_batch_plain(&wild_queries, options, k)) {
                answers[n] = hits;
            }
        }
        if tame.is_empty() {
            return answers;
        }

        // Queries packed in groups, component by component (padding queries are masked out).
        let groups = tame.len().div_ceil(QUERIES);
        let mut packed_queries = vec![0.0f32; groups * QUERIES * dim];
        let mut coef = vec![0.0f32; groups * QUERIES];
        let mut theta = vec![f32::INFINITY; groups * QUERIES];
        let mut heaps: Vec<BinaryHeap<Hit<'_>>> = tame.iter().map(|_| BinaryHeap::with_capacity(k + 1)).collect();
        let mut thresholds: Vec<f32> = Vec::with_capacity(tame.len());
        for (t, &n) in tame.iter().enumerate() {
            let group = &mut packed_queries[(t / QUERIES) * QUERIES * dim..][..QUERIES * dim];
            for (d, &value) in queries[n].iter().enumerate() {
                group[d * QUERIES + t % QUERIES] = value;
            }
            let w = threshold(&heaps[t], k, options);
            (coef[t], theta[t]) = query_bounds[t].test(w);
            thresholds.push(w);
        }

        // One block of rows (about BLOCK_BYTES) at a time, so it stays in cache while every
        // query group passes over it; the rows' bounds are computed once per block.
        let rows = self.ids.len();
        let block_rows = (BLOCK_BYTES / (4 * dim) / ROWS).max(1) * ROWS;
        let mut row_r = vec![0.0f32; block_rows];
        let mut row_h = vec![0.0f32; block_rows];
        for start in (0..rows).step_by(block_rows) {
            let count = block_rows.min(rows - start);
            for (j, (r, h)) in row_r.iter_mut().zip(&mut row_h).enumerate() {
                let bound = if j < count { RowBound::new(self.metric, self.row(start + j)) } else { RowBound::NONE };
                (*r, *h) = (bound.r, bound.h);
            }
            for p in (0..count).step_by(ROWS) {
                let in_panel = ROWS.min(count - p);
                // A short last panel repeats its first row; those answers are dropped.
                let panel_rows: [&[f32]; ROWS] =
                    std::array::from_fn(|j| self.row(start + p + if j < in_panel { j } else { 0 }));
                for g in 0..groups {
                    let masks = {
                        let group = Group {
                            values: &packed_queries[g * QUERIES * dim..][..QUERIES * dim],
                            coef: fixed(&coef[g * QUERIES..]),
                            theta: fixed(&theta[g * QUERIES..]),
                            valid: (u32::MAX >> (32 - QUERIES.min(tame.len() - g * QUERIES))) as u16,
                        };
                        let panel = Panel { rows: panel_rows, r: fixed(&row_r[p..]), h: fixed(&row_h[p..]) };
                        kernel(dim, &group, &panel)
                    };
                    for (j, mut mask) in masks.into_iter().enumerate().take(in_panel) {
                        let slot = start + p + j;
                        // A row of another extractor version is never offered: no kernel for it.
                        if options.extractor_version.is_some_and(|v| v != self.versions[slot]) {
                            continue;
                        }
                        while mask != 0 {
                            let t = g * QUERIES + mask.trailing_zeros() as usize;
                            mask &= mask - 1;
                            let query = queries[tame[t]];
                            // The single search's one-row kernels (the dispatched copies give
                            // the same bits as the inlined ones).
                            let value = match self.metric {
                                Metric::L2 => distance::l2_squared(query, panel_rows[j]),
                                Metric::Cosine | Metric::Dot => distance::dot(query, panel_rows[j]),
                            };
                            self.offer(slot, value, kernel_norms[tame[t]], options, k, &mut heaps[t]);
                            let w = threshold(&heaps[t], k, options);
                            if w.to_bits() != thresholds[t].to_bits() {
                                thresholds[t] = w;
                                (coef[t], theta[t]) = query_bounds[t].test(w);
                            }
                        }
                    }
                }
            }
        }
        for (&n, heap) in tame.iter().zip(heaps) {
            answers[n] = heap.into_sorted_vec();
        }
        answers
    }

    /// The plain scan: every distance with the single search's kernels, blocks of rows
    /// against every query.
    fn scan_batch_plain(&self, queries: &[&[f32]], options: &KnnOptions, k: usize) -> Vec<Vec<Hit<'_>>> {
        #[cfg(target_arch = "x86_64")]
        if distance::wide_simd() {
            // SAFETY: the CPU supports AVX2 (checked by wide_simd).
            return unsafe { self.scan_batch_avx2(queries, options, k) };
        }
        self.scan_batch_inline(queries, options, k)
    }

    /// The batch scan compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scan_batch_avx2(&self, queries: &[&[f32]], options: &KnnOptions, k: usize) -> Vec<Vec<Hit<'_>>> {
        self.scan_batch_inline(queries, options, k)
    }

    #[inline(always)]
    fn scan_batch_inline(&self, queries: &[&[f32]], options: &KnnOptions, k: usize) -> Vec<Vec<Hit<'_>>> {
        let rows = self.ids.len();
        // About 128 KiB of vectors per block: it stays in the core's L2 cache across the queries.
        let block = (BLOCK_BYTES / (4 * self.dim.max(1))).max(1);
        let norms: Vec<f32> = queries.iter().map(|query| distance::dot_inline(query, query)).collect();
        let mut best: Vec<BinaryHeap<Hit<'_>>> = queries.iter().map(|_| BinaryHeap::with_capacity(k + 1)).collect();
        for start in (0..rows).step_by(block) {
            let range = start..(start + block).min(rows);
            for ((query, norm), heap) in queries.iter().zip(&norms).zip(&mut best) {
                self.scan_into(range.clone(), query, *norm, options, k, heap, true);
            }
        }
        best.into_iter().map(BinaryHeap::into_sorted_vec).collect()
    }
}

/// The distance a row must exceed to be left out: the heap's k-th (once it holds `k` rows; a
/// NaN there is beaten by anything, so it counts as no threshold) or `max_distance`, whichever
/// is lower; `+inf` when neither applies.
fn threshold(heap: &BinaryHeap<Hit<'_>>, k: usize, options: &KnnOptions) -> f32 {
    let worst = match heap.peek() {
        Some(worst) if heap.len() >= k && !worst.distance.is_nan() => worst.distance,
        _ => f32::INFINITY,
    };
    // f32::min ignores a NaN max_distance, which filters nothing either.
    options.max_distance.map_or(worst, |max| worst.min(max))
}

/// The first `N` values of `values` as an array.
fn fixed<const N: usize>(values: &[f32]) -> &[f32; N] {
    values[..N].try_into().expect("slices of N floats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Metric;

    #[test]
    fn a_batch_search_answers_each_query_exactly_as_a_single_search() {
        // 300 dimensions: a block holds 109 rows, so 1,000 rows span ten blocks.
        let dim = 300;
        let mut state = 5u64;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 61) as f32) - 4.0
        };
        let rows: Vec<(String, Vec<f32>)> = (0..1_000)
            .map(|i| (format!("id-{:04}", (i * 7_919) % 1_000), (0..dim).map(|_| next()).collect()))
            .collect();
        let mut queries: Vec<Vec<f32>> = (0..37).map(|_| (0..dim).map(|_| next()).collect()).collect();
        queries.push(rows[3].1.clone());
        queries.push(rows[3].1.clone());
        let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        for metric in Metric::ALL {
            let mut index = ExactIndex::new(dim, metric);
            for (n, (id, vector)) in rows.iter().enumerate() {
                index.upsert(id, vector, 1 + (n % 2) as u32, 5);
            }
            for options in [
                KnnOptions::new(10),
                KnnOptions::new(1),
                KnnOptions::new(2_000),
                KnnOptions::new(25).extractor_version(2),
                KnnOptions::new(50).max_distance(40.0),
            ] {
                let batch = index.search_batch("k", &queries, &options);
                assert_eq!(batch.len(), queries.len());
                for (n, (got, query)) in batch.iter().zip(&queries).enumerate() {
                    let want = index.search("k", query, &options);
                    let bits = |hits: &[Neighbor]| {
                        hits.iter().map(|h| (h.id.clone(), h.distance.to_bits())).collect::<Vec<_>>()
                    };
                    assert_eq!(bits(got), bits(&want), "{metric} {options:?} query {n}");
                }
            }
        }
        assert!(ExactIndex::new(4, Metric::L2).search_batch("k", &queries[..0], &KnnOptions::new(3)).is_empty());
    }

    use proptest::prelude::*;

    use super::super::test_draws::Draws;

    /// Magnitudes from subnormal to near `f32::MAX`, including ones whose squares overflow.
    const SCALES: [f32; 15] =
        [1e-40, 1e-30, 1e-20, 1e-12, 1e-3, 0.1, 1.0, 7.0, 1e3, 1e12, 1e18, 1e19, 1e20, 1e30, 3e38];

    /// Vectors of one style: uniform, tightly clustered around large centres (the inner
    /// products cancel catastrophically), small integers (many exact ties), components of
    /// wildly mixed magnitudes, sums that round one way at every step, or a few vectors nudged
    /// by single ulps.
    fn vectors(draws: &mut Draws, style: usize, scale: f32, count: usize, dim: usize) -> Vec<Vec<f32>> {
        let centres: Vec<Vec<f32>> = (0..3).map(|_| (0..dim).map(|_| draws.unit() * scale).collect()).collect();
        let spread = draws.pick(&[1e-1, 1e-3, 1e-5, 1e-7]);
        // 1.5 ulps round every step up, 2.5 every step down.
        let ulps = draws.pick(&[1.5, 2.5]);
        (0..count)
            .map(|_| match style {
                0 => (0..dim).map(|_| draws.unit() * scale).collect(),
                1 => {
                    let centre = draws.pick(&[0, 1, 2]);
                    centres[centre].iter().map(|c| c + draws.unit() * scale * spread).collect()
                }
                2 => (0..dim).map(|_| (draws.below(5) as f32 - 2.0) * scale).collect(),
                3 => (0..dim)
                    .map(|_| {
                        let sign = if draws.below(2) == 0 { -1.0 } else { 1.0 };
                        match draws.below(8) {
                            0 => 0.0,
                            _ => sign * draws.pick(&SCALES) * (1.0 + draws.unit().abs()),
                        }
                    })
                    .collect(),
                // One large component and many whose products are about 1.5 or 2.5 ulps of it:
                // every addition of a sequential sum rounds the same way, the worst case for
                // the matrix product's error bound (a 16-lane sum rounds far less).
                5 => (0..dim)
                    .map(|d| match d {
                        0 => scale,
                        _ => scale * (ulps * f32::EPSILON / 2.0).sqrt() * (1.0 + 0.02 * draws.unit()),
                    })
                    .collect(),
                _ => {
                    let mut v = centres[draws.below(2)].clone();
                    let at = draws.below(dim);
                    for _ in 0..draws.below(3) {
                        v[at] = v[at].next_up();
                    }
                    v
                }
            })
            .collect()
    }

    fn bits(hits: &[Hit<'_>]) -> Vec<(String, u32)> {
        hits.iter().map(|hit| (hit.id.to_owned(), hit.distance.to_bits())).collect()
    }

    fn neighbor_bits(hits: &[Neighbor]) -> Vec<(String, u32)> {
        hits.iter().map(|hit| (hit.id.clone(), hit.distance.to_bits())).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(192))]

        /// The pruned scan, with either micro-kernel, answers every query exactly as the
        /// single search does: ids, distance bits, ties by id, both filters, every metric.
        #[test]
        fn the_pruned_scan_answers_exactly_as_single_searches(
            seed in any::<u64>(),
            dim in 1usize..40,
            rows in 1usize..160,
            style in 0usize..6,
            scale in 0usize..SCALES.len(),
            query_count in 1usize..20,
        ) {
            let mut draws = Draws(seed);
            let scale = SCALES[scale];
            let mut data = vectors(&mut draws, style, scale, rows, dim);
            if draws.below(4) == 0 {
                data[draws.below(rows)] = vec![0.0; dim];
            }
            let mut queries = vectors(&mut draws, style, scale, query_count, dim);
            for query in queries.iter_mut() {
                match draws.below(4) {
                    // A stored vector, or one nudged by an ulp: distance 0 and near-ties.
                    0 => *query = data[draws.below(rows)].clone(),
                    1 => {
                        *query = data[draws.below(rows)].clone();
                        let at = draws.below(dim);
                        query[at] = query[at].next_down();
                    }
                    _ => {}
                }
            }
            if draws.below(6) == 0 {
                queries[0] = vec![0.0; dim];
            }
            let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
            // Ids in an order unrelated to the rows', so ties are cut by something other than position.
            let ids: Vec<String> = (0..rows).map(|i| format!("id-{:04}", (i * 7_919 + 13) % 10_007)).collect();
            for metric in Metric::ALL {
                let mut index = ExactIndex::new(dim, metric);
                for (n, vector) in data.iter().enumerate() {
                    index.upsert(&ids[n], vector, 1 + (n % 3 == 0) as u32, 5);
                }
                // A max_distance equal to some row's exact distance puts a tie on the boundary.
                let boundary = distance::distance(metric, queries[0], &data[draws.below(rows)]);
                let k = 1 + draws.below(rows + 3);
                let mut all_options = vec![KnnOptions::new(k), KnnOptions::new(1), KnnOptions::new(k).extractor_version(2)];
                if !boundary.is_nan() {
                    all_options.push(KnnOptions::new(k).max_distance(boundary));
                }
                all_options.push(KnnOptions::new(k).max_distance(-1.0));
                for options in &all_options {
                    let want: Vec<Vec<Neighbor>> = queries.iter().map(|query| index.search("k", query, options)).collect();
                    let kept = options.k.min(rows);
                    for kernel in [panel::survivors_portable as Kernel, panel::best()] {
                        let got = index.scan_batch_pruned(&queries, options, kept, kernel);
                        prop_assert_eq!(got.len(), queries.len());
                        for (n, (got, want)) in got.iter().zip(&want).enumerate() {
                            prop_assert_eq!(bits(got), neighbor_bits(want), "{} {:?} query {}", metric, options, n);
                        }
                    }
                    let batch = index.search_batch("k", &queries, options);
                    for (n, (got, want)) in batch.iter().zip(&want).enumerate() {
                        prop_assert_eq!(neighbor_bits(got), neighbor_bits(want), "{} {:?} query {}", metric, options, n);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// A row is never ruled out at a threshold equal to its own exact distance (it might
        /// win on id), whatever its values; every query and row of the draw is tried.
        #[test]
        fn no_row_is_ruled_out_at_its_own_distance(
            seed in any::<u64>(),
            dim in 1usize..200,
            style in 0usize..6,
            scale in 0usize..SCALES.len(),
        ) {
            let mut draws = Draws(seed);
            let scale = SCALES[scale];
            let data = vectors(&mut draws, style, scale, 8, dim);
            for metric in Metric::ALL {
                for query in &data {
                    let Some(bound) = QueryBound::new(metric, query, distance::dot(query, query)) else { continue };
                    for row in &data {
                        let exact = distance::distance(metric, query, row);
                        let (coef, theta) = bound.test(exact);
                        let skipped = ruled_out(query, row, metric, coef, theta);
                        prop_assert!(!skipped.iter().any(|&s| s), "{} exact {} coef {} theta {}", metric, exact, coef, theta);
                    }
                }
            }
        }
    }

    /// Whether each micro-kernel rules `row` out for `query` with the test (`coef`, `theta`).
    fn ruled_out(query: &[f32], row: &[f32], metric: Metric, coef: f32, theta: f32) -> [bool; 2] {
        let dim = query.len();
        let mut queries = vec![0.0; dim * QUERIES];
        for d in 0..dim {
            queries[d * QUERIES] = query[d];
        }
        let bound = RowBound::new(metric, row);
        let (mut coefs, mut thetas) = ([0.0; QUERIES], [f32::INFINITY; QUERIES]);
        (coefs[0], thetas[0]) = (coef, theta);
        let group = Group { values: &queries, coef: &coefs, theta: &thetas, valid: 1 };
        let panel = Panel { rows: [row; ROWS], r: &[bound.r; ROWS], h: &[bound.h; ROWS] };
        [panel::survivors_portable as Kernel, panel::best()].map(|kernel| kernel(dim, &group, &panel)[0] == 0)
    }

    #[test]
    fn rows_far_beyond_the_threshold_are_ruled_out() {
        // Guards the bounds against being so loose that nothing is ever pruned.
        let query: Vec<f32> = (0..128).map(|i| (i as f32 * 0.1).sin()).collect();
        let far: Vec<f32> = query.iter().map(|v| v + 0.5).collect();
        let near: Vec<f32> = query.iter().map(|v| v + 0.01).collect();
        for metric in Metric::ALL {
            let bound = QueryBound::new(metric, &query, distance::dot(&query, &query)).expect("a tame query");
            let (near_d, far_d) = (distance::distance(metric, &query, &near), distance::distance(metric, &query, &far));
            // Halfway between the two distances (a metric where `far` is not farther is skipped).
            if far_d <= near_d {
                continue;
            }
            let (coef, theta) = bound.test((near_d + far_d) / 2.0);
            assert_eq!(ruled_out(&query, &far, metric, coef, theta), [true, true], "{metric}");
            assert_eq!(ruled_out(&query, &near, metric, coef, theta), [false, false], "{metric}");
        }
    }
}
