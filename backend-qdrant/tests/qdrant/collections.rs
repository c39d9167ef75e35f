//! Qdrant-specific behaviour on a real server, each test under its own collection prefix
//! (removed afterwards): settings reaching the collections, the collection and point layout,
//! creation races between processes, foreign and newer collections, batching, ties beyond
//! `k + 1`, and keyset scans over ids that share long prefixes. Skipped, loudly, without a server.

use std::collections::HashMap;
use std::sync::Arc;

use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    CreateCollectionBuilder, DeleteCollectionBuilder, DeleteFieldIndexCollectionBuilder, DeletePayloadPointsBuilder,
    Distance, Filter, GetPointsBuilder, UpdateCollectionBuilder, Value, VectorParamsBuilder, vectors_config,
};
use vectorstore_conformance::{Ctx, run_case};
use vectorstore_core::{ErrorKind, KnnOptions, Metric, NewVector, VectorStore, VectorStoreExt};
use vectorstore_testkit::servers::ServerFactory;
use vectorstore_testkit::servers::qdrant::shared;

/// Runs `body` as a case on a fresh prefix of the shared server, with extra options.
macro_rules! qdrant_case {
    ($name:ident, [$(($key:expr, $value:expr)),* $(,)?], $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let factory = ServerFactory::qdrant()$(.with_option($key, $value))*;
            run_case(&factory, stringify!($name), |ctx| Box::pin($body(ctx))).await;
        }
    };
}

/// A raw client on the shared server, and the prefix the case's store uses.
async fn inspect(store: &dyn VectorStore) -> (Qdrant, String) {
    let server = shared().await.expect("the case runs, so the server is there");
    let options = vectorstore_qdrant::QdrantConfig::from_config(&server.config()).unwrap();
    let client = Qdrant::from_url(server.url()).api_key(options.api_key).skip_compatibility_check().build().unwrap();
    let health = store.health_detailed().await;
    let prefix = health.detail.get("collection_prefix").cloned().expect("the detailed health names the prefix");
    (client, prefix)
}

qdrant_case!(
    cluster_settings_reach_the_collection,
    [
        ("SHARD_NUMBER", "3"),
        ("REPLICATION_FACTOR", "1"),
        ("WRITE_CONSISTENCY", "all"),
        ("READ_CONSISTENCY", "all"),
        ("WRITE_ORDERING", "strong"),
        ("ON_DISK", "true"),
        ("HNSW_M", "8"),
        ("HNSW_EF_CONSTRUCT", "64"),
        ("HNSW_EF", "32"),
    ],
    settings_body
);

async fn settings_body(ctx: &Ctx) {
    let store = ctx.store().await;
    store.create_kind("ja3", 4, Metric::Dot).await.unwrap();
    let (client, prefix) = inspect(&*store).await;
    let info = client.collection_info(format!("{prefix}ja3")).await.unwrap().result.unwrap();
    let config = info.config.unwrap();
    let params = config.params.unwrap();
    assert_eq!(params.shard_number, 3);
    assert_eq!(params.replication_factor, Some(1));
    assert_eq!(params.write_consistency_factor, Some(1));
    let Some(vectors_config::Config::Params(vectors)) = params.vectors_config.and_then(|v| v.config) else {
        panic!("one unnamed vector expected");
    };
    assert_eq!((vectors.size, vectors.distance), (4, Distance::Dot as i32));
    // Servers before 1.19 report `on_disk`, newer ones `memory`.
    #[allow(deprecated)]
    let on_disk = vectors.on_disk == Some(true) || vectors.memory == Some(qdrant_client::qdrant::Memory::Cold as i32);
    assert!(on_disk, "{vectors:?}");
    let hnsw = config.hnsw_config.unwrap();
    assert_eq!(hnsw.m, Some(0), "the records carry no graph: searches go through the companion");
    // The companion (one point per distinct vector) holds the graph, with the settings asked for.
    let companion = client.collection_info(format!("{prefix}ja3-distinct")).await.unwrap().result.unwrap();
    let companion = companion.config.unwrap();
    let companion_params = companion.params.unwrap();
    assert_eq!((companion_params.shard_number, companion_params.replication_factor), (3, Some(1)));
    let hnsw = companion.hnsw_config.unwrap();
    assert_eq!((hnsw.m, hnsw.ef_construct), (Some(8), Some(64)));
    assert_eq!(config.metadata.get("decnet_vectorstore_kind").and_then(Value::as_str).map(String::as_str), Some("ja3"));

    // The store works end to end with these settings, across the three shards.
    let items: Vec<NewVector> =
        (0..300).map(|i| NewVector::new(format!("id-{:03}", (i * 37) % 300), vec![i as f32, 1.0, -1.0, 0.5])).collect();
    store.insert_many("ja3", &items).await.unwrap();
    // Requested without waiting at creation, applied before the first write.
    let info = client.collection_info(format!("{prefix}ja3")).await.unwrap().result.unwrap();
    assert!(info.payload_schema.contains_key("extractor_version"), "{:?}", info.payload_schema.keys());
    let scanned: Vec<String> = store.scan_all("ja3", 17).await.unwrap().into_iter().map(|r| r.id).collect();
    let mut expected: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    expected.sort();
    assert_eq!(scanned, expected);
    // More ids than one read takes: the scan built the sort indexes.
    let info = client.collection_info(format!("{prefix}ja3")).await.unwrap().result.unwrap();
    for field in ["sort_0", "sort_1", "sort_2", "sort_3", "sort_4"] {
        assert!(info.payload_schema.contains_key(field), "no index on {field}: {:?}", info.payload_schema.keys());
    }
    let hits = store.knn("ja3", &[1.0, 0.0, 0.0, 0.0], 3).await.unwrap();
    assert_eq!(hits[0].distance, -299.0, "{hits:?}");
    assert_eq!(store.kinds().await.unwrap()[0].count, 300);
}

