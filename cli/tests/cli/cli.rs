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

/// A sqlite store in a fresh temporary directory with kind `ja3`: versions 1 (3 records) and 2
/// (2 records).
fn versioned_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite_vec:{}", dir.path().join("v.sqlite").display());
    for (id, version) in [("a", "1"), ("b", "1"), ("c", "1"), ("d", "2"), ("e", "2")] {
        let output = vectorstore(&["--store", &store, "insert", "ja3", id, "1,2", "--extractor-version", version], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    (dir, store)
}

#[test]
fn kinds_shows_the_count_of_each_extractor_version() {
    let (_dir, store) = versioned_store();
    let output = vectorstore(&["--json", "--store", &store, "kinds"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let kinds: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(kinds[0]["count"], 5);
    assert_eq!(kinds[0]["versions"], serde_json::json!({"1": 3, "2": 2}));
    let output = vectorstore(&["--store", &store, "kinds"], &[]);
    assert!(stdout(&output).contains("v1: 3, v2: 2"), "{}", stdout(&output));
}

#[test]
fn purge_asks_unless_yes_and_refuses_without_a_terminal() {
    let (_dir, store) = versioned_store();
    // The tests' standard input is not a terminal: without --yes nothing is removed.
    let output = vectorstore(&["--store", &store, "purge", "--kind", "ja3", "--extractor-version", "1"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("pass --yes"), "{}", stderr(&output));
    let bad = vectorstore(&["--store", &store, "purge", "--kind", "ja3", "--extractor-version", "0", "--yes"], &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("invalid extractor_version 0"), "{}", stderr(&bad));
    let bad = vectorstore(&["--store", &store, "purge", "--kind", "Ja3", "--extractor-version", "1", "--yes"], &[]);
    assert!(stderr(&bad).contains("invalid kind \"Ja3\""), "{}", stderr(&bad));
    let output = vectorstore(&["--json", "--store", &store, "kinds"], &[]);
    let kinds: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(kinds[0]["count"], 5, "refused purges removed nothing");

    let args = ["--json", "--store", &store, "purge", "--kind", "ja3", "--extractor-version", "1", "--yes"];
    let output = vectorstore(&args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["removed"], 3);
    let output = vectorstore(&args, &[]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["removed"], 0, "a version holding nothing purges 0");
    let output = vectorstore(&["--json", "--store", &store, "kinds"], &[]);
    let kinds: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!((kinds[0]["count"].clone(), kinds[0]["versions"].clone()), (2.into(), serde_json::json!({"2": 2})));
}

#[test]
fn health_names_the_file_only_when_detailed() {
    let (dir, store) = versioned_store();
    let path = dir.path().join("v.sqlite").display().to_string();
    let output = vectorstore(&["--json", "--store", &store, "health"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains(&path) && !stdout(&output).contains("\"path\""), "{}", stdout(&output));
    let output = vectorstore(&["--json", "--store", &store, "health", "--detailed"], &[]);
    let health: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(health["detail"]["path"], path.as_str());
    // A store that cannot open: the published reason is the error kind, not the location.
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, b"not a directory").unwrap();
    let unusable = format!("sqlite_vec:{}", blocked.join("v.sqlite").display());
    let output = vectorstore(&["--json", "--store", &unusable, "health"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let health: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let reason = health["reason"].as_str().unwrap();
    assert!(!reason.contains(&blocked.display().to_string()), "{reason}");
    let output = vectorstore(&["--json", "--store", &unusable, "health", "--detailed"], &[]);
    let health: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(health["reason"].as_str().unwrap().contains(&blocked.display().to_string()), "{health}");
}

/// Runs `vectorstore args` with a terminal as standard input (through util-linux `script`),
/// typing `answer` once the prompt had time to show; `None` without `script`.
fn on_a_terminal(args: &[&str], answer: &str) -> Option<Output> {
    let program = env!("CARGO_BIN_EXE_vectorstore");
    let line = std::iter::once(program).chain(args.iter().copied()).map(shell_quoted).collect::<Vec<_>>().join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    std::thread::sleep(std::time::Duration::from_millis(1500));
    use std::io::Write;
    child.stdin.take()?.write_all(answer.as_bytes()).ok()?;
    child.wait_with_output().ok()
}

fn shell_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[test]
fn purge_on_a_terminal_removes_only_after_yes() {
    let (_dir, store) = versioned_store();
    let args = ["--store", &store, "purge", "--kind", "ja3", "--extractor-version", "2"];
    let Some(declined) = on_a_terminal(&args, "n\n") else {
        return vectorstore_conformance::skip("cli", "purge_on_a_terminal", "util-linux `script` is not installed");
    };
    let shown = stdout(&declined);
    assert_eq!(declined.status.code(), Some(1), "{shown}");
    assert!(shown.contains("remove 2 records of kind ja3 written by extractor version 2"), "{shown}");
    assert!(shown.contains("nothing removed"), "{shown}");
    let confirmed = on_a_terminal(&args, "y\n").expect("script ran before");
    assert!(confirmed.status.success(), "{}", stdout(&confirmed));
    assert!(stdout(&confirmed).contains("removed 2 records"), "{}", stdout(&confirmed));
    let output = vectorstore(&["--json", "--store", &store, "kinds"], &[]);
    let kinds: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(kinds[0]["versions"], serde_json::json!({"1": 3}));
}

#[test]
fn knn_with_a_queries_file_answers_each_line_as_a_single_knn_would() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite_vec:{}", dir.path().join("v.sqlite").display());
    for (id, vector) in [("a", "0,0"), ("b", "1,0"), ("c", "0,2"), ("d", "3,3")] {
        let output = vectorstore(&["--store", &store, "insert", "ja3", id, vector], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let queries = dir.path().join("queries.jsonl");
    std::fs::write(&queries, "[0.1, 0.1]\n\n{\"vector\": [2.9, 3.2], \"note\": \"kept aside\"}\n[1, 0]\n").unwrap();
    let output = vectorstore(
        &["--store", &store, "--json", "knn", "ja3", "--queries", queries.to_str().unwrap(), "-k", "2"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<serde_json::Value> =
        stdout(&output).lines().map(|line| serde_json::from_str(line).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&output));
    for (n, (line, vector)) in lines.iter().zip(["0.1,0.1", "2.9,3.2", "1,0"]).enumerate() {
        assert_eq!(line["query"], n);
        let single = vectorstore(&["--store", &store, "--json", "knn", "ja3", vector, "-k", "2"], &[]);
        let single: serde_json::Value = serde_json::from_str(&stdout(&single)).unwrap();
        assert_eq!(line["neighbors"], single, "query {n}");
    }
    assert_eq!(lines[1]["neighbors"][0]["id"], "d");

    // A bad line names its line; a query of the wrong dimension names its place in the file.
    std::fs::write(&queries, "[0, 0]\n[1, \"x\"]\n").unwrap();
    let output = vectorstore(&["--store", &store, "knn", "ja3", "--queries", queries.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("line 2"), "{}", stderr(&output));
    std::fs::write(&queries, "[0, 0]\n[1, 1]\n[1, 2, 3]\n").unwrap();
    let output = vectorstore(&["--store", &store, "knn", "ja3", "--queries", queries.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("query 2"), "{}", stderr(&output));
}

#[test]
fn an_unknown_setting_is_refused_naming_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite");
    let path = path.to_str().unwrap();
    let output = vectorstore(
        &["kinds"],
        &[("DECNET_VECTORSTORE_PATH", path), ("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS", "5")],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("unknown setting DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS")
            && err.contains("did you mean DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS?"),
        "{err}"
    );
    assert!(!dir.path().join("v.sqlite").exists(), "nothing is opened with a setting refused");
    // The same through --store, and a general variable misspelt.
    let output = vectorstore(&["--store", "fake:", "kinds"], &[("DECNET_VECTORSTORE_METRC", "cosine")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("did you mean DECNET_VECTORSTORE_METRIC?"), "{}", stderr(&output));
    // Spelt right, it is taken.
    let output = vectorstore(
        &["kinds"],
        &[("DECNET_VECTORSTORE_PATH", path), ("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS", "5")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Values an attacker shaped (an id with a newline and escape sequences) are shown escaped in
/// tables, messages and JSON: no forged line, no raw control character, and the JSON still
/// reads back as the stored id. A password in a malformed store URL is never echoed.
#[test]
fn hostile_values_are_shown_escaped_and_passwords_never() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let store = format!("sqlite_vec:{}", path.display());
    let id = "a\nFAKE LOG LINE\u{1b}[31m\u{9b}2J\u{202e}";
    let output = vectorstore(&["--store", &store, "insert", "ja3", id, "1,2"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let raw = |text: &str| text.chars().any(|c| c != '\n' && vectorstore::is_escaped_on_display(c));
    for args in [vec!["knn", "ja3", "1,2"], vec!["get", "ja3", id], vec!["delete", "ja3", "nobody\n\u{1b}[2J"]] {
        let mut all = vec!["--store", store.as_str()];
        all.extend(args.iter().copied());
        let output = vectorstore(&all, &[]);
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(!raw(&out) && !raw(&err), "{args:?}: {out:?} {err:?}");
        assert!(!out.lines().chain(err.lines()).any(|line| line.starts_with("FAKE LOG LINE")), "{args:?}: {out}");
    }
    let output = vectorstore(&["--json", "--store", &store, "knn", "ja3", "1,2"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!raw(&stdout(&output)), "{}", stdout(&output));
    let hits: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(hits.to_string().contains("FAKE LOG LINE"), "{hits}");
    assert_eq!(hits.as_array().and_then(|h| h.first()).and_then(|n| n["id"].as_str()), Some(id), "{hits}");

    for url in ["pgvector:postgres://app:s3cr/et@127.0.0.1:1/x", "pgvector:host=127.0.0.1 password=s3cr/et"] {
        let output =
            vectorstore(&["--store", url, "health"], &[("DECNET_VECTORSTORE_PGVECTOR_ACQUIRE_TIMEOUT_MS", "300")]);
        let shown = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!shown.contains("s3cr"), "{url}: {shown}");
    }
}

#[test]
fn knn_distinct_prints_each_vector_once_with_its_count_and_first_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite_vec:{}", dir.path().join("v.sqlite").display());
    // Four sessions replay one vector (one id with a terminal escape in it), one is alone.
    for (id, vector) in [("s4", "1,1"), ("s2", "1,1"), ("s9", "1,1"), ("z\u{1b}[31m", "1,1"), ("rare", "4,5")] {
        let output = vectorstore(&["--store", &store, "insert", "ja3", id, vector], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let output = vectorstore(&["--store", &store, "--json", "knn", "ja3", "1,1", "--distinct", "--ids", "2"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let groups: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        groups,
        serde_json::json!([
            {"kind": "ja3", "distance": 0.0, "count": 4, "ids": ["s2", "s4"]},
            {"kind": "ja3", "distance": 5.0, "count": 1, "ids": ["rare"]},
        ])
    );

    let output = vectorstore(&["--store", &store, "knn", "ja3", "1,1", "--distinct", "--ids", "4", "-k", "1"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&output);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "a header, its rule and one row: {shown}");
    assert!(lines[0].contains("distance") && lines[0].contains("count") && lines[0].contains("ids"), "{shown}");
    assert!(lines[2].contains("0.000000") && lines[2].contains(" 4 "), "{shown}");
    assert!(lines[2].contains("s2, s4, s9, z\\u{1b}[31m"), "{shown}");
    assert!(!shown.contains('\u{1b}'), "an id's escape sequence is shown escaped: {shown:?}");

    // --ids beyond its limit is refused naming the value; --ids without --distinct too.
    let output = vectorstore(&["--store", &store, "knn", "ja3", "1,1", "--distinct", "--ids", "1001"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("ids_per_vector 1001"), "{}", stderr(&output));
    let output = vectorstore(&["--store", &store, "knn", "ja3", "1,1", "--ids", "3"], &[]);
    assert!(!output.status.success(), "--ids needs --distinct");
}
