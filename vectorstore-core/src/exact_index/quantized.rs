//! The 8-bit copy of an [`ExactIndex`](super::ExactIndex)'s vectors that single searches read
//! first, and the proof that skipping a row on its bound never changes an answer.
//!
//! # The copy
//!
//! Component `i` of a row `x` is stored as a code `c_i` in `0..=255`, standing for the real
//! number `x̂_i = offset_i + scale · c_i` (one `scale` per index, one `offset` per dimension,
//! both `f64`, fixed when the copy is built). Each row also keeps `e_x ≥ ‖x − x̂‖`, computed in
//! `f64` with slack for every rounding and then rounded up to `f32`. A value outside the grid's
//! range (written after the copy was built) is clamped to 0 or 255: its error is larger, and
//! `e_x` says so, so the bound below stays valid; the copy is rebuilt when many rows are loose.
//!
//! # The bound (real numbers)
//!
//! The query is put on the same grid: codes `d_i` (clamped to a wider range, see
//! [`Quantized::prepare`]) and `e_q ≥ ‖q − q̂‖`. The offsets cancel in `q̂ − x̂ = scale · (d − c)`,
//! so with the integer `S = Σ (d_i − c_i)²` (computed exactly), the triangle inequality gives
//!
//! `‖q − x‖ ≥ L := scale · √S − e_q − e_x`.
//!
//! `L` is evaluated in `f64` with a relative slack of 10⁻¹² against its few roundings, so the
//! computed `L` is never above the real one.
//!
//! # From the real distance to the `f32` one the scan reports
//!
//! A row may be skipped only when the distance the full scan would compute for it, in `f32`, is
//! *strictly* greater than the current k-th distance `D` (equal rows still compete by id), or
//! than `max_distance`. With `u = 2⁻²⁴`, `n = dim + 4` and `γ = 2nu` (more than the classical
//! `γ_n = nu / (1 − nu)`; `dim ≤ 4096` keeps `nu` tiny):
//!
//! - **l2**: the kernel sums `fl(fl(q_i − x_i)²)` over 16 lanes and then the lanes, left to right:
//!   every term passes through at most `dim` additions. A subtraction or addition whose result
//!   is subnormal is exact, otherwise it has relative error `≤ u`; a product may lose up to
//!   `2⁻¹⁵⁰` absolutely when it underflows. Hence the computed square
//!   `s ≥ ‖q − x‖² (1 − γ) − dim · 2⁻¹⁵⁰` (an overflow to `+∞` only makes it larger). The
//!   reported distance is `fl(√s)`, and rounding is monotone, so it is at least `D⁺` (the next
//!   `f32` above `D`) as soon as `√s ≥ D⁺`, i.e. as soon as
//!   `L ≥ R := √(((D⁺)² + dim · 2⁻¹⁵⁰) / (1 − γ))`, both evaluated with slack.
//! - **dot and cosine**: by the polarisation identity `⟨q, x⟩ = (‖q‖² + ‖x‖² − ‖q − x‖²) / 2 ≤
//!   (N_q² + N_x² − L²) / 2` for `L ≥ 0`, with `N²` real upper bounds of the squared norms from
//!   the stored `f32` norms (`N² = (n_f32 + dim · 2⁻¹⁵⁰) / (1 − γ)`). The `f32` kernel's dot
//!   differs from the real one by at most `γ · N_q · N_x + dim · 2⁻¹⁴⁹` (Cauchy–Schwarz bounds
//!   `Σ |q_i x_i|`), provided no partial sum can overflow, which holds when
//!   `2 · N_q · N_x < f32::MAX` (otherwise the row is never skipped). That gives `U ≥` the
//!   computed dot. dot reports `−dot`, skipped when `−U > D`. cosine reports
//!   `(1 − clamp(dot / √(n_q · n_x))) as f32` with the stored `f32` norms: every step is
//!   monotone in `dot`, so [`crate::distance::cosine_from_parts`] evaluated at `U` is a lower
//!   bound of the reported distance, skipped when it is `> D`.
//!
//! Non-finite values (never stored: vectors are validated), a zero or non-finite scale, norms or
//! thresholds that are not finite: the row or the search is not pruned.

use crate::distance;
use crate::record::Metric;

/// The largest code.
const TOP: f64 = 255.0;

/// Relative slack on each `f64` evaluation of a bound (far above `dim · 2⁻⁵³`).
const SLACK: f64 = 1e-9;

/// The smallest positive subnormal `f32`'s half: what an underflowing product can lose.
const UNDERFLOW: f64 = 1.0 / (1u128 << 100) as f64 / (1u64 << 50) as f64;

