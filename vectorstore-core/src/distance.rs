//! Distance kernels and the result order of the contract.
//!
//! The kernels accumulate in `f32` over 16 independent lanes so that the compiler vectorises
//! them (no bounds checks in the loop, no serial dependency between lanes). On x86-64 CPUs with
//! AVX2 a second copy compiled for AVX2 is chosen at run time, twice as wide as the baseline
//! SSE2 build; both give the same sums (no fused multiply-add, same lane order).

use std::cmp::Ordering;

use crate::record::{Metric, Neighbor};

const LANES: usize = 16;

#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    // A left-to-right sum: measured twice as fast as a pairwise tree here (the tree spills the
    // accumulators), and the same arithmetic whichever instruction set runs it.
    acc.iter().sum()
}

/// True when the AVX2 copies of the kernels can run on this CPU (checked once, then cached by std).
#[inline]
pub(crate) fn wide_simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `sum((a - b)^2)`. Both slices must have the same length (the shorter one bounds the sum).
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if wide_simd() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { l2_squared_avx2(a, b) };
    }
    l2_squared_inline(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn l2_squared_avx2(a: &[f32], b: &[f32]) -> f32 {
    l2_squared_inline(a, b)
}

/// The inner product `sum(a * b)`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if wide_simd() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { dot_avx2(a, b) };
    }
    dot_inline(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_inline(a, b)
}

/// [`l2_squared`] for inlining into a caller that is itself compiled per CPU level.
#[inline(always)]
pub(crate) fn l2_squared_inline(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in tail_a.iter().zip(tail_b) {
        let d = x - y;
        tail += d * d;
    }
    reduce(acc) + tail
}

/// [`l2_squared_inline`] of `a` against four rows at once: each result is bit for bit what
/// `l2_squared_inline(a, row)` gives (the same lanes, in the same order), but the four sums are
/// independent chains, so the CPU overlaps them instead of waiting on one chain of additions.
#[inline(always)]
pub(crate) fn l2_squared_x4_inline(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    x4_inline(a, rows, |x, y| {
        let d = x - y;
        d * d
    })
}

/// [`dot_inline`] of `a` against four rows at once, each result bit for bit
/// `dot_inline(a, row)` (see [`l2_squared_x4_inline`]).
#[inline(always)]
pub(crate) fn dot_x4_inline(a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    x4_inline(a, rows, |x, y| x * y)
}

/// `sum(term(a[i], row[i]))` for four rows, over the lanes of the one-row kernels.
#[inline(always)]
fn x4_inline(a: &[f32], rows: [&[f32]; 4], term: impl Fn(f32, f32) -> f32) -> [f32; 4] {
    let n = rows.iter().fold(a.len(), |n, row| n.min(row.len()));
    let [r0, r1, r2, r3] = rows.map(|row| &row[..n]);
    let a = &a[..n];
    let (mut s0, mut s1, mut s2, mut s3) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
    let chunks = a
        .chunks_exact(LANES)
        .zip(r0.chunks_exact(LANES))
        .zip(r1.chunks_exact(LANES))
        .zip(r2.chunks_exact(LANES))
        .zip(r3.chunks_exact(LANES));
    for ((((x, y0), y1), y2), y3) in chunks {
        for i in 0..LANES {
            s0[i] += term(x[i], y0[i]);
            s1[i] += term(x[i], y1[i]);
            s2[i] += term(x[i], y2[i]);
            s3[i] += term(x[i], y3[i]);
        }
    }
    let whole = n - n % LANES;
    let tail = |row: &[f32]| {
        let mut tail = 0.0f32;
        for (x, y) in a[whole..].iter().zip(&row[whole..]) {
            tail += term(*x, *y);
        }
        tail
    };
    [reduce(s0) + tail(r0), reduce(s1) + tail(r1), reduce(s2) + tail(r2), reduce(s3) + tail(r3)]
}

/// [`dot`] for inlining into a caller that is itself compiled per CPU level.
#[inline(always)]
pub(crate) fn dot_inline(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in tail_a.iter().zip(tail_b) {
        tail += x * y;
    }
    reduce(acc) + tail
}

/// The squared Euclidean norm `sum(a^2)`.
#[inline]
pub fn norm_squared(a: &[f32]) -> f32 {
    dot(a, a)
}

/// Cosine distance `1 - cos` from a dot product and both squared norms, with the similarity
/// clamped to `[-1, 1]` so rounding never reports a distance below 0 or above 2.
#[inline]
pub fn cosine_from_parts(dot: f32, norm_squared_a: f32, norm_squared_b: f32) -> f32 {
    cosine_from_wide_parts(f64::from(dot), norm_squared_a, norm_squared_b)
}

/// [`cosine_from_parts`] of a dot product given in `f64`: the same operations, each monotone in
/// `dot`, so a bound on the dot product gives a bound on the distance (pruned searches use it).
#[inline]
pub(crate) fn cosine_from_wide_parts(dot: f64, norm_squared_a: f32, norm_squared_b: f32) -> f32 {
    let similarity = dot / (f64::from(norm_squared_a) * f64::from(norm_squared_b)).sqrt();
    (1.0 - similarity.clamp(-1.0, 1.0)) as f32
}

