//! A bounded soak: many clients mixing every operation against one store for a fixed time,
//! then a full consistency check against a Fake store that replays the same writes.
//!
//! Each client owns its ids (disjoint from every other client's) and keeps a log of its writes,
//! so the final state is defined by the clients' own orders whatever the interleaving: the Fake
//! replays each log and must end up holding exactly what the store holds, bit for bit. Clients
//! also check read-your-writes on the fly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use vectorstore::{FakeVectorStore, KnnOptions, Metric, NewVector, Result, VectorStore, distance};
use vectorstore_conformance::data::Rng;

use vectorstore::transfer::verify;

/// How long and how hard to soak.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Wall-clock duration.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: usize,
    /// Ids each client cycles through per kind (small, so replaces and deletes are frequent).
    pub ids_per_client: usize,
    /// Seed of the operation mix.
    pub seed: u64,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions { duration: Duration::from_secs(60), clients: 16, ids_per_client: 64, seed: 1 }
    }
}

/// The kinds a soak writes (dropped first and afterwards), with their dimension and metric.
pub const SOAK_KINDS: [(&str, usize, Metric); 3] =
    [("soak_ja3", 8, Metric::L2), ("soak_hassh", 16, Metric::Cosine), ("soak_dwell", 3, Metric::L2)];

/// What a soak did and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SoakReport {
    /// The backend soaked.
    pub backend: String,
    /// Seconds it ran.
    pub seconds: f64,
    /// Operations by name.
    pub operations: BTreeMap<String, u64>,
    /// Operations that returned an error (each is a failure).
    pub errors: u64,
    /// The first few errors and read-your-writes violations.
    pub problems: Vec<String>,
    /// Records at the end.
    pub records: u64,
    /// Differences between the store and the Fake replay (counts, ids, vector bits, searches).
    pub mismatches: Vec<String>,
}

impl SoakReport {
    /// True when nothing failed and nothing differs.
    pub fn ok(&self) -> bool {
        self.errors == 0 && self.problems.is_empty() && self.mismatches.is_empty()
    }
}

