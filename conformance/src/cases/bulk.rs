//! Reading and removing many records by id, counting and purging extractor versions, and a
//! health that is safe to publish.

use std::collections::BTreeMap;

use crate::data;
use vectorstore_core::limits::MAX_IDS_PER_CALL;
use vectorstore_core::{ErrorKind, FakeVectorStore, Metric, NewVector, VectorStore, VectorStoreExt};

use super::support::stores_data;
use crate::check::{assert_publishable, bits, expect_error, ok, snapshot, timeless};
use crate::runner::Ctx;

/// Three records of `ja3` with versions 1, 2, 1, and one of `hassh`.
async fn seed(store: &dyn VectorStore) {
    let batch = vec![
        NewVector::new("a", vec![1.0, 0.0]),
        NewVector::new("b", vec![0.0, 1.0]).with_extractor_version(2),
        NewVector::new("c", vec![-1.0, 0.5]),
    ];
    ok(store.insert_many("ja3", &batch).await, "seed insert_many");
    ok(store.insert("hassh", "a", &[9.0, 9.0, 9.0], 2).await, "seed insert");
}

/// get_many answers one entry per requested id, in the requested order: `None` for a missing
/// id, the same record again for a repeated one, all `None` for an unknown kind.
pub async fn get_many_answers_in_request_order(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    seed(&*store).await;
    let asked = ["c", "missing", "a", "c", "b"];
    let got = ok(store.get_many("ja3", &asked).await, "get_many");
    let got_ids: Vec<Option<&str>> = got.iter().map(|r| r.as_ref().map(|r| r.id.as_str())).collect();
    assert_eq!(got_ids, [Some("c"), None, Some("a"), Some("c"), Some("b")], "one entry per requested id, in order");
    for (id, record) in asked.iter().zip(&got) {
        let single = ok(store.get("ja3", id).await, "get");
        assert_eq!(record, &single, "get_many and get disagree on {id:?}");
    }
    let b = got[4].as_ref().expect("b is stored");
    assert_eq!((b.kind.as_str(), b.dim, b.extractor_version), ("ja3", 2, 2));
    assert_eq!(bits(&b.vector), bits(&[0.0, 1.0]));
    let other_kind = ok(store.get_many("hassh", &["b", "a"]).await, "get_many in hassh");
    assert!(other_kind[0].is_none(), "ids of another kind are not this kind's: {other_kind:?}");
    assert_eq!(other_kind[1].as_ref().map(|r| r.dim), Some(3));
    let unknown = ok(store.get_many("never_written", &["a", "b"]).await, "get_many in an unknown kind");
    assert_eq!(unknown, [None, None]);
    assert!(ok(store.get_many("ja3", &[]).await, "empty get_many").is_empty());
}

/// delete_many removes the stored ids among those given and counts each once; missing ids and
/// unknown kinds count 0, and the kind keeps its dimension.
pub async fn delete_many_counts_what_went(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    seed(&*store).await;
    let removed = ok(store.delete_many("ja3", &["b", "missing", "b", "a"]).await, "delete_many");
    assert_eq!(removed, 2, "b and a were stored; a repeat and a missing id count nothing");
    let snap = snapshot(&*store).await;
    let left: Vec<&(String, String)> = snap.records.keys().collect();
    assert_eq!(left, [&("hassh".to_owned(), "a".to_owned()), &("ja3".to_owned(), "c".to_owned())]);
    assert_eq!(ok(store.delete_many("ja3", &["a", "b"]).await, "delete_many again"), 0);
    assert_eq!(ok(store.delete_many("never_written", &["a"]).await, "delete_many in an unknown kind"), 0);
    assert_eq!(ok(store.delete_many("ja3", &[]).await, "empty delete_many"), 0);
    assert_eq!(ok(store.delete_many("ja3", &["c"]).await, "delete the last"), 1);
    let info = ok(store.kind_info("ja3").await, "kind_info").expect("an emptied kind stays");
    assert_eq!((info.dim, info.count), (2, 0));
    expect_error(store.insert("ja3", "d", &[1.0, 2.0, 3.0], 1).await, ErrorKind::DimensionMismatch, "insert 3-d");
}

