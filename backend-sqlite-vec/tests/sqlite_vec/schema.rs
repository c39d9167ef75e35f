//! The file itself: schema versions, adopting kinds after a reopen, unusable locations,
//! hostile kind names, isolated locations, and the registration.

use std::path::{Path, PathBuf};

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use vectorstore_core::limits::MAX_KINDS;
use vectorstore_core::{Config, ErrorKind, Metric, SCHEMA_VERSION, VectorStore, VectorStoreExt};
use vectorstore_sqlite_vec::{NAME, SqliteVecStore, isolate, purge};

use crate::common::fresh;

fn path_of(config: &Config) -> PathBuf {
    config.path.clone().expect("isolated configs have a path")
}

async fn open(config: &Config) -> SqliteVecStore {
    let store = SqliteVecStore::from_config(config).expect("open");
    store.initialize().await.expect("initialize");
    store
}

/// Runs one statement on the file through a plain connection, as another tool would.
async fn tamper(path: &Path, statement: &str) {
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path)).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut conn).await.expect("tamper");
    conn.close().await.expect("close");
}

#[tokio::test]
async fn a_newer_schema_version_is_refused_and_the_file_left_intact() {
    let (config, _scratch) = fresh("schema_newer");
    let path = path_of(&config);
    let store = open(&config).await;
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    store.close().await.expect("close");
    tamper(&path, &format!("UPDATE vectorstore_meta SET value = {} WHERE key = 'schema_version'", SCHEMA_VERSION + 1))
        .await;
    let before = std::fs::read(&path).expect("read file");

    let newer = SqliteVecStore::from_config(&config).expect("open");
    let err = newer.initialize().await.expect_err("a newer schema must be refused");
    assert_eq!(err.kind(), ErrorKind::IncompatibleSchema, "{err}");
    assert!(err.message().contains(&path.display().to_string()), "names the file: {err}");
    assert_eq!(newer.get("ja3", "a").await.expect_err("not open").kind(), ErrorKind::NotInitialized);
    assert!(!newer.health().await.ok);
    assert!(std::fs::read(&path).expect("read file") == before, "the refused file was modified");

    // Back to this version, the data is all there.
    tamper(&path, &format!("UPDATE vectorstore_meta SET value = {SCHEMA_VERSION} WHERE key = 'schema_version'")).await;
    let store = open(&config).await;
    assert!(store.get("ja3", "a").await.expect("get").is_some());
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn a_kind_of_a_newer_schema_version_is_refused() {
    let (config, _scratch) = fresh("schema_newer_kind");
    let store = open(&config).await;
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    store.close().await.expect("close");
    let path = path_of(&config);
    tamper(&path, &format!("UPDATE vectorstore_kinds SET schema_version = {}", SCHEMA_VERSION + 1)).await;
    let err = SqliteVecStore::from_config(&config).expect("open").initialize().await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::IncompatibleSchema, "{err}");
    tamper(&path, "UPDATE vectorstore_kinds SET metric = 'dot'").await;
    tamper(&path, &format!("UPDATE vectorstore_kinds SET schema_version = {SCHEMA_VERSION}")).await;
    let err = SqliteVecStore::from_config(&config).expect("open").initialize().await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::IncompatibleSchema, "a kind with a metric this build cannot search: {err}");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn kinds_and_metrics_are_adopted_after_reopen() {
    let (config, _scratch) = fresh("schema_adopt");
    let store = open(&config).await;
    store.create_kind("dwell", 3, Metric::Cosine).await.expect("create");
    store.insert("dwell", "east", &[1.0, 0.0, 0.0], 1).await.expect("insert");
    store.insert("dwell", "north", &[0.0, 2.0, 0.0], 1).await.expect("insert");
    store.insert("ja3", "gone", &[1.0, 2.0], 1).await.expect("insert");
    store.delete("ja3", "gone").await.expect("delete");
    store.close().await.expect("close");

    // A different default metric must not change the kinds already in the file.
    let reopened = open(&config.clone().with_metric(Metric::Cosine)).await;
    let kinds: Vec<(String, usize, Metric, u64)> =
        reopened.kinds().await.expect("kinds").into_iter().map(|k| (k.kind, k.dim, k.metric, k.count)).collect();
    assert_eq!(kinds, [("dwell".to_owned(), 3, Metric::Cosine, 2), ("ja3".to_owned(), 2, Metric::L2, 0)]);
    let hits = reopened.knn("dwell", &[3.0, 3.0, 0.0], 2).await.expect("knn");
    let expected = 1.0 - std::f32::consts::FRAC_1_SQRT_2;
    assert!((hits[0].distance - expected).abs() < 1e-6, "cosine distances after reopen: {hits:?}");
    let err = reopened.insert("ja3", "x", &[1.0, 2.0, 3.0], 1).await.expect_err("dimension kept");
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch);
    let err = reopened.create_kind("ja3", 2, Metric::Cosine).await.expect_err("metric kept");
    assert_eq!(err.kind(), ErrorKind::MetricMismatch);
    reopened.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn unusable_locations_are_config_errors_naming_the_path() {
    let scratch = std::env::temp_dir().join(format!("decnet-sqlite-vec-locations-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let plain_file = scratch.join("plain-file");
    std::fs::write(&plain_file, b"not a directory").expect("write");
    let not_sqlite = scratch.join("not-sqlite.sqlite");
    let garbage = vec![0x5au8; 8192];
    std::fs::write(&not_sqlite, &garbage).expect("write");
    let mut locations: Vec<(&str, PathBuf)> = vec![
        ("parent is a file", plain_file.join("sub").join("vectors.sqlite")),
        ("path is a directory", scratch.clone()),
        ("path is not a SQLite file", not_sqlite.clone()),
    ];
    if cfg!(target_os = "linux") {
        locations.push(("parent cannot be created", PathBuf::from("/proc/decnet-vectorstore-test/vectors.sqlite")));
    }
    for (what, path) in locations {
        let store = SqliteVecStore::from_config(&Config::new(NAME).with_path(&path)).expect("open does no I/O");
        let err = store.initialize().await.expect_err(what);
        assert_eq!(err.kind(), ErrorKind::Config, "{what}: {err}");
        assert!(err.message().contains(&path.display().to_string()), "{what}: the error names the path: {err}");
        assert!(!store.health().await.ok, "{what}");
    }
    assert_eq!(std::fs::read(&not_sqlite).expect("read"), garbage, "a foreign file was modified");
    std::fs::remove_dir_all(&scratch).expect("cleanup");
}

#[tokio::test]
async fn hostile_kinds_cannot_reach_internal_or_other_kinds_tables() {
    let (config, _scratch) = fresh("schema_hostile");
    let store = open(&config).await;
    // Names of this store's tables, of vec0's shadow tables, and of SQLite's own.
    let kinds = [
        "kinds",
        "meta",
        "vec",
        "a",
        "a_vec",
        "a_vec_rowids",
        "a_vec_info",
        "a_vec_chunks",
        "a_vec_auxiliary",
        "a_vec_vector_chunks00",
        "a_vec_metadatachunks00",
        "a_rowids",
        "vectorstore_kinds",
        "vectorstore_meta",
        "vectorstore_a_vec",
        "sqlite_master",
        "sqlite_sequence",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        store.insert(kind, "id", &[i as f32, 1.0], 1).await.unwrap_or_else(|e| panic!("insert {kind}: {e}"));
    }
    assert!(store.drop_kind("a").await.expect("drop"));
    for (i, kind) in kinds.iter().enumerate().filter(|(_, k)| **k != "a") {
        let record = store.get(kind, "id").await.expect("get").unwrap_or_else(|| panic!("{kind} lost its record"));
        assert_eq!(record.vector, [i as f32, 1.0], "{kind} reads another kind's record");
        assert_eq!(store.knn(kind, &[0.0, 0.0], 10).await.expect("knn").len(), 1, "{kind} sees other kinds");
    }
    store.close().await.expect("close");
    let reopened = open(&config).await;
    let listed: Vec<String> = reopened.kinds().await.expect("kinds").into_iter().map(|k| k.kind).collect();
    let mut expected: Vec<String> = kinds.iter().filter(|k| **k != "a").map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let health = reopened.health().await;
    assert_eq!((health.kinds, health.vectors), (Some(kinds.len() as u64 - 1), Some(kinds.len() as u64 - 1)));
    reopened.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn the_kind_limit_is_enforced() {
    let (config, _scratch) = fresh("schema_limit");
    let store = open(&config).await;
    for i in 0..MAX_KINDS {
        store.create_kind(&format!("k{i}"), 1, Metric::L2).await.unwrap_or_else(|e| panic!("kind {i}: {e}"));
    }
    let err = store.insert("one_more", "a", &[1.0], 1).await.expect_err("over the limit");
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    let err = store.create_kind("one_more", 1, Metric::L2).await.expect_err("over the limit");
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    store.insert("k7", "a", &[1.0], 1).await.expect("existing kinds still take writes");
    assert!(store.drop_kind("k0").await.expect("drop"));
    store.insert("one_more", "a", &[1.0], 1).await.expect("room again after a drop");
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn health_reports_versions_and_the_detailed_one_the_location() {
    let (config, _scratch) = fresh("schema_health");
    let path = path_of(&config);
    let store = open(&config).await;
    assert_eq!(store.health().await.detail.get("path"), None, "the published health names no file");
    let health = store.health_detailed().await;
    assert!(health.ok, "{health:?}");
    assert!(health.versions.get("sqlite").is_some_and(|v| v.starts_with("3.")), "{health:?}");
    assert!(health.versions.get("sqlite_vec").is_some_and(|v| v.starts_with('v')), "{health:?}");
    assert_eq!(health.detail.get("path"), Some(&path.display().to_string()));
    assert_eq!(health.detail.get("journal_mode").map(String::as_str), Some("wal"));
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn isolated_locations_are_purged_completely() {
    // Without a path: a temporary directory of its own, removed by purge.
    let (config, _scratch) = fresh("schema_purge_temp");
    let path = path_of(&config);
    let dir = path.parent().expect("dir").to_path_buf();
    assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
    let store = open(&config).await;
    store.insert("ja3", "a", &[1.0], 1).await.expect("insert");
    assert!(path.exists());
    purge(config.clone()).await.expect("purge while open");
    store.close().await.expect("close");
    purge(config).await.expect("purge again");
    assert!(!dir.exists(), "{} left behind", dir.display());

    // With a path: a sibling file; purge removes it and its companions, nothing else.
    let base_dir = std::env::temp_dir().join(format!("decnet-sqlite-vec-sibling-{}", std::process::id()));
    std::fs::create_dir_all(&base_dir).expect("dir");
    let neighbour = base_dir.join("vectors.sqlite");
    std::fs::write(&neighbour, b"the user's file").expect("write");
    let sibling = isolate(&Config::new(NAME).with_path(&neighbour), "sibling").expect("isolate");
    assert_eq!(sibling.path, Some(base_dir.join("vectors-sibling.sqlite")));
    let store = open(&sibling).await;
    store.insert("ja3", "a", &[1.0], 1).await.expect("insert");
    store.close().await.expect("close");
    purge(sibling).await.expect("purge");
    let left: Vec<String> = std::fs::read_dir(&base_dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert_eq!(left, ["vectors.sqlite"]);
    std::fs::remove_dir_all(&base_dir).expect("cleanup");

    let err = purge(Config::new(NAME)).await.expect_err("the default location is never purged");
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn the_registry_opens_it_by_name_and_alias() {
    for name in ["sqlite_vec", "sqlite-vec", "SQLITE-VEC"] {
        let registration = vectorstore_core::find_backend(name).unwrap_or_else(|| panic!("{name} is registered"));
        assert_eq!(registration.name, NAME);
        assert!(!registration.capabilities.supports(Metric::Dot));
    }
    let (config, _scratch) = fresh("schema_registry");
    let store = vectorstore_core::open_with_fallback(&config, &[]).expect("open");
    assert_eq!(store.backend(), NAME);
    store.initialize().await.expect("initialize");
    assert!(store.kind_info("ja3").await.expect("kind_info").is_none());
    store.close().await.expect("close");
    purge(config).await.expect("purge");
    let (dot, _scratch) = fresh("schema_dot");
    let err =
        vectorstore_core::open_with_fallback(&dot.with_metric(Metric::Dot), &[]).expect_err("dot is not supported");
    assert_eq!(err.kind(), ErrorKind::MetricUnsupported, "{err}");
}

/// Makes `paths` unwritable for as long as it lives: immutable (`chattr +i`) when running as
/// root, where permission bits do not bind, else read-only by mode.
struct ReadOnly(Vec<(PathBuf, std::fs::Permissions)>, bool);

impl ReadOnly {
    fn protect(paths: &[&Path]) -> Result<ReadOnly, String> {
        let as_root = vectorstore_testkit::running_as_root();
        let mut guard = ReadOnly(Vec::new(), as_root);
        for path in paths {
            let before = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.permissions();
            if as_root {
                let status = std::process::Command::new("chattr").arg("+i").arg(path).status();
                if !status.as_ref().is_ok_and(|s| s.success()) {
                    return Err(format!(
                        "`chattr +i {}` failed ({status:?}); the filesystem may not support it",
                        path.display()
                    ));
                }
            } else {
                let mut read_only = before.clone();
                read_only.set_readonly(true);
                std::fs::set_permissions(path, read_only).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            guard.0.push((path.to_path_buf(), before));
        }
        Ok(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        for (path, before) in self.0.drain(..) {
            if self.1 {
                let _ = std::process::Command::new("chattr").arg("-i").arg(&path).status();
            } else {
                let _ = std::fs::set_permissions(&path, before);
            }
        }
    }
}

#[tokio::test]
async fn a_read_only_location_is_a_config_error_at_open_and_its_data_is_kept() {
    let (config, _scratch) = fresh("schema_read_only");
    let path = path_of(&config);
    let store = open(&config).await;
    store.insert("ja3", "kept", &[0.25, -1.5, 3.0], 2).await.expect("insert");
    store.close().await.expect("close");
    let dir = path.parent().expect("a directory").to_path_buf();
    {
        let _read_only = match ReadOnly::protect(&[&path, &dir]) {
            Ok(guard) => guard,
            Err(reason) => {
                vectorstore_conformance::skip(NAME, "read-only location", &reason);
                return;
            }
        };
        let store = SqliteVecStore::from_config(&config).expect("open does no I/O");
        let err = store.initialize().await.expect_err("a read-only location cannot be opened for writing");
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains(&path.display().to_string()), "the error names the path: {err}");
        assert!(!store.health().await.ok);
    }
    let reopened = open(&config).await;
    let record = reopened.get("ja3", "kept").await.expect("get").expect("the vector is still there");
    assert_eq!(record.vector, vec![0.25, -1.5, 3.0]);
    assert_eq!(record.extractor_version, 2);
    reopened.close().await.expect("close");
}

/// A copy of `fixtures/schema-v1.sqlite` (layout version 1, written by the last build before
/// write times) at `config`'s path.
fn v1_file(config: &Config) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v1.sqlite");
    let path = path_of(config);
    std::fs::create_dir_all(path.parent().expect("a directory")).expect("mkdir");
    std::fs::copy(fixture, &path).expect("copy the fixture");
    path
}

/// What the fixture holds, as (kind, id) -> (vector bits, extractor version).
fn v1_records() -> Vec<(&'static str, &'static str, Vec<u32>, u32)> {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    vec![
        ("hassh", "attacker-1", bits(&[0.25, 0.75]), 3),
        ("ja3", "session-a", bits(&[0.5, 1.0, -2.25]), 1),
        ("ja3", "session-b", bits(&[1e-7, 3.402_823_5e38, -0.0]), 2),
        ("ja3", "sessión-ü", bits(&[1.0, 2.0, 3.0]), 1),
    ]
}

/// Every record of the store as (kind, id, vector bits, version), and the write times.
async fn records_of(store: &dyn VectorStore) -> (Vec<(String, String, Vec<u32>, u32)>, Vec<u64>) {
    let mut records = Vec::new();
    let mut times = Vec::new();
    for info in store.kinds().await.expect("kinds") {
        for record in store.scan_all(&info.kind, 2).await.expect("scan") {
            let bits = record.vector.iter().map(|x| x.to_bits()).collect();
            records.push((record.kind, record.id, bits, record.extractor_version));
            times.push(record.written_at_ms);
        }
    }
    (records, times)
}

async fn recorded_version(path: &Path) -> i64 {
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .expect("connect");
    let version: i64 = sqlx::query_scalar("SELECT value FROM vectorstore_meta WHERE key = 'schema_version'")
        .fetch_one(&mut conn)
        .await
        .expect("version");
    conn.close().await.expect("close");
    version
}

#[tokio::test]
async fn a_version_1_file_upgrades_once_with_every_record_intact() {
    let (config, _scratch) = fresh("schema_v1_upgrade");
    let path = v1_file(&config);
    assert_eq!(recorded_version(&path).await, 1, "the fixture is of layout version 1");
    let before = vectorstore_core::now_ms();
    let store = open(&config).await;
    let after = vectorstore_core::now_ms();
    assert_eq!(recorded_version(&path).await, i64::from(SCHEMA_VERSION), "the open upgraded the file");
    let (records, times) = records_of(&store).await;
    let want: Vec<(String, String, Vec<u32>, u32)> =
        v1_records().into_iter().map(|(k, i, v, e)| (k.to_owned(), i.to_owned(), v, e)).collect();
    assert_eq!(records, want, "every record, bit for bit, with its version");
    for time in &times {
        assert!((before..=after).contains(time), "an old record counts as written at the upgrade: {time}");
    }
    let kinds: Vec<(String, usize, Metric, u64)> =
        store.kinds().await.expect("kinds").into_iter().map(|k| (k.kind, k.dim, k.metric, k.count)).collect();
    assert_eq!(
        kinds,
        [
            ("emptied".into(), 4, Metric::L2, 0),
            ("hassh".into(), 2, Metric::Cosine, 1),
            ("ja3".into(), 3, Metric::L2, 3)
        ]
    );
    // The upgraded file works as any other: new writes get their time, expire sees both ages.
    while vectorstore_core::now_ms() <= after {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    store.insert("ja3", "session-c", &[0.0, 0.0, 1.0], 1).await.expect("insert");
    let c = store.get("ja3", "session-c").await.expect("get").expect("stored").written_at_ms;
    assert!(c > after, "{c} <= {after}");
    assert_eq!(store.expire("ja3", after + 1).await.expect("expire the upgraded records"), 3);
    assert!(store.get("ja3", "session-c").await.expect("get").is_some(), "the new record is younger");
    let hits = store.knn("hassh", &[0.25, 0.75], 1).await.expect("knn");
    assert_eq!(hits.first().map(|h| h.id.as_str()), Some("attacker-1"));
    store.close().await.expect("close");

    // A second open does nothing more: the times stay as the upgrade set them.
    let store = open(&config).await;
    let (_, again) = records_of(&store).await;
    assert_eq!(again.len(), 2, "hassh's record and session-c");
    assert!(again.contains(&times[0]), "the upgrade's time survived a reopen: {again:?} vs {times:?}");
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn a_version_1_file_is_read_without_writing_to_it_in_read_only_mode() {
    let (config, _scratch) = fresh("schema_v1_read_only");
    let path = v1_file(&config);
    let bytes = std::fs::read(&path).expect("read");
    let store = open(&config.clone().with_option(NAME, "read_only", "immutable")).await;
    let (records, times) = records_of(&store).await;
    assert_eq!(records.len(), 4);
    assert!(times.iter().all(|time| *time > 0), "records of a version-1 file count as written now: {times:?}");
    assert_eq!(store.get("ja3", "session-b").await.expect("get").map(|r| r.extractor_version), Some(2));
    store.close().await.expect("close");
    assert!(std::fs::read(&path).expect("read") == bytes, "read-only mode changed the file");
    assert_eq!(recorded_version(&path).await, 1);
}

#[tokio::test]
async fn several_processes_opening_a_version_1_file_at_once_upgrade_it_once() {
    let (config, _scratch) = fresh("schema_v1_race");
    v1_file(&config);
    let opens = (0..4).map(|_| {
        let config = config.clone();
        tokio::spawn(async move { open(&config).await })
    });
    let stores: Vec<SqliteVecStore> =
        futures::future::join_all(opens).await.into_iter().map(|r| r.expect("no panic")).collect();
    let (records, times) = records_of(&stores[0]).await;
    assert_eq!(records.len(), 4, "nothing lost or doubled");
    for store in &stores[1..] {
        assert_eq!(records_of(store).await, (records.clone(), times.clone()), "every opener sees the same store");
    }
    for store in stores {
        store.close().await.expect("close");
    }
    purge(config).await.expect("purge");
}

/// A kind row whose name breaks the rules (a damaged or crafted file) is left out, read-write
/// and read-only alike: every other kind keeps working, the name never reaches SQL, and a
/// read-only open leaves the file as it was.
#[tokio::test]
async fn kind_rows_with_bad_names_are_left_out_and_the_others_keep_working() {
    let (config, _scratch) = fresh("schema_bad_names");
    let path = path_of(&config);
    let store = open(&config).await;
    store.insert("ja3", "a", &[1.0, 2.0], 1).await.expect("insert");
    store.insert("hassh", "b", &[3.0], 1).await.expect("insert");
    store.close().await.expect("close");
    for name in [
        "'x'' AND 0) UNION SELECT 1 --'",
        "'JA3'",
        "'a\"b'",
        "'line\nFAKE LOG LINE'",
        "X'ff00'",
        "''",
        "42",
        "'vectorstore_meta'",
    ] {
        tamper(
            &path,
            &format!(
                "INSERT INTO vectorstore_kinds (kind, dim, metric, created, schema_version) \
                 VALUES ({name}, 2, 'l2', 0, {SCHEMA_VERSION})"
            ),
        )
        .await;
    }
    tamper(&path, "INSERT INTO vectorstore_written (kind, id, written_at_ms) VALUES ('x'' --', 'a', 1)").await;
    let before = std::fs::read(&path).expect("read file");

    let read_only = SqliteVecStore::from_config(&config.clone().with_option(NAME, "read_only", "true")).expect("open");
    read_only.initialize().await.expect("a bad kind row does not stop a read-only open");
    let store = open(&config).await;
    for (mode, store) in [("read-only", &read_only), ("read-write", &store)] {
        let kinds: Vec<String> = store.kinds().await.expect("kinds").into_iter().map(|k| k.kind).collect();
        assert_eq!(kinds, ["hassh", "ja3"], "{mode}: only the valid kinds are listed");
        let health = store.health().await;
        assert!(health.ok, "{mode}: {health:?}");
        assert_eq!(health.kinds, Some(2), "{mode}: {health:?}");
        let records = store.scan_all("ja3", 10).await.expect("scan");
        assert_eq!(records.len(), 1, "{mode}");
        assert_eq!(store.knn("ja3", &[1.0, 2.0], 5).await.expect("knn").len(), 1, "{mode}");
        let err = store.knn("x' AND 0) UNION SELECT 1 --", &[1.0, 2.0], 5).await.expect_err("a bad kind");
        assert_eq!(err.kind(), ErrorKind::InvalidKind, "{mode}: {err}");
        assert!(!err.to_string().contains('\n'), "{mode}: {err}");
    }
    read_only.close().await.expect("close");
    assert!(std::fs::read(&path).expect("read file") == before, "the read-only open changed the file");
    store.insert("ja3", "c", &[0.0, 0.0], 1).await.expect("writes still work");
    assert_eq!(store.scan_all("ja3", 10).await.expect("scan").len(), 2);
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}
