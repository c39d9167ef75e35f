#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod cases;
pub mod check;
pub mod data;
mod fixture;
mod require;
mod runner;

pub use fixture::{ConfigFactory, EnvFactory, Fixture, StoreFactory};
pub use require::{REQUIRE_VAR, Unavailable, is_required, report, skip, unique_tag};
pub use runner::{CaseFn, CaseReport, Ctx, Outcome, excluded, run_case, run_case_to_outcome, run_suite};

/// Calls `$callback!` with every case name: the one list of the suite, used both for the
/// generated tests and for [`CASES`].
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_case {
    ($callback:path; $($args:tt)*) => {
        $callback! {
            ($($args)*)
            // records: write, read, replace, delete, count
            round_trip,
            insert_replaces_existing_id,
            reinsert_is_idempotent,
            insert_many_equals_inserts_in_order,
            insert_rows_equals_insert_many,
            update_by_id_moves_the_vector,
            get_missing_is_none,
            delete_then_get,
            delete_missing_is_false,
            health_counts,
            // bulk by id and extractor versions
            get_many_answers_in_request_order,
            delete_many_counts_what_went,
            kinds_count_each_extractor_version,
            delete_version_removes_only_that_version,
            bulk_calls_are_validated_whole_before_any_work,
            bulk_operations_match_the_fake,
            null_store_is_inert,
            // age and retention
            records_carry_their_write_time,
            given_write_times_are_kept,
            expire_removes_only_older_records,
            expire_of_a_few_among_many_removes_exactly_those,
            expire_is_validated_before_any_work,
            // validation
            insert_dimension_mismatch_is_rejected,
            query_dimension_mismatch_is_rejected,
            invalid_kinds_are_rejected_everywhere,
            invalid_ids_are_rejected_everywhere,
            invalid_vectors_are_rejected_everywhere,
            cosine_zero_vector_is_rejected,
            k_limits_are_enforced,
            invalid_extractor_version_is_rejected,
            invalid_batch_writes_nothing,
            invalid_search_options_are_rejected,
            create_kind_conflicts_are_rejected,
            dimension_survives_deleting_every_vector,
            // metrics
            l2_distances_are_euclidean,
            cosine_distances_are_one_minus_cosine,
            dot_distances_are_negated_inner_products,
            unsupported_metrics_are_refused,
            // search
            knn_orders_by_distance,
            knn_unknown_kind_is_empty,
            empty_kind_search_is_empty,
            ties_break_by_id,
            k_edges,
            k_5000_of_6000,
            k_at_limit,
            extractor_version_filter_applies_before_k,
            max_distance_filter_applies_before_k,
            differential_against_fake,
            knn_batch_answers_each_query_as_knn_with,
            // duplicate vectors: ties by id at any group size
            one_duplicate_group_answers_as_the_fake,
            zipf_duplicate_groups_answer_as_the_fake,
            // distinct vectors: how many records share each neighbour
            knn_distinct_counts_one_big_group,
            knn_distinct_counts_zipf_groups,
            knn_distinct_cuts_many_tied_vectors,
            knn_distinct_edges_and_invalid_input,
            // kinds and keys
            kinds_are_isolated,
            similar_kind_names_never_share_storage,
            kinds_lists_dim_metric_count,
            drop_kind_forgets_everything,
            settle_keeps_records_and_answers,
            create_kind_is_idempotent,
            high_dimension_kind,
            unicode_ids_round_trip,
            vectors_round_trip_bit_exact,
            scan_pages_cover_every_id_once,
            random_operations_match_the_fake,
            // concurrency and lifecycle
            concurrent_inserts_and_queries,
            operations_before_initialize_fail,
            double_initialize_is_noop,
            operations_after_close_fail,
            validation_precedes_lifecycle,
            health_names_the_backend,
            health_is_safe_to_publish,
            // persistence
            reopen_keeps_everything,
            reopen_keeps_emptied_kind,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_table {
    (() $($case:ident),* $(,)?) => {
        /// Every case of the suite, by name, in the suite's order.
        pub static CASES: &[(&str, $crate::CaseFn)] = &[
            $((stringify!($case), |ctx| ::std::boxed::Box::pin($crate::cases::$case(ctx)))),*
        ];
    };
}

__for_each_case!(__case_table;);

#[doc(hidden)]
#[macro_export]
macro_rules! __case_names {
    ([$($case:ident),*]) => {
        &[$(stringify!($case)),*]
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_tests {
    (($factory:expr; $excluded:tt) $($case:ident),* $(,)?) => {
        $(
            #[doc = concat!("Conformance case `", stringify!($case), "`.")]
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let factory = $factory;
                let excluded: &[&str] = $crate::__case_names!($excluded);
                if excluded.contains(&stringify!($case)) {
                    $crate::excluded(&factory, stringify!($case));
                    return;
                }
                $crate::run_case(&factory, stringify!($case), |ctx| ::std::boxed::Box::pin($crate::cases::$case(ctx))).await;
            }
        )*
    };
}

/// Expands into one `#[tokio::test]` per case, named after the case, each running it on a
/// fresh fixture from the factory expression (evaluated once per test). Invoke it inside a
/// module named after the store so test output reads `fake::round_trip`:
///
/// ```no_run
/// mod fake {
///     vectorstore_conformance::conformance_tests!(
///         vectorstore_conformance::ConfigFactory::new(vectorstore_core::Config::new("fake"))
///     );
/// }
/// # fn main() {}
/// ```
///
/// A test file that runs part of the suite says which part, by case name (a name that is not
/// a case does not compile):
///
/// - `conformance_tests!(factory, only: [ties_break_by_id, k_edges])` makes tests of those
///   cases alone;
/// - `conformance_tests!(factory, except: [reopen_keeps_everything])` makes every test, and the
///   excluded ones print `N/A <backend>::<case>: excluded by this test file` and pass.
///
/// The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__for_each_case!($crate::__case_tests; $factory; []);
    };
    ($factory:expr, only: [$($case:ident),+ $(,)?] $(,)?) => {
        $crate::__case_tests! { ($factory; []) $($case),+ }
    };
    ($factory:expr, except: [$($excluded:ident),+ $(,)?] $(,)?) => {
        const _: () = { $(let _ = $crate::cases::$excluded;)+ };
        $crate::__for_each_case!($crate::__case_tests; $factory; [$($excluded),+]);
    };
}