/// kinds() counts each kind's records per extractor version, and the counts follow replaces.
pub async fn kinds_count_each_extractor_version(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    seed(&*store).await;
    ok(store.insert("ja3", "d", &[0.5, 0.5], 7).await, "insert v7");
    ok(store.create_kind("empty", 4, Metric::L2).await, "create_kind");
    let versions = |kinds: &[vectorstore_core::KindInfo], kind: &str| {
        kinds.iter().find(|k| k.kind == kind).map(|k| (k.count, k.versions.clone())).expect("kind listed")
    };
    let kinds = ok(store.kinds().await, "kinds");
    assert_eq!(versions(&kinds, "ja3"), (4, BTreeMap::from([(1, 2), (2, 1), (7, 1)])), "{kinds:?}");
    assert_eq!(versions(&kinds, "hassh"), (1, BTreeMap::from([(2, 1)])), "{kinds:?}");
    assert_eq!(versions(&kinds, "empty"), (0, BTreeMap::new()), "{kinds:?}");
    ok(store.insert("ja3", "a", &[1.0, 0.0], 2).await, "replace a with version 2");
    ok(store.delete("ja3", "d").await, "delete d");
    let kinds = ok(store.kinds().await, "kinds after a replace and a delete");
    assert_eq!(versions(&kinds, "ja3"), (3, BTreeMap::from([(1, 1), (2, 2)])), "{kinds:?}");
}

/// delete_version removes exactly one version's records of one kind and returns how many; a
/// version or kind holding nothing gives 0, and an emptied kind keeps its dimension.
pub async fn delete_version_removes_only_that_version(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    seed(&*store).await;
    ok(store.insert("ja3", "d", &[0.5, 0.5], 2).await, "insert another v2");
    assert_eq!(ok(store.delete_version("ja3", 2).await, "delete_version 2"), 2);
    let snap = snapshot(&*store).await;
    let left: Vec<(&str, &str, u32)> =
        snap.records.iter().map(|((kind, id), (_, version))| (kind.as_str(), id.as_str(), *version)).collect();
    assert_eq!(left, [("hassh", "a", 2), ("ja3", "a", 1), ("ja3", "c", 1)], "only ja3's version 2 went");
    assert_eq!(ok(store.delete_version("ja3", 2).await, "again"), 0);
    assert_eq!(ok(store.delete_version("ja3", 99).await, "a version never written"), 0);
    assert_eq!(ok(store.delete_version("never_written", 1).await, "an unknown kind"), 0);
    assert_eq!(ok(store.delete_version("ja3", 1).await, "the rest"), 2);
    let info = ok(store.kind_info("ja3").await, "kind_info").expect("an emptied kind stays");
    assert_eq!((info.dim, info.count, info.versions.len()), (2, 0, 0), "{info:?}");
    assert!(ok(store.knn("ja3", &[1.0, 0.0], 5).await, "knn").is_empty());
}

