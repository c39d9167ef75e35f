//! The GEMM micro-kernel of the pruned batch search: inner products of a group of [`QUERIES`]
//! packed queries with a panel of [`ROWS`] stored rows, kept in registers, and the pruning test
//! of [`super::bounds`] applied to each, giving per row a mask of the queries that cannot rule
//! it out.
//!
//! The rows are read where they are stored (one after another, each contiguous), so the scan
//! copies nothing per row; only the queries are packed, once per batch. The inner products are
//! only for choosing rows: any summation order is fine (the bounds hold for all), so the x86-64
//! copy uses fused multiply-adds.

/// Queries in one group (two 8-lane registers).
pub(super) const QUERIES: usize = 16;
/// Rows in one panel.
pub(super) const ROWS: usize = 6;

/// A group of queries, packed: `values[d * QUERIES + i]` is query `i`'s component `d`; `coef`
/// and `theta` are each query's test (see [`super::bounds::QueryBound::test`]), bit `i` of
/// `valid` says query `i` exists.
pub(super) struct Group<'a> {
    pub values: &'a [f32],
    pub coef: &'a [f32; QUERIES],
    pub theta: &'a [f32; QUERIES],
    pub valid: u16,
}

/// One panel of rows, each `dim` long, with their [`super::bounds::RowBound`]s `r` and `h`.
pub(super) struct Panel<'a> {
    pub rows: [&'a [f32]; ROWS],
    pub r: &'a [f32; ROWS],
    pub h: &'a [f32; ROWS],
}

/// A micro-kernel: for each row of the panel, the mask of the group's valid queries that do
/// not rule it out.
pub(super) type Kernel = fn(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; ROWS];

/// The fastest kernel this CPU runs.
pub(super) fn best() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return survivors_x86;
    }
    survivors_portable
}

/// The kernel in plain Rust, for any CPU.
pub(super) fn survivors_portable(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; ROWS] {
    let queries = &group.values[..dim * QUERIES];
    let rows = panel.rows.map(|row| &row[..dim]);
    let mut g = [[0.0f32; QUERIES]; ROWS];
    for (d, q) in queries.chunks_exact(QUERIES).enumerate() {
        for (products, row) in g.iter_mut().zip(&rows) {
            let x = row[d];
            for (product, q) in products.iter_mut().zip(q) {
                *product += q * x;
            }
        }
    }
    let mut out = [0u16; ROWS];
    for (j, (products, out)) in g.iter().zip(&mut out).enumerate() {
        let mut skip = 0u16;
        for (i, product) in products.iter().enumerate() {
            let v = group.coef[i] * panel.r[j] + (panel.h[j] - product);
            skip |= u16::from(v > group.theta[i]) << i;
        }
        *out = !skip & group.valid;
    }
    out
}

/// The kernel with AVX2 and FMA (handed out by [`best`] only when the CPU has both).
#[cfg(target_arch = "x86_64")]
fn survivors_x86(dim: usize, group: &Group<'_>, panel: &Panel<'_>) -> [u16; ROWS] {
    let rows = panel.rows.map(|row| &row[..dim]);
    let queries = &group.values[..dim * QUERIES];
    // SAFETY: `best` hands this kernel out only when the CPU has AVX2 and FMA; the slices
    // were just cut to `dim` rows' and `dim * QUERIES` queries' floats.
    unsafe { survivors_avx2_fma(dim, queries, rows, group, panel) }
}

/// 16 × 6 inner products in twelve 8-lane accumulators, one fused multiply-add per row and
/// half-group per component, then the test.
///
/// # Safety
/// The CPU must support AVX2 and FMA, `queries` must hold `dim * QUERIES` floats and each of
/// `rows` `dim`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn survivors_avx2_fma(
    dim: usize,
    queries: &[f32],
    rows: [&[f32]; ROWS],
    group: &Group<'_>,
    panel: &Panel<'_>,
) -> [u16; ROWS] {
    use std::arch::x86_64::*;
    let q = queries.as_ptr();
    let x = rows.map(<[f32]>::as_ptr);
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for d in 0..dim {
        // SAFETY: d < dim; the caller guarantees dim * QUERIES query floats and dim per row.
        let (q0, q1) = unsafe { (_mm256_loadu_ps(q.add(d * QUERIES)), _mm256_loadu_ps(q.add(d * QUERIES + 8))) };
        for (acc, x) in acc.iter_mut().zip(x) {
            // SAFETY: as above.
            let xj = unsafe { _mm256_broadcast_ss(&*x.add(d)) };
            acc[0] = _mm256_fmadd_ps(q0, xj, acc[0]);
            acc[1] = _mm256_fmadd_ps(q1, xj, acc[1]);
        }
    }
    // SAFETY: coef and theta are arrays of QUERIES = 16 floats.
    let (coef0, coef1, theta0, theta1) = unsafe {
        (
            _mm256_loadu_ps(group.coef.as_ptr()),
            _mm256_loadu_ps(group.coef.as_ptr().add(8)),
            _mm256_loadu_ps(group.theta.as_ptr()),
            _mm256_loadu_ps(group.theta.as_ptr().add(8)),
        )
    };
    let mut out = [0u16; ROWS];
    for (j, (acc, out)) in acc.iter().zip(&mut out).enumerate() {
        let r = _mm256_set1_ps(panel.r[j]);
        let h = _mm256_set1_ps(panel.h[j]);
        let v0 = _mm256_fmadd_ps(coef0, r, _mm256_sub_ps(h, acc[0]));
        let v1 = _mm256_fmadd_ps(coef1, r, _mm256_sub_ps(h, acc[1]));
        // Ordered compares: a NaN `v` (a row the bounds do not cover) is never skipped.
        let skip0 = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v0, theta0)) as u16;
        let skip1 = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v1, theta1)) as u16;
        *out = !(skip0 | skip1 << 8) & group.valid;
    }
    out
}