qdrant_case!(points_keep_the_id_version_and_original_vector, [], layout_body);

async fn layout_body(ctx: &Ctx) {
    let store = ctx.store().await;
    store.create_kind("dwell", 3, Metric::Cosine).await.unwrap();
    let original = [3.0f32, -4.0, 0.1];
    let before = vectorstore_core::now_ms();
    store.insert("dwell", "session/42", &original, 7).await.unwrap();
    let after = vectorstore_core::now_ms();
    let (client, prefix) = inspect(&*store).await;
    let uuid = uuid_v5_of("dwell", "session/42");
    let points = client
        .get_points(
            GetPointsBuilder::new(format!("{prefix}dwell"), vec![uuid.into()]).with_payload(true).with_vectors(true),
        )
        .await
        .unwrap()
        .result;
    assert_eq!(points.len(), 1, "the point id is the UUIDv5 of (kind, id)");
    let payload = &points[0].payload;
    assert_eq!(payload.get("id").and_then(Value::as_str).map(String::as_str), Some("session/42"));
    assert_eq!(payload.get("extractor_version").and_then(Value::as_integer), Some(7));
    let written = payload.get("written_at_ms").and_then(Value::as_integer).expect("an integer write time");
    assert!((before as i64..=after as i64).contains(&written), "written at {written}, not in [{before}, {after}]");
    // Qdrant keeps cosine vectors normalised; the store still returns what was written.
    let record = store.get("dwell", "session/42").await.unwrap().unwrap();
    assert_eq!(record.vector, original);
    assert_eq!(record.extractor_version, 7);
}

/// The point id the store gives `(kind, id)`: the UUIDv5 of `kind NUL id` in the store's
/// fixed namespace (recomputed independently here).
fn uuid_v5_of(kind: &str, id: &str) -> String {
    let namespace = uuid::Uuid::from_u128(0x6a1f_0c4e_5d2b_4f0a_9c3e_8b7d_2e1f_4a60);
    let mut name = kind.as_bytes().to_vec();
    name.push(0);
    name.extend_from_slice(id.as_bytes());
    uuid::Uuid::new_v5(&namespace, &name).to_string()
}

qdrant_case!(a_version_1_collection_upgrades_once_with_every_record_intact, [], upgrade_body);

/// What schema version 1 wrote, made from a current collection: no write time on any point,
/// no index on it, version 1 in the collection's metadata.
async fn make_version_1(client: &Qdrant, collection: &str) {
    let every_point = Filter::must([]);
    client
        .delete_payload(
            DeletePayloadPointsBuilder::new(collection, vec!["written_at_ms".to_owned()])
                .points_selector(every_point)
                .wait(true),
        )
        .await
        .unwrap();
    client
        .delete_field_index(DeleteFieldIndexCollectionBuilder::new(collection, "written_at_ms").wait(true))
        .await
        .unwrap();
    let mut update = UpdateCollectionBuilder::new(collection).build();
    update.metadata = HashMap::from([("decnet_vectorstore_schema".to_owned(), Value::from(1i64))]);
    client.update_collection(update).await.unwrap();
}