/// A bad id anywhere in the list, too many ids, a bad kind or version 0 is a typed error
/// before any work: nothing is removed, on every store.
pub async fn bulk_calls_are_validated_whole_before_any_work(ctx: &Ctx) {
    let store = ctx.store().await;
    seed(&*store).await;
    let before = snapshot(&*store).await;
    let nul = "x\0y";
    let long = "x".repeat(513);
    for bad in ["", nul, long.as_str()] {
        let ids = ["a", "b", bad];
        expect_error(store.get_many("ja3", &ids).await, ErrorKind::InvalidId, "get_many with a bad last id");
        expect_error(store.delete_many("ja3", &ids).await, ErrorKind::InvalidId, "delete_many with a bad last id");
    }
    let too_many: Vec<String> = (0..=MAX_IDS_PER_CALL).map(data::id).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).chain(["a"]).collect();
    for (what, result) in [
        ("get_many", store.get_many("ja3", &too_many).await.map(|_| ())),
        ("delete_many", store.delete_many("ja3", &too_many).await.map(|_| ())),
    ] {
        let err = result.expect_err(&format!("{what} of {} ids must be refused", too_many.len()));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}: {err}");
        assert!(err.message().contains(&too_many.len().to_string()), "{what} names the count: {err}");
    }
    expect_error(store.get_many("Ja3", &["a"]).await, ErrorKind::InvalidKind, "get_many in kind Ja3");
    expect_error(store.delete_many("ja-3", &["a"]).await, ErrorKind::InvalidKind, "delete_many in kind ja-3");
    expect_error(store.delete_version("ja3", 0).await, ErrorKind::InvalidArgument, "delete_version 0");
    expect_error(store.delete_version("JA3", 1).await, ErrorKind::InvalidKind, "delete_version in kind JA3");
    expect_error(store.delete_version("", 1).await, ErrorKind::InvalidKind, "delete_version in kind \"\"");
    assert_eq!(snapshot(&*store).await, before, "a refused call changed the store");
    let at_limit: Vec<&str> = too_many[..MAX_IDS_PER_CALL].to_vec();
    let got = ok(store.get_many("ja3", &at_limit).await, "get_many of exactly the limit");
    assert_eq!(got.len(), MAX_IDS_PER_CALL);
    assert_eq!(ok(store.delete_many("ja3", &at_limit).await, "delete_many of exactly the limit"), 0);
    assert_eq!(snapshot(&*store).await, before, "deleting ids that are not stored changed the store");
}

/// get_many, delete_many, delete_version and the per-version counts agree with the exact Fake
/// on seeded data with several versions, missing and repeated ids.
pub async fn bulk_operations_match_the_fake(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let oracle = FakeVectorStore::new();
    ok(oracle.initialize().await, "oracle initialize");
    let (vectors, _) = data::clustered(31, 600, 8, 6, 1.0);
    let items: Vec<NewVector> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| NewVector::new(data::id(i), v.clone()).with_extractor_version(1 + (i * 7 % 4) as u32))
        .collect();
    for both in [&*store, &oracle as &dyn VectorStore] {
        ok(both.insert_many("cmd_ngram", &items).await, "insert_many");
    }
    // Every third id, some twice, plus ids never written.
    let asked: Vec<String> =
        (0..700).step_by(3).map(data::id).chain((0..50).map(|i| data::id(i * 11))).chain(["nope".into()]).collect();
    let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
    let got = ok(store.get_many("cmd_ngram", &asked).await, "get_many");
    let want = ok(oracle.get_many("cmd_ngram", &asked).await, "oracle get_many");
    assert_eq!(got.len(), want.len());
    for ((id, got), want) in asked.iter().zip(&got).zip(&want) {
        assert_eq!(timeless(got), timeless(want), "get_many entry for {id:?}");
    }
    let doomed: Vec<String> = (0..650).step_by(5).map(data::id).collect();
    let doomed: Vec<&str> = doomed.iter().map(String::as_str).collect();
    let removed = ok(store.delete_many("cmd_ngram", &doomed).await, "delete_many");
    assert_eq!(removed, ok(oracle.delete_many("cmd_ngram", &doomed).await, "oracle delete_many"));
    let removed = ok(store.delete_version("cmd_ngram", 3).await, "delete_version 3");
    assert_eq!(removed, ok(oracle.delete_version("cmd_ngram", 3).await, "oracle delete_version 3"));
    assert!(removed > 0, "the seeded data holds version 3");
    assert_eq!(snapshot(&*store).await, snapshot(&oracle).await, "the stores hold different records");
    assert_eq!(ok(store.kinds().await, "kinds"), ok(oracle.kinds().await, "oracle kinds"));
}

/// The default health names no file path, URL, host, user or secret (the detailed view may);
/// both views agree on the state and the counts.
pub async fn health_is_safe_to_publish(ctx: &Ctx) {
    let store = ctx.store().await;
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "insert");
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    assert_publishable(&health);
    let detailed = store.health_detailed().await;
    assert_eq!(
        (detailed.ok, &detailed.backend, detailed.kinds, detailed.vectors),
        (health.ok, &health.backend, health.kinds, health.vectors),
        "the detailed view describes the same store"
    );
}
