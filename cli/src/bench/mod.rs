//! One benchmark harness for every store: seeded, clustered synthetic data, the same workloads
//! on any store the configuration selects, and the same workloads done with the raw engine
//! beside it (see [`raw`]) so the backend's own overhead is a ratio measured in one run.
//!
//! Workloads:
//! - `insert`: `count` vectors through `insert_many` in batches, then `single_inserts` through
//!   single `insert` calls: vectors per second for each. The raw engine writes the same
//!   batches in turn with the store, batch by batch, so both rates meet the same machine.
//! - `knn`: `queries` searches (k = 10 by default) with 1 and with 8 concurrent clients:
//!   p50 / p95 / p99 latency, queries per second, and recall@k against exact answers computed
//!   by the Fake store on the same data. That Fake is timed in the same rounds with as many
//!   clients (engine `fake`, also when the store under test is a Fake), and with pruning off
//!   at 1 client (`full_scan`), so `fake` against `full_scan` is one instance pruned and not.
//! - `mixed`: 90% searches and 10% inserts from 8 clients: throughput and p99.
//! - scaling: search latency at several sizes, for the latency-versus-N plot.
//! - `ties`: for each group size G, a kind of G records sharing one vector (at the even ids)
//!   among G distinct others, searched at the shared vector (`ties_group`) and at the others'
//!   own vectors (`ties_away`), alternating, one client, on the store and on a Fake holding the
//!   same data (engine `fake`) in the same run; n = 2G. Recall is against the Fake's answers:
//!   below 1 at the group means wrong answers (not the group's k smallest ids), which are also
//!   logged. It loads its own kinds; run alone, it loads nothing else.
//! - `zipf`: half of `count` records in `zipf_groups` groups of identical vectors with
//!   Zipf-distributed sizes, beside a plain kind of `count` distinct vectors: load rate into each
//!   (in turns), and recall@k and latency against the Fake for searches at stored vectors and at
//!   vectors outside the data. Its own kinds, like `ties`.
//!
//! Speed targets live here, never in tests.

pub mod plot;
pub mod raw;
mod report;
pub mod soak;
mod stats;
mod ties;
mod zipf;

use std::sync::Arc;
use std::time::{Duration, Instant};

use vectorstore::{FakeVectorStore, KnnOptions, Neighbor, NewVector, Result, VectorStore};
use vectorstore_conformance::data::{Rng, clustered};

pub use raw::RawEngine;
pub use report::{
    BenchOptions, BenchProgress, BenchReport, CopyMemory, Machine, Measurement, Memory, ServedFrom, Workload,
    bench_kind, side_by_side,
};
use report::{rate, recall, search};
pub use stats::Latency;

struct Data {
    vectors: Vec<Vec<f32>>,
    singles: Vec<Vec<f32>>,
    queries: Vec<Vec<f32>>,
}

fn generate(options: &BenchOptions) -> Data {
    let total = options.count + options.single_inserts + options.queries;
    let clusters = if options.clusters > 0 { options.clusters } else { (options.count / 1000).clamp(16, 256) };
    let (mut all, _) = clustered(options.seed, total, options.dim, clusters, 1.0);
    if options.equidistant {
        // Every stored vector at distance 10 from the origin, every query within 10⁻³ of it.
        let count = options.count + options.single_inserts;
        for (n, vector) in all.iter_mut().enumerate() {
            let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            let radius = if n < count { 10.0 } else { 1e-3 };
            vector.iter_mut().for_each(|v| *v *= radius / norm);
        }
    }
    let queries = all.split_off(options.count + options.single_inserts);
    let singles = all.split_off(options.count);
    Data { vectors: all, singles, queries }
}

fn batch_id(i: usize) -> String {
    format!("b{i:07}")
}

