//! Searches return exactly what the exhaustive Fake returns, ids and order included, when
//! thousands of rows tie: through vec0's kNN, its re-asks when the k-th row ties with the
//! rows left out, and the exact scan beyond vec0's k limit of 4,096. Each test runs twice: with
//! the in-memory copies off (sqlite-vec answers) and on (the copy answers, bit for bit the Fake's).

use crate::common::{Scratch, fresh};
use vectorstore_core::{Config, FakeVectorStore, KnnOptions, Metric, Neighbor, NewVector, VectorStore};
use vectorstore_sqlite_vec::{NAME, SqliteVecStore, purge};

/// Deterministic pseudo-random numbers (SplitMix64), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// 5,000 copies of one vector, 300 of another and 60 distinct ones, in a shuffled insertion
/// order, every third of extractor version 2.
fn tied_items(rng: &mut Rng, dim: usize) -> Vec<NewVector> {
    let mut items = Vec::new();
    for n in 0..5_360usize {
        let vector = match n {
            0..5_000 => vec![1.0; dim],
            5_000..5_300 => vec![2.0; dim],
            _ => (0..dim).map(|_| rng.unit() * 4.0 - 1.0).collect(),
        };
        let version = if n % 3 == 0 { 2 } else { 1 };
        items.push(NewVector::new(format!("v-{:05}", (n * 7_919) % 5_360), vector).with_extractor_version(version));
    }
    for i in (1..items.len()).rev() {
        items.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    items
}

async fn stores(
    test: &str,
    metric: Metric,
    items: &[NewVector],
    cached: bool,
) -> (Config, Scratch, SqliteVecStore, FakeVectorStore) {
    let (config, scratch) = fresh(&format!("{test}_{}", if cached { "cached" } else { "uncached" }));
    let config = if cached { config } else { config.with_option(NAME, "cache_mb", "0") };
    let store = SqliteVecStore::from_config(&config).expect("open");
    store.initialize().await.expect("initialize");
    let oracle = FakeVectorStore::new();
    oracle.initialize().await.expect("initialize");
    let dim = items[0].vector.len();
    for target in [&store as &dyn VectorStore, &oracle] {
        target.create_kind("tied", dim, metric).await.expect("create_kind");
        for chunk in items.chunks(1_000) {
            target.insert_many("tied", chunk).await.expect("insert_many");
        }
    }
    (config, scratch, store, oracle)
}

/// Searches around one query.
struct Plan {
    what: &'static str,
    query: Vec<f32>,
    ks: Vec<usize>,
    options: Vec<KnnOptions>,
}

fn shown(hits: &[Neighbor]) -> Vec<(&str, f32)> {
    hits.iter().map(|h| (h.id.as_str(), h.distance)).collect()
}

/// Same ids in the same order, and distances equal within `tolerance` (0 for bit equality).
#[track_caller]
fn assert_same(what: &str, got: &[Neighbor], want: &[Neighbor], tolerance: f32) {
    let ids = |hits: &[Neighbor]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
    assert_eq!(got.len(), want.len(), "{what}: {} hits, the Fake has {}", got.len(), want.len());
    if ids(got) != ids(want) {
        let first = got.iter().zip(want).position(|(a, b)| a.id != b.id).unwrap_or(0);
        let end = (first + 3).min(got.len());
        panic!(
            "{what}: hits differ from rank {first}: {:?} vs the Fake's {:?}",
            shown(&got[first..end]),
            shown(&want[first..end])
        );
    }
    for (a, b) in got.iter().zip(want) {
        assert!(
            (a.distance - b.distance).abs() <= tolerance,
            "{what}: {} at {} vs the Fake's {}",
            a.id,
            a.distance,
            b.distance
        );
        assert!(a.distance.is_sign_positive(), "{what}: -0.0 reported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l2_ties_match_the_fake_at_every_k() {
    for cached in [false, true] {
        l2_ties_match_the_fake(cached).await;
    }
}

async fn l2_ties_match_the_fake(cached: bool) {
    let mut rng = Rng(11);
    let items = tied_items(&mut rng, 3);
    let (config, _scratch, store, oracle) = stores("search_l2", Metric::L2, &items, cached).await;
    assert_eq!(store.settings().cache_mb > 0, cached);
    let tie = 3f32.sqrt();
    let plans = [
        Plan {
            what: "at the 5,000 copies (a tie wider than vec0's limit)",
            query: vec![1.0; 3],
            ks: vec![1, 10, 100, 4_095, 4_096, 4_097, 5_000, 5_001, 10_000],
            options: vec![KnnOptions::new(0), KnnOptions::new(0).extractor_version(2)],
        },
        Plan {
            what: "at the 300 copies (a tie within vec0's limit)",
            query: vec![2.0; 3],
            ks: vec![1, 10, 299, 300, 301, 4_000],
            options: vec![KnnOptions::new(0), KnnOptions::new(0).extractor_version(1)],
        },
        Plan {
            what: "equidistant from each group's copies",
            query: vec![0.0; 3],
            ks: vec![1, 64, 5_001, 5_360],
            options: vec![KnnOptions::new(0).max_distance(tie), KnnOptions::new(0).max_distance(tie * 2.0)],
        },
        Plan {
            what: "among the distinct ones",
            query: vec![0.5, -0.25, 1.5],
            ks: vec![1, 10, 300],
            options: vec![KnnOptions::new(0), KnnOptions::new(0).extractor_version(1).max_distance(1.0)],
        },
    ];
    for Plan { what, query, ks, options } in plans {
        for k in ks {
            for base in &options {
                let options = KnnOptions { k, ..base.clone() };
                let got = store.knn_with("tied", &query, &options).await.expect("knn");
                let want = oracle.knn_with("tied", &query, &options).await.expect("oracle");
                // Few dimensions: both sum in the same order, so distances agree to the bit.
                assert_same(&format!("{what}, {options:?}, cached {cached}"), &got, &want, 0.0);
            }
        }
    }
    // The copy answered when on (it holds every row), sqlite-vec when off (no copy).
    assert_eq!(store.cache_usage().vectors, if cached { items.len() } else { 0 }, "cached {cached}");
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosine_ties_match_the_fake_at_every_k() {
    for cached in [false, true] {
        cosine_ties_match_the_fake(cached).await;
    }
}

async fn cosine_ties_match_the_fake(cached: bool) {
    let mut rng = Rng(12);
    let items = tied_items(&mut rng, 4);
    let (config, _scratch, store, oracle) = stores("search_cosine", Metric::Cosine, &items, cached).await;
    // The copy computes with the Fake's own kernels: its distances are the Fake's to the bit.
    let tolerance = if cached { 0.0 } else { 1e-6 };
    for query in [vec![1.0; 4], vec![-2.0; 4], vec![-1.0, 0.5, 0.25, 2.0]] {
        for k in [1, 10, 299, 4_096, 4_097, 5_300, 10_000] {
            for options in [KnnOptions::new(k), KnnOptions::new(k).extractor_version(2)] {
                let got = store.knn_with("tied", &query, &options).await.expect("knn");
                let want = oracle.knn_with("tied", &query, &options).await.expect("oracle");
                assert_same(&format!("{query:?}, {options:?}, cached {cached}"), &got, &want, tolerance);
                assert!(got.iter().all(|h| (0.0..=2.0).contains(&h.distance)), "cosine outside [0, 2]");
            }
        }
    }
    // The copy answered when on (it holds every row), sqlite-vec when off (no copy).
    assert_eq!(store.cache_usage().vectors, if cached { items.len() } else { 0 }, "cached {cached}");
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}
