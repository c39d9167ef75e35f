//! Durability and concurrency: acknowledged writes survive `kill -9`, two processes share one
//! file, and many tasks share one store without a single error.
//!
//! The multi-process tests run this test binary again as a child process, selecting
//! [`child_process_entry_point`] with `--exact` and telling it what to do through
//! `DECNET_SQLITE_VEC_TEST_CHILD`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vectorstore_core::{Config, KnnOptions, Metric, NewVector, VectorStore};
use vectorstore_sqlite_vec::{NAME, SqliteVecStore, purge};

/// Selects the child's job: `insert|<path>`, `share|<path>|<prefix>`,
/// `open|<path>|<prefix>|<start, unix ms>` or `write|<path>|<kind>|<id>|<value>`.
const CHILD_VAR: &str = "DECNET_SQLITE_VEC_TEST_CHILD";

/// How long a child may take before the test gives up on it.
const CHILD_DEADLINE: Duration = Duration::from_secs(180);

/// Acknowledged writes the kill test waits for before killing the child.
const ACKS_BEFORE_KILL: usize = 400;

const DIM: usize = 8;

/// The vector written for sequence number `n`: distinct per `n`, with `-0.0`, a subnormal and
/// arbitrary bit patterns, so a lossy round trip would show.
fn vector_for(n: u64) -> Vec<f32> {
    let mixed = |salt: u64| {
        let bits = (n.wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32;
        // Clear the top exponent bit: always finite.
        f32::from_bits(bits & 0xbfff_ffff)
    };
    vec![n as f32, -0.0, f32::from_bits(1 + (n as u32 % 1000)), mixed(1), mixed(2), mixed(3), -(n as f32), 0.5]
}

fn bits(vector: &[f32]) -> Vec<u32> {
    vector.iter().map(|v| v.to_bits()).collect()
}

use crate::common::fresh;

/// The entry point of the child processes the other tests start; it does nothing (and passes)
/// when run by a plain `cargo test`, where `DECNET_SQLITE_VEC_TEST_CHILD` is unset.
#[test]
fn child_process_entry_point() {
    let Ok(job) = std::env::var(CHILD_VAR) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let parts: Vec<&str> = job.split('|').collect();
    match parts.as_slice() {
        ["insert", path] => runtime.block_on(insert_until_killed(Path::new(path))),
        ["share", path, prefix] => runtime.block_on(share_file(Path::new(path), prefix)),
        ["write", path, kind, id, value] => runtime.block_on(write_one(Path::new(path), kind, id, value)),
        ["open", path, prefix, start] => {
            wait_until(start.parse().expect("start time"));
            runtime.block_on(open_and_write_once(Path::new(path), prefix));
        }
        _ => panic!("unknown child job {job:?}"),
    }
}

/// Child job: inserts forever, printing `ack <n>` once each insert has returned Ok.
async fn insert_until_killed(path: &Path) {
    let store = SqliteVecStore::from_config(&Config::new(NAME).with_path(path)).expect("open");
    store.initialize().await.expect("initialize");
    let mut out = std::io::stdout();
    let mut n = 0u64;
    loop {
        if n % 10 == 5 {
            // Every tenth write is a batch, acknowledged as a whole.
            let batch: Vec<NewVector> = (n..n + 3).map(|m| NewVector::new(format!("d-{m}"), vector_for(m))).collect();
            store.insert_many("durable", &batch).await.expect("insert_many");
            for m in n..n + 3 {
                writeln!(out, "ack {m}").expect("stdout");
            }
            n += 3;
        } else {
            store.insert("durable", &format!("d-{n}"), &vector_for(n), 1).await.expect("insert");
            writeln!(out, "ack {n}").expect("stdout");
            n += 1;
        }
        out.flush().expect("stdout");
    }
}

/// Child job: writes and reads the shared file, panicking (failing the process) on any error.
async fn share_file(path: &Path, prefix: &str) {
    let store = SqliteVecStore::from_config(&Config::new(NAME).with_path(path)).expect("open");
    store.initialize().await.expect("initialize");
    exercise_shared_store(&store, prefix).await;
    store.close().await.expect("close");
}

/// Child job: writes one record of `kind` whose every component is `value`, then exits.
async fn write_one(path: &Path, kind: &str, id: &str, value: &str) {
    let store = SqliteVecStore::from_config(&Config::new(NAME).with_path(path)).expect("open");
    store.initialize().await.expect("initialize");
    let dim = store.kinds().await.expect("kinds").into_iter().find(|k| k.kind == kind).expect("kind exists").dim;
    let value: f32 = value.parse().expect("value");
    store.insert(kind, id, &vec![value; dim], 1).await.expect("insert");
    store.close().await.expect("close");
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Sleeps until the wall clock reaches `start` (unix ms), so that processes started one after
/// another act at the same moment.
fn wait_until(start: u64) {
    while unix_ms() < start {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Child job: opens the (possibly new) file, creates a kind and writes one vector.
async fn open_and_write_once(path: &Path, prefix: &str) {
    let store = SqliteVecStore::from_config(&Config::new(NAME).with_path(path)).expect("open");
    store.initialize().await.expect("initialize");
    store.create_kind("raced", DIM, Metric::L2).await.expect("create_kind");
    store.insert("raced", prefix, &vector_for(1), 1).await.expect("insert");
    store.close().await.expect("close");
}

/// Writes `SHARED_WRITES` vectors under `prefix` into kind `shared`, with searches, reads and
/// scans in between; every call must succeed.
async fn exercise_shared_store(store: &dyn VectorStore, prefix: &str) {
    store.create_kind("shared", DIM, Metric::L2).await.expect("create_kind");
    let mut n = 0u64;
    while n < SHARED_WRITES {
        if n.is_multiple_of(10) {
            let batch: Vec<NewVector> =
                (n..n + 5).map(|m| NewVector::new(format!("{prefix}-{m}"), vector_for(m))).collect();
            store.insert_many("shared", &batch).await.expect("insert_many");
            n += 5;
        } else {
            store.insert("shared", &format!("{prefix}-{n}"), &vector_for(n), 1).await.expect("insert");
            n += 1;
        }
        let own = format!("{prefix}-{}", n - 1);
        let record = store.get("shared", &own).await.expect("get").expect("read after own write");
        assert_eq!(bits(&record.vector), bits(&vector_for(n - 1)));
        let hits = store.knn_with("shared", &vector_for(n - 1), &KnnOptions::new(3)).await.expect("knn");
        assert!(!hits.is_empty());
        if n.is_multiple_of(25) {
            store.scan("shared", None, 50).await.expect("scan");
            store.kinds().await.expect("kinds");
        }
    }
}

const SHARED_WRITES: u64 = 150;

pub(crate) fn spawn_child(job: &str) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    Command::new(exe)
        .args(["--exact", "durability::child_process_entry_point", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, job)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Forwards the child's stdout lines to a channel, so the parent can wait with a deadline.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// What a finished child printed, for failure messages.
fn output_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
    }
    text
}

fn ack(line: &str) -> Option<u64> {
    line.strip_prefix("ack ")?.trim().parse().ok()
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let (config, _scratch) = fresh("durability_kill");
    let path = config.path.clone().expect("path");
    let mut child = spawn_child(&format!("insert|{}", path.display()));
    let lines = lines_of(&mut child);
    let mut acked = Vec::new();
    let deadline = Instant::now() + CHILD_DEADLINE;
    while acked.len() < ACKS_BEFORE_KILL {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => acked.extend(ack(&line)),
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("the child acknowledged only {} writes in {CHILD_DEADLINE:?}", acked.len());
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait().expect("wait");
                panic!("the child stopped after {} acks ({status}): {}", acked.len(), output_of(&mut child));
            }
        }
    }
    // SIGKILL, mid-stream: the child is inside its insert loop.
    child.kill().expect("kill -9");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the child was killed, not finished: {status}");
    // Acks already written to the pipe before the kill were acknowledged too.
    acked.extend(lines.iter().filter_map(|line| ack(&line)));

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteVecStore::from_config(&config).expect("open");
        store.initialize().await.expect("reopen after kill -9");
        for n in &acked {
            let record = store
                .get("durable", &format!("d-{n}"))
                .await
                .expect("get")
                .unwrap_or_else(|| panic!("acknowledged write d-{n} was lost ({} acknowledged)", acked.len()));
            assert_eq!(bits(&record.vector), bits(&vector_for(*n)), "d-{n} changed");
        }
        let count = store.kinds().await.expect("kinds")[0].count;
        assert!(count >= acked.len() as u64, "{count} stored, {} acknowledged", acked.len());
        store.close().await.expect("close");
        purge(config).await.expect("purge");
    });
}

