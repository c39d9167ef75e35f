//! The store's schema on a real server: version checks, adoption of existing kinds, several
//! stores starting on a fresh schema at once, purge, kinds recreated with another dimension,
//! and the password never shown.

use std::sync::Arc;

use vectorstore_core::{Config, ErrorKind, KnnOptions, Metric, NewVector, VectorStore, VectorStoreExt};
use vectorstore_pgvector::{NAME, PgVectorStore};
use vectorstore_testkit::servers::process::free_port;

async fn schema_exists(url: &str, schema: &str) -> bool {
    let mut connection = crate::common::connect(url).await;
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
        .bind(schema)
        .fetch_one(&mut connection)
        .await
        .expect("query")
}

/// A schema written by a newer schema version is refused with IncompatibleSchema, and left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_version_is_refused() {
    let Some(server) = crate::common::server("newer_schema_version_is_refused").await else { return };
    let config = crate::common::config(server.url(), &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    store.close().await.expect("close");

    let schema = store.config().schema.clone();
    let mut connection = crate::common::connect(server.url()).await;
    let bump = format!(
        "UPDATE \"{schema}\".meta SET value = '{}' WHERE key = 'schema_version'",
        vectorstore_pgvector::SCHEMA_VERSION + 1
    );
    sqlx::query(sqlx::AssertSqlSafe(bump)).execute(&mut connection).await.expect("bump the version");

    let newer = PgVectorStore::from_config(&config).expect("config");
    let err = newer.initialize().await.expect_err("a newer schema");
    assert_eq!(err.kind(), ErrorKind::IncompatibleSchema, "{err}");
    assert_eq!(newer.knn("ja3", &[1.0, 2.0], 1).await.unwrap_err().kind(), ErrorKind::NotInitialized);
    let stored: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT value FROM \"{schema}\".meta WHERE key = 'schema_version'"
    )))
    .fetch_one(&mut connection)
    .await
    .expect("read the version");
    assert_eq!(stored, (vectorstore_pgvector::SCHEMA_VERSION + 1).to_string(), "the refused schema was changed");
}

/// Turns the store's schema back into what schema version 2 wrote: kind tables without the
/// vector hash (dropping the column drops its index), no distinct tables, triggers or trigger
/// function, the HNSW index of `indexed` (an l2 kind) on its record table, and version 2 in `meta`.
async fn make_version_2(url: &str, schema: &str, kinds: &[&str], indexed: Option<&str>) {
    let mut connection = crate::common::connect(url).await;
    let mut statements = Vec::new();
    for kind in kinds {
        let table = format!("\"{schema}\".\"kind_{kind}\"");
        for trigger in ["count_added", "count_changed", "count_removed"] {
            statements.push(format!("DROP TRIGGER {trigger} ON {table}"));
        }
        statements.push(format!("DROP TABLE \"{schema}\".\"kind_{kind}_distinct\""));
        statements.push(format!("ALTER TABLE {table} DROP COLUMN vector_hash"));
    }
    statements.push(format!("DROP FUNCTION \"{schema}\".count_distinct()"));
    if let Some(kind) = indexed {
        statements.push(format!(
            "CREATE INDEX \"kind_{kind}_hnsw\" ON \"{schema}\".\"kind_{kind}\" USING hnsw (embedding vector_l2_ops)"
        ));
    }
    statements.push(format!("UPDATE \"{schema}\".meta SET value = '2' WHERE key = 'schema_version'"));
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut connection).await.expect("back to version 2");
    }
}

/// Turns the store's schema back into what schema version 1 wrote: version 2's layout (see
/// [`make_version_2`]) without the write time (dropping the column drops its index).
async fn make_version_1(url: &str, schema: &str, kinds: &[&str]) {
    make_version_2(url, schema, kinds, None).await;
    let mut connection = crate::common::connect(url).await;
    let mut statements: Vec<String> = kinds
        .iter()
        .map(|kind| format!("ALTER TABLE \"{schema}\".\"kind_{kind}\" DROP COLUMN written_at_ms"))
        .collect();
    statements.push(format!("UPDATE \"{schema}\".meta SET value = '1' WHERE key = 'schema_version'"));
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut connection).await.expect("back to version 1");
    }
}

