//! Files of the original (Python) store: adopted once, record by record, into the current
//! layout; kinds the current rules reject adopted under their documented names; what cannot be
//! adopted refused as a whole (or skipped when asked); concurrent opens adopting once; and the
//! read-only mode, which serves such a file without writing to it.
//!
//! The legacy files are written here the way the original wrote them (`vectors` plus one
//! `vec_<kind>` vec0 table per kind, replace = delete + insert of the vec0 row), so these tests
//! do not depend on the shared fixture; the fixture written by the original itself is checked
//! too when it is present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection, Row};
use vectorstore_core::{Config, ErrorKind, KnnOptions, Metric, NewVector, VectorStore, VectorStoreExt};
use vectorstore_sqlite_vec::{NAME, SqliteVecStore, purge, register_extension};

use crate::common::fresh;

// ---------------------------------------------------------------------------------------------
// Writing files the way the original store did

/// A connection writing the original store's layout.
struct LegacyWriter {
    conn: SqliteConnection,
}

fn le_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl LegacyWriter {
    async fn open(path: &Path) -> LegacyWriter {
        register_extension().expect("sqlite-vec");
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("directory");
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        let conn = SqliteConnection::connect_with(&options).await.expect("connect");
        let mut writer = LegacyWriter { conn };
        for statement in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = OFF",
            "CREATE TABLE IF NOT EXISTS vectors (
                kind TEXT NOT NULL,
                id   TEXT NOT NULL,
                extractor_version INTEGER NOT NULL DEFAULT 1,
                dim  INTEGER NOT NULL,
                rowid_in_vec INTEGER NOT NULL,
                PRIMARY KEY (kind, id)
            )",
            "CREATE INDEX IF NOT EXISTS ix_vectors_kind ON vectors(kind)",
        ] {
            writer.exec(statement).await;
        }
        writer
    }

    async fn exec(&mut self, statement: &str) {
        sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
            .execute(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// The original's insert-or-replace: the vec0 table is created by a kind's first insert;
    /// a replaced record's vec0 row is deleted and a new one inserted.
    async fn insert(&mut self, kind: &str, id: &str, vector: &[f32], version: i64) {
        let table = format!("\"vec_{kind}\"");
        self.exec(&format!("CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0(embedding float[{}])", vector.len()))
            .await;
        let old: Option<i64> = sqlx::query_scalar("SELECT rowid_in_vec FROM vectors WHERE kind = ?1 AND id = ?2")
            .bind(kind)
            .bind(id)
            .fetch_optional(&mut self.conn)
            .await
            .expect("lookup");
        if let Some(old) = old {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE rowid = ?1")))
                .bind(old)
                .execute(&mut self.conn)
                .await
                .expect("delete old vector");
        }
        let rowid = sqlx::query(AssertSqlSafe(format!("INSERT INTO {table}(embedding) VALUES (?1)")))
            .bind(le_bytes(vector))
            .execute(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("insert vector {kind}/{id}: {e}"))
            .last_insert_rowid();
        sqlx::query(
            "INSERT OR REPLACE INTO vectors (kind, id, extractor_version, dim, rowid_in_vec) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(kind)
        .bind(id)
        .bind(version)
        .bind(vector.len() as i64)
        .bind(rowid)
        .execute(&mut self.conn)
        .await
        .expect("insert record");
    }

    async fn delete(&mut self, kind: &str, id: &str) {
        let rowid: i64 = sqlx::query_scalar("SELECT rowid_in_vec FROM vectors WHERE kind = ?1 AND id = ?2")
            .bind(kind)
            .bind(id)
            .fetch_one(&mut self.conn)
            .await
            .expect("lookup");
        sqlx::query(AssertSqlSafe(format!("DELETE FROM \"vec_{kind}\" WHERE rowid = ?1")))
            .bind(rowid)
            .execute(&mut self.conn)
            .await
            .expect("delete vector");
        sqlx::query("DELETE FROM vectors WHERE kind = ?1 AND id = ?2")
            .bind(kind)
            .bind(id)
            .execute(&mut self.conn)
            .await
            .expect("delete record");
    }

    async fn close(self) {
        self.conn.close().await.expect("close");
    }
}

// ---------------------------------------------------------------------------------------------
// What the files must hold

/// kind -> (dim, id -> (vector, extractor version)).
type Expected = BTreeMap<String, (usize, BTreeMap<String, (Vec<f32>, u32)>)>;

/// The fixture README's generating sequence, evaluated here as Python evaluates it (f64
/// arithmetic, stored as the nearest f32).
fn python_expected() -> Expected {
    let mut ja3 = BTreeMap::new();
    for i in 0..5u32 {
        let i64f = f64::from(i);
        let vector = vec![(i64f * 0.5) as f32, 1.0, -0.25, (i64f / 3.0) as f32];
        ja3.insert(format!("session-{i}"), (vector, 1 + i % 2));
    }
    ja3.insert("session-1".to_owned(), (vec![9.0; 4], 3));
    let mut hassh = BTreeMap::new();
    for i in 0..2u32 {
        hassh.insert(format!("attacker-{i}"), (vec![(0.1 * f64::from(i)) as f32, 0.2f64 as f32, 0.3f64 as f32], 1));
    }
    BTreeMap::from([
        ("ja3".to_owned(), (4, ja3)),
        ("hassh".to_owned(), (3, hassh)),
        ("cmd_ngram".to_owned(), (2, BTreeMap::new())),
    ])
}

/// Replays the fixture README's sequence with the original's writes.
async fn write_python_sequence(path: &Path) {
    let mut w = LegacyWriter::open(path).await;
    for i in 0..5i64 {
        let f = i as f64;
        w.insert("ja3", &format!("session-{i}"), &[(f * 0.5) as f32, 1.0, -0.25, (f / 3.0) as f32], 1 + i % 2).await;
    }
    for i in 0..3 {
        w.insert("hassh", &format!("attacker-{i}"), &[(0.1 * f64::from(i)) as f32, 0.2, 0.3], 1).await;
    }
    w.insert("ja3", "session-1", &[9.0, 9.0, 9.0, 9.0], 3).await;
    w.delete("hassh", "attacker-2").await;
    w.insert("cmd_ngram", "only", &[1.5, 2.5], 1).await;
    w.delete("cmd_ngram", "only").await;
    w.close().await;
}

fn bits(vector: &[f32]) -> Vec<u32> {
    vector.iter().map(|v| v.to_bits()).collect()
}

/// Checks, record by record, that `store` holds exactly `expected` (all kinds l2).
async fn assert_holds(store: &SqliteVecStore, expected: &Expected) {
    let kinds: Vec<(String, usize, Metric, u64)> =
        store.kinds().await.expect("kinds").into_iter().map(|k| (k.kind, k.dim, k.metric, k.count)).collect();
    let wanted: Vec<(String, usize, Metric, u64)> =
        expected.iter().map(|(kind, (dim, records))| (kind.clone(), *dim, Metric::L2, records.len() as u64)).collect();
    assert_eq!(kinds, wanted);
    let health = store.health().await;
    assert!(health.ok, "{health:?}");
    let total: usize = expected.values().map(|(_, records)| records.len()).sum();
    assert_eq!((health.kinds, health.vectors), (Some(expected.len() as u64), Some(total as u64)));
    for (kind, (dim, records)) in expected {
        let scanned = store.scan_all(kind, 333).await.expect("scan");
        assert_eq!(scanned.len(), records.len(), "{kind}");
        for (record, (id, (vector, version))) in scanned.iter().zip(records) {
            assert_eq!(&record.id, id, "{kind}: ids in order");
            assert_eq!(record.dim, *dim, "{kind}/{id}");
            assert_eq!(bits(&record.vector), bits(vector), "{kind}/{id}: the exact bits");
            assert_eq!(record.extractor_version, *version, "{kind}/{id}");
        }
        for (id, (vector, version)) in records.iter().take(50) {
            let record = store.get(kind, id).await.expect("get").unwrap_or_else(|| panic!("{kind}/{id} missing"));
            assert_eq!((bits(&record.vector), record.extractor_version), (bits(vector), *version), "{kind}/{id}");
        }
    }
}

/// The searches the fixture's data must answer.
async fn assert_python_searches(store: &SqliteVecStore) {
    let hits = store.knn("ja3", &[9.0, 9.0, 9.0, 9.0], 2).await.expect("knn");
    assert_eq!(hits[0].id, "session-1");
    assert_eq!(hits[0].distance, 0.0);
    assert_eq!(hits[1].id, "session-4", "the nearest after the replaced one: {hits:?}");
    let v2 = store.knn_with("ja3", &[0.0; 4], &KnnOptions::new(10).extractor_version(2)).await.expect("knn v2");
    assert_eq!(v2.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["session-3"]);
    let near = store.knn("hassh", &[0.1, 0.2, 0.3], 1).await.expect("knn");
    assert_eq!(near[0].id, "attacker-1");
    assert_eq!(near[0].distance, 0.0);
    assert!(store.knn("cmd_ngram", &[0.0, 0.0], 5).await.expect("knn on the emptied kind").is_empty());
    let err = store.knn("cmd_ngram", &[0.0, 0.0, 0.0], 5).await.expect_err("the emptied kind kept its dimension");
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Looking at the file directly

async fn inspect(path: &Path) -> SqliteConnection {
    register_extension().expect("sqlite-vec");
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    SqliteConnection::connect_with(&options).await.expect("connect")
}

/// The original's tables, row by row: their definitions, `vectors`, and every vec0 row.
async fn legacy_dump(path: &Path) -> Vec<String> {
    let mut conn = inspect(path).await;
    let mut dump = Vec::new();
    let tables = sqlx::query(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name = 'vectors' OR name LIKE 'vec\\_%' \
         ESCAPE '\\' OR name = 'ix_vectors_kind' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut vec0 = Vec::new();
    for row in tables {
        let (kind, name, sql): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        if sql.contains("USING vec0") {
            vec0.push(name.clone());
        }
        dump.push(format!("{kind} {name}: {sql}"));
    }
    let rows = sqlx::query(
        "SELECT kind, hex(CAST(id AS BLOB)), extractor_version, dim, rowid_in_vec FROM vectors ORDER BY kind, id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("vectors");
    for row in rows {
        let (kind, id, version, dim, rowid): (String, String, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        dump.push(format!("vectors {kind} {id} v{version} dim {dim} rowid {rowid}"));
    }
    for table in vec0 {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT rowid, hex(embedding) FROM \"{table}\" ORDER BY rowid")))
            .fetch_all(&mut conn)
            .await
            .expect("vec0 rows");
        for row in rows {
            let (rowid, blob): (i64, String) = (row.get(0), row.get(1));
            dump.push(format!("{table} {rowid} {blob}"));
        }
    }
    conn.close().await.expect("close");
    dump
}

/// `vectorstore_meta` as text, empty when the file has none.
async fn meta(path: &Path) -> BTreeMap<String, String> {
    let mut conn = inspect(path).await;
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'vectorstore_meta'")
        .fetch_one(&mut conn)
        .await
        .expect("meta");
    let mut meta = BTreeMap::new();
    if exists > 0 {
        for row in sqlx::query("SELECT key, CAST(value AS TEXT) FROM vectorstore_meta")
            .fetch_all(&mut conn)
            .await
            .expect("meta")
        {
            meta.insert(row.get(0), row.get(1));
        }
    }
    conn.close().await.expect("close");
    meta
}

/// The current layout's kinds as the file records them, empty when it has none.
async fn current_kinds(path: &Path) -> Vec<(String, i64)> {
    let mut conn = inspect(path).await;
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'vectorstore_kinds'")
        .fetch_one(&mut conn)
        .await
        .expect("kinds");
    let kinds = if exists > 0 {
        sqlx::query("SELECT kind, dim FROM vectorstore_kinds ORDER BY kind")
            .fetch_all(&mut conn)
            .await
            .expect("kinds")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    } else {
        Vec::new()
    };
    conn.close().await.expect("close");
    kinds
}

fn path_of(config: &Config) -> PathBuf {
    config.path.clone().expect("isolated configs have a path")
}

async fn open(config: &Config) -> SqliteVecStore {
    let store = SqliteVecStore::from_config(config).expect("config");
    store.initialize().await.unwrap_or_else(|e| panic!("initialize: {e}"));
    store
}

fn read_only(config: &Config, value: &str) -> Config {
    config.clone().with_option(NAME, "read_only", value)
}

fn skipping(config: &Config) -> Config {
    config.clone().with_option(NAME, "legacy_skip_invalid", "true")
}

/// The documented name of a kind the current rules reject, derived here from the README's
/// rule (not from the crate): `legacy_<ASCII letters lowercased, digits, _; at most 32>_<FNV-1a
/// 32 of the UTF-8 bytes, 8 hex digits>`.
fn documented_name(kind: &str) -> String {
    let valid = kind.len() <= 48
        && kind.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        return kind.to_owned();
    }
    let mut hash: u32 = 2_166_136_261;
    for byte in kind.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(16_777_619);
    }
    let slug: String = kind
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .map(|c| c.to_ascii_lowercase())
        .take(32)
        .collect();
    format!("legacy_{slug}_{hash:08x}")
}

// ---------------------------------------------------------------------------------------------
// Adoption

#[tokio::test]
async fn a_python_store_file_is_adopted_once_record_by_record() {
    let (config, _scratch) = fresh("legacy_sequence");
    let path = path_of(&config);
    write_python_sequence(&path).await;
    let before = legacy_dump(&path).await;
    let expected = python_expected();

    let store = open(&config).await;
    let adoption = store.legacy_adoption().expect("this open adopted the file");
    assert!(!adoption.in_memory);
    assert_eq!(adoption.records(), 7);
    assert!(adoption.skipped.is_empty());
    let adopted: Vec<(&str, &str, usize, u64)> =
        adoption.kinds.iter().map(|k| (k.legacy.as_str(), k.kind.as_str(), k.dim, k.records)).collect();
    assert_eq!(adopted, [("cmd_ngram", "cmd_ngram", 2, 0), ("hassh", "hassh", 3, 2), ("ja3", "ja3", 4, 5)]);
    assert_holds(&store, &expected).await;
    assert_python_searches(&store).await;
    // The adopted kinds take writes like any other.
    let err = store.insert("cmd_ngram", "x", &[1.0, 2.0, 3.0], 1).await.expect_err("dimension 2 was adopted");
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch);
    assert!(store.delete("ja3", "session-0").await.expect("delete"));
    store.close().await.expect("close");
    assert_eq!(legacy_dump(&path).await, before, "the original tables were modified");
    let recorded = meta(&path).await;
    assert!(recorded.contains_key("legacy_adopted"), "{recorded:?}");
    assert!(recorded.get("legacy_adoption").is_some_and(|s| s.contains("7 records")), "{recorded:?}");

    // A second open adopts nothing: the record deleted above stays deleted.
    let reopened = open(&config).await;
    assert!(reopened.legacy_adoption().is_none(), "adopted twice");
    let mut expected = expected;
    expected.get_mut("ja3").expect("ja3").1.remove("session-0");
    assert_holds(&reopened, &expected).await;
    reopened.close().await.expect("close");
    assert_eq!(legacy_dump(&path).await, before);
    purge(config).await.expect("purge");
}