async fn schema_of(client: &Qdrant, collection: &str) -> (Option<i64>, bool) {
    let info = client.collection_info(collection).await.unwrap().result.unwrap();
    let version =
        info.config.as_ref().and_then(|c| c.metadata.get("decnet_vectorstore_schema")).and_then(Value::as_integer);
    (version, info.payload_schema.contains_key("written_at_ms"))
}

async fn upgrade_body(ctx: &Ctx) {
    let writer = ctx.store().await;
    let items: Vec<NewVector> = (0..300)
        .map(|i| NewVector::new(format!("s-{i:04}"), vec![i as f32, 1.0, 0.5]).with_extractor_version(1 + i % 2))
        .collect();
    writer.insert_many("ja3", &items).await.unwrap();
    writer.insert("dwell", "a", &[0.0, 3.0], 4).await.unwrap();
    let before_snapshot = writer.scan_all("ja3", 100).await.unwrap();
    let (client, prefix) = inspect(&*writer).await;
    for kind in ["ja3", "dwell"] {
        make_version_1(&client, &format!("{prefix}{kind}")).await;
        assert_eq!(schema_of(&client, &format!("{prefix}{kind}")).await, (Some(1), false));
    }

    // Another process opens the old collections.
    let before = vectorstore_core::now_ms();
    let reader = ctx.store().await;
    let upgraded = reader.scan_all("ja3", 100).await.unwrap();
    let after = vectorstore_core::now_ms();
    assert_eq!(upgraded.len(), 300);
    for (old, new) in before_snapshot.iter().zip(&upgraded) {
        assert_eq!((&old.id, &old.vector, old.extractor_version), (&new.id, &new.vector, new.extractor_version));
        assert!((before..=after).contains(&new.written_at_ms), "{}: written at {}", new.id, new.written_at_ms);
    }
    assert_eq!(
        schema_of(&client, &format!("{prefix}ja3")).await,
        (Some(i64::from(vectorstore_core::SCHEMA_VERSION)), true)
    );
    let dwell = reader.get("dwell", "a").await.unwrap().expect("stored");
    assert!((before..=vectorstore_core::now_ms()).contains(&dwell.written_at_ms), "{dwell:?}");
    assert_eq!(
        schema_of(&client, &format!("{prefix}dwell")).await.0,
        Some(i64::from(vectorstore_core::SCHEMA_VERSION))
    );

    // A third opener finds nothing left to do: the times stay.
    let third = ctx.store().await;
    let again = third.scan_all("ja3", 100).await.unwrap();
    assert_eq!(
        again.iter().map(|r| r.written_at_ms).collect::<Vec<_>>(),
        upgraded.iter().map(|r| r.written_at_ms).collect::<Vec<_>>()
    );
    // New writes carry their own time, and expire tells the ages apart.
    while vectorstore_core::now_ms() <= after {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    third.insert("ja3", "fresh", &[0.0, 0.0, 1.0], 1).await.unwrap();
    assert_eq!(third.expire("ja3", after + 1).await.unwrap(), 300);
    let left: Vec<String> = third.scan_all("ja3", 100).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(left, ["fresh"]);
}

qdrant_case!(creation_races_between_processes_are_settled, [], race_body);

async fn race_body(ctx: &Ctx) {
    // Two stores on the same prefix stand for two processes.
    let a = ctx.store().await;
    let b = ctx.store().await;
    let (made_a, made_b) = tokio::join!(a.create_kind("ja3", 3, Metric::L2), b.create_kind("ja3", 3, Metric::L2));
    assert_eq!(made_a.unwrap().dim, 3);
    assert_eq!(made_b.unwrap().dim, 3);
    let (first_a, first_b) =
        tokio::join!(a.insert("hassh", "x", &[1.0, 2.0], 1), b.insert("hassh", "y", &[3.0, 4.0], 1));
    first_a.unwrap();
    first_b.unwrap();
    assert_eq!(
        a.kinds().await.unwrap().iter().map(|k| (k.kind.as_str(), k.count)).collect::<Vec<_>>(),
        [("hassh", 2), ("ja3", 0)]
    );
    let err = b.create_kind("ja3", 5, Metric::L2).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch);

    // A kind dropped and re-created with another dimension by one process is seen by the other.
    assert!(a.drop_kind("hassh").await.unwrap());
    a.insert("hassh", "z", &[1.0, 2.0, 3.0], 1).await.unwrap();
    let err = b.insert("hassh", "w", &[1.0, 2.0], 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch, "{err}");
    b.insert("hassh", "w", &[1.0, 2.0, 4.0], 1).await.unwrap();
    assert_eq!(a.get("hassh", "w").await.unwrap().unwrap().vector, [1.0, 2.0, 4.0]);
}

