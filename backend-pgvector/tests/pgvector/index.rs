//! The HNSW index at work: PostgreSQL uses it for a plain kNN, large k and filters still give
//! min(k, count) correct rows, ties at the k-th hit are cut by id, recall@10 against the Fake
//! stays >= 0.95, and kinds too wide to index are scanned exactly.

use std::collections::HashSet;

use vectorstore_conformance::check::{Recall, compare_search};
use vectorstore_conformance::data::{Rng, clustered};
use vectorstore_core::{FakeVectorStore, KnnOptions, Metric, NewVector, SearchKind, VectorStore};
use vectorstore_pgvector::PgVectorStore;

/// Writes `vectors` as ids `s-000000`… (every third one with extractor version 2) to the store
/// and to a Fake, in batches of 1,000.
async fn load(store: &PgVectorStore, oracle: &FakeVectorStore, kind: &str, metric: Metric, vectors: &[Vec<f32>]) {
    store.create_kind(kind, vectors[0].len(), metric).await.expect("create_kind");
    oracle.create_kind(kind, vectors[0].len(), metric).await.expect("oracle create_kind");
    let items: Vec<NewVector> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| NewVector::new(format!("s-{i:06}"), v.clone()).with_extractor_version(1 + u32::from(i % 3 == 0)))
        .collect();
    for chunk in items.chunks(1000) {
        store.insert_many(kind, chunk).await.expect("insert_many");
        oracle.insert_many(kind, chunk).await.expect("oracle insert_many");
    }
    // The index is built once after a load (see `index_after_load`): have it now.
    store.settle(kind).await.expect("settle");
}

async fn fake() -> FakeVectorStore {
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("oracle");
    oracle
}

/// Refreshes the planner's statistics so that its choice does not depend on autovacuum's timing.
async fn analyze(url: &str, store: &PgVectorStore, kind: &str) {
    let mut connection = crate::common::connect(url).await;
    let sql = format!("ANALYZE \"{}\".\"kind_{kind}\"", store.config().schema);
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut connection).await.expect("analyze");
}

/// How many scans the server has counted on the kind's HNSW index (statistics arrive within
/// a second or so of each search).
async fn index_scans(url: &str, store: &PgVectorStore, kind: &str) -> i64 {
    let mut connection = crate::common::connect(url).await;
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut connection).await.expect("clear snapshot");
    sqlx::query_scalar("SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = $1 AND indexrelname = $2")
        .bind(&store.config().schema)
        .bind(format!("kind_{kind}_hnsw"))
        .fetch_one(&mut connection)
        .await
        .expect("index statistics")
}

/// On 12,000 vectors the planner serves a plain kNN with the kind's HNSW index (at 6,000 of
/// 8 dimensions, with ef_search 200, a sequential scan and a sort cost it less); the cosine and
/// dot kinds' queries fit their indexes too (shown on small kinds with sequential scans
/// disabled, so that the test stays quick).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_knn_uses_the_hnsw_index() {
    let Some(server) = crate::common::server("plain_knn_uses_the_hnsw_index").await else { return };
    let oracle = fake().await;
    let (vectors, _) = clustered(41, 12_000, 8, 10, 1.0);
    let no_seqscan = format!("{}?options=-c%20enable_seqscan%3Doff", server.url());
    for (kind, metric, url, count) in [
        ("plan_l2", Metric::L2, server.url(), 12_000),
        ("plan_cos", Metric::Cosine, no_seqscan.as_str(), 500),
        ("plan_dot", Metric::Dot, no_seqscan.as_str(), 500),
    ] {
        let config = crate::common::config(url, &[]);
        let _cleanup = crate::common::Cleanup(config.clone());
        let store = PgVectorStore::from_config(&config).expect("config");
        store.initialize().await.expect("initialize");
        load(&store, &oracle, kind, metric, &vectors[..count]).await;
        analyze(server.url(), &store, kind).await;
        let plan = store.explain_knn(kind, &vectors[5], &KnnOptions::new(10)).await.expect("explain").expect("kind");
        assert!(
            plan.contains(&format!("Index Scan using kind_{kind}_hnsw")),
            "{metric}: the index is not used:\n{plan}"
        );
        let hits = store.knn(kind, &vectors[5], 10).await.expect("knn");
        assert_eq!(hits.len(), 10);
        if metric == Metric::L2 {
            // Past the fifth run of a prepared statement the server may switch to a generic
            // plan, which must keep the index too.
            let before = index_scans(server.url(), &store, kind).await;
            for query in &vectors[..12] {
                store.knn(kind, query, 10).await.expect("knn");
            }
            let mut after = before;
            for _ in 0..50 {
                after = index_scans(server.url(), &store, kind).await;
                if after >= before + 12 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            assert!(after >= before + 12, "12 searches made {} index scans", after - before);
        }
        if metric != Metric::Dot {
            assert_eq!(hits[0].id, "s-000005", "{metric}: the query's own vector comes first: {hits:?}");
        }
    }
}

