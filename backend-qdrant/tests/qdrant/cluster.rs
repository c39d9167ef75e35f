//! The conformance suite and the cluster-specific checks on a local cluster of three Qdrant
//! peers (`vectorstore_testkit::servers::qdrant::shared_cluster`, started from
//! `DECNET_TEST_QDRANT_BIN` or `qdrant` on `PATH`): kinds of 3 shards with 2 replicas each, and
//! every acknowledged write applied by both replicas (`WRITE_CONSISTENCY=all`). Skipped, loudly,
//! without a `qdrant` executable (a failure when `DECNET_TEST_REQUIRE` lists qdrant).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use vectorstore_conformance::{Unavailable, skip, unique_tag};
use vectorstore_core::{Config, ErrorKind, KnnOptions, Metric, NewVector, VectorStore, distance};
use vectorstore_qdrant::{NAME, QdrantStore};
use vectorstore_testkit::servers::qdrant::{CLUSTER_PEERS, QdrantTestServer, shared_cluster};

/// Collection changes go through the cluster's consensus, which takes tens of seconds on a busy
/// 2-core machine running three peers: more than the default 30 s request timeout.
const CLUSTER_TIMEOUT_MS: &str = "90000";

mod qdrant_cluster {
    use super::CLUSTER_TIMEOUT_MS;

    vectorstore_conformance::conformance_tests!(
        vectorstore_testkit::servers::ServerFactory::qdrant_cluster()
            .with_option("SHARD_NUMBER", "3")
            .with_option("REPLICATION_FACTOR", "2")
            .with_option("WRITE_CONSISTENCY", "all")
            .with_option("TIMEOUT_MS", CLUSTER_TIMEOUT_MS)
    );
}

async fn cluster(what: &str) -> Option<QdrantTestServer> {
    match shared_cluster().await {
        Ok(server) => Some(server),
        Err(Unavailable(reason)) => {
            skip("qdrant", what, &reason);
            None
        }
    }
}

/// Kinds of 3 shards with 2 replicas under their own prefix.
fn replicated(server: &QdrantTestServer, prefix: &str) -> Config {
    server
        .config()
        .with_option(NAME, "SHARD_NUMBER", "3")
        .with_option(NAME, "REPLICATION_FACTOR", "2")
        .with_option(NAME, "WRITE_CONSISTENCY", "all")
        .with_option(NAME, "TIMEOUT_MS", CLUSTER_TIMEOUT_MS)
        .with_option(NAME, "COLLECTION_PREFIX", format!("{prefix}_{}_", unique_tag()))
}

async fn open(config: &Config) -> QdrantStore {
    let store = QdrantStore::from_config(config).unwrap();
    store.initialize().await.unwrap();
    store
}

/// Ids in groups sharing their first 6 bytes (100 per group), some sharing 30 bytes, so that
/// ordered scrolls meet ties; vectors in 7 groups of equal vectors, so that searches meet ties.
fn records() -> Vec<NewVector> {
    let mut ids: Vec<String> = (0..10_000).map(|n| format!("s-{n:06}")).collect();
    ids.extend((0..60).map(|n| format!("{}{n}", "x".repeat(30))));
    ids.into_iter()
        .enumerate()
        .map(|(n, id)| NewVector::new(id, vec![(n % 7) as f32, 1.0, 2.0]).with_extractor_version(1 + (n % 3) as u32))
        .collect()
}