/// One client's write, for the replay.
enum Write {
    Put(&'static str, NewVector),
    Delete(&'static str, String),
}

struct ClientOutcome {
    operations: BTreeMap<&'static str, u64>,
    errors: u64,
    problems: Vec<String>,
    log: Vec<Write>,
}

/// Runs the soak against `store` (initialised) and checks it. `progress` gets elapsed and total seconds.
pub async fn run(
    store: Arc<dyn VectorStore>,
    options: &SoakOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SoakReport> {
    let metrics: Vec<(&'static str, usize, Metric)> = SOAK_KINDS
        .iter()
        .map(|&(kind, dim, metric)| {
            (kind, dim, if store.capabilities().supports(metric) { metric } else { Metric::L2 })
        })
        .collect();
    for &(kind, dim, metric) in &metrics {
        store.drop_kind(kind).await?;
        store.create_kind(kind, dim, metric).await?;
    }
    let started = Instant::now();
    let deadline = started + options.duration;
    let mut tasks = Vec::new();
    for client in 0..options.clients.max(1) {
        let (store, metrics) = (store.clone(), metrics.clone());
        let (ids, seed) = (options.ids_per_client.max(1), options.seed);
        tasks.push(tokio::spawn(async move { client_loop(store, client, ids, seed, &metrics, deadline).await }));
    }
    let total = options.duration.as_secs().max(1);
    while tasks.iter().any(|t| !t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        progress(started.elapsed().as_secs().min(total), total);
    }
    let mut report = SoakReport { backend: store.backend().to_owned(), ..SoakReport::default() };
    let oracle = FakeVectorStore::new();
    oracle.initialize().await?;
    for &(kind, dim, metric) in &metrics {
        oracle.create_kind(kind, dim, metric).await?;
    }
    for task in tasks {
        let outcome = task.await.map_err(|e| {
            vectorstore::Error::new(vectorstore::ErrorKind::Backend, format!("a soak client panicked: {e}"))
        })?;
        for (name, n) in outcome.operations {
            *report.operations.entry(name.to_owned()).or_default() += n;
        }
        report.errors += outcome.errors;
        report.problems.extend(outcome.problems.into_iter().take(10));
        for write in outcome.log {
            match write {
                Write::Put(kind, item) => oracle.insert(kind, &item.id, &item.vector, item.extractor_version).await?,
                Write::Delete(kind, id) => {
                    oracle.delete(kind, &id).await?;
                }
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    let kinds: Vec<String> = metrics.iter().map(|(k, _, _)| (*k).to_owned()).collect();
    let checked = verify(&oracle, &*store, &kinds).await?;
    for kind in &checked.kinds {
        report.records += kind.target_count;
        if !kind.ok() {
            report.mismatches.push(format!(
                "{}: {} records expected, {} found; checksum {} expected, {} found; {} of {} searches differ",
                kind.kind,
                kind.source_count,
                kind.target_count,
                kind.source_checksum,
                kind.target_checksum,
                kind.query_mismatches,
                kind.queries
            ));
        }
    }
    for &(kind, _, _) in &metrics {
        store.drop_kind(kind).await?;
    }
    Ok(report)
}

async fn client_loop(
    store: Arc<dyn VectorStore>,
    client: usize,
    ids: usize,
    seed: u64,
    kinds: &[(&'static str, usize, Metric)],
    deadline: Instant,
) -> ClientOutcome {
    let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(client as u64));
    let mut model: BTreeMap<(&'static str, String), (Vec<f32>, u32)> = BTreeMap::new();
    let mut outcome = ClientOutcome { operations: BTreeMap::new(), errors: 0, problems: Vec::new(), log: Vec::new() };
    let id = |n: usize| format!("c{client:02}-{n:04}");
    let vector = |rng: &mut Rng, dim: usize| -> Vec<f32> {
        // Never all zero, so cosine kinds accept every vector.
        let mut v = rng.gaussian_vector(dim);
        v[0] += 0.5;
        v
    };
    while Instant::now() < deadline {
        // In-process stores complete without awaiting anything; yielding keeps every client
        // running instead of the first few hogging the runtime's threads until the deadline.
        tokio::task::yield_now().await;
        let (kind, dim, metric) = kinds[rng.below(kinds.len())];
        let n = rng.below(ids);
        let choice = rng.below(100);
        let name: &'static str;
        let result: Result<()> = if choice < 30 {
            name = "insert";
            let v = vector(&mut rng, dim);
            let version = 1 + rng.below(3) as u32;
            let r = store.insert(kind, &id(n), &v, version).await;
            if r.is_ok() {
                model.insert((kind, id(n)), (v.clone(), version));
                outcome.log.push(Write::Put(kind, NewVector::new(id(n), v).with_extractor_version(version)));
            }
            r
        } else if choice < 40 {
            name = "insert_many";
            let size = 1 + rng.below(20);
            let items: Vec<NewVector> =
                (0..size).map(|_| NewVector::new(id(rng.below(ids)), vector(&mut rng, dim))).collect();
            let r = store.insert_many(kind, &items).await;
            if r.is_ok() {
                for item in items {
                    model.insert((kind, item.id.clone()), (item.vector.clone(), 1));
                    outcome.log.push(Write::Put(kind, item));
                }
            }
            r
        } else if choice < 50 {
            name = "delete";
            match store.delete(kind, &id(n)).await {
                Ok(removed) => {
                    let expected = model.remove(&(kind, id(n))).is_some();
                    if removed != expected {
                        outcome
                            .problems
                            .push(format!("delete {kind}/{} returned {removed}, expected {expected}", id(n)));
                    }
                    outcome.log.push(Write::Delete(kind, id(n)));
                    Ok(())
                }
                Err(err) => Err(err),
            }
        } else if choice < 65 {
            name = "get";
            match store.get(kind, &id(n)).await {
                Ok(got) => {
                    let expected = model.get(&(kind, id(n)));
                    let same = match (&got, expected) {
                        (None, None) => true,
                        (Some(r), Some((v, version))) => {
                            r.extractor_version == *version
                                && r.vector.iter().zip(v).all(|(a, b)| a.to_bits() == b.to_bits())
                        }
                        _ => false,
                    };
                    if !same {
                        outcome.problems.push(format!("get {kind}/{} does not return this client's last write", id(n)));
                    }
                    Ok(())
                }
                Err(err) => Err(err),
            }
        } else if choice < 95 {
            name = "knn";
            let query = vector(&mut rng, dim);
            let k = 1 + rng.below(20);
            let options = if rng.below(4) == 0 { KnnOptions::new(k).extractor_version(1) } else { KnnOptions::new(k) };
            match store.knn_with(kind, &query, &options).await {
                Ok(hits) => {
                    let sorted = hits
                        .windows(2)
                        .all(|w| distance::cmp_hits(w[0].distance, &w[0].id, w[1].distance, &w[1].id).is_lt());
                    if hits.len() > k || !sorted || hits.iter().any(|h| h.kind != kind) {
                        outcome.problems.push(format!("knn on {kind} returned {} hits, sorted {sorted}", hits.len()));
                    }
                    let _ = metric;
                    Ok(())
                }
                Err(err) => Err(err),
            }
        } else if choice < 98 {
            name = "scan";
            store.scan(kind, Some(&id(n)), 50).await.map(|_| ())
        } else {
            name = "kinds";
            store.kinds().await.map(|_| ())
        };
        *outcome.operations.entry(name).or_default() += 1;
        if let Err(err) = result {
            outcome.errors += 1;
            if outcome.problems.len() < 10 {
                outcome.problems.push(format!("{name} failed: {err}"));
            }
        }
    }
    outcome
}
