//! Input validation never panics, and whatever it accepts satisfies the documented rules.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vectorstore_core::limits::{MAX_DIM, MAX_ID_BYTES, MAX_K, MAX_KIND_LEN};
use vectorstore_core::{KnnOptions, NewVector, validate};

#[derive(Debug, Arbitrary)]
struct Input {
    kind: String,
    id: String,
    vector: Vec<f32>,
    version: u32,
    k: usize,
    max_distance: Option<f32>,
    batch: Vec<(String, Vec<f32>, u32, Option<u64>)>,
    cutoff: u64,
}

fuzz_target!(|input: Input| {
    if validate::kind(&input.kind).is_ok() {
        let bytes = input.kind.as_bytes();
        assert!((1..=MAX_KIND_LEN).contains(&bytes.len()));
        assert!(bytes[0].is_ascii_lowercase());
        assert!(bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_'));
    }
    if validate::id(&input.id).is_ok() {
        assert!(!input.id.is_empty() && input.id.len() <= MAX_ID_BYTES && !input.id.contains('\0'));
    }
    if validate::vector(&input.vector).is_ok() {
        assert!((1..=MAX_DIM).contains(&input.vector.len()) && input.vector.iter().all(|v| v.is_finite()));
    }
    let _ = validate::insert(&input.kind, &input.id, &input.vector, input.version);
    let options = KnnOptions { k: input.k, extractor_version: Some(input.version), max_distance: input.max_distance };
    if validate::knn(&input.kind, &input.vector, &options).is_ok() {
        assert!(input.k <= MAX_K && input.version >= 1);
    }
    let _ = validate::scan(&input.kind, Some(&input.id), input.k);
    let items: Vec<NewVector> = input
        .batch
        .into_iter()
        .map(|(id, vector, version, written_at_ms)| NewVector { id, vector, extractor_version: version, written_at_ms })
        .collect();
    let now = vectorstore_core::now_ms();
    if validate::insert_many(&input.kind, &items).is_ok() {
        assert!(items.iter().all(|i| validate::insert(&input.kind, &i.id, &i.vector, i.extractor_version).is_ok()));
        let latest = now + vectorstore_core::limits::MAX_CLOCK_SKEW_MS + 1_000;
        assert!(items.iter().all(|i| i.written_at_ms.is_none_or(|t| t <= latest)), "a time far ahead was accepted");
    }
    if validate::expire(&input.kind, input.cutoff, now).is_ok() {
        assert!(input.cutoff <= now && validate::kind(&input.kind).is_ok());
    }
    // Error messages quote at most 64 characters of the bad value, escaped: bounded whatever its size.
    if let Err(err) = validate::id(&input.id) {
        assert!(err.message().len() < 1024, "{}", err.message().len());
    }
});