/// The fixture the original store wrote, shared by the project's checkouts; `None`, after
/// printing `SKIPPED` and why, when this checkout has none (the other tests cover the same
/// ground with files written here).
#[allow(clippy::print_stderr)]
fn fixture() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/legacy-python-store.sqlite");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED {NAME}::the_fixture_written_by_the_original_store_is_adopted: no fixture at {}",
            path.display()
        );
        None
    }
}

/// Copies the fixture (and any companion) next to `config`'s path; the fixture itself is
/// never opened for writing.
fn copy_fixture(fixture: &Path, config: &Config) -> PathBuf {
    let path = path_of(config);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
    for suffix in ["", "-wal", "-shm"] {
        let mut from = fixture.as_os_str().to_owned();
        from.push(suffix);
        let mut to = path.as_os_str().to_owned();
        to.push(suffix);
        if Path::new(&from).exists() {
            std::fs::copy(&from, &to).expect("copy the fixture");
        }
    }
    path
}

#[tokio::test]
async fn the_fixture_written_by_the_original_store_is_adopted() {
    let Some(fixture) = fixture() else { return };
    let (config, _scratch) = fresh("legacy_fixture");
    let path = copy_fixture(&fixture, &config);
    let before = legacy_dump(&path).await;
    let expected = python_expected();

    // Read-only first: served from memory, the copy untouched.
    let untouched = std::fs::read(&path).expect("read");
    let store = open(&read_only(&config, "true")).await;
    assert!(store.legacy_adoption().is_some_and(|a| a.in_memory));
    assert_holds(&store, &expected).await;
    assert_python_searches(&store).await;
    store.close().await.expect("close");
    assert!(std::fs::read(&path).expect("read") == untouched, "read-only mode modified the file");

    let store = open(&config).await;
    assert_eq!(store.legacy_adoption().map(|a| a.records()), Some(7));
    assert_holds(&store, &expected).await;
    assert_python_searches(&store).await;
    store.close().await.expect("close");
    let reopened = open(&config).await;
    assert!(reopened.legacy_adoption().is_none());
    assert_holds(&reopened, &expected).await;
    reopened.close().await.expect("close");
    assert_eq!(legacy_dump(&path).await, before, "the original tables were modified");
    purge(config).await.expect("purge");
}

