//! `vectorstore copy --from sqlite_vec:OLD_FILE` on a file the original Python store wrote:
//! the records arrive intact (expected values from the fixture README's generating sequence),
//! and the file is not written to.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fixture the original store wrote, beside the checkout (`../shared/fixtures`); `None`
/// after saying SKIPPED when this checkout has none (a failure when DECNET_TEST_REQUIRE
/// lists sqlite_vec).
fn fixture(what: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/legacy-python-store.sqlite");
    if path.is_file() {
        return Some(path);
    }
    vectorstore_conformance::skip("sqlite_vec", what, &format!("no fixture at {}", path.display()));
    None
}

#[test]
fn copying_from_an_original_store_file_reads_it_without_writing() {
    let Some(fixture) = fixture("copying_from_an_original_store_file_reads_it_without_writing") else { return };
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.sqlite");
    std::fs::copy(&fixture, &old).unwrap();
    let before = std::fs::read(&old).unwrap();
    let modified = std::fs::metadata(&old).unwrap().modified().unwrap();
    let export = dir.path().join("copied.jsonl");

    let mut command = Command::new(env!("CARGO_BIN_EXE_vectorstore"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("DECNET_VECTORSTORE_")) {
        command.env_remove(name);
    }
    let output = command
        .env("RUST_LOG", "error")
        .args(["copy", "--from", &format!("sqlite_vec:{}", old.display()), "--to", "fake:", "--verify"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read(&old).unwrap(), before, "the source file's bytes are unchanged");
    assert_eq!(std::fs::metadata(&old).unwrap().modified().unwrap(), modified, "the source file was not written");

    // What the store serves from that file, exported the same read-only way.
    let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .env("RUST_LOG", "error")
        .env("DECNET_VECTORSTORE_SQLITE_VEC_READ_ONLY", "true")
        .args(["--store", &format!("sqlite_vec:{}", old.display()), "export", "--output"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read(&old).unwrap(), before, "exporting did not write either");
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(&export).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    // The README's sequence: ja3 session-0..4 (session-1 replaced by [9,9,9,9] v3), hassh
    // attacker-0..1 (attacker-2 deleted); cmd_ngram emptied.
    let mut expected: Vec<(String, String, Vec<f32>, u64)> = Vec::new();
    for i in 0..5u32 {
        let (vector, version) = if i == 1 {
            (vec![9.0, 9.0, 9.0, 9.0], 3)
        } else {
            (vec![i as f32 * 0.5, 1.0, -0.25, (f64::from(i) / 3.0) as f32], 1 + u64::from(i % 2))
        };
        expected.push(("ja3".into(), format!("session-{i}"), vector, version));
    }
    for i in 0..2u32 {
        expected.push(("hassh".into(), format!("attacker-{i}"), vec![(0.1 * f64::from(i)) as f32, 0.2, 0.3], 1));
    }
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let kinds: Vec<(&str, u64)> = records
        .iter()
        .filter(|r| r.get("id").is_none())
        .map(|r| (r["kind"].as_str().unwrap(), r["dim"].as_u64().unwrap()))
        .collect();
    assert_eq!(kinds, [("cmd_ngram", 2), ("hassh", 3), ("ja3", 4)], "every kind, the emptied one included");
    let mut got: Vec<(String, String, Vec<f32>, u64)> = records
        .iter()
        .filter(|r| r.get("id").is_some())
        .map(|r| {
            let vector = r["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
                vector,
                r["extractor_version"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (got, want) in got.iter().zip(&expected) {
        assert_eq!((&got.0, &got.1, got.3), (&want.0, &want.1, want.3));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.2), bits(&want.2), "{} {} is bit-exact", got.0, got.1);
    }
}
