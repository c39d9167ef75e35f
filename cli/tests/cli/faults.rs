//! Faults around the embedded store, through the command-line tool: a location that is full
//! (a file-size limit that makes every write fail) gives a typed one-line error, never a crash,
//! and leaves what was acknowledged before intact. And a write by the tool, another process,
//! reaches the next search of a store that keeps an in-memory copy of the kind.

use std::process::{Command, Output};

fn under_file_size_limit(blocks: u64, args: &[&str]) -> Output {
    // `ulimit -f` caps the size of any file the process writes; with SIGXFSZ ignored (an ignored
    // signal stays ignored across exec) a write past it fails with EFBIG, like a full disk.
    let script = format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\"");
    let mut command = Command::new("sh");
    command.arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_vectorstore")).args(args).env("RUST_LOG", "off");
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("DECNET_VECTORSTORE_")) {
        command.env_remove(name);
    }
    command.output().expect("sh runs")
}

fn records(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("{{\"kind\":\"ja3\",\"id\":\"s{i:06}\",\"vector\":[{i},1,2,3,4,5,6,7]}}\n")).collect()
}

#[test]
fn a_full_location_is_a_typed_error_at_open_and_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.sqlite");
    let store = format!("sqlite_vec:{}", path.display());

    // Nothing can be written at all: opening (which creates the schema) fails cleanly.
    let output = under_file_size_limit(0, &["--store", &store, "kinds"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a clean exit, not a signal: {stderr}");
    assert!(stderr.starts_with("error: ") && stderr.trim().lines().count() == 1, "{stderr}");

    // Room for some data: an import that outgrows the limit fails with a typed error, and
    // every batch acknowledged before it is still there.
    std::fs::remove_file(&path).ok();
    let input = dir.path().join("records.jsonl");
    std::fs::write(&input, records(0, 20_000)).unwrap();
    let output = under_file_size_limit(
        600,
        &["--store", &store, "import", "--input", input.to_str().unwrap(), "--batch-size", "500"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains("was not written"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .args(["--json", "--store", &store, "kinds"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let kinds: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let count = kinds[0]["count"].as_u64().unwrap();
    assert!(count > 0 && count < 20_000 && count.is_multiple_of(500), "whole acknowledged batches survive: {kinds}");
    for i in [0, count - 1] {
        let id = format!("s{i:06}");
        let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
            .args(["--json", "--store", &store, "get", "ja3", &id])
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(record["vector"][0].as_f64(), Some(i as f64), "{record}");
    }
}

/// A store handle with an in-memory copy of a kind sees, in its next search, a write that the
/// `vectorstore` binary (another process) committed to the same file; and the reverse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_the_command_line_tool_is_in_the_next_search_of_a_running_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let config = vectorstore::Config::new("sqlite_vec").with_path(&path);
    let store = vectorstore::open(&config).unwrap();
    store.initialize().await.unwrap();
    let items: Vec<vectorstore::NewVector> =
        (0..300).map(|i| vectorstore::NewVector::new(format!("s{i:04}"), vec![i as f32 / 300.0; 8])).collect();
    store.insert_many("ja3", &items).await.unwrap();
    let far = [50.0f32; 8];
    assert_eq!(store.knn("ja3", &far, 1).await.unwrap()[0].id, "s0299");
    let health = store.health().await;
    assert!(health.detail.get("cache_vectors").is_some_and(|n| n == "300"), "the copy is loaded: {health:?}");

    let location = format!("sqlite_vec:{}", path.display());
    let vector = ["50"; 8].join(",");
    let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .args(["--store", &location, "insert", "ja3", "from-cli", &vector])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let hits = store.knn("ja3", &far, 1).await.unwrap();
    assert_eq!((hits[0].id.as_str(), hits[0].distance), ("from-cli", 0.0), "the other process's write is seen");

    store.insert("ja3", "from-store", &[60.0; 8], 1).await.unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .args(["--json", "--store", &location, "knn", "ja3", &["60"; 8].join(","), "-k", "1"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && stdout.contains("from-store"), "{stdout}");
    store.close().await.unwrap();
}