/// Every read consistency the store accepts scans each record exactly once, in order, and a
/// search never returns a point twice, more than `k` points or a distance that is not the
/// stored vector's; searches are exact, ties cut by id. Qdrant 1.18.3 merges the answers of
/// several replicas as if they listed the same points in the same order, which ordered
/// scrolls and searches over equal values break (repeats, points left out, short pages): the
/// scan must not depend on it, and a search must not end inside a tie the merge cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_and_searches_are_exact_under_every_read_consistency() {
    let Some(server) = cluster("cluster_read_consistency").await else { return };
    let base = replicated(&server, "consistency");
    let writer = open(&base).await;
    let items = records();
    writer.create_kind("ja3", 3, Metric::L2).await.unwrap();
    for batch in items.chunks(2_000) {
        writer.insert_many("ja3", batch).await.unwrap();
    }
    let mut expected: Vec<String> = items.iter().map(|item| item.id.clone()).collect();
    expected.sort();
    let query = [0.0, 1.0, 2.0];
    let mut nearest: Vec<(f32, String)> =
        items.iter().map(|item| (distance::distance(Metric::L2, &item.vector, &query), item.id.clone())).collect();
    nearest.sort_by(|a, b| distance::cmp_hits(a.0, &a.1, b.0, &b.1));
    let stored: std::collections::HashMap<&str, f32> = nearest.iter().map(|(d, id)| (id.as_str(), *d)).collect();

    for consistency in [None, Some("1"), Some("2"), Some("majority"), Some("quorum"), Some("all")] {
        let config = match consistency {
            Some(value) => base.clone().with_option(NAME, "READ_CONSISTENCY", value),
            None => base.clone(),
        };
        let store = open(&config).await;
        let shown = consistency.unwrap_or("default");
        // Counts per version and reads by id are exact too: no replica counted twice.
        let kinds = store.kinds().await.unwrap();
        let want_versions: std::collections::BTreeMap<u32, u64> =
            (1..=3).map(|v| (v, items.iter().filter(|item| item.extractor_version == v).count() as u64)).collect();
        assert_eq!(
            (kinds[0].count, &kinds[0].versions),
            (items.len() as u64, &want_versions),
            "read consistency {shown}: counts per version"
        );
        let asked: Vec<&str> = expected.iter().step_by(7).map(String::as_str).chain(["absent"]).collect();
        let got = store.get_many("ja3", &asked).await.unwrap();
        let got: Vec<Option<&str>> = got.iter().map(|r| r.as_ref().map(|r| r.id.as_str())).collect();
        let want: Vec<Option<&str>> = asked.iter().map(|id| Some(*id).filter(|id| *id != "absent")).collect();
        assert!(got == want, "read consistency {shown}: get_many not one entry per id, in order");
        for page in [1_000, 250] {
            let mut seen = Vec::with_capacity(expected.len());
            let mut after: Option<String> = None;
            loop {
                let records = store.scan("ja3", after.as_deref(), page).await.unwrap();
                seen.extend(records.iter().map(|record| record.id.clone()));
                if records.len() < page {
                    break;
                }
                after = records.last().map(|record| record.id.clone());
            }
            let distinct: HashSet<&String> = seen.iter().collect();
            assert_eq!(
                (seen.len(), distinct.len()),
                (expected.len(), expected.len()),
                "read consistency {shown}, pages of {page}: records visited, distinct"
            );
            assert!(seen == expected, "read consistency {shown}, pages of {page}: not every id once, in order");
        }
        for k in [1, 50, 351, 1_000] {
            let hits = store.knn("ja3", &query, k).await.unwrap();
            let distinct: HashSet<&str> = hits.iter().map(|hit| hit.id.as_str()).collect();
            assert!(hits.len() <= k && distinct.len() == hits.len(), "read consistency {shown}, k = {k}: repeats");
            for pair in hits.windows(2) {
                let order = distance::cmp_hits(pair[0].distance, &pair[0].id, pair[1].distance, &pair[1].id);
                assert!(order.is_lt(), "read consistency {shown}, k = {k}: not sorted: {pair:?}");
            }
            for hit in &hits {
                let stored = stored.get(hit.id.as_str()).expect("every hit is a stored record");
                assert!((hit.distance - stored).abs() <= 1e-4 * stored.max(1.0), "{hit:?}: distance {stored}");
            }
            let got: Vec<&str> = hits.iter().map(|hit| hit.id.as_str()).collect();
            let want: Vec<&str> = nearest.iter().take(k).map(|(_, id)| id.as_str()).collect();
            assert!(
                got == want,
                "read consistency {shown}, k = {k}: not the k nearest, ties cut by id: {} hits, first {:?}, want {} \
                 from {:?}",
                got.len(),
                got.first(),
                want.len(),
                want.first()
            );
        }
        store.close().await.unwrap();
    }
    writer.drop_kind("ja3").await.unwrap();
    writer.close().await.unwrap();
}