#[test]
fn two_processes_share_one_file() {
    let (config, _scratch) = fresh("durability_share");
    let path = config.path.clone().expect("path");
    // Both children find no file and race to create it; the parent writes at the same time.
    let mut children: Vec<(&str, Child)> = ["left", "right"]
        .into_iter()
        .map(|prefix| (prefix, spawn_child(&format!("share|{}|{prefix}", path.display()))))
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteVecStore::from_config(&config).expect("open");
        store.initialize().await.expect("initialize");
        exercise_shared_store(&store, "parent").await;
        store.close().await.expect("close");
    });
    for (prefix, child) in &mut children {
        expect_success(&format!("child {prefix}"), child);
    }
    runtime.block_on(async {
        let store = SqliteVecStore::from_config(&config).expect("open");
        store.initialize().await.expect("initialize");
        for prefix in ["left", "right", "parent"] {
            for n in 0..SHARED_WRITES {
                let record = store
                    .get("shared", &format!("{prefix}-{n}"))
                    .await
                    .expect("get")
                    .unwrap_or_else(|| panic!("{prefix}-{n} missing"));
                assert_eq!(bits(&record.vector), bits(&vector_for(n)));
            }
        }
        assert_eq!(store.kinds().await.expect("kinds")[0].count, 3 * SHARED_WRITES);
        store.close().await.expect("close");
        purge(config).await.expect("purge");
    });
}

