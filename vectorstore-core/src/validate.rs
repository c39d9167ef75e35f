//! Input validation at the contract boundary, shared by every store (Null included), so that
//! every store rejects the same input with the same [`ErrorKind`].
//!
//! Each store calls one function per operation ([`insert`], [`knn`], ...) before touching
//! storage, then [`against_kind`] once it knows the kind's dimension and metric. Nothing is
//! written when validation fails.

use crate::error::{Error, ErrorKind, Result};
use crate::limits::{
    MAX_BATCH, MAX_CLOCK_SKEW_MS, MAX_DIM, MAX_ID_BYTES, MAX_IDS_PER_CALL, MAX_IDS_PER_VECTOR, MAX_K, MAX_KIND_LEN,
    MAX_NEIGHBORS_PER_CALL, MAX_QUERIES_PER_CALL, MAX_SCAN_LIMIT,
};
use crate::record::{KindInfo, KnnOptions, Metric, NewVector, Rows};

/// Re-exported here, where backends quote bad values in their own checks.
pub use crate::escape::shown;

/// Checks a kind name: lowercase ASCII, `^[a-z][a-z0-9_]{0,47}$`.
///
/// The rule makes a kind safe as (part of) a table or collection name, and makes two accepted
/// kinds always distinct names.
pub fn kind(kind: &str) -> Result<()> {
    let bytes = kind.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.len() <= MAX_KIND_LEN
        && bytes[0].is_ascii_lowercase()
        && bytes[1..].iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidKind,
            format!("invalid kind {:?}: must match ^[a-z][a-z0-9_]{{0,47}}$", shown(kind)),
        ))
    }
}

/// Checks an id: non-empty, at most [`MAX_ID_BYTES`] UTF-8 bytes, no NUL. Any other string is
/// stored verbatim.
pub fn id(id: &str) -> Result<()> {
    let problem = if id.is_empty() {
        "must not be empty".to_owned()
    } else if id.len() > MAX_ID_BYTES {
        format!("is {} bytes, the limit is {MAX_ID_BYTES}", id.len())
    } else if id.contains('\0') {
        "must not contain NUL".to_owned()
    } else {
        return Ok(());
    };
    Err(Error::new(ErrorKind::InvalidId, format!("invalid id {:?}: {problem}", shown(id))))
}

/// Checks a vector on its own: 1..=[`MAX_DIM`] components, every one finite.
pub fn vector(vector: &[f32]) -> Result<()> {
    if vector.is_empty() {
        return Err(Error::new(ErrorKind::InvalidVector, "invalid vector: it has no components"));
    }
    if vector.len() > MAX_DIM {
        return Err(Error::new(
            ErrorKind::InvalidVector,
            format!("invalid vector: {} components, the limit is {MAX_DIM}", vector.len()),
        ));
    }
    if let Some((index, value)) = vector.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::new(
            ErrorKind::InvalidVector,
            format!("invalid vector: component {index} is {value}, every component must be finite"),
        ));
    }
    Ok(())
}

/// Checks an extractor version: at least 1.
pub fn extractor_version(version: u32) -> Result<()> {
    if version >= 1 {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::InvalidArgument, format!("invalid extractor_version {version}: must be >= 1")))
    }
}

/// Checks `k`: 0..=[`MAX_K`] (0 is valid and returns nothing).
pub fn k(k: usize) -> Result<()> {
    if k <= MAX_K {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::InvalidArgument, format!("invalid k {k}: the limit is {MAX_K}")))
    }
}

/// Checks a dimension given explicitly (when creating a kind): 1..=[`MAX_DIM`].
pub fn dim(dim: usize) -> Result<()> {
    if (1..=MAX_DIM).contains(&dim) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::InvalidArgument, format!("invalid dimension {dim}: must be 1..={MAX_DIM}")))
    }
}

/// Checks the arguments of [`crate::VectorStore::insert`].
pub fn insert(kind_name: &str, id_value: &str, vector_value: &[f32], version: u32) -> Result<()> {
    kind(kind_name)?;
    id(id_value)?;
    extractor_version(version)?;
    vector(vector_value)
}