qdrant_case!(foreign_and_newer_collections_are_not_adopted, [], foreign_body);

async fn foreign_body(ctx: &Ctx) {
    let store = ctx.store().await;
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.unwrap();
    let (client, prefix) = inspect(&*store).await;
    let alien = format!("{prefix}alien");
    client
        .create_collection(
            CreateCollectionBuilder::new(&alien).vectors_config(VectorParamsBuilder::new(2, Distance::Euclid)),
        )
        .await
        .unwrap();
    let mut future = CreateCollectionBuilder::new(format!("{prefix}future"))
        .vectors_config(VectorParamsBuilder::new(2, Distance::Euclid))
        .build();
    future.metadata = HashMap::from([
        ("decnet_vectorstore_schema".to_owned(), Value::from(99i64)),
        ("decnet_vectorstore_kind".to_owned(), Value::from("future")),
        ("decnet_vectorstore_metric".to_owned(), Value::from("l2")),
    ]);
    client.create_collection(future).await.unwrap();

    let err = store.insert("alien", "a", &[1.0, 2.0], 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IncompatibleSchema, "{err}");
    assert_eq!(store.drop_kind("alien").await.unwrap_err().kind(), ErrorKind::IncompatibleSchema);
    assert_eq!(store.get("future", "a").await.unwrap_err().kind(), ErrorKind::IncompatibleSchema);
    assert_eq!(store.kinds().await.unwrap_err().kind(), ErrorKind::IncompatibleSchema);
    client.delete_collection(DeleteCollectionBuilder::new(format!("{prefix}future"))).await.unwrap();
    let kinds: Vec<String> = store.kinds().await.unwrap().into_iter().map(|k| k.kind).collect();
    assert_eq!(kinds, ["ja3"], "a collection without this store's metadata is not a kind");
    client.delete_collection(DeleteCollectionBuilder::new(alien)).await.unwrap();
}

qdrant_case!(batches_are_chunked_and_the_last_repeat_wins, [("BATCH_SIZE", "7")], batch_body);

async fn batch_body(ctx: &Ctx) {
    let store = ctx.store().await;
    let mut items: Vec<NewVector> = (0..100).map(|i| NewVector::new(format!("b{i:03}"), vec![i as f32])).collect();
    items[0] = NewVector::new("dup", vec![-1.0]);
    items[99] = NewVector::new("dup", vec![-99.0]).with_extractor_version(3);
    store.insert_many("batch", &items).await.unwrap();
    let record = store.get("batch", "dup").await.unwrap().unwrap();
    assert_eq!((record.vector, record.extractor_version), (vec![-99.0], 3));
    assert_eq!(store.kinds().await.unwrap()[0].count, 99);
}

qdrant_case!(ties_beyond_k_plus_one_are_cut_by_id, [], ties_body);

async fn ties_body(ctx: &Ctx) {
    let store = ctx.store().await;
    store.create_kind("ties", 2, Metric::L2).await.unwrap();
    // 300 identical vectors: Qdrant returns any of them first; the store must return the
    // smallest ids.
    let mut items: Vec<NewVector> =
        (0..300).map(|i| NewVector::new(format!("tie-{:03}", (i * 113) % 300), vec![1.0, 1.0])).collect();
    items.push(NewVector::new("closer", vec![1.0, 1.5]));
    items.push(NewVector::new("v2-tie", vec![1.0, 1.0]).with_extractor_version(2));
    store.insert_many("ties", &items).await.unwrap();
    let hits = store.knn("ties", &[1.0, 2.0], 4).await.unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["closer", "tie-000", "tie-001", "tie-002"], "{hits:?}");
    let hits = store.knn_with("ties", &[1.0, 2.0], &KnnOptions::new(2).extractor_version(1).max_distance(1.0)).await;
    let ids: Vec<String> = hits.unwrap().into_iter().map(|h| h.id).collect();
    assert_eq!(ids, ["closer", "tie-000"]);
    let all = store.knn("ties", &[1.0, 1.0], 302).await.unwrap();
    assert_eq!(all.len(), 302);
    assert_eq!(all[0].id, "tie-000");
}