/// Runs the chosen workloads on `store` (and on `raw` when given) and reports every figure.
pub async fn run(
    store: Arc<dyn VectorStore>,
    raw: Option<Arc<dyn RawEngine>>,
    options: &BenchOptions,
    progress: BenchProgress<'_>,
) -> Result<BenchReport> {
    let kind = bench_kind(options);
    let mut data = generate(options);
    let mut report = BenchReport {
        backend: store.backend().to_owned(),
        label: None,
        machine: Machine::current(),
        count: options.count,
        dim: options.dim,
        metric: options.metric,
        k: options.k,
        seed: options.seed,
        measurements: Vec::new(),
        memory: None,
        copy: None,
    };
    if options.workloads.contains(&Workload::Ties) {
        ties::run(&*store, options, &mut report, progress).await?;
    }
    if options.workloads.contains(&Workload::Zipf) {
        zipf::run(&*store, options, &mut report, progress).await?;
    }
    // Those two load kinds of their own: run alone, nothing else is loaded.
    if options.workloads.iter().all(|w| matches!(w, Workload::Ties | Workload::Zipf)) {
        return Ok(report);
    }
    store.drop_kind(&kind).await?;
    store.create_kind(&kind, options.dim, options.metric).await?;
    if let Some(raw) = &raw {
        raw.prepare(options.dim, options.metric).await?;
    }

    let measure_memory = store.backend() == vectorstore::FAKE;
    let timed_inserts = options.workloads.contains(&Workload::Insert);
    // The raw engine's own copy: timed beside the store's figure, or loaded untimed when its
    // searches read it.
    let raw_writes = raw.as_deref().filter(|raw| timed_inserts || raw.searches_own_data());
    let resident_before = resident_bytes();
    let (seconds, raw_seconds) = load_beside(&*store, raw_writes, &kind, &data.vectors, options, progress).await?;
    if measure_memory && let (Some(before), Some(after)) = (resident_before, resident_bytes()) {
        let raw_bytes = (options.count * options.dim * 4) as u64;
        let grown = after.saturating_sub(before);
        report.memory =
            Some(Memory { resident_bytes: grown, raw_bytes, ratio: grown as f64 / raw_bytes.max(1) as f64 });
    }
    if timed_inserts {
        report.measurements.push(rate("insert_many", "store", 1, options.count, options.count as u64, seconds));
        if raw_writes.is_some() {
            report.measurements.push(rate("insert_many", "raw", 1, options.count, options.count as u64, raw_seconds));
        }
    }
    // Work the store deferred to the end of the load (pgvector: the HNSW index), timed apart.
    progress("index build", 0, 1);
    let started = Instant::now();
    if store.settle(&kind).await?.is_some() && timed_inserts {
        let seconds = started.elapsed().as_secs_f64();
        report.measurements.push(rate("index_build", "store", 1, options.count, options.count as u64, seconds));
    }
    if let Some(raw) = raw_writes {
        let started = Instant::now();
        if raw.finish_load().await? && timed_inserts {
            let seconds = started.elapsed().as_secs_f64();
            report.measurements.push(rate("index_build", "raw", 1, options.count, options.count as u64, seconds));
        }
    }

    // Single inserts, one each in turn (see `load_beside`).
    let (mut seconds, mut raw_seconds) = (0.0, 0.0);
    for (i, vector) in data.singles.iter().enumerate() {
        let id = format!("single{i:07}");
        let started = Instant::now();
        store.insert(&kind, &id, vector, 1).await?;
        seconds += started.elapsed().as_secs_f64();
        if let Some(raw) = raw_writes {
            let started = Instant::now();
            raw.insert_one(&id, vector).await?;
            raw_seconds += started.elapsed().as_secs_f64();
        }
        if i % 500 == 0 {
            progress("insert", i as u64, data.singles.len() as u64);
        }
    }
    let n = options.count + data.singles.len();
    if timed_inserts {
        report.measurements.push(rate("insert", "store", 1, n, data.singles.len() as u64, seconds));
        if raw_writes.is_some() {
            report.measurements.push(rate("insert", "raw", 1, n, data.singles.len() as u64, raw_seconds));
        }
    }

    if options.workloads.contains(&Workload::Knn) {
        progress("exact answers", 0, data.queries.len() as u64);
        let (exact, oracle) = exact_answers(&data, options, &kind).await?;
        // Every copy of the vectors is loaded now; at 10M x 128 this one is 5 GB of the
        // bench's memory.
        data.vectors = Vec::new();
        // The Fake holding the same data, searched in the same rounds and with as many
        // clients: the store's ratio to the memory-speed limit, measured in one run. It is
        // the instance the full scan below times with pruning off, so pruned against full is
        // always one instance against itself (two instances loaded alike differ by up to 20%
        // in speed, which is why a Fake under test is timed beside this one too).
        let reference: Option<Arc<dyn VectorStore>> = Some(oracle.clone() as Arc<dyn VectorStore>);
        if let Some(raw) = &raw {
            raw.settle(&kind).await?;
        }
        for &clients in &options.clients {
            progress(&format!("knn x{clients}"), 0, data.queries.len() as u64);
            // The same Fake with pruning off: the full exact f32 scan of the same data.
            let full_scan = (clients == 1).then_some(&oracle);
            let beside = Beside { raw: raw.as_ref(), reference: reference.as_ref(), full_scan };
            let [
                (store_latencies, store_seconds, store_answers),
                (raw_latencies, raw_seconds, raw_answers),
                fake_run,
                (full_latencies, full_seconds, full_answers),
            ] = interleaved_queries(&store, beside, &kind, &data.queries, options.k, clients).await?;
            let store_recall = Some(recall(&store_answers, &exact));
            report.measurements.push(search("knn", "store", clients, n, store_latencies, store_seconds, store_recall));
            if raw.is_some() {
                let raw_recall = Some(recall(&raw_answers, &exact));
                report.measurements.push(search("knn", "raw", clients, n, raw_latencies, raw_seconds, raw_recall));
            }
            if reference.is_some() {
                let (latencies, seconds, _) = fake_run;
                report.measurements.push(search("knn", "fake", clients, n, latencies, seconds, Some(1.0)));
            }
            if full_scan.is_some() {
                let recall = Some(recall(&full_answers, &exact));
                report.measurements.push(search("knn", "full_scan", clients, n, full_latencies, full_seconds, recall));
            }
        }
        report.copy = copy_memory(&*store, n, options.dim).await;
    }

    if options.workloads.contains(&Workload::Batch) {
        batch_vs_single(&*store, &kind, &data.queries, options, n, &mut report, progress).await?;
    }

    if options.workloads.contains(&Workload::Mixed) {
        progress("mixed", 0, options.mixed_ops as u64);
        let (latencies, seconds) = mixed(store.clone(), &kind, &data.queries, options).await?;
        report.measurements.push(search("mixed", "store", options.mixed_clients, n, latencies, seconds, None));
    }

    if !options.scaling.is_empty() {
        scaling(&*store, raw.as_deref(), options, &mut report, progress).await?;
    }
    store.drop_kind(&kind).await?;
    if let Some(raw) = &raw {
        raw.cleanup().await?;
    }
    Ok(report)
}

