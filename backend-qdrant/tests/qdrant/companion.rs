//! The companion collection of distinct vectors on a real server: one point per distinct
//! vector, kept in step by every write and delete path, no graph on the records, and built for
//! kinds written before it existed (from nothing, and after a build cut short). Skipped, loudly,
//! without a server.

use std::collections::{BTreeSet, HashMap};

use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    CountPointsBuilder, DeleteCollectionBuilder, DeletePointsBuilder, PointsIdsList, ScrollPointsBuilder,
    UpdateCollectionBuilder, Value, point_id::PointIdOptions,
};
use vectorstore_conformance::{Ctx, run_case};
use vectorstore_core::{KnnOptions, Metric, NewVector, VectorStore, VectorStoreExt};
use vectorstore_testkit::servers::ServerFactory;
use vectorstore_testkit::servers::qdrant::shared;

macro_rules! qdrant_case {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            run_case(&ServerFactory::qdrant(), stringify!($name), |ctx| Box::pin($body(ctx))).await;
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

/// The companion's point ids read as vector hashes (the bits of the numeric id).
async fn companion_hashes(client: &Qdrant, prefix: &str, kind: &str) -> BTreeSet<i64> {
    let points =
        client.scroll(ScrollPointsBuilder::new(format!("{prefix}{kind}-distinct")).limit(10_000)).await.unwrap().result;
    points
        .into_iter()
        .map(|point| match point.id.and_then(|id| id.point_id_options) {
            Some(PointIdOptions::Num(number)) => number as i64,
            other => panic!("a companion point id is its vector hash as a number, not {other:?}"),
        })
        .collect()
}

fn hashes(vectors: &[&[f32]]) -> BTreeSet<i64> {
    vectors.iter().map(|vector| vectorstore_qdrant::codec::vector_hash(vector)).collect()
}

fn ids(hits: &[vectorstore_core::Neighbor]) -> Vec<&str> {
    hits.iter().map(|hit| hit.id.as_str()).collect()
}

const SHARED: [f32; 3] = [2.0, -1.0, 0.5];

/// 60 records sharing [`SHARED`] (ids `g-000`, `g-005`, ...) among 40 others of their own
/// vector; the distinct vectors' hashes.
fn group_and_others() -> (Vec<NewVector>, Vec<Vec<f32>>) {
    let mut items = Vec::new();
    let mut distinct = vec![SHARED.to_vec()];
    for i in 0..100 {
        if i % 5 < 3 {
            items.push(NewVector::new(format!("g-{i:03}"), SHARED.to_vec()));
        } else {
            let vector = vec![i as f32, 1.0, 0.5];
            distinct.push(vector.clone());
            items.push(NewVector::new(format!("o-{i:03}"), vector));
        }
    }
    (items, distinct)
}

qdrant_case!(the_companion_holds_each_distinct_vector_once_through_writes_and_deletes, follows_body);

async fn follows_body(ctx: &Ctx) {
    let store = ctx.store().await;
    let (items, distinct) = group_and_others();
    store.insert_many("ja3", &items).await.unwrap();
    let (client, prefix) = inspect(&*store).await;
    let refs: Vec<&[f32]> = distinct.iter().map(Vec::as_slice).collect();
    assert_eq!(companion_hashes(&client, &prefix, "ja3").await, hashes(&refs), "one point per distinct vector");
    let info = client.collection_info(format!("{prefix}ja3")).await.unwrap().result.unwrap();
    let m = info.config.and_then(|c| c.hnsw_config).and_then(|h| h.m);
    assert_eq!(m, Some(0), "the records carry no graph of their own");

    // Written again (another batch, single inserts): still one point per vector.
    store.insert("ja3", "g-late", &SHARED, 1).await.unwrap();
    store.insert_many("ja3", &items[..10]).await.unwrap();
    assert_eq!(companion_hashes(&client, &prefix, "ja3").await, hashes(&refs));
    let hits = store.knn("ja3", &SHARED, 3).await.unwrap();
    assert_eq!(ids(&hits), ["g-000", "g-001", "g-002"], "{hits:?}");

    // Deletes: the group keeps its point while one record holds the vector.
    let group: Vec<String> = items
        .iter()
        .filter(|item| item.vector == SHARED)
        .map(|item| item.id.clone())
        .chain(["g-late".to_owned()])
        .collect();
    let all_but_one: Vec<&str> = group[1..].iter().map(String::as_str).collect();
    assert_eq!(store.delete_many("ja3", &all_but_one).await.unwrap(), all_but_one.len() as u64);
    assert!(companion_hashes(&client, &prefix, "ja3").await.contains(&hashes(&[&SHARED]).into_iter().next().unwrap()));
    let hits = store.knn("ja3", &SHARED, 2).await.unwrap();
    assert_eq!(ids(&hits), [group[0].as_str(), "o-003"], "{hits:?}");
    assert!(store.delete("ja3", &group[0]).await.unwrap());
    let left: Vec<&[f32]> = refs[1..].to_vec();
    assert_eq!(companion_hashes(&client, &prefix, "ja3").await, hashes(&left), "the empty group's point is gone");
    let hits = store.knn("ja3", &SHARED, 1).await.unwrap();
    assert_eq!(ids(&hits), ["o-003"], "{hits:?}");

    // By version, and by age.
    let v2: Vec<NewVector> = (0..5)
        .map(|i| NewVector::new(format!("v2-{i}"), vec![-5.0, i as f32, 0.0]).with_extractor_version(2))
        .collect();
    store.insert_many("ja3", &v2).await.unwrap();
    store.insert("ja3", "o-shares-v2", &[-5.0, 0.0, 0.0], 1).await.unwrap();
    assert_eq!(store.delete_version("ja3", 2).await.unwrap(), 5);
    let mut expected = left.clone();
    expected.push(&[-5.0, 0.0, 0.0]);
    assert_eq!(
        companion_hashes(&client, &prefix, "ja3").await,
        hashes(&expected),
        "a vector a version-1 record still holds keeps its point"
    );
    let hits = store.knn_with("ja3", &[-5.0, 1.0, 0.0], &KnnOptions::new(2).extractor_version(2)).await.unwrap();
    assert!(hits.is_empty(), "{hits:?}");
    let now = vectorstore_core::now_ms();
    while vectorstore_core::now_ms() <= now {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    store.insert("ja3", "fresh", &[9.0, 9.0, 9.0], 1).await.unwrap();
    assert_eq!(store.expire("ja3", now + 1).await.unwrap(), 41);
    assert_eq!(companion_hashes(&client, &prefix, "ja3").await, hashes(&[&[9.0, 9.0, 9.0]]));
    let hits = store.knn("ja3", &SHARED, 5).await.unwrap();
    assert_eq!(ids(&hits), ["fresh"], "{hits:?}");

    // drop_kind takes the companion with it.
    assert!(store.drop_kind("ja3").await.unwrap());
    let names: Vec<String> = client.list_collections().await.unwrap().collections.into_iter().map(|c| c.name).collect();
    assert!(!names.iter().any(|name| name.starts_with(&format!("{prefix}ja3"))), "{names:?}");
}

qdrant_case!(kinds_written_before_the_companion_get_it_when_first_met, upgrade_body);

async fn upgrade_body(ctx: &Ctx) {
    let writer = ctx.store().await;
    let (items, distinct) = group_and_others();
    let cosine: Vec<NewVector> = items
        .iter()
        .map(|item| NewVector::new(item.id.clone(), item.vector.iter().map(|v| v + 7.0).collect()))
        .collect();
    writer.insert_many("ja3", &items).await.unwrap();
    writer.create_kind("cmd", 3, Metric::Cosine).await.unwrap();
    writer.insert_many("cmd", &cosine).await.unwrap();
    let (client, prefix) = inspect(&*writer).await;
    let refs: Vec<&[f32]> = distinct.iter().map(Vec::as_slice).collect();
    let shifted: Vec<Vec<f32>> = distinct.iter().map(|v| v.iter().map(|x| x + 7.0).collect()).collect();
    let shifted_refs: Vec<&[f32]> = shifted.iter().map(Vec::as_slice).collect();
    let expected_ja3: Vec<String> = (0..100).filter(|i| i % 5 < 3).take(10).map(|i| format!("g-{i:03}")).collect();
    let before = writer.scan_all("ja3", 30).await.unwrap();

    // As versions before the companion left them: ja3 with none, cmd with a build cut short
    // (marked incomplete, most of its points missing).
    client.delete_collection(DeleteCollectionBuilder::new(format!("{prefix}ja3-distinct"))).await.unwrap();
    let cmd_companion = format!("{prefix}cmd-distinct");
    let mut update = UpdateCollectionBuilder::new(&cmd_companion).build();
    update.metadata = HashMap::from([("decnet_vectorstore_distinct_complete".to_owned(), Value::from(false))]);
    client.update_collection(update).await.unwrap();
    let some: Vec<_> = hashes(&shifted_refs).into_iter().skip(5).map(|hash| (hash as u64).into()).collect();
    client
        .delete_points(DeletePointsBuilder::new(&cmd_companion).points(PointsIdsList { ids: some }).wait(true))
        .await
        .unwrap();

    // Another process meets the kinds: the companions are built, records untouched.
    let reader = ctx.store().await;
    let hits = reader.knn("ja3", &SHARED, 10).await.unwrap();
    assert_eq!(ids(&hits), expected_ja3.iter().map(String::as_str).collect::<Vec<_>>(), "{hits:?}");
    assert_eq!(companion_hashes(&client, &prefix, "ja3").await, hashes(&refs));
    let query: Vec<f32> = SHARED.iter().map(|v| v + 7.0).collect();
    let hits = reader.knn("cmd", &query, 10).await.unwrap();
    assert_eq!(ids(&hits), expected_ja3.iter().map(String::as_str).collect::<Vec<_>>(), "cosine: {hits:?}");
    assert_eq!(companion_hashes(&client, &prefix, "cmd").await, hashes(&shifted_refs));
    for companion in [format!("{prefix}ja3-distinct"), cmd_companion] {
        let info = client.collection_info(&companion).await.unwrap().result.unwrap();
        let complete = info.config.and_then(|c| c.metadata.get("decnet_vectorstore_distinct_complete").cloned());
        assert_eq!(complete.and_then(|v| v.as_bool()), Some(true), "{companion} is marked complete");
    }
    assert_eq!(reader.scan_all("ja3", 30).await.unwrap(), before, "the build changed no record");
    let count = client.count(CountPointsBuilder::new(format!("{prefix}ja3")).exact(true)).await.unwrap();
    assert_eq!(count.result.unwrap().count, 100);

    // The distinct search reads the companion too.
    let distinct_hits = reader.knn_distinct("ja3", &SHARED, &KnnOptions::new(2), 2).await.unwrap();
    assert_eq!(distinct_hits[0].count, 60, "{distinct_hits:?}");
    assert_eq!(distinct_hits[0].ids, ["g-000", "g-001"], "{distinct_hits:?}");
    assert_eq!(distinct_hits[1].count, 1, "{distinct_hits:?}");
}
