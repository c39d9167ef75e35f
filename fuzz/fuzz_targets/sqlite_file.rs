//! A store file someone hands you, damaged or crafted: a real file written by the sqlite_vec
//! store, then changed where an attacker or a broken disk would change it (kind rows, meta
//! rows, write-time rows, vec0's shadow tables, raw pages), opened read-only and read through
//! every read path and `copy`. Never a panic, never a write to the file: typed errors only.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use vectorstore::transfer::{CopyOptions, copy};
use vectorstore::{Config, FakeVectorStore, KnnOptions, VectorStore, VectorStoreExt};
use vectorstore_sqlite_vec::{NAME, SqliteVecStore};

/// A value written into a column: SQLite stores any type in any column of these tables.
#[derive(Debug, Arbitrary)]
enum Value {
    Text(String),
    Blob(Vec<u8>),
    Int(i64),
    Real(f64),
    Null,
}

#[derive(Debug, Arbitrary)]
enum Change {
    /// A column of one `vectorstore_kinds` row (kind, dim, metric, created, schema_version).
    KindRow { row: u8, column: u8, value: Value },
    /// A new `vectorstore_kinds` row.
    NewKind { kind: Value, dim: Value, metric: Value },
    /// A `vectorstore_meta` row (schema_version, created, adoption marks).
    Meta { key: String, value: Value },
    /// A write-time row.
    Written { kind: Value, id: Value, at: Value },
    /// A column of one row of a vec0 shadow table (`_rowids`, `_chunks`, `_info`, vectors).
    Shadow { kind: u8, table: u8, row: u8, column: u8, value: Value },
    /// Bytes overwritten at an offset of the file (a damaged page).
    Bytes { offset: u32, bytes: Vec<u8> },
}

/// Leak detection off for this target: sqlite-vec 0.1.9 never frees the names it formats for
/// a vec0 table's metadata chunks (`vec0_init`, about 48 bytes per table each time a
/// connection opens it), which LeakSanitizer reports after a few runs. The other checks
/// (address errors, panics, writes to the file) stay on.
#[unsafe(no_mangle)]
pub extern "C" fn __lsan_default_options() -> *const std::ffi::c_char {
    c"detect_leaks=0".as_ptr()
}

const KINDS: [&str; 2] = ["ja3", "hassh"];
const KIND_COLUMNS: [&str; 5] = ["kind", "dim", "metric", "created", "schema_version"];
const SHADOW_TABLES: [&str; 4] = ["_vec_rowids", "_vec_chunks", "_vec_info", "_vec_vector_chunks00"];
const SHADOW_COLUMNS: [&str; 6] = ["id", "rowid", "chunk_id", "chunk_offset", "validity", "vectors"];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("decnet-fuzz-sqlite-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

fn store(path: &Path, read_only: bool) -> SqliteVecStore {
    let mut config = Config::new(NAME).with_path(path);
    if read_only {
        config = config.with_option(NAME, "read_only", "true");
    }
    SqliteVecStore::from_config(&config).expect("a valid configuration")
}

/// The pristine file, written once by the store itself: two kinds, records with versions.
fn pristine() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = scratch().join("pristine.sqlite");
        let _ = std::fs::remove_file(&path);
        runtime().block_on(async {
            let store = store(&path, false);
            store.initialize().await.expect("initialize");
            for i in 0..40u32 {
                let x = i as f32;
                store.insert("ja3", &format!("s{i:02}"), &[x, 1.0, -x, 0.5], 1 + i % 2).await.expect("insert");
                store.insert("hassh", &format!("a{i:02}"), &[x / 3.0, 2.0], 1).await.expect("insert");
            }
            store.close().await.expect("close");
        });
        // One self-contained file: the write-ahead log folded in.
        std::fs::read(&path).expect("read the file")
    })
}

fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    value: &'q Value,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    match value {
        Value::Text(text) => query.bind(text.as_str()),
        Value::Blob(bytes) => query.bind(bytes.as_slice()),
        Value::Int(n) => query.bind(*n),
        Value::Real(x) => query.bind(*x),
        Value::Null => query.bind(None::<i64>),
    }
}