/// The 8-bit copy of every row, kept in the rows' slot order.
#[derive(Debug, Clone)]
pub(super) struct Quantized {
    dim: usize,
    scale: f64,
    offsets: Vec<f64>,
    /// Row `slot`'s codes are `codes[slot * dim..(slot + 1) * dim]`.
    codes: Vec<u8>,
    /// `errors[slot] ≥ ‖x − x̂‖`, rounded up.
    errors: Vec<f32>,
    /// `‖x − x̂‖` can be at most this for a row inside the grid (half a step per component, or
    /// the largest error when the copy was built).
    nominal_error: f64,
    /// Rows whose error exceeds `nominal_error` (clamped values).
    loose: usize,
    /// Largest |query code − row code| for which the integer sums cannot overflow.
    max_code_gap: i32,
    /// At least every row's kernel squared norm (it never decreases until a rebuild): dot
    /// bounds every row at once with it.
    max_norm: f32,
}

/// The smallest and largest value of each component over a set of rows: the span of the
/// grid a copy of them is put on (see [`CodesOnlyIndex::new`](super::CodesOnlyIndex::new)).
#[derive(Debug, Clone)]
pub struct GridRange {
    low: Vec<f64>,
    high: Vec<f64>,
}

impl GridRange {
    /// An empty range of `dim` components (no grid can be made from it until a row widens it).
    pub fn new(dim: usize) -> GridRange {
        GridRange { low: vec![f64::INFINITY; dim], high: vec![f64::NEG_INFINITY; dim] }
    }

    /// Widens the range to include `row` (of the range's dimension).
    pub fn widen(&mut self, row: &[f32]) {
        for ((low, high), &value) in self.low.iter_mut().zip(self.high.iter_mut()).zip(row) {
            let value = f64::from(value);
            *low = low.min(value);
            *high = high.max(value);
        }
    }
}

/// A query on the copy's grid.
pub(super) struct QueryCodes {
    codes: Vec<i16>,
    /// `≥ ‖q − q̂‖`.
    error: f64,
}

/// Rounds a non-negative `f64` up to an `f32`.
fn f32_up(value: f64) -> f32 {
    let rounded = value as f32;
    if f64::from(rounded) < value { rounded.next_up() } else { rounded }
}

impl Quantized {
    /// A copy of `rows` (row-major, `dim` each), on a grid spanning their values; `None` when
    /// no grid can be made (no rows, non-finite values, or a dimension too large for the
    /// integer sums).
    pub(super) fn build(dim: usize, rows: &[f32]) -> Option<Quantized> {
        if dim == 0 || rows.is_empty() {
            return None;
        }
        let mut range = GridRange::new(dim);
        for row in rows.chunks_exact(dim) {
            range.widen(row);
        }
        let mut copy = Quantized::on_grid(&range)?;
        copy.codes.reserve_exact(rows.len());
        copy.errors.reserve_exact(rows.len() / dim);
        for row in rows.chunks_exact(dim) {
            copy.push(row);
        }
        copy.settle();
        Some(copy)
    }

    /// An empty copy on the grid spanning `range`; `None` when no grid can be made (no rows,
    /// non-finite values, or a dimension too large for the integer sums).
    pub(super) fn on_grid(range: &GridRange) -> Option<Quantized> {
        let dim = range.low.len();
        if dim == 0 || range.low.iter().zip(&range.high).any(|(l, h)| l > h) {
            return None;
        }
        // |d − c|² summed over dim components must fit u32 (see `prepare`).
        let max_code_gap = ((f64::from(u32::MAX) / dim as f64).sqrt().floor() as i32).min(i32::from(i16::MAX) - 255);
        if max_code_gap < 255 {
            return None;
        }
        let widest = range.low.iter().zip(&range.high).map(|(l, h)| h - l).fold(0.0f64, f64::max);
        if !widest.is_finite() {
            return None;
        }
        // A kind of identical rows: any step works, every code is 0 and exact.
        let scale = if widest > 0.0 { widest / TOP } else { 1.0 };
        let nominal_error = (scale / 2.0) * (dim as f64).sqrt() * (1.0 + SLACK);
        Some(Quantized {
            dim,
            scale,
            offsets: range.low.clone(),
            codes: Vec::new(),
            errors: Vec::new(),
            nominal_error,
            loose: 0,
            max_code_gap,
            max_norm: 0.0,
        })
    }

    /// Counts every row pushed so far as inside the grid. Far from the origin (|x| ≫ scale),
    /// the slack for f64 rounding can exceed half a step: every row built now counts as
    /// inside the grid, so a rebuild always starts with no loose row and the next one waits
    /// for many new ones (no rebuild per write).
    pub(super) fn settle(&mut self) {
        let widest_error = self.errors.iter().copied().fold(0.0f32, f32::max);
        self.nominal_error = self.nominal_error.max(f64::from(widest_error));
        self.loose = 0;
    }

    /// The dimension of the rows.
    pub(super) fn dim(&self) -> usize {
        self.dim
    }

    /// The grid's step (`scale` in the module doc).
    pub(super) fn scale(&self) -> f64 {
        self.scale
    }

    /// Codes of `row` written into `codes`; returns an upper bound of `‖row − roŵ‖` (infinite
    /// for a non-finite row, which is then never skipped).
    fn encode(&self, row: &[f32], codes: &mut [u8]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if distance::wide_simd() {
            // SAFETY: the CPU supports AVX2 (checked by wide_simd).
            return unsafe { encode_avx2(&self.offsets, self.scale, row, codes) };
        }
        encode_inline(&self.offsets, self.scale, row, codes)
    }

