//! Proven rounding-error bounds that let a batch search rule rows out from an `f32` inner
//! product `g` computed in any summation order (a GEMM), without the exact kernel.
//!
//! # The test and what it promises
//!
//! For query `q` and row `x`, the panel kernel computes `v = coef·r + (h - g)` in `f32` (fused or
//! not) from a per-row pair (`r`, `h`, see [`RowBound`]) and a per-query pair (`coef`, `theta`,
//! see [`QueryBound::test`]), and skips the row when `v > theta`. The promise: whenever a row is
//! skipped, the distance `d` that the single search's kernel ([`super::super::ExactIndex::search`])
//! computes for it satisfies `d > w`, strictly, where `w` is the threshold the test was built
//! for (the query's current k-th exact distance, or `max_distance`). Rows at `d == w` are never
//! skipped, so ties are still cut by id. Anything the proof does not cover yields
//! `theta = +inf` or `r = h = NaN`, which skip nothing (`NaN > theta` is false).
//!
//! # The regime the proof covers ("tame" vectors)
//!
//! A query or row is tame when its squared norm, summed in `f64`, lies in `[2^-100, 2^100]`
//! (so it is finite, nonzero, and no product, square or partial sum of two tame vectors comes
//! near `f32` overflow: every one is at most `||q||·||x|| <= 2^100`, or `(||q|| + ||x||)^2 <=
//! 2^102`). Other rows get `r = h = NaN` (always computed exactly); other queries go to the
//! plain batch scan. With `P = ||q||·||x|| >= 2^-100`, every absolute error from underflow
//! (at most `2^-150` per rounded product, so `m·2^-150` per sum of `m` terms; additions whose
//! result is subnormal are exact) is at most `m·2^-50·P`, which is folded into the relative
//! slack `ETA` below. Tame vectors give the exact kernels finite, non-NaN distances (a tame
//! row's and query's `f32` norms are positive: see the cosine bound), so `max_distance` may
//! prune too.
//!
//! # Error facts used (u = 2^-24, gamma(n) = n·u / (1 - n·u), m = dim)
//!
//! 1. Any `f32` sum of `m` products, in any order, fused or not, is within
//!    `gamma(m)·sum|q_i x_i| + m·2^-150 <= gamma(m)·P + m·2^-150` of `<q, x>` (Higham,
//!    Accuracy and Stability of Numerical Algorithms, 3.1). This covers the GEMM's `g`.
//! 2. The distance kernels (16 lanes, then a left-to-right reduce, then the tail) put each
//!    term through at most `m + 16` additions, so their dot product `D` is within
//!    `gamma(m + 19)·P + m·2^-150` of `<q, x>`, and their squared l2 distance `S` (terms
//!    `fl(fl(q_i - x_i)^2) >= (q_i - x_i)^2·(1 - 3u) - 2^-150`, all nonnegative) satisfies
//!    `S >= (1 - gamma(m + 19))·||q - x||^2 - m·2^-150`. The same holds for the stored `f32`
//!    squared norms: `|nf - ||x||^2| <= gamma(m + 19)·||x||^2 + m·2^-150`.
//! 3. With `ETA = 1.01·gamma(m + 19) + m·2^-40`, all of the above become relative:
//!    `|g - <q,x>| <= ETA·P`, `|D - <q,x>| <= ETA·P`, `S >= C1·(||q||^2 + ||x||^2 - 2<q,x>) -
//!    ETA·P` and `sqrt(nf) in ||x||·[1 - ETA, 1 + ETA]`, where `C1 = 1 - ETA`.
//! 4. The panel's `v` from `g`, `h`, `coef`, `r` (two or three `f32` roundings on operands of
//!    size at most `M = |h| + |g| + |coef·r|`, plus at most `2^-150` from underflow) is within
//!    `2.01·u·M + 2^-150` of `coef·r + h - g`. Each metric below reserves more than that in
//!    `h` and `coef`. And `v > theta` for two `f32`s means `v >= theta + 2^-149`, which pays
//!    for the `2^-150`.
//! 5. `f64` arithmetic on the bound's own terms is done with relative margins of `1e-9` or
//!    more, far above its `2^-53` rounding, and every `f64 -> f32` conversion rounds in the
//!    safe direction ([`f32_up`], [`f32_down`]).
//!
//! Each metric's derivation is at its arm of [`QueryBound::test`].

use crate::record::Metric;

/// Half the `f32` unit roundoff's step: `u = 2^-24`.
const U: f64 = f32::EPSILON as f64 / 2.0;

/// Squared norms (summed in `f64`) of the vectors the proof covers: `[2^-100, 2^100]`.
const TAME_MIN: f64 = 1.0 / (1u128 << 100) as f64;
const TAME_MAX: f64 = (1u128 << 100) as f64;