/// The distinct table of a kind, `(vector_hash, members)` by hash, and the same counted from
/// the record table's own `vector_hash` column.
async fn distinct_rows(url: &str, schema: &str, kind: &str) -> (Vec<(i64, i64)>, Vec<(i64, i64)>) {
    let mut connection = crate::common::connect(url).await;
    let kept: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT vector_hash, members FROM \"{schema}\".\"kind_{kind}_distinct\" ORDER BY vector_hash"
    )))
    .fetch_all(&mut connection)
    .await
    .expect("read the distinct table");
    let counted: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT vector_hash, count(*) FROM \"{schema}\".\"kind_{kind}\" GROUP BY vector_hash ORDER BY vector_hash"
    )))
    .fetch_all(&mut connection)
    .await
    .expect("count the records");
    (kept, counted)
}

/// What the distinct table must hold for these records: each distinct vector's hash (bit for
/// bit: `-0.0` is not `0.0`) and how many records hold it, by hash.
fn expected_groups(records: &[vectorstore_core::VectorRecord]) -> Vec<(i64, i64)> {
    let mut by_bits: std::collections::HashMap<Vec<u32>, (Vec<f32>, i64)> = std::collections::HashMap::new();
    for record in records {
        let bits = record.vector.iter().map(|x| x.to_bits()).collect();
        by_bits.entry(bits).or_insert_with(|| (record.vector.clone(), 0)).1 += 1;
    }
    let mut groups: Vec<(i64, i64)> =
        by_bits.into_values().map(|(vector, n)| (vectorstore_core::vector_hash(&vector), n)).collect();
    groups.sort_unstable();
    groups
}

async fn stored_version(url: &str, schema: &str) -> String {
    let mut connection = crate::common::connect(url).await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT value FROM \"{schema}\".meta WHERE key = 'schema_version'")))
        .fetch_one(&mut connection)
        .await
        .expect("read the version")
}

/// A schema of version 1 (no write times) upgrades itself once when a store initialises on it,
/// with every record intact and counted as written at the upgrade; several stores starting on
/// it at once upgrade it once; expire then works on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_schema_upgrades_once_with_every_record_intact() {
    let Some(server) = crate::common::server("a_version_1_schema_upgrades_once").await else { return };
    let config = crate::common::config(server.url(), &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let first = PgVectorStore::from_config(&config).expect("config");
    first.initialize().await.expect("initialize");
    let items: Vec<NewVector> = (0..1_200)
        .map(|i| NewVector::new(format!("s-{i:05}"), vec![i as f32, 1.0, -0.5]).with_extractor_version(1 + i % 3))
        .collect();
    for chunk in items.chunks(500) {
        first.insert_many("ja3", chunk).await.expect("insert_many");
    }
    first.settle("ja3").await.expect("settle");
    first.create_kind("emptied", 4, Metric::Cosine).await.expect("create");
    let before_snapshot = first.scan_all("ja3", 1_000).await.expect("scan");
    first.close().await.expect("close");
    let schema = first.config().schema.clone();
    make_version_1(server.url(), &schema, &["ja3", "emptied"]).await;
    assert_eq!(stored_version(server.url(), &schema).await, "1");

    let before = vectorstore_core::now_ms();
    let opens: Vec<_> = (0..3)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move {
                let store = PgVectorStore::from_config(&config).expect("config");
                store.initialize().await.expect("initialize an old schema");
                store
            })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.expect("no panic"));
    }
    let after = vectorstore_core::now_ms();
    assert_eq!(stored_version(server.url(), &schema).await, vectorstore_pgvector::SCHEMA_VERSION.to_string());
    let upgraded = stores[0].scan_all("ja3", 1_000).await.expect("scan");
    assert_eq!(upgraded.len(), before_snapshot.len());
    for (old, new) in before_snapshot.iter().zip(&upgraded) {
        assert_eq!((&old.id, &old.vector, old.extractor_version), (&new.id, &new.vector, new.extractor_version));
        assert!((before..=after).contains(&new.written_at_ms), "{}: written at {}", new.id, new.written_at_ms);
    }
    let times: std::collections::HashSet<u64> = upgraded.iter().map(|r| r.written_at_ms).collect();
    assert_eq!(times.len(), 1, "one upgrade gave every record the same time: {times:?}");
    let kinds: Vec<(String, usize, Metric, u64)> =
        stores[1].kinds().await.expect("kinds").into_iter().map(|k| (k.kind, k.dim, k.metric, k.count)).collect();
    assert_eq!(kinds, [("emptied".into(), 4, Metric::Cosine, 0), ("ja3".into(), 3, Metric::L2, 1_200)]);
    let hits = stores[2].knn("ja3", &[7.0, 1.0, -0.5], 1).await.expect("knn");
    assert_eq!(hits.first().map(|h| h.id.as_str()), Some("s-00007"));
    // New writes carry their own time; expire tells the two ages apart.
    while vectorstore_core::now_ms() <= after {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    stores[0].insert("ja3", "fresh", &[0.0, 0.0, 1.0], 1).await.expect("insert");
    stores[1].insert("emptied", "fresh", &[0.0, 0.0, 1.0, 0.0], 1).await.expect("insert into an upgraded empty kind");
    assert_eq!(stores[1].expire("ja3", after + 1).await.expect("expire"), 1_200);
    assert!(stores[2].get("ja3", "fresh").await.expect("get").is_some());
    for store in &stores {
        store.close().await.expect("close");
    }
}

