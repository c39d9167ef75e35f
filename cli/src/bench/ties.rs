//! The `ties` workload: kinds where one vector is shared by a whole group of records (a botnet
//! replaying one fingerprint). For each group size G, a kind of G identical vectors among G
//! distinct others (2G records, group members at the even ids so they spread through the id
//! order), searched at the shared vector and away from it (at the others' own vectors) in
//! alternation, one client, on the store and on a Fake holding the same data in the same run.
//!
//! Measurements: `ties_group` and `ties_away` (n = 2G), engines `store` and `fake`; `recall` is
//! recall@k against the Fake's answers. At the group every answer is `k` records at distance 0,
//! so recall 1 there means every answer held exactly the group's k smallest ids; anything less
//! is a wrong answer, counted and logged.
//!
//! Then the same alternation with `knn_distinct` (the `k` nearest distinct vectors, each with
//! its count and first [`DISTINCT_IDS`] ids), at most [`DISTINCT_QUERIES`] rounds (a store
//! without a fast path reads the whole kind per search): `ties_distinct_group` and
//! `ties_distinct_away`, whose `recall` is the share of answers equal to the Fake's in every
//! count and id, with distances within a relative 1e-5 (a server computes its own, in other
//! precision).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vectorstore::{DistinctNeighbor, FakeVectorStore, KnnOptions, Neighbor, NewVector, Result, VectorStore};

use super::report::{BenchOptions, BenchProgress, BenchReport, bench_kind, recall, search};
use vectorstore_conformance::data::{Rng, clustered};

/// Most rounds of distinct searches per group size.
const DISTINCT_QUERIES: usize = 10;

/// Ids asked for per distinct vector.
const DISTINCT_IDS: usize = 5;

/// The record id of the `i`-th record of a ties kind: fixed width, so id order is number order.
fn tie_id(i: usize) -> String {
    format!("t{i:07}")
}

/// The ids of `hits`.
fn ids(hits: &[Neighbor]) -> Vec<String> {
    hits.iter().map(|n| n.id.clone()).collect()
}

/// Runs the workload for every group size of `options.tie_groups` and adds its figures to
/// `report`.
pub(super) async fn run(
    store: &dyn VectorStore,
    options: &BenchOptions,
    report: &mut BenchReport,
    progress: BenchProgress<'_>,
) -> Result<()> {
    for &group in &options.tie_groups {
        one_size(store, options, group, report, progress).await?;
    }
    Ok(())
}

