//! The command-line tool on the real stores CI has (the embedded sqlite file and a PostgreSQL
//! with pgvector): a 50,000-vector, 3-kind store copied sqlite_vec → pgvector → fake with
//! verification, an interrupted copy resumed, a dimension clash refused, the benchmark on every
//! store, and a soak on sqlite_vec and pgvector.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vectorstore::transfer::{CopyOptions, copy, verify};
use vectorstore::{Config, FakeVectorStore, Metric, NewVector, VectorStore};
use vectorstore_conformance::data::clustered;
use vectorstore_conformance::{skip, unique_tag};
use vectorstore_testkit::servers::postgres;

/// Seconds each soak runs: `DECNET_TEST_SOAK_SECONDS`, 10 by default (CI sets 60).
fn soak_seconds() -> u64 {
    std::env::var("DECNET_TEST_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10)
}

fn cli(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vectorstore"));
    command.args(args).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("DECNET_VECTORSTORE_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    cli(args, env).output().expect("the binary runs")
}

#[track_caller]
fn succeeded(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

/// A PostgreSQL URL and a schema of its own for this test, or None after reporting the skip.
async fn postgres_schema(what: &str) -> Option<(String, String)> {
    match postgres::shared().await {
        Ok(server) => Some((server.url().to_owned(), format!("vs_{}", unique_tag()))),
        Err(reason) => {
            skip("pgvector", what, &reason.0);
            None
        }
    }
}

async fn purge_schema(url: &str, schema: &str) {
    let config = postgres::test_config(url).with_option("pgvector", "schema", schema);
    let registration = vectorstore::require_backend("pgvector").expect("pgvector is compiled in");
    (registration.purge)(config).await.expect("schema removed");
}

const KINDS: [(&str, usize, Metric, usize); 3] = [
    ("ja3", 32, Metric::L2, 25_000),
    ("hassh", 16, Metric::Cosine, 15_000),
    ("keystroke_dwell", 64, Metric::L2, 10_000),
];

/// A sqlite store of 50,000 vectors in 3 kinds.
async fn fixture_sqlite(path: &Path) {
    let store = vectorstore::open(&Config::new("sqlite_vec").with_path(path)).unwrap();
    store.initialize().await.unwrap();
    for (seed, (kind, dim, metric, count)) in KINDS.into_iter().enumerate() {
        store.create_kind(kind, dim, metric).await.unwrap();
        let (vectors, _) = clustered(seed as u64, count, dim, 40, 1.0);
        for (c, chunk) in vectors.chunks(5000).enumerate() {
            let items: Vec<NewVector> = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    NewVector::new(format!("{kind}-{:06}", c * 5000 + i), v.clone())
                        .with_extractor_version(1 + (i % 2) as u32)
                })
                .collect();
            store.insert_many(kind, &items).await.unwrap();
        }
    }
    store.close().await.unwrap();
}

/// The CLI's `--store` for the test server at `url` and the variables it needs: the schema,
/// and leave to send the password without TLS (see `postgres::test_config`).
fn pg_store(url: &str, schema: &str) -> (String, [(&'static str, String); 2]) {
    let (trust, yes) = postgres::PLAINTEXT_ENV;
    (format!("pgvector:{url}"), [("DECNET_VECTORSTORE_PGVECTOR_SCHEMA", schema.to_owned()), (trust, yes.to_owned())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_round_trip_sqlite_pgvector_fake_with_resume_and_clash() {
    let Some((url, schema)) = postgres_schema("copy_round_trip").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite: PathBuf = dir.path().join("source.sqlite");
    fixture_sqlite(&sqlite).await;
    let from = format!("sqlite_vec:{}", sqlite.display());
    let (to, env) = pg_store(&url, &schema);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // A dimension clash on the target stops the copy before anything is written.
    let target = vectorstore::open(&postgres::test_config(&url).with_option("pgvector", "schema", &schema)).unwrap();
    target.initialize().await.unwrap();
    target.create_kind("hassh", 8, Metric::Cosine).await.unwrap();
    let output = run(&["copy", "--from", &from, "--to", &to], &env);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("dimension") && stderr.contains("hassh"), "{stderr}");
    let kinds = target.kinds().await.unwrap();
    assert_eq!(kinds.len(), 1, "nothing was written: {kinds:?}");
    target.drop_kind("hassh").await.unwrap();

    // Interrupted: kill the copy once part of it landed, then run it again to the end.
    let mut child =
        cli(&["copy", "--from", &from, "--to", &to], &env).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let landed: u64 = target.kinds().await.unwrap().iter().map(|k| k.count).sum();
        if landed >= 5000 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let landed: u64 = target.kinds().await.unwrap().iter().map(|k| k.count).sum();
    assert!(landed > 0 && landed < 50_000, "the interruption came mid-copy ({landed} landed)");

    let report = succeeded(&run(&["--json", "copy", "--from", &from, "--to", &to, "--verify"], &env));
    let copied = &report["copy"]["kinds"];
    let written: u64 = copied.as_array().unwrap().iter().map(|k| k["written"].as_u64().unwrap()).sum();
    let unchanged: u64 = copied.as_array().unwrap().iter().map(|k| k["unchanged"].as_u64().unwrap()).sum();
    assert_eq!(written + unchanged, 50_000, "{report}");
    assert!(unchanged > 0, "the resumed copy skipped what had landed: {report}");
    // pgvector builds each kind's index once after the load; the copy reports that time apart.
    let built: Vec<u64> = copied.as_array().unwrap().iter().map(|k| k["settle_ms"].as_u64().unwrap()).collect();
    assert!(built.iter().sum::<u64>() > 0, "no index build reported: {report}");
    assert!(
        report["verify"]["kinds"].as_array().unwrap().iter().all(|k| k["source_count"] == k["target_count"]),
        "{report}"
    );

    // pgvector → fake through the library, verified against the sqlite original.
    let source = vectorstore::open(&Config::new("sqlite_vec").with_path(&sqlite)).unwrap();
    source.initialize().await.unwrap();
    let fake = FakeVectorStore::new();
    fake.initialize().await.unwrap();
    copy(&*target, &fake, &CopyOptions::default(), &mut |_| {}).await.unwrap();
    let checked = verify(&*source, &fake, &[]).await.unwrap();
    assert!(checked.ok(), "{checked:?}");
    assert_eq!(checked.kinds.iter().map(|k| k.target_count).sum::<u64>(), 50_000);
    let metrics: Vec<(String, Metric)> = fake.kinds().await.unwrap().into_iter().map(|k| (k.kind, k.metric)).collect();
    assert!(metrics.contains(&("hassh".to_owned(), Metric::Cosine)), "{metrics:?}");
    target.close().await.unwrap();
    purge_schema(&url, &schema).await;
}

fn bench_args(store: &str) -> Vec<String> {
    [
        "--json",
        "--store",
        store,
        "bench",
        "--count",
        "3000",
        "--dim",
        "32",
        "--singles",
        "200",
        "--queries",
        "50",
        "--mixed-ops",
        "200",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_runs_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite_vec:{}", dir.path().join("bench.sqlite").display());
    let mut stores: Vec<(String, Vec<(&str, String)>)> = vec![("fake:".into(), vec![]), (sqlite, vec![])];
    let pg = postgres_schema("bench_runs_on_every_store").await;
    if let Some((url, schema)) = &pg {
        let (spec, env) = pg_store(url, schema);
        stores.push((spec, env.to_vec()));
    }
    for (store, env) in &stores {
        let args = bench_args(store);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let report = succeeded(&run(&args, &env));
        let knn = report["measurements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["workload"] == "knn" && m["engine"] == "store")
            .unwrap();
        assert!(knn["recall"].as_f64().unwrap() >= 0.9, "{store}: {knn}");
        assert_eq!(report["count"], 3000);
    }
    if let Some((url, schema)) = pg {
        purge_schema(&url, &schema).await;
    }
}

/// With only searches measured, the raw engine's copy of the data is loaded untimed, so its
/// searches find what the store's find (an empty raw table would give recall 0).
#[test]
fn a_search_only_bench_still_loads_the_raw_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite_vec:{}", dir.path().join("bench.sqlite").display());
    let mut args = bench_args(&sqlite);
    args.extend(["--workload".to_owned(), "knn".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = succeeded(&run(&args, &[]));
    let measurements = report["measurements"].as_array().unwrap();
    assert!(measurements.iter().all(|m| m["workload"] != "insert_many"), "no timed inserts: {measurements:?}");
    let raw = measurements.iter().find(|m| m["workload"] == "knn" && m["engine"] == "raw").expect("a raw knn figure");
    assert!(raw["recall"].as_f64().unwrap() >= 0.9, "{raw}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // The soak's operation counts belong in the test output.
async fn soak_sqlite_and_pgvector_lose_nothing() {
    let seconds = soak_seconds().to_string();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite_vec:{}", dir.path().join("soak.sqlite").display());
    let mut stores: Vec<(String, Vec<(&str, String)>)> = vec![(sqlite, vec![])];
    let pg = postgres_schema("soak_sqlite_and_pgvector").await;
    if let Some((url, schema)) = &pg {
        let (spec, env) = pg_store(url, schema);
        stores.push((spec, env.to_vec()));
    }
    for (store, env) in &stores {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let report = succeeded(&run(&["--json", "--store", store, "bench", "soak", "--seconds", &seconds], &env));
        assert_eq!(report["errors"], 0, "{store}: {report}");
        assert!(report["mismatches"].as_array().unwrap().is_empty(), "{store}: {report}");
        assert!(report["records"].as_u64().unwrap() > 0, "{store}: {report}");
        eprintln!("soak of {store} for {seconds} s: {}", report["operations"]);
    }
    if let Some((url, schema)) = pg {
        purge_schema(&url, &schema).await;
    }
}
