//! The suite must be able to fail: stores with one deliberate bug each are run through the
//! cases that guard against that bug, and every one of those cases must report a failure.

use std::sync::Arc;

use vectorstore_conformance::{CASES, Fixture, Outcome, StoreFactory, Unavailable, run_case_to_outcome};
use vectorstore_core::{FakeVectorStore, Result, VectorStore, async_trait};
use vectorstore_testkit::{Fault, FaultyStore};

struct BrokenFixture(Fault);

#[async_trait]
impl Fixture for BrokenFixture {
    async fn open(&self) -> Result<Arc<dyn VectorStore>> {
        Ok(Arc::new(FaultyStore::new(Arc::new(FakeVectorStore::new()), &[self.0])))
    }
    async fn cleanup(&self) -> Result<()> {
        Ok(())
    }
}

struct BrokenFactory(Fault);

#[async_trait]
impl StoreFactory for BrokenFactory {
    fn backend(&self) -> String {
        "broken".into()
    }
    async fn fixture(&self, _case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        Ok(Box::new(BrokenFixture(self.0)))
    }
}

async fn must_fail(bug: Fault, cases: &[&str]) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut survived = Vec::new();
    for name in cases {
        let (case, body) = CASES.iter().find(|(c, _)| c == name).unwrap_or_else(|| panic!("no case {name}"));
        if !matches!(run_case_to_outcome(&BrokenFactory(bug), case, *body).await, Outcome::Failed(_)) {
            survived.push(*name);
        }
    }
    std::panic::set_hook(hook);
    assert!(survived.is_empty(), "{bug:?} went unnoticed by {survived:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_writes_are_caught() {
    must_fail(
        Fault::LoseEveryNthInsert(7),
        &["random_operations_match_the_fake", "unicode_ids_round_trip", "concurrent_inserts_and_queries"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tie_order_is_caught() {
    must_fail(
        Fault::ReverseTies,
        &["ties_break_by_id", "one_duplicate_group_answers_as_the_fake", "zipf_duplicate_groups_answer_as_the_fake"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_version_filter_is_caught() {
    must_fail(
        Fault::IgnoreVersionFilter,
        &[
            "extractor_version_filter_applies_before_k",
            "random_operations_match_the_fake",
            "one_duplicate_group_answers_as_the_fake",
            "zipf_duplicate_groups_answer_as_the_fake",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_skips_is_caught() {
    must_fail(
        Fault::ScanSkipsAfterCursor,
        &["scan_pages_cover_every_id_once", "unicode_ids_round_trip", "knn_distinct_counts_zipf_groups"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squared_distances_are_caught() {
    must_fail(
        Fault::SquareDistances,
        &["l2_distances_are_euclidean", "update_by_id_moves_the_vector", "differential_against_fake"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_many_answering_only_found_records_is_caught() {
    must_fail(
        Fault::GetManyOnlyFound,
        &["get_many_answers_in_request_order", "bulk_operations_match_the_fake", "random_operations_match_the_fake"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_version_removing_every_version_is_caught() {
    must_fail(
        Fault::DeleteVersionIgnoresVersion,
        &[
            "delete_version_removes_only_that_version",
            "bulk_operations_match_the_fake",
            "random_operations_match_the_fake",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_ignoring_its_cutoff_is_caught() {
    must_fail(Fault::ExpireIgnoresCutoff, &["expire_removes_only_older_records"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_that_forgets_write_times_is_caught() {
    must_fail(Fault::ForgetsGivenWriteTimes, &["given_write_times_are_kept", "expire_removes_only_older_records"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_in_the_published_health_is_caught() {
    must_fail(Fault::HealthShowsLocation, &["health_is_safe_to_publish"]).await;
}