/// The queries one `knn` call each, then all in `knn_batch` calls of up to
/// [`MAX_QUERIES_PER_CALL`](vectorstore::limits::MAX_QUERIES_PER_CALL), twice each, alternating,
/// keeping the faster run of each; a batch answer that differs from the single one is an error.
async fn batch_vs_single(
    store: &dyn VectorStore,
    kind: &str,
    queries: &[Vec<f32>],
    options: &BenchOptions,
    n: usize,
    report: &mut BenchReport,
    progress: BenchProgress<'_>,
) -> Result<()> {
    let knn = KnnOptions::new(options.k);
    let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let (mut single_best, mut batch_best) = (f64::INFINITY, f64::INFINITY);
    let mut singles = Vec::new();
    let mut batched = Vec::new();
    for round in 0..2 {
        progress("knn singles", round, 2);
        let started = Instant::now();
        singles.clear();
        for query in &refs {
            singles.push(store.knn_with(kind, query, &knn).await?);
        }
        single_best = single_best.min(started.elapsed().as_secs_f64());
        progress("knn_batch", round, 2);
        let started = Instant::now();
        batched.clear();
        for chunk in refs.chunks(vectorstore::limits::MAX_QUERIES_PER_CALL) {
            batched.extend(store.knn_batch(kind, chunk, &knn).await?);
        }
        batch_best = batch_best.min(started.elapsed().as_secs_f64());
    }
    for (i, (batch, single)) in batched.iter().zip(&singles).enumerate() {
        let ids = |hits: &[vectorstore::Neighbor]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        if ids(batch) != ids(single) {
            return Err(vectorstore::Error::new(
                vectorstore::ErrorKind::Backend,
                format!("knn_batch answered query {i} unlike knn: {:?} vs {:?}", ids(batch), ids(single)),
            ));
        }
    }
    let count = queries.len() as u64;
    report.measurements.push(rate("knn_singles", "store", 1, n, count, single_best));
    report.measurements.push(rate("knn_batch", "store", 1, n, count, batch_best));
    Ok(())
}