    /// Keeps `max_norm` at least `row`'s norm as the index computes it (NaN stays: never
    /// pruned on it).
    fn widen_norm(&mut self, row: &[f32]) {
        let norm = distance::norm_squared(row);
        if norm.is_nan() {
            self.max_norm = f32::INFINITY;
        } else if norm > self.max_norm {
            self.max_norm = norm;
        }
    }

    fn note(&mut self, error: f32, sign: isize) {
        if f64::from(error) > self.nominal_error {
            self.loose = self.loose.wrapping_add_signed(sign);
        }
    }

    /// Appends a row.
    pub(super) fn push(&mut self, row: &[f32]) {
        let start = self.codes.len();
        self.codes.resize(start + self.dim, 0);
        let mut codes = std::mem::take(&mut self.codes);
        let error = self.encode(row, &mut codes[start..]);
        self.codes = codes;
        self.errors.push(error);
        self.note(error, 1);
        self.widen_norm(row);
    }

    /// Replaces row `slot`.
    pub(super) fn set(&mut self, slot: usize, row: &[f32]) {
        self.note(self.errors[slot], -1);
        let mut codes = std::mem::take(&mut self.codes);
        let error = self.encode(row, &mut codes[slot * self.dim..(slot + 1) * self.dim]);
        self.codes = codes;
        self.errors[slot] = error;
        self.note(error, 1);
        self.widen_norm(row);
    }

    /// Removes row `slot` by moving the last row into it, as the index does with its rows.
    pub(super) fn swap_remove(&mut self, slot: usize) {
        let dim = self.dim;
        let last = self.errors.len() - 1;
        self.note(self.errors[slot], -1);
        if slot != last {
            self.codes.copy_within(last * dim..(last + 1) * dim, slot * dim);
        }
        self.errors.swap_remove(slot);
        self.codes.truncate(last * dim);
    }

    /// Rows held.
    pub(super) fn len(&self) -> usize {
        self.errors.len()
    }

    /// True when so many rows lie outside the grid that a new grid would prune better.
    pub(super) fn is_loose(&self) -> bool {
        self.loose > 1024 && self.loose > self.errors.len() / 8
    }

    /// Heap bytes of the copy.
    pub(super) fn memory_bytes(&self) -> usize {
        self.codes.capacity() + self.errors.capacity() * 4 + self.offsets.capacity() * 8
    }

    /// Extra bytes per row the copy takes.
    pub(super) fn bytes_per_row(dim: usize) -> usize {
        dim + 4
    }

    /// Makes room for `rows` more rows.
    pub(super) fn reserve(&mut self, rows: usize) {
        self.codes.reserve_exact(rows * self.dim);
        self.errors.reserve_exact(rows);
    }

    /// `query` on the grid, or `None` when it is not finite. Its codes may leave `0..=255` by
    /// up to `max_code_gap − 255` on either side, so that `|d − c| ≤ max_code_gap` and
    /// `S ≤ dim · max_code_gap² ≤ u32::MAX`.
    pub(super) fn prepare(&self, query: &[f32]) -> Option<QueryCodes> {
        let (low, high) = (f64::from(255 - self.max_code_gap), f64::from(self.max_code_gap));
        let mut codes = Vec::with_capacity(self.dim);
        let mut sum = 0.0f64;
        for (&value, &offset) in query.iter().zip(&self.offsets) {
            let value = f64::from(value);
            let d = ((value - offset) / self.scale).round().clamp(low, high);
            codes.push(d as i16);
            let reconstructed = offset + self.scale * d;
            let gap = rounded_gap(value, reconstructed, self.scale * d);
            sum += gap * gap;
        }
        let error = sum.sqrt() * (1.0 + SLACK);
        error.is_finite().then_some(QueryCodes { codes, error })
    }

    /// `S` of each row of `rows` (slots) against `query`, into `out` (one per row).
    pub(super) fn code_distances(&self, query: &QueryCodes, rows: std::ops::Range<usize>, out: &mut [u32]) {
        let codes = &self.codes[rows.start * self.dim..rows.end * self.dim];
        #[cfg(target_arch = "x86_64")]
        if distance::wide_simd() {
            // SAFETY: the CPU supports AVX2 (checked by wide_simd).
            unsafe { code_distances_avx2(&query.codes, codes, self.dim, out) };
            return;
        }
        code_distances_portable(&query.codes, codes, self.dim, out);
    }

    /// The error bound a row inside the grid has at most (`nominal_error`).
    pub(super) fn nominal_error(&self) -> f64 {
        self.nominal_error
    }

    /// The error bound of row `slot`.
    #[inline]
    pub(super) fn error(&self, slot: usize) -> f32 {
        self.errors[slot]
    }
}

/// [`Quantized::encode`] compiled for AVX2 (rounding in one instruction instead of a call).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn encode_avx2(offsets: &[f64], scale: f64, row: &[f32], codes: &mut [u8]) -> f32 {
    encode_inline(offsets, scale, row, codes)
}