/// k = 1,000 and 5,000, with and without an extractor_version filter, give exactly
/// min(k, matching) hits in the contract's order, the same as the Fake's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_k_and_filters_return_min_k_count() {
    let Some((store, _cleanup)) = crate::common::store("large_k_and_filters_return_min_k_count", &[]).await else {
        return;
    };
    assert_eq!(store.capabilities().search, SearchKind::Approximate);
    let oracle = fake().await;
    let (vectors, _) = clustered(7, 6_000, 8, 12, 1.0);
    load(&store, &oracle, "wide_k", Metric::L2, &vectors).await;
    let mut recall = Recall::default();
    let mut rng = Rng::new(11);
    for options in [
        KnnOptions::new(1_000),
        KnnOptions::new(1_000).extractor_version(2),
        KnnOptions::new(5_000),
        KnnOptions::new(5_000).extractor_version(2),
        KnnOptions::new(10_000).extractor_version(1),
        KnnOptions::new(10).extractor_version(2),
        KnnOptions::new(300).max_distance(4.0),
    ] {
        let query = rng.gaussian_vector(8);
        compare_search(&store, &oracle, "wide_k", &query, &options, &mut recall).await;
    }
    assert!(recall.ratio() >= 0.95, "recall {:.4}", recall.ratio());
}

/// When many vectors are equally near, the k hits are the smallest ids among them, as the
/// contract orders ties, even when the index serves the search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ties_at_the_kth_hit_are_cut_by_id() {
    let Some(server) = crate::common::server("ties_at_the_kth_hit_are_cut_by_id").await else { return };
    let config = crate::common::config(server.url(), &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let oracle = fake().await;
    // 6,000 spread vectors, then 300 copies of one fingerprint (one attacker tool, many sessions).
    let (mut vectors, _) = clustered(99, 6_000, 4, 10, 1.0);
    let duplicate = vec![30.0, 30.0, 30.0, 30.0];
    vectors.extend(std::iter::repeat_n(duplicate.clone(), 300));
    load(&store, &oracle, "dupes", Metric::L2, &vectors).await;
    analyze(server.url(), &store, "dupes").await;
    let plan = store.explain_knn("dupes", &duplicate, &KnnOptions::new(10)).await.expect("explain").expect("kind");
    assert!(plan.contains("Index Scan using kind_dupes_hnsw"), "{plan}");
    for k in [1, 10, 299, 300] {
        let hits = store.knn("dupes", &duplicate, k).await.expect("knn");
        let expected = oracle.knn("dupes", &duplicate, k).await.expect("oracle");
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        let want: Vec<&str> = expected.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, want, "k = {k}");
    }
}

