//! Skips that say why, and that `DECNET_TEST_REQUIRE` turns into failures, and unique names for
//! the namespaces of cases and server tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Variable listing the backends whose tests must run: a comma-separated list of names, or
/// `all`. A listed backend that cannot be had fails its tests instead of skipping them.
pub const REQUIRE_VAR: &str = "DECNET_TEST_REQUIRE";

/// Why a store or server cannot be had here (no server reachable, no Docker engine, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// True when `backend` is listed in `DECNET_TEST_REQUIRE` (or the list says `all`).
pub fn is_required(backend: &str) -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|list| {
        list.split([',', ' ']).map(str::trim).any(|item| item.eq_ignore_ascii_case(backend) || item == "all")
    })
}

/// Reports a skipped test: prints `SKIPPED` and the reason, or fails (panics) when the
/// backend is required by `DECNET_TEST_REQUIRE`.
pub fn skip(backend: &str, what: &str, reason: &str) {
    if is_required(backend) {
        panic!("{backend} is required by {REQUIRE_VAR} but unavailable, so {what} cannot run: {reason}");
    }
    report(&format!("SKIPPED {backend}::{what}: {reason} (set {REQUIRE_VAR}={backend} to make this a failure)"));
}

/// Prints one line for the person running the tests: shown by the project's test command
/// (`--show-output`) and by `--nocapture` runs, hidden by the harness otherwise.
#[allow(clippy::print_stderr)]
pub fn report(line: &str) {
    eprintln!("{line}");
}

/// A short tag unique to this process and call, usable in file, schema and collection names
/// (`t` + lowercase hex + digits).
pub fn unique_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("t{:x}{:x}_{n}", std::process::id(), (nanos & 0xffff_ffff) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_unique_and_usable_as_names() {
        let (a, b) = (unique_tag(), unique_tag());
        assert_ne!(a, b);
        assert!(
            a.starts_with('t') && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{a}"
        );
    }
}