/// Waits for a child with the test's deadline and requires it to have succeeded.
pub(crate) fn expect_success(what: &str, child: &mut Child) {
    let deadline = Instant::now() + CHILD_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish in {CHILD_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{what} failed ({status}): {}", output_of(child));
}

#[test]
fn processes_racing_to_create_a_new_file_all_succeed() {
    const PROCESSES: usize = 4;
    for round in 0..3 {
        let (config, _scratch) = fresh(&format!("durability_race{round}"));
        let path = config.path.clone().expect("path");
        // All of them open the missing file at the same moment, once every process has started.
        let start = unix_ms() + 1_500;
        let mut children: Vec<Child> =
            (0..PROCESSES).map(|p| spawn_child(&format!("open|{}|p{p}|{start}", path.display()))).collect();
        for (p, child) in children.iter_mut().enumerate() {
            expect_success(&format!("round {round}, process {p}"), child);
        }
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let store = SqliteVecStore::from_config(&config).expect("open");
            store.initialize().await.expect("initialize");
            let kinds = store.kinds().await.expect("kinds");
            assert_eq!(kinds.len(), 1, "{kinds:?}");
            assert_eq!(kinds[0].count, PROCESSES as u64, "{kinds:?}");
            store.close().await.expect("close");
            purge(config).await.expect("purge");
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_share_one_store_without_errors() {
    const TASKS: usize = 32;
    const ROUNDS: usize = 30;
    // A small read pool makes tasks queue for connections too.
    let (config, _scratch) = fresh("durability_tasks");
    let config = config.with_option(NAME, "read_pool_size", "2");
    let store: Arc<dyn VectorStore> = vectorstore_core::open_with_fallback(&config, &[]).expect("open");
    store.initialize().await.expect("initialize");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let private = format!("private_{task}");
            for round in 0..ROUNDS {
                let n = (task * ROUNDS + round) as u64;
                let id = format!("t{task}-{round}");
                let what = |op: &str| format!("task {task} round {round}: {op}");
                let ok = |result: vectorstore_core::Result<()>, op: &str| {
                    if let Err(err) = result {
                        panic!("{}: {err}", what(op));
                    }
                };
                match round % 6 {
                    0 => ok(
                        store.insert_many("common", &[NewVector::new(id.clone(), vector_for(n))]).await,
                        "insert_many",
                    ),
                    _ => ok(store.insert("common", &id, &vector_for(n), 1).await, "insert"),
                }
                ok(store.get("common", &id).await.map(|r| assert!(r.is_some())), "get");
                ok(store.knn("common", &vector_for(n), 5).await.map(|_| ()), "knn");
                ok(store.insert(&private, "x", &[round as f32], 1).await, "insert private");
                if round % 5 == 4 {
                    ok(store.drop_kind(&private).await.map(|_| ()), "drop_kind");
                    ok(store.create_kind(&private, 1, Metric::L2).await.map(|_| ()), "create_kind");
                }
                if round.is_multiple_of(7) {
                    ok(store.kinds().await.map(|_| ()), "kinds");
                    ok(store.scan("common", None, 20).await.map(|_| ()), "scan");
                    assert!(store.health().await.ok, "{}", what("health"));
                }
                if round % 9 == 8 {
                    ok(store.delete("common", &id).await.map(|deleted| assert!(deleted)), "delete");
                    ok(store.insert("common", &id, &vector_for(n), 1).await, "insert again");
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task failed");
    }
    let common = store.kinds().await.expect("kinds").into_iter().find(|k| k.kind == "common").expect("common");
    assert_eq!(common.count, (TASKS * ROUNDS) as u64);
    store.close().await.expect("close");
    purge(config).await.expect("purge");
}