/// A batch search sends its queries in one statement that the kind's HNSW index serves for
/// each query, and every answer is exactly the single search's: through the index, with ties
/// at the k-th hit, with filters, and past the index's reach (k above 1,000, a scan).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knn_batch_is_one_indexed_statement_with_the_single_answers() {
    let Some(server) = crate::common::server("knn_batch_is_one_indexed_statement_with_the_single_answers").await else {
        return;
    };
    let config = crate::common::config(server.url(), &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let oracle = fake().await;
    let (mut vectors, _) = clustered(52, 12_000, 8, 10, 1.0);
    let duplicate = vec![25.0_f32; 8];
    vectors.extend(std::iter::repeat_n(duplicate.clone(), 40));
    load(&store, &oracle, "batch", Metric::L2, &vectors).await;
    analyze(server.url(), &store, "batch").await;

    let mut rng = Rng::new(0xba7c4);
    let mut queries: Vec<Vec<f32>> =
        (0..60).map(|_| vectors[rng.below(12_000)].iter().map(|v| v + 0.05 * rng.gaussian()).collect()).collect();
    queries.extend((0..10).map(|_| rng.gaussian_vector(8).into_iter().map(|v| v * 6.0).collect::<Vec<f32>>()));
    queries.extend(std::iter::repeat_n(duplicate.clone(), 5));
    let queries: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();

    let plan = store.explain_knn_batch("batch", &queries, &KnnOptions::new(10)).await.expect("explain").expect("kind");
    assert!(plan.contains("Function Scan on unnest"), "the queries are not one statement:\n{plan}");
    assert!(plan.contains("Index Scan using kind_batch_hnsw"), "the index does not serve the batch:\n{plan}");

    let mut recall = Recall::default();
    for options in [
        KnnOptions::new(10),
        KnnOptions::new(1),
        KnnOptions::new(45),
        KnnOptions::new(10).extractor_version(2),
        KnnOptions::new(20).max_distance(1.0),
        KnnOptions::new(1_500),
    ] {
        let batch = store.knn_batch("batch", &queries, &options).await.expect("knn_batch");
        assert_eq!(batch.len(), queries.len());
        for (n, (answer, query)) in batch.iter().zip(&queries).enumerate() {
            let single = store.knn_with("batch", query, &options).await.expect("knn_with");
            assert_eq!(answer, &single, "{options:?}, query {n}: the batch answer differs from knn_with");
            compare_search(&store, &oracle, "batch", query, &options, &mut recall).await;
        }
    }
    assert!(recall.ratio() >= 0.95, "recall {:.4}", recall.ratio());
    // The 40 copies of one vector: the ties at the k-th hit are cut by id in the batch too.
    let ties = store.knn_batch("batch", &[&duplicate, &duplicate], &KnnOptions::new(30)).await.expect("ties");
    let expected = oracle.knn("batch", &duplicate, 30).await.expect("oracle");
    assert_eq!(ties[0], expected);
    assert_eq!(ties[1], expected);
}

/// recall@10 against the Fake is at least 0.95 for every metric on clustered data with queries
/// that fall between clusters (HNSW's hard case).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn recall_at_10_against_the_fake() {
    let Some((store, _cleanup)) = crate::common::store("recall_at_10_against_the_fake", &[]).await else { return };
    let oracle = fake().await;
    let mut rng = Rng::new(0x5eed);
    for (seed, (kind, metric, dim, count)) in
        [("rec_l2", Metric::L2, 8, 3_000), ("rec_cos", Metric::Cosine, 32, 2_000), ("rec_dot", Metric::Dot, 5, 1_500)]
            .into_iter()
            .enumerate()
    {
        let (vectors, _) = clustered(seed as u64 + 300, count, dim, 10, 1.0);
        load(&store, &oracle, kind, metric, &vectors).await;
        let (mut found, mut expected) = (0, 0);
        for q in 0..40 {
            // Half the queries between clusters, half near stored vectors.
            let query: Vec<f32> = if q % 2 == 0 {
                rng.gaussian_vector(dim).into_iter().map(|v| v * 4.0).collect()
            } else {
                vectors[rng.below(count)].iter().map(|v| v + 0.1 * rng.gaussian()).collect()
            };
            let hits = store.knn(kind, &query, 10).await.expect("knn");
            let truth: HashSet<String> =
                oracle.knn(kind, &query, 10).await.expect("oracle").into_iter().map(|n| n.id).collect();
            assert_eq!(hits.len(), truth.len(), "{kind}: k hits");
            found += hits.iter().filter(|hit| truth.contains(&hit.id)).count();
            expected += truth.len();
        }
        let recall = found as f64 / expected as f64;
        eprintln!("{kind}: recall@10 = {recall:.4} ({found}/{expected})");
        assert!(recall >= 0.95, "{kind}: recall@10 {recall:.4} is below 0.95");
    }
}

