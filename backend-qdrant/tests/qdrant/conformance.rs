//! The whole conformance suite against a real Qdrant (see `vectorstore_testkit::servers::qdrant`
//! for how the server is found), with the default options: HNSW search, reported approximate.
//! Skipped, loudly, when no server can be had.

mod qdrant {
    vectorstore_conformance::conformance_tests!(vectorstore_testkit::servers::ServerFactory::qdrant());
}

/// The search cases with `DECNET_VECTORSTORE_QDRANT_EXACT=true`: the store then reports exact
/// search, so the suite compares every rank with the oracle, not only recall.
mod qdrant_exact {
    vectorstore_conformance::conformance_tests!(
        vectorstore_testkit::servers::ServerFactory::qdrant().with_option("EXACT", "true"),
        only: [
            knn_orders_by_distance,
            ties_break_by_id,
            k_edges,
            k_5000_of_6000,
            k_at_limit,
            extractor_version_filter_applies_before_k,
            max_distance_filter_applies_before_k,
            differential_against_fake,
            one_duplicate_group_answers_as_the_fake,
            zipf_duplicate_groups_answer_as_the_fake,
            l2_distances_are_euclidean,
            cosine_distances_are_one_minus_cosine,
            dot_distances_are_negated_inner_products,
        ]
    );
}
