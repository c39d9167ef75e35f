//! Passwords in URLs and API keys never appear in Debug, Display, errors, health or logs, for
//! every backend of this build, including when connecting fails and when the store is used.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use proptest::prelude::*;

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

/// The process's one log capture (a global subscriber can be set once).
fn capture_logs() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .init();
            captured
        })
        .clone()
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

/// Every shape a password reaches a backend's location in, for the backends of this build:
/// raw in a URL (with `/ ? # @ :` and `%` as they come), percent-escaped, as a query
/// parameter, in a libpq keyword string, in a URL without its scheme. Port 1 of the loopback
/// refuses connections, so each open that parses goes on to fail while connecting.
fn configs_carrying(password: &str) -> Vec<Config> {
    let escaped: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
    let compiled = vectorstore::compiled_backends();
    let mut configs = Vec::new();
    if compiled.contains(&"pgvector") {
        for url in [
            format!("postgres://decnet:{password}@127.0.0.1:1/decnet?sslmode=disable"),
            format!("postgresql://decnet:{escaped}@127.0.0.1:1/decnet?sslmode=disable"),
            format!("postgres://decnet@127.0.0.1:1/decnet?sslmode=disable&password={escaped}"),
            format!("host=127.0.0.1 port=1 user=decnet password={password} dbname=decnet"),
            format!("decnet:{password}@127.0.0.1:1/decnet"),
        ] {
            configs.push(
                Config::new("pgvector").with_url(url).with_option("pgvector", "acquire_timeout_ms", "200").with_option(
                    "pgvector",
                    "timeout_ms",
                    "500",
                ),
            );
        }
    }
    if compiled.contains(&"qdrant") {
        for url in [
            format!("http://decnet:{password}@127.0.0.1:1"),
            format!("http://127.0.0.1:1?api_key={escaped}"),
            format!("127.0.0.1:1?api_key={password}"),
        ] {
            configs.push(Config::new("qdrant").with_url(url).with_option("qdrant", "timeout_ms", "500"));
        }
        configs.push(
            Config::new("qdrant")
                .with_url("http://127.0.0.1:1")
                .with_option("qdrant", "api_key", password)
                .with_option("qdrant", "timeout_ms", "500"),
        );
    }
    for spec_backend in ["pgvector", "qdrant", "sqlite_vec"] {
        if compiled.contains(&spec_backend) {
            // The CLI's `--store TYPE:LOCATION` path.
            if let Ok(config) =
                Config::default().with_spec(&format!("{spec_backend}:x://decnet:{password}@127.0.0.1:1/x"))
            {
                configs.push(config);
            }
        }
    }
    configs
}

/// Why `password` showed on some open path of `configs_carrying`, if it did.
fn where_shown(password: &str) -> Option<String> {
    let logs = capture_logs();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let escaped: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
    for config in configs_carrying(password) {
        let shown = runtime.block_on(everything_shown(&config));
        if shown.contains(password) || shown.contains(&escaped) {
            return Some(format!("{} showed the password {password:?}:\n{shown}", config.backend));
        }
    }
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    logged.contains(password).then(|| format!("the password {password:?} was logged:\n{logged}"))
}

#[test]
fn passwords_found_by_the_property_never_show() {
    // `decnet:` + `//##aAaA@…` reads as the URL `decnet://##aAaA@…`, whose lone userinfo is
    // the password's tail; the wrong scheme's error once echoed it.
    for password in ["//##aAaA", "//aaaaaaaa", "//token-1234", "////@@@@", "//a:b@c"] {
        assert_eq!(where_shown(password), None);
    }
}

proptest! {
    // Each case opens every configuration above and fails to connect; a few dozen draws of
    // any bytes cover the shapes (the redaction itself is hammered harder in vectorstore-core).
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn generated_passwords_never_show_on_any_open_path(password in "[!-~]{8,20}|[^\\x00]{8,12}") {
        // A password made of pieces every message holds (`127.0.0.1`) cannot be told apart.
        prop_assume!(!"postgres://decnet@127.0.0.1:1/decnet?sslmode=disable host port user dbname qdrant pgvector sqlite_vec".contains(&password));
        if let Some(why) = where_shown(&password) {
            prop_assert!(false, "{}", why);
        }
    }
}