/// Qdrant accepts a replication factor above the number of peers and silently places one
/// replica per peer; the store refuses such a kind with a `Config` error naming the variable
/// (and leaves no collection behind), quickly. Values Qdrant itself rejects (0) never reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_factor_above_the_peers_is_a_config_error() {
    let Some(server) = cluster("cluster_replication_factor").await else { return };
    let too_many = (CLUSTER_PEERS + 2).to_string();
    let config = replicated(&server, "replicas").with_option(NAME, "REPLICATION_FACTOR", too_many.as_str());
    let store = open(&config).await;
    let started = Instant::now();
    let bounded = Duration::from_secs(60);
    let err =
        tokio::time::timeout(bounded, store.create_kind("ja3", 4, Metric::L2)).await.expect("no hang").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("REPLICATION_FACTOR") && err.to_string().contains(&too_many), "{err}");
    let err = tokio::time::timeout(bounded, store.insert("ja3", "a", &[1.0, 2.0, 3.0, 4.0], 1))
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(store.kinds().await.unwrap().is_empty(), "the refused collection is removed");
    #[allow(clippy::print_stderr)]
    {
        eprintln!("replication factor {too_many} on {CLUSTER_PEERS} peers refused in {:?}: {err}", started.elapsed());
    }

    // One replica per peer is accepted.
    let config = config.with_option(NAME, "REPLICATION_FACTOR", CLUSTER_PEERS.to_string());
    let store = open(&config).await;
    store.insert("ja3", "a", &[1.0, 2.0, 3.0, 4.0], 1).await.unwrap();
    assert_eq!(store.knn("ja3", &[1.0, 2.0, 3.0, 4.0], 1).await.unwrap()[0].id, "a");
    store.drop_kind("ja3").await.unwrap();

    for (key, value) in [("REPLICATION_FACTOR", "0"), ("SHARD_NUMBER", "0")] {
        let err = QdrantStore::from_config(&config.clone().with_option(NAME, key, value)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{key}={value}: {err}");
    }
}

/// Groups of identical vectors of 1 to 11 records on a line (group `g` at `[g, 0, 0]`), so that a
/// query at a group ties at distance 0 with its group and at every further distance with the two
/// groups either side. Placed by hash, a group's records fall unevenly on the 3 shards: a
/// shard's reply can end inside a tie that the others end beyond. Qdrant merges several
/// replicas' replies as if they listed tied points in the same order, so it leaves out the
/// points of such a shard that its replicas list differently, unseen in the collection's reply
/// (another shard's farther points fill it). Under every read consistency of several replicas,
/// each answer (single and batch, k from 1 to past the group) is the exact one, ties cut by id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_groups_spread_over_shards_are_cut_by_id_under_every_read_consistency() {
    let Some(server) = cluster("cluster_small_groups").await else { return };
    let base = replicated(&server, "groups");
    let writer = open(&base).await;
    let mut items = Vec::new();
    for group in 0..120_usize {
        for member in 0..1 + (group * 5) % 11 {
            items.push(NewVector::new(format!("g{group:03}-{member:02}"), vec![group as f32, 0.0, 0.0]));
        }
    }
    writer.create_kind("ja3", 3, Metric::L2).await.unwrap();
    // Batches of uneven sizes: replicas' segments end up laid out differently.
    for batch in items.chunks(97) {
        writer.insert_many("ja3", batch).await.unwrap();
    }
    let exact = |query: &[f32], k: usize| -> Vec<String> {
        let mut all: Vec<(f32, &str)> =
            items.iter().map(|item| (distance::distance(Metric::L2, &item.vector, query), item.id.as_str())).collect();
        all.sort_by(|a, b| distance::cmp_hits(a.0, a.1, b.0, b.1));
        all.into_iter().take(k).map(|(_, id)| id.to_owned()).collect()
    };
    let mut asked = 0;
    for consistency in ["2", "majority", "quorum", "all"] {
        let store = open(&base.clone().with_option(NAME, "READ_CONSISTENCY", consistency)).await;
        for group in (0..120_usize).step_by(3) {
            let query = [group as f32, 0.0, 0.0];
            let size = 1 + (group * 5) % 11;
            let ks = [1, 2, size, size + 1, 2 * size + 1, 3 * size + 2];
            for k in ks {
                let got: Vec<String> =
                    store.knn("ja3", &query, k).await.unwrap().into_iter().map(|hit| hit.id).collect();
                assert_eq!(got, exact(&query, k), "read consistency {consistency}, group {group}, k = {k}");
                asked += 1;
            }
            let queries: Vec<&[f32]> = vec![&query; 2];
            let k = size + 1;
            for answer in store.knn_batch("ja3", &queries, &KnnOptions::new(k)).await.unwrap() {
                let got: Vec<String> = answer.into_iter().map(|hit| hit.id).collect();
                assert_eq!(got, exact(&query, k), "read consistency {consistency}, group {group}, batch, k = {k}");
            }
        }
        store.close().await.unwrap();
    }
    assert_eq!(asked, 4 * 40 * 6);
    writer.drop_kind("ja3").await.unwrap();
    writer.close().await.unwrap();
}