/// A schema of version 2 (no vector hashes, the HNSW index on the record table) upgrades itself
/// once when stores initialise on it: every record intact, each kind's records hashed and
/// grouped into its distinct table (counts checked against the records and against groups
/// computed here, across more than one page of the upgrade), the old index gone and the new one
/// built on the distinct table; searches and later writes keep the counts exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_schema_upgrades_once_into_distinct_vectors() {
    let Some(server) = crate::common::server("a_version_2_schema_upgrades_once").await else { return };
    let config = crate::common::config(server.url(), &[("INDEX_DELAY_MS", "3600000")]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let first = PgVectorStore::from_config(&config).expect("config");
    first.initialize().await.expect("initialize");
    // One group of every third record, seven smaller groups, the rest distinct; -0.0 and 0.0
    // apart; more records than one page of the upgrade (5,000).
    let vector = |i: usize| match i % 3 {
        0 => vec![1.0, 1.0, 1.0],
        1 => vec![(i % 7) as f32, 2.0, 0.0],
        _ => vec![i as f32, 0.5, -1.0],
    };
    let mut items: Vec<NewVector> = (0..11_000)
        .map(|i| NewVector::new(format!("s-{i:05}"), vector(i)).with_extractor_version(1 + (i % 2) as u32))
        .collect();
    items.push(NewVector::new("z-negative-zero", vec![-0.0, 9.0, 9.0]));
    items.push(NewVector::new("z-zero", vec![0.0, 9.0, 9.0]));
    for chunk in items.chunks(2_000) {
        first.insert_many("ja3", chunk).await.expect("insert_many");
    }
    first.create_kind("emptied", 4, Metric::Cosine).await.expect("create");
    let before = first.scan_all("ja3", 1_000).await.expect("scan");
    first.close().await.expect("close");
    let schema = first.config().schema.clone();
    make_version_2(server.url(), &schema, &["ja3", "emptied"], Some("ja3")).await;
    assert_eq!(stored_version(server.url(), &schema).await, "2");

    let opens: Vec<_> = (0..3)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move {
                let store = PgVectorStore::from_config(&config).expect("config");
                store.initialize().await.expect("initialize a version-2 schema");
                store
            })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opens {
        stores.push(open.await.expect("no panic"));
    }
    assert_eq!(stored_version(server.url(), &schema).await, vectorstore_pgvector::SCHEMA_VERSION.to_string());
    let upgraded = stores[0].scan_all("ja3", 1_000).await.expect("scan");
    assert_eq!(upgraded, before, "the upgrade changed records");
    let (kept, counted) = distinct_rows(server.url(), &schema, "ja3").await;
    let expected = expected_groups(&before);
    assert_eq!(expected.len(), 1 + 7 + 3_666 + 2, "the test data");
    assert_eq!(kept, expected, "the distinct table against the records' groups");
    assert_eq!(counted, expected, "the records' hashes against vector_hash");

    // The record table's index is gone; settle builds the new one on the distinct table.
    let index_table = || async {
        let mut connection = crate::common::connect(server.url()).await;
        sqlx::query_scalar::<_, String>(
            "SELECT tablename::text FROM pg_indexes WHERE schemaname = $1 AND indexname = $2",
        )
        .bind(&schema)
        .bind("kind_ja3_hnsw")
        .fetch_optional(&mut connection)
        .await
        .expect("pg_indexes")
    };
    assert_eq!(index_table().await, None);
    stores[1].settle("ja3").await.expect("settle");
    assert_eq!(index_table().await.as_deref(), Some("kind_ja3_distinct"));

    let hits = stores[2].knn("ja3", &[1.0, 1.0, 1.0], 4).await.expect("knn");
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["s-00000", "s-00003", "s-00006", "s-00009"]);
    assert!(hits.iter().all(|h| h.distance == 0.0), "{hits:?}");
    let distinct = stores[2].knn_distinct("ja3", &[1.0, 1.0, 1.0], &KnnOptions::new(1), 2).await.expect("distinct");
    assert_eq!(distinct.len(), 1);
    assert_eq!(
        (distinct[0].count, distinct[0].ids.as_slice()),
        (3_667, &["s-00000".to_owned(), "s-00003".to_owned()][..])
    );

    // Later writes keep the table exact: deletes inside the group, a record moved out of it,
    // a whole version gone, and a first record in the upgraded empty kind.
    assert_eq!(stores[0].delete_many("ja3", &["s-00000", "s-00003", "nope"]).await.expect("delete_many"), 2);
    stores[1].insert("ja3", "s-00006", &[5.0, 5.0, 5.0], 1).await.expect("move a record");
    assert!(stores[2].delete("ja3", "z-zero").await.expect("delete"));
    stores[0].delete_version("ja3", 2).await.expect("delete_version");
    stores[1].insert("emptied", "fresh", &[0.0, 0.0, 1.0, 0.0], 1).await.expect("insert into an upgraded empty kind");
    let now = stores[2].scan_all("ja3", 1_000).await.expect("scan");
    let (kept, counted) = distinct_rows(server.url(), &schema, "ja3").await;
    assert_eq!(kept, expected_groups(&now));
    assert_eq!(counted, kept);
    let hits = stores[2].knn("ja3", &[1.0, 1.0, 1.0], 2).await.expect("knn");
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    // Left of the group: multiples of 3 with version 1 (even), less s-00000 and s-00006.
    assert_eq!(ids, ["s-00012", "s-00018"], "the group's first ids after the deletes (version 2 gone)");
    let (kept, _) = distinct_rows(server.url(), &schema, "emptied").await;
    assert_eq!(kept, [(vectorstore_core::vector_hash(&[0.0, 0.0, 1.0, 0.0]), 1)]);
    for store in &stores {
        store.close().await.expect("close");
    }
}