/// Any code is valid (the error is measured for the code chosen), so the code is computed
/// with a multiplication; only the error needs care. Four partial sums, added at the end: the
/// order of an `f64` sum of `dim` terms changes it by far less than `SLACK`.
#[inline(always)]
fn encode_inline(offsets: &[f64], scale: f64, row: &[f32], codes: &mut [u8]) -> f32 {
    let inverse = 1.0 / scale;
    let mut sums = [0.0f64; 4];
    for (i, ((&value, &offset), code)) in row.iter().zip(offsets).zip(codes.iter_mut()).enumerate() {
        let value = f64::from(value);
        let c = ((value - offset) * inverse).round().clamp(0.0, TOP);
        *code = c as u8;
        let reconstructed = offset + scale * c;
        let gap = rounded_gap(value, reconstructed, scale * c);
        sums[i % 4] += gap * gap;
    }
    let error = ((sums[0] + sums[1]) + (sums[2] + sums[3])).sqrt() * (1.0 + SLACK);
    if error.is_finite() { f32_up(error) } else { f32::INFINITY }
}

/// An upper bound of `|value − x̂|` from `reconstructed = fl(offset + step)`, `step =
/// fl(scale · code)`: each of those two roundings and the subtraction's is at most 2⁻⁵³ of
/// its result (f64 has no subnormal trouble at f32 magnitudes), and none happens for code 0
/// (`offset + 0` is `offset`), so a constant component far from 0 costs no error.
#[inline(always)]
fn rounded_gap(value: f64, reconstructed: f64, step: f64) -> f64 {
    let rounding = if step != 0.0 { f64::EPSILON * (step.abs() + reconstructed.abs()) } else { 0.0 };
    (value - reconstructed).abs() * (1.0 + f64::EPSILON) + rounding
}

/// `S = Σ (d_i − c_i)²` of each row in `codes` against the query codes, portable.
fn code_distances_portable(query: &[i16], codes: &[u8], dim: usize, out: &mut [u32]) {
    for (row, s) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        *s = code_distance(query, row);
    }
}

#[inline(always)]
fn code_distance(query: &[i16], row: &[u8]) -> u32 {
    // No overflow: each term is at most max_code_gap², their sum at most u32::MAX.
    query.iter().zip(row).map(|(&d, &c)| (i32::from(d) - i32::from(c)).unsigned_abs().pow(2)).sum()
}

/// [`code_distances_portable`] with AVX2: 16 components per step, widened to `i16`,
/// subtracted, squared and summed in pairs into `i32` lanes (`vpmaddwd`). The sums are the
/// same integers as the portable code's: integer arithmetic has no rounding.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn code_distances_avx2(query: &[i16], codes: &[u8], dim: usize, out: &mut [u32]) {
    use std::arch::x86_64::*;
    let whole = dim - dim % 16;
    for (row, s) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        while i < whole {
            // SAFETY: i + 16 <= whole <= dim = row.len() = query.len().
            let (c, d) = unsafe {
                (
                    _mm256_cvtepu8_epi16(_mm_loadu_si128(row.as_ptr().add(i).cast())),
                    _mm256_loadu_si256(query.as_ptr().add(i).cast()),
                )
            };
            let gap = _mm256_sub_epi16(d, c);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(gap, gap));
            i += 16;
        }
        // Every lane is a sum of squares below u32::MAX in all: add them as u32.
        let halves = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256::<1>(acc));
        let pairs = _mm_add_epi32(halves, _mm_shuffle_epi32::<0b01_00_11_10>(halves));
        let total = _mm_add_epi32(pairs, _mm_shuffle_epi32::<0b10_11_00_01>(pairs));
        let head = _mm_cvtsi128_si32(total) as u32;
        *s = head.wrapping_add(code_distance(&query[whole..], &row[whole..]));
    }
}

/// Decides, for one query and the current threshold, which rows can be skipped (see the
/// module doc for the proof of each step).
pub(super) struct Pruner {
    metric: Metric,
    dim: f64,
    scale: f64,
    query_error: f64,
    nominal_error: f64,
    /// The query's `f32` squared norm as the kernel computes it, and a real upper bound `N_q²`.
    query_norm: f32,
    query_norm_bound: f64,
    gamma: f64,
    /// Rows whose computed distance is provably `> limit` are skipped; `None`: none are.
    limit: Option<f32>,
    /// l2: rows with `L ≥ l2_min` are skipped.
    l2_min: f64,
    /// l2 and dot: rows with `S ≥ cheap_codes` and an error at most nominal are skipped on
    /// that integer comparison alone.
    cheap_codes: u64,
    /// dot: `N_max²`, a real upper bound of every row's squared norm (from `max_norm`).
    max_norm_bound: f64,
}

