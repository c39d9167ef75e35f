//! Keyset pagination with `scan`.

use std::collections::BTreeSet;

use vectorstore_core::NewVector;

use super::support::stores_data;
use crate::check::{bits, ok};
use crate::data::Rng;
use crate::runner::Ctx;

/// Paging with scan visits every id of the kind exactly once, in ascending byte order, with
/// the stored vectors; other kinds never appear; an unknown kind is an empty page.
pub async fn scan_pages_cover_every_id_once(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let mut rng = Rng::new(77);
    let mut expected = std::collections::BTreeMap::new();
    let mut items = Vec::new();
    for _ in 0..250 {
        let id = format!("{:x}", rng.next_u64() % 100_000);
        let v = vec![rng.gaussian(), rng.gaussian()];
        expected.insert(id.clone(), bits(&v));
        items.push(NewVector::new(id, v));
    }
    ok(store.insert_many("pages", &items).await, "insert_many");
    ok(store.insert("other", "0", &[1.0], 1).await, "insert other kind");
    for page in [1usize, 7, 100, 250, 1000] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = ok(store.scan("pages", after.as_deref(), page).await, "scan");
            assert!(batch.len() <= page, "page of {} over the limit {page}", batch.len());
            let Some(last) = batch.last() else { break };
            if let (Some(previous), Some(first)) = (&after, batch.first()) {
                assert!(first.id > *previous, "page {page}: scan after {previous:?} returned {:?}", first.id);
            }
            after = Some(last.id.clone());
            for record in &batch {
                assert_eq!(record.kind, "pages");
                assert_eq!(Some(&bits(&record.vector)), expected.get(&record.id), "{}", record.id);
            }
            seen.extend(batch.into_iter().map(|r| r.id));
        }
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "page {page}: an id was visited twice");
        let expected_ids: Vec<&String> = expected.keys().collect();
        assert_eq!(seen.iter().collect::<Vec<_>>(), expected_ids, "page {page}: not every id once, in order");
    }
    let after_missing = ok(store.scan("pages", Some("8"), 1000).await, "scan after an absent id");
    assert!(after_missing.iter().all(|r| r.id.as_str() > "8"));
    assert_eq!(after_missing.len(), expected.keys().filter(|id| id.as_str() > "8").count());
    assert!(ok(store.scan("no_such_kind", None, 10).await, "scan unknown").is_empty());
}