/// Checks the arguments of [`crate::VectorStore::insert_many`]: the kind, the batch size, and
/// every item on its own. The error names the first bad item's index and id. Dimensions are
/// checked by the store with [`batch_against_kind`] once it knows the kind.
pub fn insert_many(kind_name: &str, items: &[NewVector]) -> Result<()> {
    batch(kind_name, items.len())?;
    let now = crate::now_ms();
    for (index, item) in items.iter().enumerate() {
        id(&item.id)
            .and_then(|()| extractor_version(item.extractor_version))
            .and_then(|()| vector(&item.vector))
            .and_then(|()| item.written_at_ms.map_or(Ok(()), |time| written_at(time, now)))
            .map_err(|err| batch_item_error(index, &item.id, err))?;
    }
    Ok(())
}

/// Checks the arguments of [`crate::VectorStore::insert_rows`] as [`insert_many`] checks its
/// items: the kind, the number of rows, and every row on its own; the error names the first
/// bad row's index and id, as `insert_many`'s names the item's. Dimensions are checked by the
/// store with [`rows_against_kind`].
pub fn insert_rows(kind_name: &str, rows: &Rows<'_>) -> Result<()> {
    batch(kind_name, rows.len())?;
    for (index, (row_id, row, version)) in rows.iter().enumerate() {
        id(row_id)
            .and_then(|()| extractor_version(version))
            .and_then(|()| vector(row))
            .map_err(|err| batch_item_error(index, row_id, err))?;
    }
    Ok(())
}

/// The checks of a write batch that need none of its items: the kind, and at most
/// [`MAX_BATCH`] items.
pub fn batch(kind_name: &str, count: usize) -> Result<()> {
    kind(kind_name)?;
    if count > MAX_BATCH {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("batch of {count} vectors: the limit is {MAX_BATCH} per call"),
        ));
    }
    Ok(())
}

/// Checks a write time given with a record ([`NewVector::written_at_ms`]) against the store's
/// clock `now_ms`: at most [`MAX_CLOCK_SKEW_MS`] ahead.
pub fn written_at(written_at_ms: u64, now_ms: u64) -> Result<()> {
    if written_at_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "invalid written_at_ms {written_at_ms}: more than a day ahead of this store's clock ({now_ms}); \
                 such a record would never expire"
            ),
        )
        .with_context("written_at_ms", written_at_ms.to_string()));
    }
    Ok(())
}

/// Checks the arguments of [`crate::VectorStore::expire`]: the kind, and a cutoff that is not
/// in the future of the store's clock `now_ms` (which would remove records written after the
/// call began).
pub fn expire(kind_name: &str, written_before_ms: u64, now_ms: u64) -> Result<()> {
    kind(kind_name)?;
    if written_before_ms > now_ms {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "invalid cutoff {written_before_ms}: it is in the future ({} ms after this store's clock, {now_ms}); \
                 expire removes records written before a past time",
                written_before_ms - now_ms
            ),
        )
        .with_context("written_before_ms", written_before_ms.to_string()));
    }
    Ok(())
}

/// Checks every item of a batch against the kind it is written to (see [`against_kind`]).
/// For a kind the batch creates, pass the kind as the first item defines it.
pub fn batch_against_kind(info: &KindInfo, items: &[NewVector]) -> Result<()> {
    for (index, item) in items.iter().enumerate() {
        against_kind(info, &item.vector).map_err(|err| batch_item_error(index, &item.id, err))?;
    }
    Ok(())
}

/// Checks every row against the kind it is written to, as [`batch_against_kind`] checks a
/// batch's items (the same errors, naming the row's index and id).
pub fn rows_against_kind(info: &KindInfo, rows: &Rows<'_>) -> Result<()> {
    for (index, (row_id, row, _)) in rows.iter().enumerate() {
        against_kind(info, row).map_err(|err| batch_item_error(index, row_id, err))?;
    }
    Ok(())
}

fn batch_item_error(index: usize, item_id: &str, err: Error) -> Error {
    let message = format!("batch item {index}: {}", err.message());
    Error::new(err.kind(), message).with_context("id", shown(item_id))
}

