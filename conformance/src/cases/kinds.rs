//! Kinds and keys: isolation between kinds, listing, dropping, and ids and vectors stored verbatim.

use vectorstore_core::limits::MAX_ID_BYTES;
use vectorstore_core::{KnnOptions, Metric, NewVector, VectorStoreExt};

use super::support::stores_data;
use crate::check::{bits, ids, ok, snapshot};
use crate::data::Rng;
use crate::runner::Ctx;

/// The same id in two kinds is two records: get, delete and knn never cross kinds.
pub async fn kinds_are_isolated(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("ja3", "shared", &[1.0, 1.0], 1).await, "insert ja3");
    ok(store.insert("hassh", "shared", &[9.0, 9.0, 9.0], 3).await, "insert hassh");
    ok(store.insert("hassh", "other", &[1.0, 1.0, 1.0], 1).await, "insert hassh");
    assert_eq!(ok(store.get("ja3", "shared").await, "get").expect("ja3").vector, [1.0, 1.0]);
    assert_eq!(ok(store.get("hassh", "shared").await, "get").expect("hassh").extractor_version, 3);
    let hits = ok(store.knn("ja3", &[1.0, 1.0], 10).await, "knn ja3");
    assert_eq!(ids(&hits), ["shared"], "{hits:?}");
    assert!(hits.iter().all(|h| h.kind == "ja3"), "{hits:?}");
    assert!(ok(store.delete("ja3", "shared").await, "delete ja3"));
    assert!(ok(store.get("hassh", "shared").await, "get").is_some(), "deleting in ja3 removed from hassh");
    assert_eq!(ok(store.knn("hassh", &[9.0, 9.0, 9.0], 10).await, "knn hassh").len(), 2);
}

/// Kinds whose names are alike (prefixes, underscores, digits) never share storage.
pub async fn similar_kind_names_never_share_storage(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let names = ["ab", "a_b", "ab_", "a_b_", "a1", "a_1", "ja3", "ja3_v2", "ja3v2", "vectors", "kinds", "meta"];
    for (i, kind) in names.iter().enumerate() {
        ok(store.insert(kind, "id", &[i as f32, 1.0], 1).await, "insert");
    }
    for (i, kind) in names.iter().enumerate() {
        let record = ok(store.get(kind, "id").await, "get").expect("each kind keeps its record");
        assert_eq!(record.vector, [i as f32, 1.0], "kind {kind}");
        assert_eq!(ok(store.knn(kind, &[0.0, 0.0], 10).await, "knn").len(), 1, "kind {kind} sees other kinds");
    }
    let listed: Vec<String> = ok(store.kinds().await, "kinds").into_iter().map(|k| k.kind).collect();
    let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

/// kinds() lists every kind sorted by name with its dimension, metric and count.
pub async fn kinds_lists_dim_metric_count(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let metric = store.capabilities().metrics.iter().copied().find(|m| *m != Metric::L2).unwrap_or(Metric::L2);
    ok(store.create_kind("zeta", 3, metric).await, "create zeta");
    ok(store.create_kind("alpha", 2, Metric::L2).await, "create alpha");
    for i in 0..5 {
        ok(store.insert("alpha", &format!("a{i}"), &[i as f32, 1.0], 1).await, "insert");
    }
    ok(store.insert("zeta", "z", &[1.0, 2.0, 3.0], 1).await, "insert");
    let kinds = ok(store.kinds().await, "kinds");
    let got: Vec<(&str, usize, Metric, u64)> =
        kinds.iter().map(|k| (k.kind.as_str(), k.dim, k.metric, k.count)).collect();
    assert_eq!(got, [("alpha", 2, Metric::L2, 5), ("zeta", 3, metric, 1)]);
    let info = ok(store.kind_info("zeta").await, "kind_info").expect("zeta");
    assert_eq!(info.metric, metric);
}

/// drop_kind removes the vectors, the dimension and the metric; the kind can be made anew.
pub async fn drop_kind_forgets_everything(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.insert("old", "a", &[1.0, 2.0], 1).await, "insert");
    ok(store.insert("kept", "a", &[1.0, 2.0], 1).await, "insert");
    assert!(ok(store.drop_kind("old").await, "drop"));
    assert!(!ok(store.drop_kind("old").await, "drop again"));
    assert!(!ok(store.drop_kind("never").await, "drop unknown"));
    assert!(ok(store.get("old", "a").await, "get").is_none());
    ok(store.insert("old", "b", &[1.0, 2.0, 3.0, 4.0], 1).await, "a new dimension after drop");
    let kinds = ok(store.kinds().await, "kinds");
    let old = kinds.iter().find(|k| k.kind == "old").expect("recreated");
    assert_eq!((old.dim, old.count), (4, 1));
    assert!(ok(store.get("kept", "a").await, "get").is_some(), "dropping one kind touched another");
}

