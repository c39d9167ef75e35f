//! The GEMM micro-kernel of the pruned batch search: inner products of a group of
//! [`QUERIES`] packed queries with a panel of [`ROWS`] packed rows, kept in registers, and the
//! pruning test of [`super::bounds`] applied to each, giving per query a mask of the rows that
//! cannot be ruled out.
//!
//! Its inner products are only for choosing rows: any summation order is fine (the bounds hold
//! for all), so the x86-64 copy uses fused multiply-adds.

/// Queries in one group.
pub(super) const QUERIES: usize = 6;
/// Rows in one panel (two AVX registers).
pub(super) const ROWS: usize = 16;

/// One panel's rows, packed: `values[d * ROWS + j]` is row `j`'s component `d`; `r` and `h` are
/// the rows' [`super::bounds::RowBound`]s and bit `j` of `valid` says row `j` exists.
pub(super) struct Panel<'a> {
    pub values: &'a [f32],
    pub r: &'a [f32; ROWS],
    pub h: &'a [f32; ROWS],
    pub valid: u16,
}

/// A group of queries, packed: `values[d * QUERIES + i]` is query `i`'s component `d`; `coef`
/// and `theta` are each query's test (see [`super::bounds::QueryBound::test`]).
pub(super) struct Group<'a> {
    pub values: &'a [f32],
    pub coef: &'a [f32; QUERIES],
    pub theta: &'a [f32; QUERIES],
}

/// A micro-kernel: for each query of the group, the mask of the panel's valid rows it does not
/// rule out.
pub(super) type Kernel = fn(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; QUERIES];

/// The fastest kernel this CPU runs.
pub(super) fn best() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return survivors_x86;
    }
    survivors_portable
}

/// The kernel in plain Rust, for any CPU.
pub(super) fn survivors_portable(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; QUERIES] {
    let queries = &group.values[..dim * QUERIES];
    let rows = &panel.values[..dim * ROWS];
    let mut g = [[0.0f32; ROWS]; QUERIES];
    for (q, x) in queries.chunks_exact(QUERIES).zip(rows.chunks_exact(ROWS)) {
        for i in 0..QUERIES {
            for j in 0..ROWS {
                g[i][j] += q[i] * x[j];
            }
        }
    }
    let mut out = [0u16; QUERIES];
    for (i, (products, out)) in g.iter().zip(&mut out).enumerate() {
        let mut skip = 0u16;
        for (j, product) in products.iter().enumerate() {
            let v = group.coef[i] * panel.r[j] + (panel.h[j] - product);
            skip |= u16::from(v > group.theta[i]) << j;
        }
        *out = !skip & panel.valid;
    }
    out
}

/// The kernel with AVX2 and FMA (checked by [`best`] before it hands this one out).
#[cfg(target_arch = "x86_64")]
fn survivors_x86(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; QUERIES] {
    assert!(group.values.len() >= dim * QUERIES && panel.values.len() >= dim * ROWS);
    // SAFETY: `best` hands this kernel out only when the CPU has AVX2 and FMA; the lengths
    // are checked just above.
    unsafe { survivors_avx2_fma(dim, group, panel) }
}

/// 6 × 16 inner products in twelve 8-lane accumulators, one fused multiply-add per query and
/// half-panel per component, then the test.
///
/// # Safety
/// The CPU must support AVX2 and FMA, `group.values` must hold `dim * QUERIES` floats and
/// `panel.values` `dim * ROWS`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn survivors_avx2_fma(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; QUERIES] {
    use std::arch::x86_64::*;
    let q = group.values.as_ptr();
    let x = panel.values.as_ptr();
    let mut acc = [[_mm256_setzero_ps(); 2]; QUERIES];
    for d in 0..dim {
        // SAFETY: d < dim, and the caller guarantees dim * ROWS and dim * QUERIES floats.
        let (x0, x1) = unsafe { (_mm256_loadu_ps(x.add(d * ROWS)), _mm256_loadu_ps(x.add(d * ROWS + 8))) };
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as above.
            let qi = unsafe { _mm256_broadcast_ss(&*q.add(d * QUERIES + i)) };
            acc[0] = _mm256_fmadd_ps(qi, x0, acc[0]);
            acc[1] = _mm256_fmadd_ps(qi, x1, acc[1]);
        }
    }
    // SAFETY: r and h are arrays of ROWS = 16 floats.
    let (r0, r1, h0, h1) = unsafe {
        (
            _mm256_loadu_ps(panel.r.as_ptr()),
            _mm256_loadu_ps(panel.r.as_ptr().add(8)),
            _mm256_loadu_ps(panel.h.as_ptr()),
            _mm256_loadu_ps(panel.h.as_ptr().add(8)),
        )
    };
    let mut out = [0u16; QUERIES];
    for (i, acc) in acc.iter().enumerate() {
        let coef = _mm256_set1_ps(group.coef[i]);
        let theta = _mm256_set1_ps(group.theta[i]);
        let v0 = _mm256_fmadd_ps(coef, r0, _mm256_sub_ps(h0, acc[0]));
        let v1 = _mm256_fmadd_ps(coef, r1, _mm256_sub_ps(h1, acc[1]));
        // Ordered compares: a NaN `v` (a row the bounds do not cover) is never skipped.
        let skip0 = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v0, theta)) as u16;
        let skip1 = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v1, theta)) as u16;
        out[i] = !(skip0 | skip1 << 8) & panel.valid;
    }
    out
}
