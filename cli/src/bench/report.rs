//! What a benchmark run is asked to do and what it reports: workloads and options, each
//! measurement (rate, latency percentiles, recall), the machine, and the report as a whole.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vectorstore::Metric;

use super::stats::Latency;

/// A benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Batched and single inserts.
    Insert,
    /// Searches with 1 and 8 clients, with recall.
    Knn,
    /// 90% searches, 10% inserts, 8 clients.
    Mixed,
    /// Every query in one `knn_batch` call against the same queries one `knn` call each
    /// (1 client), with the batch's answers checked against the single ones.
    Batch,
    /// Searches at a group of identical vectors and away from it, for each group size of
    /// [`BenchOptions::tie_groups`], beside the Fake.
    Ties,
    /// Recall and load rate on a kind where half the records fall into
    /// [`BenchOptions::zipf_groups`] groups of identical vectors with Zipf-distributed sizes,
    /// beside a plain kind of the same size, against the Fake.
    Zipf,
}

/// What to run and at which size.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Workloads to run, in order.
    pub workloads: Vec<Workload>,
    /// Vectors loaded through `insert_many`.
    pub count: usize,
    /// Their dimension.
    pub dim: usize,
    /// The kind's metric.
    pub metric: Metric,
    /// Vectors per `insert_many` call.
    pub batch_size: usize,
    /// Vectors written through single `insert` calls after the batches.
    pub single_inserts: usize,
    /// Searches per client configuration.
    pub queries: usize,
    /// Neighbours per search.
    pub k: usize,
    /// Client counts for the knn workload.
    pub clients: Vec<usize>,
    /// Operations of the mixed workload.
    pub mixed_ops: usize,
    /// Clients of the mixed workload.
    pub mixed_clients: usize,
    /// Sizes at which to measure search latency (ascending), for the scaling plot.
    pub scaling: Vec<usize>,
    /// Seed of the data.
    pub seed: u64,
    /// Group sizes of the `ties` workload (records sharing one vector, among as many others).
    pub tie_groups: Vec<usize>,
    /// Clusters of the generated data; 0: one per 1,000 vectors (16 to 256); 1: one Gaussian
    /// cloud.
    pub clusters: usize,
    /// Stored vectors all at the same distance from the origin, queries next to it: every
    /// vector nearly equidistant from every query, which no bound of a pruned search separates.
    pub equidistant: bool,
    /// Groups of identical vectors in the `zipf` workload's kind (holding half its records).
    pub zipf_groups: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            workloads: vec![Workload::Insert, Workload::Knn, Workload::Mixed],
            count: 100_000,
            dim: 128,
            metric: Metric::L2,
            batch_size: 1000,
            single_inserts: 10_000,
            queries: 1000,
            k: 10,
            clients: vec![1, 8],
            mixed_ops: 10_000,
            mixed_clients: 8,
            scaling: Vec::new(),
            seed: 42,
            tie_groups: vec![1_000, 10_000, 100_000],
            clusters: 0,
            equidistant: false,
            zipf_groups: 500,
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// `insert_many`, `insert`, `knn`, `mixed`, `scaling`.
    pub workload: String,
    /// `store` (through the backend) or `raw` (the engine called directly).
    pub engine: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Vectors in the kind while measuring.
    pub n: usize,
    /// Operations (vectors written or searches run).
    pub operations: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Operations per second.
    pub per_second: f64,
    /// Latency percentiles, for searches and mixed operations.
    pub latency: Option<Latency>,
    /// Recall@k against the exact answers, for searches.
    pub recall: Option<f64>,
}

/// Memory used by a store for the loaded vectors (measured for in-process stores).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Growth of the process's resident memory while loading.
    pub resident_bytes: u64,
    /// The vectors' own size (`count × dim × 4`).
    pub raw_bytes: u64,
    /// resident / raw.
    pub ratio: f64,
}

/// The in-memory copy a store keeps of what it searches (the sqlite_vec store's copies), as
/// the store reports it in its health (`cache_bytes`), after the searches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CopyMemory {
    /// Bytes the copies take.
    pub copy_bytes: u64,
    /// The searched vectors' own size (`vectors × dim × 4`).
    pub raw_bytes: u64,
    /// copy / raw.
    pub ratio: f64,
    /// What the copy is, and so what answered the searches.
    #[serde(default)]
    pub served_from: ServedFrom,
}