/// `vectors` as `insert_many` batches of `batch_size` (kept within 1..=MAX_BATCH), the first
/// vector getting id `batch_id(first)`: the same ids and batches for the store and the raw engine.
fn batches(vectors: &[Vec<f32>], first: usize, batch_size: usize) -> impl Iterator<Item = Vec<NewVector>> + '_ {
    let size = batch_size.clamp(1, vectorstore::limits::MAX_BATCH);
    vectors.chunks(size).enumerate().map(move |(n, chunk)| {
        chunk.iter().enumerate().map(|(i, v)| NewVector::new(batch_id(first + n * size + i), v.clone())).collect()
    })
}

/// Writes `vectors` to the store in batches (see [`batches`]).
async fn load(
    store: &dyn VectorStore,
    kind: &str,
    vectors: &[Vec<f32>],
    first: usize,
    batch_size: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let mut done = 0;
    for items in batches(vectors, first, batch_size) {
        store.insert_many(kind, &items).await?;
        done += items.len();
        progress(done as u64, vectors.len() as u64);
    }
    Ok(())
}

/// The exact answers, from a Fake holding the same data.
/// The exact answers to the queries, from a Fake loaded with the same data (kept for timing
/// beside the store).
async fn exact_answers(
    data: &Data,
    options: &BenchOptions,
    kind: &str,
) -> Result<(Vec<Vec<String>>, Arc<FakeVectorStore>)> {
    let oracle = Arc::new(FakeVectorStore::new());
    oracle.initialize().await?;
    oracle.create_kind(kind, options.dim, options.metric).await?;
    load(&*oracle, kind, &data.vectors, 0, 10_000, &mut |_, _| {}).await?;
    for (i, vector) in data.singles.iter().enumerate() {
        oracle.insert(kind, &format!("single{i:07}"), vector, 1).await?;
    }
    let mut answers = Vec::with_capacity(data.queries.len());
    for query in &data.queries {
        answers.push(oracle.knn(kind, query, options.k).await?.into_iter().map(|n| n.id).collect());
    }
    Ok((answers, oracle))
}

type QueryRun = (Vec<Duration>, f64, Vec<Vec<String>>);

/// Runs every query once, split over `clients` tasks; returns latencies, wall seconds and the
/// answers in query order.
async fn run_queries(
    store: Arc<dyn VectorStore>,
    raw: Option<Arc<dyn RawEngine>>,
    kind: &str,
    queries: &[Vec<f32>],
    k: usize,
    clients: usize,
) -> Result<QueryRun> {
    let clients = clients.max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let mine: Vec<(usize, Vec<f32>)> =
            queries.iter().enumerate().filter(|(i, _)| i % clients == client).map(|(i, q)| (i, q.clone())).collect();
        let (store, raw, kind) = (store.clone(), raw.clone(), kind.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(mine.len());
            for (i, query) in mine {
                // Let the other clients run between operations, also on in-process stores.
                tokio::task::yield_now().await;
                let started = Instant::now();
                let ids: Vec<String> = match &raw {
                    Some(raw) => raw.knn(&kind, &query, k).await?,
                    None => store
                        .knn_with(&kind, &query, &KnnOptions::new(k))
                        .await?
                        .into_iter()
                        .map(|n: Neighbor| n.id)
                        .collect(),
                };
                out.push((i, started.elapsed(), ids));
            }
            Ok::<_, vectorstore::Error>(out)
        }));
    }
    let mut results = Vec::with_capacity(queries.len());
    for task in tasks {
        results.extend(task.await.map_err(join_error)??);
    }
    let seconds = started.elapsed().as_secs_f64();
    results.sort_by_key(|(i, _, _)| *i);
    let latencies = results.iter().map(|(_, d, _)| *d).collect();
    let answers = results.into_iter().map(|(_, _, ids)| ids).collect();
    Ok((latencies, seconds, answers))
}