/// A 3,000-dimension kind (beyond pgvector's 2,000-dimension HNSW limit) gets no index, and
/// its searches are exact scans with the Fake's answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_above_2000_dimensions_are_scanned_exactly() {
    let Some((store, _cleanup)) = crate::common::store("kinds_above_2000_dimensions_are_scanned_exactly", &[]).await
    else {
        return;
    };
    let oracle = fake().await;
    let mut rng = Rng::new(3000);
    let vectors: Vec<Vec<f32>> = (0..60).map(|_| rng.gaussian_vector(3_000)).collect();
    load(&store, &oracle, "huge", Metric::Cosine, &vectors).await;
    let plan = store.explain_knn("huge", &vectors[3], &KnnOptions::new(5)).await.expect("explain").expect("kind");
    assert!(!plan.contains("hnsw"), "{plan}");
    let mut recall = Recall::default();
    for options in [KnnOptions::new(5), KnnOptions::new(60).extractor_version(2), KnnOptions::new(100)] {
        let query = rng.gaussian_vector(3_000);
        compare_search(&store, &oracle, "huge", &query, &options, &mut recall).await;
    }
    assert_eq!(recall.found, recall.expected, "an exact scan missed neighbours");
    let record = store.get("huge", "s-000007").await.expect("get").expect("stored");
    assert_eq!(record.vector, vectors[7]);
}

/// Server statistics of a kind: sequential scans of its record table, and scans and entries
/// read of its `(vector_hash, id)` index (statistics arrive within a second or so).
async fn group_reads(url: &str, store: &PgVectorStore, kind: &str) -> (i64, i64, i64) {
    let mut connection = crate::common::connect(url).await;
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut connection).await.expect("clear snapshot");
    sqlx::query_as(
        "SELECT t.seq_scan, i.idx_scan, i.idx_tup_read FROM pg_stat_user_tables t \
         JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname = $3 \
         WHERE t.schemaname = $1 AND t.relname = $2",
    )
    .bind(&store.config().schema)
    .bind(format!("kind_{kind}"))
    .bind(format!("kind_{kind}_group"))
    .fetch_one(&mut connection)
    .await
    .expect("table statistics")
}

/// A search at a group of 20,000 identical vectors reads k of them per distinct vector walked
/// from the `(vector_hash, id)` index, never the group or the kind: no sequential scan of the
/// record table, at most `L × k` index entries per search (`L` = k + 1 distinct vectors
/// walked; with a version filter, here one record in three), with and without the filter; the
/// answers are the Fake's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_at_a_large_group_reads_k_of_its_records() {
    let Some(server) = crate::common::server("a_search_at_a_large_group_reads_k_of_its_records").await else {
        return;
    };
    // One connection: its statistics reach the server when it ends a transaction at least a
    // second after its last report, which `flush` below waits for.
    let config = crate::common::config(server.url(), &[("pool_size", "1")]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let flush = || async {
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        store.get("botnet", "s-000000").await.expect("get");
    };
    let oracle = fake().await;
    let (mut vectors, _) = clustered(7, 3_000, 8, 10, 1.0);
    let shared = vec![3.0; 8];
    vectors.extend(std::iter::repeat_n(shared.clone(), 20_000));
    load(&store, &oracle, "botnet", Metric::L2, &vectors).await;
    analyze(server.url(), &store, "botnet").await;
    flush().await;
    let (scans_before, group_scans_before, read_before) = group_reads(server.url(), &store, "botnet").await;
    let searches = [KnnOptions::new(10), KnnOptions::new(10).extractor_version(2), KnnOptions::new(1)];
    for options in &searches {
        let hits = store.knn_with("botnet", &shared, options).await.expect("knn");
        let expected = oracle.knn_with("botnet", &shared, options).await.expect("oracle");
        let ids = |hits: &[vectorstore_core::Neighbor]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&hits), ids(&expected), "{options:?}");
    }
    flush().await;
    let started = std::time::Instant::now();
    let (scans, read) = loop {
        let (scans, group_scans, read) = group_reads(server.url(), &store, "botnet").await;
        if group_scans >= group_scans_before + searches.len() as i64 {
            break (scans, read);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the group index was not used");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(scans, scans_before, "a search scanned the record table");
    let bound: i64 = searches.iter().map(|options| ((options.k + 1) * options.k) as i64).sum();
    assert!(read - read_before <= bound, "read {} entries of the group index, bound {bound}", read - read_before);
}