/// Writers racing on the same groups (batches, single upserts moving records between groups,
/// deletes, delete_version, expire) from several stores at once leave every count exact, and no
/// write fails (the distinct rows are locked in hash order, so batches cannot deadlock on them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_keep_the_distinct_counts_exact() {
    let Some(server) = crate::common::server("concurrent_writers_keep_the_distinct_counts_exact").await else {
        return;
    };
    let config = crate::common::config(server.url(), &[("pool_size", "4")]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let schema = config.option(NAME, "schema").expect("schema").to_owned();
    // Twelve shared vectors; every writer touches all of them, in its own order.
    let pool: Vec<Vec<f32>> = (0..12).map(|g| vec![g as f32, 1.0, (g * g) as f32]).collect();
    let mut writers = Vec::new();
    for writer in 0..6usize {
        let config = config.clone();
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            let store = PgVectorStore::from_config(&config).expect("config");
            store.initialize().await.expect("initialize");
            for round in 0..8usize {
                // Ids of this writer only; vectors from the shared pool, in an order that
                // differs between writers and rounds.
                let batch: Vec<NewVector> = (0..60usize)
                    .map(|i| {
                        let vector = pool[(i * (writer + 1) + round * 5) % pool.len()].clone();
                        NewVector::new(format!("w{writer}-{:03}", (i * 7 + round) % 90), vector)
                            .with_extractor_version(1 + (i % 3) as u32)
                    })
                    .collect();
                store.insert_many("shared", &batch).await.expect("insert_many");
                let id = format!("w{writer}-{:03}", round * 3);
                store.insert("shared", &id, &pool[(writer + round) % pool.len()], 1).await.expect("insert");
                let gone: Vec<String> =
                    (0..5).map(|i| format!("w{writer}-{:03}", (round * 11 + i * 13) % 90)).collect();
                let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
                store.delete_many("shared", &gone).await.expect("delete_many");
                store.delete("shared", &format!("w{writer}-{:03}", (round * 17) % 90)).await.expect("delete");
            }
            if writer == 0 {
                store.delete_version("shared", 3).await.expect("delete_version");
            }
            store.close().await.expect("close");
        }));
    }
    for writer in writers {
        writer.await.expect("a writer failed");
    }
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    let records = store.scan_all("shared", 1_000).await.expect("scan");
    assert!(records.len() > 100, "the writers left {} records", records.len());
    let (kept, counted) = distinct_rows(server.url(), &schema, "shared").await;
    assert_eq!(kept, expected_groups(&records), "the distinct table after the race");
    assert_eq!(counted, kept);
    // expire empties the kind: every distinct row goes with its last record.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(store.expire("shared", vectorstore_core::now_ms()).await.expect("expire"), records.len() as u64);
    let (kept, _) = distinct_rows(server.url(), &schema, "shared").await;
    assert!(kept.is_empty(), "{kept:?}");
    store.close().await.expect("close");
}