impl Pruner {
    /// A pruner for `query` (on `copy`'s grid) whose kernel squared norm is `query_norm`;
    /// skips nothing until [`Pruner::set_limit`] is given a finite limit.
    pub(super) fn new(copy: &Quantized, metric: Metric, query: &QueryCodes, query_norm: f32) -> Pruner {
        let dim = copy.dim as f64;
        // 2 · n · u with u = 2⁻²⁴ = f32::EPSILON / 2: more than γ_n for every n ≤ dim + 4.
        let gamma = (dim + 4.0) * f64::from(f32::EPSILON);
        let query_norm_bound = (f64::from(query_norm) + dim * UNDERFLOW) / (1.0 - gamma) * (1.0 + SLACK);
        let max_norm_bound = (f64::from(copy.max_norm) + dim * UNDERFLOW) / (1.0 - gamma) * (1.0 + SLACK);
        Pruner {
            metric,
            dim,
            scale: copy.scale,
            query_error: query.error,
            nominal_error: copy.nominal_error,
            query_norm,
            query_norm_bound,
            gamma,
            limit: None,
            l2_min: f64::INFINITY,
            cheap_codes: u64::MAX,
            max_norm_bound,
        }
    }

    /// From now on, skip rows whose computed distance is provably above `limit` (`None`, NaN or
    /// `+∞`: skip nothing).
    pub(super) fn set_limit(&mut self, limit: Option<f32>) {
        self.limit = limit.filter(|limit| !limit.is_nan() && *limit != f32::INFINITY);
        self.l2_min = f64::INFINITY;
        self.cheap_codes = u64::MAX;
        let Some(limit) = self.limit else { return };
        let min = match self.metric {
            Metric::L2 => {
                // R = √(((D⁺)² + dim · 2⁻¹⁵⁰) / (1 − γ)), rounded up; D⁺ < 0 means every row
                // qualifies, and 0 is then a large enough target.
                let above = f64::from(limit.next_up()).max(0.0);
                let min = ((above * above + self.dim * UNDERFLOW) / (1.0 - self.gamma)).sqrt() * (1.0 + SLACK);
                self.l2_min = min;
                min
            }
            Metric::Dot => match self.dot_min(limit) {
                Some(min) => min,
                None => return,
            },
            Metric::Cosine => return,
        };
        if !min.is_finite() {
            return;
        }
        // √S ≥ W ⇒ scale · √S − (e_q + nominal) ≥ R, with room for the roundings.
        let w = (min + (self.query_error + self.nominal_error) * (1.0 + SLACK)) / (self.scale * (1.0 - SLACK));
        let codes = (w * w * (1.0 + SLACK)).ceil();
        if codes.is_finite() && codes < 2f64.powi(62) {
            self.cheap_codes = codes as u64;
        }
    }

    /// dot: the `L` from which every row is skipped, whatever its norm: `U` of the module doc
    /// grows with `N_x²` and falls with `L`, so with `N_max²` in place of `N_x²`,
    /// `−U > D ⇐ L² (1/2 − SLACK) > (N_q² + N_max²)(1/2 + SLACK) + γ N_q N_max + dim 2⁻¹⁴⁹ + D`,
    /// evaluated high. `None` when the norms are too large for that bound (see the module doc).
    fn dot_min(&self, limit: f32) -> Option<f64> {
        let squares = self.query_norm_bound + self.max_norm_bound;
        let product = (self.query_norm_bound * self.max_norm_bound).sqrt() * (1.0 + SLACK);
        if !product.is_finite() || 2.0 * product >= f64::from(f32::MAX) {
            return None;
        }
        let fixed = squares * (0.5 + SLACK) + self.gamma * product * (1.0 + SLACK) + 2.0 * self.dim * UNDERFLOW;
        let limit = f64::from(limit);
        let needed = fixed * (1.0 + SLACK) + limit + limit.abs() * SLACK;
        // The smallest positive f64 keeps the inequality strict when `needed` is 0.
        Some((needed.max(0.0) / (0.5 - SLACK)).sqrt() * (1.0 + SLACK) + f64::MIN_POSITIVE)
    }

    /// l2 and dot: every row with a code distance of at least this and an error bound at most
    /// the grid's nominal one is skipped (`u64::MAX`: none is on that ground alone).
    pub(super) fn cheap_codes(&self) -> u64 {
        if self.limit.is_some() && self.metric != Metric::Cosine { self.cheap_codes } else { u64::MAX }
    }

    /// True when the row with code distance `codes`, error bound `row_error` and kernel squared
    /// norm `row_norm` certainly computes to a distance above the limit.
    #[inline]
    pub(super) fn skips(&self, codes: u32, row_error: f32, row_norm: f32) -> bool {
        let Some(limit) = self.limit else { return false };
        if self.metric != Metric::Cosine
            && u64::from(codes) >= self.cheap_codes
            && f64::from(row_error) <= self.nominal_error
        {
            return true;
        }
        self.skips_exactly(limit, codes, row_error, row_norm)
    }