/// settle (finishing deferred work such as an index build after a load) keeps every record
/// and count, finds each stored vector first, and is a no-op for an unknown kind.
pub async fn settle_keeps_records_and_answers(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        assert!(ok(store.settle("ja3").await, "settle").is_none());
        return;
    }
    let items: Vec<NewVector> =
        (0..40).map(|i| NewVector::new(format!("s{i:02}"), vec![i as f32, (i % 7) as f32, 1.0])).collect();
    ok(store.create_kind("ja3", 3, Metric::L2).await, "create_kind");
    ok(store.insert_many("ja3", &items).await, "insert_many");
    ok(store.settle("ja3").await, "settle");
    assert!(ok(store.settle("never_written").await, "settle an unknown kind").is_none());
    let info = ok(store.kind_info("ja3").await, "kind_info").expect("ja3");
    assert_eq!(info.count, 40);
    for item in &items {
        let hits = ok(store.knn("ja3", &item.vector, 1).await, "knn");
        assert_eq!(hits.first().map(|hit| hit.id.as_str()), Some(item.id.as_str()), "after settle");
    }
    ok(store.insert("ja3", "late", &[100.0, 100.0, 100.0], 2).await, "insert after settle");
    let hits = ok(store.knn("ja3", &[100.0, 100.0, 99.0], 1).await, "knn");
    assert_eq!(hits.first().map(|hit| hit.id.as_str()), Some("late"));
}

/// create_kind on an existing kind with the same dimension and metric succeeds and keeps its data.
pub async fn create_kind_is_idempotent(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    ok(store.create_kind("ja3", 2, Metric::L2).await, "create");
    ok(store.insert("ja3", "a", &[1.0, 2.0], 1).await, "insert");
    let info = ok(store.create_kind("ja3", 2, Metric::L2).await, "create again");
    assert_eq!((info.dim, info.metric, info.count), (2, Metric::L2, 1));
    assert!(ok(store.get("ja3", "a").await, "get").is_some());
}

/// A 3,000-dimension kind stores, returns bit-exact and searches like any other.
pub async fn high_dimension_kind(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let dim = 3000.min(store.capabilities().max_dim);
    let mut rng = Rng::new(3000);
    let vectors: Vec<Vec<f32>> = (0..20).map(|_| rng.gaussian_vector(dim)).collect();
    let items: Vec<NewVector> =
        vectors.iter().enumerate().map(|(i, v)| NewVector::new(format!("h{i:02}"), v.clone())).collect();
    ok(store.insert_many("wide", &items).await, "insert_many");
    for (i, v) in vectors.iter().enumerate() {
        let record = ok(store.get("wide", &format!("h{i:02}")).await, "get").expect("stored");
        assert_eq!(record.dim, dim);
        assert!(bits(&record.vector) == bits(v), "vector h{i:02} changed");
    }
    let hits = ok(store.knn("wide", &vectors[13], 3).await, "knn");
    assert_eq!(hits[0].id, "h13");
    assert!(hits[0].distance.abs() < 1e-3, "{hits:?}");
}

/// Ids are stored verbatim, whatever UTF-8 they hold (SQL and JSON metacharacters, unicode,
/// whitespace, 512 bytes), and scan orders them by bytes.
pub async fn unicode_ids_round_trip(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let long = "é".repeat(MAX_ID_BYTES / 2);
    let odd_ids = [
        "plain",
        "' OR '1'='1",
        "\"; DROP TABLE vectors; --",
        "%",
        "_",
        "a%b_c",
        "\\",
        "/etc/passwd",
        "../..",
        "{\"id\":1}",
        "🦀 crab",
        "日本語",
        "ǅ",
        "e\u{301}",
        "\u{e9}",
        "\u{202e}rtl",
        " ",
        "\t\n",
        "null",
        "NULL",
        "\u{7f}",
        "\u{1}",
        long.as_str(),
    ];
    for (i, id) in odd_ids.iter().enumerate() {
        ok(store.insert("odd", id, &[i as f32], 1).await, &format!("insert {id:?}"));
    }
    for (i, id) in odd_ids.iter().enumerate() {
        let record = ok(store.get("odd", id).await, "get").unwrap_or_else(|| panic!("id {id:?} lost"));
        assert_eq!(record.id, *id);
        assert_eq!(record.vector, [i as f32], "id {id:?} returned another record");
        let hits = ok(store.knn_with("odd", &[i as f32], &KnnOptions::new(1)).await, "knn");
        assert_eq!(hits[0].id, *id);
    }
    let scanned: Vec<String> = ok(store.scan_all("odd", 5).await, "scan").into_iter().map(|r| r.id).collect();
    let mut expected: Vec<String> = odd_ids.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(scanned, expected, "scan must order ids by bytes");
    assert!(ok(store.delete("odd", "e\u{301}").await, "delete"));
    assert!(ok(store.get("odd", "\u{e9}").await, "get").is_some(), "unicode look-alikes are distinct ids");
}

/// Vectors come back bit for bit: -0.0, subnormals, extremes and random values.
pub async fn vectors_round_trip_bit_exact(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    let special = vec![
        -0.0,
        0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(0x007f_ffff),
        f32::MAX,
        f32::MIN,
        1.0 / 3.0,
        std::f32::consts::PI,
        1e-38,
        -1e38,
        0.1,
    ];
    let mut rng = Rng::new(42);
    let mut expected = vec![("special".to_owned(), special.clone())];
    for i in 0..50 {
        expected.push((
            format!("r{i}"),
            (0..special.len()).map(|_| f32::from_bits(rng.next_u64() as u32 & 0xbfff_ffff)).collect(),
        ));
    }
    let items: Vec<NewVector> = expected.iter().map(|(id, v)| NewVector::new(id.clone(), v.clone())).collect();
    ok(store.insert_many("bits", &items).await, "insert_many");
    ok(store.insert("bits", "single", &special, 1).await, "insert");
    expected.push(("single".to_owned(), special));
    let snap = snapshot(&*store).await;
    for (id, vector) in &expected {
        let got = &snap.records[&("bits".to_owned(), id.clone())].0;
        assert!(got == &bits(vector), "{id}: stored {got:x?}, wrote {:x?}", bits(vector));
    }
}
