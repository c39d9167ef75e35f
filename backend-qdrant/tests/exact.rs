//! The search cases of the suite with `DECNET_VECTORSTORE_QDRANT_EXACT=true`: the store then
//! reports exact search, so the suite compares every rank with the oracle, not only recall.

use vectorstore_conformance::servers::qdrant::QdrantFactory;
use vectorstore_qdrant as _;

macro_rules! exact_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let factory = QdrantFactory::new().with_option("EXACT", "true");
                vectorstore_conformance::run_case(&factory, stringify!($case), |ctx| {
                    Box::pin(vectorstore_conformance::cases::$case(ctx))
                })
                .await;
            }
        )*
    };
}

mod qdrant_exact {
    use super::*;

    exact_cases!(
        knn_orders_by_distance,
        ties_break_by_id,
        k_edges,
        k_5000_of_6000,
        k_at_limit,
        extractor_version_filter_applies_before_k,
        max_distance_filter_applies_before_k,
        differential_against_fake,
        l2_distances_are_euclidean,
        cosine_distances_are_one_minus_cosine,
        dot_distances_are_negated_inner_products,
    );
}