/// Checks the arguments of [`crate::VectorStore::get`] and [`crate::VectorStore::delete`].
pub fn key(kind_name: &str, id_value: &str) -> Result<()> {
    kind(kind_name)?;
    id(id_value)
}

/// Checks the arguments of [`crate::VectorStore::get_many`] and
/// [`crate::VectorStore::delete_many`]: the kind, the number of ids (at most
/// [`MAX_IDS_PER_CALL`]; the error names the count), and every id. The error for a bad id names
/// its index. Repeated ids are allowed.
pub fn ids(kind_name: &str, ids: &[&str]) -> Result<()> {
    kind(kind_name)?;
    if ids.len() > MAX_IDS_PER_CALL {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{} ids in one call: the limit is {MAX_IDS_PER_CALL} per call", ids.len()),
        )
        .with_context("count", ids.len().to_string()));
    }
    for (index, value) in ids.iter().enumerate() {
        id(value).map_err(|err| Error::new(err.kind(), format!("ids item {index}: {}", err.message())))?;
    }
    Ok(())
}

/// Checks the arguments of [`crate::VectorStore::delete_version`]: the kind and the version.
pub fn delete_version(kind_name: &str, version: u32) -> Result<()> {
    kind(kind_name)?;
    extractor_version(version)
}

/// Checks the arguments of [`crate::VectorStore::knn_with`].
pub fn knn(kind_name: &str, query: &[f32], options: &KnnOptions) -> Result<()> {
    kind(kind_name)?;
    vector(query)?;
    k(options.k)?;
    if let Some(version) = options.extractor_version {
        extractor_version(version)?;
    }
    if let Some(max) = options.max_distance
        && max.is_nan()
    {
        return Err(Error::new(ErrorKind::InvalidArgument, "invalid max_distance NaN"));
    }
    Ok(())
}

/// Checks the arguments of [`crate::VectorStore::knn_distinct`] that need no kind: those of
/// [`knn`], and `ids_per_vector` (at most [`MAX_IDS_PER_VECTOR`], `InvalidArgument`), and the
/// ids the answer may hold, `k × ids_per_vector`, at most [`MAX_NEIGHBORS_PER_CALL`]
/// (`LimitExceeded`).
pub fn knn_distinct(kind_name: &str, query: &[f32], options: &KnnOptions, ids_per_vector: usize) -> Result<()> {
    knn(kind_name, query, options)?;
    if ids_per_vector > MAX_IDS_PER_VECTOR {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid ids_per_vector {ids_per_vector}: the limit is {MAX_IDS_PER_VECTOR}"),
        )
        .with_context("ids_per_vector", ids_per_vector.to_string()));
    }
    let asked = options.k.saturating_mul(ids_per_vector);
    if asked > MAX_NEIGHBORS_PER_CALL {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "k {} × ids_per_vector {ids_per_vector} asks for {asked} ids: the limit is {MAX_NEIGHBORS_PER_CALL} per call",
                options.k
            ),
        ));
    }
    Ok(())
}

/// Checks the arguments of [`crate::VectorStore::knn_batch`] that need no kind: the kind
/// name, the options, the number of queries, and every query (finite, 1..=4096 components,
/// all of one length), naming the first bad query by its index.
pub fn knn_batch(kind_name: &str, queries: &[&[f32]], options: &KnnOptions) -> Result<()> {
    kind(kind_name)?;
    if queries.len() > MAX_QUERIES_PER_CALL {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{} queries in one call: the limit is {MAX_QUERIES_PER_CALL} per call", queries.len()),
        )
        .with_context("count", queries.len().to_string()));
    }
    let asked = queries.len().saturating_mul(options.k);
    if asked > MAX_NEIGHBORS_PER_CALL {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "{} queries × k {} ask for {asked} neighbours in one answer: the limit is {MAX_NEIGHBORS_PER_CALL} per call",
                queries.len(),
                options.k
            ),
        )
        .with_context("count", queries.len().to_string()));
    }
    let Some(first) = queries.first() else { return knn(kind_name, &[0.0], options) };
    for (index, query) in queries.iter().enumerate() {
        knn(kind_name, query, options).map_err(|err| query_error(index, err))?;
        if query.len() != first.len() {
            return Err(Error::new(
                ErrorKind::DimensionMismatch,
                format!(
                    "query {index} has {} components, query 0 has {}: one batch is one kind",
                    query.len(),
                    first.len()
                ),
            )
            .with_context("query", index.to_string()));
        }
    }
    Ok(())
}