/// Vector `n` of dimension `dim`: distinct bit patterns, `-0.0`, subnormals, extremes; finite.
fn pattern(n: u64, dim: usize) -> Vec<f32> {
    (0..dim as u64)
        .map(|c| match (n + c) % 7 {
            0 => -0.0,
            1 => f32::from_bits(1 + (n as u32 % 5000)),
            2 => f32::MAX / (1.0 + c as f32),
            _ => {
                let bits = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(c * 0x2545_F491) >> 32) as u32;
                f32::from_bits(bits & 0xbfff_ffff)
            }
        })
        .collect()
}

#[tokio::test]
async fn a_large_python_store_file_is_adopted_intact() {
    const PER_KIND: u64 = 2_000;
    let (config, _scratch) = fresh("legacy_large");
    let path = path_of(&config);
    let mut expected = Expected::new();
    let mut w = LegacyWriter::open(&path).await;
    w.exec("BEGIN").await;
    for (kind, dim) in [("ja3", 16usize), ("hassh", 3), ("keystroke_dwell", 96)] {
        let records = &mut expected.entry(kind.to_owned()).or_insert((dim, BTreeMap::new())).1;
        // 10% more, then a tenth of them deleted and a fifth replaced: rowids no longer follow ids.
        for n in 0..PER_KIND + PER_KIND / 10 {
            let id = format!("{kind}-{n:05}");
            let vector = pattern(n, dim);
            w.insert(kind, &id, &vector, 1).await;
            records.insert(id, (vector, 1));
        }
        for n in (0..PER_KIND + PER_KIND / 10).step_by(11).take((PER_KIND / 10) as usize) {
            let id = format!("{kind}-{n:05}");
            w.delete(kind, &id).await;
            records.remove(&id);
        }
        let ids: Vec<String> = records.keys().step_by(5).cloned().collect();
        for (i, id) in ids.into_iter().enumerate() {
            let vector = pattern(1_000_000 + i as u64, dim);
            let version = 2 + (i % 3) as u32;
            w.insert(kind, &id, &vector, i64::from(version)).await;
            records.insert(id, (vector, version));
        }
        assert_eq!(records.len() as u64, PER_KIND, "{kind}");
    }
    w.exec("COMMIT").await;
    w.close().await;
    let before = legacy_dump(&path).await;

    let store = open(&config).await;
    assert_eq!(store.legacy_adoption().map(|a| a.records()), Some(3 * PER_KIND));
    assert_holds(&store, &expected).await;
    store.close().await.expect("close");
    let reopened = open(&config).await;
    assert!(reopened.legacy_adoption().is_none(), "the second open adopts nothing");
    assert_holds(&reopened, &expected).await;
    reopened.close().await.expect("close");
    assert_eq!(legacy_dump(&path).await, before);
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn kinds_the_current_rules_reject_are_adopted_under_their_documented_names() {
    let (config, _scratch) = fresh("legacy_names");
    let path = path_of(&config);
    let mut w = LegacyWriter::open(&path).await;
    // SQLite table names ignore ASCII case: the original kept JA3 and ja3 in one table.
    w.insert("JA3", "upper-1", &[1.0, 0.0, 0.0, 0.0], 1).await;
    w.insert("ja3", "lower-1", &[0.0, 1.0, 0.0, 0.0], 2).await;
    w.insert("JA3", "upper-2", &[0.0, 0.0, 1.0, 0.0], 1).await;
    w.insert("Größe", "g", &[1.0, 2.0, 3.0], 1).await;
    w.insert("指纹", "f", &[4.0], 1).await;
    w.insert("Emptied", "gone", &[1.0, 2.0, 3.0, 4.0, 5.0], 1).await;
    w.delete("Emptied", "gone").await;
    w.close().await;
    let names: BTreeMap<&str, String> =
        ["JA3", "ja3", "Größe", "指纹", "Emptied"].into_iter().map(|k| (k, documented_name(k))).collect();
    assert_eq!(names["ja3"], "ja3");
    assert!(names["JA3"].starts_with("legacy_ja3_") && names["Größe"].starts_with("legacy_gre_"), "{names:?}");
    assert!(names["指纹"].starts_with("legacy__"), "{names:?}");

    let store = open(&config).await;
    let adoption = store.legacy_adoption().expect("adopted");
    let renamed: BTreeMap<&str, &str> = adoption.kinds.iter().map(|k| (k.legacy.as_str(), k.kind.as_str())).collect();
    assert_eq!(renamed, names.iter().map(|(k, v)| (*k, v.as_str())).collect::<BTreeMap<_, _>>());
    let mut expected = Expected::new();
    let mut put = |kind: &str, dim: usize, records: &[(&str, Vec<f32>, u32)]| {
        let entry = &mut expected.entry(names[kind].clone()).or_insert((dim, BTreeMap::new())).1;
        for (id, vector, version) in records {
            entry.insert((*id).to_owned(), (vector.clone(), *version));
        }
    };
    put("JA3", 4, &[("upper-1", vec![1.0, 0.0, 0.0, 0.0], 1), ("upper-2", vec![0.0, 0.0, 1.0, 0.0], 1)]);
    put("ja3", 4, &[("lower-1", vec![0.0, 1.0, 0.0, 0.0], 2)]);
    put("Größe", 3, &[("g", vec![1.0, 2.0, 3.0], 1)]);
    put("指纹", 1, &[("f", vec![4.0], 1)]);
    put("Emptied", 5, &[]);
    assert_holds(&store, &expected).await;
    store.close().await.expect("close");
    let recorded = meta(&path).await;
    for (legacy, adopted) in &names {
        if *legacy != adopted.as_str() {
            assert_eq!(recorded.get(&format!("legacy_name:{legacy}")), Some(adopted), "{recorded:?}");
        }
    }
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn kinds_that_would_share_a_name_are_refused_and_nothing_is_adopted() {
    let (config, _scratch) = fresh("legacy_collision");
    let path = path_of(&config);
    let taken = documented_name("JA3");
    let mut w = LegacyWriter::open(&path).await;
    w.insert("JA3", "a", &[1.0, 2.0], 1).await;
    w.insert(&taken, "b", &[3.0, 4.0], 1).await;
    w.insert("hassh", "c", &[5.0], 1).await;
    w.close().await;
    let before = legacy_dump(&path).await;

    for access in ["false", "true"] {
        let store = SqliteVecStore::from_config(&read_only(&config, access)).expect("config");
        let err = store.initialize().await.expect_err("a collision must be refused");
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        for named in ["\"JA3\"", taken.as_str(), "LEGACY_SKIP_INVALID", &path.display().to_string()] {
            assert!(err.message().contains(named), "read_only={access}: the error names {named}: {err}");
        }
        assert!(!err.message().contains("\"hassh\""), "only the offending kinds are named: {err}");
        assert!(!store.health().await.ok);
    }
    assert!(current_kinds(&path).await.is_empty(), "half adopted");
    assert!(!meta(&path).await.contains_key("legacy_adopted"));
    assert_eq!(legacy_dump(&path).await, before);

    // Asked to skip: everything else is adopted, the colliding kinds stay in the original tables.
    let store = open(&skipping(&config)).await;
    let adoption = store.legacy_adoption().expect("adopted");
    assert_eq!(adoption.kinds.iter().map(|k| k.kind.as_str()).collect::<Vec<_>>(), ["hassh"]);
    assert_eq!(adoption.skipped.len(), 2, "{adoption:?}");
    let expected = Expected::from([("hassh".to_owned(), (1, BTreeMap::from([("c".to_owned(), (vec![5.0], 1))])))]);
    assert_holds(&store, &expected).await;
    store.close().await.expect("close");
    assert_eq!(legacy_dump(&path).await, before);
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn records_breaking_the_current_rules_refuse_the_adoption_unless_skipped() {
    let (config, _scratch) = fresh("legacy_records");
    let path = path_of(&config);
    let long = "x".repeat(600);
    let mut w = LegacyWriter::open(&path).await;
    w.insert("ja3", "fine", &[1.0, 2.0], 1).await;
    w.insert("ja3", "", &[1.0, 2.0], 1).await;
    w.insert("ja3", &long, &[1.0, 2.0], 1).await;
    w.insert("ja3", "nul\0inside", &[1.0, 2.0], 1).await;
    w.insert("ja3", "not-a-number", &[f32::NAN, 2.0], 1).await;
    w.insert("ja3", "infinite", &[1.0, f32::NEG_INFINITY], 1).await;
    w.insert("ja3", "version-0", &[1.0, 2.0], 0).await;
    w.insert("hassh", "also-fine", &[0.5], 4).await;
    w.close().await;
    let before = legacy_dump(&path).await;

    let store = SqliteVecStore::from_config(&config).expect("config");
    let err = store.initialize().await.expect_err("bad records must be refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    for named in ["id \"\"", "xxxxxxxx…(600 bytes)", "nul\\0inside", "not-a-number", "infinite", "version-0"] {
        assert!(err.message().contains(named), "the error names {named}: {err}");
    }
    assert!(!err.message().contains("\"fine\""), "{err}");
    assert!(current_kinds(&path).await.is_empty(), "half adopted");
    assert!(!meta(&path).await.contains_key("legacy_adopted"));

    let store = open(&skipping(&config)).await;
    let adoption = store.legacy_adoption().expect("adopted");
    assert_eq!(adoption.skipped.len(), 6, "{:?}", adoption.skipped);
    let expected = Expected::from([
        ("hassh".to_owned(), (1, BTreeMap::from([("also-fine".to_owned(), (vec![0.5], 4))]))),
        ("ja3".to_owned(), (2, BTreeMap::from([("fine".to_owned(), (vec![1.0, 2.0], 1))]))),
    ]);
    assert_holds(&store, &expected).await;
    store.close().await.expect("close");
    // The skip happened once: a plain open now finds the file adopted.
    let reopened = open(&config).await;
    assert!(reopened.legacy_adoption().is_none());
    assert_holds(&reopened, &expected).await;
    reopened.close().await.expect("close");
    assert_eq!(legacy_dump(&path).await, before);
    purge(config).await.expect("purge");
}

#[tokio::test]
async fn a_current_kind_of_another_dimension_is_never_corrupted() {
    let (config, _scratch) = fresh("legacy_conflict");
    let path = path_of(&config);
    // What a deployment has after running this store before adoption existed: the current
    // layout beside the original's tables, with new data in it.
    let store = open(&config).await;
    store.insert("ja3", "new", &[1.0, 2.0], 5).await.expect("insert");
    store.insert("hassh", "kept", &[1.0, 1.0, 1.0], 1).await.expect("insert");
    store.insert("hassh", "both", &[7.0, 7.0, 7.0], 9).await.expect("insert");
    store.close().await.expect("close");
    let mut w = LegacyWriter::open(&path).await;
    w.insert("ja3", "old", &[1.0, 2.0, 3.0, 4.0], 1).await;
    w.insert("hassh", "both", &[0.0, 0.0, 0.0], 1).await;
    w.insert("hassh", "legacy-only", &[2.0, 2.0, 2.0], 2).await;
    w.insert("cmd_ngram", "c", &[1.0], 1).await;
    w.close().await;

    let err = SqliteVecStore::from_config(&config).expect("config").initialize().await.expect_err("dim conflict");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("kind \"ja3\"") && err.message().contains("dim 2"), "{err}");
    assert_eq!(current_kinds(&path).await, [("hassh".to_owned(), 3), ("ja3".to_owned(), 2)]);
    assert!(!meta(&path).await.contains_key("legacy_adopted"));

    let store = open(&skipping(&config)).await;
    let adoption = store.legacy_adoption().expect("adopted");
    assert_eq!(adoption.skipped.len(), 1, "{adoption:?}");
    assert!(adoption.skipped[0].contains("ja3"), "{adoption:?}");
    let hassh = adoption.kinds.iter().find(|k| k.kind == "hassh").expect("hassh merged");
    assert_eq!((hassh.records, hassh.superseded), (1, 1));
    let expected = Expected::from([
        ("cmd_ngram".to_owned(), (1, BTreeMap::from([("c".to_owned(), (vec![1.0], 1))]))),
        (
            "hassh".to_owned(),
            (
                3,
                BTreeMap::from([
                    // The current layout's record is newer than the original's: it wins.
                    ("both".to_owned(), (vec![7.0, 7.0, 7.0], 9)),
                    ("kept".to_owned(), (vec![1.0, 1.0, 1.0], 1)),
                    ("legacy-only".to_owned(), (vec![2.0, 2.0, 2.0], 2)),
                ]),
            ),
        ),
        ("ja3".to_owned(), (2, BTreeMap::from([("new".to_owned(), (vec![1.0, 2.0], 5))]))),
    ]);
    assert_holds(&store, &expected).await;

    // The documented way back: clear the conflict, delete the marker, and the next open adopts
    // again, keeping what is already there.
    assert!(store.drop_kind("ja3").await.expect("drop the conflicting kind"));
    store.close().await.expect("close");
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path)).await.expect("connect");
    sqlx::query("DELETE FROM vectorstore_meta WHERE key = 'legacy_adopted'").execute(&mut conn).await.expect("delete");
    conn.close().await.expect("close");
    let store = open(&config).await;
    let again = store.legacy_adoption().expect("adopted again");
    assert!(again.skipped.is_empty(), "{again:?}");
    let counts: Vec<(&str, u64, u64)> =
        again.kinds.iter().map(|k| (k.kind.as_str(), k.records, k.superseded)).collect();
    assert_eq!(counts, [("cmd_ngram", 0, 1), ("hassh", 0, 2), ("ja3", 1, 0)]);
    let mut expected = expected;
    expected.insert("ja3".to_owned(), (4, BTreeMap::from([("old".to_owned(), (vec![1.0, 2.0, 3.0, 4.0], 1))])));
    assert_holds(&store, &expected).await;
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_adopt_exactly_once() {
    const STORES: usize = 8;
    let (config, _scratch) = fresh("legacy_concurrent");
    let path = path_of(&config);
    let mut expected = Expected::new();
    let mut w = LegacyWriter::open(&path).await;
    w.exec("BEGIN").await;
    for (kind, dim) in [("ja3", 8usize), ("hassh", 4)] {
        let records = &mut expected.entry(kind.to_owned()).or_insert((dim, BTreeMap::new())).1;
        for n in 0..600u64 {
            let id = format!("{kind}-{n}");
            let vector = pattern(n, dim);
            w.insert(kind, &id, &vector, 1).await;
            records.insert(id, (vector, 1));
        }
    }
    w.exec("COMMIT").await;
    w.close().await;

    let barrier = Arc::new(tokio::sync::Barrier::new(STORES));
    let tasks: Vec<_> = (0..STORES)
        .map(|_| {
            let (config, barrier) = (config.clone(), barrier.clone());
            tokio::spawn(async move {
                let store = SqliteVecStore::from_config(&config).expect("config");
                barrier.wait().await;
                store.initialize().await.map(|()| store)
            })
        })
        .collect();
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(task.await.expect("task").unwrap_or_else(|e| panic!("a concurrent open failed: {e}")));
    }
    let adopters = stores.iter().filter(|s| s.legacy_adoption().is_some()).count();
    assert_eq!(adopters, 1, "exactly one open adopts");
    for store in &stores {
        assert_holds(store, &expected).await;
    }
    for store in stores {
        store.close().await.expect("close");
    }
    purge(config).await.expect("purge");
}

