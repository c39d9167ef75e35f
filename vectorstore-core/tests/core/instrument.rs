//! Stores from `open` emit a span per operation (backend, operation, kind; never ids or
//! vectors) and metrics by backend, operation and outcome, checked with test recorders.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use vectorstore_core::instrument::{ITEMS_TOTAL, OPERATION_SECONDS, OPERATIONS_TOTAL};
use vectorstore_core::{Config, ErrorKind, NewVector, open_with_fallback};

/// Runs `work` on a current-thread runtime, so every metric lands in the thread's recorder.
fn run<F: std::future::Future<Output = ()>>(work: F) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(work);
}

/// Operations on a Fake store from `open`: three inserts (one batch of two), a wrong-length
/// insert, an insert of a bad id (refused by the contract's layer before the store), a search
/// with two hits, a get that misses, a health check.
async fn workload() {
    let store = open_with_fallback(&Config::new("fake"), &[]).expect("open");
    store.initialize().await.unwrap();
    store.insert("ja3", "attacker-1", &[1.0, 0.0], 1).await.unwrap();
    let batch = [NewVector::new("attacker-2", vec![0.0, 1.0]), NewVector::new("attacker-3", vec![1.0, 1.0])];
    store.insert_many("ja3", &batch).await.unwrap();
    let err = store.insert("ja3", "attacker-4", &[1.0, 2.0, 3.0], 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DimensionMismatch);
    let err = store.insert("ja3", "", &[1.0, 0.0], 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidId);
    assert_eq!(store.knn("ja3", &[1.0, 0.0], 2).await.unwrap().len(), 2);
    assert!(store.get("ja3", "nobody").await.unwrap().is_none());
    assert!(store.health().await.ok);
}

#[test]
fn every_operation_is_counted_and_timed_by_backend_operation_and_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || run(workload()));

    let mut counters = BTreeMap::new();
    let mut histograms = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut labels: Vec<String> = key.labels().map(|label| format!("{}={}", label.key(), label.value())).collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        match value {
            DebugValue::Counter(count) => {
                counters.insert(name, count);
            }
            DebugValue::Histogram(samples) => {
                assert!(samples.iter().all(|seconds| seconds.into_inner() >= 0.0), "{name}: {samples:?}");
                histograms.insert(name, samples.len() as u64);
            }
            DebugValue::Gauge(_) => panic!("no gauge expected: {name}"),
        }
    }
    let op = |operation: &str, outcome: &str| {
        format!("{OPERATIONS_TOTAL}{{backend=fake,operation={operation},outcome={outcome}}}")
    };
    let expected_ops = [
        (op("initialize", "ok"), 1),
        (op("insert", "ok"), 1),
        (op("insert", "dimension_mismatch"), 1),
        (op("insert", "invalid_id"), 1),
        (op("insert_many", "ok"), 1),
        (op("knn", "ok"), 1),
        (op("get", "ok"), 1),
        (op("health", "ok"), 1),
    ];
    for (name, count) in &expected_ops {
        assert_eq!(counters.get(name), Some(count), "{name} in {counters:#?}");
        let timed = name.replacen(OPERATIONS_TOTAL, OPERATION_SECONDS, 1);
        assert_eq!(histograms.get(&timed), Some(count), "{timed} in {histograms:#?}");
    }
    let items = |operation: &str| format!("{ITEMS_TOTAL}{{backend=fake,operation={operation}}}");
    assert_eq!(counters.get(&items("insert")), Some(&1), "{counters:#?}");
    assert_eq!(counters.get(&items("insert_many")), Some(&2), "{counters:#?}");
    assert_eq!(counters.get(&items("knn")), Some(&2), "{counters:#?}");
    assert_eq!(counters.get(&items("get")), None, "a miss returns no record: {counters:#?}");
    let operations: u64 =
        counters.iter().filter(|(name, _)| name.starts_with(OPERATIONS_TOTAL)).map(|(_, count)| count).sum();
    assert_eq!(operations, expected_ops.len() as u64, "nothing else counted: {counters:#?}");
}

/// A span's name and its fields.
type SeenSpan = (String, BTreeMap<String, String>);

/// Each span's name and fields, as a test subscriber saw them.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SeenSpan>>>);

impl<S: tracing::Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        struct Fields<'a>(&'a mut BTreeMap<String, String>);
        impl Visit for Fields<'_> {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.insert(field.name().to_owned(), format!("{value:?}"));
            }
            fn record_str(&mut self, field: &Field, value: &str) {
                self.0.insert(field.name().to_owned(), value.to_owned());
            }
        }
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push((attrs.metadata().name().to_owned(), fields));
    }
}

#[test]
fn every_operation_has_a_span_with_backend_operation_and_kind_but_no_ids_or_vectors() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    tracing::subscriber::with_default(subscriber, || run(workload()));
    let seen = spans.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ours: Vec<&BTreeMap<String, String>> =
        seen.iter().filter(|(name, _)| name == "vectorstore").map(|(_, fields)| fields).collect();
    let operations: Vec<&str> = ours.iter().map(|fields| fields["operation"].as_str()).collect();
    assert_eq!(
        operations,
        ["initialize", "insert", "insert_many", "insert", "insert", "knn", "get", "health"],
        "{seen:#?}"
    );
    for fields in &ours {
        assert_eq!(fields["backend"], "fake", "{fields:?}");
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        if ["initialize", "health"].contains(&fields["operation"].as_str()) {
            assert_eq!(keys, ["backend", "operation"], "{fields:?}");
        } else {
            assert_eq!(keys, ["backend", "kind", "operation"], "{fields:?}");
            assert_eq!(fields["kind"], "ja3", "{fields:?}");
        }
        let shown = format!("{fields:?}");
        assert!(!shown.contains("attacker") && !shown.contains("nobody") && !shown.contains("1.0"), "{shown}");
    }
}

#[test]
fn a_span_never_carries_an_invalid_kind_verbatim() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let junk = "Not A Kind \u{1b}[31m".repeat(100);
    tracing::subscriber::with_default(subscriber, || {
        run(async {
            let store = open_with_fallback(&Config::new("fake"), &[]).expect("open");
            store.initialize().await.unwrap();
            let err = store.knn(&junk, &[1.0], 1).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidKind);
        })
    });
    let seen = spans.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let knn =
        seen.iter().find(|(_, fields)| fields.get("operation").is_some_and(|op| op == "knn")).expect("a knn span");
    assert_eq!(knn.1["kind"], "<invalid>", "{knn:?}");
}
