//! Every store goes through the contract's layer: a backend that accepts anything and records
//! its calls, used as a `VectorStore`, never sees a call whose input is bad, and the caller
//! gets the usual typed error.

use std::sync::Mutex;

use vectorstore_core::limits::{MAX_BATCH, MAX_K, MAX_SCAN_LIMIT};
use vectorstore_core::{
    Capabilities, Error, ErrorKind, Health, KindInfo, KnnOptions, Metric, Neighbor, NewVector, Result, Rows,
    StoreBackend, VectorRecord, VectorStore, async_trait, now_ms,
};

/// Accepts every call and records its name; fails `kinds` with an engine error, `drop_kind`
/// with one that names the backend already, and `create_kind` with an input error found
/// against stored data.
#[derive(Debug, Default)]
struct Recording {
    calls: Mutex<Vec<&'static str>>,
    refused: Mutex<Vec<(&'static str, ErrorKind)>>,
}

impl Recording {
    fn saw(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl StoreBackend for Recording {
    fn backend(&self) -> &'static str {
        "recording"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::EXACT_IN_MEMORY
    }
    async fn initialize(&self) -> Result<()> {
        self.saw("initialize");
        Ok(())
    }
    async fn close(&self) -> Result<()> {
        self.saw("close");
        Ok(())
    }
    async fn health(&self) -> Health {
        Health::ok("recording", 0, 0)
    }
    async fn health_detailed(&self) -> Health {
        Health::ok("recording", 0, 0)
    }
    async fn create_kind(&self, kind: &str, _dim: usize, _metric: Metric) -> Result<KindInfo> {
        self.saw("create_kind");
        Err(Error::new(ErrorKind::MetricMismatch, format!("kind {kind} has another metric")))
    }
    async fn insert(&self, _kind: &str, _id: &str, _vector: &[f32], _version: u32) -> Result<()> {
        self.saw("insert");
        Ok(())
    }
    async fn insert_many(&self, _kind: &str, _items: &[NewVector]) -> Result<()> {
        self.saw("insert_many");
        Ok(())
    }
    async fn insert_rows(&self, _kind: &str, _rows: Rows<'_>) -> Result<()> {
        self.saw("insert_rows");
        Ok(())
    }
    async fn get(&self, _kind: &str, _id: &str) -> Result<Option<VectorRecord>> {
        self.saw("get");
        Ok(None)
    }
    async fn delete(&self, _kind: &str, _id: &str) -> Result<bool> {
        self.saw("delete");
        Ok(false)
    }
    async fn get_many(&self, _kind: &str, ids: &[&str]) -> Result<Vec<Option<VectorRecord>>> {
        self.saw("get_many");
        Ok(vec![None; ids.len()])
    }
    async fn delete_many(&self, _kind: &str, _ids: &[&str]) -> Result<u64> {
        self.saw("delete_many");
        Ok(0)
    }
    async fn delete_version(&self, _kind: &str, _version: u32) -> Result<u64> {
        self.saw("delete_version");
        Ok(0)
    }
    async fn expire(&self, _kind: &str, _before: u64) -> Result<u64> {
        self.saw("expire");
        Ok(0)
    }
    async fn knn_with(&self, _kind: &str, _query: &[f32], _options: &KnnOptions) -> Result<Vec<Neighbor>> {
        self.saw("knn_with");
        Ok(Vec::new())
    }
    async fn knn_batch(&self, _kind: &str, queries: &[&[f32]], _options: &KnnOptions) -> Result<Vec<Vec<Neighbor>>> {
        self.saw("knn_batch");
        Ok(vec![Vec::new(); queries.len()])
    }
    async fn kinds(&self) -> Result<Vec<KindInfo>> {
        self.saw("kinds");
        Err(Error::new(ErrorKind::Unavailable, "the engine is away"))
    }
    async fn scan(&self, _kind: &str, _after: Option<&str>, _limit: usize) -> Result<Vec<VectorRecord>> {
        self.saw("scan");
        Ok(Vec::new())
    }
    async fn drop_kind(&self, _kind: &str) -> Result<bool> {
        self.saw("drop_kind");
        Err(Error::new(ErrorKind::Backend, "the engine failed").with_context("backend", "recording"))
    }
    async fn settle(&self, _kind: &str) -> Result<Option<std::time::Duration>> {
        self.saw("settle");
        Ok(None)
    }
    fn refused(&self, operation: &'static str, _kind: Option<&str>, error: &Error) {
        self.refused.lock().unwrap().push((operation, error.kind()));
    }
}

/// Each call with one bad argument and the error kind the contract gives it.
async fn bad_calls(store: &dyn VectorStore) -> Vec<(&'static str, ErrorKind, Result<()>)> {
    let nan = [f32::NAN, 1.0];
    let too_long = vec![1.0_f32; 4097];
    let many = vec![NewVector::new("a", vec![1.0]); MAX_BATCH + 1];
    let bad_item = [NewVector::new("a", vec![1.0]), NewVector::new("", vec![1.0])];
    let flat = [1.0_f32, f32::INFINITY];
    let ids = ["a"];
    let options = KnnOptions::new(1);
    let good: &[f32] = &[1.0, 0.0];
    vec![
        ("create_kind", ErrorKind::InvalidKind, store.create_kind("JA3", 2, Metric::L2).await.map(drop)),
        ("create_kind", ErrorKind::InvalidArgument, store.create_kind("ja3", 0, Metric::L2).await.map(drop)),
        ("insert", ErrorKind::InvalidKind, store.insert("Not a kind", "a", good, 1).await),
        ("insert", ErrorKind::InvalidId, store.insert("ja3", "", good, 1).await),
        ("insert", ErrorKind::InvalidId, store.insert("ja3", "a\0b", good, 1).await),
        ("insert", ErrorKind::InvalidVector, store.insert("ja3", "a", &nan, 1).await),
        ("insert", ErrorKind::InvalidVector, store.insert("ja3", "a", &[], 1).await),
        ("insert", ErrorKind::InvalidVector, store.insert("ja3", "a", &too_long, 1).await),
        ("insert", ErrorKind::InvalidArgument, store.insert("ja3", "a", good, 0).await),
        ("insert_many", ErrorKind::InvalidArgument, store.insert_many("ja3", &many).await),
        ("insert_many", ErrorKind::InvalidId, store.insert_many("ja3", &bad_item).await),
        (
            "insert_rows",
            ErrorKind::InvalidVector,
            store.insert_rows("ja3", Rows::new(&["a"], 2, &flat).expect("rows of shape (1, 2)")).await,
        ),
        ("get", ErrorKind::InvalidKind, store.get("", "a").await.map(drop)),
        ("delete", ErrorKind::InvalidId, store.delete("ja3", "").await.map(drop)),
        ("get_many", ErrorKind::InvalidId, store.get_many("ja3", &["a", ""]).await.map(drop)),
        ("delete_many", ErrorKind::InvalidKind, store.delete_many("9ja3", &ids).await.map(drop)),
        ("delete_version", ErrorKind::InvalidArgument, store.delete_version("ja3", 0).await.map(drop)),
        ("expire", ErrorKind::InvalidArgument, store.expire("ja3", now_ms() + 3_600_000).await.map(drop)),
        ("knn", ErrorKind::InvalidArgument, store.knn("ja3", good, MAX_K + 1).await.map(drop)),
        ("knn", ErrorKind::InvalidVector, store.knn_with("ja3", &nan, &options).await.map(drop)),
        ("knn_batch", ErrorKind::InvalidVector, store.knn_batch("ja3", &[good, &nan], &options).await.map(drop)),
        ("scan", ErrorKind::InvalidArgument, store.scan("ja3", None, MAX_SCAN_LIMIT + 1).await.map(drop)),
        ("scan", ErrorKind::InvalidId, store.scan("ja3", Some(""), 10).await.map(drop)),
        ("drop_kind", ErrorKind::InvalidKind, store.drop_kind("ja-3").await.map(drop)),
        ("settle", ErrorKind::InvalidKind, store.settle("JA3").await.map(drop)),
    ]
}

#[tokio::test]
async fn bad_input_is_refused_before_any_backend_sees_it() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;
    store.initialize().await.unwrap();
    let outcomes = bad_calls(store).await;
    for (operation, expected, outcome) in &outcomes {
        let err = outcome.as_ref().expect_err(operation);
        assert_eq!(err.kind(), *expected, "{operation}: {err}");
    }
    assert_eq!(backend.calls(), ["initialize"], "a bad call reached the backend");
    let told: Vec<_> = outcomes.iter().map(|(operation, expected, _)| (*operation, *expected)).collect();
    assert_eq!(*backend.refused.lock().unwrap(), told, "the backend is told of each refused call");
}

#[tokio::test]
async fn good_input_reaches_the_backend_once() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;
    store.insert("ja3", "a", &[1.0, 0.0], 1).await.unwrap();
    store.knn("ja3", &[1.0, 0.0], 3).await.unwrap();
    store.knn_batch("ja3", &[&[1.0, 0.0]], &KnnOptions::new(3)).await.unwrap();
    assert_eq!(backend.calls(), ["insert", "knn_with", "knn_batch"]);
    assert!(backend.refused.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_engine_error_names_the_backend_once() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;
    let err = store.kinds().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let named: Vec<_> = err.context().iter().filter(|(key, _)| *key == "backend").collect();
    assert_eq!(named, [&("backend", "recording".to_owned())], "{err}");
}

#[tokio::test]
async fn an_error_naming_the_backend_already_is_not_named_twice() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;
    let err = store.drop_kind("ja3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);
    assert_eq!(err.context(), [("backend", "recording".to_owned())], "{err}");
}

#[tokio::test]
async fn an_input_error_found_against_stored_data_gets_no_backend_context() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;
    let err = store.create_kind("ja3", 2, Metric::Cosine).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetricMismatch);
    assert!(err.context().is_empty(), "{err}");
}
