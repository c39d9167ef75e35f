//! The command line: the commands, their arguments and options.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vectorstore::transfer::Format;

/// Inspect and operate DECNET's vector store.
///
/// The store is the one `DECNET_VECTORSTORE_*` selects (see `vectorstore backends`), unless
/// `--store TYPE[:LOCATION]` names another.
#[derive(Debug, Parser)]
#[command(name = "vectorstore", version, about, long_about = None)]
pub struct Cli {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Use this store instead of the environment's: TYPE or TYPE:LOCATION, e.g.
    /// `sqlite_vec:/tmp/v.sqlite`, `pgvector:postgres://user@host/db`, `fake:`.
    #[arg(long, global = true, value_name = "TYPE[:LOCATION]")]
    pub store: Option<String>,

    /// Serve the store's metrics in the Prometheus text format at http://ADDR/metrics while the
    /// command runs (operations, latencies and errors by backend, operation and outcome), e.g.
    /// `127.0.0.1:9187`; useful with long commands such as `copy`, `bench` and `soak`.
    #[arg(long, global = true, value_name = "ADDR", env = "DECNET_VECTORSTORE_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the backends compiled into this build, with their capabilities.
    Backends,
    /// Show the store's health (exit status 1 when not ok). By default what is safe to publish:
    /// no path, URL, user or secret.
    Health {
        /// Also show where the store is (its path, or its URL without the password, and its
        /// schema or collection prefix) and a failure's full text.
        #[arg(long)]
        detailed: bool,
    },
    /// List kinds with dimension, metric, count and count per extractor version.
    Kinds,
    /// Remove every record of one extractor version from a kind. Asks for confirmation unless
    /// `--yes`; without `--yes`, refuses when standard input is not a terminal.
    Purge {
        /// The kind.
        #[arg(long)]
        kind: String,
        /// The extractor version whose records go (>= 1).
        #[arg(long)]
        extractor_version: u32,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Remove every record of a kind last written longer ago than an age (a retention policy,
    /// e.g. `--older-than 180d`). Asks for confirmation unless `--yes`; without `--yes`,
    /// refuses when standard input is not a terminal.
    Expire {
        /// The kind.
        #[arg(long)]
        kind: String,
        /// The age: a number with a unit, `s`, `m`, `h`, `d` or `w` (`180d`, `12h`, `2w`).
        #[arg(long, value_name = "AGE", allow_hyphen_values = true)]
        older_than: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Create a kind with a dimension and metric (or confirm it exists with them).
    CreateKind {
        /// The kind.
        kind: String,
        /// Its dimension.
        #[arg(long)]
        dim: usize,
        /// Its metric: l2, cosine or dot.
        #[arg(long, default_value = "l2")]
        metric: String,
    },
    /// Insert or replace one vector.
    Insert {
        /// The kind.
        kind: String,
        /// The id.
        id: String,
        /// The vector: `1,2,3` or `[1,2,3]`.
        #[arg(allow_hyphen_values = true)]
        vector: String,
        /// Version of the extractor that produced it.
        #[arg(long, default_value_t = 1)]
        extractor_version: u32,
    },
    /// Print one record (exit status 1 when absent).
    Get {
        /// The kind.
        kind: String,
        /// The id.
        id: String,
    },
    /// Delete one record (exit status 1 when absent).
    Delete {
        /// The kind.
        kind: String,
        /// The id.
        id: String,
    },
    /// Drop a kind with all its vectors (exit status 1 when absent).
    DropKind {
        /// The kind.
        kind: String,
    },
    /// Nearest neighbours of a vector within a kind, or of many (`--queries`, in batches).
    Knn {
        /// The kind.
        kind: String,
        /// The query vector: `1,2,3` or `[1,2,3]`.
        #[arg(allow_hyphen_values = true, required_unless_present = "queries", conflicts_with = "queries")]
        vector: Option<String>,
        /// Many queries from this JSON Lines file (`-`: standard input), one per line: an array of
        /// numbers, or an object with `vector`. Searched in batches; with `--json`, one line per
        /// query, `{"query": N, "neighbors": [...]}`.
        #[arg(long, value_name = "FILE")]
        queries: Option<PathBuf>,
        /// How many neighbours.
        #[arg(short, long, default_value_t = 10)]
        k: usize,
        /// Only vectors of this extractor version.
        #[arg(long)]
        extractor_version: Option<u32>,
        /// Only neighbours at this distance or closer.
        #[arg(long)]
        max_distance: Option<f32>,
        /// Answer with the k nearest distinct vectors: each row gives a vector's distance, how
        /// many records share it, and its first ids (see --ids), so that a fingerprint shared by
        /// thousands of sessions stands out from a rare one.
        #[arg(long, conflicts_with = "queries")]
        distinct: bool,
        /// With --distinct: how many ids of each vector to show, smallest first (at most 1000).
        #[arg(long = "ids", value_name = "N", requires = "distinct", default_value_t = 5)]
        ids_per_vector: usize,
    },
    /// Write the store (or some kinds) to a file: JSON Lines, or the compact binary form.
    Export {
        /// Only this kind (repeatable).
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Output file (standard output when absent).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// File format.
        #[arg(long, value_enum, default_value_t = FileFormat::Jsonl)]
        format: FileFormat,
    },
    /// Read a file written by `export` into the store (see the README for what a bad entry leaves).
    Import {
        /// Input file (standard input when absent).
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Records per batch.
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        /// File format.
        #[arg(long, value_enum, default_value_t = FileFormat::Jsonl)]
        format: FileFormat,
    },
    /// Copy every kind and record from one store to another (resumable; the source is only read).
    Copy {
        /// The source, TYPE[:LOCATION] (default: the environment's store, or --store).
        #[arg(long)]
        from: Option<String>,
        /// The target, TYPE[:LOCATION].
        #[arg(long)]
        to: String,
        /// Only this kind (repeatable).
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Records per batch.
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        /// Drop target kinds whose dimension or metric differs instead of refusing.
        #[arg(long)]
        replace_kind: bool,
        /// Afterwards compare counts, checksums and sampled searches; exit status 1 on any difference.
        #[arg(long)]
        verify: bool,
    },
    /// Compare two stores: counts, checksums and sampled searches (exit status 1 on any difference).
    Verify {
        /// The reference store, TYPE[:LOCATION] (default: the environment's store, or --store).
        #[arg(long)]
        from: Option<String>,
        /// The store to check, TYPE[:LOCATION].
        #[arg(long)]
        to: String,
        /// Only this kind (repeatable).
        #[arg(long = "kind")]
        kinds: Vec<String>,
    },
    /// Run the conformance suite against the store, in isolated namespaces that are removed
    /// afterwards (exit status 1 when a case fails).
    Conformance {
        /// Only cases whose name contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Benchmark the store (and the raw engine beside it), compare reports, or soak it.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        /// `report` or `soak`; without one, run the benchmark.
        #[command(subcommand)]
        action: Option<BenchAction>,
        /// Options of a benchmark run.
        #[command(flatten)]
        run: BenchRun,
    },
    /// Re-identify synthetic attackers by their fingerprints, on the embedded default store in
    /// a temporary file (or on `--store`).
    Demo {
        /// Number of attackers.
        #[arg(long, default_value_t = 40)]
        attackers: usize,
        /// Sessions per attacker.
        #[arg(long, default_value_t = 12)]
        sessions: usize,
        /// Seed of the synthetic population.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Keep the demo's sqlite file here instead of a temporary directory.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}

/// The `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchAction {
    /// Print and plot reports saved with `bench --output`, side by side.
    Report {
        /// JSON reports.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write an SVG chart: latency vs vectors when the reports have scaling figures, else p50/p99 per store.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Many clients mixing every operation for a while, then a full consistency check against
    /// a Fake replay (exit status 1 on any error or difference).
    Soak {
        /// How long to run.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seed of the operation mix.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Options of a benchmark run.
#[derive(Debug, clap::Args)]
pub struct BenchRun {
    /// Workloads, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "insert,knn,mixed")]
    pub workload: Vec<BenchWorkload>,
    /// Vectors loaded through insert_many.
    #[arg(long, default_value_t = 100_000)]
    pub count: usize,
    /// Their dimension (32, 128, 384, ...).
    #[arg(long, default_value_t = 128)]
    pub dim: usize,
    /// The kind's metric.
    #[arg(long, default_value = "l2")]
    pub metric: String,
    /// Vectors per insert_many call.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Vectors written through single inserts.
    #[arg(long, default_value_t = 10_000)]
    pub singles: usize,
    /// Searches per client configuration.
    #[arg(long, default_value_t = 1000)]
    pub queries: usize,
    /// Neighbours per search.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Operations of the mixed workload.
    #[arg(long, default_value_t = 10_000)]
    pub mixed_ops: usize,
    /// Sizes for the latency-vs-vectors figures, comma-separated (e.g. 10000,25000,50000,100000).
    #[arg(long, value_delimiter = ',')]
    pub scaling: Vec<usize>,
    /// Seed of the data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Group sizes of the ties workload, comma-separated: each a kind where that many records
    /// share one vector, among as many others.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    pub tie_groups: Vec<usize>,
    /// Clusters of the generated data (default: one per 1,000 vectors, 16 to 256); 1 gives
    /// one Gaussian cloud.
    #[arg(long, default_value_t = 0)]
    pub clusters: usize,
    /// Put every stored vector at the same distance from the origin and the queries next to
    /// it: data no bound separates (a pruned exact search's worst case).
    #[arg(long)]
    pub equidistant: bool,
    /// Groups of identical vectors (Zipf-distributed sizes) holding half the records of the
    /// zipf workload's kind.
    #[arg(long, default_value_t = 500)]
    pub zipf_groups: usize,
    /// Skip the raw-engine baseline.
    #[arg(long)]
    pub no_raw: bool,
    /// Also save the report as JSON here (for `bench report`).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Write an SVG chart of latency vs vectors (needs --scaling).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// The report's name in `bench report` tables and charts (default: the backend's), e.g.
    /// to compare one backend under two settings.
    #[arg(long)]
    pub label: Option<String>,
}

/// A benchmark workload on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchWorkload {
    /// Batched and single inserts.
    Insert,
    /// Searches with 1 and 8 clients.
    Knn,
    /// 90% searches, 10% inserts.
    Mixed,
    /// All queries in `knn_batch` calls against one `knn` call each, with their ratio.
    Batch,
    /// Searches at a group of identical vectors and away from it (sizes: --tie-groups).
    Ties,
    /// Recall and load rate with half of --count records in --zipf-groups groups of identical
    /// vectors (Zipf sizes), beside a plain kind of the same size, against the Fake.
    Zipf,
}

/// A file format of `export` and `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// JSON Lines, one object per line.
    Jsonl,
    /// Compact little-endian frames.
    Binary,
}

impl From<FileFormat> for Format {
    fn from(format: FileFormat) -> Self {
        match format {
            FileFormat::Jsonl => Format::JsonLines,
            FileFormat::Binary => Format::Binary,
        }
    }
}