// ---------------------------------------------------------------------------------------------
// Read-only mode

/// The file's bytes and modification time.
fn state(path: &Path) -> (Vec<u8>, SystemTime) {
    let bytes = std::fs::read(path).expect("read");
    let modified = std::fs::metadata(path).expect("metadata").modified().expect("mtime");
    (bytes, modified)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

/// Every write is refused with a `Config` error saying the store is read-only.
async fn assert_writes_refused(store: &SqliteVecStore) {
    let item = NewVector::new("x", vec![1.0; 4]);
    let errors = [
        store.insert("ja3", "x", &[1.0; 4], 1).await.expect_err("insert"),
        store.insert("brand_new", "x", &[1.0], 1).await.expect_err("insert creating a kind"),
        store.insert_many("ja3", std::slice::from_ref(&item)).await.expect_err("insert_many"),
        store.insert_many("ja3", &[]).await.expect_err("empty insert_many"),
        store.delete("ja3", "session-0").await.expect_err("delete"),
        store.create_kind("other", 2, Metric::L2).await.expect_err("create_kind"),
        store.drop_kind("ja3").await.expect_err("drop_kind"),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains("read-only"), "{err}");
    }
}

#[tokio::test]
async fn read_only_sessions_serve_a_python_store_file_without_writing_to_it() {
    let (config, _scratch) = fresh("legacy_read_only");
    let path = path_of(&config);
    write_python_sequence(&path).await;
    let expected = python_expected();
    let legacy = legacy_dump(&path).await;
    let dir = path.parent().expect("dir").to_path_buf();

    // immutable: not a byte written, no companion file created.
    let (bytes, modified) = state(&path);
    let files = listing(&dir);
    let store = open(&read_only(&config, "immutable")).await;
    assert!(store.legacy_adoption().is_some_and(|a| a.in_memory && a.records() == 7));
    assert_holds(&store, &expected).await;
    assert_python_searches(&store).await;
    assert_writes_refused(&store).await;
    let health = store.health().await;
    assert_eq!(health.detail.get("read_only").map(String::as_str), Some("immutable"));
    assert!(health.detail.contains_key("legacy"), "{health:?}");
    store.close().await.expect("close");
    assert!(state(&path) == (bytes.clone(), modified), "immutable mode modified the file");
    assert_eq!(listing(&dir), files, "immutable mode created files");

    // true: the same, as a copy source would use it.
    let source = open(&read_only(&config, "true")).await;
    assert_writes_refused(&source).await;
    let (target_config, _target_scratch) = fresh("legacy_read_only_target");
    let target = open(&target_config).await;
    for info in source.kinds().await.expect("kinds") {
        target.create_kind(&info.kind, info.dim, info.metric).await.expect("create");
        let records = source.scan_all(&info.kind, 2).await.expect("scan");
        let items: Vec<NewVector> = records
            .into_iter()
            .map(|r| NewVector::new(r.id, r.vector).with_extractor_version(r.extractor_version))
            .collect();
        target.insert_many(&info.kind, &items).await.expect("copy");
    }
    source.close().await.expect("close");
    assert_holds(&target, &expected).await;
    target.close().await.expect("close");
    assert!(state(&path) == (bytes, modified), "read-only mode modified the file");
    assert_eq!(legacy_dump(&path).await, legacy);
    assert!(meta(&path).await.is_empty(), "read-only mode adopted into the file");
    purge(target_config).await.expect("purge");

    // Once adopted, read-only mode reads the file itself, still without writing to it.
    let store = open(&config).await;
    store.delete("ja3", "session-0").await.expect("delete");
    store.close().await.expect("close");
    let (bytes, modified) = state(&path);
    let store = open(&read_only(&config, "true")).await;
    assert!(store.legacy_adoption().is_none(), "nothing left to adopt");
    let health = store.health().await;
    assert_eq!(health.detail.get("read_only").map(String::as_str), Some("true"));
    assert!(!health.detail.contains_key("legacy"), "{health:?}");
    assert!(store.get("ja3", "session-0").await.expect("get").is_none(), "reads the file, not the original tables");
    assert_eq!(store.kind_info("ja3").await.expect("kind").map(|k| k.count), Some(4));
    assert_writes_refused(&store).await;
    store.close().await.expect("close");
    assert!(state(&path) == (bytes, modified), "read-only mode modified the adopted file");

    // A missing file is a Config error, and is not created.
    let missing = dir.join("missing.sqlite");
    let store = SqliteVecStore::from_config(&read_only(&config, "true").with_path(&missing)).expect("config");
    let err = store.initialize().await.expect_err("a missing file");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains(&missing.display().to_string()), "{err}");
    assert!(!missing.exists(), "read-only mode created the file");
}

#[tokio::test]
async fn immutable_mode_refuses_a_file_with_unmerged_commits() {
    let (config, _scratch) = fresh("legacy_immutable_wal");
    let path = path_of(&config);
    write_python_sequence(&path).await;
    // A writer that stays open keeps its last commit in the -wal companion.
    let mut w = LegacyWriter::open(&path).await;
    w.exec("PRAGMA wal_autocheckpoint = 0").await;
    w.insert("ja3", "late", &[1.0, 1.0, 1.0, 1.0], 1).await;
    let err = SqliteVecStore::from_config(&read_only(&config, "immutable"))
        .expect("config")
        .initialize()
        .await
        .expect_err("immutable would miss the last commits");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("-wal"), "{err}");
    // Read-only mode sees them.
    let store = open(&read_only(&config, "true")).await;
    assert!(store.get("ja3", "late").await.expect("get").is_some());
    store.close().await.expect("close");
    w.close().await;
}
