//! Record ages from the command line: `expire`, write times shown by `get` and kept by
//! `export`/`import` and `copy`, and the same commands on a store file of the previous layout.

use std::path::Path;
use std::process::{Command, Output};

const DAY_MS: u64 = 86_400_000;

fn vectorstore(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vectorstore"));
    command.args(args);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("DECNET_VECTORSTORE_")) {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "error").output().expect("the binary runs")
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let output = vectorstore(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn failing(args: &[&str]) -> String {
    let output = vectorstore(args);
    assert_eq!(output.status.code(), Some(1), "{args:?} must fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn count(store: &str) -> u64 {
    let kinds = ok_json(&["--json", "--store", store, "kinds"]);
    kinds.as_array().unwrap().iter().map(|k| k["count"].as_u64().unwrap()).sum()
}

/// A store with `ja3` records 200, 10 and 0 days old and one `hassh` record 200 days old,
/// imported from a file that gives their write times.
fn aged_store(dir: &Path) -> String {
    let now = vectorstore::now_ms();
    let lines = [
        r#"{"kind":"ja3","dim":2,"metric":"l2"}"#.to_owned(),
        format!(r#"{{"kind":"ja3","id":"ancient","vector":[1,0],"written_at_ms":{}}}"#, now - 200 * DAY_MS),
        format!(r#"{{"kind":"ja3","id":"recent","vector":[0,1],"written_at_ms":{}}}"#, now - 10 * DAY_MS),
        r#"{"kind":"ja3","id":"today","vector":[1,1]}"#.to_owned(),
        format!(r#"{{"kind":"hassh","id":"ancient","vector":[1],"written_at_ms":{}}}"#, now - 200 * DAY_MS),
    ];
    let file = dir.join("aged.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let store = format!("sqlite_vec:{}", dir.join("v.sqlite").display());
    let output = vectorstore(&["--store", &store, "import", "-i", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    store
}

#[test]
fn expire_removes_records_older_than_an_age_after_validating_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = aged_store(dir.path());
    assert_eq!(count(&store), 4);
    for (age, named) in [
        ("180", "give a unit"),
        ("-5d", "negative"),
        ("soon", "unknown unit"),
        ("1.5.2d", "expected a duration"),
        ("5y", "unit"),
    ] {
        let err = failing(&["--store", &store, "expire", "--kind", "ja3", "--older-than", age, "--yes"]);
        assert!(err.contains(age) && err.contains(named), "{age}: {err}");
    }
    let err = failing(&["--store", &store, "expire", "--kind", "Ja3", "--older-than", "1d", "--yes"]);
    assert!(err.contains("invalid kind \"Ja3\""), "{err}");
    // The tests' standard input is not a terminal: without --yes nothing is removed.
    let err = failing(&["--store", &store, "expire", "--kind", "ja3", "--older-than", "1d"]);
    assert!(err.contains("pass --yes"), "{err}");
    assert_eq!(count(&store), 4, "refused calls removed nothing");

    let report = ok_json(&["--json", "--store", &store, "expire", "--kind", "ja3", "--older-than", "180d", "--yes"]);
    assert_eq!(report["removed"], 1, "{report}");
    let cutoff = report["written_before_ms"].as_u64().unwrap();
    let expected = vectorstore::now_ms() - 180 * DAY_MS;
    assert!(cutoff <= expected && expected - cutoff < 60_000, "cutoff {cutoff}, 180 days ago is {expected}");
    let report = ok_json(&["--json", "--store", &store, "expire", "--kind", "ja3", "--older-than", "2w", "--yes"]);
    assert_eq!(report["removed"], 0, "nothing is between 180 days and two weeks old");
    let output = vectorstore(&["--store", &store, "expire", "--kind", "ja3", "--older-than", "1w", "--yes"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("removed 1 records of kind ja3"), "{output:?}");
    let report =
        ok_json(&["--json", "--store", &store, "expire", "--kind", "nothing_here", "--older-than", "0s", "--yes"]);
    assert_eq!(report["removed"], 0, "an unknown kind expires nothing");
    assert!(ok_json(&["--json", "--store", &store, "get", "ja3", "today"]).is_object());
    assert!(
        ok_json(&["--json", "--store", &store, "get", "hassh", "ancient"]).is_object(),
        "another kind is untouched"
    );
    assert_eq!(count(&store), 2);
}

#[test]
fn write_times_are_shown_and_kept_by_export_import_and_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = aged_store(dir.path());
    let record = ok_json(&["--json", "--store", &store, "get", "ja3", "recent"]);
    let written = record["written_at_ms"].as_u64().unwrap();
    let output = vectorstore(&["--store", &store, "get", "ja3", "recent"]);
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(shown.contains("written_at") && shown.contains("Z"), "{shown}");
    for format in ["jsonl", "binary"] {
        let file = dir.path().join(format!("export.{format}"));
        let file = file.to_str().unwrap();
        let output = vectorstore(&["--store", &store, "export", "--format", format, "-o", file]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let other = format!("sqlite_vec:{}", dir.path().join(format!("{format}.sqlite")).display());
        let output = vectorstore(&["--store", &other, "import", "--format", format, "-i", file]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let again = ok_json(&["--json", "--store", &other, "get", "ja3", "recent"]);
        assert_eq!(again["written_at_ms"].as_u64(), Some(written), "{format} lost the write time");
    }
    let target = format!("sqlite_vec:{}", dir.path().join("copy.sqlite").display());
    let output = vectorstore(&["--json", "copy", "--from", &store, "--to", &target]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let again = ok_json(&["--json", "--store", &target, "get", "ja3", "recent"]);
    assert_eq!(again["written_at_ms"].as_u64(), Some(written), "copy lost the write time");
}

#[test]
fn commands_work_on_a_store_file_of_the_previous_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../backend-sqlite-vec/tests/fixtures/schema-v1.sqlite");
    std::fs::copy(fixture, &path).unwrap();
    let store = format!("sqlite_vec:{}", path.display());
    let before = vectorstore::now_ms();
    let kinds = ok_json(&["--json", "--store", &store, "kinds"]);
    let listed: Vec<(String, u64)> = kinds
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kind"].as_str().unwrap().to_owned(), k["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, [("emptied".to_owned(), 0), ("hassh".to_owned(), 1), ("ja3".to_owned(), 3)]);
    assert_eq!(kinds[2]["versions"], serde_json::json!({"1": 2, "2": 1}));
    let record = ok_json(&["--json", "--store", &store, "get", "ja3", "sessión-ü"]);
    assert_eq!(record["vector"], serde_json::json!([1.0, 2.0, 3.0]));
    let written = record["written_at_ms"].as_u64().unwrap();
    assert!(written >= before && written <= vectorstore::now_ms(), "upgraded records count as written now");
    let report = ok_json(&["--json", "--store", &store, "purge", "--kind", "ja3", "--extractor-version", "2", "--yes"]);
    assert_eq!(report["removed"], 1);
    let report = ok_json(&["--json", "--store", &store, "expire", "--kind", "ja3", "--older-than", "1d", "--yes"]);
    assert_eq!(report["removed"], 0, "the upgrade made them new");
    let report = ok_json(&["--json", "--store", &store, "expire", "--kind", "ja3", "--older-than", "0s", "--yes"]);
    assert_eq!(report["removed"], 2, "all written before now");
    assert_eq!(count(&store), 1);
}