async fn one_size(
    store: &dyn VectorStore,
    options: &BenchOptions,
    group: usize,
    report: &mut BenchReport,
    progress: BenchProgress<'_>,
) -> Result<()> {
    let kind = format!("{}_ties{group}", bench_kind(options));
    let total = 2 * group;
    let mut rng = Rng::new(options.seed ^ group as u64);
    let shared = rng.gaussian_vector(options.dim);
    let (others, _) = clustered(options.seed.wrapping_add(group as u64), group, options.dim, 16, 1.0);
    let vector = |i: usize| if i.is_multiple_of(2) { shared.clone() } else { others[i / 2].clone() };

    let fake = Arc::new(FakeVectorStore::new());
    fake.initialize().await?;
    for engine in [store, &*fake as &dyn VectorStore] {
        engine.drop_kind(&kind).await?;
        engine.create_kind(&kind, options.dim, options.metric).await?;
    }
    let batch = options.batch_size.clamp(1, vectorstore::limits::MAX_BATCH);
    let mut first = 0;
    while first < total {
        let last = (first + batch).min(total);
        let items: Vec<NewVector> = (first..last).map(|i| NewVector::new(tie_id(i), vector(i))).collect();
        store.insert_many(&kind, &items).await?;
        fake.insert_many(&kind, &items).await?;
        progress(&format!("ties load, group {group}"), last as u64, total as u64);
        first = last;
    }
    store.settle(&kind).await?;

    let fake: &dyn VectorStore = &*fake;
    let queries = options.queries.max(1);
    let k = options.k;
    let label = format!("ties search, group {group}");
    let (latencies, answers) =
        alternate(store, fake, &shared, &others, &mut rng, queries, &label, progress, async |engine, query| {
            engine.knn(&kind, query, k).await.map(|hits| ids(&hits))
        })
        .await?;
    let [store_group, store_away, fake_group, fake_away] = latencies;
    let wrong = answers[0].iter().zip(&answers[2]).filter(|(got, want)| got != want).count();
    if wrong > 0 {
        tracing::warn!(group, wrong, queries, "answers at the group differ from the Fake's");
    }
    let mut measured = vec![
        ("ties_group", "store", store_group, recall(&answers[0], &answers[2])),
        ("ties_away", "store", store_away, recall(&answers[1], &answers[3])),
        ("ties_group", "fake", fake_group, 1.0),
        ("ties_away", "fake", fake_away, 1.0),
    ];

    let rounds = queries.min(DISTINCT_QUERIES);
    let label = format!("ties distinct search, group {group}");
    let options = KnnOptions::new(k);
    let (latencies, answers) =
        alternate(store, fake, &shared, &others, &mut rng, rounds, &label, progress, async |engine, query| {
            engine
                .knn_distinct(&kind, query, &options, DISTINCT_IDS)
                .await
                .map(|groups| groups.iter().map(exactly).collect::<Vec<_>>())
        })
        .await?;
    let [store_group, store_away, fake_group, fake_away] = latencies;
    let equal = |got: &[Vec<Exactly>], want: &[Vec<Exactly>]| {
        got.iter().zip(want).filter(|(got, want)| got == want).count() as f64 / want.len().max(1) as f64
    };
    let wrong = answers[0].iter().zip(&answers[2]).filter(|(got, want)| got != want).count();
    if wrong > 0 {
        tracing::warn!(group, wrong, rounds, "distinct answers at the group differ from the Fake's");
    }
    measured.extend([
        ("ties_distinct_group", "store", store_group, equal(&answers[0], &answers[2])),
        ("ties_distinct_away", "store", store_away, equal(&answers[1], &answers[3])),
        ("ties_distinct_group", "fake", fake_group, 1.0),
        ("ties_distinct_away", "fake", fake_away, 1.0),
    ]);
    for (workload, engine, samples, found) in measured {
        // Searches one after another: the rate is the reciprocal of their mean time.
        let seconds = samples.iter().map(Duration::as_secs_f64).sum();
        report.measurements.push(search(workload, engine, 1, total, samples, seconds, Some(found)));
    }
    store.drop_kind(&kind).await?;
    Ok(())
}

/// A distinct answer as compared with the Fake's: distance, count and ids.
#[derive(Debug)]
struct Exactly {
    distance: f32,
    count: u64,
    ids: Vec<String>,
}

impl PartialEq for Exactly {
    fn eq(&self, other: &Self) -> bool {
        let close =
            (self.distance - other.distance).abs() <= 1e-5 * self.distance.abs().max(other.distance.abs()).max(1e-3);
        close && self.count == other.count && self.ids == other.ids
    }
}

fn exactly(group: &DistinctNeighbor) -> Exactly {
    Exactly { distance: group.distance, count: group.count, ids: group.ids.clone() }
}

/// Runs `rounds` rounds of `search`, each at the shared vector and away from it (at a random
/// other's vector), each on the store then on the Fake, so that both places and both engines
/// meet the same machine state. Latencies and answers in the order store at the group, store
/// away, Fake at the group, Fake away.
#[allow(clippy::too_many_arguments)]
async fn alternate<T>(
    store: &dyn VectorStore,
    fake: &dyn VectorStore,
    shared: &[f32],
    others: &[Vec<f32>],
    rng: &mut Rng,
    rounds: usize,
    label: &str,
    progress: BenchProgress<'_>,
    search: impl AsyncFn(&dyn VectorStore, &[f32]) -> Result<T>,
) -> Result<([Vec<Duration>; 4], [Vec<T>; 4])> {
    let mut latencies: [Vec<Duration>; 4] = Default::default();
    let mut answers: [Vec<T>; 4] = Default::default();
    for round in 0..rounds {
        let away = &others[rng.below(others.len())];
        for (slot, (engine, query)) in
            [(store, shared), (store, away.as_slice()), (fake, shared), (fake, away.as_slice())].into_iter().enumerate()
        {
            let began = Instant::now();
            let answer = search(engine, query).await?;
            latencies[slot].push(began.elapsed());
            answers[slot].push(answer);
        }
        progress(label, round as u64 + 1, rounds as u64);
    }
    Ok((latencies, answers))
}