/// Relative margin covering the `f64` rounding of a norm summed over up to millions of terms.
const F64_MARGIN: f64 = 1e-9;

/// `gamma(n) = n·u / (1 - n·u)`, the classic bound on relative error after `n` roundings.
fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U;
    nu / (1.0 - nu)
}

/// The smallest `f32` not below `x` (`+inf` past the largest `f32`).
pub(super) fn f32_up(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x { f.next_up() } else { f }
}

/// The largest `f32` not above `x`.
pub(super) fn f32_down(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) > x { f.next_down() } else { f }
}

/// The squared norm of `v` summed in `f64` (each square is exact in `f64`).
fn norm_squared_f64(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// Whether a squared norm is in the range the proof covers (false for NaN).
fn tame(norm_squared: f64) -> bool {
    (TAME_MIN..=TAME_MAX).contains(&norm_squared)
}

/// The relative slack `ETA` of fact 3 for dimension `dim`, or `None` when the dimension is so
/// large that the proof's first-order reasoning would not hold (never for the contract's
/// dimensions: `ETA` is about `1e-5` at 128 and `3e-4` at 4096).
pub(super) fn slack(dim: usize) -> Option<f64> {
    let eta = 1.01 * gamma(dim + 19) + dim as f64 / (1u64 << 40) as f64;
    (eta < 1e-3).then_some(eta)
}

/// A row's side of the test: `r >= ||x||` and, for l2, `h <= ||x||^2 / 2` with room for the
/// panel's rounding; both NaN for a row the proof does not cover, so it is never skipped.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowBound {
    pub r: f32,
    pub h: f32,
}

impl RowBound {
    /// The bound of a row the proof does not cover: never skipped.
    pub(super) const NONE: RowBound = RowBound { r: f32::NAN, h: f32::NAN };

    /// The bound of `row` for `metric`.
    pub(super) fn new(metric: Metric, row: &[f32]) -> RowBound {
        let squared = norm_squared_f64(row);
        if !tame(squared) {
            return RowBound::NONE;
        }
        // `r` is at most `||x||·(1 + 2^-22)`: the cosine bound relies on that.
        let r = f32_up(squared.sqrt() * (1.0 + F64_MARGIN));
        let h = match metric {
            // Fact 4: `4u·||x||^2/2` of room for the panel's rounding on `h`.
            Metric::L2 => f32_down(squared * (1.0 - F64_MARGIN) / 2.0 * (1.0 - 4.0 * U)),
            Metric::Cosine | Metric::Dot => 0.0,
        };
        RowBound { r, h }
    }
}

/// A query's side of the test, from its norms; [`QueryBound::test`] turns a threshold into the
/// panel's `coef` and `theta`.
#[derive(Clone, Copy, Debug)]
pub(super) struct QueryBound {
    metric: Metric,
    eta: f64,
    /// `>= ||q||`.
    norm_up: f64,
    /// `<= ||q||^2 / 2`.
    half_squared_low: f64,
    /// `sqrt` of the query's `f32` squared norm, the one the cosine distance divides by.
    kernel_norm: f64,
}

/// A test that skips nothing.
pub(super) const SKIP_NOTHING: (f32, f32) = (0.0, f32::INFINITY);

impl QueryBound {
    /// The bound of `query` (whose `f32` squared norm from the distance kernel is
    /// `kernel_norm_squared`), or `None` when the proof does not cover it.
    pub(super) fn new(metric: Metric, query: &[f32], kernel_norm_squared: f32) -> Option<QueryBound> {
        let eta = slack(query.len())?;
        let squared = norm_squared_f64(query);
        tame(squared).then(|| QueryBound {
            metric,
            eta,
            norm_up: squared.sqrt() * (1.0 + F64_MARGIN),
            half_squared_low: squared * (1.0 - F64_MARGIN) / 2.0,
            kernel_norm: f64::from(kernel_norm_squared).sqrt(),
        })
    }

