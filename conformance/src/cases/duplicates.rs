//! Duplicate vectors: kinds where many records share one vector (a botnet replaying one
//! fingerprint). Every answer, at any k, with the filters, single or batched, and after deletes
//! inside a group, equals the Fake's rank by rank: ids and distances, ties by id. Distances here
//! are exact in `f32` where the data is of small integers, so every engine computes the same ties.

use vectorstore_core::{KnnOptions, Metric, Neighbor, NewVector, VectorStore};

use super::support::{oracle_of, shuffled_ids, stores_data, supports};
use crate::check::{TOLERANCE, ok};
use crate::data::Rng;
use crate::runner::Ctx;

/// Records in the big duplicate group of [`one_duplicate_group_answers_as_the_fake`]; sized so
/// the case stays within a few seconds on the server stores.
const GROUP: usize = 1_000;

/// Whether the hit at `rank` shares its distance, bit for bit, with a hit next to it.
fn exactly_tied(hits: &[Neighbor], rank: usize) -> bool {
    let distance = hits[rank].distance;
    (rank > 0 && hits[rank - 1].distance == distance) || hits.get(rank + 1).is_some_and(|n| n.distance == distance)
}

/// Asserts that `got` equals the oracle's `want` rank by rank: the same ids, distances within
/// [`TOLERANCE`]. Only where neither answer has an exact tie at that rank may the ids differ
/// (two distinct vectors whose distances the engines round differently); in a tie the id order
/// is the contract's. Names the first rank that differs rather than printing thousands of ids.
#[track_caller]
fn assert_same_answer(what: &str, got: &[Neighbor], want: &[Neighbor]) {
    let close = |a: f32, b: f32| (a - b).abs() <= TOLERANCE * b.abs().max(1.0);
    let wrong = got.iter().zip(want).enumerate().position(|(rank, (g, w))| {
        !close(g.distance, w.distance) || (g.id != w.id && (exactly_tied(got, rank) || exactly_tied(want, rank)))
    });
    if let Some(rank) = wrong {
        let around = |hits: &[Neighbor]| -> Vec<String> {
            hits[rank.saturating_sub(2)..(rank + 3).min(hits.len())]
                .iter()
                .map(|n| format!("{}@{}", n.id, n.distance))
                .collect()
        };
        panic!(
            "{what}: rank {rank} is {:?} at {}, the oracle has {:?} at {} (store around it: {:?}, oracle: {:?})",
            got[rank].id,
            got[rank].distance,
            want[rank].id,
            want[rank].distance,
            around(got),
            around(want)
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: {} hits, the oracle has {}", got.len(), want.len());
}

/// Runs `options` on the store and the oracle, single and as a batch of `queries`, and asserts
/// every answer equals the oracle's.
async fn assert_searches_match(
    store: &dyn VectorStore,
    oracle: &dyn VectorStore,
    kind: &str,
    queries: &[(&str, Vec<f32>)],
    options: &KnnOptions,
) {
    for (name, query) in queries {
        let what = format!("[{}] knn {kind} query {name} {options:?}", store.backend());
        let got = ok(store.knn_with(kind, query, options).await, &what);
        let want = ok(oracle.knn_with(kind, query, options).await, "oracle knn");
        assert_same_answer(&what, &got, &want);
    }
    let batch: Vec<&[f32]> = queries.iter().map(|(_, q)| q.as_slice()).collect();
    let what = format!("[{}] knn_batch {kind} {options:?}", store.backend());
    let got = ok(store.knn_batch(kind, &batch, options).await, &what);
    assert_eq!(got.len(), queries.len(), "{what}: one answer per query");
    for ((name, query), answer) in queries.iter().zip(&got) {
        let want = ok(oracle.knn_with(kind, query, options).await, "oracle knn");
        assert_same_answer(&format!("{what} query {name}"), answer, &want);
    }
}

/// A kind of 2,000 vectors of small integers and two groups of identical vectors: A (1,000 records at
/// `[5, 5, 5, 5]`) and B (300 at `[7, 5, 5, 5]`), members spread in id order and over two
/// extractor versions. Queried at A (a tie at distance 0) and half-way between A and B (both
/// groups tie at distance 1), with k from 1 to beyond the group, the extractor-version and
/// max-distance filters, single and batched, before and after deletes inside the group: every
/// answer equals the Fake's, ties by id.
pub async fn one_duplicate_group_answers_as_the_fake(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    const OTHERS: usize = 2_000;
    const GROUP_B: usize = 300;
    let kind = "botnet";
    let a = vec![5.0_f32, 5.0, 5.0, 5.0];
    let b = vec![7.0_f32, 5.0, 5.0, 5.0];
    let mut rng = Rng::new(0xb07);
    let ids = shuffled_ids(&mut rng, OTHERS + GROUP + GROUP_B);
    let mut items = Vec::with_capacity(ids.len());
    let mut group_a = Vec::with_capacity(GROUP);
    for (n, record_id) in ids.iter().enumerate() {
        let version = 1 + u32::from(n % 3 == 0);
        let vector = if n < GROUP {
            group_a.push(record_id.clone());
            a.clone()
        } else if n < GROUP + GROUP_B {
            b.clone()
        } else {
            // Others of small integers near the origin: far from both groups, so the groups
            // answer first, and at distances every engine computes exactly (ties among them too).
            (0..4).map(|_| (rng.below(7) as f32) - 3.0).collect()
        };
        items.push(NewVector::new(record_id.clone(), vector).with_extractor_version(version));
    }
    ok(store.create_kind(kind, 4, Metric::L2).await, "create_kind");
    for chunk in items.chunks(1000) {
        ok(store.insert_many(kind, chunk).await, "insert_many");
    }
    group_a.sort();

    let between = vec![6.0_f32, 5.0, 5.0, 5.0];
    let queries = [("at group A", a.clone()), ("between A and B", between), ("near the origin", vec![0.5; 4])];
    let check_all = |oracle: std::sync::Arc<vectorstore_core::FakeVectorStore>| {
        let store = store.clone();
        let queries = queries.clone();
        async move {
            for k in [1, 10, GROUP - 1, GROUP, GROUP + 1, GROUP + GROUP_B + 50] {
                assert_searches_match(&*store, &*oracle, kind, &queries, &KnnOptions::new(k)).await;
            }
            for options in [
                KnnOptions::new(10).extractor_version(2),
                KnnOptions::new(GROUP).extractor_version(2),
                KnnOptions::new(10).max_distance(0.0),
                KnnOptions::new(GROUP + 50).max_distance(0.0),
                KnnOptions::new(GROUP + GROUP_B + 50).max_distance(1.0),
                KnnOptions::new(10).max_distance(0.5).extractor_version(1),
            ] {
                assert_searches_match(&*store, &*oracle, kind, &queries, &options).await;
            }
        }
    };
    let oracle = oracle_of(&*store).await;
    check_all(oracle).await;
    // The answer at the group is its smallest ids: a check that does not lean on the oracle.
    let first = ok(store.knn(kind, &a, 10).await, "knn at the group");
    let first: Vec<&str> = first.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(first, group_a[..10].iter().map(String::as_str).collect::<Vec<_>>(), "the 10 smallest ids of the group");

    // Deletes inside the group: its smallest ids, then every 7th member, one by one and in bulk.
    for gone in &group_a[..3] {
        assert!(ok(store.delete(kind, gone).await, "delete"), "{gone} was stored");
    }
    let every_seventh: Vec<&str> = group_a[3..].iter().step_by(7).map(String::as_str).collect();
    assert_eq!(ok(store.delete_many(kind, &every_seventh).await, "delete_many"), every_seventh.len() as u64);
    let oracle = oracle_of(&*store).await;
    check_all(oracle).await;
}

/// Many groups of identical vectors with Zipf sizes (the r-th largest has about 600 / r
/// members) among 600 distinct vectors, under L2 (where distinct groups tie at equal
/// distances) and cosine: searches at a group's vector, at twice it and from elsewhere, k of 1,
/// 10 and beyond the largest group, with the extractor-version filter, single and batched,
/// equal the Fake's.
pub async fn zipf_duplicate_groups_answer_as_the_fake(ctx: &Ctx) {
    let store = ctx.store().await;
    if !stores_data(ctx, &*store) {
        return;
    }
    const GROUPS: usize = 40;
    const SINGLES: usize = 600;
    for (kind, metric) in [("zipf_l2", Metric::L2), ("zipf_cos", Metric::Cosine)] {
        if !supports(ctx, &*store, metric) {
            continue;
        }
        let mut rng = Rng::new(0x21bf);
        // Under L2, group vectors of small integers: distances are exact, so distinct groups at
        // the same distance tie in every engine. Under cosine, engines round differently
        // (Qdrant normalises what it stores), so the groups are random directions, none tied.
        let mut group_vectors: Vec<Vec<f32>> = Vec::with_capacity(GROUPS);
        while group_vectors.len() < GROUPS {
            let v: Vec<f32> = match metric {
                Metric::L2 => (0..6).map(|_| (rng.below(9) as f32) - 4.0).collect(),
                _ => rng.gaussian_vector(6),
            };
            if v.iter().any(|x| *x != 0.0) && !group_vectors.contains(&v) {
                group_vectors.push(v);
            }
        }
        let sizes: Vec<usize> = (1..=GROUPS).map(|rank| (600 / rank).max(2)).collect();
        let total = sizes.iter().sum::<usize>() + SINGLES;
        let ids = shuffled_ids(&mut rng, total);
        let mut items = Vec::with_capacity(total);
        let mut next = ids.iter();
        for (group, size) in sizes.iter().enumerate() {
            for member in 0..*size {
                let record_id = next.next().expect("an id per record").clone();
                let version = 1 + u32::from(member % 4 == 0);
                items.push(NewVector::new(record_id, group_vectors[group].clone()).with_extractor_version(version));
            }
        }
        for record_id in next {
            items.push(NewVector::new(record_id.clone(), rng.gaussian_vector(6)));
        }
        ok(store.create_kind(kind, 6, metric).await, "create_kind");
        for chunk in items.chunks(1000) {
            ok(store.insert_many(kind, chunk).await, "insert_many");
        }
        let oracle = oracle_of(&*store).await;
        let mut queries: Vec<(String, Vec<f32>)> = [0, 1, 2, 9, GROUPS - 1]
            .into_iter()
            .map(|g| (format!("at group {g} ({} members)", sizes[g]), group_vectors[g].clone()))
            .collect();
        // Twice a group vector: under cosine every group on that ray ties with it.
        queries.push(("twice group 3".to_owned(), group_vectors[3].iter().map(|x| x * 2.0).collect()));
        queries.push(("elsewhere".to_owned(), vec![0.5, -1.0, 2.0, 0.0, 1.0, -0.5]));
        let queries: Vec<(&str, Vec<f32>)> = queries.iter().map(|(n, q)| (n.as_str(), q.clone())).collect();
        for options in [
            KnnOptions::new(1),
            KnnOptions::new(10),
            KnnOptions::new(sizes[1] + 5),
            KnnOptions::new(sizes[0] + 20),
            KnnOptions::new(25).extractor_version(2),
        ] {
            assert_searches_match(&*store, &*oracle, kind, &queries, &options).await;
        }
    }
}