/// Loads `vectors` into the store and, when given, into the raw engine, in the same batches
/// (see [`batches`]) taken in turn: each batch goes to both before the next, the one going first
/// alternating. A whole load after the other met different weather on this kind of shared
/// machine (rates swung by a third between two runs); in turns, both see the same. The seconds
/// each spent writing.
async fn load_beside(
    store: &dyn VectorStore,
    raw: Option<&dyn RawEngine>,
    kind: &str,
    vectors: &[Vec<f32>],
    options: &BenchOptions,
    progress: BenchProgress<'_>,
) -> Result<(f64, f64)> {
    let (mut seconds, mut raw_seconds) = (0.0, 0.0);
    let mut done = 0;
    for (n, items) in batches(vectors, 0, options.batch_size).enumerate() {
        let raw_first = n % 2 == 1;
        for turn in 0..2 {
            let started = Instant::now();
            if (turn == 0) == raw_first {
                let Some(raw) = raw else { continue };
                raw.insert_batch(&items).await?;
                raw_seconds += started.elapsed().as_secs_f64();
            } else {
                store.insert_many(kind, &items).await?;
                seconds += started.elapsed().as_secs_f64();
            }
        }
        done += items.len();
        progress("insert_many", done as u64, vectors.len() as u64);
    }
    Ok((seconds, raw_seconds))
}

/// Rounds a knn workload is split into when a raw engine runs beside the store.
const KNN_ROUNDS: usize = 4;

/// What a knn round times beside the store, each optional.
#[derive(Clone, Copy)]
struct Beside<'a> {
    raw: Option<&'a Arc<dyn RawEngine>>,
    /// A Fake holding the same data.
    reference: Option<&'a Arc<dyn VectorStore>>,
    /// A Fake holding the same data, timed with pruning off (a full exact scan).
    full_scan: Option<&'a Arc<FakeVectorStore>>,
}

/// The queries through the store and, when given, the raw engine, a reference Fake holding
/// the same data and that Fake with pruning off, in [`KNN_ROUNDS`] rounds taking turns (and
/// which goes first), so that background work on the machine or the server (compaction, index
/// building, another tenant) weighs on all alike. Runs: store, raw, reference, full scan;
/// answers stay in query order.
async fn interleaved_queries(
    store: &Arc<dyn VectorStore>,
    beside: Beside<'_>,
    kind: &str,
    queries: &[Vec<f32>],
    k: usize,
    clients: usize,
) -> Result<[QueryRun; 4]> {
    /// Who answers a round's queries: the store, the raw engine, the reference Fake, or the
    /// oracle Fake with pruning off.
    #[derive(Clone, Copy)]
    enum Engine {
        Store,
        Raw,
        Reference,
        FullScan,
    }
    let Beside { raw, reference, full_scan } = beside;
    let mut runs: [QueryRun; 4] = Default::default();
    let mut engines = vec![Engine::Store];
    if raw.is_some() {
        engines.push(Engine::Raw);
    }
    if reference.is_some() {
        engines.push(Engine::Reference);
    }
    if full_scan.is_some() {
        engines.push(Engine::FullScan);
    }
    let rounds = if engines.len() > 1 { KNN_ROUNDS } else { 1 };
    let per_round = queries.len().div_ceil(rounds).max(1);
    for (round, slice) in queries.chunks(per_round).enumerate() {
        // Each engine in turn, the first one changing from round to round.
        let mut order = engines.clone();
        order.rotate_left(round % engines.len());
        for engine in order {
            let (slot, run) = match engine {
                Engine::Store => (0, run_queries(store.clone(), None, kind, slice, k, clients).await?),
                Engine::Raw => (1, run_queries(store.clone(), raw.cloned(), kind, slice, k, clients).await?),
                Engine::Reference => {
                    let Some(reference) = reference else { continue };
                    (2, run_queries(reference.clone(), None, kind, slice, k, clients).await?)
                }
                Engine::FullScan => {
                    let Some(oracle) = full_scan else { continue };
                    oracle.set_pruning(false);
                    let run = run_queries(oracle.clone(), None, kind, slice, k, clients).await;
                    oracle.set_pruning(true);
                    (3, run?)
                }
            };
            runs[slot].0.extend(run.0);
            runs[slot].1 += run.1;
            runs[slot].2.extend(run.2);
        }
    }
    Ok(runs)
}

fn join_error(err: tokio::task::JoinError) -> vectorstore::Error {
    vectorstore::Error::new(vectorstore::ErrorKind::Backend, format!("a benchmark client failed: {err}"))
}

