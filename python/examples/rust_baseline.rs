//! The Rust side of `python/bench.py`: the same calls on the same seeded data, from Rust,
//! printed as one JSON object.
//!
//! `cargo run --profile wheel -p decnet-vectorstore-python --example rust_baseline -- DIR`
//! (the wheel's own profile, so that both sides are optimised alike)
//! (`DIR` holds the sqlite file; `bench.py` runs this itself.)

use std::time::Instant;

use vectorstore::{Config, NewVector, Rows, VectorStore};

/// Vectors in the kind searched by the knn measurement.
const KNN_VECTORS: usize = 1_000;
/// Dimension of every vector.
const DIM: usize = 128;
/// knn calls timed per store.
const KNN_CALLS: usize = 5_000;
/// Vectors in the kind of the per-call (p50) knn measurement.
const P50_VECTORS: usize = 10_000;
/// knn calls timed one by one per round of the p50 measurement.
const P50_CALLS: usize = 1_000;
/// Vectors written by the insert_many measurement, in batches of [`BATCH`].
const INSERT_VECTORS: usize = 100_000;
/// Rows per insert_many call (the contract's maximum).
const BATCH: usize = 10_000;
/// Each measurement is repeated this many times and the best round kept: the machine is shared,
/// and the best round is the one least disturbed by other work.
const ROUNDS: usize = 5;

/// The generator bench.py uses too (64-bit LCG, top 24 bits as a float in [0, 1)), so both
/// sides search the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    fn vectors(&mut self, count: usize) -> Vec<Vec<f32>> {
        (0..count).map(|_| (0..DIM).map(|_| self.next()).collect()).collect()
    }
}

async fn knn_micros(store: &dyn VectorStore) -> f64 {
    let data = Lcg(1).vectors(KNN_VECTORS);
    let items: Vec<NewVector> =
        data.into_iter().enumerate().map(|(n, v)| NewVector::new(format!("v{n:05}"), v)).collect();
    store.insert_many("knn", &items).await.expect("insert");
    let queries = Lcg(2).vectors(KNN_CALLS);
    for query in queries.iter().take(200) {
        store.knn("knn", query, 10).await.expect("warm-up knn");
    }
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for query in &queries {
            let hits = store.knn("knn", query, 10).await.expect("knn");
            assert_eq!(hits.len(), 10);
        }
        best = best.min(started.elapsed().as_secs_f64() * 1e6 / KNN_CALLS as f64);
    }
    best
}

/// The median time of one knn call (k = 10) on a kind of [`P50_VECTORS`] × [`DIM`], each call
/// timed alone; the lowest round median of [`ROUNDS`].
async fn knn_p50_micros(store: &dyn VectorStore) -> f64 {
    let data = Lcg(4).vectors(P50_VECTORS);
    let items: Vec<NewVector> =
        data.into_iter().enumerate().map(|(n, v)| NewVector::new(format!("p{n:05}"), v)).collect();
    for batch in items.chunks(BATCH) {
        store.insert_many("p50", batch).await.expect("insert");
    }
    let queries = Lcg(5).vectors(P50_CALLS);
    for query in queries.iter().take(100) {
        store.knn("p50", query, 10).await.expect("warm-up knn");
    }
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let mut times: Vec<f64> = Vec::with_capacity(P50_CALLS);
        for query in &queries {
            let started = Instant::now();
            let hits = store.knn("p50", query, 10).await.expect("knn");
            times.push(started.elapsed().as_secs_f64() * 1e6);
            assert_eq!(hits.len(), 10);
        }
        times.sort_by(f64::total_cmp);
        best = best.min(times[times.len() / 2]);
    }
    best
}

async fn insert_rate(store: &dyn VectorStore) -> f64 {
    let data = Lcg(3).vectors(INSERT_VECTORS);
    let items: Vec<NewVector> =
        data.into_iter().enumerate().map(|(n, v)| NewVector::new(format!("i{n:06}"), v)).collect();
    let mut best = 0.0_f64;
    for _ in 0..ROUNDS {
        store.drop_kind("bulk").await.expect("drop_kind");
        let started = Instant::now();
        for batch in items.chunks(BATCH) {
            store.insert_many("bulk", batch).await.expect("insert_many");
        }
        best = best.max(INSERT_VECTORS as f64 / started.elapsed().as_secs_f64());
    }
    best
}

/// The same load through `insert_rows` from one row-major buffer, as an array holds it (the
/// Python package writes arrays this way).
async fn insert_rows_rate(store: &dyn VectorStore) -> f64 {
    let values: Vec<f32> = Lcg(3).vectors(INSERT_VECTORS).concat();
    let ids: Vec<String> = (0..INSERT_VECTORS).map(|n| format!("i{n:06}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut best = 0.0_f64;
    for _ in 0..ROUNDS {
        store.drop_kind("bulk").await.expect("drop_kind");
        let started = Instant::now();
        for (ids, values) in ids.chunks(BATCH).zip(values.chunks(BATCH * DIM)) {
            let rows = Rows::new(ids, DIM, values).expect("rows");
            store.insert_rows("bulk", rows).await.expect("insert_rows");
        }
        best = best.max(INSERT_VECTORS as f64 / started.elapsed().as_secs_f64());
    }
    best
}

async fn open(spec: &str) -> std::sync::Arc<dyn VectorStore> {
    let store = vectorstore::open(&Config::default().with_spec(spec).expect("spec")).expect("open");
    store.initialize().await.expect("initialize");
    store
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: rust_baseline DIR");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let fake = open("fake:").await;
        let fake_knn = knn_micros(&*fake).await;
        let fake_p50 = knn_p50_micros(&*fake).await;
        let fake_insert = insert_rate(&*fake).await;
        let fake_rows = insert_rows_rate(&*fake).await;
        let sqlite = open(&format!("sqlite_vec:{dir}/rust.sqlite")).await;
        let sqlite_knn = knn_micros(&*sqlite).await;
        let sqlite_p50 = knn_p50_micros(&*sqlite).await;
        let sqlite_insert = insert_rate(&*sqlite).await;
        let sqlite_rows = insert_rows_rate(&*sqlite).await;
        sqlite.close().await.expect("close");
        let report = serde_json::json!({
            "fake": {"knn_us": fake_knn, "knn_p50_10k_us": fake_p50, "insert_many_per_s": fake_insert, "insert_rows_per_s": fake_rows},
            "sqlite_vec": {"knn_us": sqlite_knn, "knn_p50_10k_us": sqlite_p50, "insert_many_per_s": sqlite_insert, "insert_rows_per_s": sqlite_rows},
        });
        // The one output of this program, read by bench.py.
        #[allow(clippy::print_stdout)]
        {
            println!("{report}");
        }
    });
}
