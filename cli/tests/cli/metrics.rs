//! `--metrics-addr`: the store's metrics served in the Prometheus text format while a long
//! command runs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The body of `GET /metrics` at `port`, if the exporter answers.
fn scrape(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

#[test]
fn a_soak_serves_operation_counts_and_latency_histograms_while_it_runs() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .args(["--store", "fake:", "--metrics-addr", &addr, "bench", "soak", "--seconds", "6", "--clients", "2"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(5) {
        if let Some(body) = scrape(port)
            && body.contains(r#"vectorstore_operations_total{backend="fake",operation="insert",outcome="ok"}"#)
        {
            last = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    let body = last.expect("the metrics were served while the soak ran, with inserts counted");
    let count = |prefix: &str| -> f64 {
        body.lines()
            .find_map(|line| line.strip_prefix(prefix)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{body}"))
    };
    assert!(count(r#"vectorstore_operations_total{backend="fake",operation="knn",outcome="ok"}"#) >= 1.0, "{body}");
    let timed =
        count(r#"vectorstore_operation_duration_seconds_count{backend="fake",operation="insert",outcome="ok"}"#);
    assert!(timed >= 1.0, "{body}");
    assert!(
        body.contains(r#"vectorstore_operation_duration_seconds_bucket{backend="fake",operation="insert",outcome="ok",le="0.001"}"#),
        "latencies are histograms with buckets:\n{body}"
    );
}

#[test]
fn a_metrics_address_in_use_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .args(["--store", "fake:", "--metrics-addr", &addr, "health"])
        .env("RUST_LOG", "error")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot serve metrics") && stderr.contains(&addr), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_vectorstore"))
        .args(["--store", "fake:", "--metrics-addr", "not-an-address", "health"])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not-an-address"), "{stderr}");
}
