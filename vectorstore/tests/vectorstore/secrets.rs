//! Passwords in URLs and API keys never appear in Debug, Display, errors, health or logs, for
//! every backend of this build, including when connecting fails and when the store is used.

use std::io::Write;
use std::sync::{Arc, Mutex};

use vectorstore::Config;

const PASSWORD: &str = "Hunter2-S3cret-Passw0rd";
const API_KEY: &str = "qk-9f8e7d6c5b4a-SECRET";

/// Captures every log line of the test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    captured
}

/// Every text a user could see of a store whose connection fails.
async fn everything_shown(config: &Config) -> String {
    let mut shown = format!("{config:?}\n");
    match vectorstore::open(config) {
        Err(err) => shown.push_str(&format!("{err}\n{err:?}\n")),
        Ok(store) => {
            shown.push_str(&format!("{store:?}\n"));
            if let Err(err) = store.initialize().await {
                shown.push_str(&format!("{err}\n{err:?}\n"));
            }
            for health in [store.health().await, store.health_detailed().await] {
                shown.push_str(&format!("{health:?}\n{}\n", serde_json::to_string(&health).unwrap()));
            }
            if let Err(err) = store.insert("ja3", "id", &[1.0], 1).await {
                shown.push_str(&format!("{err}\n"));
            }
            let _ = store.close().await;
        }
    }
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_show_for_any_backend() {
    let logs = capture_logs();
    let mut configs = vec![Config::new("fake").with_url(format!("postgres://decnet:{PASSWORD}@127.0.0.1:1/x"))];
    let compiled = vectorstore::compiled_backends();
    if compiled.contains(&"pgvector") {
        // Port 1 refuses connections: initialize fails and the error is built from the URL.
        configs.push(
            Config::new("pgvector")
                .with_url(format!(
                    "postgres://decnet:{PASSWORD}@127.0.0.1:1/decnet?sslmode=disable&password={PASSWORD}"
                ))
                .with_option("pgvector", "acquire_timeout_ms", "500"),
        );
    }
    if compiled.contains(&"qdrant") {
        configs.push(
            Config::new("qdrant")
                .with_url(format!("http://127.0.0.1:1?api_key={API_KEY}"))
                .with_option("qdrant", "api_key", API_KEY)
                .with_option("qdrant", "timeout_ms", "500"),
        );
    }
    for config in &configs {
        let shown = everything_shown(config).await;
        for secret in [PASSWORD, API_KEY] {
            assert!(!shown.contains(secret), "{} showed a secret:\n{shown}", config.backend);
        }
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    for secret in [PASSWORD, API_KEY] {
        assert!(!logged.contains(secret), "a secret was logged:\n{logged}");
    }
}
