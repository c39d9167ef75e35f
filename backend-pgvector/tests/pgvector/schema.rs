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
        vectorstore_core::SCHEMA_VERSION + 1
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
    assert_eq!(stored, (vectorstore_core::SCHEMA_VERSION + 1).to_string(), "the refused schema was changed");
}

/// Turns the store's schema back into what schema version 1 wrote: kind tables without the
/// write time (dropping the column drops its index), and version 1 in `meta`.
async fn make_version_1(url: &str, schema: &str, kinds: &[&str]) {
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
    assert_eq!(stored_version(server.url(), &schema).await, vectorstore_core::SCHEMA_VERSION.to_string());
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
