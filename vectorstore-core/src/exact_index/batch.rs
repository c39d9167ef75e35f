//! [`ExactIndex::search_batch`]: many queries in one pass over the stored vectors.

use std::collections::BinaryHeap;

use super::{ActiveSearch, ExactIndex, Hit, PARALLEL_MIN_FLOATS, cores};
use crate::distance;
use crate::record::{KnnOptions, Neighbor};

/// Bytes of stored vectors a batch search scans against every query before moving on.
const BLOCK_BYTES: usize = 128 * 1024;

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

    /// The `k` best rows for each query, in the contract's order, scanning blocks of rows.
    fn scan_batch(&self, queries: &[&[f32]], options: &KnnOptions, k: usize) -> Vec<Vec<Hit<'_>>> {
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
}