qdrant_case!(scans_order_ids_sharing_long_prefixes, [], scan_body);

async fn scan_body(ctx: &Ctx) {
    let store: Arc<dyn VectorStore> = ctx.store().await;
    let mut ids = Vec::new();
    // Groups larger than a page that share 6, 12, 18, 24 and more than 30 leading bytes, next to
    // short and unique ids.
    for i in 0..150 {
        ids.push(format!("session-{i:04}"));
        ids.push(format!("session-2024-05-{i:03}"));
        ids.push(format!("ssh:session-2024-05-01T12:{i:02}"));
        ids.push(format!("attacker:2001:db8:0000:0000:0000:{i:04}"));
        ids.push(format!("attacker:2001:db8:0000:0000:0000:0000:ffff:{i:03}"));
        ids.push(format!("{}", i * 7919));
    }
    ids.extend(["s", "se", "session", "session-", "attacker:2001:db8:0000:0000:0000:0000:ffff:"].map(String::from));
    let items: Vec<NewVector> =
        ids.iter().enumerate().map(|(i, id)| NewVector::new(id.clone(), vec![i as f32])).collect();
    store.insert_many("deep", &items).await.unwrap();
    let mut expected = ids.clone();
    expected.sort();
    for page in [1usize, 9, 64, 150, 1000] {
        let scanned: Vec<String> = store.scan_all("deep", page).await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(scanned.len(), expected.len(), "page {page}");
        assert!(scanned == expected, "page {page}: not every id once, in byte order");
    }
    for after in ["session-2024-05-07", "attacker:2001:db8:0000:0000:0000:0000:ffff:1", "ssh:", "zzz", "0"] {
        let page = store.scan("deep", Some(after), 25).await.unwrap();
        let want: Vec<&String> = expected.iter().filter(|id| id.as_str() > after).take(25).collect();
        let got: Vec<&String> = page.iter().map(|r| &r.id).collect();
        assert_eq!(got, want, "after {after:?}");
    }
}

qdrant_case!(knn_batch_matches_single_searches, [], knn_batch_body);

/// Qdrant's batch query answers every query of a batch as `knn_with` does: through the HNSW
/// index, with ties at the k-th hit (40 copies of one vector), with filters, and across the
/// requests a large batch is split into (1,100 queries).
async fn knn_batch_body(ctx: &Ctx) {
    use vectorstore_conformance::data::{Rng, clustered};

    let store = ctx.store().await;
    let (mut vectors, _) = clustered(61, 3_000, 8, 10, 1.0);
    let duplicate = vec![25.0_f32; 8];
    vectors.extend(std::iter::repeat_n(duplicate.clone(), 40));
    let items: Vec<NewVector> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| NewVector::new(format!("p{i:05}"), v.clone()).with_extractor_version(1 + u32::from(i % 3 == 0)))
        .collect();
    for chunk in items.chunks(1_000) {
        store.insert_many("batch", chunk).await.unwrap();
    }
    let mut rng = Rng::new(0x9d7);
    let mut queries: Vec<Vec<f32>> =
        (0..1_090).map(|_| vectors[rng.below(3_000)].iter().map(|v| v + 0.05 * rng.gaussian()).collect()).collect();
    queries.extend(std::iter::repeat_n(duplicate.clone(), 10));
    let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let few = &queries[1_000..];
    for (options, queries) in [
        (KnnOptions::new(3), &queries[..]),
        (KnnOptions::new(10), few),
        (KnnOptions::new(45), few),
        (KnnOptions::new(10).extractor_version(2), few),
        (KnnOptions::new(20).max_distance(1.0), few),
    ] {
        let batch = store.knn_batch("batch", queries, &options).await.unwrap();
        assert_eq!(batch.len(), queries.len(), "{options:?}");
        for (n, (answer, query)) in batch.iter().zip(queries).enumerate() {
            let single = store.knn_with("batch", query, &options).await.unwrap();
            assert_eq!(answer, &single, "{options:?}, query {n}: the batch answer differs from knn_with");
        }
    }
    let ties = store.knn_batch("batch", &[&duplicate], &KnnOptions::new(30)).await.unwrap();
    let ids: Vec<String> = ties[0].iter().map(|hit| hit.id.clone()).collect();
    let expected: Vec<String> = (3_000..3_030).map(|i| format!("p{i:05}")).collect();
    assert_eq!(ids, expected, "the tie at the k-th hit is cut by id");
}