/// Applies the changes through a plain connection, as another tool would; a change the file
/// refuses is skipped.
async fn damage(path: &Path, changes: &[Change]) {
    use sqlx::{Connection, SqliteConnection};

    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let Ok(mut conn) = SqliteConnection::connect_with(&options).await else { return };
    for change in changes {
        let statement = match change {
            Change::KindRow { row, column, .. } => format!(
                "UPDATE vectorstore_kinds SET {} = ?1 WHERE rowid = {}",
                KIND_COLUMNS[*column as usize % KIND_COLUMNS.len()],
                1 + *row as usize % 3
            ),
            Change::NewKind { .. } => "INSERT INTO vectorstore_kinds (kind, dim, metric, created, schema_version) \
                 VALUES (?1, ?2, ?3, 0, 2)"
                .to_owned(),
            Change::Meta { .. } => "INSERT OR REPLACE INTO vectorstore_meta (key, value) VALUES (?1, ?2)".to_owned(),
            Change::Written { .. } => {
                "INSERT OR REPLACE INTO vectorstore_written (kind, id, written_at_ms) VALUES (?1, ?2, ?3)".to_owned()
            }
            Change::Shadow { kind, table, row, column, .. } => format!(
                "UPDATE \"vectorstore_{}{}\" SET \"{}\" = ?1 WHERE rowid = {}",
                KINDS[*kind as usize % KINDS.len()],
                SHADOW_TABLES[*table as usize % SHADOW_TABLES.len()],
                SHADOW_COLUMNS[*column as usize % SHADOW_COLUMNS.len()],
                1 + *row as usize % 40
            ),
            Change::Bytes { .. } => continue,
        };
        let statement = sqlx::AssertSqlSafe(statement);
        let query = sqlx::query(statement);
        let query = match change {
            Change::KindRow { value, .. } | Change::Shadow { value, .. } => bind(query, value),
            Change::NewKind { kind, dim, metric } => bind(bind(bind(query, kind), dim), metric),
            Change::Meta { key, value } => bind(query.bind(key.as_str()), value),
            Change::Written { kind, id, at } => bind(bind(bind(query, kind), id), at),
            Change::Bytes { .. } => continue,
        };
        let _ = query.execute(&mut conn).await;
    }
    let _ = conn.close().await;
    let mut bytes = std::fs::read(path).unwrap_or_default();
    for change in changes {
        if let Change::Bytes { offset, bytes: new } = change
            && !bytes.is_empty()
        {
            let start = *offset as usize % bytes.len();
            for (slot, byte) in bytes[start..].iter_mut().zip(new) {
                *slot = *byte;
            }
        }
    }
    let _ = std::fs::write(path, bytes);
}

/// Every read path of the read-only store, and a copy of it into a Fake.
async fn read_everything(store: &SqliteVecStore) {
    let _ = store.health().await;
    let _ = store.health_detailed().await;
    let Ok(kinds) = store.kinds().await else { return };
    for info in &kinds {
        let _ = store.kind_info(&info.kind).await;
        let _ = store.scan_all(&info.kind, 7).await;
        let _ = store.get(&info.kind, "s01").await;
        let _ = store.get_many(&info.kind, &["s01", "a02", "nobody"]).await;
        let query = vec![0.5; info.dim];
        let _ = store.knn(&info.kind, &query, 5).await;
        let _ = store.knn_with(&info.kind, &query, &KnnOptions::new(50).extractor_version(2)).await;
        let _ = store.knn_batch(&info.kind, &[&query, &query], &KnnOptions::new(3)).await;
    }
    let fake = FakeVectorStore::new();
    if fake.initialize().await.is_ok() {
        let _ = copy(store, &fake, &CopyOptions::default(), &mut |_| {}).await;
    }
}

fuzz_target!(|changes: Vec<Change>| {
    let path = scratch().join("damaged.sqlite");
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, pristine()).expect("write the copy");
    runtime().block_on(async {
        damage(&path, &changes).await;
        let before = std::fs::read(&path).expect("read");
        let store = store(&path, true);
        if store.initialize().await.is_ok() {
            read_everything(&store).await;
            let _ = store.close().await;
        }
        assert!(std::fs::read(&path).expect("read") == before, "a read-only open wrote to the file");
    });
});
