//! Running cases: the per-case context, skips that `DECNET_TEST_REQUIRE` turns into failures,
//! and cleanup that happens even when a case fails.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use vectorstore_core::{Capabilities, VectorStore};

use crate::{Unavailable, report, skip};

use crate::fixture::{Fixture, StoreFactory};

/// What one case is given: its name and a fixture to open stores on.
pub struct Ctx {
    case: &'static str,
    backend: String,
    fixture: Box<dyn Fixture>,
    not_applicable: std::sync::Mutex<Option<String>>,
}

impl Ctx {
    /// The case's name.
    pub fn case(&self) -> &'static str {
        self.case
    }

    /// The backend under test.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// A new handle on the fixture, initialised. Panics (fails the case) if that fails.
    pub async fn store(&self) -> Arc<dyn VectorStore> {
        let store = self.open_uninitialized().await;
        if let Err(err) = store.initialize().await {
            panic!("[{}] initialize failed: {err}", self.backend);
        }
        store
    }

    /// A new handle on the fixture, not initialised.
    pub async fn open_uninitialized(&self) -> Arc<dyn VectorStore> {
        match self.fixture.open().await {
            Ok(store) => store,
            Err(err) => panic!("[{}] opening the store failed: {err}", self.backend),
        }
    }

    /// Reports that the case does not apply to this store (e.g. persistence on an in-memory
    /// store). The case must return right after.
    pub fn not_applicable(&self, why: &str) {
        tracing::info!(backend = %self.backend, case = self.case, "not applicable: {why}");
        *self.not_applicable.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_owned());
    }

    /// The capabilities of a store, for gating.
    pub fn capabilities(store: &dyn VectorStore) -> Capabilities {
        store.capabilities()
    }
}

/// A case's body.
pub type CaseFn = for<'a> fn(&'a Ctx) -> BoxFuture<'a, ()>;

/// The outcome of one case, as [`run_case_to_outcome`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// The case does not apply to this store (its capabilities rule it out); why.
    NotApplicable(String),
    /// The store could not be had; the reason.
    Skipped(String),
    /// An assertion or an operation failed; the message.
    Failed(String),
}

/// Runs one case as a test: gets a fixture (skipping loudly when the store is unavailable),
/// runs the case, always cleans up, and fails the test if the case failed. A case that does
/// not apply to the store prints `N/A <backend>::<case>: <why>`, as a skip prints `SKIPPED`.
pub async fn run_case(factory: &dyn StoreFactory, case: &'static str, body: CaseFn) {
    match run_case_to_outcome(factory, case, body).await {
        Outcome::Passed => {}
        Outcome::NotApplicable(why) => report(&format!("N/A {}::{case}: {why}", factory.backend())),
        Outcome::Skipped(reason) => skip(&factory.backend(), case, &reason),
        Outcome::Failed(message) => panic!("{message}"),
    }
}

/// Runs one case and reports its outcome instead of panicking (for the CLI's table).
pub async fn run_case_to_outcome(factory: &dyn StoreFactory, case: &'static str, body: CaseFn) -> Outcome {
    let fixture = match factory.fixture(case).await {
        Ok(fixture) => fixture,
        Err(Unavailable(reason)) => return Outcome::Skipped(reason),
    };
    let ctx = Ctx { case, backend: factory.backend(), fixture, not_applicable: std::sync::Mutex::new(None) };
    let result = AssertUnwindSafe(body(&ctx)).catch_unwind().await;
    let cleanup = ctx.fixture.cleanup().await;
    match (result, cleanup) {
        (Ok(()), Ok(())) => match ctx.not_applicable.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(why) => Outcome::NotApplicable(why),
            None => Outcome::Passed,
        },
        (Ok(()), Err(err)) => Outcome::Failed(format!("[{}] {case}: cleanup failed: {err}", ctx.backend)),
        (Err(panic), _) => Outcome::Failed(panic_message(panic.as_ref())),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "the case panicked".to_owned()
    }
}

/// One case's result in a whole-suite run.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The case name.
    pub case: &'static str,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs every case (or those whose name contains `filter`) one after another against
/// `factory`, for tools that show a table rather than a test harness's output.
pub async fn run_suite(factory: &dyn StoreFactory, filter: Option<&str>) -> Vec<CaseReport> {
    let mut reports = Vec::new();
    for (case, body) in crate::CASES {
        if filter.is_some_and(|f| !case.contains(f)) {
            continue;
        }
        let started = Instant::now();
        let outcome = run_case_to_outcome(factory, case, *body).await;
        reports.push(CaseReport { case, outcome, elapsed: started.elapsed() });
    }
    reports
}

/// Reports a case that a test file left out of its run (`conformance_tests!(…, except: […])`).
pub fn excluded(factory: &dyn StoreFactory, case: &str) {
    report(&format!("N/A {}::{case}: excluded by this test file", factory.backend()));
}