/// A new store on an existing schema adopts its kinds: dimensions, metrics, counts and data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_kinds_are_adopted_after_reconnect() {
    let Some(server) = crate::common::server("existing_kinds_are_adopted_after_reconnect").await else { return };
    let config = crate::common::config(server.url(), &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let first = PgVectorStore::from_config(&config).expect("config");
    first.initialize().await.expect("initialize");
    first.create_kind("dwell", 3, Metric::Cosine).await.expect("create");
    first.insert("dwell", "a", &[1.0, 0.0, 0.0], 2).await.expect("insert");
    first.create_kind("empty", 7, Metric::Dot).await.expect("create");
    first.close().await.expect("close");

    let second = PgVectorStore::from_config(&config.clone().with_metric(Metric::L2)).expect("config");
    second.initialize().await.expect("initialize");
    let kinds: Vec<(String, usize, Metric, u64)> =
        second.kinds().await.expect("kinds").into_iter().map(|k| (k.kind, k.dim, k.metric, k.count)).collect();
    assert_eq!(kinds, [("dwell".into(), 3, Metric::Cosine, 1), ("empty".into(), 7, Metric::Dot, 0)]);
    let err = second.insert("dwell", "zero", &[0.0, 0.0, 0.0], 1).await.expect_err("zero vector under cosine");
    assert_eq!(err.kind(), ErrorKind::InvalidVector);
    let hits = second.knn("dwell", &[2.0, 0.0, 0.0], 1).await.expect("knn");
    assert_eq!((hits[0].id.as_str(), hits[0].distance), ("a", 0.0));
}

/// Eight stores initialising the same fresh schema at once, then racing to create the same
/// kind by a first insert, all succeed and agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_initialize_on_a_fresh_schema() {
    let Some(server) = crate::common::server("concurrent_initialize_on_a_fresh_schema").await else { return };
    let config = crate::common::config(server.url(), &[("pool_size", "2")]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let stores: Vec<Arc<PgVectorStore>> =
        (0..8).map(|_| Arc::new(PgVectorStore::from_config(&config).expect("config"))).collect();
    let mut tasks = Vec::new();
    for (n, store) in stores.iter().enumerate() {
        let store = Arc::clone(store);
        tasks.push(tokio::spawn(async move {
            store.initialize().await.expect("initialize");
            store.insert("race", &format!("s{n}"), &[n as f32, 1.0], 1).await.expect("first insert");
            store.create_kind("created", 4, Metric::Cosine).await.expect("create_kind");
        }));
    }
    for task in tasks {
        task.await.expect("a task failed");
    }
    let kinds = stores[0].kinds().await.expect("kinds");
    let got: Vec<(&str, usize, u64)> = kinds.iter().map(|k| (k.kind.as_str(), k.dim, k.count)).collect();
    assert_eq!(got, [("created", 4, 0), ("race", 2, 8)]);
}

/// purge drops the isolated schema with everything in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_drops_the_schema() {
    let Some(server) = crate::common::server("purge_drops_the_schema").await else { return };
    let registration = vectorstore_core::require_backend(NAME).expect("registered");
    let base = server.config();
    let isolated = (registration.isolate)(&base, &vectorstore_conformance::unique_tag()).expect("isolate");
    let schema = isolated.option(NAME, "schema").expect("schema").to_owned();
    assert!(schema.starts_with("decnet_vectorstore_t"), "{schema}");
    let store = (registration.open)(&isolated).expect("open");
    store.initialize().await.expect("initialize");
    store.insert("ja3", "a", &[1.0], 1).await.expect("insert");
    store.close().await.expect("close");
    assert!(schema_exists(server.url(), &schema).await);
    (registration.purge)(isolated.clone()).await.expect("purge");
    assert!(!schema_exists(server.url(), &schema).await, "{schema} survived purge");
    (registration.purge)(isolated).await.expect("purge again is fine");
}