/// The contract's distance between `a` and `b` under `metric`: Euclidean for l2, `1 - cos` for
/// cosine, `-(a . b)` for dot. `-0.0` is reported as `0.0`.
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let d = match metric {
        Metric::L2 => l2_squared(a, b).sqrt(),
        Metric::Cosine => cosine_from_parts(dot(a, b), norm_squared(a), norm_squared(b)),
        Metric::Dot => -dot(a, b),
    };
    d + 0.0
}

/// The contract's result order: ascending distance, then id ascending (byte order).
/// `-0.0` equals `0.0`; NaN (from overflowing vectors) sorts last.
pub fn cmp_hits(distance_a: f32, id_a: &str, distance_b: f32, id_b: &str) -> Ordering {
    cmp_distances(distance_a, distance_b).then_with(|| id_a.cmp(id_b))
}

/// The distance part of [`cmp_hits`]: ascending, `-0.0` equal to `0.0`, NaN last.
#[inline]
pub(crate) fn cmp_distances(a: f32, b: f32) -> Ordering {
    // total_cmp puts a negative NaN first, and an overflowing cosine yields one on x86: map
    // every NaN to the positive one so it sorts last, as documented.
    let key = |d: f32| if d.is_nan() { f32::NAN } else { d + 0.0 };
    key(a).total_cmp(&key(b))
}

/// Sorts neighbours into the contract's order (see [`cmp_hits`]).
pub fn sort_neighbors(neighbors: &mut [Neighbor]) {
    neighbors.sort_by(|a, b| cmp_hits(a.distance, &a.id, b.distance, &b.id));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-8, 8) with varied exponents and signs.
    fn values(seed: u64, count: usize) -> Vec<f32> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 16.0
            })
            .collect()
    }

    #[test]
    fn four_row_kernels_give_exactly_the_one_row_sums() {
        for dim in [1, 3, 15, 16, 17, 31, 64, 128, 130, 384] {
            let query = values(dim as u64, dim);
            let rows: Vec<Vec<f32>> = (0..4).map(|r| values(1000 + r * 7 + dim as u64, dim)).collect();
            let quad = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
            let l2 = l2_squared_x4_inline(&query, quad);
            let dot = dot_x4_inline(&query, quad);
            for (r, row) in rows.iter().enumerate() {
                assert_eq!(l2[r].to_bits(), l2_squared_inline(&query, row).to_bits(), "l2, dim {dim}, row {r}");
                assert_eq!(l2[r].to_bits(), l2_squared(&query, row).to_bits(), "l2 dispatched, dim {dim}, row {r}");
                assert_eq!(dot[r].to_bits(), dot_inline(&query, row).to_bits(), "dot, dim {dim}, row {r}");
                assert_eq!(dot[r].to_bits(), super::dot(&query, row).to_bits(), "dot dispatched, dim {dim}, row {r}");
                let exact = naive_l2_squared(&query, row);
                assert!((f64::from(l2[r]) - exact).abs() <= 1e-4 * exact.max(1.0), "dim {dim}: {} vs {exact}", l2[r]);
            }
        }
    }

    fn naive_l2_squared(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum()
    }

    #[test]
    fn kernels_match_hand_computed_values() {
        assert_eq!(distance(Metric::L2, &[0.0, 0.0], &[3.0, 4.0]), 5.0);
        assert_eq!(distance(Metric::Dot, &[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), -32.0);
        assert_eq!(distance(Metric::Cosine, &[1.0, 0.0], &[0.0, 2.0]), 1.0);
        assert_eq!(distance(Metric::Cosine, &[1.0, 0.0], &[-3.0, 0.0]), 2.0);
        assert_eq!(distance(Metric::Cosine, &[2.0, 2.0], &[1.0, 1.0]), 0.0);
        assert!(distance(Metric::Dot, &[0.0], &[5.0]).is_sign_positive());
    }

    #[test]
    fn every_length_and_tail_is_summed() {
        for n in [1usize, 7, 15, 16, 17, 31, 33, 128, 3000] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let expected = naive_l2_squared(&a, &b);
            let got = f64::from(l2_squared(&a, &b));
            assert!((got - expected).abs() <= 1e-4 * expected.max(1.0), "n={n}: {got} vs {expected}");
            let expected_dot: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - expected_dot).abs() <= 1e-4 * expected_dot.abs().max(1.0), "n={n}");
        }
    }

    #[test]
    fn hits_order_by_distance_then_id() {
        let mut hits = vec![
            Neighbor { kind: "k".into(), id: "b".into(), distance: 1.0 },
            Neighbor { kind: "k".into(), id: "a".into(), distance: 1.0 },
            Neighbor { kind: "k".into(), id: "c".into(), distance: 0.0 },
            Neighbor { kind: "k".into(), id: "d".into(), distance: -0.0 },
            Neighbor { kind: "k".into(), id: "e".into(), distance: -f32::NAN },
            Neighbor { kind: "k".into(), id: "f".into(), distance: f32::INFINITY },
        ];
        sort_neighbors(&mut hits);
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["c", "d", "a", "b", "f", "e"]);
    }
}
