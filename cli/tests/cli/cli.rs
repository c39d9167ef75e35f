//! The `vectorstore` binary: JSON output, exit statuses, and one-line errors.

use std::process::{Command, Output};

fn vectorstore(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vectorstore"));
    command.args(args);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("DECNET_VECTORSTORE_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).env("RUST_LOG", "error");
    command.output().expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn backends_lists_every_compiled_backend_as_json() {
    let output = vectorstore(&["backends", "--json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let list: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    for expected in vectorstore::compiled_backends() {
        assert!(names.contains(&expected), "{names:?} lacks {expected}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn health_reports_json_and_exit_status() {
    let output = vectorstore(&["--json", "--store", "fake:", "health"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let health: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(health["ok"], true);
    assert_eq!(health["backend"], "fake");
    assert_eq!(health["vectors"], 0);

    let output = vectorstore(&["health"], &[("DECNET_VECTORSTORE_ENABLED", "false")]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("null"));
}

#[test]
fn errors_are_one_line_and_exit_non_zero() {
    let output = vectorstore(&["kinds"], &[("DECNET_VECTORSTORE_TYPE", "chroma")]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: config: Unsupported vectorstore type \"chroma\""), "{err}");

    let output = vectorstore(&["--store", "fake:", "insert", "Bad Kind", "id", "1,2"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("invalid kind \"Bad Kind\""), "{}", stderr(&output));

    let output = vectorstore(&["--store", "fake:", "knn", "ja3", "1,zebra"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("zebra"), "{}", stderr(&output));

    let output = vectorstore(&["--store", "fake:", "get", "ja3", "nobody"], &[]);
    assert_eq!(output.status.code(), Some(1), "a missing record is exit status 1");
}

#[test]
fn demo_and_conformance_run_from_the_command_line() {
    let output = vectorstore(&["--json", "demo", "--attackers", "12", "--sessions", "6"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["attackers"], 12);
    assert!(report["combined_accuracy"].as_f64().unwrap() > 0.5, "{report}");

    let output = vectorstore(&["--json", "--store", "fake:", "conformance", "--filter", "ties"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(table["cases"][0]["case"], "ties_break_by_id");
    assert_eq!(table["cases"][0]["outcome"], "pass");
}