/// Checks every query of a [`crate::VectorStore::knn_batch`] call against its kind, naming
/// the first bad one by its index.
pub fn queries_against_kind(info: &KindInfo, queries: &[&[f32]]) -> Result<()> {
    for (index, query) in queries.iter().enumerate() {
        against_kind(info, query).map_err(|err| query_error(index, err))?;
    }
    Ok(())
}

/// `err`, met checking query `index` of a [`crate::VectorStore::knn_batch`] call, naming it
/// (`query 3: ...`, and the `query` context).
pub fn in_query(index: usize, err: Error) -> Error {
    query_error(index, err)
}

fn query_error(index: usize, err: Error) -> Error {
    Error::new(err.kind(), format!("query {index}: {}", err.message())).with_context("query", index.to_string())
}

/// Checks the arguments of [`crate::VectorStore::scan`].
pub fn scan(kind_name: &str, after_id: Option<&str>, limit: usize) -> Result<()> {
    kind(kind_name)?;
    if let Some(after) = after_id {
        id(after)?;
    }
    if limit > MAX_SCAN_LIMIT {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid scan limit {limit}: the limit is {MAX_SCAN_LIMIT}"),
        ));
    }
    Ok(())
}

/// Checks the arguments of [`crate::VectorStore::create_kind`].
pub fn create_kind(kind_name: &str, dim_value: usize) -> Result<()> {
    kind(kind_name)?;
    dim(dim_value)
}

/// Checks a vector against the kind it is written to or searched in: same dimension, and not
/// the zero vector under cosine.
pub fn against_kind(info: &KindInfo, vector: &[f32]) -> Result<()> {
    if vector.len() != info.dim {
        return Err(dimension_mismatch(&info.kind, info.dim, vector.len()));
    }
    if info.metric == Metric::Cosine && vector.iter().all(|&v| v == 0.0) {
        return Err(Error::new(
            ErrorKind::InvalidVector,
            format!("invalid vector: the zero vector has no direction under cosine (kind {:?})", info.kind),
        ));
    }
    Ok(())
}

/// Checks that a kind asked for with `dim` and `metric` matches the existing `info`.
pub fn same_kind(info: &KindInfo, dim: usize, metric: Metric) -> Result<()> {
    if info.dim != dim {
        return Err(dimension_mismatch(&info.kind, info.dim, dim));
    }
    if info.metric != metric {
        return Err(Error::new(
            ErrorKind::MetricMismatch,
            format!("kind {:?} uses metric {}, not {metric}", info.kind, info.metric),
        ));
    }
    Ok(())
}

/// The [`ErrorKind::DimensionMismatch`] error naming both dimensions.
pub fn dimension_mismatch(kind: &str, expected: usize, got: usize) -> Error {
    Error::new(
        ErrorKind::DimensionMismatch,
        format!("dimension mismatch for kind {kind:?}: the kind has dimension {expected}, the vector has {got}"),
    )
}

/// The [`ErrorKind::LimitExceeded`] error for creating `kind` in a store that already holds
/// [`MAX_KINDS`](crate::limits::MAX_KINDS) kinds.
pub fn too_many_kinds(kind: &str) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("cannot create kind {kind:?}: the store already holds {} kinds, the limit", crate::limits::MAX_KINDS),
    )
}