/// A kind dropped and created again with another dimension reads back fine on connections
/// that cached statements for its old table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind_recreated_with_another_dimension_reads_back() {
    let Some((store, _cleanup)) =
        crate::common::store("kind_recreated_with_another_dimension_reads_back", &[("pool_size", "1")]).await
    else {
        return;
    };
    for dim in [2usize, 3, 2, 5] {
        let vector: Vec<f32> = (0..dim).map(|i| i as f32 + 1.0).collect();
        store.insert("shape", "a", &vector, 1).await.expect("insert");
        store.insert_many("shape", &[NewVector::new("b", vector.clone())]).await.expect("insert_many");
        assert_eq!(store.get("shape", "a").await.expect("get").expect("a").dim, dim);
        assert_eq!(store.scan_all("shape", 1).await.expect("scan").len(), 2);
        assert_eq!(store.scan("shape", Some("a"), 5).await.expect("scan after").len(), 1);
        assert_eq!(store.knn_with("shape", &vector, &KnnOptions::new(1)).await.expect("knn")[0].id, "a");
        assert!(store.drop_kind("shape").await.expect("drop"));
    }
}

/// The password in the URL never shows in Debug, errors or health, whether the server answers
/// or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_never_shown() {
    let Some(server) = crate::common::server("password_never_shown").await else { return };
    let (url, secret) = crate::common::with_password(server.url(), "hunter2-Secret");
    let config = crate::common::config(&url, &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    let mismatch = store.insert("ja3", "b", &[1.0], 1).await.expect_err("dimension mismatch");
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    let mut shown = vec![format!("{store:?}"), format!("{health:?}"), format!("{mismatch} {mismatch:?}")];
    shown.push(format!("{:?}", store.config()));

    // Nothing listens on this port: initialize fails as Unavailable, without the password.
    let port = free_port().expect("port");
    let down = Config::new(NAME)
        .with_url(format!("postgres://postgres:{secret}@127.0.0.1:{port}/postgres"))
        .with_option(NAME, "acquire_timeout_ms", "500");
    let unreachable = PgVectorStore::from_config(&down).expect("config");
    let err = unreachable.initialize().await.expect_err("no server");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    shown.push(format!("{err} {err:?} {unreachable:?} {:?}", unreachable.health().await));
    let purge = (vectorstore_core::require_backend(NAME).expect("registered").purge)(down).await.expect_err("purge");
    assert_eq!(purge.kind(), ErrorKind::Unavailable, "{purge}");
    shown.push(format!("{purge} {purge:?}"));

    for text in shown {
        assert!(!text.contains(&secret), "the password shows in: {text}");
    }
}

/// The published health names no URL, host, port, user, password or schema, even with a
/// password in the URL; the detailed view has the URL without the password, and the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_health_names_no_url_user_or_schema() {
    let Some(server) = crate::common::server("published_health_names_no_url_user_or_schema").await else { return };
    let (url, secret) = crate::common::with_password(server.url(), "pub-Health-s3cret");
    let config = crate::common::config(&url, &[]);
    let _cleanup = crate::common::Cleanup(config.clone());
    let schema = config.option(NAME, "schema").expect("a schema").to_owned();
    let store = PgVectorStore::from_config(&config).expect("config");
    store.initialize().await.expect("initialize");
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    vectorstore_conformance::check::assert_publishable(&health);
    // Every text the health holds (its keys are fixed names such as "postgres").
    let texts: Vec<&String> =
        health.detail.values().chain(health.versions.values()).chain(&health.reason).chain(&health.fallback).collect();
    let texts = format!("{texts:?}");
    let (_, rest) = url.split_once("://").expect("a URL");
    let (userinfo, host_and_path) = rest.split_once('@').expect("a user in the URL");
    let (user, _) = userinfo.split_once(':').expect("a password in the URL");
    let host = host_and_path.split('/').next().expect("a host");
    for leak in [secret.as_str(), user, host, schema.as_str(), "postgres://"] {
        assert!(!texts.contains(leak), "{leak:?} in the published health {health:?}");
    }
    let detailed = store.health_detailed().await;
    let shown = format!("{detailed:?}");
    assert!(!shown.contains(&secret), "{shown}");
    assert!(detailed.detail.get("url").is_some_and(|u| u.contains(host)), "{shown}");
    assert_eq!(detailed.detail.get("schema"), Some(&schema), "{shown}");
    assert_eq!((detailed.kinds, detailed.vectors), (health.kinds, health.vectors));
}