/// 90% searches, 10% inserts of new ids, over `mixed_clients` clients.
async fn mixed(
    store: Arc<dyn VectorStore>,
    kind: &str,
    queries: &[Vec<f32>],
    options: &BenchOptions,
) -> Result<(Vec<Duration>, f64)> {
    let clients = options.mixed_clients.max(1);
    let per_client = options.mixed_ops / clients;
    let queries = Arc::new(queries.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (store, kind, queries) = (store.clone(), kind.to_owned(), queries.clone());
        let (k, seed, dim) = (options.k, options.seed, options.dim);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed ^ ((client as u64 + 1) * 0x9E37));
            let mut latencies = Vec::with_capacity(per_client);
            for op in 0..per_client {
                tokio::task::yield_now().await;
                let started = Instant::now();
                if rng.below(10) == 0 {
                    let vector: Vec<f32> = rng.gaussian_vector(dim);
                    store.insert(&kind, &format!("mixed{client:02}-{op:07}"), &vector, 1).await?;
                } else {
                    let query = &queries[rng.below(queries.len().max(1))];
                    store.knn_with(&kind, query, &KnnOptions::new(k)).await?;
                }
                latencies.push(started.elapsed());
            }
            Ok::<_, vectorstore::Error>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(options.mixed_ops);
    for task in tasks {
        latencies.extend(task.await.map_err(join_error)??);
    }
    Ok((latencies, started.elapsed().as_secs_f64()))
}

/// Search latency (1 client) at each size of `options.scaling`, loading up to each size in turn.
async fn scaling(
    store: &dyn VectorStore,
    raw: Option<&dyn RawEngine>,
    options: &BenchOptions,
    report: &mut BenchReport,
    progress: BenchProgress<'_>,
) -> Result<()> {
    let kind = format!("{}_scaling", bench_kind(options));
    let largest = options.scaling.iter().copied().max().unwrap_or(0);
    let sized =
        BenchOptions { count: largest, single_inserts: 0, queries: options.queries.min(200), ..options.clone() };
    let data = generate(&sized);
    let mut sizes = options.scaling.clone();
    sizes.sort_unstable();
    for n in sizes {
        // Each size loaded afresh, as a load of that size is, and searched once the store has
        // finished what the load deferred (pgvector builds the kind's index then): a kind
        // grown past an index built at a smaller size would be measured half indexed.
        store.drop_kind(&kind).await?;
        store.create_kind(&kind, options.dim, options.metric).await?;
        load(store, &kind, &data.vectors[..n], 0, options.batch_size, &mut |_, _| {}).await?;
        progress("scaling", n as u64, largest as u64);
        store.settle(&kind).await?;
        if let Some(raw) = raw {
            raw.settle(&kind).await?;
        }
        let mut latencies = Vec::with_capacity(data.queries.len());
        let started = Instant::now();
        for query in &data.queries {
            let began = Instant::now();
            store.knn_with(&kind, query, &KnnOptions::new(options.k)).await?;
            latencies.push(began.elapsed());
        }
        report.measurements.push(search("scaling", "store", 1, n, latencies, started.elapsed().as_secs_f64(), None));
    }
    store.drop_kind(&kind).await?;
    Ok(())
}

/// The store's in-memory copy (its health's `cache_bytes`) against the raw size of the `n`
/// vectors searched, and what it holds (`cache_codes_only_kinds`, `cache_vectors`); `None`
/// when the store reports no copy.
async fn copy_memory(store: &dyn VectorStore, n: usize, dim: usize) -> Option<CopyMemory> {
    let health = store.health().await;
    let number = |key: &str| health.detail.get(key).and_then(|value| value.parse::<u64>().ok());
    let copy_bytes = number("cache_bytes")?;
    let raw_bytes = (n * dim * 4) as u64;
    let served_from = match (number("cache_codes_only_kinds"), number("cache_vectors")) {
        (Some(codes), _) if codes > 0 => ServedFrom::CodesOnly,
        (_, Some(vectors)) if vectors > 0 => ServedFrom::FullCopy,
        (_, Some(_)) => ServedFrom::Storage,
        _ => ServedFrom::Unknown,
    };
    Some(CopyMemory { copy_bytes, raw_bytes, ratio: copy_bytes as f64 / raw_bytes.max(1) as f64, served_from })
}

/// The process's resident memory in bytes (Linux), for the memory figure.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