/// The [`ErrorKind::MetricUnsupported`] error for a store that cannot search with `metric`.
pub fn metric_unsupported(backend: &str, metric: Metric, supported: &[Metric]) -> Error {
    let list: Vec<&str> = supported.iter().map(|m| m.as_str()).collect();
    Error::new(
        ErrorKind::MetricUnsupported,
        format!("backend {backend} does not support metric {metric}; it supports {}", list.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_pattern() {
        for good in ["a", "ja3", "keystroke_dwell", "a_1", &"k".repeat(48)] {
            assert!(kind(good).is_ok(), "{good} should be accepted");
        }
        for bad in ["", "A", "Ja3", "1abc", "_a", "a-b", "a b", "a;drop", "ja3\0", "é", &"k".repeat(49), "a\u{0131}"] {
            let err = kind(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidKind, "{bad:?}");
        }
    }

    #[test]
    fn ids_allow_any_utf8_but_nul_empty_or_too_long() {
        for good in ["s-1", "' OR 1=1 --", "🦀", "a/b\\c", "%_", &"x".repeat(512)] {
            assert!(id(good).is_ok(), "{good:?} should be accepted");
        }
        for bad in ["", "a\0b", &"x".repeat(513), &"é".repeat(257)] {
            assert_eq!(id(bad).unwrap_err().kind(), ErrorKind::InvalidId, "{bad:?}");
        }
    }

    #[test]
    fn vectors_must_be_finite_and_sized() {
        assert!(vector(&[0.0]).is_ok());
        assert!(vector(&vec![1.0; MAX_DIM]).is_ok());
        for bad in [vec![], vec![1.0; MAX_DIM + 1], vec![1.0, f32::NAN], vec![f32::INFINITY], vec![f32::NEG_INFINITY]] {
            assert_eq!(vector(&bad).unwrap_err().kind(), ErrorKind::InvalidVector, "{bad:?}");
        }
        let err = vector(&[1.0, 2.0, f32::NAN]).unwrap_err();
        assert!(err.message().contains("component 2"), "{err}");
    }

    #[test]
    fn k_and_versions_have_bounds() {
        assert!(k(0).is_ok() && k(MAX_K).is_ok());
        assert_eq!(k(MAX_K + 1).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(extractor_version(0).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert!(extractor_version(1).is_ok());
    }

    #[test]
    fn dimension_mismatch_names_both_numbers() {
        let info = KindInfo::new("ja3", 3, Metric::L2);
        let err = against_kind(&info, &[1.0, 2.0]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DimensionMismatch);
        assert!(err.message().contains('3') && err.message().contains('2'), "{err}");
        let cosine = KindInfo { metric: Metric::Cosine, ..info };
        assert_eq!(against_kind(&cosine, &[0.0, 0.0, 0.0]).unwrap_err().kind(), ErrorKind::InvalidVector);
    }

    #[test]
    fn batches_name_the_bad_item() {
        let items = vec![NewVector::new("a", vec![1.0, 2.0]), NewVector::new("b", vec![1.0])];
        let info = KindInfo::new("ja3", 2, Metric::L2);
        let err = batch_against_kind(&info, &items).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DimensionMismatch);
        assert!(err.message().contains("item 1"), "{err}");
        let items = vec![NewVector::new("a", vec![1.0, 2.0]), NewVector::new("", vec![1.0])];
        let err = insert_many("ja3", &items).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidId);
        assert!(err.message().contains("item 1"), "{err}");
        let too_many = vec![NewVector::new("a", vec![1.0]); MAX_BATCH + 1];
        assert_eq!(insert_many("ja3", &too_many).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn id_lists_are_checked_whole_and_name_the_count_or_the_item() {
        assert!(ids("ja3", &[]).is_ok());
        assert!(ids("ja3", &["a", "a", "b"]).is_ok(), "repeats are allowed");
        assert!(ids("ja3", &vec!["a"; MAX_IDS_PER_CALL]).is_ok());
        let err = ids("ja3", &vec!["a"; MAX_IDS_PER_CALL + 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("10001 ids"), "{err}");
        let err = ids("ja3", &["ok", "also-ok", ""]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidId);
        assert!(err.message().contains("item 2"), "{err}");
        assert_eq!(ids("Ja3", &["a"]).unwrap_err().kind(), ErrorKind::InvalidKind);
        assert_eq!(delete_version("ja3", 0).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(delete_version("ja-3", 1).unwrap_err().kind(), ErrorKind::InvalidKind);
        assert!(delete_version("ja3", 1).is_ok());
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(10_000);
        let err = id(&long).unwrap_err();
        assert!(err.message().len() < 200, "{}", err.message().len());
        assert!(err.message().contains("10000 bytes"), "{err}");
    }
}