    #[inline(never)]
    fn skips_exactly(&self, limit: f32, codes: u32, row_error: f32, row_norm: f32) -> bool {
        // L ≤ ‖q − x‖, evaluated low.
        let lower = self.scale * f64::from(codes).sqrt() * (1.0 - SLACK)
            - (self.query_error + f64::from(row_error)) * (1.0 + SLACK);
        if !lower.is_finite() {
            return false;
        }
        if self.metric == Metric::L2 {
            return lower >= self.l2_min;
        }
        let lower = lower.max(0.0);
        if !row_norm.is_finite() {
            return false;
        }
        let row_norm_bound = (f64::from(row_norm) + self.dim * UNDERFLOW) / (1.0 - self.gamma) * (1.0 + SLACK);
        let product = (self.query_norm_bound * row_norm_bound).sqrt() * (1.0 + SLACK);
        // No partial sum of the f32 dot can overflow.
        if !product.is_finite() || 2.0 * product >= f64::from(f32::MAX) {
            return false;
        }
        let squares = self.query_norm_bound + row_norm_bound + lower * lower;
        let real_dot = (self.query_norm_bound + row_norm_bound - lower * lower) / 2.0 + SLACK * squares;
        let dot = real_dot + self.gamma * product * (1.0 + SLACK) + 2.0 * self.dim * UNDERFLOW * (1.0 + SLACK);
        match self.metric {
            Metric::Dot => -dot > f64::from(limit),
            Metric::Cosine => {
                // A zero norm makes the reported distance NaN (sorted last, never filtered).
                let norms = f64::from(self.query_norm) * f64::from(row_norm);
                norms > 0.0
                    && norms.is_finite()
                    && distance::cosine_from_wide_parts(dot, self.query_norm, row_norm) > limit
            }
            Metric::L2 => unreachable!("handled above"),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use super::super::ExactIndex;
    use crate::record::{KnnOptions, Metric, Neighbor};

    use super::super::test_draws::Draws;

    /// Clustered rows with many duplicates and ties (values on a quarter grid half the time),
    /// all multiplied by `magnitude`.
    pub(in super::super) fn rows(
        rng: &mut Draws,
        count: usize,
        dim: usize,
        magnitude: f32,
    ) -> Vec<(String, Vec<f32>, u32)> {
        let clusters: Vec<Vec<f32>> =
            (0..1 + rng.below(5)).map(|_| (0..dim).map(|_| rng.below(17) as f32 - 8.0).collect()).collect();
        let mut rows: Vec<(String, Vec<f32>, u32)> = Vec::with_capacity(count);
        for n in 0..count {
            let vector = if n > 0 && rng.below(4) == 0 {
                rows[rng.below(n)].1.clone()
            } else {
                let centre = &clusters[rng.below(clusters.len())];
                let coarse = rng.below(2) == 0;
                centre
                    .iter()
                    .map(|c| {
                        let noise = if coarse { (rng.below(5) as f32 - 2.0) * 0.25 } else { rng.unit() * 0.5 };
                        (c + noise) * magnitude
                    })
                    .collect()
            };
            rows.push((format!("r{:05}", rng.below(count * 2)), vector, rng.below(3) as u32));
        }
        rows
    }

    fn answer(hits: &[Neighbor]) -> Vec<(String, u32)> {
        hits.iter().map(|hit| (hit.id.clone(), hit.distance.to_bits())).collect()
    }

    /// Every search of `queries` under `options` with pruning equals the full scan's, bit for
    /// bit, whole and split in parts; returns how many rows the pruned searches computed.
    fn assert_pruned_equals_full(index: &mut ExactIndex, queries: &[Vec<f32>], options: &[KnnOptions]) -> usize {
        let mut exact = 0;
        for query in queries {
            for options in options {
                index.set_pruning(false);
                let (full, scanned) = index.search_in_parts("k", query, options, 1);
                assert!(options.k.min(index.len()) == 0 || scanned == index.len(), "a full scan computes every row");
                index.set_pruning(true);
                for parts in [1, 3] {
                    let (pruned, computed) = index.search_in_parts("k", query, options, parts);
                    assert_eq!(
                        answer(&pruned),
                        answer(&full),
                        "{} {options:?} parts {parts} query {query:?}",
                        index.metric()
                    );
                    exact += computed;
                }
            }
        }
        exact
    }

    pub(in super::super) fn options_for(
        rng: &mut Draws,
        index: &ExactIndex,
        query: &[f32],
        count: usize,
    ) -> Vec<KnnOptions> {
        // A limit equal to some row's distance, so rows tie with max_distance itself.
        let hits = index.search("k", query, &KnnOptions::new(1 + rng.below(count + 1)));
        let some_distance = hits.last().map_or(1.0, |hit| hit.distance);
        vec![
            KnnOptions::new(1),
            KnnOptions::new(1 + rng.below(12)),
            KnnOptions::new(count + 3),
            KnnOptions::new(1 + rng.below(count + 1)).extractor_version(rng.below(3) as u32),
            KnnOptions::new(1 + rng.below(20)).max_distance(some_distance),
        ]
    }

    pub(in super::super) fn queries(
        rng: &mut Draws,
        rows: &[(String, Vec<f32>, u32)],
        dim: usize,
        magnitude: f32,
    ) -> Vec<Vec<f32>> {
        vec![
            rows[rng.below(rows.len())].1.clone(),
            (0..dim).map(|_| (rng.below(17) as f32 - 8.0) * magnitude).collect(),
            (0..dim).map(|_| (rng.unit() * 0.5) * 400.0 * magnitude).collect(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Pruned searches answer exactly as full scans: every metric, filters, k from 1 to
        /// beyond the count, huge, tiny and subnormal magnitudes, duplicates, and after writes
        /// that leave the copy's grid and after removes.
        #[test]
        fn pruned_searches_equal_full_scans(
            seed in any::<u64>(),
            dim in prop::sample::select(vec![1usize, 3, 16, 17, 40, 64]),
            count in 1usize..160,
            magnitude in prop::sample::select(vec![1.0f32, 3e-3, 1e30, 1e-30, 1e-40, 1e19, 1e-19]),
            metric in prop::sample::select(Metric::ALL.to_vec()),
        ) {
            let mut rng = Draws(seed);
            let data = rows(&mut rng, count, dim, magnitude);
            let mut index = ExactIndex::new(dim, metric);
            for (id, vector, version) in &data {
                index.upsert(id, vector, *version, 5);
            }
            index.quantize_min_bytes = 0;
            index.quantize();
            prop_assert!(index.quantized.is_some());
            let queries = queries(&mut rng, &data, dim, magnitude);
            let options = options_for(&mut rng, &index, &queries[0], count);
            assert_pruned_equals_full(&mut index, &queries, &options);

            // Writes outside the grid (new ids and replaced ones), then removes.
            let wide = rows(&mut rng, 1 + count / 2, dim, magnitude * 50.0);
            for (n, (id, vector, version)) in wide.iter().enumerate() {
                let id = if n % 2 == 0 { data[rng.below(data.len())].0.clone() } else { format!("w{id}") };
                index.upsert(&id, vector, *version, 5);
            }
            assert_pruned_equals_full(&mut index, &queries, &options);
            for (id, _, _) in data.iter().step_by(3) {
                index.remove(id);
            }
            index.remove_version(rng.below(3) as u32);
            prop_assert_eq!(index.quantized.as_ref().map(|copy| copy.len()), Some(index.len()));
            assert_pruned_equals_full(&mut index, &queries, &options);
        }
    }

    /// Clustered data far larger than k: the pruned search computes the exact distance of
    /// few rows, and still answers as the full scan.
    #[test]
    fn clustered_data_is_mostly_pruned() {
        let (dim, count) = (32, 20_000);
        let mut rng = Draws(3);
        let centres: Vec<Vec<f32>> = (0..50).map(|_| (0..dim).map(|_| (rng.unit() * 0.5) * 16.0).collect()).collect();
        for metric in Metric::ALL {
            let mut index = ExactIndex::new(dim, metric);
            for n in 0..count {
                let centre = &centres[n % centres.len()];
                let vector: Vec<f32> = centre.iter().map(|c| c + (rng.unit() * 0.5) * 0.5).collect();
                index.upsert(&format!("s{n:06}"), &vector, 1, 5);
            }
            index.quantize();
            let queries: Vec<Vec<f32>> =
                (0..5).map(|q| centres[q * 7].iter().map(|c| c + (rng.unit() * 0.5) * 0.5).collect()).collect();
            let exact = assert_pruned_equals_full(&mut index, &queries, &[KnnOptions::new(10)]);
            // Five queries, two splits each: without pruning this would be 10 × count.
            assert!(exact < count, "{metric}: {exact} exact distances for 10 searches of {count} rows");
        }
    }

    /// Rows all at the same distance from the query (its own components' signs flipped and
    /// shuffled): no bound separates them, so the search gives up pruning after a window and
    /// scans the rest plainly (same answer).
    #[test]
    fn equidistant_data_falls_back_to_the_plain_scan() {
        let (dim, count) = (64, 20_000);
        let mut rng = Draws(9);
        let query: Vec<f32> = (0..dim).map(|_| rng.unit() * 0.5).collect();
        let offsets: Vec<f32> = (0..dim).map(|i| 0.25 + (i % 4) as f32 * 0.125).collect();
        let mut index = ExactIndex::new(dim, Metric::L2);
        for n in 0..count {
            let mut offsets = offsets.clone();
            for i in (1..dim).rev() {
                offsets.swap(i, rng.below(i + 1));
            }
            let vector: Vec<f32> =
                query.iter().zip(&offsets).map(|(q, o)| if rng.below(2) == 0 { q + o } else { q - o }).collect();
            index.upsert(&format!("s{n:06}"), &vector, 1, 5);
        }
        index.quantize();
        let exact = assert_pruned_equals_full(&mut index, &[query], &[KnnOptions::new(10)]);
        // Two searches (one part and three): all rows but at most the first windows' skipped ones.
        assert!(exact >= 2 * (count - 3 * super::super::PRUNE_WINDOW_ROWS), "{exact}");
    }

    /// A component constant far from 0 (1e30) beside small ones: it costs no error, every row
    /// is inside the grid's nominal error, and writes inside the grid never rebuild the copy.
    #[test]
    fn a_constant_large_component_keeps_the_bounds_tight() {
        let rows: Vec<f32> =
            (0..4_000 * 8).map(|n| if n % 8 == 0 { 1.0e30 } else { ((n * 13) % 29) as f32 * 0.0625 }).collect();
        let copy = super::Quantized::build(8, &rows).expect("a grid");
        let half_steps = copy.scale / 2.0 * 8f64.sqrt() * (1.0 + super::SLACK);
        for slot in 0..4_000 {
            assert!(f64::from(copy.error(slot)) <= half_steps, "slot {slot}: {} > {half_steps}", copy.error(slot));
        }
        assert_eq!(copy.loose, 0);
        let mut index = ExactIndex::new(8, Metric::L2);
        index.quantize_min_bytes = 0;
        for (n, row) in rows.chunks_exact(8).enumerate() {
            index.upsert(&format!("s{n:05}"), row, 1, 5);
        }
        index.quantize();
        let built_at = index.quantized_at_rows;
        for (n, row) in rows.chunks_exact(8).enumerate().take(2_000) {
            index.upsert(&format!("t{n:05}"), row, 1, 5);
        }
        assert_eq!(index.quantized_at_rows, built_at, "no rebuild for rows inside the grid");
        assert_eq!(index.quantized.as_ref().map(|copy| copy.loose), Some(0));
    }

    /// The AVX2 code distances are the portable ones, including the largest gaps the query
    /// codes may have, every tail length and the largest dimension.
    #[test]
    fn code_distances_agree_with_the_portable_sums() {
        let mut rng = Draws(17);
        for dim in [1, 15, 16, 17, 33, 128, 4096] {
            let rows: Vec<f32> = (0..40 * dim).map(|_| (rng.unit() * 0.5) * 10.0).collect();
            let copy = super::Quantized::build(dim, &rows).expect("a grid");
            let gap = copy.max_code_gap;
            for query in
                [vec![1e30f32; dim], vec![-1e30f32; dim], (0..dim).map(|_| (rng.unit() * 0.5) * 30.0).collect()]
            {
                let codes = copy.prepare(&query).expect("finite");
                assert!(codes.codes.iter().all(|&d| (255 - gap..=gap).contains(&i32::from(d))));
                let mut fast = vec![0u32; 40];
                copy.code_distances(&codes, 0..40, &mut fast);
                let mut portable = vec![0u32; 40];
                super::code_distances_portable(&codes.codes, &copy.codes, dim, &mut portable);
                let wide: Vec<u64> = (0..40)
                    .map(|row| {
                        let row = &copy.codes[row * dim..(row + 1) * dim];
                        codes.codes.iter().zip(row).map(|(&d, &c)| (i64::from(d) - i64::from(c)).pow(2) as u64).sum()
                    })
                    .collect();
                assert_eq!(fast, portable, "dim {dim}");
                assert_eq!(fast.iter().map(|&s| u64::from(s)).collect::<Vec<_>>(), wide, "dim {dim}: no overflow");
            }
        }
    }

    #[test]
    fn the_copy_is_counted_in_memory() {
        let mut index = ExactIndex::new(64, Metric::L2);
        for n in 0..1_000 {
            index.upsert(&format!("s{n:04}"), &[n as f32; 64], 1, 5);
        }
        let before = index.memory_bytes();
        index.quantize();
        assert!(index.memory_bytes() >= before + 1_000 * (64 + 4), "{} vs {before}", index.memory_bytes());
        let rows = (super::super::QUANTIZE_MIN_BYTES / (128 * 4)) + 1;
        let with = ExactIndex::estimated_bytes(rows, 128, 8);
        let per_row_below = ExactIndex::estimated_bytes(rows - 2, 128, 8) / (rows - 2);
        assert_eq!(with / rows, per_row_below + 128 + 4, "the copy's bytes per row above the threshold");
    }

    #[test]
    fn encoding_bounds_the_error() {
        let rows: Vec<f32> = (0..300).map(|n| ((n * 37) % 101) as f32 * 0.173 - 5.0).collect();
        let copy = super::Quantized::build(3, &rows).expect("a grid");
        for (slot, row) in rows.chunks_exact(3).enumerate() {
            let codes = &copy.codes[slot * 3..slot * 3 + 3];
            let error: f64 = row
                .iter()
                .zip(codes)
                .zip(&copy.offsets)
                .map(|((x, c), o)| (f64::from(*x) - (o + copy.scale * f64::from(*c))).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(f64::from(copy.error(slot)) >= error, "slot {slot}");
            assert!(error <= copy.nominal_error, "slot {slot}: inside the grid");
        }
        let query = copy.prepare(&[1e6, -1e6, 0.5]).expect("finite");
        assert!(query.codes.iter().all(|&d| (255 - copy.max_code_gap..=copy.max_code_gap).contains(&i32::from(d))));
        assert!(query.error > 9e5, "a far query keeps its distance to the grid in its error");
    }
}