qdrant_case!(collections_written_before_vector_hashes_are_upgraded_and_searched_exactly, [], hashes_body);

/// What versions before vector hashes wrote, made from a current collection: no hash on any
/// point, no index on it.
async fn strip_hashes(client: &Qdrant, collection: &str) {
    client
        .delete_payload(
            DeletePayloadPointsBuilder::new(collection, vec!["vector_hash".to_owned()])
                .points_selector(Filter::must([]))
                .wait(true),
        )
        .await
        .unwrap();
    client
        .delete_field_index(DeleteFieldIndexCollectionBuilder::new(collection, "vector_hash").wait(true))
        .await
        .unwrap();
}

/// The vector hash of each point of `collection`, by id (`None`: the point has none).
async fn hashes_of(client: &Qdrant, collection: &str) -> HashMap<String, Option<i64>> {
    let points = client
        .scroll(qdrant_client::qdrant::ScrollPointsBuilder::new(collection).limit(10_000).with_payload(true))
        .await
        .unwrap()
        .result;
    points
        .into_iter()
        .map(|p| {
            let id = p.payload.get("id").and_then(|v| v.as_str()).unwrap().clone();
            (id, p.payload.get("vector_hash").and_then(Value::as_integer))
        })
        .collect()
}

async fn hashes_body(ctx: &Ctx) {
    let writer = ctx.store().await;
    // A group of 300 identical vectors, its members spread through the id order, among others.
    let shared = [3.0_f32, -1.0, 0.5];
    let items: Vec<NewVector> = (0..500)
        .map(|i| {
            let vector = if i % 5 < 3 { shared.to_vec() } else { vec![i as f32, 1.0, 0.5] };
            NewVector::new(format!("s-{i:04}"), vector)
        })
        .collect();
    let group: Vec<String> = (0..500).filter(|i| i % 5 < 3).map(|i| format!("s-{i:04}")).collect();
    let cosine: Vec<NewVector> = items
        .iter()
        .map(|item| NewVector::new(item.id.clone(), item.vector.iter().map(|v| v + 7.0).collect()))
        .collect();
    writer.insert_many("ja3", &items).await.unwrap();
    writer.create_kind("cmd", 3, Metric::Cosine).await.unwrap();
    writer.insert_many("cmd", &cosine).await.unwrap();
    let (client, prefix) = inspect(&*writer).await;
    for (kind, written) in [("ja3", &items), ("cmd", &cosine)] {
        let hashes = hashes_of(&client, &format!("{prefix}{kind}")).await;
        assert_eq!(hashes.len(), 500);
        for item in written.iter() {
            assert_eq!(
                hashes[&item.id],
                Some(vectorstore_qdrant::codec::vector_hash(&item.vector)),
                "{kind}: {} carries the hash of the vector written",
                item.id
            );
        }
    }
    let before = writer.scan_all("ja3", 100).await.unwrap();

    // Hashes gone under a store that already knows the kinds: searches see points without a
    // hash and take the legacy tie loop, still cutting the tie by id.
    for kind in ["ja3", "cmd"] {
        strip_hashes(&client, &format!("{prefix}{kind}")).await;
    }
    let smallest: Vec<&str> = group[..10].iter().map(String::as_str).collect();
    let hits = writer.knn("ja3", &shared, 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), smallest, "legacy loop: {hits:?}");

    // Another process opens the old collections: every point gets its hash, records unchanged.
    let reader = ctx.store().await;
    let hits = reader.knn("ja3", &shared, 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), smallest, "after the upgrade: {hits:?}");
    assert!(hits.iter().all(|h| h.distance == 0.0), "{hits:?}");
    assert_eq!(reader.scan_all("ja3", 100).await.unwrap(), before, "the upgrade changed no record");
    let query: Vec<f32> = shared.iter().map(|v| v + 7.0).collect();
    let hits = reader.knn("cmd", &query, 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), smallest, "cosine: {hits:?}");
    for (kind, written) in [("ja3", &items), ("cmd", &cosine)] {
        let hashes = hashes_of(&client, &format!("{prefix}{kind}")).await;
        for item in written.iter() {
            assert_eq!(
                hashes[&item.id],
                Some(vectorstore_qdrant::codec::vector_hash(&item.vector)),
                "{kind}: {}",
                item.id
            );
        }
        let info = client.collection_info(format!("{prefix}{kind}")).await.unwrap().result.unwrap();
        assert!(info.payload_schema.contains_key("vector_hash"), "{kind}: the hash index is back");
    }
}
