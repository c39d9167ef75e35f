//! Every store goes through the contract's layer: a backend that accepts anything and records
//! its calls, used as a `VectorStore`, never sees a call whose input is bad nor one made
//! outside the open state, and the caller gets the usual typed error.

use std::sync::{Arc, Mutex};

use vectorstore_core::limits::{MAX_BATCH, MAX_K, MAX_SCAN_LIMIT};
use vectorstore_core::{
    Capabilities, Error, ErrorKind, Health, KindInfo, KnnOptions, Lifecycle, Metric, Neighbor, NewVector, Result, Rows,
    State, StoreBackend, VectorRecord, VectorStore, async_trait, now_ms,
};

/// Accepts every call and records its name, never looking at its lifecycle; fails `kinds` with
/// an engine error, `drop_kind` with one that names the backend already, and `create_kind`
/// with an input error found against stored data.
#[derive(Debug, Default)]
struct Recording {
    life: Lifecycle,
    calls: Mutex<Vec<&'static str>>,
    refused: Mutex<Vec<(&'static str, ErrorKind)>>,
    answered: Mutex<Vec<(&'static str, &'static str)>>,
    /// When set, `initialize` waits for a permit after recording its call.
    hold_initialize: Option<tokio::sync::Semaphore>,
}

impl Recording {
    fn saw(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    fn refused(&self) -> Vec<(&'static str, ErrorKind)> {
        self.refused.lock().unwrap().clone()
    }
}

/// A `Recording` opened through the layer.
async fn opened() -> Recording {
    let backend = Recording::default();
    VectorStore::initialize(&backend).await.unwrap();
    backend
}

#[async_trait]
impl StoreBackend for Recording {
    fn backend(&self) -> &'static str {
        "recording"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::EXACT_IN_MEMORY
    }
    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }
    async fn initialize(&self) -> Result<()> {
        self.saw("initialize");
        if let Some(hold) = &self.hold_initialize {
            hold.acquire().await.unwrap().forget();
        }
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
    fn answered(&self, operation: &'static str, outcome: &'static str) {
        self.answered.lock().unwrap().push((operation, outcome));
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
    let backend = opened().await;
    let store: &dyn VectorStore = &backend;
    let outcomes = bad_calls(store).await;
    for (operation, expected, outcome) in &outcomes {
        let err = outcome.as_ref().expect_err(operation);
        assert_eq!(err.kind(), *expected, "{operation}: {err}");
    }
    assert_eq!(backend.calls(), ["initialize"], "a bad call reached the backend");
    let told: Vec<_> = outcomes.iter().map(|(operation, expected, _)| (*operation, *expected)).collect();
    assert_eq!(backend.refused(), told, "the backend is told of each refused call");
}

#[tokio::test]
async fn good_input_reaches_the_backend_once() {
    let backend = opened().await;
    let store: &dyn VectorStore = &backend;
    store.insert("ja3", "a", &[1.0, 0.0], 1).await.unwrap();
    store.knn("ja3", &[1.0, 0.0], 3).await.unwrap();
    store.knn_batch("ja3", &[&[1.0, 0.0]], &KnnOptions::new(3)).await.unwrap();
    assert_eq!(backend.calls(), ["initialize", "insert", "knn_with", "knn_batch"]);
    assert!(backend.refused().is_empty());
}

#[tokio::test]
async fn an_engine_error_names_the_backend_once() {
    let backend = opened().await;
    let store: &dyn VectorStore = &backend;
    let err = store.kinds().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let named: Vec<_> = err.context().iter().filter(|(key, _)| *key == "backend").collect();
    assert_eq!(named, [&("backend", "recording".to_owned())], "{err}");
}

#[tokio::test]
async fn an_error_naming_the_backend_already_is_not_named_twice() {
    let backend = opened().await;
    let store: &dyn VectorStore = &backend;
    let err = store.drop_kind("ja3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Backend);
    assert_eq!(err.context(), [("backend", "recording".to_owned())], "{err}");
}

#[tokio::test]
async fn an_input_error_found_against_stored_data_gets_no_backend_context() {
    let backend = opened().await;
    let store: &dyn VectorStore = &backend;
    let err = store.create_kind("ja3", 2, Metric::Cosine).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MetricMismatch);
    assert!(err.context().is_empty(), "{err}");
}

/// Every operation but the lifecycle's own, with valid input, as `(operation, outcome)`.
async fn good_calls(store: &dyn VectorStore) -> Vec<(&'static str, Result<()>)> {
    let good: &[f32] = &[1.0, 0.0];
    let items = [NewVector::new("a", vec![1.0, 0.0])];
    let flat = [1.0_f32, 0.0];
    let options = KnnOptions::new(1);
    vec![
        ("create_kind", store.create_kind("ja3", 2, Metric::L2).await.map(drop)),
        ("insert", store.insert("ja3", "a", good, 1).await),
        ("insert_many", store.insert_many("ja3", &items).await),
        ("insert_rows", store.insert_rows("ja3", Rows::new(&["a"], 2, &flat).expect("rows of shape (1, 2)")).await),
        ("get", store.get("ja3", "a").await.map(drop)),
        ("delete", store.delete("ja3", "a").await.map(drop)),
        ("get_many", store.get_many("ja3", &["a"]).await.map(drop)),
        ("delete_many", store.delete_many("ja3", &["a"]).await.map(drop)),
        ("delete_version", store.delete_version("ja3", 1).await.map(drop)),
        ("expire", store.expire("ja3", now_ms()).await.map(drop)),
        ("knn", store.knn("ja3", good, 1).await.map(drop)),
        ("knn", store.knn_with("ja3", good, &options).await.map(drop)),
        ("knn_batch", store.knn_batch("ja3", &[good], &options).await.map(drop)),
        ("knn_distinct", store.knn_distinct("ja3", good, &options, 1).await.map(drop)),
        ("kinds", store.kinds().await.map(drop)),
        ("scan", store.scan("ja3", None, 10).await.map(drop)),
        ("drop_kind", store.drop_kind("ja3").await.map(drop)),
        ("settle", store.settle("ja3").await.map(drop)),
    ]
}

/// Asserts that every call of `outcomes` failed with `expected`, and returns what the backend
/// should have been told.
fn all_refused(outcomes: &[(&'static str, Result<()>)], expected: ErrorKind) -> Vec<(&'static str, ErrorKind)> {
    for (operation, outcome) in outcomes {
        let err = outcome.as_ref().expect_err(operation);
        assert_eq!(err.kind(), expected, "{operation}: {err}");
        assert!(err.message().contains("recording"), "{operation}: the message names the store: {err}");
    }
    outcomes.iter().map(|(operation, _)| (*operation, expected)).collect()
}

/// The layer walks the lifecycle for a backend that never looks at it: every operation is
/// refused before `initialize` and after `close`, and the backend's own `initialize` and
/// `close` each run once however often they are called.
#[tokio::test]
async fn the_layer_applies_the_lifecycle_for_a_backend_that_never_checks_it() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;

    let before = good_calls(store).await;
    let mut told = all_refused(&before, ErrorKind::NotInitialized);
    let health = store.health().await;
    assert!(!health.ok && health.reason.as_deref() == Some("not initialized"), "{health:?}");
    assert!(!store.health_detailed().await.ok);
    assert!(backend.calls().is_empty(), "nothing reached the backend before initialize: {:?}", backend.calls());

    store.initialize().await.unwrap();
    store.initialize().await.unwrap();
    assert_eq!(backend.life.state(), State::Open);
    assert!(store.health().await.ok);
    let open_outcomes = good_calls(store).await;
    // Recording itself fails create_kind, kinds and drop_kind (and so the default knn_distinct,
    // which reads the kind's description); the other calls succeed.
    let failed: Vec<_> = open_outcomes.iter().filter(|(_, outcome)| outcome.is_err()).map(|(op, _)| *op).collect();
    assert_eq!(failed, ["create_kind", "knn_distinct", "kinds", "drop_kind"]);
    let opened_calls = backend.calls();
    assert_eq!(opened_calls.iter().filter(|call| **call == "initialize").count(), 1, "{opened_calls:?}");

    store.close().await.unwrap();
    store.close().await.unwrap();
    let after = good_calls(store).await;
    told.extend(all_refused(&after, ErrorKind::Closed));
    let again = store.initialize().await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Closed, "{again}");
    told.push(("initialize", ErrorKind::Closed));
    let health = store.health_detailed().await;
    assert!(!health.ok && health.reason.as_deref() == Some("closed"), "{health:?}");

    let calls = backend.calls();
    assert_eq!(calls.iter().filter(|call| **call == "initialize").count(), 1, "{calls:?}");
    assert_eq!(calls.iter().filter(|call| **call == "close").count(), 1, "{calls:?}");
    assert_eq!(calls.last(), Some(&"close"), "nothing reached the backend after close: {calls:?}");
    assert_eq!(backend.refused(), told, "the backend is told of each refused call");
    assert_eq!(
        *backend.answered.lock().unwrap(),
        [
            ("health", "unhealthy"),
            ("health_detailed", "unhealthy"),
            ("initialize", "ok"),
            ("close", "ok"),
            ("health_detailed", "unhealthy")
        ],
        "the backend is told of each call the layer answered itself"
    );
}

/// Bad input is an input error whatever the lifecycle state: the input is checked first.
#[tokio::test]
async fn bad_input_is_refused_as_such_before_initialize_and_after_close() {
    let backend = Recording::default();
    let store: &dyn VectorStore = &backend;
    for (operation, expected, outcome) in bad_calls(store).await {
        assert_eq!(outcome.expect_err(operation).kind(), expected, "{operation} before initialize");
    }
    store.initialize().await.unwrap();
    store.close().await.unwrap();
    for (operation, expected, outcome) in bad_calls(store).await {
        assert_eq!(outcome.expect_err(operation).kind(), expected, "{operation} after close");
    }
    assert_eq!(backend.calls(), ["initialize", "close"]);
}

/// A close that comes while the backend is still initialising wins: the store ends closed,
/// and what the late initialize acquired is released once it finishes.
#[tokio::test]
async fn a_close_overtaking_an_initialize_wins_and_releases_what_it_acquired() {
    let backend = Arc::new(Recording { hold_initialize: Some(tokio::sync::Semaphore::new(0)), ..Recording::default() });
    let initializing = tokio::spawn({
        let backend = Arc::clone(&backend);
        async move { VectorStore::initialize(&*backend).await }
    });
    while backend.calls().is_empty() {
        tokio::task::yield_now().await;
    }
    VectorStore::close(&*backend).await.unwrap();
    assert_eq!(backend.calls(), ["initialize", "close"]);
    backend.hold_initialize.as_ref().unwrap().add_permits(1);
    initializing.await.unwrap().expect("the overtaken initialize itself succeeded");
    assert_eq!(backend.life.state(), State::Closed);
    assert_eq!(backend.calls(), ["initialize", "close", "close"], "the late resources are released");
    let err = VectorStore::get(&*backend, "ja3", "a").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
}