/// What answered the store's searches of the bench's kind, as its health reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServedFrom {
    /// Not reported (a report written before this was recorded).
    #[default]
    Unknown,
    /// The store's full in-memory copy of the vectors.
    FullCopy,
    /// The store's in-memory 8-bit codes, with the vectors they cannot rule out read back
    /// from its storage (the full copy did not fit its memory limit).
    CodesOnly,
    /// The store's own search of its storage (no copy fits, or copies are off).
    Storage,
}

impl std::fmt::Display for ServedFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServedFrom::Unknown => "not reported",
            ServedFrom::FullCopy => "the full in-memory copy",
            ServedFrom::CodesOnly => "the 8-bit codes in memory, candidates' vectors read back from the file",
            ServedFrom::Storage => "the store's own scan (no copy fits the memory limit)",
        })
    }
}

/// Where the figures came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// Total memory in GiB.
    pub memory_gib: f64,
}

impl Machine {
    /// This machine.
    pub fn current() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines().find_map(|l| {
                    l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_owned())
                })
            })
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { cpus, cpu_model, memory_gib }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// The backend benchmarked.
    pub backend: String,
    /// The machine.
    pub machine: Machine,
    /// Vectors loaded.
    pub count: usize,
    /// Their dimension.
    pub dim: usize,
    /// The metric.
    pub metric: Metric,
    /// Neighbours per search.
    pub k: usize,
    /// Seed of the data.
    pub seed: u64,
    /// Every figure.
    pub measurements: Vec<Measurement>,
    /// Memory, for in-process stores.
    pub memory: Option<Memory>,
    /// The store's in-memory copy of the searched vectors, when it keeps one.
    #[serde(default)]
    pub copy: Option<CopyMemory>,
    /// What the report is called in side-by-side tables and charts (`bench --label`), when
    /// not the backend's name: e.g. one backend under two settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl BenchReport {
    /// The report's name in tables and charts: its label, else the backend.
    pub fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.backend)
    }

    /// The figure for a workload, engine and client count.
    pub fn find(&self, workload: &str, engine: &str, clients: usize) -> Option<&Measurement> {
        self.measurements.iter().find(|m| m.workload == workload && m.engine == engine && m.clients == clients)
    }

    /// Backend cost relative to the raw engine for each workload both measured: for rates,
    /// raw / store (1.25 means the backend is 25% slower); for searches, the ratio of p50 latencies.
    pub fn overheads(&self) -> Vec<(String, usize, f64)> {
        self.measurements
            .iter()
            .filter(|m| m.engine == "store")
            .filter_map(|store| {
                let raw = self.find(&store.workload, "raw", store.clients)?;
                let ratio = match (&store.latency, &raw.latency) {
                    (Some(s), Some(r)) if r.p50_ms > 0.0 => s.p50_ms / r.p50_ms,
                    _ if store.per_second > 0.0 => raw.per_second / store.per_second,
                    _ => return None,
                };
                Some((store.workload.clone(), store.clients, ratio))
            })
            .collect()
    }
}

/// The reports side by side, one row per report: knn p50 at 1 client with its ratio to the
/// Fake's p50 (the memory-speed limit: the Fake timed in the same run's rounds, else the first
/// report of backend `fake`) and to the raw
/// engine's, 8-client throughput, recall, batch search throughput and its gain over single
/// searches, `insert_many` rate with the backend's cost over the raw engine, and the index
/// build time. A figure a report lacks is `—`.
pub fn side_by_side(reports: &[BenchReport]) -> Vec<Vec<String>> {
    let fake_p50 =
        reports.iter().find(|r| r.backend == "fake").and_then(|r| r.find("knn", "store", 1)?.latency).map(|l| l.p50_ms);
    let missing = || "—".to_owned();
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => missing(),
    };
    reports
        .iter()
        .map(|r| {
            let p50 = |engine| r.find("knn", engine, 1).and_then(|m| m.latency).map(|l| l.p50_ms);
            let rate = |workload, engine| r.find(workload, engine, 1).map(|m| m.per_second);
            let store_p50 = p50("store");
            // The Fake timed in the same run, when the bench did (every store but the Fake).
            let fake_p50 = p50("fake").or(fake_p50);
            vec![
                r.name().to_owned(),
                store_p50.map_or_else(missing, |v| format!("{v:.3}")),
                ratio(store_p50, fake_p50),
                ratio(store_p50, p50("raw")),
                r.find("knn", "store", 8).map_or_else(missing, |m| format!("{:.0}", m.per_second)),
                r.find("knn", "store", 1).and_then(|m| m.recall).map_or_else(missing, |v| format!("{:.1}%", v * 100.0)),
                rate("knn_batch", "store").map_or_else(missing, |v| format!("{v:.0}")),
                ratio(rate("knn_batch", "store"), rate("knn_singles", "store")),
                rate("insert_many", "store").map_or_else(missing, |v| format!("{v:.0}")),
                ratio(rate("insert_many", "raw"), rate("insert_many", "store")),
                r.find("index_build", "store", 1).map_or_else(missing, |m| format!("{:.1}", m.seconds)),
            ]
        })
        .collect()
}