    /// `(coef, theta)` such that `v > theta` proves `d > w` for every tame row (see the module
    /// docs). `w` NaN or `+inf` skips nothing.
    pub(super) fn test(&self, w: f32) -> (f32, f32) {
        if w.is_nan() || w == f32::INFINITY {
            return SKIP_NOTHING;
        }
        let eta = self.eta;
        let norm_up = self.norm_up;
        match self.metric {
            Metric::L2 => {
                // d = fl(sqrt(S)); d > w whenever S > t = next_up(w)^2 (sqrt rounds
                // monotonically and next_up(w) is an f32). t is exact in f64. A negative w
                // is treated as 0, which skips fewer rows, never more.
                let next = f64::from(w.max(0.0).next_up());
                let t = next * next;
                // Fact 3: S >= C1·(||q||^2 + ||x||^2 - 2g - 2·ETA·P) (the g and S errors
                // together, C1 >= 1/2), so S > t when
                // ||x||^2/2 - g - ETA·P > t/(2·C1) - ||q||^2/2.
                // The panel computes h - g - e·r with h <= ||x||^2/2·(1 - 4u),
                // e·r >= (ETA + 4u)·||q||·||x||: the 4u terms exceed fact 4's 2.01u·M.
                let c1 = 1.0 - eta;
                let a = t / (2.0 * c1);
                let theta = a - self.half_squared_low + (a + self.half_squared_low) * F64_MARGIN;
                let e = f32_up((eta + 4.0 * U) * norm_up * (1.0 + F64_MARGIN));
                (-e, f32_up(theta))
            }
            Metric::Cosine => {
                // d = f32(1 - clamp(s, -1, 1)) with s = fl64(D / sqrt(nq·nx)) (nq, nx the
                // f32 squared norms). d > w when 1 - clamp(s) >= next_up(w) =: n (the f64 ->
                // f32 conversion and f64 rounding are monotone and n is representable), i.e.
                // when s <= 1 - n (given 1 - n >= -1; if not, d <= 2 < n... skip nothing).
                let next = f64::from(w.next_up());
                if next > 2.0 {
                    return SKIP_NOTHING;
                }
                // |s - rho| <= 2^-50 for rho = D / (sqrt(nq)·sqrt(nx)) (|rho| <= 1.01, two
                // f64 roundings), and the subtraction below is off by at most 2^-52: so
                // rho <= c gives s <= 1 - n.
                let c = (1.0 - next) - 2f64.powi(-49);
                // rho <= c  <=>  D <= c·sqrt(nq)·sqrt(nx). Fact 3: sqrt(nx) in
                // ||x||·[1 - ETA, 1 + ETA], and ||x|| in r·[1 - 2^-22, 1] (RowBound), so
                // c·sqrt(nq)·sqrt(nx) >= l·r with l as below (sqrt(nq) itself is an f64
                // sqrt, off by 1e-16, inside the margin).
                let l = if c >= 0.0 {
                    c * self.kernel_norm * (1.0 - F64_MARGIN) * (1.0 - eta) * (1.0 - 2f64.powi(-22))
                } else {
                    c * self.kernel_norm * (1.0 + F64_MARGIN) * (1.0 + eta)
                };
                // D <= g + 2·ETA·P (facts 1-3), so D <= l·r when (l - 2·ETA·||q||)·r - g >= 0.
                // The panel computes beta·r - g with beta a further 10u·||q|| lower: fact 4
                // costs at most 2.01u·(|beta|·r + |g|) <= 2.01u·3.1·P, and v > 0 pays 2^-150.
                let beta = l - (2.0 * eta + 10.0 * U) * norm_up * (1.0 + F64_MARGIN);
                (f32_down(beta), 0.0)
            }
            Metric::Dot => {
                // d = -D: d > w when -D >= n := next_up(w), i.e. D <= -n. D <= g + 2·ETA·P,
                // so -g - 2·ETA·||q||·r >= n suffices; the panel computes -g - e·r with e a
                // further 10u·||q|| larger (fact 4 costs at most 2.01u·1.1·P).
                let next = w.next_up();
                if next == f32::INFINITY {
                    return SKIP_NOTHING;
                }
                let e = f32_up((2.0 * eta + 10.0 * U) * norm_up * (1.0 + F64_MARGIN));
                (-e, next)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_the_safe_way() {
        for x in [1.0 / 3.0, -1.0 / 3.0, 1e-300, 1e300, 0.1, 16_777_217.0] {
            assert!(f64::from(f32_up(x)) >= x, "{x}");
            assert!(f64::from(f32_down(x)) <= x, "{x}");
        }
        assert_eq!(f32_up(0.5), 0.5);
        assert_eq!(f32_up(1e300), f32::INFINITY);
    }

    #[test]
    fn only_finite_nonzero_moderate_vectors_are_covered() {
        for bad in [vec![0.0; 4], vec![1e-30; 4], vec![1e30, 0.0], vec![f32::NAN, 1.0], vec![f32::INFINITY]] {
            let row = RowBound::new(Metric::L2, &bad);
            assert!(row.r.is_nan() && row.h.is_nan(), "{bad:?}");
            assert!(QueryBound::new(Metric::L2, &bad, 1.0).is_none(), "{bad:?}");
        }
        assert!(RowBound::new(Metric::L2, &[1e-20, 3.0]).r >= 3.0);
    }
}