/// Progress of a run: a phase name, work done and total.
pub type BenchProgress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// The kind a run writes (dropped first, and afterwards).
pub fn bench_kind(options: &BenchOptions) -> String {
    format!("bench_{}d_{}", options.dim, options.metric)
}

/// A rate measurement: `operations` in `seconds` of wall time.
pub(crate) fn rate(
    workload: &str,
    engine: &str,
    clients: usize,
    n: usize,
    operations: u64,
    seconds: f64,
) -> Measurement {
    Measurement {
        workload: workload.to_owned(),
        engine: engine.to_owned(),
        clients,
        n,
        operations,
        seconds,
        per_second: operations as f64 / seconds.max(1e-9),
        latency: None,
        recall: None,
    }
}

/// A search measurement: [`rate`] with the latency percentiles of `latencies` and the recall.
pub(crate) fn search(
    workload: &str,
    engine: &str,
    clients: usize,
    n: usize,
    mut latencies: Vec<Duration>,
    seconds: f64,
    recall: Option<f64>,
) -> Measurement {
    let operations = latencies.len() as u64;
    Measurement {
        latency: Some(Latency::of(&mut latencies)),
        recall,
        ..rate(workload, engine, clients, n, operations, seconds)
    }
}

/// The share of the exact answers' ids found in `answers`, over all queries.
pub(crate) fn recall(answers: &[Vec<String>], exact: &[Vec<String>]) -> f64 {
    let (mut found, mut expected) = (0usize, 0usize);
    for (got, want) in answers.iter().zip(exact) {
        found += got.iter().filter(|id| want.contains(id)).count();
        expected += want.len();
    }
    if expected == 0 { 1.0 } else { found as f64 / expected as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(backend: &str, label: Option<&str>, measurements: Vec<Measurement>) -> BenchReport {
        BenchReport {
            backend: backend.to_owned(),
            label: label.map(str::to_owned),
            machine: Machine::current(),
            count: 1000,
            dim: 8,
            metric: Metric::L2,
            k: 10,
            seed: 1,
            measurements,
            memory: None,
            copy: None,
        }
    }

    fn knn(engine: &str, clients: usize, p50_ms: f64) -> Measurement {
        let latency = Latency { p50_ms, p95_ms: p50_ms, p99_ms: p50_ms, mean_ms: p50_ms };
        Measurement { latency: Some(latency), recall: Some(0.5), ..rate("knn", engine, clients, 1000, 100, 1.0) }
    }

    #[test]
    fn side_by_side_takes_ratios_to_the_fake_and_the_raw_engine() {
        let fake = report("fake", None, vec![knn("store", 1, 2.0)]);
        let sqlite = report(
            "sqlite_vec",
            Some("sqlite_vec (no copy)"),
            vec![
                knn("store", 1, 5.0),
                knn("raw", 1, 4.0),
                rate("knn_singles", "store", 1, 1000, 100, 2.0),
                rate("knn_batch", "store", 1, 1000, 100, 0.5),
                rate("insert_many", "store", 1, 1000, 1000, 2.0),
                rate("insert_many", "raw", 1, 1000, 1000, 1.0),
            ],
        );
        let timed_beside = report("pgvector", None, vec![knn("store", 1, 3.0), knn("fake", 1, 6.0)]);
        let rows = side_by_side(&[sqlite, fake, timed_beside]);
        // The Fake timed in the same run is preferred to the Fake's own report.
        assert_eq!(rows[2][..3], ["pgvector", "3.000", "0.50×"]);
        assert_eq!(
            rows[0],
            ["sqlite_vec (no copy)", "5.000", "2.50×", "1.25×", "—", "50.0%", "200", "4.00×", "500", "2.00×", "—"]
        );
        assert_eq!(rows[1], ["fake", "2.000", "1.00×", "—", "—", "50.0%", "—", "—", "—", "—", "—"]);
    }
}
